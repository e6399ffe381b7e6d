/* Layout geometry (render_geom.h). */
#include <string.h>

#include "render_geom.h"

/* V rounded to the nearest even number, at least 2. */
static int
even(double v)
{
	int e = 2 * (int)(v / 2 + 0.5);

	return e < 2 ? 2 : e;
}

int
render_geom(enum crop_layout layout, int src_w, int src_h, int out_w,
    int out_h, struct render_geom *g)
{
	memset(g, 0, sizeof(*g));
	if (src_w <= 0 || src_h <= 0 || out_w <= 0 || out_h <= 0)
		return -1;
	g->layout = layout;
	g->out_w = out_w;
	g->out_h = out_h;
	switch (layout) {
	case LAYOUT_SPLIT:
		g->npanes = 2;
		g->pane[0].h = g->pane[1].h = (out_h / 2) & ~1;
		g->pane[1].y = out_h - g->pane[1].h;
		break;
	case LAYOUT_FIT:
		/* The whole picture: the output's width, or its height for a
		 * source taller than the output. */
		if ((double)src_w / src_h >= (double)out_w / out_h) {
			g->pw = out_w & ~1;
			g->ph = even((double)out_w * src_h / src_w);
			if (g->ph > out_h)
				g->ph = out_h & ~1;
		} else {
			g->ph = out_h & ~1;
			g->pw = even((double)out_h * src_w / src_h);
			if (g->pw > out_w)
				g->pw = out_w & ~1;
		}
		g->px = ((out_w - g->pw) / 2) & ~1;
		g->py = ((out_h - g->ph) / 2) & ~1;
		/* The background: the window of the output's aspect in the
		 * middle of the source, covering the whole output. */
		crop_size(src_w, src_h, out_w, out_h, &g->bw, &g->bh);
		g->bx = ((src_w - g->bw) / 2) & ~1;
		g->by = ((src_h - g->bh) / 2) & ~1;
		g->sw = even((double)out_w / GEOM_BLUR_DIV);
		g->sh = even((double)out_h / GEOM_BLUR_DIV);
		break;
	default:
		g->layout = LAYOUT_TRACK;
		g->npanes = 1;
		g->pane[0].h = out_h;
		break;
	}
	return 0;
}

int
render_frame_fits(const struct crop_frame *f, int src_w, int src_h)
{
	int i, want;

	if (f == NULL)
		return 0;
	want = f->layout == LAYOUT_TRACK ? 1 : f->layout == LAYOUT_SPLIT ? 2 :
	    f->layout == LAYOUT_FIT ? 0 : -1;
	if (f->npanes != want)
		return 0;
	for (i = 0; i < f->npanes; i++)
		if (f->pane[i].src_w != src_w || f->pane[i].src_h != src_h)
			return 0;
	return 1;
}
