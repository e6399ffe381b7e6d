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
#include <sys/types.h>

#include "select.h"
#include "util.h"

#define PAUSE_S		0.5	/* a gap this long is a boundary */
#define LONG_GAP_S	1.5	/* a gap this long inside a clip is dead air */
#define LEAD_S		0.2	/* a clip starts this much before its first word */
#define TAIL_S		0.3	/* and ends this much after its last */
#define HOOK_S		4.0	/* the opening that must grab the viewer */
#define TIE_POINTS	1.0	/* scores this close are as good as each other */
#define TITLE_MAX	60	/* characters of a title at most */

/* The words a reason uses for what it measured (select_reason). */
#define PACE_SLOW	1.5	/* words/s: under this, a slow pace */
#define PACE_LO		2.5	/* under this, a calm one; to PACE_HI engaging */
#define PACE_HI		3.5	/* over this, fast */
#define FULL_SPEECH	0.7	/* "speech fills" a clip from this share on */
#define LIVELY_DB	4.0	/* loudness spread of a lively delivery, dB */

static const char *const hook_words[] = { "why", "how", "what", "never",
    "secret", "imagine", "nobody", "everyone", "best", "worst", "mistake",
    "truth", "stop", "listen", "you", "here's", "first", NULL };

struct cand {
	double	start, end, score;
	size_t	a, b;		/* first and last word */
};

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

/*
 * The loudness of candidate C's speech into F: its spread (the standard
 * deviation of the 0.1 s windows inside its words, so that pauses do not
 * count as variety) and its peaks (rises 6 dB over the mean).
 */
static void
loudness(const struct transcript *t, const struct cand *c,
    struct clip_figures *f)
{
	double sum = 0, sum2 = 0, mean = 0, iv = t->loud_interval;
	size_t i, k, nl = 0;
	int pass, above = 0;

	if (t->loud == NULL || iv <= 0)
		return;
	for (pass = 0; pass < 2; pass++) {
		for (i = c->a; i <= c->b; i++)
			for (k = (size_t)(t->w[i].start / iv);
			    k < t->nloud && (k + 0.5) * iv < t->w[i].end; k++) {
				if (pass == 0) {
					sum += t->loud[k];
					sum2 += t->loud[k] * t->loud[k];
					nl++;
				} else if (t->loud[k] > mean + 6) {
					f->peaks += !above;
					above = 1;
				} else {
					above = 0;
				}
			}
		if (pass == 1)
			break;
		if (nl < 2)
			return;
		mean = sum / nl;
		f->loud_sd = sqrt(fmax(0, sum2 / nl - mean * mean));
	}
}

/* What clip candidate C measures, into F. */
static void
measure(const struct transcript *t, const struct cand *c,
    struct clip_figures *f)
{
	double len = c->end - c->start, speech = 0;
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = c->a; i <= c->b; i++) {
		speech += t->w[i].end - t->w[i].start;
		if (i > c->a && t->w[i].start - t->w[i - 1].end > LONG_GAP_S)
			f->dead += t->w[i].start - t->w[i - 1].end;
		/* A question with words after it, inside the clip. */
		if (i < c->b && strchr(t->w[i].text, '?') != NULL)
			f->qa = 1;
		if (t->w[i].start - c->start < HOOK_S &&
		    (hook_word(t->w[i].text) || strchr(t->w[i].text, '?')))
			f->hook = 1;
	}
	f->wps = (c->b - c->a + 1) / len;
	f->speech = fmin(1, speech / len);
	loudness(t, c, f);
	f->whole = (c->a == 0 || t->w[c->a - 1].sent_end) && t->w[c->b].sent_end;
}

/* The points of figures F over a clip of LEN seconds, part by part into
 * PART (room for SCORE_PARTS); returns how many parts. */
static int
points(const struct clip_figures *f, double len, struct score_part *part)
{
	/* Natural, engaging speech runs at about 2.5 to 3.5 words a second. */
	double pace = f->wps < PACE_LO ? f->wps / PACE_LO : f->wps > PACE_HI ?
	    fmax(0, 1 - (f->wps - PACE_HI) / 3) : 1;
	const struct score_part p[] = {
		{ "speech", 35 * fmin(1, f->speech / 0.85), 35 },
		{ "pace", 20 * pace, 20 },
		{ "lively delivery", 10 * fmin(1, f->loud_sd / 6), 10 },
		{ "emphatic peaks", 5 * fmin(1, f->peaks / 3.0), 5 },
		{ "a question and its answer", 10 * f->qa, 10 },
		{ "a hook at the start", 10 * f->hook, 10 },
		{ "complete sentences", 10 * f->whole, 10 },
		{ "pauses", -30 * fmin(1, f->dead / len * 3), -30 },
	};
	int i;

	for (i = 0; i < SCORE_PARTS; i++)
		part[i] = p[i];
	return SCORE_PARTS;
}

static double
parts_sum(const struct score_part *part, int n)
{
	double s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += part[i].points;
	return fmax(0, fmin(100, s));
}

static void
score(const struct transcript *t, struct cand *c)
{
	struct score_part part[SCORE_PARTS];
	struct clip_figures f;

	measure(t, c, &f);
	c->score = parts_sum(part, points(&f, c->end - c->start, part));
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

/* Room for one more highlight in a reason (three at most): 1, with the
 * separator added. */
static int
more(struct buf *b, int *n)
{
	if (*n >= 3)
		return 0;
	buf_addstr(b, (*n)++ ? "; " : "");
	return 1;
}

void
select_reason(const struct clip_figures *f, char *dst, size_t len)
{
	struct buf b;
	int n = 0;
	/* Words chosen from the figures as printed, so that they agree. */
	double wps = round(f->wps * 10) / 10, speech = round(f->speech * 100);

	buf_init(&b, 512);
	if (f->qa && more(&b, &n))
		buf_addstr(&b, "a question and its answer");
	if (f->hook && more(&b, &n))
		buf_printf(&b, "a hook in the first %.0f s", HOOK_S);
	if (speech >= 100 * FULL_SPEECH && f->dead == 0 && wps >= PACE_SLOW &&
	    more(&b, &n))
		buf_printf(&b, "speech fills %.0f%% of it", speech);
	if (f->loud_sd >= LIVELY_DB && more(&b, &n))
		buf_printf(&b, "lively delivery (loudness varies by %.0f dB)",
		    f->loud_sd);
	if (f->peaks >= 2 && more(&b, &n))
		buf_printf(&b, "%d emphatic peaks", f->peaks);
	if (f->whole && more(&b, &n))
		buf_addstr(&b, "complete sentences");
	/* Then how fast the words come, always, with its figure. */
	if (n > 0)
		buf_addstr(&b, "; ");
	else
		buf_printf(&b, "speech for %.0f%% of it, at ", speech);
	buf_printf(&b, "%s pace (%.1f words/s)", wps < PACE_SLOW ? "a slow" :
	    wps < PACE_LO ? "a calm" : wps <= PACE_HI ? "an engaging" :
	    "a fast", wps);
	if (f->dead > 0)
		buf_printf(&b, ", and %.1f s of pauses", f->dead);
	if (buf_failed(&b) || b.data == NULL)
		xsnprintf(dst, len, "Chosen by the heuristic scorer.");
	else
		xsnprintf(dst, len, "%c%s.", toupper((unsigned char)b.data[0]),
		    b.data + 1);
	buf_free(&b);
}

/* Words a title may open with that say nothing (dropped), words it may
 * not end on when cut short, and words too common to inform. */
static const char *const fillers[] = { "and", "so", "but", "or", "well",
    "um", "uh", "er", "like", "okay", "ok", "oh", "yeah", "now", "then",
    NULL };
static const char *const dangling[] = { "a", "an", "the", "and", "or", "but",
    "so", "of", "to", "in", "on", "at", "by", "for", "from", "with", "as",
    "my", "your", "our", "their", "his", "her", "its", "that", "which",
    "who", "is", "are", "was", "were", "be", "if", "than", "into", "not",
    "every", "some", "any", "this", "these", "those", "very", "more", "most",
    NULL };
static const char *const common[] = { "that", "this", "with", "have", "from",
    "they", "what", "when", "there", "their", "then", "than", "been", "were",
    "will", "would", "could", "should", "about", "into", "just", "like",
    "your", "very", "some", "which", "these", "those", "them", "also",
    "only", "more", "because", "really", "know", "think", "going", "yeah",
    "okay", "well", "here", "where", "does", "doing", "being", "over",
    "such", "other", "much", "many", "even", "after", "before", "while",
    "said", "says", "said", "want", "come", "make", "thing", "things",
    NULL };

/* Whether the word at W (LEN bytes; letters and apostrophes compared
 * without case, anything else ignored) is in LIST. */
static int
in_list(const char *w, size_t len, const char *const *list)
{
	char low[24];
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < sizeof(low); i++)
		if (isalpha((unsigned char)w[i]) || w[i] == '\'')
			low[n++] = (char)tolower((unsigned char)w[i]);
	low[n] = '\0';
	for (i = 0; list[i] != NULL; i++)
		if (strcmp(low, list[i]) == 0)
			return 1;
	return 0;
}

struct tword {
	char	*p;
	size_t	 len;
};

/*
 * Sentence case for the N words W, in place: a shouted text (no lower
 * case at all) is lowered, as are the capitalised words of a Title Case
 * one (acronyms stay); the pronoun "I" is raised, as recognisers give it
 * in lower case.  The first letter is raised by the caller.
 */
static void
sentence_case(struct tword *w, size_t n)
{
	size_t i, k, upper = 0, lower = 0, long_words = 0, capital = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; k < w[i].len; k++) {
			upper += isupper((unsigned char)w[i].p[k]) != 0;
			lower += islower((unsigned char)w[i].p[k]) != 0;
		}
		if (w[i].len >= 4 && isalpha((unsigned char)w[i].p[0])) {
			long_words++;
			capital += isupper((unsigned char)w[i].p[0]) != 0;
		}
	}
	for (i = 0; i < n; i++) {
		int rest_lower = 1;

		for (k = 1; k < w[i].len; k++)
			if (isupper((unsigned char)w[i].p[k]))
				rest_lower = 0;
		if (lower == 0 && upper >= 4)
			for (k = 0; k < w[i].len; k++)
				w[i].p[k] = (char)tolower((unsigned char)w[i].p[k]);
		else if (i > 0 && long_words >= 3 && capital == long_words &&
		    rest_lower)
			w[i].p[0] = (char)tolower((unsigned char)w[i].p[0]);
		if ((w[i].p[0] == 'i' || w[i].p[0] == 'I') && (w[i].len == 1 ||
		    w[i].p[1] == '\'' || !isalpha((unsigned char)w[i].p[1])))
			w[i].p[0] = 'I';
	}
}

void
select_title(char *dst, size_t len, const char *text)
{
	char work[512];
	struct tword w[64];
	size_t n = 0, i, first = 0, last, max = len - 1, out = 0;
	char *p;

	if (len == 0)
		return;
	if (max > TITLE_MAX)
		max = TITLE_MAX;
	xsnprintf(work, sizeof(work), "%s", text);
	/* Words: runs of anything but white space and double quotes. */
	for (p = work; *p != '\0' && n < sizeof(w) / sizeof(w[0]); ) {
		size_t l;

		p += strspn(p, " \t\r\n\"");
		if ((l = strcspn(p, " \t\r\n\"")) == 0)
			break;
		w[n].p = p;
		w[n++].len = l;
		p += l;
		if (*p != '\0')
			*p++ = '\0';
	}
	sentence_case(w, n);
	while (n - first > 3 && in_list(w[first].p, w[first].len, fillers))
		first++;
	/* Whole words up to MAX; a first word longer than that is cut. */
	for (last = first; last < n; last++)
		if (out + (last > first) + w[last].len > max && last > first)
			break;
		else
			out += (last > first) + w[last].len;
	/* Cut short: not on a word that leaves the reader hanging. */
	while (last < n && last > first + 1 &&
	    in_list(w[last - 1].p, w[last - 1].len, dangling))
		last--;
	for (out = 0, i = first; i < last; i++) {
		size_t l = w[i].len;

		if (out > 0 && out < max)
			dst[out++] = ' ';
		if (l > max - out)
			l = max - out;
		memcpy(dst + out, w[i].p, l);
		out += l;
	}
	while (out > 0 && strchr(" ,;:-.", dst[out - 1]))
		out--;
	dst[out] = '\0';
	if (out > 0)
		dst[0] = (char)toupper((unsigned char)dst[0]);
}

/* How much the words A..B say: the words that are not too common, as far
 * as a title shows them, weighted by the recogniser's confidence; a
 * question counts one more, a fragment of under four words half. */
static double
informative(const struct transcript *t, size_t a, size_t b)
{
	double v = 0, conf = 0;
	size_t i, chars = 0, letters, k;

	for (i = a; i <= b; i++) {
		const char *w = t->w[i].text;

		conf += fmax(0.05, t->w[i].conf);
		chars += strlen(w) + (i > a);
		for (letters = 0, k = 0; w[k]; k++)
			letters += isalpha((unsigned char)w[k]) != 0;
		if (chars <= TITLE_MAX && letters >= 4 &&
		    !in_list(w, strlen(w), common))
			v++;
	}
	v *= conf / (b - a + 1);
	if (strchr(t->w[b].text, '?') != NULL)
		v++;
	return b - a + 1 < 4 ? v / 2 : v;
}

/* The title of candidate C: its most informative sentence. */
static void
title(const struct transcript *t, const struct cand *c, char *dst, size_t len)
{
	struct buf b;
	size_t i, s0 = c->a, ba = c->a, bb = c->b;
	double best = -1, v;

	for (i = c->a; i <= c->b; i++) {
		if (i < c->b && !t->w[i].sent_end)
			continue;
		if ((v = informative(t, s0, i)) > best) {
			best = v;
			ba = s0;
			bb = i;
		}
		s0 = i + 1;
	}
	buf_init(&b, 1024);
	for (i = ba; i <= bb; i++)
		if (buf_printf(&b, "%s%s", i > ba ? " " : "", t->w[i].text) != 0)
			break;
	select_title(dst, len, b.data ? b.data : "");
	buf_free(&b);
}

/*
 * The candidates into *CP (allocated; the caller frees it): for each word
 * that can open a clip, its best window that ends on a boundary within
 * the length range.  The windows that open on one word all overlap, so
 * at most one of them could be chosen: one a word keeps their number (and
 * the memory) in proportion to the transcript, however long the clips may
 * be.  Returns how many, or -1 when out of memory.
 */
static ssize_t
candidates(const struct transcript *t, const struct select_req *rq,
    struct cand **cp)
{
	struct cand *c, best;
	size_t nc = 0, a, b, ns = 0;

	for (a = 0; a < t->nw; a++)
		ns += is_start(t, a);
	if ((c = calloc(ns ? ns : 1, sizeof(*c))) == NULL)
		return -1;
	for (a = 0; a < t->nw; a++) {
		if (!is_start(t, a))
			continue;
		best.score = -1;
		for (b = a; b < t->nw; b++) {
			struct cand k;

			k.start = fmax(0, t->w[a].start - LEAD_S);
			k.end = fmin(rq->duration, t->w[b].end + TAIL_S);
			if (k.end - k.start > rq->max_len)
				break;
			if (!is_end(t, b) || k.end - k.start < rq->min_len)
				continue;
			k.a = a;
			k.b = b;
			score(t, &k);
			if (k.score > best.score)
				best = k;
		}
		if (best.score >= 0)
			c[nc++] = best;
	}
	*cp = c;
	return (ssize_t)nc;
}

/* How far candidate C lies from the nearest of the N picks, in seconds
 * between their middles (0 when there are none). */
static double
apart(const struct cand *c, const struct pick *p, size_t n)
{
	double d = INFINITY, m = (c->start + c->end) / 2;
	size_t k;

	for (k = 0; k < n; k++)
		d = fmin(d, fabs(m - (p[k].start + p[k].end) / 2));
	return n ? d : 0;
}

/*
 * The next pick among the NC candidates C (best first) that does not
 * overlap the NP picks in OUT: the best one, or, of those within
 * TIE_POINTS of it, the one farthest from the picks, so that a long talk
 * that is as good all through gives clips from all of it, not its first
 * minutes.  Returns its index, or NC when none is left.
 */
static size_t
next_pick(const struct cand *c, size_t nc, const struct pick *out, size_t np)
{
	size_t i, j, best;
	double far;

	for (i = 0; i < nc; i++)
		if (!select_overlaps(out, np, c[i].start, c[i].end))
			break;
	if (i == nc || np == 0)
		return i;
	best = i;
	far = apart(&c[i], out, np);
	for (j = i + 1; j < nc && c[j].score >= c[i].score - TIE_POINTS; j++)
		if (apart(&c[j], out, np) > far &&
		    !select_overlaps(out, np, c[j].start, c[j].end)) {
			best = j;
			far = apart(&c[j], out, np);
		}
	return best;
}

size_t
select_heuristic(const struct transcript *t, const struct select_req *rq,
    struct pick *out)
{
	struct cand *c = NULL;
	struct clip_figures f;
	ssize_t nc;
	size_t i, np = 0;

	if (t->nw == 0 || (nc = candidates(t, rq, &c)) < 0)
		return 0;
	qsort(c, (size_t)nc, sizeof(*c), cand_cmp);
	while (np < (size_t)rq->clips &&
	    (i = next_pick(c, (size_t)nc, out, np)) < (size_t)nc) {
		out[np].start = c[i].start;
		out[np].end = c[i].end;
		out[np].score = round(c[i].score * 10) / 10;
		title(t, &c[i], out[np].title, sizeof(out[np].title));
		measure(t, &c[i], &f);
		select_reason(&f, out[np].reason, sizeof(out[np].reason));
		out[np].nparts = points(&f, c[i].end - c[i].start,
		    out[np].part);
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
		out[i].nparts = 0;
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
