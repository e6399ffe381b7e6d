/*
 * Driver and unit tests for the select, frame and render stages.
 *
 *   mediaout                         unit tables (crop planning, captions,
 *                                    the heuristic scorer): TAP lines
 *   mediaout run STAGE TASK.json     run() in-process (fd -1, own scratch);
 *                                    prints the result JSON; events go to
 *                                    $MEDIAOUT_EVENTS as JSON lines
 *   mediaout done STAGE TASK.json RESULT.json [EVENTS]
 *                                    done() (and the events, as the runner
 *                                    records them) in one transaction
 *   mediaout detect VIDEO FPS [tiled|kp]
 *                                    faces at FPS through the frame stage's
 *                                    detector (tiled: its wide-shot look):
 *                                    "t x y w h n" per sample, the largest
 *                                    face's centre and size, and how many;
 *                                    kp: "t x y w h open" per face, open
 *                                    the mouth's distance from the eye line
 *                                    over the eyes' distance
 *   mediaout probe VIDEO             the fetch stage's probe of VIDEO (JSON)
 *   mediaout gray VIDEO T W H        the first picture at or after T seconds
 *                                    as media_next() gives it, scaled to W x H
 *                                    grey bytes on stdout
 *   mediaout scenes VIDEO            the scene scan: "t d" per sample, then
 *                                    "cut T D" per cut found
 *   mediaout draw VIDEO START END CROP.json W H
 *                                    decode the clip and draw every frame
 *                                    by the framing in CROP.json into a
 *                                    W x H picture, no encoding (for
 *                                    contrib/bench/render): prints
 *                                    "frames N draw_ms_per_frame D"
 *   mediaout ass TRANSCRIPT START END W H STYLE [CROP.json [SRC_W SRC_H]]
 *                                    the captions script the render burns
 *                                    (for contrib/bench/render), placed
 *                                    for the framing in CROP.json (on a
 *                                    source of SRC_W x SRC_H: needed for
 *                                    a fit)
 *
 * task_progress, task_event and task_output
 * are defined here; they belong to the runner, never to a stage.  An
 * output report is written to MEDIAOUT_EVENTS as an event of kind
 * "output".
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libswscale/swscale.h>

#include "media/captions.h"
#include "config.h"
#include "media/crop.h"
#include "db.h"
#include "media/face_cv.h"
#include "jobspec.h"
#include "log.h"
#include "media/probe.h"
#include "queue.h"
#include "media/render.h"
#include "media/render_int.h"
#include "media/render_geom.h"
#include "stages/select/select.h"
#include "runner/stage.h"
#include "util.h"
#include "tap.h"

extern const struct stage stage_select, stage_frame, stage_render;

static const struct stage *const mine[] = { &stage_select, &stage_frame,
    &stage_render, NULL };

/* ---- the runner's side, for this program only ---- */

int
task_progress(struct task_ctx *ctx, int pct, const char *fmt, ...)
{
	const char *cancel = getenv("MEDIAOUT_CANCEL_AT");
	char msg[256];
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "progress %d %s\n", pct, msg);
	return cancel != NULL && pct >= strtol(cancel, NULL, 10);
}

void
task_event(struct task_ctx *ctx, const char *kind, const char *msg,
    json_t *data)
{
	const char *path = getenv("MEDIAOUT_EVENTS");
	json_t *e = json_pack("{ssssssso*}", "kind", kind, "msg", msg, "stage",
	    ctx->task->stage, "data", json_deep_copy(data));
	char *s = json_dumps(e, JSON_COMPACT);
	FILE *fp = path ? fopen(path, "a") : NULL;

	fprintf(fp ? fp : stderr, "%s\n", s ? s : "{}");
	if (fp)
		fclose(fp);
	free(s);
	json_decref(e);
}

void
task_output(struct task_ctx *ctx, json_t *data)
{
	task_event(ctx, "output", "", data);
}

/* ---- unit tables ---- */


/* A face of SIZE px whose centre moves along FX(t), sampled at 5/s. */
static size_t
synth(struct crop_sample *s, size_t n, double (*fx)(double), int size,
    int fy)
{
	size_t i;

	for (i = 0; i < n; i++) {
		s[i].t = i * 0.2;
		s[i].n = 1;
		s[i].box[0].x = (int)lround(fx(s[i].t) - size / 2.0);
		s[i].box[0].y = fy - size / 2;
		s[i].box[0].w = s[i].box[0].h = size;
	}
	return n;
}

static double still(double t) { (void)t; return 400; }
static double wobble(double t) { return 640 + 25 * sin(t * 6); }
static double sweep(double t) { return 150 + 980 * t / 20; }
static double jump(double t) { return t < 10 ? 200 : 1050; }

static int
inside(const struct crop_path *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->pt[i].x < 0 || p->pt[i].y < 0 || p->pt[i].x + p->crop_w >
		    p->src_w || p->pt[i].y + p->crop_h > p->src_h ||
		    (p->pt[i].x & 1) || (p->pt[i].y & 1))
			return 0;
	return 1;
}

/* 1 when the window ever moves or cuts. */
static int
camera_moved(const struct crop_path *p)
{
	size_t i;

	for (i = 1; i < p->n; i++)
		if (p->pt[i].x != p->pt[0].x || p->pt[i].y != p->pt[0].y ||
		    p->pt[i].cut)
			return 1;
	return 0;
}

static void
unit_crop(void)
{
	static struct crop_sample s[200];
	struct crop_path p;
	char err[128];
	int cw, ch, x0, x1, y, moved, cuts;
	size_t i, n;

	crop_size(1280, 720, 9, 16, &cw, &ch);
	ok(cw == 404 && ch == 720, "9:16 window in 720p is 404x720 (%dx%d)", cw, ch);
	crop_size(1280, 720, 4, 5, &cw, &ch);
	ok(cw == 576 && ch == 720, "4:5 window in 720p is 576x720 (%dx%d)", cw, ch);
	crop_size(720, 1280, 1, 1, &cw, &ch);
	ok(cw == 720 && ch == 720, "1:1 window in a vertical source");
	ok(crop_parse_aspect("9:16", &cw, &ch) == 0 && cw == 9 && ch == 16 &&
	    crop_parse_aspect("9x16", &cw, &ch) != 0 &&
	    crop_parse_aspect("0:1", &cw, &ch) != 0 &&
	    crop_parse_aspect(":", &cw, &ch) != 0, "aspects parsed and refused");

	/* No face: centred, flagged. */
	memset(s, 0, sizeof(s));
	for (i = 0; i < 50; i++)
		s[i].t = i * 0.2;
	crop_plan(s, 50, 10, 1280, 720, 9, 16, &p, err, sizeof(err));
	ok(!p.has_face && p.pt[0].x == 438 && inside(&p), "no face: centre crop");
	crop_path_free(&p);

	/* A still face: the camera sits on it and never moves. */
	n = synth(s, 50, still, 120, 300);
	crop_plan(s, n, 10, 1280, 720, 9, 16, &p, err, sizeof(err));
	moved = camera_moved(&p);
	ok(p.has_face && !moved && p.face_in_crop == 1.0 && inside(&p),
	    "still face: steady camera, face inside");
	crop_path_free(&p);

	/* Small wobble inside the dead zone: no camera movement at all. */
	n = synth(s, 100, wobble, 120, 300);
	crop_plan(s, n, 20, 1280, 720, 9, 16, &p, err, sizeof(err));
	moved = camera_moved(&p);
	ok(!moved && p.reversals_per_s == 0, "wobble within the dead zone: "
	    "no jitter");
	crop_path_free(&p);

	/* A sweep: followed within the speed limit, always in frame. */
	n = synth(s, 100, sweep, 120, 300);
	crop_plan(s, n, 20, 1280, 720, 9, 16, &p, err, sizeof(err));
	{
		double vmax = 0;

		for (i = 1; i < p.n; i++) {
			double v = fabs((double)(p.pt[i].x - p.pt[i - 1].x)) /
			    (p.pt[i].t - p.pt[i - 1].t);
			if (v > vmax)
				vmax = v;
		}
		ok(p.face_in_crop >= 0.95 && inside(&p) && p.reversals_per_s == 0 &&
		    vmax <= cfg.crop_max_speed * p.crop_w + 2,
		    "sweep followed: %.2f inside, %.0f px/s max", p.face_in_crop, vmax);
	}
	crop_path_free(&p);

	/* Subject jumps across the frame: one hard cut, not a glide. */
	n = synth(s, 100, jump, 120, 300);
	crop_plan(s, n, 20, 1280, 720, 9, 16, &p, err, sizeof(err));
	cuts = 0;
	for (i = 0; i < p.n; i++)
		cuts += p.pt[i].cut;
	crop_at(&p, 9.0, &x0, &y);
	crop_at(&p, 12.0, &x1, &y);
	ok(cuts == 1 && x0 < 200 && x1 > 700 && inside(&p),
	    "subject change: one cut (%d), %d -> %d", cuts, x0, x1);
	crop_path_free(&p);

	/* A one-sample false positive far away is ignored. */
	n = synth(s, 50, still, 120, 300);
	s[20].n = 2;
	s[20].box[1].x = 1100;
	s[20].box[1].y = 100;
	s[20].box[1].w = s[20].box[1].h = 200;
	crop_plan(s, n, 10, 1280, 720, 9, 16, &p, err, sizeof(err));
	moved = camera_moved(&p);
	ok(!moved, "isolated false positive dropped");
	crop_path_free(&p);

	/* Two speakers whose detections flicker sample by sample: the camera
	 * stays on one of them, no cutting back and forth. */
	n = synth(s, 100, still, 120, 300);
	for (i = 0; i < n; i++) {
		if (i % 2 == 1) {
			s[i].box[0].x = 1000;
			s[i].box[0].w = s[i].box[0].h = 110;
		}
		if (i % 7 == 3)
			s[i].n = 0;	/* and the detector misses now and then */
	}
	crop_plan(s, n, 20, 1280, 720, 9, 16, &p, err, sizeof(err));
	ok(!camera_moved(&p) && p.reversals_per_s == 0, "flickering speakers: "
	    "no cuts, no jitter");
	crop_path_free(&p);

	/* Two faces for the whole clip: the larger one is the subject. */
	n = synth(s, 50, still, 100, 300);
	for (i = 0; i < n; i++) {
		s[i].n = 2;
		s[i].box[1].x = 950;
		s[i].box[1].y = 200;
		s[i].box[1].w = s[i].box[1].h = 180;
	}
	crop_plan(s, n, 10, 1280, 720, 9, 16, &p, err, sizeof(err));
	ok(p.pt[0].x > 700, "two faces: the larger is framed (x %d)", p.pt[0].x);
	{
		/* And the path survives its stored form. */
		json_t *j = crop_path_json(&p);
		struct crop_path q;

		ok(crop_path_from_json(j, &q, err, sizeof(err)) == 0 &&
		    q.n == p.n && q.pt[7].x == p.pt[7].x && q.crop_w == p.crop_w,
		    "crop path round trip");
		crop_path_free(&q);
		json_object_set_new(json_array_get(json_object_get(j, "points"), 3),
		    "x", json_integer(5000));
		json_array_set_new(json_array_get(json_object_get(j, "points"), 3),
		    1, json_integer(5000));
		ok(crop_path_from_json(j, &q, err, sizeof(err)) != 0,
		    "a stored point outside the frame is refused");
		json_decref(j);
	}
	{
		/* A framing: version 1 (a bare path) reads as a track; a
		 * split keeps both panes and its reason; a fit has none. */
		json_t *j = crop_path_json(&p), *k;
		struct crop_frame f, g;

		ok(crop_frame_from_json(j, &f, err, sizeof(err)) == 0 &&
		    f.layout == LAYOUT_TRACK && f.npanes == 1 &&
		    f.pane[0].n == p.n, "a version 1 path is a track");
		json_decref(j);
		f.layout = LAYOUT_SPLIT;
		f.npanes = 2;
		crop_path_from_json((j = crop_path_json(&p)), &f.pane[1], err,
		    sizeof(err));
		json_decref(j);
		snprintf(f.reason, sizeof(f.reason), "two people speak");
		k = crop_frame_json(&f);
		ok(crop_frame_from_json(k, &g, err, sizeof(err)) == 0 &&
		    g.layout == LAYOUT_SPLIT && g.npanes == 2 &&
		    g.pane[1].n == p.n && strcmp(g.reason,
		    "two people speak") == 0, "a split framing round trip");
		crop_frame_free(&g);
		json_object_set_new(k, "layout", json_string("fit"));
		ok(crop_frame_from_json(k, &g, err, sizeof(err)) != 0,
		    "a fit with panes is refused (%s)", err);
		json_array_clear(json_object_get(k, "panes"));
		ok(crop_frame_from_json(k, &g, err, sizeof(err)) == 0 &&
		    g.layout == LAYOUT_FIT && g.npanes == 0, "a fit framing");
		json_object_set_new(k, "layout", json_string("zoom"));
		ok(crop_frame_from_json(k, &g, err, sizeof(err)) != 0,
		    "an unknown layout is refused");
		json_decref(k);
		crop_frame_free(&f);
	}
	crop_path_free(&p);
}

/* Face B at CX, CY of SIZE px, its mouth OPEN eye distances below the
 * eyes (key points as BlazeFace gives them). */
static void
face_at(struct face_box *b, int cx, int cy, int size, double open)
{
	memset(b, 0, sizeof(*b));
	b->x = cx - size / 2;
	b->y = cy - size / 2;
	b->w = b->h = size;
	b->kp[FACE_EYE_R].x = cx - 0.2f * size;
	b->kp[FACE_EYE_L].x = cx + 0.2f * size;
	b->kp[FACE_EYE_R].y = b->kp[FACE_EYE_L].y = cy - 0.1f * size;
	b->kp[FACE_NOSE].x = b->kp[FACE_MOUTH].x = (float)cx;
	b->kp[FACE_NOSE].y = (float)cy;
	b->kp[FACE_MOUTH].y = (float)(cy - 0.1 * size + open * 0.4 * size);
}

/* A talking mouth's opening at sample I: it changes every sample. */
static double
talking(size_t i)
{
	return i % 3 == 0 ? 0.95 : i % 3 == 1 ? 1.03 : 1.0;
}

/* 100 samples over 20 s of a large face at 300 and a small one at 1000,
 * the large one talking where BIG(t), the small one where SMALL(t). */
static size_t
two_faces(struct crop_sample *s, int (*big)(double), int (*small)(double),
    int small_size)
{
	size_t i;

	for (i = 0; i < 100; i++) {
		s[i].t = i * 0.2;
		s[i].n = 2;
		face_at(&s[i].box[0], 300, 360, 260, big(s[i].t) ? talking(i) : 1);
		face_at(&s[i].box[1], 1000, 360, small_size, small(s[i].t) ?
		    talking(i) : 1);
	}
	return 100;
}

static int never(double t) { (void)t; return 0; }
static int always(double t) { (void)t; return 1; }
static int first_half(double t) { return t < 10; }
static int second_half(double t) { return t >= 10; }
static int flicker(double t) { return (int)(t / 0.4) % 2; }
static int unflicker(double t) { return !flicker(t); }

/* The least time between two cuts of P (1e9 when under two). */
static double
min_shot(const struct crop_path *p)
{
	double last = -1e9, least = 1e9;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->pt[i].cut) {
			if (p->pt[i].t - last < least)
				least = p->pt[i].t - last;
			last = p->pt[i].t;
		}
	return least;
}

/* Whether window P holds X (a face centre) at time T. */
static int
holds(const struct crop_path *p, double t, int x)
{
	int cx, cy;

	crop_at(p, t, &cx, &cy);
	return cx <= x - 50 && x + 50 <= cx + p->crop_w;
}

static void
unit_framing(void)
{
	static struct crop_sample s[200];
	static double loud[200], quiet[200];
	struct crop_audio au = { loud, 200, 0.1, 0 };
	struct crop_frame f;
	struct crop_figures fig;
	char err[128], warn[200];
	size_t n, i;

	for (i = 0; i < 200; i++) {
		loud[i] = -12;
		quiet[i] = i == 0 ? -12 : -60;	/* all but a click: silence */
	}
	/* The known bug: a large still face and a smaller one that talks. */
	n = two_faces(s, never, always, 120);
	crop_frame_plan(s, n, 20, 1280, 720, 1080, 1920, &au, -1, &f, &fig,
	    err, sizeof(err));
	ok(f.layout == LAYOUT_TRACK && holds(&f.pane[0], 0, 1000) &&
	    holds(&f.pane[0], 19, 1000) && fig.face_in_picture == 1,
	    "the smaller face that talks is followed, not the larger (%s)",
	    f.reason);
	crop_frame_free(&f);
	/* ... but mouth movement in silence is not speech. */
	au.db = quiet;
	crop_frame_plan(s, n, 20, 1280, 720, 1080, 1920, &au, -1, &f, &fig,
	    err, sizeof(err));
	ok(f.layout == LAYOUT_TRACK && holds(&f.pane[0], 10, 300),
	    "a mouth moving in silence: the larger face is kept");
	crop_frame_free(&f);
	au.db = loud;

	/* Two who speak in turn: a split, the left face on top. */
	n = two_faces(s, first_half, second_half, 240);
	crop_frame_plan(s, n, 20, 1280, 720, 1080, 1920, &au, -1, &f, &fig,
	    err, sizeof(err));
	ok(f.layout == LAYOUT_SPLIT && f.npanes == 2 &&
	    f.pane[0].crop_w == 810 && f.pane[0].crop_h == 720 &&
	    holds(&f.pane[0], 15, 300) && holds(&f.pane[1], 5, 1000) &&
	    fig.upscale < 1.34 && fig.reversals_per_s == 0,
	    "two speak in turn: split, 9:8 halves, one face each (%s)", f.reason);
	crop_frame_free(&f);
	/* 1:1 and 4:5 halves: 2:1 and 8:5 windows. */
	crop_frame_plan(s, n, 20, 1280, 720, 1080, 1080, &au, -1, &f, &fig,
	    err, sizeof(err));
	ok(f.layout == LAYOUT_SPLIT && f.pane[1].crop_w == 1280 &&
	    f.pane[1].crop_h == 640, "1:1 split: 2:1 windows (%dx%d)",
	    f.pane[1].crop_w, f.pane[1].crop_h);
	crop_frame_free(&f);
	crop_frame_plan(s, n, 20, 1280, 720, 1080, 1350, &au, -1, &f, &fig,
	    err, sizeof(err));
	ok(f.layout == LAYOUT_SPLIT && f.pane[1].crop_w == 1152 &&
	    f.pane[1].crop_h == 720, "4:5 split: 8:5 windows (%dx%d)",
	    f.pane[1].crop_w, f.pane[1].crop_h);
	crop_frame_free(&f);
	/* The job asks for a track: one cut to the second speaker. */
	crop_frame_plan(s, n, 20, 1280, 720, 1080, 1920, &au, LAYOUT_TRACK,
	    &f, &fig, err, sizeof(err));
	ok(f.layout == LAYOUT_TRACK && holds(&f.pane[0], 5, 300) &&
	    holds(&f.pane[0], 12, 1000) && min_shot(&f.pane[0]) > 5,
	    "track asked for: the speaker followed, one cut");
	crop_frame_free(&f);

	/* Speakers taking turns every 0.4 s: never back and forth within a
	 * second. */
	n = two_faces(s, flicker, unflicker, 240);
	crop_frame_plan(s, n, 20, 1280, 720, 1080, 1920, &au, LAYOUT_TRACK,
	    &f, &fig, err, sizeof(err));
	ok(min_shot(&f.pane[0]) >= 1.0, "quick turns: cuts at least a "
	    "second apart (%.1f s)", min_shot(&f.pane[0]));
	crop_frame_free(&f);

	/* A split asked for with one face: a track, and the reason says. */
	n = synth(s, 50, still, 120, 300);
	crop_frame_plan(s, n, 10, 1280, 720, 1080, 1920, NULL, LAYOUT_SPLIT,
	    &f, &fig, err, sizeof(err));
	ok(f.layout == LAYOUT_TRACK && f.npanes == 1 &&
	    strstr(f.reason, "only one face") != NULL, "split with one face: "
	    "a track (%s)", f.reason);
	crop_frame_free(&f);
	/* A small, wide source (480x204): a crop would be enlarged 9 times. */
	for (i = 0; i < n; i++)
		face_at(&s[i].box[0], 240, 100, 60, 1);
	crop_frame_plan(s, n, 10, 480, 204, 1080, 1920, NULL, -1, &f, &fig,
	    err, sizeof(err));
	ok(f.layout == LAYOUT_FIT && f.npanes == 0 && fig.upscale == 2.25 &&
	    fig.face_in_picture == 1 && strstr(f.reason, "enlarged 9.4") &&
	    !crop_warning(f.layout, &fig, warn, sizeof(warn)),
	    "small wide source: fit (%s)", f.reason);
	crop_frame_free(&f);
	/* No face: fit, and a warning for the card. */
	memset(s, 0, sizeof(s));
	for (i = 0; i < 50; i++)
		s[i].t = i * 0.2;
	crop_frame_plan(s, 50, 10, 1280, 720, 1080, 1920, &au, -1, &f, &fig,
	    err, sizeof(err));
	ok(f.layout == LAYOUT_FIT && !fig.has_face &&
	    fig.face_in_picture < 0 && crop_warning(f.layout, &fig, warn,
	    sizeof(warn)) && strstr(warn, "No face"), "no face: fit, %s", warn);
	crop_frame_free(&f);
}

/* Words TXT (space-separated, at most 16) from 10 s, 0.4 s apart, a
 * sentence ending at each word with a full stop or question mark; a pause
 * of 1.5 s after each sentence. */
static size_t
cap_words(struct word *w, char buf[16][32], const char *txt)
{
	size_t n = 0;
	double at = 10;
	const char *p = txt;

	while (*p && n < 16) {
		size_t len = strcspn(p, " ");

		xsnprintf(buf[n], sizeof(buf[n]), "%.*s", (int)len, p);
		w[n].text = buf[n];
		w[n].start = at;
		w[n].end = at + 0.3;
		w[n].conf = 1;
		w[n].sent_end = len > 0 && strchr(".?", p[len - 1]) != NULL;
		at += w[n].sent_end ? 1.9 : 0.4;
		p += len;
		p += *p == ' ';
		n++;
	}
	return n;
}

/* The font size of style Cap in script A, or -1. */
static int
cap_size(const char *a)
{
	const char *p = a ? strstr(a, "Style: Cap,") : NULL;
	int size = -1;

	if (p != NULL && (p = strchr(p + 11, ',')) != NULL)
		size = (int)strtol(p + 1, NULL, 10);
	return size;
}

/* Script A's events: their count, and the lowest top (bottom row less
 * SIZE * SCALE) and highest bottom among their \pos; all with x at MIDX. */
static int
cap_span(const char *a, int size, double scale, int midx, int *top, int *bot)
{
	const char *p;
	int n = 0;

	*top = 1 << 20;
	*bot = -1;
	for (p = a; p && (p = strstr(p, "Dialogue:")) != NULL; p++) {
		const char *q = strstr(p, "\\pos(");
		int x, y;

		if (q == NULL || sscanf(q, "\\pos(%d,%d)", &x, &y) != 2 || x != midx)
			return -1;
		if (y - size * scale < *top)
			*top = (int)(y - size * scale);
		if (y > *bot)
			*bot = y;
		n++;
	}
	return n;
}

/* N face samples twice a second from 0 s, rows T1..B1 up to 2.5 s and
 * T2..B2 after. */
static void
cap_faces(struct cap_face *f, size_t n, int t1, int b1, int t2, int b2)
{
	size_t i;

	for (i = 0; i < n; i++) {
		f[i].t = i * 0.5;
		f[i].top = f[i].t <= 2.5 ? t1 : t2;
		f[i].bottom = f[i].t <= 2.5 ? b1 : b2;
		f[i].pane = 0;
	}
}

/* Captions placed by the face: below a high one, above a low one, each
 * line by the face over its own time. */
static void
unit_captions_face(void)
{
	struct word w[16];
	char txt[16][32], err[128], *a;
	struct cap_face face[13];
	struct caption_req cr = { .w = w, .start = 10, .end = 30,
	    .width = 1080, .height = 1920, .style = "bold",
	    .font = "DejaVu Sans" };
	int none, size, top, bot, n;
	const char *p;

	cr.n = cap_words(w, txt, "hello there, how are you? i am fine.");
	/* A face high in the picture: captions below its box.  A low one:
	 * above it, in the upper third.  Sampled twice a second. */
	cr.face = face;
	cr.nface = 13;
	cap_faces(face, 13, 500, 1320, 500, 1320);
	a = captions_ass(&cr, &none, err, sizeof(err));
	size = cap_size(a);
	n = cap_span(a, size, 1.15, 540, &top, &bot);
	ok(n == 8 && top >= 1320 &&
	    bot <= 1920 * CAPTIONS_SAFE_BOTTOM, "face at rows 500..1320: "
	    "captions below it, rows %d..%d", top, bot);
	free(a);
	cap_faces(face, 13, 880, 1800, 880, 1800);
	a = captions_ass(&cr, &none, err, sizeof(err));
	n = cap_span(a, size, 1.15, 540, &top, &bot);
	ok(n == 8 && bot <= 880 &&
	    top >= 1920 * CAPTIONS_SAFE_TOP && (top + bot) / 2 < 1920 / 3,
	    "face at rows 880..1800: captions in the upper third, rows %d..%d",
	    top, bot);
	free(a);
	/* The face drops between the sentences (the second starts at 3.5 s
	 * of the clip): each line follows the face over its own time. */
	cap_faces(face, 13, 500, 1320, 900, 1800);
	a = captions_ass(&cr, &none, err, sizeof(err));
	p = a ? strstr(a, "Dialogue: 0,0:00:03.50") : NULL;
	ok(a && p && cap_span(p, size, 1.15, 540, &top, &bot) == 3 && bot <= 900 &&
	    cap_span(a, size, 1.15, 540, &top, &bot) == 8 && bot > 1320,
	    "each line placed by the face over its own time");
	free(a);
}


/* Where each layout draws, at every aspect: split halves even, from the
 * top and to the bottom row; fit at the output's width (its height for a
 * tall source), centred; a framing fits only the size it was planned on. */
static void
unit_geom(void)
{
	static const struct {
		enum crop_layout l;
		int sw, sh, ow, oh;
		int p0h, p1y, px, py, pw, ph;
	} t[] = {
		{ LAYOUT_SPLIT, 1280, 720, 1080, 1920, 960, 960, 0, 0, 0, 0 },
		{ LAYOUT_SPLIT, 1280, 720, 1080, 1080, 540, 540, 0, 0, 0, 0 },
		{ LAYOUT_SPLIT, 1280, 720, 1080, 1350, 674, 676, 0, 0, 0, 0 },
		{ LAYOUT_FIT, 1280, 720, 1080, 1920, 0, 0, 0, 656, 1080, 608 },
		{ LAYOUT_FIT, 640, 272, 1080, 1920, 0, 0, 0, 730, 1080, 460 },
		{ LAYOUT_FIT, 640, 480, 1080, 1350, 0, 0, 0, 270, 1080, 810 },
		{ LAYOUT_FIT, 720, 1280, 1080, 1080, 0, 0, 236, 0, 608, 1080 },
		{ LAYOUT_TRACK, 1280, 720, 1080, 1920, 1920, 0, 0, 0, 0, 0 },
	};
	struct render_geom g;
	struct crop_frame f;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		render_geom(t[i].l, t[i].sw, t[i].sh, t[i].ow, t[i].oh, &g);
		ok(g.pane[0].y == 0 && g.pane[0].h == t[i].p0h &&
		    (t[i].l != LAYOUT_SPLIT || (g.pane[1].y == t[i].p1y &&
		    g.pane[1].y + g.pane[1].h == t[i].oh)) && g.px == t[i].px &&
		    g.py == t[i].py && g.pw == t[i].pw && g.ph == t[i].ph &&
		    (t[i].l != LAYOUT_FIT || (g.sw * GEOM_BLUR_DIV >= t[i].ow &&
		    g.sw % 2 == 0 && g.sh % 2 == 0 && g.bx + g.bw <= t[i].sw &&
		    g.by + g.bh <= t[i].sh)),
		    "%s %dx%d in %dx%d: panes %d+%d@%d, picture %dx%d at %d,%d",
		    crop_layout_name(t[i].l), t[i].sw, t[i].sh, t[i].ow, t[i].oh,
		    g.pane[0].h, g.pane[1].h, g.pane[1].y, g.pw, g.ph, g.px, g.py);
	}
	memset(&f, 0, sizeof(f));
	f.layout = LAYOUT_FIT;
	ok(render_frame_fits(&f, 640, 480) && !render_frame_fits(NULL, 640,
	    480), "a fit fits any source; no framing fits none");
	f.layout = LAYOUT_SPLIT;
	f.npanes = 2;
	f.pane[0].src_w = f.pane[1].src_w = 1280;
	f.pane[0].src_h = f.pane[1].src_h = 720;
	ok(render_frame_fits(&f, 1280, 720) && !render_frame_fits(&f, 720,
	    1280), "a split fits the size it was planned on only");
	f.npanes = 1;
	ok(!render_frame_fits(&f, 1280, 720), "a split with one pane does "
	    "not fit");
}

/* A pane 360x320 of a 1280x720 source whose face is REL of the window
 * down, for 10 s. */
static void
cap_pane(struct crop_path *p, struct crop_point *pt, double rel)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->src_w = 1280;
	p->src_h = 720;
	p->crop_w = 360;
	p->crop_h = 320;
	p->has_face = 1;
	p->pt = pt;
	p->n = 21;
	for (i = 0; i < p->n; i++) {
		pt[i].t = i * 0.5;
		pt[i].x = 200;
		pt[i].y = 100;
		pt[i].fx = 380;
		pt[i].fy = 100 + rel * 320;
	}
}

/* Captions by layout: split, between the halves and clear of both faces;
 * fit, in the band below the picture, or above it when the band is too
 * thin for a line. */
static void
unit_captions_layout(void)
{
	struct word w[16];
	struct crop_point pt[2][21];
	struct crop_frame f;
	struct render_geom g;
	struct cap_face *face;
	struct caption_req cr = { .w = w, .start = 10, .end = 30,
	    .width = 1080, .height = 1920, .style = "bold",
	    .font = "DejaVu Sans" };
	char txt[16][32], err[128], *a;
	int none, size, top, bot, n;

	cr.n = cap_words(w, txt, "hello there, how are you? i am fine.");
	memset(&f, 0, sizeof(f));
	f.layout = LAYOUT_SPLIT;
	f.npanes = 2;
	cap_pane(&f.pane[0], pt[0], 0.45);
	cap_pane(&f.pane[1], pt[1], 0.45);
	render_geom(LAYOUT_SPLIT, 1280, 720, 1080, 1920, &g);
	/* Faces at rows 272..592 and 1232..1552 (a third of 960 tall). */
	ok(captions_layout(&cr, &f, &g, &face) == 0 && cr.nface == 42 &&
	    cr.at == 960, "split: both panes' faces, lines at the middle");
	a = captions_ass(&cr, &none, err, sizeof(err));
	size = cap_size(a);
	n = cap_span(a, size, 1.15, 540, &top, &bot);
	ok(n == 8 && top > 592 && bot < 1232 && top < 960 && bot > 960,
	    "split: captions across the middle, rows %d..%d", top, bot);
	free(a);
	free(face);
	/* The top face low in its half (rows 608..928): the lines go below
	 * it, still above the bottom face. */
	cap_pane(&f.pane[0], pt[0], 0.8);
	captions_layout(&cr, &f, &g, &face);
	a = captions_ass(&cr, &none, err, sizeof(err));
	n = cap_span(a, size, 1.15, 540, &top, &bot);
	ok(n == 8 && top >= 928 && bot < 1232, "split, top face low: "
	    "captions below it, rows %d..%d", top, bot);
	free(a);
	free(face);

	/* Fit, 16:9 in 9:16: the picture at rows 656..1264. */
	render_geom(LAYOUT_FIT, 1280, 720, 1080, 1920, &g);
	ok(captions_layout(&cr, NULL, &g, &face) == 0 && face == NULL &&
	    cr.nface == 0 && cr.keep_top == 656 && cr.keep_bottom == 1264,
	    "fit: no faces, the picture kept clear");
	a = captions_ass(&cr, &none, err, sizeof(err));
	n = cap_span(a, size, 1.15, 540, &top, &bot);
	ok(n == 8 && top >= 1264 && bot <= 1920 * CAPTIONS_SAFE_BOTTOM,
	    "fit 9:16: captions in the band below the picture, rows %d..%d",
	    top, bot);
	free(a);
	/* 1:1: the band below (844..918 in the safe area) is too thin for a
	 * bold line; above the picture (108..236) it fits. */
	cr.width = cr.height = 1080;
	render_geom(LAYOUT_FIT, 1280, 720, 1080, 1080, &g);
	captions_layout(&cr, NULL, &g, &face);
	a = captions_ass(&cr, &none, err, sizeof(err));
	n = cap_span(a, cap_size(a), 1.15, 540, &top, &bot);
	ok(n == 8 && bot <= 236 && top >= 1080 * CAPTIONS_SAFE_TOP,
	    "fit 1:1: the band below too thin, captions above the picture, "
	    "rows %d..%d", top, bot);
	free(a);
}

static void
unit_captions(void)
{
	static const struct { int w, h; } frames[] = { { 1080, 1920 },
	    { 1080, 1080 }, { 1080, 1350 } };
	static const char *styles[] = { "classic", "bold", "minimal" };
	const struct jobfield *jf = jobspec_field("caption_style");
	struct word w[16];
	char txt[16][32], err[128], *a;
	struct caption_req cr = { .w = w, .start = 10, .end = 30,
	    .width = 1080, .height = 1920, .style = "classic",
	    .font = "DejaVu Sans" };
	int none, lines = 0, size, top, bot, presets = 1, n;
	size_t i;
	const char *p;

	cr.n = cap_words(w, txt, "hello there, how are you? i am fine.");
	a = captions_ass(&cr, &none, err, sizeof(err));
	ok(a != NULL, "captions made");
	for (p = a; p && (p = strstr(p, "Dialogue:")) != NULL; p++)
		lines++;
	ok(lines == 8, "one event per word (%d)", lines);
	ok(a && strstr(a, "0:00:00.00,0:00:00.40,Cap,,0,0,0,,{\\an2\\pos(540,") &&
	    strstr(a, "{\\c&H0000FFFF&}Hello{\\c&H00FFFFFF&} there,\n") != NULL,
	    "classic: first word highlighted, clip time, sentence case");
	ok(a && strstr(a, "I{\\c&H00FFFFFF&} am fine.") != NULL &&
	    strstr(a, "you? I") == NULL && strstr(a, "you?{\\c&H00FFFFFF&} I") == NULL,
	    "classic: lines break at sentence and clause ends; \"i\" is \"I\"");
	free(a);

	/* Every preset at every aspect: sizes relative to the height, and
	 * every line inside the safe area when no face is known. */
	for (i = 0; i < 9; i++) {
		int fw = frames[i / 3].w, fh = frames[i / 3].h;

		cr.width = fw;
		cr.height = fh;
		cr.style = styles[i % 3];
		a = captions_ass(&cr, &none, err, sizeof(err));
		size = cap_size(a);
		n = cap_span(a, size, 1.15, fw / 2, &top, &bot);
		ok(n == 8 && top >= fh * CAPTIONS_SAFE_TOP &&
		    bot <= fh * CAPTIONS_SAFE_BOTTOM + 0.5 && bot > fh / 2,
		    "%s %dx%d: lines in the lower safe area (rows %d..%d, "
		    "size %d)", cr.style, fw, fh, top, bot, size);
		if (i % 3 == 1)
			ok(size >= 0.06 * fh, "bold %dx%d: font %d px, >= 6%% of "
			    "the height", fw, fh, size);
		free(a);
	}
	cr.width = 1080;
	cr.height = 1920;
	cr.style = "bold";
	a = captions_ass(&cr, &none, err, sizeof(err));
	ok(a && strstr(a, "HELLO") && strstr(a, "THERE,") == NULL &&
	    strstr(a, "\\fscx115\\fscy115}HOW{\\c&H00FFFFFF&\\fscx100"
	    "\\fscy100} ARE\n") != NULL && strstr(a, "ARE YOU") == NULL,
	    "bold: upper case, at most two words a line, no commas, spoken "
	    "word 115%%");
	free(a);
	cr.style = "minimal";
	a = captions_ass(&cr, &none, err, sizeof(err));
	ok(a && strstr(a, "}i{") && strstr(a, "}I") == NULL &&
	    strstr(a, "}how{\\c&H00F0F0F0&} are you?\n") != NULL &&
	    strstr(a, "} am fine\n") != NULL && strstr(a, "fine.") == NULL,
	    "minimal: lower case, a clause a line, no full stops");
	free(a);

	cr.style = "bold";
	cr.n = cap_words(w, txt, "internationalization.");
	a = captions_ass(&cr, &none, err, sizeof(err));
	ok(a && strstr(a, ")\\fscx") != NULL && cap_span(a, cap_size(a), 1.15,
	    540, &top, &bot) == 1, "a word wider than the safe area is shrunk");
	free(a);
	cr.start = 0;
	cr.end = 5;
	a = captions_ass(&cr, &none, err, sizeof(err));
	ok(a == NULL && none, "no words in range: no captions, no error");
	cr.start = 10;
	cr.end = 30;
	cr.style = "loud";
	a = captions_ass(&cr, &none, err, sizeof(err));
	ok(a == NULL && !none, "unknown style refused");
	cr.style = "bold";
	cr.n = cap_words(w, txt, "{\\b1}x");
	a = captions_ass(&cr, &none, err, sizeof(err));
	ok(a && strstr(a, "{\\b1}") == NULL && strstr(a, "B1X") != NULL,
	    "override characters in words are removed");
	free(a);
	for (i = 0; jf && jf->words[i]; i++)
		presets &= captions_style_valid(jf->words[i]);
	ok(jf && presets && captions_style_valid(jf->def), "every caption "
	    "style the job table offers is a preset, its default too");
}

/* A talk of 30 sentences of 8 words at 3 words/s, 0.8 s apart; every
 * fifth sentence a question. */
static void
fake_talk(struct transcript *t)
{
	static char words[240][16];
	size_t i;
	double at = 0.5;

	memset(t, 0, sizeof(*t));
	t->w = calloc(240, sizeof(*t->w));
	for (i = 0; i < 240; i++) {
		int last = i % 8 == 7;

		xsnprintf(words[i], sizeof(words[i]), "w%zu%s", i, !last ? "" :
		    (i / 8) % 5 == 2 ? "?" : ".");
		t->w[i].text = words[i];
		t->w[i].start = at;
		t->w[i].end = at + 0.28;
		t->w[i].sent_end = last;
		t->w[i].conf = 1;
		at += last ? 0.33 + 0.8 : 0.33;
	}
	t->nw = 240;
	t->duration = at + 1;
}

/* Titles: sentence case, whole words, at most 60 characters. */
static void
unit_titles(void)
{
	static const struct { const char *in, *want; size_t len; } t[] = {
		{ "and while my fellow america and not what your country into",
		    "While my fellow america and not what your country into", 128 },
		{ "HOW TO WIN FRIENDS AND INFLUENCE PEOPLE",
		    "How to win friends and influence people", 128 },
		{ "Why Most Startups Fail In Their First Year",
		    "Why most startups fail in their first year", 128 },
		{ "what NASA learned from apollo", "What NASA learned from apollo",
		    128 },
		{ "so um i think i'm ready", "I think I'm ready", 128 },
		{ "  \"hello   world.\"  ", "Hello world", 128 },
		{ "is this the end?", "Is this the end?", 128 },
		{ "the quick brown fox jumps over the lazy dog and then it runs "
		    "away into the forest", "The quick brown fox jumps over the "
		    "lazy dog and then it runs", 128 },
		{ "we tried everything, and in the end the simplest idea won the "
		    "day", "We tried everything, and in the end the simplest idea won",
		    128 },
		{ "hello there world", "Hello", 10 },
		{ "", "", 128 },
		{ "Supercalifragilisticexpialidocious-Supercalifragilisticexpiali"
		    "docious", "Supercalifragilisticexpialidocious-Supercalifragil"
		    "isticexpia", 128 },
	};
	char out[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(out, 'x', sizeof(out));
		select_title(out, t[i].len, t[i].in);
		ok(strcmp(out, t[i].want) == 0 && strlen(out) <= 60,
		    "title \"%s\" -> \"%s\"", t[i].in, out);
	}
}

/* Reasons: words from the figures they quote. */
static void
unit_reasons(void)
{
	static const struct { struct clip_figures f; const char *want; } t[] = {
		{ { .wps = 0.8, .speech = 0.85 },
		    "Speech for 85% of it, at a slow pace (0.8 words/s)." },
		{ { .wps = 3.0, .speech = 0.9, .qa = 1, .hook = 1 },
		    "A question and its answer; a hook in the first 4 s; speech "
		    "fills 90% of it; an engaging pace (3.0 words/s)." },
		{ { .wps = 2.0, .speech = 0.6, .dead = 2.5, .loud_sd = 5.2,
		    .peaks = 3, .whole = 1 }, "Lively delivery (loudness varies "
		    "by 5 dB); 3 emphatic peaks; complete sentences; a calm pace "
		    "(2.0 words/s), and 2.5 s of pauses." },
		{ { .wps = 4.2, .speech = 0.95 },
		    "Speech fills 95% of it; a fast pace (4.2 words/s)." },
		{ { .wps = 1.2, .speech = 0.95, .whole = 1 },
		    "Complete sentences; a slow pace (1.2 words/s)." },
	};
	char out[256], want[64];
	const char *p;
	size_t i;
	int consistent = 1;
	double wps;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		select_reason(&t[i].f, out, sizeof(out));
		ok(strcmp(out, t[i].want) == 0, "reason: %s", out);
	}
	/* Whatever the pace, the words match the figure quoted. */
	for (wps = 0.1; wps < 6; wps += 0.05) {
		struct clip_figures f = { .wps = wps, .speech = 0.9 };
		double q;
		const char *pace;

		select_reason(&f, out, sizeof(out));
		p = strstr(out, " pace (");
		if (p == NULL || sscanf(p, " pace (%lf words/s)", &q) != 1 ||
		    fabs(q - wps) > 0.051) {
			consistent = 0;
			continue;
		}
		pace = q < 1.5 ? "slow" : q < 2.5 ? "calm" : q <= 3.5 ?
		    "engaging" : "fast";
		xsnprintf(want, sizeof(want), "%s pace (%.1f words/s)", pace, q);
		consistent &= strstr(out, want) != NULL &&
		    (q >= 1.5 || strstr(out, "fills") == NULL) &&
		    strstr(out, "dense") == NULL;
	}
	ok(consistent, "reason: the pace named matches the words/s quoted");
}

/* Three sentences; the clip's title is the one that says something. */
static void
unit_select_title(void)
{
	static const char *txt[] = { "so", "yeah,", "right.", "the", "secret", "to",
	    "growing", "tomatoes", "is", "deep", "watering", "every",
	    "morning.", "okay", "thanks." };
	struct word w[15];
	struct transcript t;
	struct select_req rq = { 1, 6, 10, 0 };
	struct pick p[1];
	double at = 0.5;
	size_t i, n;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < 15; i++) {
		w[i].text = (char *)(uintptr_t)txt[i];
		w[i].start = at;
		w[i].end = at + 0.28;
		w[i].conf = 1;
		w[i].sent_end = strchr(txt[i], '.') != NULL;
		at += w[i].sent_end ? 1.1 : 0.33;
	}
	t.w = w;
	t.nw = 15;
	t.duration = rq.duration = at + 1;
	n = select_heuristic(&t, &rq, p);
	ok(n == 1 && strcmp(p[0].title, "The secret to growing tomatoes is "
	    "deep watering") == 0, "heuristic title: the informative sentence, "
	    "cut at a whole word (\"%s\")", n ? p[0].title : "");
}

static void
unit_select(void)
{
	struct transcript t;
	struct select_req rq = { 3, 8, 14, 0 };
	struct pick a[10], b[10];
	size_t n, m, i, k;
	int bounds = 1, range = 1, overlap = 0;
	double s, e;

	fake_talk(&t);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	rq.duration = t.duration;
	n = select_heuristic(&t, &rq, a);
	m = select_heuristic(&t, &rq, b);
	ok(n == 3 && m == n && memcmp(a, b, sizeof(a[0]) * n) == 0,
	    "heuristic: three clips, deterministic");
	for (i = 0; i < n; i++) {
		int sb = 0, eb = 0;

		for (k = 0; k < t.nw; k++) {
			if (fabs(t.w[k].start - 0.2 - a[i].start) < 1e-6 &&
			    (k == 0 || t.w[k - 1].sent_end))
				sb = 1;
			if (fabs(t.w[k].end + 0.3 - a[i].end) < 1e-6 && t.w[k].sent_end)
				eb = 1;
		}
		bounds &= sb && eb;
		range &= a[i].end - a[i].start >= rq.min_len &&
		    a[i].end - a[i].start <= rq.max_len;
		for (k = 0; k < i; k++)
			overlap |= a[i].start < a[k].end && a[k].start < a[i].end;
	}
	ok(bounds, "heuristic: clips start and end on sentence boundaries");
	ok(range, "heuristic: clips within the length range");
	ok(!overlap, "heuristic: clips do not overlap");
	ok(n > 0 && strstr(a[0].reason, "question") != NULL &&
	    a[0].title[0] == 'W', "best clip has the question; reason \"%s\", "
	    "title \"%s\"", n ? a[0].reason : "", n ? a[0].title : "");

	s = 1.0;	/* inside the second word, which starts at 0.83 */
	e = 12.0;
	k = select_snap(&t, &rq, &s, &e) == 0;
	ok(k && e - s <= 14 && e - s >= 8 && fabs(s - (0.83 - 0.2)) < 1e-6,
	    "snap: inside a word moves to word edges (%.2f-%.2f)", s, e);
	s = -5;
	e = 10;
	ok(select_snap(&t, &rq, &s, &e) != 0, "snap: negative start refused");
	s = t.duration - 5;
	e = t.duration + 20;
	ok(select_snap(&t, &rq, &s, &e) != 0, "snap: past the end refused");
	s = 10;
	e = 12;
	ok(select_snap(&t, &rq, &s, &e) != 0, "snap: too short refused");

	rq.duration = 100;
	n = select_evenly(&rq, a);
	ok(n == 3 && a[0].start >= 0 && a[2].end <= 100 && a[0].end <= a[1].start &&
	    a[1].end - a[1].start == 14, "evenly spaced without speech");
	rq.duration = 5;
	n = select_evenly(&rq, a);
	ok(n == 1 && a[0].start == 0 && a[0].end == 5, "a short video is one clip");
	free(t.w);
}

/* Scene samples at 4/s over DUR seconds: a still picture changing by 2 a
 * sample, with JUMPS[i] the change at sample AT[i]. */
static size_t
scene_synth(struct scene_sample *s, double dur, const size_t *at,
    const double *jumps, size_t njumps)
{
	size_t n = (size_t)(dur * 4), i, j;

	for (i = 0; i < n; i++) {
		s[i].t = i * 0.25;
		s[i].d = i == 0 ? 0 : 2;
		for (j = 0; j < njumps; j++)
			if (at[j] == i)
				s[i].d = jumps[j];
	}
	return n;
}

static void
unit_scenes(void)
{
	static struct scene_sample s[400];
	struct select_req rq = { 3, 8, 12, 90 };
	struct scenes sc = { s, 0, 0 };
	struct pick p[3];
	size_t cut[400], n, k, nc;

	/* Cuts at 10 s (strong) and 40 s (weaker); a flash at 60 s (two
	 * big changes a sample apart); a pan at 80 s (changes of 15 for
	 * seconds, as big as its neighbours). */
	{
		size_t at[] = { 40, 160, 240, 241 };
		double j[] = { 80, 30, 50, 60 };
		size_t i;

		n = scene_synth(s, 90, at, j, 4);
		for (i = 320; i < 340; i++)
			s[i].d = 15;
	}
	k = scenes_cuts(s, n, cut);
	ok(k == 3 && cut[0] == 40 && cut[1] == 160 && cut[2] == 241,
	    "scenes: two cuts and one for the flash (the stronger), none for a "
	    "pan (%zu)", k);
	sc.n = n;
	k = select_scenes(&sc, &rq, p, &nc);
	ok(nc == 3 && k == 3 && p[0].start == 10 && p[0].end == 22 &&
	    p[1].start == 60.25 && p[2].start == 40 && p[2].end == 52 &&
	    p[0].score > p[1].score && p[1].score > p[2].score,
	    "scenes: three clips of 12 s, the strongest cut first (%zu: %.2f-%.2f)",
	    k, k ? p[0].start : -1, k ? p[0].end : -1);
	ok(k > 0 && strcmp(p[0].reason, "Starts at a scene change at 0:10.") == 0 &&
	    strcmp(p[0].title, "Scene at 0:10") == 0, "scenes: reason and title "
	    "name the time (%s)", k ? p[0].reason : "");
	/* A later cut inside the length range ends the clip before it. */
	{
		size_t at[] = { 40, 80 };
		double j[] = { 80, 80 };

		sc.n = scene_synth(s, 90, at, j, 2);
	}
	k = select_scenes(&sc, &rq, p, &nc);
	ok(k == 2 && p[0].start == 10 && p[0].end == 19.75 && p[1].start == 20,
	    "scenes: a clip ends at the last sample before the next shot "
	    "(%zu: %.2f-%.2f)", k, k ? p[0].start : -1, k ? p[0].end : -1);
	/* A cut too close to the end for the shortest clip; no cut at all. */
	{
		size_t at[] = { 340 };
		double j[] = { 80 };

		sc.n = scene_synth(s, 90, at, j, 1);
	}
	ok(select_scenes(&sc, &rq, p, &nc) == 0 && nc == 1,
	    "scenes: no clip from a cut 5 s before the end");
	sc.n = scene_synth(s, 90, NULL, NULL, 0);
	ok(select_scenes(&sc, &rq, p, &nc) == 0 && nc == 0,
	    "scenes: a still video has no cuts");
}

static int
unit(void)
{
	char err[256];

	if (config_load("/dev/null", err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	unit_crop();
	unit_framing();
	unit_captions();
	unit_captions_face();
	unit_geom();
	unit_captions_layout();
	unit_select();
	unit_titles();
	unit_reasons();
	unit_select_title();
	unit_scenes();
	return tap_done();
}

/* ---- driver modes ---- */

static struct task *
load_task(const char *path, const char *stage)
{
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	struct task *t = calloc(1, sizeof(*t));
	json_int_t id = 1, job = 0, clip = 0;

	if (o == NULL || t == NULL) {
		fprintf(stderr, "%s: %s\n", path, o ? "no memory" : je.text);
		exit(2);
	}
	json_unpack(o, "{s?Is?Is?I}", "id", &id, "job_id", &job, "clip_id", &clip);
	t->id = id;
	t->job_id = job;
	t->clip_id = clip;
	t->attempts = 1;
	t->max_attempts = 3;
	xsnprintf(t->stage, sizeof(t->stage), "%s", stage);
	t->payload = json_incref(json_object_get(o, "payload"));
	t->job = json_incref(json_object_get(o, "job"));
	if (t->payload == NULL)
		t->payload = json_object();
	if (t->job == NULL)
		t->job = json_object();
	json_decref(o);
	return t;
}

static const struct stage *
find(const char *name)
{
	size_t i;

	for (i = 0; mine[i]; i++)
		if (strcmp(mine[i]->name, name) == 0)
			return mine[i];
	fprintf(stderr, "unknown stage %s\n", name);
	exit(2);
}

static int
run(const char *stage, const char *task_path)
{
	const struct stage *st = find(stage);
	struct task *t = load_task(task_path, stage);
	struct task_ctx ctx;
	char err[512] = "", scratch[4096];
	json_t *res = NULL;
	enum stage_rc rc;
	char *s;

	memset(&ctx, 0, sizeof(ctx));
	ctx.task = t;
	ctx.fd = -1;
	if ((ctx.store = store_open(err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	xsnprintf(scratch, sizeof(scratch), "%s/task-%lld-%d", cfg.scratch_dir,
	    t->id, (int)getpid());
	if (mkdir_p(scratch, 0700) != 0) {
		perror(scratch);
		return 2;
	}
	ctx.scratch = scratch;
	rc = st->run(&ctx, &res, err, sizeof(err));
	s = res ? json_dumps(res, JSON_COMPACT) : NULL;
	printf("%s\n", s ? s : "null");
	free(s);
	json_decref(res);
	store_close(ctx.store);
	task_free(t);
	if (rc != STAGE_OK)
		fprintf(stderr, "stage %s: rc %d: %s\n", stage, (int)rc, err);
	return rc == STAGE_OK ? 0 : rc == STAGE_CANCELLED ? 3 :
	    rc == STAGE_TRANSIENT ? 4 : 1;
}

static int
done(const char *stage, const char *task_path, const char *res_path,
    const char *events)
{
	const struct stage *st = find(stage);
	struct task *t = load_task(task_path, stage);
	json_error_t je;
	json_t *res = json_load_file(res_path, 0, &je);
	char err[512];
	PGconn *c;
	FILE *fp;
	char line[8192];
	int rc = 1;

	if (res == NULL || (c = db_connect(err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", res ? err : je.text);
		return 2;
	}
	if (db_cmd(c, err, sizeof(err), "BEGIN", 0, NULL) != 0)
		goto out;
	if (events != NULL && (fp = fopen(events, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp)) {
			json_t *e = json_loads(line, 0, &je), *d;

			if (e == NULL)
				continue;
			d = json_pack("{sO}", "msg", json_object_get(e, "msg"));
			if (json_is_object(json_object_get(e, "data")))
				json_object_update(d, json_object_get(e, "data"));
			queue_event(c, t->job_id, json_string_value(
			    json_object_get(e, "kind")), stage, d, err, sizeof(err));
			json_decref(d);
			json_decref(e);
		}
		fclose(fp);
	}
	if (st->done(c, t, res, err, sizeof(err)) != 0 ||
	    db_cmd(c, err, sizeof(err), "COMMIT", 0, NULL) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "done %s: %s\n", stage, err);
	PQfinish(c);
	json_decref(res);
	task_free(t);
	return rc;
}

/* "t x y w h open" for each of the N faces in B (see detect). */
static void
print_mouths(double t, const struct face_box *b, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		double ex = b[i].kp[FACE_EYE_L].x - b[i].kp[FACE_EYE_R].x;
		double ey = b[i].kp[FACE_EYE_L].y - b[i].kp[FACE_EYE_R].y;
		double mx = b[i].kp[FACE_MOUTH].x - (b[i].kp[FACE_EYE_L].x +
		    b[i].kp[FACE_EYE_R].x) / 2.0;
		double my = b[i].kp[FACE_MOUTH].y - (b[i].kp[FACE_EYE_L].y +
		    b[i].kp[FACE_EYE_R].y) / 2.0;

		printf("%.3f %d %d %d %d %.4f\n", t, b[i].x + b[i].w / 2,
		    b[i].y + b[i].h / 2, b[i].w, b[i].h, fabs(ex * my - ey * mx) /
		    (ex * ex + ey * ey + 1e-9));
	}
}

static int
detect(const char *video, double fps, int tiled, int kp)
{
	struct media_in m;
	struct face_det *fd;
	char err[256];
	double next = 0;

	if (media_open(&m, video, NULL, 0, 0, err, sizeof(err)) != 0)
		goto fail;
	if ((fd = face_det_open(cfg.face_model_dir, err, sizeof(err))) == NULL) {
		media_close(&m);
		goto fail;
	}
	for (;;) {
		enum AVMediaType k;
		struct face_box b[CROP_MAX_FACES];
		int n;
		double t;

		if (media_next(&m, &k, err, sizeof(err)) != 0)
			break;
		t = media_frame_time(&m, k, m.frame);
		if (t < next - 0.01)
			continue;
		next += 1 / fps;
		/* The frame stage's own look: boxes largest first. */
		if ((n = face_det_frame(fd, m.frame, tiled, b, CROP_MAX_FACES)) <= 0)
			printf("%.3f - - - - 0\n", t);
		else if (kp)
			print_mouths(t, b, n);
		else
			printf("%.3f %d %d %d %d %d\n", t, b[0].x + b[0].w / 2,
			    b[0].y + b[0].h / 2, b[0].w, b[0].h, n);
	}
	face_det_close(fd);
	media_close(&m);
	return 0;
fail:
	fprintf(stderr, "%s\n", err);
	return 2;
}

static int
gray(const char *video, double at, int w, int h)
{
	struct media_in m;
	struct SwsContext *sws = NULL;
	uint8_t *g = NULL;
	char err[256] = "";
	int rc = 1;

	if (w < 1 || h < 1 || w > 4096 || h > 4096 ||
	    media_open(&m, video, NULL, 0, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", w < 1 || h < 1 ? "bad size" : err);
		return 2;
	}
	if (media_seek(&m, at, err, sizeof(err)) != 0)
		goto out;
	for (;;) {
		enum AVMediaType k;
		int r = media_next(&m, &k, err, sizeof(err));

		if (r != 0)
			goto out;
		if (media_frame_time(&m, k, m.frame) >= at - 0.001)
			break;
	}
	if ((g = malloc((size_t)w * h)) == NULL ||
	    media_grey(&sws, m.frame, g, w, h) != 0)
		goto out;
	if (fwrite(g, 1, (size_t)w * h, stdout) == (size_t)w * h)
		rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "gray: %s\n", err);
	sws_freeContext(sws);
	free(g);
	media_close(&m);
	return rc;
}

static int
scenes(const char *video)
{
	struct scenes sc;
	size_t *cut, n, i;
	char err[256];

	if (scenes_sample(video, NULL, &sc, NULL, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if ((cut = calloc(sc.n + 1, sizeof(*cut))) == NULL)
		return 2;
	for (i = 0; i < sc.n; i++)
		printf("%.3f %.2f\n", sc.s[i].t, sc.s[i].d);
	n = scenes_cuts(sc.s, sc.n, cut);
	for (i = 0; i < n; i++)
		printf("cut %.3f %.2f\n", sc.s[cut[i]].t, sc.s[cut[i]].d);
	printf("keyframes_only %d\n", sc.keyframes_only);
	free(cut);
	scenes_free(&sc);
	return 0;
}

static int
probe(const char *video)
{
	json_t *o;
	char err[256], *s;

	if (probe_file(video, &o, err, sizeof(err)) != PROBE_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", s ? s : "null");
	free(s);
	json_decref(o);
	return 0;
}

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The draw mode: the layout's own cost per frame, decoding left out. */
static int
draw(const char *video, double start, double end, const char *crop, int w,
    int h)
{
	struct render_req r = { .out_w = w, .out_h = h, .aspect_w = w,
	    .aspect_h = h };
	struct media_in m;
	struct crop_frame f;
	struct lay l;
	json_error_t je;
	json_t *cj = json_load_file(crop, 0, &je);
	AVFrame *of = av_frame_alloc();
	char err[256] = "";
	long long frames = 0;
	double ms = 0;
	int rc = 1;

	memset(&l, 0, sizeof(l));
	if (cj == NULL || crop_frame_from_json(cj, &f, err, sizeof(err)) != 0 ||
	    of == NULL) {
		fprintf(stderr, "%s: not a framing\n", crop);
		json_decref(cj);
		av_frame_free(&of);
		return 2;
	}
	json_decref(cj);
	of->format = AV_PIX_FMT_YUV420P;
	of->width = w;
	of->height = h;
	r.frame = &f;
	if (av_frame_get_buffer(of, 0) < 0 ||
	    media_open(&m, video, NULL, 0, 1, err, sizeof(err)) != 0)
		goto fail;
	if (lay_open(&l, &f, m.width, m.height, &r, err, sizeof(err)) != 0 ||
	    media_seek(&m, start, err, sizeof(err)) != 0)
		goto out;
	for (;;) {
		enum AVMediaType k;
		double t;
		long long t0;

		if (media_next(&m, &k, err, sizeof(err)) != 0)
			break;
		t = media_frame_time(&m, k, m.frame);
		if (t < start)
			continue;
		if (t >= end)
			break;
		if (lay_scalers(&l, m.frame, m.width, m.height, err,
		    sizeof(err)) != 0)
			goto out;
		t0 = now_us();
		if (lay_draw(&l, m.frame, t - start, of) != 0)
			goto out;
		ms += (now_us() - t0) / 1000.0;
		frames++;
	}
	printf("frames %lld draw_ms_per_frame %.3f\n", frames,
	    frames ? ms / frames : 0);
	rc = 0;
out:
	lay_close(&l);
	media_close(&m);
fail:
	if (rc != 0)
		fprintf(stderr, "draw: %s\n", err);
	av_frame_free(&of);
	crop_frame_free(&f);
	return rc;
}

/* The captions script for argv (TRANSCRIPT START END W H STYLE), placed
 * for the framing in CROP (NULL: none) on a SRC_W x SRC_H source (0 0:
 * the size its panes were planned on). */
static int
ass(char **argv, const char *crop, int src_w, int src_h)
{
	struct transcript t;
	struct caption_req cr = { .start = strtod(argv[1], NULL),
	    .end = strtod(argv[2], NULL), .width = (int)strtol(argv[3], NULL, 10),
	    .height = (int)strtol(argv[4], NULL, 10), .style = argv[5],
	    .font = cfg.caption_font };
	struct crop_frame f;
	struct render_geom g;
	struct cap_face *face = NULL;
	json_error_t je;
	json_t *cj = NULL;
	char err[256], *a;
	int none, have;

	memset(&f, 0, sizeof(f));
	if (crop != NULL && ((cj = json_load_file(crop, 0, &je)) == NULL ||
	    crop_frame_from_json(cj, &f, err, sizeof(err)) != 0)) {
		fprintf(stderr, "%s: not a framing\n", crop);
		json_decref(cj);
		return 1;
	}
	json_decref(cj);
	if (src_w <= 0 && f.npanes > 0) {
		src_w = f.pane[0].src_w;
		src_h = f.pane[0].src_h;
	}
	have = crop != NULL && render_frame_fits(&f, src_w, src_h);
	if (render_geom(have ? f.layout : LAYOUT_TRACK, src_w > 0 ? src_w :
	    cr.width, src_h > 0 ? src_h : cr.height, cr.width, cr.height,
	    &g) != 0 || captions_layout(&cr, have ? &f : NULL, &g,
	    &face) != 0) {
		fprintf(stderr, "no layout for %dx%d\n", cr.width, cr.height);
		crop_frame_free(&f);
		return 1;
	}
	crop_frame_free(&f);
	if (transcript_load(argv[0], NULL, &t, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		free(face);
		return 1;
	}
	cr.w = t.w;
	cr.n = t.nw;
	a = captions_ass(&cr, &none, err, sizeof(err));
	transcript_free(&t);
	free(face);
	if (a == NULL) {
		fprintf(stderr, "%s\n", none ? "no words" : err);
		return 1;
	}
	fputs(a, stdout);
	free(a);
	return 0;
}

int
main(int argc, char **argv)
{
	char err[512];

	log_set_program("mediaout-test");
	if (argc < 2)
		return unit();
	if (config_load(NULL, err, sizeof(err)) != 0 ||
	    log_init(cfg.log_level, cfg.log_file) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (strcmp(argv[1], "run") == 0 && argc == 4)
		return run(argv[2], argv[3]);
	if (strcmp(argv[1], "done") == 0 && (argc == 5 || argc == 6))
		return done(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
	if (strcmp(argv[1], "detect") == 0 && (argc == 4 || (argc == 5 &&
	    (strcmp(argv[4], "tiled") == 0 || strcmp(argv[4], "kp") == 0))))
		return detect(argv[2], strtod(argv[3], NULL), argc == 5 &&
		    strcmp(argv[4], "tiled") == 0, argc == 5 &&
		    strcmp(argv[4], "kp") == 0);
	if (strcmp(argv[1], "gray") == 0 && argc == 6)
		return gray(argv[2], strtod(argv[3], NULL), (int)strtol(argv[4],
		    NULL, 10), (int)strtol(argv[5], NULL, 10));
	if (strcmp(argv[1], "scenes") == 0 && argc == 3)
		return scenes(argv[2]);
	if (strcmp(argv[1], "probe") == 0 && argc == 3)
		return probe(argv[2]);
	if (strcmp(argv[1], "draw") == 0 && argc == 8)
		return draw(argv[2], strtod(argv[3], NULL), strtod(argv[4], NULL),
		    argv[5], (int)strtol(argv[6], NULL, 10),
		    (int)strtol(argv[7], NULL, 10));
	if (strcmp(argv[1], "ass") == 0 && (argc == 8 || argc == 9 ||
	    argc == 11))
		return ass(argv + 2, argc >= 9 ? argv[8] : NULL, argc == 11 ?
		    (int)strtol(argv[9], NULL, 10) : 0, argc == 11 ?
		    (int)strtol(argv[10], NULL, 10) : 0);
	fprintf(stderr, "usage: mediaout [run|done|detect|gray|scenes|probe|draw|ass] ...\n");
	return 2;
}
