/*
 * Job submissions through the web (kcgi style): every field a form, a
 * multipart body or a JSON body carries passes the job specification
 * table (lib/jobspec.c) before a handler sees it; anything the table does
 * not know is refused.  Handlers only ever see a checked struct jobspec.
 */
#include <stdio.h>
#include <string.h>

#include "extern.h"

/* Fields a form carries besides the job's, checked elsewhere. */
static const char *const form_only[] = { "csrf", "file", NULL };

static int
form_only_field(const char *key)
{
	size_t i;

	for (i = 0; form_only[i] != NULL; i++)
		if (strcmp(form_only[i], key) == 0)
			return 1;
	return 0;
}

int
validate_job(const struct form *f, int have_file, const struct backends *be,
    struct jobspec *js, char *field, size_t fieldlen, char *err,
    size_t errlen)
{
	const struct jobfield *jf;
	size_t i;

	jobspec_defaults(js, be);
	for (i = 0; i < f->n; i++) {
		snprintf(field, fieldlen, "%s", f->f[i].key);
		if (form_only_field(f->f[i].key))
			continue;
		if ((jf = jobspec_field(f->f[i].key)) == NULL) {
			seterr(err, errlen, "is not a field this form knows");
			return -1;
		}
		if (!jf->multi && form_count(f, jf->name) > 1) {
			seterr(err, errlen, "is given more than once");
			return -1;
		}
		if (jobspec_set(js, jf, f->f[i].val, be, err, errlen) == -1)
			return -1;
	}
	return jobspec_finish(js, have_file, 0, field, fieldlen, err, errlen);
}
