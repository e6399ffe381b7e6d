/*
 * Drawing one output picture by the clip's layout (render_int.h): track
 * (one window scaled to the whole output), split (two windows, one per
 * half) and fit (the whole frame over a blurred, darkened copy of it).
 * The fit background is made without libavfilter, which the project does
 * not link: the middle of the frame is scaled down to a sixteenth of the
 * output, box-blurred and darkened in C at that size, and scaled back up
 * bilinearly, which smooths what is left of the boxes.
 */
#include <stdlib.h>
#include <string.h>

#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "render_int.h"
#include "util.h"

#define BLUR_R		2	/* box radius in small pixels */
#define BLUR_PASSES	3	/* three boxes: close to a Gaussian */
#define DARK_Y		0.55	/* the background's brightness kept */
#define DARK_C		0.75	/* and its colour: a little greyer */

/* Plane pointers of SRC moved to the window's corner (X, Y). */
static void
window(const AVFrame *src, const AVPixFmtDescriptor *d, int x, int y,
    const uint8_t *data[4])
{
	int p;

	for (p = 0; p < 4; p++) {
		int c, step = 1, sx = 0, sy = 0;

		data[p] = NULL;
		if (src->data[p] == NULL)
			continue;
		for (c = 0; c < d->nb_components; c++)
			if (d->comp[c].plane == p) {
				step = d->comp[c].step;
				if (c == 1 || c == 2) {
					sx = d->log2_chroma_w;
					sy = d->log2_chroma_h;
				}
				break;
			}
		data[p] = src->data[p] + (ptrdiff_t)(y >> sy) * src->linesize[p] +
		    (ptrdiff_t)(x >> sx) * step;
	}
}

/* The planes of yuv420p frame F from row Y, column X (both even). */
static void
rect(const AVFrame *f, int x, int y, uint8_t *data[4])
{
	int p;

	for (p = 0; p < 3; p++)
		data[p] = f->data[p] + (ptrdiff_t)(p ? y / 2 : y) *
		    f->linesize[p] + (p ? x / 2 : x);
	data[3] = NULL;
}

int
lay_open(struct lay *l, const struct crop_frame *f, int src_w, int src_h,
    const struct render_req *r, char *err, size_t errlen)
{
	int i, ok = render_frame_fits(f, src_w, src_h);
	enum crop_layout layout = ok ? f->layout : LAYOUT_TRACK;

	memset(l, 0, sizeof(*l));
	l->sfmt = -1;
	if (!ok) {
		/* No framing, or one planned on other dimensions: a centred
		 * track.  Sizes are as displayed (media_next() turns frames
		 * upright). */
		layout = LAYOUT_TRACK;
		l->centre.src_w = src_w;
		l->centre.src_h = src_h;
		crop_size(src_w, src_h, r->aspect_w, r->aspect_h,
		    &l->centre.crop_w, &l->centre.crop_h);
		l->pane[0] = &l->centre;
	} else
		for (i = 0; i < f->npanes; i++)
			l->pane[i] = &f->pane[i];
	l->centred = !ok;
	if (render_geom(layout, src_w, src_h, r->out_w, r->out_h, &l->g) != 0) {
		seterr(err, errlen, "The source's size %dx%d cannot be rendered.",
		    src_w, src_h);
		return -1;
	}
	for (i = 0; i < l->g.npanes; i++) {
		const struct crop_path *cp = l->pane[i];

		/* A window of another aspect than its pane's is not
		 * stretched: its middle, of the pane's aspect, is drawn. */
		crop_size(cp->crop_w, cp->crop_h, l->g.out_w, l->g.pane[i].h,
		    &l->win[i].w, &l->win[i].h);
		if (abs(l->win[i].w - cp->crop_w) <= 2 &&
		    abs(l->win[i].h - cp->crop_h) <= 2) {
			l->win[i].w = cp->crop_w;
			l->win[i].h = cp->crop_h;
		}
		l->win[i].ox = ((cp->crop_w - l->win[i].w) / 2) & ~1;
		l->win[i].oy = ((cp->crop_h - l->win[i].h) / 2) & ~1;
	}
	if (layout == LAYOUT_FIT && (l->small = av_frame_alloc()) != NULL) {
		l->small->format = AV_PIX_FMT_YUV420P;
		l->small->width = l->g.sw;
		l->small->height = l->g.sh;
		if (av_frame_get_buffer(l->small, 0) < 0)
			av_frame_free(&l->small);
		l->tmp = malloc((size_t)l->g.sw * l->g.sh);
	}
	if (layout == LAYOUT_FIT && (l->small == NULL || l->tmp == NULL)) {
		seterr(err, errlen, "Out of memory while rendering.");
		lay_close(l);
		return -1;
	}
	return 0;
}

void
lay_close(struct lay *l)
{
	int i;

	for (i = 0; i < CROP_PANES; i++)
		sws_freeContext(l->sws[i]);
	sws_freeContext(l->down);
	sws_freeContext(l->up);
	av_frame_free(&l->small);
	free(l->tmp);
	memset(l, 0, sizeof(*l));
}

int
lay_scalers(struct lay *l, const AVFrame *f, int src_w, int src_h,
    char *err, size_t errlen)
{
	const struct render_geom *g = &l->g;
	int i, bad = 0;

	if (f->width != src_w || f->height != src_h) {
		seterr(err, errlen, "The source changes size mid-way (%dx%d), "
		    "which is not supported.", f->width, f->height);
		return -1;
	}
	if (f->format == l->sfmt)
		return 0;
	l->sfmt = f->format;
	l->desc = av_pix_fmt_desc_get(l->sfmt);
	if (l->desc == NULL || (l->desc->flags & (AV_PIX_FMT_FLAG_HWACCEL |
	    AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM)))
		bad = 1;
	for (i = 0; i < CROP_PANES; i++) {
		sws_freeContext(l->sws[i]);
		l->sws[i] = NULL;
	}
	sws_freeContext(l->down);
	sws_freeContext(l->up);
	l->down = l->up = NULL;
	for (i = 0; !bad && i < g->npanes; i++)
		bad = (l->sws[i] = sws_getContext(l->win[i].w,
		    l->win[i].h, l->sfmt, g->out_w, g->pane[i].h,
		    AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL)) == NULL;
	if (!bad && g->layout == LAYOUT_FIT)
		bad = (l->sws[0] = sws_getContext(src_w, src_h, l->sfmt, g->pw,
		    g->ph, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL,
		    NULL)) == NULL || (l->down = sws_getContext(g->bw, g->bh,
		    l->sfmt, g->sw, g->sh, AV_PIX_FMT_YUV420P, SWS_BILINEAR,
		    NULL, NULL, NULL)) == NULL || (l->up = sws_getContext(g->sw,
		    g->sh, AV_PIX_FMT_YUV420P, g->out_w, g->out_h,
		    AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL)) == NULL;
	if (bad) {
		seterr(err, errlen, "The source's pixel format %s cannot be "
		    "scaled.", av_get_pix_fmt_name(l->sfmt));
		l->sfmt = -1;
		return -1;
	}
	return 0;
}

/* One box pass of radius R along the rows (VERTICAL: the columns) of the
 * W x H plane P, LS bytes a row, in place through the line buffer T; the
 * edges are repeated. */
static void
box_pass(uint8_t *p, int ls, int w, int h, uint8_t *t, int r, int vertical)
{
	int n = vertical ? h : w, lines = vertical ? w : h, i, j, k;
	int step = vertical ? ls : 1, lstep = vertical ? 1 : ls;

	for (j = 0; j < lines; j++) {
		uint8_t *s = p + (ptrdiff_t)j * lstep, *d = t;
		int sum = 0;

		for (k = -r; k <= r; k++)
			sum += s[(ptrdiff_t)(k < 0 ? 0 : k >= n ? n - 1 : k) * step];
		for (i = 0; i < n; i++) {
			int in = i + r + 1, out = i - r;

			d[i] = (uint8_t)((sum + r) / (2 * r + 1));
			sum += s[(ptrdiff_t)(in >= n ? n - 1 : in) * step] -
			    s[(ptrdiff_t)(out < 0 ? 0 : out) * step];
		}
		for (i = 0; i < n; i++)
			s[(ptrdiff_t)i * step] = d[i];
	}
}

/* Blur and darken the small picture in place: BLUR_PASSES boxes each way
 * on every plane, then Y towards black and U, V towards grey. */
static void
blur_dark(AVFrame *s, uint8_t *tmp)
{
	int p, i, x, y;

	for (p = 0; p < 3; p++) {
		int w = p ? s->width / 2 : s->width;
		int h = p ? s->height / 2 : s->height;
		int r = p ? (BLUR_R + 1) / 2 : BLUR_R;
		double k = p ? DARK_C : DARK_Y;
		int base = p ? 128 : 16;

		for (i = 0; i < BLUR_PASSES; i++) {
			box_pass(s->data[p], s->linesize[p], w, h, tmp, r, 0);
			box_pass(s->data[p], s->linesize[p], w, h, tmp, r, 1);
		}
		for (y = 0; y < h; y++) {
			uint8_t *row = s->data[p] + (ptrdiff_t)y * s->linesize[p];

			for (x = 0; x < w; x++)
				row[x] = (uint8_t)(base + (row[x] - base) * k);
		}
	}
}

/* Fit: the background, then the whole picture over it.  0 or -1. */
static int
draw_fit(struct lay *l, const AVFrame *src, AVFrame *of)
{
	const struct render_geom *g = &l->g;
	const uint8_t *win[4];
	uint8_t *dst[4];

	window(src, l->desc, g->bx, g->by, win);
	if (sws_scale(l->down, win, src->linesize, 0, g->bh, l->small->data,
	    l->small->linesize) < 0)
		return -1;
	blur_dark(l->small, l->tmp);
	if (sws_scale(l->up, (const uint8_t *const *)l->small->data,
	    l->small->linesize, 0, g->sh, of->data, of->linesize) < 0)
		return -1;
	rect(of, g->px, g->py, dst);
	return sws_scale(l->sws[0], (const uint8_t *const *)src->data,
	    src->linesize, 0, src->height, dst, of->linesize) < 0 ? -1 : 0;
}

int
lay_draw(struct lay *l, const AVFrame *src, double ct, AVFrame *of)
{
	const struct render_geom *g = &l->g;
	const uint8_t *win[4];
	uint8_t *dst[4];
	int i, x, y;

	if (g->layout == LAYOUT_FIT)
		return draw_fit(l, src, of);
	for (i = 0; i < g->npanes; i++) {
		crop_at(l->pane[i], ct, &x, &y);
		window(src, l->desc, x + l->win[i].ox, y + l->win[i].oy, win);
		rect(of, 0, g->pane[i].y, dst);
		if (sws_scale(l->sws[i], win, src->linesize, 0, l->win[i].h,
		    dst, of->linesize) < 0)
			return -1;
	}
	if (g->npanes == 2 && g->pane[1].y > g->pane[0].h) {
		/* The divider an odd half leaves: black, drawn every time,
		 * since frames come back from the pool with captions on. */
		y = g->pane[0].h;
		for (i = y; i < g->pane[1].y; i++)
			memset(of->data[0] + (ptrdiff_t)i * of->linesize[0], 16,
			    g->out_w);
		for (i = y / 2; i < g->pane[1].y / 2; i++) {
			memset(of->data[1] + (ptrdiff_t)i * of->linesize[1], 128,
			    g->out_w / 2);
			memset(of->data[2] + (ptrdiff_t)i * of->linesize[2], 128,
			    g->out_w / 2);
		}
	}
	return 0;
}
