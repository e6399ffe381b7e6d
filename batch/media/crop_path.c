/*
 * Crop path planning (crop.h).  Detections are linked into tracks, the
 * subject is chosen per sample with a half-second hysteresis, and each
 * axis of the camera follows the subject with a dead zone, a speed limit
 * and a hold against quick reversals.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crop.h"
#include "util.h"

#define MAX_TRACKS	256
#define TRACK_GAP_S	1.0	/* a face may be missed this long and keep its track */
#define MIN_HITS	3	/* fewer detections: an isolated false positive */
#define SWITCH_S	0.5	/* a new subject must persist this long to cut */
#define REVERSE_HOLD_S	0.8	/* no reversal sooner than this after moving */
#define SETTLE		0.03	/* stop moving this close to the target (of crop) */
#define GAIN		3.0	/* proportional follow, 1/s */

struct track {
	int	hits;
	double	area;		/* sum of box areas */
	int	first, last;	/* sample indexes */
	struct face_box lastbox;
};

int
crop_parse_aspect(const char *aspect, int *aw, int *ah)
{
	long long w, h;
	const char *colon;
	char num[16];

	if (aspect == NULL || (colon = strchr(aspect, ':')) == NULL ||
	    (size_t)(colon - aspect) >= sizeof(num))
		return -1;
	memcpy(num, aspect, (size_t)(colon - aspect));
	num[colon - aspect] = '\0';
	if (parse_ll(num, 1, 100, &w) != 0 || parse_ll(colon + 1, 1, 100, &h) != 0)
		return -1;
	*aw = (int)w;
	*ah = (int)h;
	return 0;
}

void
crop_size(int src_w, int src_h, int aw, int ah, int *cw, int *ch)
{
	if ((long long)src_w * ah > (long long)src_h * aw) {
		*ch = src_h & ~1;
		*cw = (int)((long long)src_h * aw / ah) & ~1;
	} else {
		*cw = src_w & ~1;
		*ch = (int)((long long)src_w * ah / aw) & ~1;
	}
	if (*cw < 2)
		*cw = 2;
	if (*ch < 2)
		*ch = 2;
}

static double
clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Index of the box in sample I that belongs to track K, or -1. */
static int
box_of(const int *assign, size_t i, int k, int nbox)
{
	int b;

	for (b = 0; b < nbox; b++)
		if (assign[i * CROP_MAX_FACES + b] == k)
			return b;
	return -1;
}

/*
 * Follow TARGET (N centres along one axis) with a camera window of size
 * CS on an axis of size SS; CAM receives window centres.  CUT[i] set:
 * jump.  Returns the number of direction reversals.
 */
static int
follow_axis(const double *t, const double *target, const int *cut, size_t n,
    double cs, double ss, double *cam)
{
	double lo = cs / 2, hi = ss - cs / 2, dz = cfg.crop_dead_zone * cs;
	double vmax = cfg.crop_max_speed * cs, last_move_t = -1e9;
	int moving = 0, last_dir = 0, reversals = 0;
	size_t i;

	if (n == 0)
		return 0;
	if (cs >= ss) {
		for (i = 0; i < n; i++)
			cam[i] = ss / 2;
		return 0;
	}
	cam[0] = clampd(target[0], lo, hi);
	for (i = 1; i < n; i++) {
		double dt = t[i] - t[i - 1], err, v, step;
		int dir;

		cam[i] = cam[i - 1];
		if (cut[i]) {
			cam[i] = clampd(target[i], lo, hi);
			moving = 0;
			last_dir = 0;
			continue;
		}
		err = clampd(target[i], lo, hi) - cam[i];
		if (!moving && fabs(err) > dz)
			moving = 1;
		if (!moving)
			continue;
		v = clampd(GAIN * err, -vmax, vmax);
		dir = v > 0 ? 1 : v < 0 ? -1 : 0;
		/* Swinging back right after a move is the jitter viewers
		 * notice; allow it only when the face is about to leave. */
		if (last_dir != 0 && dir != 0 && dir != last_dir &&
		    t[i] - last_move_t < REVERSE_HOLD_S && fabs(err) < 0.4 * cs)
			continue;
		step = v * dt;
		if (fabs(step) > fabs(err))
			step = err;
		cam[i] = clampd(cam[i] + step, lo, hi);
		if (fabs(step) >= 0.5) {
			if (last_dir != 0 && dir != last_dir)
				reversals++;
			last_dir = dir;
			last_move_t = t[i];
		}
		if (fabs(clampd(target[i], lo, hi) - cam[i]) < SETTLE * cs)
			moving = 0;
	}
	return reversals;
}

static int
to_corner(double centre, int cs, int ss)
{
	long v = lround(centre - cs / 2.0);

	if (v > ss - cs)
		v = ss - cs;
	if (v < 0)
		v = 0;
	return (int)(v & ~1L);
}

/* The working arrays of one plan, N (at least 1) samples long. */
struct plan {
	struct track	*tr;
	int		 ntr;
	int		*assign;	/* track of each box, -1: none */
	int		*subj;		/* the subject's track per sample */
	int		*cut;		/* 1: the camera jumps here */
	double		*t, *tx, *ty;	/* sample times, the subject's centre */
	double		*cx, *cy;	/* the camera's centre */
};

static void
plan_free(struct plan *p)
{
	free(p->tr);
	free(p->assign);
	free(p->subj);
	free(p->cut);
	free(p->t);
	free(p->tx);
	free(p->ty);
	free(p->cx);
	free(p->cy);
}

/* P's arrays for NP samples; 0, or -1 (free it with plan_free either way). */
static int
plan_alloc(struct plan *p, size_t np)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->tr = calloc(MAX_TRACKS, sizeof(*p->tr));
	p->assign = malloc(np * CROP_MAX_FACES * sizeof(*p->assign));
	p->subj = malloc(np * sizeof(*p->subj));
	p->cut = calloc(np, sizeof(*p->cut));
	p->t = calloc(np, sizeof(*p->t));
	p->tx = calloc(np, sizeof(*p->tx));
	p->ty = calloc(np, sizeof(*p->ty));
	p->cx = calloc(np, sizeof(*p->cx));
	p->cy = calloc(np, sizeof(*p->cy));
	if (!p->tr || !p->assign || !p->subj || !p->cut || !p->t || !p->tx ||
	    !p->ty || !p->cx || !p->cy)
		return -1;
	for (i = 0; i < np * CROP_MAX_FACES; i++)
		p->assign[i] = -1;
	return 0;
}

/* Link: each box joins the nearest recent track of a similar size. */
static void
link_tracks(const struct crop_sample *s, size_t n, struct plan *p)
{
	size_t i;
	int b, k;

	for (i = 0; i < n; i++) {
		p->t[i] = s[i].t;
		for (b = 0; b < s[i].n && b < CROP_MAX_FACES; b++) {
			const struct face_box *fb = &s[i].box[b];
			double bx = fb->x + fb->w / 2.0, by = fb->y + fb->h / 2.0;
			double best = 1e18;
			int bk = -1;

			for (k = 0; k < p->ntr; k++) {
				const struct face_box *lb = &p->tr[k].lastbox;
				double dx, dy, d, ratio, lim;

				if (p->tr[k].last == (int)i ||
				    s[i].t - s[p->tr[k].last].t > TRACK_GAP_S)
					continue;
				ratio = (double)fb->w / (lb->w > 0 ? lb->w : 1);
				if (ratio < 0.5 || ratio > 2.0)
					continue;
				dx = bx - (lb->x + lb->w / 2.0);
				dy = by - (lb->y + lb->h / 2.0);
				d = sqrt(dx * dx + dy * dy);
				lim = 0.75 * (fb->w > lb->w ? fb->w : lb->w);
				if (d < lim && d < best) {
					best = d;
					bk = k;
				}
			}
			if (bk < 0) {
				if (p->ntr == MAX_TRACKS)
					continue;
				bk = p->ntr++;
				p->tr[bk].first = (int)i;
			}
			p->tr[bk].hits++;
			p->tr[bk].area += (double)fb->w * fb->h;
			p->tr[bk].last = (int)i;
			p->tr[bk].lastbox = *fb;
			p->assign[i * CROP_MAX_FACES + b] = bk;
		}
	}
}

/* The subject per sample: the best present track (persistence times
 * size), switched only after it has been preferred for SWITCH_S.
 * Isolated detections are dropped; a very short clip keeps what it has. */
static void
choose_subject(const struct crop_sample *s, size_t n, struct plan *p)
{
	int hits_needed = n < MIN_HITS * 2 ? 1 : MIN_HITS;
	int cur = -1, pref_prev = -1, k;
	double diff_since = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		double bs = -1;
		int pref = -1;

		for (k = 0; k < p->ntr; k++) {
			double score;

			if (p->tr[k].hits < hits_needed || (int)i < p->tr[k].first ||
			    (int)i > p->tr[k].last)
				continue;
			score = p->tr[k].hits * (p->tr[k].area / p->tr[k].hits);
			if (score > bs) {
				bs = score;
				pref = k;
			}
		}
		if (cur < 0 && pref >= 0) {
			cur = pref;
		} else if (pref >= 0 && pref != cur) {
			if (pref != pref_prev || diff_since < 0)
				diff_since = s[i].t;
			if (s[i].t - diff_since >= SWITCH_S - 1e-9) {
				cur = pref;
				p->cut[i] = 1;
				diff_since = -1;
			}
		} else {
			diff_since = -1;
		}
		pref_prev = pref;
		p->subj[i] = cur;
	}
}

/* The centre of the box of track K in sample I (which has one). */
static void
box_centre(const struct crop_sample *s, const struct plan *p, size_t i,
    int k, double *x, double *y)
{
	const struct face_box *f = &s[i].box[box_of(p->assign, i, k, s[i].n)];

	*x = f->x + f->w / 2.0;
	*y = f->y + f->h / 2.0;
}

/*
 * Target: the subject's centre, interpolated across missed samples, into
 * p->tx, p->ty, and where it was seen into OUT's points' fx, fy.  Before
 * the subject first shows, its first place; without one, the frame's
 * centre.  Returns whether there was a subject at all.
 */
static int
subject_targets(const struct crop_sample *s, size_t n, struct plan *p,
    int src_w, int src_h, struct crop_path *out)
{
	int have = 0;
	size_t i, j;

	for (i = 0; i < n; i++) {
		int kk = p->subj[i], j0, j1;
		double x0, y0, x1, y1, a;

		out->pt[i].fx = out->pt[i].fy = -1;
		if (kk < 0 || (int)i < p->tr[kk].first || (int)i > p->tr[kk].last) {
			if (have) {
				p->tx[i] = p->tx[i - 1];
				p->ty[i] = p->ty[i - 1];
			}
			continue;
		}
		if (box_of(p->assign, i, kk, s[i].n) >= 0) {
			box_centre(s, p, i, kk, &p->tx[i], &p->ty[i]);
			out->pt[i].fx = p->tx[i];
			out->pt[i].fy = p->ty[i];
		} else {
			/* Between two detections of the same track. */
			for (j0 = (int)i - 1; j0 >= p->tr[kk].first &&
			    box_of(p->assign, (size_t)j0, kk, s[j0].n) < 0; j0--)
				;
			for (j1 = (int)i + 1; j1 <= p->tr[kk].last &&
			    box_of(p->assign, (size_t)j1, kk, s[j1].n) < 0; j1++)
				;
			box_centre(s, p, (size_t)j0, kk, &x0, &y0);
			box_centre(s, p, (size_t)j1, kk, &x1, &y1);
			a = (s[i].t - s[j0].t) / (s[j1].t - s[j0].t);
			p->tx[i] = x0 + a * (x1 - x0);
			p->ty[i] = y0 + a * (y1 - y0);
		}
		if (!have) {
			for (j = 0; j < i; j++) {
				p->tx[j] = p->tx[i];
				p->ty[j] = p->ty[i];
			}
			have = 1;
		}
	}
	if (!have)
		for (i = 0; i < n; i++) {
			p->tx[i] = src_w / 2.0;
			p->ty[i] = src_h / 2.0;
		}
	return have;
}

/* OUT's points from the camera's path (one centred point when nothing
 * was sampled), and its share of samples with the subject in the crop. */
static void
fill_points(size_t n, const struct plan *p, struct crop_path *out)
{
	size_t i;

	if (n == 0) {
		out->pt[0].t = 0;
		out->pt[0].fx = out->pt[0].fy = -1;
		p->cx[0] = out->src_w / 2.0;
		p->cy[0] = out->src_h / 2.0;
		out->n = 1;
	} else {
		out->n = n;
	}
	for (i = 0; i < out->n; i++) {
		struct crop_point *q = &out->pt[i];

		q->t = n > 0 ? p->t[i] : 0;
		q->x = to_corner(p->cx[i], out->crop_w, out->src_w);
		q->y = to_corner(p->cy[i], out->crop_h, out->src_h);
		q->cut = n > 0 ? p->cut[i] : 0;
		if (q->fx >= 0) {
			out->face_samples++;
			if (q->fx >= q->x && q->fx < q->x + out->crop_w &&
			    q->fy >= q->y && q->fy < q->y + out->crop_h)
				out->face_in_crop += 1;
		}
	}
	if (out->face_samples > 0)
		out->face_in_crop /= out->face_samples;
}

int
crop_plan(const struct crop_sample *s, size_t n, double duration, int src_w,
    int src_h, int aw, int ah, struct crop_path *out, char *err, size_t errlen)
{
	struct plan p;
	size_t np = n > 0 ? n : 1;
	int reversals;

	memset(out, 0, sizeof(*out));
	out->src_w = src_w;
	out->src_h = src_h;
	crop_size(src_w, src_h, aw, ah, &out->crop_w, &out->crop_h);
	if (plan_alloc(&p, np) != 0 ||
	    (out->pt = calloc(np, sizeof(*out->pt))) == NULL) {
		seterr(err, errlen, "Out of memory while planning the crop.");
		plan_free(&p);
		crop_path_free(out);
		return -1;
	}
	link_tracks(s, n, &p);
	choose_subject(s, n, &p);
	out->has_face = subject_targets(s, n, &p, src_w, src_h, out);
	reversals = follow_axis(p.t, p.tx, p.cut, n, out->crop_w, src_w, p.cx);
	reversals += follow_axis(p.t, p.ty, p.cut, n, out->crop_h, src_h, p.cy);
	fill_points(n, &p, out);
	out->reversals_per_s = duration > 0 ? reversals / duration : 0;
	plan_free(&p);
	return 0;
}

void
crop_path_free(struct crop_path *p)
{
	free(p->pt);
	p->pt = NULL;
	p->n = 0;
}

void
crop_at(const struct crop_path *p, double t, int *x, int *y)
{
	size_t lo = 0, hi, mid;
	const struct crop_point *a, *b;
	double f;

	if (p->n == 0) {
		*x = (p->src_w - p->crop_w) / 2 & ~1;
		*y = (p->src_h - p->crop_h) / 2 & ~1;
		return;
	}
	if (t <= p->pt[0].t || p->n == 1) {
		*x = p->pt[0].x;
		*y = p->pt[0].y;
		return;
	}
	if (t >= p->pt[p->n - 1].t) {
		*x = p->pt[p->n - 1].x;
		*y = p->pt[p->n - 1].y;
		return;
	}
	/* The last point at or before T. */
	hi = p->n - 1;
	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (p->pt[mid].t <= t)
			lo = mid;
		else
			hi = mid;
	}
	a = &p->pt[lo];
	b = &p->pt[lo + 1];
	if (b->cut || b->t <= a->t) {
		*x = a->x;
		*y = a->y;
		return;
	}
	f = (t - a->t) / (b->t - a->t);
	*x = (int)lround(a->x + f * (b->x - a->x)) & ~1;
	*y = (int)lround(a->y + f * (b->y - a->y)) & ~1;
}

json_t *
crop_path_json(const struct crop_path *p)
{
	json_t *pts = json_array(), *o;
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct crop_point *q = &p->pt[i];

		json_array_append_new(pts, json_pack("[fiiiff]",
		    round(q->t * 1000) / 1000, q->x, q->y, q->cut,
		    round(q->fx * 10) / 10, round(q->fy * 10) / 10));
	}
	o = json_pack("{sisisisisisbsisfsfso}", "version", 1,
	    "src_w", p->src_w, "src_h", p->src_h, "crop_w", p->crop_w,
	    "crop_h", p->crop_h, "has_face", p->has_face,
	    "face_samples", p->face_samples, "face_in_crop", p->face_in_crop,
	    "reversals_per_s", p->reversals_per_s, "points", pts);
	return o;
}

int
crop_path_from_json(json_t *o, struct crop_path *p, char *err, size_t errlen)
{
	json_t *pts, *q;
	json_int_t sw, sh, cw, ch;
	size_t i;
	int hf = 0;

	memset(p, 0, sizeof(*p));
	if (json_unpack(o, "{sIsIsIsIs?bso}", "src_w", &sw, "src_h", &sh,
	    "crop_w", &cw, "crop_h", &ch, "has_face", &hf, "points", &pts) != 0 ||
	    !json_is_array(pts) || sw < 2 || sh < 2 || sw > 16384 ||
	    sh > 16384 || cw < 2 || ch < 2 || cw > sw || ch > sh ||
	    json_array_size(pts) > 1000000) {
		seterr(err, errlen, "The stored crop path is not valid.");
		return -1;
	}
	p->src_w = (int)sw;
	p->src_h = (int)sh;
	p->crop_w = (int)cw;
	p->crop_h = (int)ch;
	p->has_face = hf;
	p->n = json_array_size(pts);
	if (p->n > 0 && (p->pt = calloc(p->n, sizeof(*p->pt))) == NULL) {
		seterr(err, errlen, "Out of memory reading the crop path.");
		return -1;
	}
	json_array_foreach(pts, i, q) {
		double t, fx, fy;
		json_int_t x, y, cut;

		if (json_unpack(q, "[FIIIFF]", &t, &x, &y, &cut, &fx, &fy) != 0 ||
		    x < 0 || y < 0 || x > sw - cw || y > sh - ch ||
		    (i > 0 && t < p->pt[i - 1].t)) {
			seterr(err, errlen, "The stored crop path has a bad "
			    "point (%zu).", i);
			crop_path_free(p);
			return -1;
		}
		p->pt[i].t = t;
		p->pt[i].x = (int)x & ~1;
		p->pt[i].y = (int)y & ~1;
		p->pt[i].cut = cut != 0;
		p->pt[i].fx = fx;
		p->pt[i].fy = fy;
	}
	return 0;
}

static const char *const layout_names[] = { "track", "split", "fit" };

const char *
crop_layout_name(enum crop_layout l)
{
	return (unsigned)l < 3 ? layout_names[l] : "track";
}

int
crop_layout_parse(const char *s, enum crop_layout *l)
{
	int i;

	for (i = 0; i < 3 && s != NULL; i++)
		if (strcmp(s, layout_names[i]) == 0) {
			*l = (enum crop_layout)i;
			return 0;
		}
	return -1;
}

json_t *
crop_frame_json(const struct crop_frame *f)
{
	json_t *panes = json_array();
	int i;

	for (i = 0; i < f->npanes; i++)
		json_array_append_new(panes, crop_path_json(&f->pane[i]));
	return json_pack("{sissssso}", "version", 2, "layout",
	    crop_layout_name(f->layout), "reason", f->reason, "panes", panes);
}

int
crop_frame_from_json(json_t *o, struct crop_frame *f, char *err,
    size_t errlen)
{
	const char *layout = NULL, *reason = "";
	json_t *panes = NULL, *p;
	size_t i, want;

	memset(f, 0, sizeof(*f));
	if (json_object_get(o, "layout") == NULL) {
		/* Version 1: one bare path, a track. */
		if (crop_path_from_json(o, &f->pane[0], err, errlen) != 0)
			return -1;
		f->npanes = 1;
		return 0;
	}
	if (json_unpack(o, "{sss?sso}", "layout", &layout, "reason", &reason,
	    "panes", &panes) != 0 || crop_layout_parse(layout,
	    &f->layout) != 0 || !json_is_array(panes)) {
		seterr(err, errlen, "The stored framing is not valid.");
		return -1;
	}
	want = f->layout == LAYOUT_TRACK ? 1 : f->layout == LAYOUT_SPLIT ?
	    2 : 0;
	if (json_array_size(panes) != want) {
		seterr(err, errlen, "The stored framing has %zu panes for a "
		    "%s layout.", json_array_size(panes), layout);
		return -1;
	}
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
	json_array_foreach(panes, i, p) {
		if (crop_path_from_json(p, &f->pane[i], err, errlen) != 0) {
			crop_frame_free(f);
			return -1;
		}
		f->npanes++;
	}
	return 0;
}

void
crop_frame_free(struct crop_frame *f)
{
	int i;

	for (i = 0; i < f->npanes; i++)
		crop_path_free(&f->pane[i]);
	f->npanes = 0;
}
