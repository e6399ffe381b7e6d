/*
 * The body of PATCH /clips/{id} (fcgi/clipedit.c review_body: JSON, or a
 * browser's urlencoded form, chosen by the first byte), then the edit it
 * asks for (review_edit) on a one-minute clip of a fixed transcript:
 * bounds snapped to its words, corrections and removed words by index,
 * aspect, layout, caption style and title.  An accepted edit must leave
 * the clip inside the source and within the length bounds.
 */
#define WEB_PARSERS_ONLY 1
#include "extern.h"
#include "fuzz.h"
#include "transcript.h"

#define NWORDS	240	/* four minutes of words, a quarter second each */

static struct word words[NWORDS];
static struct transcript tr = { .language = "en", .duration = 240 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char text[NWORDS][8];
	int i;

	(void)argc;
	(void)argv;
	for (i = 0; i < NWORDS; i++) {
		snprintf(text[i], sizeof(text[i]), "w%d", i);
		words[i].start = i;
		words[i].end = i + 0.75;
		words[i].conf = (i % 10) / 10.0;
		words[i].text = text[i];
		words[i].sent_end = i % 12 == 11;
	}
	tr.w = words;
	tr.nw = NWORDS;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct backends be = { 1, 1, 1, 3, 20, 60 };
	struct clipedit ce = { .id = 1, .job = 1, .state = "candidate",
	    .job_state = "awaiting_review", .start = 60, .end = 120,
	    .duration = 240, .aspect = "9:16", .t = &tr, .be = &be };
	struct form f = { .n = 0 };
	char err[256], field[64];
	json_t *body = NULL;

	if (size < 1 || size > FORM_MAX_BODY)
		return 0;
	if (review_body(data[0] & 1 ? "application/json" :
	    "application/x-www-form-urlencoded", (const char *)data + 1,
	    size - 1, &body, &f, err, sizeof(err)) == 0) {
		ce.edits = json_object();
		ce.fields = json_array();
		if (ce.edits == NULL || ce.fields == NULL)
			abort();
		if (review_edit(body, &ce, field, sizeof(field), err,
		    sizeof(err)) == 0 && !(ce.start >= 0 && ce.start < ce.end &&
		    ce.end <= ce.duration))
			abort();	/* an accepted edit outside the source */
		json_decref(ce.edits);
		json_decref(ce.fields);
		json_decref(body);
	}
	form_free(&f);
	return 0;
}
