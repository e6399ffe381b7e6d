/* Word-by-word captions as an ASS script for libass (captions.c). */
#ifndef CLIPMILL_CAPTIONS_H
#define CLIPMILL_CAPTIONS_H

#include <stddef.h>

#include "crop.h"
#include "transcript.h"

/* The safe area of the output that short-video apps leave free of their
 * own buttons and text, as shares of the frame: captions stay inside. */
#define CAPTIONS_SAFE_TOP	0.10
#define CAPTIONS_SAFE_BOTTOM	0.85	/* the bottom 15% stays clear */
#define CAPTIONS_SAFE_SIDE	0.12	/* the right 12% (and the left) */

/* The subject's face box at T seconds from the clip start, in rows of the
 * output picture (TOP above BOTTOM). */
struct cap_face {
	double	t;
	int	top, bottom;
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
 * The ASS script (allocated; caller frees) for RQ's words within [start,
 * end) of the source, re-based to clip time: short lines of a few words,
 * the spoken word highlighted, in RQ's preset, each line placed inside the
 * safe area below the face box (above it, in the upper third, when the
 * face is low).  NULL with *NONE set when no word falls in the clip (no
 * captions, not an error), or NULL with ERR.
 */
char	*captions_ass(const struct caption_req *rq, int *none, char *err,
	    size_t errlen);

#endif
