/* Reading transcript.json and loudness.json (transcript.h), bounded and checked. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "transcript.h"
#include "util.h"

#define MAX_JSON_BYTES	(64L << 20)
#define MAX_WORDS	2000000
#define MAX_LOUD	10000000
#define MAX_WORD_CHARS	64

static json_t *
load_capped(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat sb;
	json_error_t je;
	json_t *o;

	if (stat(path, &sb) != 0 || sb.st_size > MAX_JSON_BYTES) {
		seterr(err, errlen, "The %s is missing or too large.", what);
		return NULL;
	}
	if ((o = json_load_file(path, 0, &je)) == NULL || !json_is_object(o)) {
		seterr(err, errlen, "The %s is not valid JSON (line %d: %s).",
		    what, je.line, je.text);
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
ends_sentence(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '"' || s[n - 1] == '\'' || s[n - 1] == ')'))
		n--;
	return n > 0 && strchr(".?!", s[n - 1]) != NULL;
}

static int
word_cmp(const void *a, const void *b)
{
	const struct word *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Append segment I (SEG) and its words to T, whose arrays have room
 * for them; times must lie within DUR (+1 s).  0, or -1 with ERR. */
static int
load_segment(struct transcript *t, json_t *seg, size_t i, double dur,
    char *err, size_t errlen)
{
	struct segment *sg = &t->seg[t->nseg];
	const char *text = "";
	json_t *words, *wd;
	double ss = 0, se = 0;
	size_t j;

	if (json_unpack(seg, "{sFsFs?s}", "start", &ss, "end", &se,
	    "text", &text) != 0 || !(ss >= 0 && se >= ss && se <= dur + 1)) {
		seterr(err, errlen, "Transcript segment %zu has bad times.", i);
		return -1;
	}
	sg->start = ss;
	sg->end = se;
	sg->w0 = t->nw;
	if ((sg->text = strndup(text, 4096)) == NULL) {
		seterr(err, errlen, "Out of memory reading the transcript.");
		return -1;
	}
	t->nseg++;	/* counted now so that a failure frees it */
	words = json_object_get(seg, "words");
	json_array_foreach(words, j, wd) {
		struct word *w = &t->w[t->nw];
		const char *txt;
		double ws, we, c = 1;

		if (json_unpack(wd, "{sssFsFs?F}", "word", &txt, "start", &ws,
		    "end", &we, "confidence", &c) != 0 ||
		    !(ws >= 0 && we >= ws && we <= dur + 1)) {
			seterr(err, errlen, "Transcript word %zu of segment "
			    "%zu is not valid.", j, i);
			return -1;
		}
		while (isspace((unsigned char)*txt))
			txt++;
		if (*txt == '\0')
			continue;
		w->start = ws;
		w->end = we;
		w->conf = c;
		if ((w->text = strndup(txt, MAX_WORD_CHARS)) == NULL) {
			seterr(err, errlen, "Out of memory reading the transcript.");
			return -1;
		}
		w->sent_end = ends_sentence(w->text);
		t->nw++;
	}
	sg->w1 = t->nw;
	if (sg->w1 > sg->w0)
		t->w[sg->w1 - 1].sent_end = 1;	/* segments end at pauses */
	return 0;
}

/* The loudness envelope at PATH into T.  0, or -1 with ERR. */
static int
load_loudness(struct transcript *t, const char *path, char *err,
    size_t errlen)
{
	json_t *lo, *arr, *v;
	double iv = 0;
	size_t i;
	int rc = -1;

	if ((lo = load_capped(path, "loudness data", err, errlen)) == NULL)
		return -1;
	if (json_unpack(lo, "{sFso}", "interval", &iv, "dbfs", &arr) != 0 ||
	    !json_is_array(arr) || !(iv >= 0.001 && iv <= 10) ||
	    json_array_size(arr) > MAX_LOUD) {
		seterr(err, errlen, "The loudness data is not valid.");
		goto out;
	}
	t->loud_interval = iv;
	t->nloud = json_array_size(arr);
	if ((t->loud = calloc(t->nloud ? t->nloud : 1, sizeof(double))) == NULL) {
		seterr(err, errlen, "Out of memory reading the loudness.");
		goto out;
	}
	json_array_foreach(arr, i, v) {
		double d = json_number_value(v);

		t->loud[i] = json_is_number(v) && d >= -200 && d <= 20 ? d : -120;
	}
	rc = 0;
out:
	json_decref(lo);
	return rc;
}

int
transcript_load(const char *path, const char *loud_path, struct transcript *t,
    char *err, size_t errlen)
{
	json_t *o = NULL, *segs, *seg, *words;
	size_t i, total = 0;
	const char *lang = "";
	int rc = -1, noa = 0;
	double dur = 0;

	memset(t, 0, sizeof(*t));
	if ((o = load_capped(path, "transcript", err, errlen)) == NULL)
		goto out;
	if (json_unpack(o, "{s?Fs?bs?sso}", "duration", &dur, "no_audio", &noa,
	    "language", &lang, "segments", &segs) != 0 || !json_is_array(segs) || dur < 0 ||
	    dur > 1e6 || !isfinite(dur)) {
		seterr(err, errlen, "The transcript lacks its duration or segments.");
		goto out;
	}
	t->duration = dur;
	t->no_audio = noa;
	if (strlen(lang) < sizeof(t->language))
		memcpy(t->language, lang, strlen(lang) + 1);
	json_array_foreach(segs, i, seg) {
		words = json_object_get(seg, "words");
		total += json_is_array(words) ? json_array_size(words) : 0;
	}
	if (total > MAX_WORDS || json_array_size(segs) > MAX_WORDS) {
		seterr(err, errlen, "The transcript has too many words.");
		goto out;
	}
	t->w = calloc(total ? total : 1, sizeof(*t->w));
	t->seg = calloc(json_array_size(segs) ? json_array_size(segs) : 1,
	    sizeof(*t->seg));
	if (t->w == NULL || t->seg == NULL) {
		seterr(err, errlen, "Out of memory reading the transcript.");
		goto out;
	}
	json_array_foreach(segs, i, seg)
		if (load_segment(t, seg, i, dur, err, errlen) == -1)
			goto out;
	/* Words out of order would break every search below; sort them
	 * (segments keep their ranges only when already ordered). */
	for (i = 1; i < t->nw; i++)
		if (t->w[i].start < t->w[i - 1].start) {
			qsort(t->w, t->nw, sizeof(*t->w), word_cmp);
			break;
		}
	if (loud_path != NULL && load_loudness(t, loud_path, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	json_decref(o);
	if (rc != 0)
		transcript_free(t);
	return rc;
}

void
transcript_free(struct transcript *t)
{
	size_t i;

	for (i = 0; i < t->nw; i++)
		free(t->w[i].text);
	for (i = 0; i < t->nseg; i++)
		free(t->seg[i].text);
	free(t->w);
	free(t->seg);
	free(t->loud);
	memset(t, 0, sizeof(*t));
}

int
transcript_in_clip(const struct word *w, double start, double end)
{
	/* A word may run half a second past the end: it was begun inside. */
	return w->start >= start && w->end <= end + 0.5 && w->start < end &&
	    w->text[0] != '\0';
}

int
transcript_span(const struct word *w, size_t n, double start, double end,
    size_t *first, size_t *last)
{
	size_t i;

	*first = n;
	*last = 0;
	for (i = 0; i < n; i++)
		if (transcript_in_clip(&w[i], start, end)) {
			if (*first == n)
				*first = i;
			*last = i;
		}
	return *first == n ? -1 : 0;
}

/* The index KEY (decimal, below N) into *I; 0 or -1. */
static int
edit_index(const char *key, size_t n, size_t *i)
{
	long long v;

	if (parse_ll(key, 0, (long long)n - 1, &v) == -1)
		return -1;
	*i = (size_t)v;
	return 0;
}

struct word *
transcript_edited(const struct word *w, size_t n, const json_t *edits,
    size_t *outn)
{
	json_t *words = json_object_get(edits, "words"), *removed, *v;
	struct word *out;
	unsigned char *gone;
	const char *key;
	size_t i, k, o = 0;

	*outn = 0;
	if ((out = calloc(n + 1, sizeof(*out))) == NULL)
		return NULL;
	if ((gone = calloc(n + 1, 1)) == NULL) {
		free(out);
		return NULL;
	}
	memcpy(out, w, n * sizeof(*out));
	json_object_foreach(words, key, v)
		if (json_is_string(v) && edit_index(key, n, &i) == 0)
			out[i].text = (char *)json_string_value(v);
	removed = json_object_get(edits, "removed");
	json_array_foreach(removed, k, v)
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    (json_int_t)n > json_integer_value(v))
			gone[json_integer_value(v)] = 1;
	for (i = 0; i < n; i++) {
		if (!gone[i]) {
			out[o++] = out[i];
			continue;
		}
		/* a removed last word: the sentence now ends before it */
		if (out[i].sent_end && o > 0)
			out[o - 1].sent_end = 1;
	}
	free(gone);
	*outn = o;
	return out;
}
