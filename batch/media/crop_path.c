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
/*
 * The speaker: a face's mouth opening is the mouth key point's distance
 * from the eye line over the eyes' distance (the same whatever the roll),
 * and its movement the change from one detection to the next, averaged
 * over SPEAK_WIN_S either side.  Movement in silence counts QUIET_WEIGHT.
 * The face that moves its mouth at least SPEAK_MIN and SPEAK_LEAD times
 * more than any other speaks; a new speaker is followed after CONFIRM_S,
 * and never sooner than MIN_SHOT_S after the last cut.
 */
#define SPEAK_WIN_S	0.6
#define SPEAK_MIN	0.03
#define SPEAK_LEAD	1.6
#define QUIET_WEIGHT	0.25
#define QUIET_BELOW_DB	25.0	/* under the clip's loudest by this: silence */
#define CONFIRM_S	0.6
#define MIN_SHOT_S	2.0
#define SPLIT_MIN_S	1.5	/* each of a split's two speaks this long */
#define SPLIT_SHARE	0.2	/* and this share of the speech at least */

struct track {
	int	hits;
	double	area;		/* sum of box areas */
	double	sumx;		/* sum of box centres, for left and right */
	double	talk_s;		/* seconds it was the speaker */
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
	double		*act;		/* mouth movement of each box, -1: unknown */
	int		*speak;		/* the speaking track per sample, -1 */
	int		 hits_needed;	/* fewer: a false positive */
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
	free(p->act);
	free(p->speak);
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
	p->act = malloc(np * CROP_MAX_FACES * sizeof(*p->act));
	p->speak = malloc(np * sizeof(*p->speak));
	p->t = calloc(np, sizeof(*p->t));
	p->tx = calloc(np, sizeof(*p->tx));
	p->ty = calloc(np, sizeof(*p->ty));
	p->cx = calloc(np, sizeof(*p->cx));
	p->cy = calloc(np, sizeof(*p->cy));
	if (!p->tr || !p->assign || !p->subj || !p->cut || !p->t || !p->tx ||
	    !p->ty || !p->cx || !p->cy || !p->act || !p->speak)
		return -1;
	for (i = 0; i < np * CROP_MAX_FACES; i++) {
		p->assign[i] = -1;
		p->act[i] = -1;
	}
	for (i = 0; i < np; i++)
		p->speak[i] = -1;
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
			p->tr[bk].sumx += bx;
			p->tr[bk].last = (int)i;
			p->tr[bk].lastbox = *fb;
			p->assign[i * CROP_MAX_FACES + b] = bk;
		}
	}
}

/* Whether track K counts (not a stray detection) and is in sample I. */
static int
present(const struct plan *p, int k, size_t i)
{
	return k >= 0 && p->tr[k].hits >= p->hits_needed &&
	    (int)i >= p->tr[k].first && (int)i <= p->tr[k].last;
}

/* The mouth's opening of box B (see SPEAK_MIN) into *V; 0, or -1 when
 * its key points are too close to tell. */
static int
mouth_open(const struct face_box *b, double *v)
{
	double ex = b->kp[FACE_EYE_L].x - b->kp[FACE_EYE_R].x;
	double ey = b->kp[FACE_EYE_L].y - b->kp[FACE_EYE_R].y;
	double mx = b->kp[FACE_MOUTH].x - (b->kp[FACE_EYE_L].x +
	    b->kp[FACE_EYE_R].x) / 2.0;
	double my = b->kp[FACE_MOUTH].y - (b->kp[FACE_EYE_L].y +
	    b->kp[FACE_EYE_R].y) / 2.0;
	double d2 = ex * ex + ey * ey;

	if (d2 < 16)
		return -1;
	*v = fabs(ex * my - ey * mx) / d2;
	return 0;
}

/* Whether the audio is quiet at T (seconds from the clip start). */
static int
quiet_at(const struct crop_audio *au, double peak, double t)
{
	long k;

	if (au == NULL || au->n == 0 || !(au->interval > 0))
		return 0;
	k = lround(floor((au->t0 + t) / au->interval));
	if (k < 0 || (size_t)k >= au->n)
		return 1;
	return au->db[k] < peak - QUIET_BELOW_DB;
}

/* The clip's loudest window over DURATION, or -1000 without audio. */
static double
loudest(const struct crop_audio *au, double duration)
{
	double peak = -1000;
	long k, k0, k1;

	if (au == NULL || au->n == 0 || !(au->interval > 0))
		return peak;
	k0 = lround(floor(au->t0 / au->interval));
	k1 = lround(ceil((au->t0 + duration) / au->interval));
	for (k = k0 < 0 ? 0 : k0; k < k1 && (size_t)k < au->n; k++)
		if (au->db[k] > peak)
			peak = au->db[k];
	return peak;
}

/* Each box's mouth movement since its track's last detection into
 * p->act, weighted by whether the audio was loud then. */
static void
mouth_activity(const struct crop_sample *s, size_t n, struct plan *p,
    const struct crop_audio *au, double duration)
{
	double last_v[MAX_TRACKS], last_t[MAX_TRACKS];
	double peak = loudest(au, duration);
	size_t i;
	int b, k;

	for (k = 0; k < MAX_TRACKS; k++)
		last_t[k] = -1e9;
	for (i = 0; i < n; i++)
		for (b = 0; b < s[i].n && b < CROP_MAX_FACES; b++) {
			double v;

			if ((k = p->assign[i * CROP_MAX_FACES + b]) < 0 ||
			    mouth_open(&s[i].box[b], &v) != 0)
				continue;
			if (s[i].t - last_t[k] <= 2 * SPEAK_WIN_S)
				p->act[i * CROP_MAX_FACES + b] = fabs(v -
				    last_v[k]) * (quiet_at(au, peak, s[i].t) ?
				    QUIET_WEIGHT : 1);
			last_v[k] = v;
			last_t[k] = s[i].t;
		}
}

/* Track K's mean mouth movement about sample I, or -1 when unknown. */
static double
talk_score(const struct crop_sample *s, size_t n, const struct plan *p,
    size_t i, int k)
{
	double sum = 0;
	size_t j = i;
	int cnt = 0, b;

	while (j > 0 && s[i].t - s[j - 1].t <= SPEAK_WIN_S)
		j--;
	for (; j < n && s[j].t - s[i].t <= SPEAK_WIN_S; j++)
		if ((b = box_of(p->assign, j, k, s[j].n)) >= 0 &&
		    p->act[j * CROP_MAX_FACES + b] >= 0) {
			sum += p->act[j * CROP_MAX_FACES + b];
			cnt++;
		}
	return cnt >= 2 ? sum / cnt : -1;
}

/* The speaker per sample into p->speak (-1: nobody clearly), and each
 * track's speaking time. */
static void
find_speakers(const struct crop_sample *s, size_t n, struct plan *p)
{
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		double b1 = -1, b2 = 0, dt;
		int k1 = -1;

		for (k = 0; k < p->ntr; k++) {
			double v;

			if (!present(p, k, i) ||
			    (v = talk_score(s, n, p, i, k)) < 0)
				continue;
			if (v > b1) {
				b2 = b1 > 0 ? b1 : 0;
				b1 = v;
				k1 = k;
			} else if (v > b2)
				b2 = v;
		}
		if (k1 < 0 || b1 < SPEAK_MIN || b1 < SPEAK_LEAD * b2)
			continue;
		p->speak[i] = k1;
		dt = (i + 1 < n ? s[i + 1].t : s[i].t) - (i > 0 ? s[i - 1].t :
		    s[i].t);
		p->tr[k1].talk_s += n > 1 ? dt / 2 : 0;
	}
}

/* The present track that is most persistent and largest at sample I. */
static int
largest(const struct plan *p, size_t i)
{
	double bs = -1;
	int k, pref = -1;

	for (k = 0; k < p->ntr; k++) {
		if (!present(p, k, i))
			continue;
		/* the sum of its areas: persistence times size */
		if (p->tr[k].area > bs) {
			bs = p->tr[k].area;
			pref = k;
		}
	}
	return pref;
}

/* The first subject, from sample I where PREF is preferred: whoever
 * speaks first within MIN_SHOT_S, else PREF. */
static int
first_subject(const struct crop_sample *s, size_t n, const struct plan *p,
    size_t i, int pref)
{
	size_t j;

	for (j = i; j < n && s[j].t - s[i].t <= MIN_SHOT_S; j++)
		if (p->speak[j] >= 0 && present(p, p->speak[j], i))
			return p->speak[j];
	return pref;
}

/*
 * The subject per sample: FORCE when it is not -1 (a split's pane); else
 * the speaker, or while nobody clearly speaks the subject before, or the
 * most persistent and largest face.  A change waits CONFIRM_S, and, while
 * the subject before is still there, MIN_SHOT_S after the last cut.
 */
static void
choose_subject(const struct crop_sample *s, size_t n, struct plan *p,
    int force)
{
	int cur = -1, pref_prev = -1;
	double diff_since = -1, shot_t = -1e9;
	size_t i;

	for (i = 0; i < n; i++) {
		int pref, here = present(p, cur, i);

		p->cut[i] = 0;
		if (force >= 0)
			pref = present(p, force, i) ? force : -1;
		else if (p->speak[i] >= 0)
			pref = p->speak[i];
		else
			pref = here ? cur : largest(p, i);
		if (cur < 0 && pref >= 0) {
			cur = force >= 0 ? pref : first_subject(s, n, p, i, pref);
			shot_t = s[i].t;
		} else if (pref >= 0 && pref != cur) {
			if (pref != pref_prev || diff_since < 0)
				diff_since = s[i].t;
			if (s[i].t - diff_since >= (here ? CONFIRM_S : SWITCH_S) -
			    1e-9 && (!here || s[i].t - shot_t >= MIN_SHOT_S)) {
				cur = pref;
				p->cut[i] = 1;
				diff_since = -1;
				shot_t = s[i].t;
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

/* P's tracks from N samples, and who speaks when (AU may be NULL).
 * 0, or -1 with ERR (free P with plan_free either way). */
static int
plan_tracks(const struct crop_sample *s, size_t n, double duration,
    const struct crop_audio *au, struct plan *p, char *err, size_t errlen)
{
	if (plan_alloc(p, n > 0 ? n : 1) != 0) {
		seterr(err, errlen, "Out of memory while planning the crop.");
		return -1;
	}
	p->hits_needed = n < MIN_HITS * 2 ? 1 : MIN_HITS;
	link_tracks(s, n, p);
	mouth_activity(s, n, p, au, duration);
	find_speakers(s, n, p);
	return 0;
}

/*
 * One pane: a window of AW:AH following track FORCE (or, -1, the
 * speaker) with P's tracks, into OUT; adds the samples where its subject
 * was seen to *SEEN, and those with its box wholly in the window to
 * *WHOLE.  0, or -1 with ERR.
 */
static int
pane_plan(const struct crop_sample *s, size_t n, double duration,
    struct plan *p, int force, int src_w, int src_h, int aw, int ah,
    struct crop_path *out, int *whole, int *seen, char *err, size_t errlen)
{
	size_t i;
	int reversals, b;

	memset(out, 0, sizeof(*out));
	out->src_w = src_w;
	out->src_h = src_h;
	crop_size(src_w, src_h, aw, ah, &out->crop_w, &out->crop_h);
	if ((out->pt = calloc(n > 0 ? n : 1, sizeof(*out->pt))) == NULL) {
		seterr(err, errlen, "Out of memory while planning the crop.");
		return -1;
	}
	choose_subject(s, n, p, force);
	out->has_face = subject_targets(s, n, p, src_w, src_h, out);
	reversals = follow_axis(p->t, p->tx, p->cut, n, out->crop_w, src_w, p->cx);
	reversals += follow_axis(p->t, p->ty, p->cut, n, out->crop_h, src_h, p->cy);
	fill_points(n, p, out);
	out->reversals_per_s = duration > 0 ? reversals / duration : 0;
	for (i = 0; i < n; i++) {
		const struct crop_point *q = &out->pt[i];
		const struct face_box *f;

		if (p->subj[i] < 0 ||
		    (b = box_of(p->assign, i, p->subj[i], s[i].n)) < 0)
			continue;
		f = &s[i].box[b];
		(*seen)++;
		if (f->x >= q->x && f->y >= q->y && f->x + f->w <= q->x +
		    out->crop_w && f->y + f->h <= q->y + out->crop_h)
			(*whole)++;
	}
	return 0;
}

int
crop_plan(const struct crop_sample *s, size_t n, double duration, int src_w,
    int src_h, int aw, int ah, struct crop_path *out, char *err, size_t errlen)
{
	struct plan p;
	int whole = 0, seen = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	if (plan_tracks(s, n, duration, NULL, &p, err, errlen) == 0)
		rc = pane_plan(s, n, duration, &p, -1, src_w, src_h, aw, ah,
		    out, &whole, &seen, err, errlen);
	plan_free(&p);
	return rc;
}

/* How many tracks count as faces. */
static int
faces_found(const struct plan *p)
{
	int k, nf = 0;

	for (k = 0; k < p->ntr; k++)
		if (p->tr[k].hits >= p->hits_needed)
			nf++;
	return nf;
}

/*
 * The two faces a split shows into PAIR, the left one first: the two
 * that spoke most when both spoke long enough, present in at least half
 * of the N samples (or, BY_HITS, the two seen most).  0, or -1.
 */
static int
split_pair(const struct plan *p, size_t n, int by_hits, int pair[2])
{
	double total = 0, va = -1, vb = -1;
	int a = -1, b = -1, k;

	for (k = 0; k < p->ntr; k++) {
		double v = by_hits ? p->tr[k].hits : p->tr[k].talk_s;

		if (p->tr[k].hits < p->hits_needed)
			continue;
		total += p->tr[k].talk_s;
		if (v > va) {
			b = a;
			vb = va;
			a = k;
			va = v;
		} else if (v > vb) {
			b = k;
			vb = v;
		}
	}
	if (a < 0 || b < 0)
		return -1;
	if (!by_hits && (vb < SPLIT_MIN_S || vb < SPLIT_SHARE * total ||
	    (size_t)p->tr[a].hits * 2 < n || (size_t)p->tr[b].hits * 2 < n))
		return -1;
	if (p->tr[a].sumx / p->tr[a].hits <= p->tr[b].sumx / p->tr[b].hits) {
		pair[0] = a;
		pair[1] = b;
	} else {
		pair[0] = b;
		pair[1] = a;
	}
	return 0;
}

/* The upscale of layout L: a window's height to its output's. */
static double
upscale_of(enum crop_layout l, int src_w, int src_h, int out_w, int out_h)
{
	int cw, ch;

	if (l == LAYOUT_FIT)
		return (double)out_w / src_w;
	if (l == LAYOUT_SPLIT)
		out_h /= 2;
	crop_size(src_w, src_h, out_w, out_h, &cw, &ch);
	return (double)out_h / ch;
}

/* F's layout and reason for WANT (-1: auto), and a split's PAIR. */
static void
choose_layout(const struct plan *p, size_t n, int want, int src_w,
    int src_h, int out_w, int out_h, struct crop_frame *f, int pair[2])
{
	int nf = faces_found(p), sp = 0, k;
	double up;

	for (k = 0; k < p->ntr; k++)
		sp += p->tr[k].talk_s > 0;
#define REASON(...) snprintf(f->reason, sizeof(f->reason), __VA_ARGS__)
	if (want == LAYOUT_FIT) {
		f->layout = LAYOUT_FIT;
		REASON("The whole picture is shown, as the job asks.");
	} else if (want == LAYOUT_SPLIT) {
		f->layout = split_pair(p, n, 1, pair) == 0 ? LAYOUT_SPLIT :
		    nf > 0 ? LAYOUT_TRACK : LAYOUT_FIT;
		if (f->layout == LAYOUT_SPLIT)
			REASON("Two people are shown in stacked halves, as "
			    "the job asks.");
		else
			REASON("A split was asked for, but %s face was found, "
			    "so %s.", nf ? "only one" : "no", nf ? "the crop "
			    "follows it" : "the whole picture is shown");
	} else if (want == LAYOUT_TRACK) {
		f->layout = LAYOUT_TRACK;
		if (nf == 0)
			REASON("No face was found, so the centre of the picture "
			    "is shown (the job asks for a tracked crop).");
		else
			REASON("The crop follows the speaker, as the job asks.");
	} else if (nf == 0) {
		f->layout = LAYOUT_FIT;
		REASON("No face was found, so the whole picture is shown.");
	} else if (split_pair(p, n, 0, pair) == 0) {
		f->layout = LAYOUT_SPLIT;
		REASON("Two people speak in this clip, so each has half of "
		    "the picture.");
	} else {
		f->layout = LAYOUT_TRACK;
		if (nf == 1)
			REASON("One face is in the shot, and the crop follows it.");
		else
			REASON("%s faces are in the shot; the crop follows %s.",
			    nf == 2 ? "Two" : nf == 3 ? "Three" : "Several",
			    sp ? "whoever speaks" : "the most prominent one");
	}
	/* Auto, or a split that could not be: no crop that is too soft. */
	up = upscale_of(f->layout, src_w, src_h, out_w, out_h);
	if ((want < 0 || (want == LAYOUT_SPLIT && f->layout != LAYOUT_SPLIT)) &&
	    f->layout != LAYOUT_FIT && up > CROP_FIT_UPSCALE) {
		f->layout = LAYOUT_FIT;
		REASON("%sA crop of this small source would be enlarged %.1f "
		    "times, so the whole picture is shown.", want ==
		    LAYOUT_SPLIT ? "A split was asked for, but only one face "
		    "was found. " : "", up);
	}
#undef REASON
}

/* A fit's figures: every face of P is in the picture unless its box
 * crosses the frame's edge. */
static void
fit_figures(const struct crop_sample *s, size_t n, const struct plan *p,
    int src_w, int src_h, struct crop_figures *fig)
{
	int whole = 0, seen = 0, b;
	size_t i;

	for (i = 0; i < n; i++) {
		int any = 0, in = 1;

		for (b = 0; b < s[i].n && b < CROP_MAX_FACES; b++) {
			const struct face_box *f = &s[i].box[b];
			int k = p->assign[i * CROP_MAX_FACES + b];

			if (k < 0 || p->tr[k].hits < p->hits_needed)
				continue;
			any = 1;
			in &= f->x >= 0 && f->y >= 0 && f->x + f->w <= src_w &&
			    f->y + f->h <= src_h;
		}
		seen += any;
		whole += any && in;
	}
	fig->face_samples = seen;
	fig->has_face = seen > 0;
	fig->face_in_picture = fig->face_in_crop = seen > 0 ?
	    (double)whole / seen : -1;
}

int
crop_frame_plan(const struct crop_sample *s, size_t n, double duration,
    int src_w, int src_h, int out_w, int out_h, const struct crop_audio *au,
    int layout, struct crop_frame *out, struct crop_figures *fig, char *err,
    size_t errlen)
{
	struct plan p;
	int pair[2] = { -1, -1 }, whole = 0, seen = 0, in_crop = 0, i, k, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(fig, 0, sizeof(*fig));
	if (plan_tracks(s, n, duration, au, &p, err, errlen) != 0)
		goto out;
	choose_layout(&p, n, layout, src_w, src_h, out_w, out_h, out, pair);
	fig->upscale = upscale_of(out->layout, src_w, src_h, out_w, out_h);
	for (k = 0; k < p.ntr; k++)
		fig->speakers += p.tr[k].talk_s > 0;
	if (out->layout == LAYOUT_FIT) {
		fit_figures(s, n, &p, src_w, src_h, fig);
		rc = 0;
		goto out;
	}
	out->npanes = out->layout == LAYOUT_SPLIT ? 2 : 1;
	for (i = 0; i < out->npanes; i++) {
		struct crop_path *cp = &out->pane[i];

		if (pane_plan(s, n, duration, &p, out->npanes == 2 ? pair[i] :
		    -1, src_w, src_h, out_w, out->npanes == 2 ? out_h / 2 :
		    out_h, cp, &whole, &seen, err, errlen) != 0) {
			out->npanes = i + 1;
			crop_frame_free(out);
			goto out;
		}
		fig->reversals_per_s += cp->reversals_per_s;
		fig->face_samples += cp->face_samples;
		in_crop += (int)lround(cp->face_in_crop * cp->face_samples);
		fig->has_face |= cp->has_face;
	}
	fig->face_in_picture = seen > 0 ? (double)whole / seen : -1;
	fig->face_in_crop = fig->face_samples > 0 ? (double)in_crop /
	    fig->face_samples : -1;
	rc = 0;
out:
	plan_free(&p);
	return rc;
}

int
crop_warning(enum crop_layout l, const struct crop_figures *fig, char *buf,
    size_t len)
{
	if (!fig->has_face)
		snprintf(buf, len, "No face was found: %s.", l == LAYOUT_FIT ?
		    "the whole picture is shown" : "the centre of the picture "
		    "is shown");
	else if (l != LAYOUT_FIT && fig->face_in_picture >= 0 &&
	    fig->face_in_picture < CROP_WARN_FACE)
		snprintf(buf, len, "The face is wholly in the picture in only "
		    "%.0f%% of the frames.", fig->face_in_picture * 100);
	else if (fig->upscale > CROP_WARN_UPSCALE)
		snprintf(buf, len, "The picture is enlarged %.1f times, so it "
		    "may look soft.", fig->upscale);
	else
		return 0;
	return 1;
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
