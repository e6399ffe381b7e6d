/* The media type table (mediatype.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mediatype.h"
#include "util.h"

#define MOV	"mov,mp4,m4a,3gp,3g2,mj2"
#define MKV	"matroska,webm"

const struct mediatype mediatypes[] = {
	{ "mp4",	"video/mp4",		MOV,	  NULL, 1 },
	{ "mov",	"video/quicktime",	MOV,	  NULL, 1 },
	{ "m4v",	"video/x-m4v",		MOV,	  NULL, 1 },
	{ "webm",	"video/webm",		MKV,	  "vp8|vp9|av1", 1 },
	{ "mkv",	"video/x-matroska",	MKV,	  NULL, 1 },
	{ "avi",	"video/x-msvideo",	"avi",	  NULL, 1 },
	{ "mpg",	"video/mpeg",		"mpeg",	  NULL, 1 },
	{ "mpeg",	"video/mpeg",		"mpeg",	  NULL, 1 },
	{ "ts",		"video/mp2t",		"mpegts", NULL, 1 },
	{ "flv",	"video/x-flv",		"flv",	  NULL, 1 },
	{ "ogv",	"video/ogg",		"ogg",	  NULL, 1 },
	{ "wmv",	"video/x-ms-wmv",	"asf",	  NULL, 0 },
	{ "m4a",	"audio/mp4",		MOV,	  NULL, 1 },
	{ "mp3",	"audio/mpeg",		"mp3",	  NULL, 1 },
	{ "wav",	"audio/wav",		"wav",	  NULL, 1 },
	{ "ogg",	"audio/ogg",		"ogg",	  NULL, 1 },
	{ "opus",	"audio/ogg",		"ogg",	  NULL, 1 },
	{ "flac",	"audio/flac",		"flac",	  NULL, 1 },
	{ NULL,		NULL,			NULL,	  NULL, 0 }
};

/* 1 when WORD is one of the '|'-separated words of LIST. */
static int
in_list(const char *word, const char *list)
{
	size_t n = strlen(word), len;
	const char *bar;

	for (;;) {
		bar = strchr(list, '|');
		len = bar != NULL ? (size_t)(bar - list) : strlen(list);
		if (len == n && strncmp(list, word, n) == 0)
			return 1;
		if (bar == NULL)
			return 0;
		list = bar + 1;
	}
}

const struct mediatype *
mediatype_by_ext(const char *ext)
{
	const struct mediatype *m;

	for (m = mediatypes; m->ext != NULL; m++)
		if (strcasecmp(m->ext, ext) == 0)
			return m;
	return NULL;
}

const char *
mediatype_source_ext(const char *demuxer, const char *vcodec)
{
	const struct mediatype *m;

	for (m = mediatypes; m->ext != NULL; m++)
		if (strcmp(m->demuxer, demuxer) == 0 && (m->vcodecs == NULL ||
		    (vcodec != NULL && in_list(vcodec, m->vcodecs))))
			return m->ext;
	return "bin";
}

const char *
mediatype_mime(const char *ext)
{
	const struct mediatype *m = mediatype_by_ext(ext);

	return m != NULL ? m->mime : "application/octet-stream";
}

int
mediatype_upload_ext(const char *filename, char *ext, size_t extlen,
    char *err, size_t errlen)
{
	const char *dot = strrchr(filename, '.'), *slash = strrchr(filename, '/');
	const struct mediatype *m;
	char list[256];

	if (dot != NULL && (slash == NULL || dot > slash) &&
	    (m = mediatype_by_ext(dot + 1)) != NULL && m->upload &&
	    xsnprintf(ext, extlen, "%s", m->ext) == 0)
		return 0;
	if (err != NULL) {
		if (mediatype_upload_list(list, sizeof(list)) == -1)
			list[0] = '\0';
		seterr(err, errlen, "\"%.100s\" is not a video or audio file "
		    "this service takes (%s)", filename, list);
	}
	return -1;
}

int
mediatype_upload_list(char *out, size_t outlen)
{
	const struct mediatype *m;
	size_t o = 0;
	int n;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	for (m = mediatypes; m->ext != NULL; m++) {
		if (!m->upload)
			continue;
		n = snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", m->ext);
		if (n < 0 || (size_t)n >= outlen - o)
			return -1;
		o += (size_t)n;
	}
	return 0;
}
