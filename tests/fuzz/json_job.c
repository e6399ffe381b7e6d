/*
 * The JSON job body of POST /jobs (fcgi/parse.c parse_json_body), then
 * the job validator (fcgi/validate.c through lib/jobspec.c's table) and
 * the options object a valid job is stored with.
 */
#define WEB_PARSERS_ONLY 1
#include "extern.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct backends be = { 1, 1, 1, 3, 20, 60 };
	static const struct backends none = { 0, 0, 0, 3, 20, 60 };
	struct form f = { .n = 0 };
	struct jobspec js;
	char err[256], field[64];

	if (size > FORM_MAX_BODY)
		return 0;
	if (parse_json_body((const char *)data, size, &f, err,
	    sizeof(err)) == 0) {
		if (validate_job(&f, 0, &be, &js, field, sizeof(field), err,
		    sizeof(err)) == 0)
			json_decref(jobspec_options(&js));
		if (validate_job(&f, 1, &none, &js, field, sizeof(field), err,
		    sizeof(err)) == 0)
			json_decref(jobspec_options(&js));
	}
	form_free(&f);
	return 0;
}
