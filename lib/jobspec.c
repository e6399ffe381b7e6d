/*
 * The job specification table (jobspec.h).  Everything a front end says
 * about a bad value is built here from the table, so the web front and the
 * CLI accept and refuse the same values with the same words.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "jobspec.h"
#include "util.h"

static const char *const aspect_words[] = { "9:16", "1:1", "4:5", NULL };
static const char *const style_words[] = { "classic", "bold", "minimal", NULL };
static const char *const layout_words[] = { "auto", "track", "split", "fit",
    NULL };
static const char *const asr_words[] = { "pocketsphinx", "openai", NULL };
static const char *const select_words[] = { "heuristic", "llm", NULL };
static const char *const bool_words[] = { "on", "off", "true", "false", "yes",
    "no", "1", "0", NULL };

/* Where a value goes in struct jobspec; which flag of struct backends
 * offers a gated word. */
#define AT(m)	.off = offsetof(struct jobspec, m), \
		.size = sizeof(((struct jobspec *)0)->m)
#define GATE(m)	.gate = offsetof(struct backends, m)

const struct jobfield jobspec_fields[] = {
	{ .name = "url", .type = JF_URL, .def = "", AT(url) },
	{ .name = "clips", .type = JF_INT, .min = 1, .max = JOBSPEC_CLIPS_MAX,
	    .def = "", AT(clips) },
	{ .name = "min_len", .type = JF_INT, .min = 1, .max = JOBSPEC_LEN_MAX,
	    .def = "", AT(min_len) },
	{ .name = "max_len", .type = JF_INT, .min = 1, .max = JOBSPEC_LEN_MAX,
	    .def = "", AT(max_len) },
	{ .name = "aspects", .type = JF_ENUM, .words = aspect_words,
	    .multi = 1, .def = "", AT(aspects) },
	/* A checkbox sends nothing when unchecked, so forms carry a hidden
	 * "captions=off" before the box: the last value wins. */
	{ .name = "captions", .type = JF_BOOL, .multi = 1, .def = "on",
	    AT(captions) },
	{ .name = "caption_style", .type = JF_ENUM, .words = style_words,
	    .def = "bold", AT(caption_style) },
	{ .name = "layout", .type = JF_ENUM, .words = layout_words,
	    .def = "auto", AT(layout) },
	{ .name = "transcribe_backend", .type = JF_ENUM, .words = asr_words,
	    .def = "pocketsphinx", .gated = "openai", GATE(openai),
	    .gate_msg = "openai transcription is not configured on this "
	    "server", AT(transcribe_backend) },
	{ .name = "select_backend", .type = JF_ENUM, .words = select_words,
	    .def = "heuristic", .gated = "llm", GATE(llm),
	    .gate_msg = "LLM scoring is not configured on this server",
	    AT(select_backend) },
	/* stop after select and frame with candidate clips for the user to
	 * review, edit and choose (fcgi/review.c) */
	{ .name = "review", .type = JF_BOOL, .def = "off", AT(review) },
	{ .name = "language", .type = JF_LANG, .def = "en", AT(language) },
	{ .name = "first_stage", .type = JF_STAGE, .def = "",
	    AT(first_stage) },
	/* this job's events go there instead of the user's webhook, signed
	 * with the user's secret (lib/webhook.c) */
	{ .name = "webhook_url", .type = JF_URL, .def = "", AT(webhook_url) },
	{ .name = NULL }
};

const struct jobfield *
jobspec_field(const char *name)
{
	const struct jobfield *f;

	for (f = jobspec_fields; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

void
jobspec_backends(struct backends *be)
{
	memset(be, 0, sizeof(*be));
	be->openai = *cfg.openai_key_file ? 1 : 0;
	if (be->openai && strcmp(cfg.transcribe_backend, "openai") == 0)
		be->openai = 2;
	be->llm = *cfg.llm_key_file ? 1 : 0;
	if (be->llm && strcmp(cfg.select_backend, "llm") == 0)
		be->llm = 2;
	be->test_stages = cfg.test_stages;
	be->clips_default = cfg.clips_default;
	be->clip_min = cfg.clip_min;
	be->clip_max = cfg.clip_max;
}

/* The index of V in WORDS, or -1. */
static int
word_index(const char *v, const char *const *words)
{
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (strcmp(words[i], v) == 0)
			return i;
	return -1;
}

/* WORDS as "a,b,c" into OUT. */
static void
word_list(const char *const *words, char *out, size_t outlen)
{
	size_t o = 0;
	int n;

	out[0] = '\0';
	for (; *words != NULL && o < outlen; words++) {
		n = snprintf(out + o, outlen - o, "%s%s", o ? "," : "", *words);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

static int
url_check(const char *v, char *err, size_t errlen)
{
	const char *host;
	size_t i, n = strlen(v);

	if (n > JOBSPEC_URL_MAX) {
		seterr(err, errlen, "is longer than %d characters",
		    JOBSPEC_URL_MAX);
		return -1;
	}
	if (strncasecmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strncasecmp(v, "https://", 8) == 0)
		host = v + 8;
	else {
		seterr(err, errlen, "must be an http:// or https:// address");
		return -1;
	}
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#') {
		seterr(err, errlen, "has no host name");
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f) {
			seterr(err, errlen, "contains a space or a control "
			    "character");
			return -1;
		}
	return 0;
}

static int
lang_check(const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);

	if (n < 2 || n > 3 || strspn(v, "abcdefghijklmnopqrstuvwxyz") != n) {
		seterr(err, errlen, "must be a two- or three-letter language "
		    "code such as en, not \"%.40s\"", v);
		return -1;
	}
	return 0;
}

static int
stage_check(const char *v, const struct backends *be, char *err,
    size_t errlen)
{
	size_t n = strlen(v);

	if (!be->test_stages) {
		seterr(err, errlen, "is only accepted when test_stages is on");
		return -1;
	}
	if (strncmp(v, "test_", 5) != 0 || n > 31 ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz_") != n) {
		seterr(err, errlen, "must name a test stage (test_...)");
		return -1;
	}
	return 0;
}

/* A JF_ENUM value: its index in the words, or -1 with ERR. */
static int
enum_check(const struct jobfield *f, const char *v, const struct backends *be,
    char *err, size_t errlen)
{
	char list[128];
	int i = word_index(v, f->words);

	if (i == -1) {
		word_list(f->words, list, sizeof(list));
		seterr(err, errlen, "must be one of %s, not \"%.40s\"", list, v);
		return -1;
	}
	if (f->gated != NULL && strcmp(v, f->gated) == 0 &&
	    *(const int *)(const void *)((const char *)be + f->gate) == 0) {
		seterr(err, errlen, "%s", f->gate_msg);
		return -1;
	}
	return i;
}

int
jobspec_set(struct jobspec *js, const struct jobfield *f, const char *val,
    const struct backends *be, char *err, size_t errlen)
{
	char *at = (char *)js + f->off;
	long long ll;
	int i;

	if (utf8_valid_prefix(val, strlen(val)) != strlen(val)) {
		seterr(err, errlen, "is not valid UTF-8 text");
		return -1;
	}
	switch (f->type) {
	case JF_INT:
		if (parse_ll(val, f->min, f->max, &ll) == -1) {
			seterr(err, errlen, "must be a whole number from %lld "
			    "to %lld, not \"%.40s\"", f->min, f->max, val);
			return -1;
		}
		*(long long *)(void *)at = ll;
		return 0;
	case JF_BOOL:
		if ((i = word_index(val, bool_words)) == -1) {
			seterr(err, errlen, "must be on or off, not \"%.40s\"",
			    val);
			return -1;
		}
		*(int *)(void *)at = i % 2 == 0;
		return 0;
	case JF_ENUM:
		if ((i = enum_check(f, val, be, err, errlen)) == -1)
			return -1;
		if (f->multi)
			*(int *)(void *)at |= 1 << i;
		else
			snprintf(at, f->size, "%s", val);
		return 0;
	case JF_URL:
		if (*val != '\0' && url_check(val, err, errlen) == -1)
			return -1;
		break;
	case JF_LANG:
		if (lang_check(val, err, errlen) == -1)
			return -1;
		break;
	case JF_STAGE:
		if (stage_check(val, be, err, errlen) == -1)
			return -1;
		break;
	}
	return xsnprintf(at, f->size, "%s", val) == 0 ? 0 : -1;
}

void
jobspec_defaults(struct jobspec *js, const struct backends *be)
{
	static const struct backends all = { 1, 1, 1, 0, 0, 0 };
	const struct jobfield *f;
	char err[8];

	memset(js, 0, sizeof(*js));
	for (f = jobspec_fields; f->name != NULL; f++)
		if (*f->def != '\0')
			jobspec_set(js, f, f->def, &all, err, sizeof(err));
	js->clips = be->clips_default;
	js->min_len = be->clip_min;
	js->max_len = be->clip_max;
	if (be->openai == 2)
		snprintf(js->transcribe_backend, sizeof(js->transcribe_backend),
		    "openai");
	if (be->llm == 2)
		snprintf(js->select_backend, sizeof(js->select_backend), "llm");
}

const char *
jobspec_name(const char *field, int flags, char *out, size_t outlen)
{
	size_t i;

	if (!flags)
		snprintf(out, outlen, "%s", field);
	else if (strcmp(field, "url") == 0)
		snprintf(out, outlen, "the URL");
	else {
		snprintf(out, outlen, "--%s", field);
		for (i = 2; out[i] != '\0'; i++)
			if (out[i] == '_')
				out[i] = '-';
	}
	return out;
}

int
jobspec_finish(struct jobspec *js, int have_file, int flags, char *field,
    size_t fieldlen, char *err, size_t errlen)
{
	char other[32];

	snprintf(field, fieldlen, "url");
	if (have_file && js->url[0] != '\0') {
		seterr(err, errlen, "must be left out when a file is given");
		return -1;
	}
	if (!have_file && js->url[0] == '\0') {
		seterr(err, errlen, "is required when no file is given");
		return -1;
	}
	if (js->min_len > js->max_len) {
		snprintf(field, fieldlen, "min_len");
		seterr(err, errlen, "must not be longer than %s (%lld s)",
		    jobspec_name("max_len", flags, other, sizeof(other)),
		    js->max_len);
		return -1;
	}
	if (js->aspects == 0)
		js->aspects = ASPECT_9_16;
	field[0] = '\0';
	return 0;
}

int
jobspec_candidates(long long clips)
{
	long long n = clips * 2 < clips + 5 ? clips * 2 : clips + 5;

	if (n < 1)
		n = 1;
	return (int)(n > JOBSPEC_CANDIDATES_MAX ? JOBSPEC_CANDIDATES_MAX : n);
}

json_t *
jobspec_options(const struct jobspec *js)
{
	json_t *a = json_array(), *o;
	int i;

	for (i = 0; aspect_words[i] != NULL; i++)
		if (js->aspects & (1 << i))
			json_array_append_new(a, json_string(aspect_words[i]));
	o = json_pack("{sIsIsIsosbssssssssss}",
	    "clips", (json_int_t)js->clips,
	    "min_len", (json_int_t)js->min_len,
	    "max_len", (json_int_t)js->max_len,
	    "aspects", a,
	    "captions", js->captions,
	    "caption_style", js->caption_style,
	    "layout", js->layout,
	    "transcribe_backend", js->transcribe_backend,
	    "select_backend", js->select_backend,
	    "language", js->language);
	if (o != NULL && js->review)
		json_object_set_new(o, "review", json_true());
	if (o != NULL && js->webhook_url[0] != '\0')
		json_object_set_new(o, "webhook_url",
		    json_string(js->webhook_url));
	return o;
}
