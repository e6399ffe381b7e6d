/*
 * Where each layout puts its pictures in the output frame (pure
 * computation, render_geom.c): the renderer draws by it and the captions
 * keep clear of it, so both read the same numbers.
 */
#ifndef CLIPMILL_RENDER_GEOM_H
#define CLIPMILL_RENDER_GEOM_H

#include "crop.h"

#define GEOM_BLUR_DIV	16	/* fit: the background is blurred at this
				   fraction of the output's size */

struct render_geom {
	enum crop_layout layout;
	int	out_w, out_h;
	int	npanes;			/* track 1, split 2, fit 0 */
	struct {
		int	y, h;		/* rows of the output the pane fills, all
					   of its width; even */
	}	pane[CROP_PANES];
	/* fit: the whole source picture's place, even numbers, and the
	 * source window (its aspect, centred) that fills the background. */
	int	px, py, pw, ph;
	int	bx, by, bw, bh;		/* in source pixels */
	int	sw, sh;			/* the small background picture */
};

/*
 * The geometry of LAYOUT for a SRC_W x SRC_H source (as displayed) in an
 * OUT_W x OUT_H output into G.  split: two halves of out_h / 2 rows,
 * rounded down to even, the top one from row 0 and the bottom one ending
 * at the last row; an odd half leaves a two-row black divider.  fit: the
 * source scaled to the output's width, or to its height when it is the
 * taller, centred.  0, or -1 when a size is not positive.
 */
int	render_geom(enum crop_layout layout, int src_w, int src_h, int out_w,
	    int out_h, struct render_geom *g);

/* 1 when framing F can be drawn on a SRC_W x SRC_H source: its panes are
 * as many as its layout has and were planned on that size; else 0 (the
 * render draws a centred track instead). */
int	render_frame_fits(const struct crop_frame *f, int src_w, int src_h);

#endif
