/*
 * What a task child keeps (batch/runner/sandbox.c), as a table: which
 * stage and job need the network, execve and which API key, with the
 * file store and with S3.  A row that says 0 is a child with no socket
 * and no execve.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "runner/runner.h"
#include "tap.h"

static void
test_needs(const char *store)
{
	static const struct {
		const char *stage, *job;
		int file, s3;	/* the flags with each store */
	} t[] = {
		{ "fetch", "{\"source_kind\":\"url\"}", SB_NET | SB_EXEC,
		  SB_NET | SB_EXEC },
		{ "fetch", "{\"source_kind\":\"upload\"}", 0, SB_NET },
		{ "transcribe", "{}", 0, SB_NET },
		{ "transcribe", "{\"options\":{\"transcribe_backend\":\"openai\"}}",
		  SB_NET | SB_OPENAI, SB_NET | SB_OPENAI },
		{ "select", "{}", 0, SB_NET },
		{ "select", "{\"options\":{\"select_backend\":\"llm\"}}",
		  SB_NET | SB_LLM, SB_NET | SB_LLM },
		{ "select", "{\"options\":{\"select_backend\":\"\"}}", 0, SB_NET },
		{ "frame", "{}", 0, SB_NET },
		{ "render", "{}", 0, SB_NET },
		{ "publish", "{}", 0, SB_NET },
		{ "escape", "{}", 0, SB_NET },
	};
	struct task tk;
	size_t i;
	int want, got;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&tk, 0, sizeof(tk));
		tk.job = json_loads(t[i].job, 0, NULL);
		want = strcmp(store, "s3") == 0 ? t[i].s3 : t[i].file;
		got = sandbox_needs(t[i].stage, &tk);
		ok(got == want, "%s store: %s %s needs %#x (got %#x)", store,
		    t[i].stage, t[i].job, want, got);
		json_decref(tk.job);
	}
}

/* The configured default backend counts as the job's choice. */
static void
test_default_backend(void)
{
	struct task tk;
	char err[256];

	config_set("store", "file", err, sizeof(err));
	config_set("transcribe_backend", "openai", err, sizeof(err));
	memset(&tk, 0, sizeof(tk));
	tk.job = json_loads("{}", 0, NULL);
	ok(sandbox_needs("transcribe", &tk) == (SB_NET | SB_OPENAI),
	    "transcribe_backend = openai by default: network and key");
	json_decref(tk.job);
}

int
main(void)
{
	char err[256] = "";
	int loaded = config_load("/dev/null", err, sizeof(err)) == 0;

	ok(loaded, "the defaults load %s", err);
	if (loaded) {
		test_needs("file");
		ok(config_set("store", "s3", err, sizeof(err)) == 0,
		    "store = s3 %s", err);
		test_needs("s3");
		test_default_backend();
	}
	return tap_done();
}
