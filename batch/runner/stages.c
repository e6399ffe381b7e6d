/*
 * The stage registry: every stage the runner knows, pipeline stages first
 * in pipeline order (fetch, transcribe, select, frame, render, publish:
 * each helper adds its own line), then the test stages of stages/test.c,
 * which stage_find() refuses unless cfg.test_stages is set.
 */
#include <string.h>

#include "config.h"
#include "stage.h"

extern const struct stage stage_test_noop, stage_test_sleep,
    stage_test_capped, stage_test_transient, stage_test_permanent,
    stage_test_crash, stage_test_hang, stage_test_fanout, stage_test_fanwork,
    stage_test_escape;

extern const struct stage stage_fetch, stage_transcribe, stage_select,
    stage_frame, stage_render, stage_publish, stage_webhook;

const struct stage *const all_stages[] = {
	/* the pipeline, in order */
	&stage_fetch,
	&stage_transcribe,
	&stage_select,
	&stage_frame,
	&stage_render,
	&stage_publish,
	/* deliveries of events to users' webhooks */
	&stage_webhook,
	/* test stages (cfg.test_stages) */
	&stage_test_noop,
	&stage_test_sleep,
	&stage_test_capped,
	&stage_test_transient,
	&stage_test_permanent,
	&stage_test_crash,
	&stage_test_hang,
	&stage_test_fanout,
	&stage_test_fanwork,
	&stage_test_escape,
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
