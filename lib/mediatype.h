/*
 * The media types clipmill knows, in one table: a file name extension, its
 * MIME type, the libavformat demuxer that reads it, and whether a user may
 * upload a file of that type.  The web front and the CLI check uploads
 * against it, the probe names a stored source from it, and the fetch stage
 * stores a source under its MIME type.
 */
#ifndef CLIPMILL_MEDIATYPE_H
#define CLIPMILL_MEDIATYPE_H

#include <stddef.h>

#define MEDIATYPE_EXT_MAX	8	/* longest extension, without the NUL */

struct mediatype {
	const char	*ext;		/* lower case, no dot */
	const char	*mime;
	const char	*demuxer;	/* AVInputFormat.name */
	/* when set, the type's name only for these video codecs ("a|b") */
	const char	*vcodecs;
	int		 upload;	/* a user may upload it */
};

/* The table, ended by a row whose ext is NULL.  For each demuxer, the
 * first row that fits names a probed source. */
extern const struct mediatype mediatypes[];

/* The row of extension EXT (any case), or NULL. */
const struct mediatype *mediatype_by_ext(const char *ext);
/* The extension a source read by DEMUXER with video codec VCODEC is
 * stored under: the first fitting row's, or "bin". */
const char *mediatype_source_ext(const char *demuxer, const char *vcodec);
/* The MIME type to store a file with extension EXT under. */
const char *mediatype_mime(const char *ext);
/* The lower-case extension of FILENAME (a name or a path) into EXT when it
 * is a type an upload may use; 0, or -1 with ERR (may be NULL) saying so
 * and listing the types that may. */
int	mediatype_upload_ext(const char *filename, char *ext, size_t extlen,
	    char *err, size_t errlen);
/* "mp4, mov, ..., flac": every extension an upload may use, into OUT;
 * 0, or -1 when OUT is too small. */
int	mediatype_upload_list(char *out, size_t outlen);

#endif
