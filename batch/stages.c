/* The stage registry: every stage the runner knows, in pipeline order. */
#include <string.h>

#include "config.h"
#include "stage.h"

extern const struct stage stage_test_sleep, stage_test_noop,
    stage_test_transient, stage_test_permanent, stage_test_crash,
    stage_test_hang;
extern const struct stage stage_publish;

const struct stage *const all_stages[] = {
	&stage_publish,
	NULL
};

const struct stage *
stage_find(const char *name)
{
	size_t i;

	for (i = 0; all_stages[i] != NULL; i++) {
		if (strcmp(all_stages[i]->name, name) != 0)
			continue;
		if (all_stages[i]->test_only && !cfg.test_stages)
			return NULL;
		return all_stages[i];
	}
	return NULL;
}
