/*
 * Scene changes (select.h): clips for a video without speech start where
 * its shots change.  Decoding is kept cheap: no non-reference pictures, no
 * loop filter, a 64x36 grey sample a few times a second.  When even that
 * would take longer than SCAN_BUDGET_MS (an hour of HD video on a busy
 * machine), the scan goes on with keyframes only, which encoders place at
 * most cuts anyway.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libswscale/swscale.h>

#include "media/render.h"
#include "select.h"
#include "util.h"

#define SAMPLE_W	64
#define SAMPLE_H	36
#define SAMPLE_FPS	4	/* samples a second, at most */
#define MAX_SAMPLES	50000	/* a longer video is sampled more sparsely */
#define SCAN_BUDGET_MS	60000	/* projected scan time that calls for
				   keyframes only */
#define SCAN_GRACE_MS	3000	/* measure this long before projecting */
#define CUT_MIN		20.0	/* a cut changes the picture at least this
				   much (mean absolute luma difference) */
#define CUT_RATIO	3.0	/* and this many times more than the samples
				   around it change: a pan is not a cut */
#define CUT_FLOOR	3.0	/* a still neighbourhood counts as this much */
#define CUT_NEAR	4	/* samples each side that are its neighbours */
#define CUT_GAP_S	1.0	/* cuts closer than this are one (a flash) */
#define STRONG_CUT	64.0	/* a cut this strong scores full marks */
#define LIVELY		16.0	/* so does a window changing this much */

void
scenes_free(struct scenes *sc)
{
	free(sc->s);
	memset(sc, 0, sizeof(*sc));
}

static double
mad(const uint8_t *a, const uint8_t *b)
{
	long sum = 0;
	int i;

	for (i = 0; i < SAMPLE_W * SAMPLE_H; i++)
		sum += abs(a[i] - b[i]);
	return (double)sum / (SAMPLE_W * SAMPLE_H);
}

int
scenes_sample(const char *path, const char *format, struct scenes *sc,
    scenes_progress_fn progress, void *arg, char *err, size_t errlen)
{
	struct media_in m;
	struct SwsContext *sws = NULL;
	uint8_t *prev = NULL, *cur = NULL, *tmp;
	double dur, step = 1.0 / SAMPLE_FPS, next = 0;
	long long t0 = now_ms(), shown = t0;
	size_t cap = MAX_SAMPLES;
	int rc = -1;

	memset(sc, 0, sizeof(*sc));
	if (media_open(&m, path, format, 0, 0, err, errlen) != 0)
		return -1;
	/* A thumbnail needs neither the pictures nothing refers to nor the
	 * deblocking (the decoder reads both per picture). */
	m.vdec->skip_frame = AVDISCARD_NONREF;
	m.vdec->skip_loop_filter = AVDISCARD_ALL;
	dur = m.fmt->duration > 0 ? (double)m.fmt->duration / AV_TIME_BASE : 0;
	if (dur / step > MAX_SAMPLES)
		step = dur / MAX_SAMPLES;
	if (dur > 0 && dur / step + 16 < cap)
		cap = (size_t)(dur / step) + 16;
	if ((sc->s = calloc(cap, sizeof(*sc->s))) == NULL ||
	    (prev = malloc(SAMPLE_W * SAMPLE_H)) == NULL ||
	    (cur = malloc(SAMPLE_W * SAMPLE_H)) == NULL) {
		seterr(err, errlen, "Out of memory looking for scene changes.");
		goto out;
	}
	while (sc->n < cap) {
		enum AVMediaType kind;
		const AVFrame *f;
		double t;
		long long el;
		int r = media_next(&m, &kind, err, errlen);

		if (r < 0)
			goto out;
		if (r == 1)
			break;
		f = m.frame;
		t = media_frame_time(&m, kind, f);
		if (kind != AVMEDIA_TYPE_VIDEO || t < 0 || t < next - 0.001)
			continue;
		/* On a fixed grid: a cut is found within one step of it. */
		while (next <= t + 0.001)
			next += step;
		if (media_grey(&sws, f, cur, SAMPLE_W, SAMPLE_H) != 0) {
			seterr(err, errlen, "The video's frames cannot be scaled "
			    "to look for scene changes.");
			goto out;
		}
		sc->s[sc->n].t = t;
		sc->s[sc->n].d = sc->n > 0 ? mad(prev, cur) : 0;
		sc->n++;
		tmp = prev;
		prev = cur;
		cur = tmp;
		el = now_ms() - t0;
		if (!sc->keyframes_only && el > SCAN_GRACE_MS && dur > 0 &&
		    t > 0 && el * (dur / t) > SCAN_BUDGET_MS) {
			m.vdec->skip_frame = AVDISCARD_NONKEY;
			sc->keyframes_only = 1;
		}
		if (progress != NULL && now_ms() - shown >= 1000) {
			shown = now_ms();
			if (progress(arg, dur > 0 ? (int)(99 * fmin(1, t / dur)) : 0)) {
				rc = 1;
				goto out;
			}
		}
	}
	rc = 0;
out:
	if (rc != 0)
		scenes_free(sc);
	sws_freeContext(sws);
	free(prev);
	free(cur);
	media_close(&m);
	return rc;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

size_t
scenes_cuts(const struct scene_sample *s, size_t n, size_t *out)
{
	double near[2 * CUT_NEAR];
	size_t i, j, k = 0;

	for (i = 1; i < n; i++) {
		size_t nn = 0;
		double med;

		if (s[i].d < CUT_MIN)
			continue;
		/* The samples around it (the first has no difference). */
		for (j = i > CUT_NEAR ? i - CUT_NEAR : 1; j <= i + CUT_NEAR &&
		    j < n; j++)
			if (j != i)
				near[nn++] = s[j].d;
		qsort(near, nn, sizeof(near[0]), cmp_double);
		med = nn > 0 ? near[nn / 2] : 0;
		if (s[i].d < CUT_RATIO * fmax(med, CUT_FLOOR))
			continue;
		/* A flash, or a cut spread over two samples: one cut, at the
		 * stronger change. */
		if (k > 0 && s[i].t - s[out[k - 1]].t < CUT_GAP_S) {
			if (s[i].d > s[out[k - 1]].d)
				out[k - 1] = i;
			continue;
		}
		out[k++] = i;
	}
	return k;
}

struct scand {
	double	start, end, score;
};

static int
cmp_scand(const void *a, const void *b)
{
	const struct scand *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return (x->start > y->start) - (x->start < y->start);
}

/* "1:23", or "1:02:03" past an hour. */
static void
clock_time(char *dst, size_t len, double t)
{
	long s = (long)floor(t);

	if (s >= 3600)
		xsnprintf(dst, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		xsnprintf(dst, len, "%ld:%02ld", s / 60, s % 60);
}

size_t
select_scenes(const struct scenes *sc, const struct select_req *rq,
    struct pick *out, size_t *ncuts)
{
	struct scand *c = NULL;
	size_t *cut = NULL, nc = 0, nk = 0, np = 0, i, j, e;
	char *is_cut = NULL;

	if (sc->n < 2 || (cut = calloc(sc->n, sizeof(*cut))) == NULL ||
	    (is_cut = calloc(sc->n, 1)) == NULL)
		goto out;
	nc = scenes_cuts(sc->s, sc->n, cut);
	if (nc == 0 || (c = calloc(nc, sizeof(*c))) == NULL)
		goto out;
	for (i = 0; i < nc; i++)
		is_cut[cut[i]] = 1;
	for (i = 0; i < nc; i++) {
		double start = sc->s[cut[i]].t, end, act = 0;
		size_t na = 0;

		end = fmin(rq->duration, start + rq->max_len);
		/* End where a later shot ends, when one does in range (at its
		 * last sample): a glimpse of the next shot looks like a
		 * mistake. */
		for (j = i + 1; j < nc; j++) {
			double last = sc->s[cut[j] - 1].t;

			if (last - start > rq->max_len)
				break;
			if (last - start >= rq->min_len)
				end = last;
		}
		if (end - start < rq->min_len)
			continue;
		/* Activity: how much the picture changes inside the window. */
		for (e = cut[i] + 1; e < sc->n && sc->s[e].t <= end; e++)
			if (!is_cut[e]) {
				act += sc->s[e].d;
				na++;
			}
		if (na > 0)
			act /= na;
		c[nk].start = round(start * 1000) / 1000;
		c[nk].end = round(end * 1000) / 1000;
		c[nk].score = round(1000 * (0.6 * fmin(1, sc->s[cut[i]].d /
		    STRONG_CUT) + 0.4 * fmin(1, act / LIVELY))) / 10;
		nk++;
	}
	qsort(c, nk, sizeof(*c), cmp_scand);
	for (i = 0; i < nk && np < (size_t)rq->clips; i++) {
		char at[32];

		if (select_overlaps(out, np, c[i].start, c[i].end))
			continue;
		out[np].start = c[i].start;
		out[np].end = c[i].end;
		out[np].score = c[i].score;
		out[np].part[0] = (struct score_part){ "scene change and "
		    "movement", c[i].score, 100 };
		out[np].nparts = 1;
		clock_time(at, sizeof(at), c[i].start);
		xsnprintf(out[np].title, sizeof(out[np].title), "Scene at %s", at);
		xsnprintf(out[np].reason, sizeof(out[np].reason), "Starts at a "
		    "scene change at %s.", at);
		np++;
	}
out:
	if (ncuts != NULL)
		*ncuts = nc;
	free(c);
	free(cut);
	free(is_cut);
	return np;
}
