/*
 * Captions for the render: libass images blended onto the YUV frame.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "render_int.h"
#include "util.h"

void
caps_close(struct caps *c)
{
	if (c->track)
		ass_free_track(c->track);
	if (c->rend)
		ass_renderer_done(c->rend);
	if (c->lib)
		ass_library_done(c->lib);
	memset(c, 0, sizeof(*c));
}

/* libass talks a lot; keep its warnings and errors only. */
static void
caps_log(int level, const char *fmt, va_list ap, void *arg)
{
	char line[512];

	(void)arg;
	if (level > 2)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	log_ev(LOG_WARN, "libass", "{ss}", "msg", line);
}

int
caps_open(struct caps *c, const char *ass, int w, int h, char *err,
    size_t errlen)
{
	char *copy;

	memset(c, 0, sizeof(*c));
	if ((c->lib = ass_library_init()) != NULL)
		ass_set_message_cb(c->lib, caps_log, NULL);
	if (c->lib == NULL || (c->rend = ass_renderer_init(c->lib)) == NULL) {
		seterr(err, errlen, "The caption renderer (libass) could not "
		    "start.");
		goto fail;
	}
	ass_set_frame_size(c->rend, w, h);
	ass_set_storage_size(c->rend, w, h);
	ass_set_fonts(c->rend, NULL, "sans-serif", ASS_FONTPROVIDER_AUTODETECT,
	    NULL, 1);
	/* libass may modify the buffer it parses. */
	if ((copy = strdup(ass)) == NULL) {
		seterr(err, errlen, "Out of memory preparing captions.");
		goto fail;
	}
	c->track = ass_read_memory(c->lib, copy, strlen(copy), NULL);
	free(copy);
	if (c->track == NULL || c->track->n_events == 0) {
		seterr(err, errlen, "The captions could not be parsed.");
		goto fail;
	}
	return 0;
fail:
	caps_close(c);
	return -1;
}

/* Blend libass's alpha bitmaps onto a limited-range BT.601 yuv420p frame. */
void
caps_blend(struct caps *c, AVFrame *f, long long ms)
{
	ASS_Image *img;
	int changed;

	for (img = ass_render_frame(c->rend, c->track, ms, &changed); img;
	    img = img->next) {
		unsigned rr = img->color >> 24, gg = (img->color >> 16) & 255;
		unsigned bb = (img->color >> 8) & 255;
		unsigned op = 255 - (img->color & 255);
		int yc = (66 * rr + 129 * gg + 25 * bb + 128) / 256 + 16;
		int uc = (-38 * (int)rr - 74 * (int)gg + 112 * (int)bb + 128) / 256 + 128;
		int vc = (112 * (int)rr - 94 * (int)gg - 18 * (int)bb + 128) / 256 + 128;
		int x, y, x0 = img->dst_x, y0 = img->dst_y;

		if (op == 0)
			continue;
		for (y = 0; y < img->h; y++) {
			int dy = y0 + y;
			uint8_t *row;
			const uint8_t *src = img->bitmap + (size_t)y * img->stride;

			if (dy < 0 || dy >= f->height)
				continue;
			row = f->data[0] + (size_t)dy * f->linesize[0];
			for (x = 0; x < img->w; x++) {
				int dx = x0 + x;
				unsigned a = src[x] * op / 255;

				if (a == 0 || dx < 0 || dx >= f->width)
					continue;
				row[dx] = (uint8_t)((row[dx] * (255 - a) + yc * a) / 255);
			}
		}
		/* Chroma: each sample covers 2x2 luma pixels; use their mean. */
		for (y = y0 & ~1; y < y0 + img->h; y += 2) {
			uint8_t *ur, *vr;

			if (y < 0 || y >= f->height)
				continue;
			ur = f->data[1] + (size_t)(y / 2) * f->linesize[1];
			vr = f->data[2] + (size_t)(y / 2) * f->linesize[2];
			for (x = x0 & ~1; x < x0 + img->w; x += 2) {
				unsigned sum = 0, a;
				int i, j;

				if (x < 0 || x >= f->width)
					continue;
				for (j = 0; j < 2; j++)
					for (i = 0; i < 2; i++) {
						int by = y + j - y0, bx = x + i - x0;

						if (by >= 0 && by < img->h && bx >= 0 &&
						    bx < img->w)
							sum += img->bitmap[(size_t)by *
							    img->stride + bx];
					}
				a = sum / 4 * op / 255;
				if (a == 0)
					continue;
				ur[x / 2] = (uint8_t)((ur[x / 2] * (255 - a) + uc * a) / 255);
				vr[x / 2] = (uint8_t)((vr[x / 2] * (255 - a) + vc * a) / 255);
			}
		}
	}
}
