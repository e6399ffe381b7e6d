/*
 * The publish stage's run() and done(), called directly (until the runner
 * drives them, and for the cases a runner makes hard to stage).
 *
 * Without arguments (as tests/run.sh runs it): against a file store in a
 * temporary directory, no database: a clip and thumbnail are copied to
 * final keys with an unguessable token, the render keys go only in
 * committed(), a retry after a half-finished attempt is harmless, a
 * missing thumbnail degrades with a "fallback" event, a missing clip
 * fails permanently with a sentence, a payload key from another job is
 * refused.
 *
 * With a command, against $CLIPMILL_CONF's store and database (driven by
 * tests/t_publish.sh and t_s3_prune.sh):
 *   s3_publish run JOB CLIP ATTEMPT MAX_ATTEMPTS
 *       run(); on success done() in a transaction, then committed().
 *       Prints the result and
 *       the task's events; exit 0 ok, 2 permanent, 3 transient, 4 usage,
 *       5 cancelled, 6 done() failed.
 *   s3_publish prune
 *       queue_prune() with the configured store; prints the jobs pruned.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "keys.h"
#include "queue.h"
#include "runner/stage.h"
#include "store.h"
#include "util.h"
#include "tap.h"

extern const struct stage stage_publish;

/* The runner's reporting calls, for this test program only: events are
 * printed and counted, progress never asks the task to stop. */
static int n_events;
static char last_event[64];

int
task_progress(struct task_ctx *ctx, int pct, const char *fmt, ...)
{
	(void)ctx;
	(void)pct;
	(void)fmt;
	return 0;
}

void
task_event(struct task_ctx *ctx, const char *kind, const char *msg,
    json_t *data)
{
	(void)ctx;
	(void)data;
	n_events++;
	snprintf(last_event, sizeof(last_event), "%s", kind);
	printf("# event %s: %s\n", kind, msg);
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int
exists(const char *dir, const char *rel)
{
	char p[1024];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return stat(p, &sb) == 0;
}

/* 1 when KEY is PREFIX, KEY_TOKEN_LEN hex digits, then SUFFIX. */
static int
token_key(const char *key, const char *prefix, const char *suffix)
{
	size_t n = strlen(prefix), i;

	if (key == NULL || strncmp(key, prefix, n) != 0 ||
	    strlen(key) != n + KEY_TOKEN_LEN + strlen(suffix) ||
	    strcmp(key + n + KEY_TOKEN_LEN, suffix) != 0)
		return 0;
	for (i = n; i < n + KEY_TOKEN_LEN; i++)
		if (strchr("0123456789abcdef", key[i]) == NULL)
			return 0;
	return 1;
}

static enum stage_rc
run_task(struct store *st, const char *scratch, long long job, long long clip,
    int attempt, const char *payload, json_t **result, char *err,
    size_t errlen)
{
	struct task t;
	struct task_ctx ctx;
	enum stage_rc rc;

	memset(&t, 0, sizeof(t));
	t.id = 1;
	t.job_id = job;
	t.clip_id = clip;
	snprintf(t.stage, sizeof(t.stage), "publish");
	t.attempts = attempt;
	t.max_attempts = 3;
	t.payload = json_loads(payload ? payload : "{}", 0, NULL);
	memset(&ctx, 0, sizeof(ctx));
	ctx.task = &t;
	ctx.store = st;
	ctx.scratch = scratch;
	ctx.fd = -1;
	err[0] = '\0';
	rc = stage_publish.run(&ctx, result, err, errlen);
	json_decref(t.payload);
	return rc;
}

static void
offline(void)
{
	char tmpl[] = "/tmp/s3_publish.XXXXXX", store_dir[600], scratch[600];
	char src[700], err[512], *dir;
	const char *vkey, *tkey, *vurl;
	struct store *st;
	json_t *res = NULL, *res2 = NULL;
	struct task tk;
	enum stage_rc rc;

	if ((dir = mkdtemp(tmpl)) == NULL) {
		ok(0, "temporary directory");
		return;
	}
	snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
	snprintf(scratch, sizeof(scratch), "%s/scratch", dir);
	mkdir(scratch, 0755);
	if (config_load("/dev/null", err, sizeof(err)) == -1 ||
	    (st = store_file_open(store_dir, "/files", err, sizeof(err))) == NULL) {
		ok(0, err);
		return;
	}
	mkdir_p(store_dir, 0755);
	snprintf(src, sizeof(src), "%s/jobs/7/render", store_dir);
	mkdir_p(src, 0755);
	snprintf(src, sizeof(src), "%s/jobs/7/render/3.mp4", store_dir);
	write_file(src, "video bytes");
	snprintf(src, sizeof(src), "%s/jobs/7/render/3.jpg", store_dir);
	write_file(src, "jpeg bytes");

	rc = run_task(st, scratch, 7, 3, 1, NULL, &res, err, sizeof(err));
	ok(rc == STAGE_OK, "publish copies a rendered clip");
	vkey = json_string_value(json_object_get(res, "video_key"));
	tkey = json_string_value(json_object_get(res, "thumb_key"));
	ok(vkey != NULL && tkey != NULL && token_key(vkey, "clips/7/3-", ".mp4")
	    && token_key(tkey, "clips/7/3-", ".jpg") && strncmp(vkey + 10,
	    tkey + 10, KEY_TOKEN_LEN) != 0 && exists(store_dir, vkey) &&
	    exists(store_dir, tkey), "final keys clips/7/3-TOKEN.mp4 and "
	    ".jpg exist, each with its own token (%s, %s)", vkey ? vkey : "-",
	    tkey ? tkey : "-");
	vurl = json_string_value(json_object_get(res, "video_url"));
	ok(vurl != NULL && vkey != NULL && strncmp(vurl, "/files/", 7) == 0 &&
	    strcmp(vurl + 7, vkey) == 0, "a lasting store URL is recorded (%s)",
	    vurl ? vurl : "-");
	ok(exists(store_dir, "jobs/7/render/3.mp4") &&
	    exists(store_dir, "jobs/7/render/3.jpg"),
	    "render keys kept until the keys are recorded");

	/* an attempt that died after copying: the retry copies again */
	rc = run_task(st, scratch, 7, 3, 2, NULL, &res2, err, sizeof(err));
	ok(rc == STAGE_OK && res2 != NULL && token_key(json_string_value(
	    json_object_get(res2, "video_key")), "clips/7/3-", ".mp4"),
	    "a retry after a half-finished attempt succeeds");
	memset(&tk, 0, sizeof(tk));
	tk.job_id = 7;
	tk.clip_id = 3;
	stage_publish.committed(st, &tk, res2);
	ok(!exists(store_dir, "jobs/7/render/3.mp4") &&
	    !exists(store_dir, "jobs/7/render/3.jpg"),
	    "committed(): render keys deleted");
	json_decref(res);
	json_decref(res2);
	res = NULL;

	snprintf(src, sizeof(src), "%s/jobs/7/render/4.mp4", store_dir);
	write_file(src, "video bytes");
	n_events = 0;
	rc = run_task(st, scratch, 7, 4, 1, NULL, &res, err, sizeof(err));
	ok(rc == STAGE_OK && json_is_null(json_object_get(res, "thumb_url"))
	    && n_events == 1 && strcmp(last_event, "fallback") == 0,
	    "no thumbnail: published without one, with a fallback event");
	json_decref(res);
	res = NULL;

	rc = run_task(st, scratch, 7, 5, 1, NULL, &res, err, sizeof(err));
	ok(rc == STAGE_PERMANENT && strstr(err, "jobs/7/render/5.mp4") != NULL
	    && strstr(err, "not in the store") != NULL && res == NULL,
	    "missing render: permanent, with a sentence naming the key");

	rc = run_task(st, scratch, 7, 6, 1, "{\"video_key\":\"jobs/8/render/6.mp4\"}",
	    &res, err, sizeof(err));
	ok(rc == STAGE_PERMANENT && strstr(err, "not one of this job's"),
	    "a payload key of another job is refused");
	rc = run_task(st, scratch, 7, 0, 1, NULL, &res, err, sizeof(err));
	ok(rc == STAGE_PERMANENT, "a task without a clip is refused");
	ok(exists(scratch, ".") && !exists(scratch, "publish.mp4"),
	    "scratch copies removed");
	store_close(st);
	{
		char a0[] = "rm", a1[] = "-rf";
		char *argv[] = { a0, a1, dir, NULL };
		pid_t pid = fork();

		if (pid == 0) {
			execv("/bin/rm", argv);
			_exit(127);
		}
		if (pid > 0)
			while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
				;
	}
}

int
main(int argc, char **argv)
{
	char err[1024] = "", *s;
	struct store *st;
	PGconn *c;
	long long job, clip, att, max;
	json_t *res = NULL;
	enum stage_rc rc;
	struct task t;
	int n;

	if (argc < 2) {
		offline();
		return tap_done();
	}
	if (config_load(NULL, err, sizeof(err)) == -1 ||
	    (st = store_open(err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 4;
	}
	if ((c = db_connect(err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 4;
	}
	if (strcmp(argv[1], "prune") == 0) {
		n = queue_prune(c, st, err, sizeof(err));
		if (n < 0)
			fprintf(stderr, "%s\n", err);
		else
			printf("%d\n", n);
		PQfinish(c);
		store_close(st);
		return n < 0 ? 2 : 0;
	}
	if (strcmp(argv[1], "run") != 0 || argc != 6 ||
	    parse_ll(argv[2], 1, INT64_MAX, &job) == -1 ||
	    parse_ll(argv[3], 1, INT64_MAX, &clip) == -1 ||
	    parse_ll(argv[4], 1, 100, &att) == -1 ||
	    parse_ll(argv[5], 1, 100, &max) == -1) {
		fprintf(stderr, "usage: s3_publish run JOB CLIP ATTEMPT MAX | prune\n");
		return 4;
	}
	{
		char scratch[] = "/tmp/s3_publish_scratch.XXXXXX";
		struct task_ctx ctx;

		if (mkdtemp(scratch) == NULL) {
			fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
			return 4;
		}
		memset(&t, 0, sizeof(t));
		t.id = 1;
		t.job_id = job;
		t.clip_id = clip;
		snprintf(t.stage, sizeof(t.stage), "publish");
		t.attempts = (int)att;
		t.max_attempts = (int)max;
		t.payload = json_object();
		memset(&ctx, 0, sizeof(ctx));
		ctx.task = &t;
		ctx.store = st;
		ctx.scratch = scratch;
		ctx.fd = -1;
		rc = stage_publish.run(&ctx, &res, err, sizeof(err));
		rmdir(scratch);
	}
	n = 0;
	switch (rc) {
	case STAGE_OK:
		s = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n", s ? s : "null");
		free(s);
		PQclear(PQexec(c, "BEGIN"));
		if (stage_publish.done(c, &t, res, err, sizeof(err)) == -1) {
			PQclear(PQexec(c, "ROLLBACK"));
			fprintf(stderr, "%s\n", err);
			n = 6;
		} else {
			PQclear(PQexec(c, "COMMIT"));
			stage_publish.committed(st, &t, res);
		}
		break;
	case STAGE_TRANSIENT:
		fprintf(stderr, "%s\n", err);
		n = 3;
		break;
	case STAGE_CANCELLED:
		n = 5;
		break;
	default:
		fprintf(stderr, "%s\n", err);
		n = 2;
	}
	json_decref(res);
	json_decref(t.payload);
	PQfinish(c);
	store_close(st);
	return n;
}
