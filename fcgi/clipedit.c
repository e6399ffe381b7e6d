/*
 * The edit a review route is asked for, without the request or the
 * database (review.c does those): the body as JSON (review_body) and its
 * fields checked into a clip's edit (review_edit).  Kept apart so that
 * the clip_edit fuzzer (tests/fuzz/clip_edit.c) reaches exactly this.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WEB_PARSERS_ONLY 1
#include "extern.h"
#include "jobspec.h"
#include "transcript.h"
#include "util.h"

#define WORD_MAX	64	/* characters of a corrected word */
#define CLIP_LEN_MIN	1	/* seconds */

/* ---- the request's body ---- */

/* See extern.h. */
int
review_body(const char *ctype, const char *data, size_t len, json_t **out,
    struct form *f, char *err, size_t errlen)
{
	const char *csrf;
	json_error_t je;
	struct form u = { .n = 0 };
	json_t *o, *a;
	size_t i;

	*out = NULL;
	if (len == 0) {
		*out = json_object();
		return 0;
	}
	if (ctype != NULL && strncasecmp(ctype, "application/json", 16) == 0) {
		if ((o = json_loadb(data, len, JSON_REJECT_DUPLICATES,
		    &je)) == NULL || !json_is_object(o)) {
			seterr(err, errlen, "The body is not a JSON object%s%s.",
			    o == NULL ? ": " : "", o == NULL ? je.text : "");
			json_decref(o);
			return -1;
		}
		if ((csrf = json_string_value(json_object_get(o, "csrf"))) !=
		    NULL && form_add(f, "csrf", csrf, strlen(csrf), err,
		    errlen) == -1) {
			json_decref(o);
			return -1;
		}
		*out = o;
		return 0;
	}
	if (parse_urlencoded(data, len, &u, err, errlen) == -1) {
		form_free(&u);	/* the fields before the bad one */
		return -1;
	}
	o = json_object();
	for (i = 0; i < u.n; i++) {
		const char *k = u.f[i].key, *v = u.f[i].val;

		if (strcmp(k, "csrf") == 0)
			form_add(f, k, v, strlen(v), err, errlen);
		else if (strncmp(k, "word.", 5) == 0) {
			if ((a = json_object_get(o, "words")) == NULL)
				json_object_set_new(o, "words", a = json_object());
			json_object_set_new(a, k + 5, *v ? json_string(v) :
			    json_null());
		} else if (strcmp(k, "removed") == 0 || strcmp(k, "clip") == 0) {
			const char *name = *k == 'r' ? "removed" : "clips";

			if ((a = json_object_get(o, name)) == NULL)
				json_object_set_new(o, name, a = json_array());
			if (*v != '\0')
				json_array_append_new(a, json_string(v));
		} else
			json_object_set_new(o, k, json_string(v));
	}
	form_free(&u);
	*out = o;
	return 0;
}

/* A number from JSON V (a number, or a string as a form sends it) into
 * *D; 0 or -1. */
static int
json_seconds(const json_t *v, double *d)
{
	if (json_is_number(v)) {
		*d = json_number_value(v);
		return isfinite(*d) ? 0 : -1;
	}
	if (json_is_string(v))
		return parse_double(json_string_value(v), -1e9, 1e9, d);
	return -1;
}

/* A word index from JSON V (an integer, or a decimal string) below N into
 * *I; 0 or -1. */
static int
json_index(const json_t *v, size_t n, size_t *i)
{
	long long ll;

	if (n == 0)
		return -1;
	if (json_is_integer(v)) {
		ll = json_integer_value(v);
		if (ll < 0 || (size_t)ll >= n)
			return -1;
	} else if (!json_is_string(v) || parse_ll(json_string_value(v), 0,
	    (long long)n - 1, &ll) == -1)
		return -1;
	*i = (size_t)ll;
	return 0;
}

/* S's length in characters when it is valid UTF-8 text without control
 * characters, else -1. */
static long
text_chars(const char *s)
{
	size_t n = strlen(s), i;
	long chars = 0;

	if (utf8_valid_prefix(s, n) != n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	}
	return chars;
}

/* ---- a clip's edit ---- */

/* Where field F refuses its value: FIELD and a sentence in ERR.  -1. */
static int
refuse(char *field, size_t fieldlen, const char *f, char *err, size_t errlen,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int
refuse(char *field, size_t fieldlen, const char *f, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list ap;

	snprintf(field, fieldlen, "%s", f);
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Snap START to the start of the first word ending after it, END to the
 * end of the last word starting before it (no word: as given). */
static void
snap(const struct transcript *t, double *start, double *end)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nw; i++)
		if (t->w[i].end > *start) {
			*start = t->w[i].start;
			break;
		}
	for (i = t->nw; i > 0; i--)
		if (t->w[i - 1].start < *end) {
			*end = t->w[i - 1].end;
			break;
		}
}

/* The bounds from BODY into CE, snapped and checked.  0 or -1 (refused). */
static int
edit_bounds(json_t *body, struct clipedit *ce, char *field, size_t fieldlen,
    char *err, size_t errlen)
{
	json_t *vs = json_object_get(body, "start"), *ve = json_object_get(body,
	    "end");
	double s = ce->start, e = ce->end, d = ce->duration;

	if (vs == NULL && ve == NULL)
		return 0;
	if (vs != NULL && (json_seconds(vs, &s) == -1 || s < 0 ||
	    (d > 0 && s >= d)))
		return refuse(field, fieldlen, "start", err, errlen, "must be a "
		    "number of seconds from 0 to the video's end (%.3f)", d);
	if (ve != NULL && (json_seconds(ve, &e) == -1 || e <= 0 ||
	    (d > 0 && e > d)))
		return refuse(field, fieldlen, "end", err, errlen, "must be a "
		    "number of seconds after 0, at most the video's end "
		    "(%.3f)", d);
	snap(ce->t, &s, &e);
	if (d > 0 && e > d)
		e = d;
	if (!(e > s))
		return refuse(field, fieldlen, ve != NULL ? "end" : "start", err,
		    errlen, "must leave the clip's end (%.3f s) after its start "
		    "(%.3f s), at word boundaries", e, s);
	if (e - s < CLIP_LEN_MIN || e - s > JOBSPEC_LEN_MAX)
		return refuse(field, fieldlen, ve != NULL ? "end" : "start", err,
		    errlen, "makes the clip %.1f s long; a clip lasts %d to %d "
		    "seconds", e - s, CLIP_LEN_MIN, JOBSPEC_LEN_MAX);
	ce->start = s;
	ce->end = e;
	if (vs != NULL)
		json_array_append_new(ce->fields, json_string("start"));
	if (ve != NULL)
		json_array_append_new(ce->fields, json_string("end"));
	return 0;
}

/* Whether word I lies in CE's clip (its new bounds). */
static int
in_clip(const struct clipedit *ce, size_t i)
{
	return ce->t != NULL && i < ce->t->nw &&
	    transcript_in_clip(&ce->t->w[i], ce->start, ce->end);
}

/* The word corrections of BODY into CE's edits.  0 or -1 (refused). */
static int
edit_words(json_t *body, struct clipedit *ce, char *field, size_t fieldlen,
    char *err, size_t errlen)
{
	json_t *w = json_object_get(body, "words"), *v, *have;
	const char *key, *s;
	char ks[32];
	size_t i, nw = ce->t != NULL ? ce->t->nw : 0;
	long n;

	if (w == NULL)
		return 0;
	if (!json_is_object(w))
		return refuse(field, fieldlen, "words", err, errlen, "must be an "
		    "object of word numbers and their corrected text");
	if ((have = json_object_get(ce->edits, "words")) == NULL ||
	    !json_is_object(have))
		json_object_set_new(ce->edits, "words", have = json_object());
	json_object_foreach(w, key, v) {
		json_t *k = json_string(key);
		int bad = json_index(k, nw, &i) == -1 || !in_clip(ce, i);

		json_decref(k);
		if (bad)
			return refuse(field, fieldlen, "words", err, errlen,
			    "\"%.20s\" is not the number of a word in the clip",
			    key);
		snprintf(ks, sizeof(ks), "%zu", i);
		if (json_is_null(v)) {
			json_object_del(have, ks);
			continue;
		}
		s = json_string_value(v);
		if (s == NULL || (n = text_chars(s)) < 1 || n > WORD_MAX ||
		    strspn(s, " \t") == strlen(s))
			return refuse(field, fieldlen, "words", err, errlen,
			    "word %zu must be 1 to %d characters of text "
			    "(not only spaces), or null", i, WORD_MAX);
		json_object_set(have, ks, v);
	}
	json_array_append_new(ce->fields, json_string("words"));
	return 0;
}

/* The removed words of BODY into CE's edits (the set is replaced).  0 or
 * -1 (refused). */
static int
edit_removed(json_t *body, struct clipedit *ce, char *field, size_t fieldlen,
    char *err, size_t errlen)
{
	json_t *a = json_object_get(body, "removed"), *v, *set;
	size_t i, k, j, nw = ce->t != NULL ? ce->t->nw : 0;
	int dup;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return refuse(field, fieldlen, "removed", err, errlen, "must be "
		    "an array of word numbers");
	set = json_array();
	json_array_foreach(a, k, v) {
		if (json_index(v, nw, &i) == -1 || !in_clip(ce, i)) {
			json_decref(set);
			return refuse(field, fieldlen, "removed", err, errlen,
			    "item %zu is not the number of a word in the clip",
			    k + 1);
		}
		for (j = 0, dup = 0; j < json_array_size(set); j++)
			dup |= (size_t)json_integer_value(json_array_get(set,
			    j)) == i;
		if (!dup)
			json_array_append_new(set, json_integer((json_int_t)i));
	}
	json_object_set_new(ce->edits, "removed", set);
	json_array_append_new(ce->fields, json_string("removed"));
	return 0;
}

/* An enum field NAME of BODY (checked by the job table's row TABLE) into
 * OUT.  0 or -1 (refused). */
static int
edit_word_field(json_t *body, const char *name, const char *table,
    char *out, size_t outlen, struct clipedit *ce, char *field,
    size_t fieldlen, char *err, size_t errlen)
{
	json_t *v = json_object_get(body, name);
	struct jobspec js;
	const char *s;
	char e[256];

	if (v == NULL)
		return 0;
	memset(&js, 0, sizeof(js));
	if ((s = json_string_value(v)) == NULL)
		return refuse(field, fieldlen, name, err, errlen, "must be a "
		    "string");
	if (jobspec_set(&js, jobspec_field(table), s, ce->be, e,
	    sizeof(e)) == -1)
		return refuse(field, fieldlen, name, err, errlen, "%s", e);
	snprintf(out, outlen, "%s", s);
	json_array_append_new(ce->fields, json_string(name));
	return 0;
}

int
review_edit(json_t *body, struct clipedit *ce, char *field, size_t fieldlen,
    char *err, size_t errlen)
{
	static const char *const known[] = { "csrf", "start", "end", "title",
	    "words", "removed", "aspect", "layout", "caption_style", NULL };
	const char *key, *s;
	json_t *v;
	long n;
	int i, ok;

	json_object_foreach(body, key, v) {
		for (i = 0, ok = 0; known[i] != NULL; i++)
			ok |= strcmp(key, known[i]) == 0;
		if (!ok)
			return refuse(field, fieldlen, key, err, errlen, "is not "
			    "a field of a clip; use start, end, title, words, "
			    "removed, aspect, layout or caption_style");
	}
	if (edit_bounds(body, ce, field, fieldlen, err, errlen) == -1 ||
	    edit_words(body, ce, field, fieldlen, err, errlen) == -1 ||
	    edit_removed(body, ce, field, fieldlen, err, errlen) == -1 ||
	    edit_word_field(body, "aspect", "aspects", ce->aspect,
	    sizeof(ce->aspect), ce, field, fieldlen, err, errlen) == -1 ||
	    edit_word_field(body, "layout", "layout", ce->layout,
	    sizeof(ce->layout), ce, field, fieldlen, err, errlen) == -1 ||
	    edit_word_field(body, "caption_style", "caption_style", ce->style,
	    sizeof(ce->style), ce, field, fieldlen, err, errlen) == -1)
		return -1;
	if ((v = json_object_get(body, "title")) != NULL) {
		if ((s = json_string_value(v)) == NULL ||
		    (n = text_chars(s)) < 1 || n > TITLE_MAX ||
		    strspn(s, " ") == strlen(s))
			return refuse(field, fieldlen, "title", err, errlen,
			    "must be 1 to %d characters of text, without "
			    "control characters", TITLE_MAX);
		snprintf(ce->title, sizeof(ce->title), "%s", s);
		json_array_append_new(ce->fields, json_string("title"));
	}
	return 0;
}
