/*
 * The validator table for job submissions (kcgi style): every field a
 * form, a multipart body or a JSON body may carry is listed once with its
 * check; anything else is refused.  Handlers only ever see a checked
 * struct jobspec.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

enum vtype { V_INT, V_BOOL, V_ENUM, V_URL, V_LANG, V_STAGE, V_ASPECT, V_SKIP };

struct validator {
	const char	*name;
	enum vtype	 type;
	long long	 min, max;	/* V_INT */
	const char	*choices;	/* V_ENUM, V_ASPECT: "a|b|c" */
	int		 multi;		/* may repeat */
};

static const struct validator fields[] = {
	{ "url",		V_URL,	  0, 0, NULL, 0 },
	{ "clips",		V_INT,	  1, 10, NULL, 0 },
	{ "min_len",		V_INT,	  1, 3600, NULL, 0 },
	{ "max_len",		V_INT,	  1, 3600, NULL, 0 },
	{ "aspects",		V_ASPECT, 0, 0, "9:16|1:1|4:5", 1 },
	{ "captions",		V_BOOL,	  0, 0, NULL, 1 },
	{ "caption_style",	V_ENUM,	  0, 0, "classic|bold|minimal", 0 },
	{ "transcribe_backend",	V_ENUM,	  0, 0, "pocketsphinx|openai", 0 },
	{ "select_backend",	V_ENUM,	  0, 0, "heuristic|llm", 0 },
	{ "language",		V_LANG,	  0, 0, NULL, 0 },
	{ "first_stage",	V_STAGE,  0, 0, NULL, 0 },
	/* carried by forms, checked elsewhere */
	{ "csrf",		V_SKIP,	  0, 0, NULL, 0 },
	{ "file",		V_SKIP,	  0, 0, NULL, 0 },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static int
in_choices(const char *v, const char *choices)
{
	size_t n = strlen(v);
	const char *p = choices, *bar;

	for (;;) {
		bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		if (bar == NULL)
			return 0;
		p = bar + 1;
	}
}

static int
url_ok(const char *v, char *err, size_t errlen)
{
	const char *host;
	size_t i, n = strlen(v);

	if (n > 2048) {
		seterr(err, errlen, "is longer than 2048 characters");
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
check_one(const struct validator *v, const char *val,
    const struct backends *be, char *err, size_t errlen)
{
	long long ll;
	size_t i;

	switch (v->type) {
	case V_INT:
		if (parse_ll(val, v->min, v->max, &ll) == -1) {
			seterr(err, errlen, "must be a whole number from %lld "
			    "to %lld, not \"%.40s\"", v->min, v->max, val);
			return -1;
		}
		return 0;
	case V_BOOL:
		if (!in_choices(val, "on|off|true|false|yes|no|1|0")) {
			seterr(err, errlen, "must be on or off, not \"%.40s\"",
			    val);
			return -1;
		}
		return 0;
	case V_ENUM:
	case V_ASPECT:
		if (!in_choices(val, v->choices)) {
			char list[64];
			snprintf(list, sizeof(list), "%s", v->choices);
			for (i = 0; list[i]; i++)
				if (list[i] == '|')
					list[i] = ',';
			seterr(err, errlen, "must be one of %s, not \"%.40s\"",
			    list, val);
			return -1;
		}
		if (strcmp(val, "openai") == 0 && !be->openai) {
			seterr(err, errlen, "openai transcription is not "
			    "configured on this server");
			return -1;
		}
		if (strcmp(val, "llm") == 0 && !be->llm) {
			seterr(err, errlen, "LLM scoring is not configured on "
			    "this server");
			return -1;
		}
		return 0;
	case V_URL:
		return *val == '\0' ? 0 : url_ok(val, err, errlen);
	case V_LANG:
		if (strlen(val) < 2 || strlen(val) > 3 ||
		    !islower((unsigned char)val[0]) ||
		    !islower((unsigned char)val[1]) ||
		    (val[2] && !islower((unsigned char)val[2]))) {
			seterr(err, errlen, "must be a two- or three-letter "
			    "language code such as en, not \"%.40s\"", val);
			return -1;
		}
		return 0;
	case V_STAGE:
		if (!be->test_stages) {
			seterr(err, errlen, "is only accepted when test_stages "
			    "is on");
			return -1;
		}
		if (strncmp(val, "test_", 5) != 0 || strlen(val) > 31) {
			seterr(err, errlen, "must name a test stage (test_...)");
			return -1;
		}
		for (i = 0; val[i]; i++)
			if (!islower((unsigned char)val[i]) && val[i] != '_') {
				seterr(err, errlen, "must name a test stage");
				return -1;
			}
		return 0;
	case V_SKIP:
		return 0;
	}
	return -1;
}

static int
truthy(const char *v)
{
	return in_choices(v, "on|true|yes|1");
}

int
validate_job(const struct form *f, int have_file, const struct backends *be,
    struct jobspec *js, char *field, size_t fieldlen, char *err,
    size_t errlen)
{
	const struct validator *v;
	const char *val;
	size_t i, k;

	memset(js, 0, sizeof(*js));
	js->clips = be->clips_default;
	js->min_len = be->clip_min;
	js->max_len = be->clip_max;
	js->captions = 1;
	snprintf(js->caption_style, sizeof(js->caption_style), "classic");
	snprintf(js->transcribe_backend, sizeof(js->transcribe_backend),
	    be->openai == 2 ? "openai" : "pocketsphinx");
	snprintf(js->select_backend, sizeof(js->select_backend),
	    be->llm == 2 ? "llm" : "heuristic");
	snprintf(js->language, sizeof(js->language), "en");

	for (i = 0; i < f->n; i++) {
		for (v = NULL, k = 0; k < NFIELDS; k++)
			if (strcmp(fields[k].name, f->f[i].key) == 0)
				v = &fields[k];
		snprintf(field, fieldlen, "%s", f->f[i].key);
		if (v == NULL) {
			seterr(err, errlen, "is not a field this form knows");
			return -1;
		}
		if (!v->multi && form_count(f, v->name) > 1) {
			seterr(err, errlen, "is given more than once");
			return -1;
		}
		if (check_one(v, f->f[i].val, be, err, errlen) == -1)
			return -1;
	}

	snprintf(field, fieldlen, "url");
	val = form_get(f, "url");
	if (have_file && val != NULL && *val != '\0') {
		seterr(err, errlen, "give either a URL or a file, not both");
		return -1;
	}
	if (!have_file && (val == NULL || *val == '\0')) {
		seterr(err, errlen, "is required (or upload a file)");
		return -1;
	}
	if (val != NULL)
		snprintf(js->url, sizeof(js->url), "%s", val);

	if ((val = form_get(f, "clips")) != NULL)
		parse_ll(val, 1, 10, &js->clips);
	if ((val = form_get(f, "min_len")) != NULL)
		parse_ll(val, 1, 3600, &js->min_len);
	if ((val = form_get(f, "max_len")) != NULL)
		parse_ll(val, 1, 3600, &js->max_len);
	if (js->min_len > js->max_len) {
		snprintf(field, fieldlen, "min_len");
		seterr(err, errlen, "must not be longer than max_len (%lld s)",
		    js->max_len);
		return -1;
	}
	for (i = 0; i < f->n; i++) {
		if (strcmp(f->f[i].key, "aspects") != 0)
			continue;
		val = f->f[i].val;
		js->aspects |= strcmp(val, "9:16") == 0 ? ASPECT_9_16 :
		    strcmp(val, "1:1") == 0 ? ASPECT_1_1 : ASPECT_4_5;
	}
	if (js->aspects == 0)
		js->aspects = ASPECT_9_16;
	/* An HTML checkbox sends nothing when unchecked, so forms carry a
	 * hidden "captions=off" before the box: the last value wins. */
	for (i = 0; i < f->n; i++)
		if (strcmp(f->f[i].key, "captions") == 0)
			js->captions = truthy(f->f[i].val);
	if ((val = form_get(f, "caption_style")) != NULL)
		snprintf(js->caption_style, sizeof(js->caption_style), "%s", val);
	if ((val = form_get(f, "transcribe_backend")) != NULL)
		snprintf(js->transcribe_backend, sizeof(js->transcribe_backend),
		    "%s", val);
	if ((val = form_get(f, "select_backend")) != NULL)
		snprintf(js->select_backend, sizeof(js->select_backend), "%s",
		    val);
	if ((val = form_get(f, "language")) != NULL)
		snprintf(js->language, sizeof(js->language), "%s", val);
	if ((val = form_get(f, "first_stage")) != NULL)
		snprintf(js->first_stage, sizeof(js->first_stage), "%s", val);
	field[0] = '\0';
	return 0;
}

json_t *
jobspec_options(const struct jobspec *js)
{
	json_t *a = json_array();

	if (js->aspects & ASPECT_9_16)
		json_array_append_new(a, json_string("9:16"));
	if (js->aspects & ASPECT_1_1)
		json_array_append_new(a, json_string("1:1"));
	if (js->aspects & ASPECT_4_5)
		json_array_append_new(a, json_string("4:5"));
	return json_pack("{sIsIsIsosbssssssss}",
	    "clips", (json_int_t)js->clips,
	    "min_len", (json_int_t)js->min_len,
	    "max_len", (json_int_t)js->max_len,
	    "aspects", a,
	    "captions", js->captions,
	    "caption_style", js->caption_style,
	    "transcribe_backend", js->transcribe_backend,
	    "select_backend", js->select_backend,
	    "language", js->language);
}

int
upload_ext(const char *filename, char *ext, size_t extlen)
{
	static const char *const ok[] = { "mp4", "mov", "mkv", "webm", "avi",
	    "m4v", "mpg", "mpeg", "ts", "flv", "ogv", "m4a", "mp3", "wav",
	    "ogg", "opus", "flac", NULL };
	const char *dot = strrchr(filename, '.');
	char low[8];
	size_t i;

	if (dot == NULL || strlen(dot + 1) == 0 || strlen(dot + 1) >= sizeof(low))
		return -1;
	for (i = 0; dot[1 + i]; i++)
		low[i] = (char)tolower((unsigned char)dot[1 + i]);
	low[i] = '\0';
	for (i = 0; ok[i] != NULL; i++)
		if (strcmp(ok[i], low) == 0)
			return xsnprintf(ext, extlen, "%s", low);
	return -1;
}
