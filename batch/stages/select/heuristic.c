/*
 * The heuristic scorer (select.h): windows that start and end on sentence
 * or pause boundaries, scored from the words and the loudness envelope,
 * the best non-overlapping ones kept.  Deterministic: the same transcript
 * always gives the same clips.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"
#include "util.h"

#define PAUSE_S		0.5	/* a gap this long is a boundary */
#define LONG_GAP_S	1.5	/* a gap this long inside a clip is dead air */
#define LEAD_S		0.2	/* a clip starts this much before its first word */
#define TAIL_S		0.3	/* and ends this much after its last */
#define HOOK_S		4.0	/* the opening that must grab the viewer */
#define MAX_CANDS	200000

static const char *const hook_words[] = { "why", "how", "what", "never",
    "secret", "imagine", "nobody", "everyone", "best", "worst", "mistake",
    "truth", "stop", "listen", "you", "here's", "first", NULL };

struct cand {
	double	start, end, score;
	size_t	a, b;		/* first and last word */
	unsigned feats;
};

enum { F_DENSE = 1, F_PACE = 2, F_LIVELY = 4, F_PEAKS = 8, F_QA = 16,
    F_HOOK = 32, F_WHOLE = 64 };

static int
is_start(const struct transcript *t, size_t i)
{
	return i == 0 || t->w[i - 1].sent_end ||
	    t->w[i].start - t->w[i - 1].end >= PAUSE_S;
}

static int
is_end(const struct transcript *t, size_t i)
{
	return i + 1 == t->nw || t->w[i].sent_end ||
	    t->w[i + 1].start - t->w[i].end >= PAUSE_S;
}

static int
hook_word(const char *w)
{
	char low[32];
	size_t i, n = 0;

	for (; *w && n + 1 < sizeof(low); w++)
		if (isalpha((unsigned char)*w) || *w == '\'')
			low[n++] = (char)tolower((unsigned char)*w);
	low[n] = '\0';
	for (i = 0; hook_words[i]; i++)
		if (strcmp(low, hook_words[i]) == 0)
			return 1;
	return 0;
}

static void
score(const struct transcript *t, struct cand *c)
{
	double len = c->end - c->start, speech = 0, gaps = 0, wps, pace;
	double sum = 0, sum2 = 0, mean = 0, sd = 0, s;
	size_t i, nl = 0, peaks = 0, nwords = c->b - c->a + 1;
	int qa = 0, hook = 0, whole;

	for (i = c->a; i <= c->b; i++) {
		speech += t->w[i].end - t->w[i].start;
		if (i > c->a && t->w[i].start - t->w[i - 1].end > LONG_GAP_S)
			gaps += t->w[i].start - t->w[i - 1].end;
		/* A question with words after it, inside the clip. */
		if (i < c->b && strchr(t->w[i].text, '?') != NULL)
			qa = 1;
		if (t->w[i].start - c->start < HOOK_S &&
		    (hook_word(t->w[i].text) || strchr(t->w[i].text, '?')))
			hook = 1;
	}
	wps = nwords / len;
	/* Natural, engaging speech runs at about 2.5 to 3.5 words a second. */
	pace = wps < 2.5 ? wps / 2.5 : wps > 3.5 ? fmax(0, 1 - (wps - 3.5) / 3) : 1;
	if (t->loud != NULL && t->loud_interval > 0) {
		size_t i0 = (size_t)(c->start / t->loud_interval);
		size_t i1 = (size_t)(c->end / t->loud_interval);

		for (i = i0; i < i1 && i < t->nloud; i++, nl++) {
			sum += t->loud[i];
			sum2 += t->loud[i] * t->loud[i];
		}
		if (nl > 1) {
			mean = sum / nl;
			sd = sqrt(fmax(0, sum2 / nl - mean * mean));
			for (i = i0; i < i1 && i < t->nloud; i++)
				if (t->loud[i] > mean + 6 &&
				    (i == i0 || t->loud[i - 1] <= mean + 6))
					peaks++;
		}
	}
	whole = (c->a == 0 || t->w[c->a - 1].sent_end) && t->w[c->b].sent_end;
	s = 35 * fmin(1, speech / len / 0.85) + 20 * pace +
	    10 * fmin(1, sd / 6) + 5 * fmin(1, peaks / 3.0) + 10 * qa +
	    10 * hook + 10 * whole - 30 * fmin(1, gaps / len * 3);
	c->score = fmax(0, fmin(100, s));
	c->feats = (speech / len >= 0.7 ? F_DENSE : 0) |
	    (pace >= 0.9 ? F_PACE : 0) | (sd >= 4 ? F_LIVELY : 0) |
	    (peaks >= 2 ? F_PEAKS : 0) | (qa ? F_QA : 0) | (hook ? F_HOOK : 0) |
	    (whole ? F_WHOLE : 0);
}

static int
cand_cmp(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->end < b->end ? -1 : a->end > b->end;
}

static void
reason(const struct transcript *t, const struct cand *c, char *dst, size_t len)
{
	struct buf b;
	int n = 0;

	buf_init(&b, len);
#define ADD(flag, text) do { if ((c->feats & (flag)) && n < 3) { \
	buf_addstr(&b, n++ ? "; " : ""); buf_addstr(&b, text); } } while (0)
	ADD(F_QA, "a question and its answer");
	ADD(F_HOOK, "a hook in the first seconds");
	ADD(F_DENSE, "dense speech with little dead air");
	ADD(F_LIVELY, "lively delivery (loudness varies)");
	ADD(F_PEAKS, "emphatic peaks");
	ADD(F_PACE, "an engaging pace");
	ADD(F_WHOLE, "complete sentences");
#undef ADD
	if (n == 0)
		buf_addstr(&b, "the steadiest stretch of speech");
	xsnprintf(dst, len, "%c%s (%.1f words/s).", b.data ?
	    toupper((unsigned char)b.data[0]) : 'S', b.data ? b.data + 1 : "",
	    (c->b - c->a + 1) / (c->end - c->start));
	buf_free(&b);
	(void)t;
}

void
select_title(char *dst, size_t len, const char *text)
{
	size_t n = 0, cut = 0;

	while (isspace((unsigned char)*text))
		text++;
	for (; text[n] && n + 1 < len; n++)
		if (isspace((unsigned char)text[n]))
			cut = n;
	if (text[n] != '\0' && cut > 0)
		n = cut;	/* whole words only */
	memcpy(dst, text, n);
	dst[n] = '\0';
	while (n > 0 && strchr(" ,;:-", dst[n - 1]))
		dst[--n] = '\0';
	if (n > 0 && dst[0] >= 'a' && dst[0] <= 'z')
		dst[0] = (char)(dst[0] - 'a' + 'A');
}

/* The opening sentence of the clip, for its title. */
static void
title(const struct transcript *t, const struct cand *c, char *dst, size_t len)
{
	struct buf b;
	size_t i;

	buf_init(&b, 256);
	for (i = c->a; i <= c->b; i++) {
		if (i > c->a)
			buf_addstr(&b, " ");
		if (buf_addstr(&b, t->w[i].text) != 0 || t->w[i].sent_end)
			break;
	}
	select_title(dst, len > 61 ? 61 : len, b.data ? b.data : "");
	buf_free(&b);
}

size_t
select_heuristic(const struct transcript *t, const struct select_req *rq,
    struct pick *out)
{
	struct cand *c = NULL;
	size_t nc = 0, a, b, i, np = 0;

	if (t->nw == 0 || (c = calloc(MAX_CANDS, sizeof(*c))) == NULL)
		return 0;
	for (a = 0; a < t->nw && nc < MAX_CANDS; a++) {
		if (!is_start(t, a))
			continue;
		for (b = a; b < t->nw && nc < MAX_CANDS; b++) {
			double s = fmax(0, t->w[a].start - LEAD_S);
			double e = fmin(rq->duration, t->w[b].end + TAIL_S);

			if (e - s > rq->max_len)
				break;
			if (!is_end(t, b) || e - s < rq->min_len)
				continue;
			c[nc].start = s;
			c[nc].end = e;
			c[nc].a = a;
			c[nc].b = b;
			score(t, &c[nc]);
			nc++;
		}
	}
	qsort(c, nc, sizeof(*c), cand_cmp);
	for (i = 0; i < nc && np < (size_t)rq->clips; i++) {
		if (select_overlaps(out, np, c[i].start, c[i].end))
			continue;
		out[np].start = c[i].start;
		out[np].end = c[i].end;
		out[np].score = round(c[i].score * 10) / 10;
		title(t, &c[i], out[np].title, sizeof(out[np].title));
		reason(t, &c[i], out[np].reason, sizeof(out[np].reason));
		np++;
	}
	free(c);
	return np;
}

int
select_overlaps(const struct pick *picks, size_t n, double start, double end)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (start < picks[k].end && picks[k].start < end)
			return 1;
	return 0;
}

size_t
select_evenly(const struct select_req *rq, struct pick *out)
{
	double d = rq->duration, len = rq->max_len, gap;
	size_t k = (size_t)rq->clips, i;

	if (d <= 0)
		return 0;
	if (len > d)
		len = d;
	while (k > 1 && k * len > d) {
		/* Shorter clips first, down to the minimum, then fewer. */
		if (d / k >= rq->min_len)
			len = d / k;
		else
			k--;
	}
	gap = k > 1 ? (d - k * len) / k : (d - len);
	for (i = 0; i < k; i++) {
		/* Centred in equal slices of the video. */
		out[i].start = round((i * (len + gap) + gap / 2) * 1000) / 1000;
		out[i].end = fmin(d, round((out[i].start + len) * 1000) / 1000);
		out[i].score = 0;
		xsnprintf(out[i].title, sizeof(out[i].title), "Part %zu", i + 1);
		xsnprintf(out[i].reason, sizeof(out[i].reason), "No speech was "
		    "found, so clips are spaced evenly through the video.");
	}
	return k;
}

int
select_snap(const struct transcript *t, const struct select_req *rq,
    double *s, double *e)
{
	size_t a, b;

	if (!(*s >= 0 && *e > *s && *e <= rq->duration + 0.5) || t->nw == 0)
		return -1;
	/* First word that ends after S, last that starts before E. */
	for (a = 0; a < t->nw && t->w[a].end <= *s + 0.05; a++)
		;
	if (a == t->nw)
		return -1;
	for (b = t->nw; b > a && t->w[b - 1].start >= *e - 0.05; b--)
		;
	if (b == a)
		return -1;
	b--;
	/* Too long after snapping: drop words from the end, at a boundary. */
	while (b > a && fmin(rq->duration, t->w[b].end + TAIL_S) -
	    fmax(0, t->w[a].start - LEAD_S) > rq->max_len)
		b--;
	*s = fmax(0, t->w[a].start - LEAD_S);
	*e = fmin(rq->duration, t->w[b].end + TAIL_S);
	if (*e - *s < rq->min_len || *e - *s > rq->max_len)
		return -1;
	return 0;
}
