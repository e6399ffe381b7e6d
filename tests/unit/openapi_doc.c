/*
 * The OpenAPI document compiled into clipmill.fcgi (fcgi/openapi.json)
 * against the job table (lib/jobspec.c): every submission field is
 * documented with the table's type, bounds, enum words and default, the
 * document names no field the table does not know, and the options a job
 * records, the clip's aspect, layout and caption style use the same words.
 * A field added to the table without the document fails here.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "jobspec.h"
#include "tap.h"

extern const unsigned char openapi_doc[];
extern const size_t openapi_doc_len;

static json_t *doc;

/* The object at the path of NULL-ended names under DOC, or NULL. */
static json_t *
at(json_t *o, ...)
{
	va_list ap;
	const char *k;

	va_start(ap, o);
	while (o != NULL && (k = va_arg(ap, const char *)) != NULL)
		o = json_object_get(o, k);
	va_end(ap);
	return o;
}

/* 1 when the JSON array A holds exactly WORDS, in their order. */
static int
same_words(json_t *a, const char *const *words)
{
	size_t i;

	if (!json_is_array(a))
		return 0;
	for (i = 0; words[i] != NULL; i++)
		if (i >= json_array_size(a) || strcmp(json_string_value(
		    json_array_get(a, i)) ? json_string_value(json_array_get(a,
		    i)) : "", words[i]) != 0)
			return 0;
	return i == json_array_size(a);
}

static int
has_type(json_t *p, const char *type)
{
	const char *t = json_string_value(json_object_get(p, "type"));

	return t != NULL && strcmp(t, type) == 0;
}

/* The default of P is the table's DEF ("" = none to check). */
static void
check_default(const struct jobfield *f, json_t *p)
{
	json_t *d = json_object_get(p, "default");

	if (*f->def == '\0')
		return;
	if (f->type == JF_BOOL)
		ok(json_is_boolean(d) && json_is_true(d) == (strcmp(f->def,
		    "on") == 0), "%s: default %s", f->name, f->def);
	else
		ok(json_is_string(d) && strcmp(json_string_value(d), f->def) == 0,
		    "%s: default %s", f->name, f->def);
}

/* One row of the table against its property P in JobSubmission. */
static void
check_field(const struct jobfield *f, json_t *p)
{
	json_t *any;

	switch (f->type) {
	case JF_INT:
		ok(has_type(p, "integer") &&
		    json_integer_value(json_object_get(p, "minimum")) == f->min &&
		    json_integer_value(json_object_get(p, "maximum")) == f->max,
		    "%s: integer from %lld to %lld", f->name, f->min, f->max);
		break;
	case JF_BOOL:
		ok(has_type(p, "boolean"), "%s: boolean", f->name);
		break;
	case JF_ENUM:
		if (f->multi) {
			any = json_object_get(p, "anyOf");
			ok(same_words(at(json_array_get(any, 0), "items", "enum",
			    NULL), f->words) && has_type(json_array_get(any, 0),
			    "array") && same_words(at(json_array_get(any, 1),
			    "enum", NULL), f->words), "%s: a list of the table's "
			    "words, or one", f->name);
		} else
			ok(same_words(json_object_get(p, "enum"), f->words),
			    "%s: the table's words", f->name);
		break;
	case JF_URL:
		ok(has_type(p, "string") && json_integer_value(json_object_get(p,
		    "maxLength")) == JOBSPEC_URL_MAX, "%s: a URL of at most %d "
		    "characters", f->name, JOBSPEC_URL_MAX);
		break;
	case JF_LANG:
		ok(has_type(p, "string") && json_is_string(json_object_get(p,
		    "pattern")), "%s: a language code", f->name);
		break;
	case JF_STAGE:
		ok(has_type(p, "string"), "%s: a test stage's name", f->name);
		break;
	}
	check_default(f, p);
}

static void
test_submission(void)
{
	const struct jobfield *f;
	json_t *props, *p;
	const char *k;

	props = at(doc, "components", "schemas", "JobSubmission",
	    "properties", NULL);
	ok(json_is_object(props), "JobSubmission is documented");
	for (f = jobspec_fields; f->name != NULL; f++) {
		p = json_object_get(props, f->name);
		ok(p != NULL, "submission field %s is documented", f->name);
		if (p != NULL)
			check_field(f, p);
	}
	json_object_foreach(props, k, p)
		if (strcmp(k, "csrf") != 0)
			ok(jobspec_field(k) != NULL, "documented field %s is a "
			    "field of the job table", k);
}

/* What a job records (jobspec_options) is in JobOptions, and each option
 * that is a table field has its words or bounds there. */
static void
test_options(void)
{
	static const struct backends be = { 1, 1, 1, 3, 20, 60 };
	const struct jobfield *f;
	struct jobspec js;
	json_t *opts, *props, *p, *v;
	const char *k;

	jobspec_defaults(&js, &be);
	jobspec_finish(&js, 1, 0, (char[32]){ 0 }, 32, (char[64]){ 0 }, 64);
	snprintf(js.webhook_url, sizeof(js.webhook_url), "https://x.org/h");
	opts = jobspec_options(&js);
	props = at(doc, "components", "schemas", "JobOptions", "properties",
	    NULL);
	json_object_foreach(opts, k, v)
		ok(json_object_get(props, k) != NULL, "recorded option %s is in "
		    "JobOptions", k);
	json_object_foreach(props, k, p) {
		if ((f = jobspec_field(k)) == NULL) {
			ok(0, "JobOptions.%s is a field of the job table", k);
			continue;
		}
		if (f->type == JF_ENUM)
			ok(same_words(f->multi ? at(p, "items", "enum", NULL) :
			    json_object_get(p, "enum"), f->words),
			    "JobOptions.%s: the table's words", k);
		else if (f->type == JF_INT)
			ok(json_integer_value(json_object_get(p, "minimum")) ==
			    f->min && json_integer_value(json_object_get(p,
			    "maximum")) == f->max, "JobOptions.%s: the table's "
			    "bounds", k);
	}
	json_decref(opts);
}

/* A clip's aspect, layout and caption style (and their edits) take the
 * table's words. */
static void
test_clip_words(void)
{
	static const char *const schemas[] = { "Clip", "ClipEdit", NULL };
	static const char *const fields[][2] = { { "aspect", "aspects" },
	    { "layout", "layout" }, { "caption_style", "caption_style" } };
	size_t i, k;

	for (i = 0; schemas[i] != NULL; i++)
		for (k = 0; k < sizeof(fields) / sizeof(*fields); k++)
			ok(same_words(at(doc, "components", "schemas", schemas[i],
			    "properties", fields[k][0], "enum", NULL),
			    jobspec_field(fields[k][1])->words), "%s.%s: the job "
			    "table's %s words", schemas[i], fields[k][0],
			    fields[k][1]);
}

int
main(void)
{
	json_error_t err;

	doc = json_loadb((const char *)openapi_doc, openapi_doc_len, 0, &err);
	ok(doc != NULL, "the compiled-in document is JSON%s%s",
	    doc ? "" : ": ", doc ? "" : err.text);
	if (doc == NULL)
		return tap_done();
	ok(strcmp(json_string_value(json_object_get(doc, "openapi")) ?
	    json_string_value(json_object_get(doc, "openapi")) : "",
	    "3.1.0") == 0, "it is OpenAPI 3.1.0");
	test_submission();
	test_options();
	test_clip_words();
	json_decref(doc);
	return tap_done();
}
