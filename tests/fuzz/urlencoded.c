/*
 * Query strings and urlencoded bodies (fcgi/parse.c parse_urlencoded),
 * then the job validator (fcgi/validate.c, lib/jobspec.c) over what they
 * decoded, as a form submission; and the path matcher on the same bytes.
 */
#define WEB_PARSERS_ONLY 1
#include "extern.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct backends be = { 1, 1, 1, 3, 20, 60 };
	struct form f = { .n = 0 };
	struct jobspec js;
	char err[256], field[64], *s;
	long long id;

	if (size > FORM_MAX_BODY)
		return 0;
	s = fuzz_str(data, size);
	if (parse_urlencoded(s, size, &f, err, sizeof(err)) == 0 &&
	    validate_job(&f, size > 0 && (data[0] & 1), &be, &js, field,
	    sizeof(field), err, sizeof(err)) == 0)
		json_decref(jobspec_options(&js));
	form_free(&f);
	path_match(s, "/jobs/%/events", &id);
	path_match(s, "/jobs/%", &id);
	free(s);
	return 0;
}
