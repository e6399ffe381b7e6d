/* Word-by-word captions as an ASS script for libass (captions.c). */
#ifndef CLIPMILL_CAPTIONS_H
#define CLIPMILL_CAPTIONS_H

#include <stddef.h>

#include "crop.h"
#include "render_geom.h"
#include "transcript.h"

/* The safe area of the output that short-video apps leave free of their
 * own buttons and text, as shares of the frame: captions stay inside. */
#define CAPTIONS_SAFE_TOP	0.10
#define CAPTIONS_SAFE_BOTTOM	0.85	/* the bottom 15% stays clear */
#define CAPTIONS_SAFE_SIDE	0.12	/* the right 12% (and the left) */

/* The subject's face box at T seconds from the clip start, in rows of the
 * output picture (TOP above BOTTOM); PANE: whose face (split: 0 is the
 * top half's, 1 the bottom's; track: 0). */
struct cap_face {
	double	t;
	int	top, bottom;
	int	pane;
};

/* What to caption, and how. */
struct caption_req {
	const struct word *w;		/* the transcript's words */
	size_t		 n;
	double		 start, end;	/* the clip, seconds of the source */
	int		 width, height;	/* the output frame */
	const char	*style;		/* a preset: classic, bold, minimal */
	const char	*font;
	const struct cap_face *face;	/* samples in time order, or NULL */
	size_t		 nface;
	/* 0: each line below the face (track).  Else the row a line's
	 * centre is kept nearest, clear of every pane's face (split: the
	 * middle, between the halves; fit: the band below the picture). */
	int		 at;
	int		 keep_top, keep_bottom;	/* rows lines stay off when
					   another place fits (fit: the
					   picture); 0 0: none */
};

/* 1 when STYLE names a preset (classic, bold, minimal). */
int	captions_style_valid(const char *style);

/*
 * The subject's face boxes along crop path CP, mapped to an output H
 * rows tall, into *OUT (allocated; caller frees) and *N; samples where the face was
 * not seen are left out.  The path keeps the face's centre only, so the
 * box is taken as a third of the crop tall, a close-up's face.  0, or -1
 * when out of memory.
 */
int	captions_faces(const struct crop_path *cp, int h, struct cap_face **out,
	    size_t *n);

/*
 * Where lines go for framing F (NULL: a centred track, no face known)
 * drawn as G says: RQ's face, nface, at and keep_* are set; the face
 * boxes are in *OUT (allocated; caller frees, NULL when there are
 * none).  0, or -1 when out of memory.
 */
int	captions_layout(struct caption_req *rq, const struct crop_frame *f,
	    const struct render_geom *g, struct cap_face **out);

/*
 * The ASS script (allocated; caller frees) for RQ's words within [start,
 * end) of the source, re-based to clip time: short lines of a few words,
 * the spoken word highlighted, in RQ's preset, each line placed inside the
 * safe area below the face box (above it, in the upper third, when the
 * face is low), or by RQ->at and clear of every face.  NULL with *NONE set when no word falls in the clip (no
 * captions, not an error), or NULL with ERR.
 */
char	*captions_ass(const struct caption_req *rq, int *none, char *err,
	    size_t errlen);

#endif
