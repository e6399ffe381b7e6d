/*
 * Stages that exist to exercise the queue and the runner (test_only: they
 * are refused unless cfg.test_stages is set).  When $CLIPMILL_TEST_LOG
 * names a file, each execution appends one line to it:
 *
 *   STAGE TASK ATTEMPT RUNNER_PID START_MS END_MS
 *
 * (the runner's pid, also for isolated stages; wall-clock milliseconds), which is how the tests count executions and
 * measure overlap independently of what the database says.
 *
 *   noop            in-process, batch claims: does nothing
 *   sleep           isolated: sleeps {"ms":N} in {"steps":S} steps,
 *                   reporting progress after each; the first attempt
 *                   {"first_ms":N} instead when given
 *   capped          sleep, with the concurrency cap cfg.cap_test
 *   fail_transient  isolated: fails transiently until attempt
 *                   {"succeed_on":N} (never when absent)
 *   fail_permanent  isolated: fails permanently with {"msg":...}
 *   crash           isolated: dies of SIGSEGV
 *   hang            isolated: {"mode":"sleep"} never returns, "spin" burns
 *                   CPU, "write" writes an endless file, "alloc" allocates
 *                   {"mb":N} MB
 *   fanout          in-process: done() adds {"n":N} clips and one
 *                   fanwork task each; clips listed in {"fail":[i,...]}
 *                   fail permanently; {"done_fails":true} makes
 *                   done() fail
 *   fanwork         isolated, per clip: marks its clip ready, or fails
 *   escape          isolated: plays a decoder bug gone bad.  Connects to
 *                   PostgreSQL with {"conninfo":...} and with what the
 *                   runner's configuration still holds, looks for an
 *                   inherited socket, opens a TCP socket, reads the
 *                   file {"read":...}, executes {"exec":...}; the result
 *                   and an "escape" event say how each attempt went
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "runner/stage.h"
#include "util.h"

static long long
wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Append this execution to $CLIPMILL_TEST_LOG (one write: atomic with
 * O_APPEND, so concurrent runners never interleave lines). */
static void
record(const struct task_ctx *ctx, long long start)
{
	const char *path = getenv("CLIPMILL_TEST_LOG");
	char line[256];
	int fd, n;

	if (path == NULL || *path == '\0')
		return;
	n = snprintf(line, sizeof(line), "%s %lld %d %ld %lld %lld\n",
	    ctx->task->stage, ctx->task->id, ctx->task->attempts,
	    (long)(ctx->fd >= 0 ? getppid() : getpid()), start, wall_ms());
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return;
	if (write(fd, line, (size_t)n) != n)
		(void)0;	/* a test log: nothing better to do */
	close(fd);
}

static long long
payload_int(const struct task_ctx *ctx, const char *key, long long def,
    long long min, long long max)
{
	json_t *v = json_object_get(ctx->task->payload, key);
	long long x;

	if (!json_is_integer(v))
		return def;
	x = json_integer_value(v);
	return x < min ? min : x > max ? max : x;
}

static void
sleep_ms(long long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static enum stage_rc
noop_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	(void)result;
	(void)err;
	(void)errlen;
	record(ctx, wall_ms());
	return STAGE_OK;
}

static enum stage_rc
sleep_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	long long ms = payload_int(ctx, "ms", 100, 0, 3600000);
	long long steps = payload_int(ctx, "steps", 10, 1, 100000);
	long long start = wall_ms(), i;

	if (ctx->task->attempts <= 1)
		ms = payload_int(ctx, "first_ms", ms, 0, 3600000);
	for (i = 1; i <= steps; i++) {
		sleep_ms(ms / steps);
		if (task_progress(ctx, (int)(i * 100 / steps), "step %lld of %lld",
		    i, steps)) {
			seterr(err, errlen, "Stopped: the job was cancelled.");
			return STAGE_CANCELLED;
		}
	}
	record(ctx, start);
	*result = json_pack("{sIsisi}", "slept_ms", ms, "pid", (int)getpid(),
	    "runner_pid", (int)getppid());
	return STAGE_OK;
}

static enum stage_rc
fail_transient_run(struct task_ctx *ctx, json_t **result, char *err,
    size_t errlen)
{
	long long on = payload_int(ctx, "succeed_on", 0, 0, 1000);

	record(ctx, wall_ms());
	if (on > 0 && ctx->task->attempts >= on) {
		*result = json_pack("{si}", "attempt", ctx->task->attempts);
		return STAGE_OK;
	}
	seterr(err, errlen, "Test failure on attempt %d (transient).",
	    ctx->task->attempts);
	return STAGE_TRANSIENT;
}

static enum stage_rc
fail_permanent_run(struct task_ctx *ctx, json_t **result, char *err,
    size_t errlen)
{
	const char *msg = json_string_value(json_object_get(ctx->task->payload,
	    "msg"));

	(void)result;
	record(ctx, wall_ms());
	seterr(err, errlen, "%s", msg ? msg : "This is not a video (test).");
	return STAGE_PERMANENT;
}

static enum stage_rc
crash_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	(void)result;
	(void)err;
	(void)errlen;
	record(ctx, wall_ms());
	raise(SIGSEGV);
	return STAGE_TRANSIENT;	/* not reached */
}

static enum stage_rc
hang_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const char *mode = json_string_value(json_object_get(ctx->task->payload,
	    "mode"));
	volatile unsigned long long spin = 0;
	char block[65536];
	long long mb, i;
	char *p;
	int fd;

	(void)result;
	record(ctx, wall_ms());
	if (mode == NULL || strcmp(mode, "sleep") == 0) {
		for (;;)
			sleep_ms(1000);
	}
	if (strcmp(mode, "spin") == 0) {
		for (;;)
			spin++;
	}
	if (strcmp(mode, "write") == 0) {
		memset(block, 'x', sizeof(block));
		if ((fd = open("big.bin", O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
			seterr(err, errlen, "Cannot create a file: %s.",
			    strerror(errno));
			return STAGE_TRANSIENT;
		}
		for (;;)
			if (write(fd, block, sizeof(block)) == -1) {
				seterr(err, errlen, "Cannot write: %s.",
				    strerror(errno));
				close(fd);
				return STAGE_TRANSIENT;
			}
	}
	if (strcmp(mode, "alloc") == 0) {
		mb = payload_int(ctx, "mb", 1024, 1, 1 << 20);
		if ((p = malloc((size_t)mb << 20)) == NULL) {
			seterr(err, errlen, "Could not allocate %lld MB (out of "
			    "memory).", mb);
			return STAGE_TRANSIENT;
		}
		for (i = 0; i < mb << 20; i += 4096)
			p[i] = 1;
		free(p);
		return STAGE_OK;
	}
	seterr(err, errlen, "Unknown hang mode \"%s\".", mode);
	return STAGE_PERMANENT;
}

static enum stage_rc
fanout_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	record(ctx, wall_ms());
	*result = json_pack("{sI}", "n", payload_int(ctx, "n", 3, 0, 100));
	task_event(ctx, "fallback", "Test event from the fanout stage.", NULL);
	return STAGE_OK;
}

/* One clip and one fanwork task per requested clip, in the completing
 * transaction, and one NOTIFY for the stage. */
static int
fanout_done(PGconn *c, const struct task *t, json_t *result, char *err,
    size_t errlen)
{
	json_t *fail = json_object_get(t->payload, "fail"), *pl, *v;
	long long n = json_integer_value(json_object_get(result, "n"));
	long long i, clip;
	const char *p[2];
	PGresult *r;
	size_t k;
	int fails;

	if (json_is_true(json_object_get(t->payload, "done_fails"))) {
		seterr(err, errlen, "the test asked done() to fail");
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct db_params dp = { 0 };

		p[0] = db_param_ll(&dp, t->job_id);
		p[1] = db_param_ll(&dp, i + 1);
		r = db_exec(c, err, errlen,
		    "INSERT INTO clips (job_id, rank, start_s, end_s, title)"
		    " VALUES ($1, $2::int, $2::int * 10, $2::int * 10 + 5,"
		    " 'test clip ' || $2) RETURNING id", 2, p);
		if (r == NULL)
			return -1;
		parse_ll(PQgetvalue(r, 0, 0), 1, INT64_MAX, &clip);
		PQclear(r);
		fails = 0;
		json_array_foreach(fail, k, v)
			if (json_integer_value(v) == i + 1)
				fails = 1;
		pl = json_pack("{sbsI}", "fail", fails, "ms",
		    json_integer_value(json_object_get(t->payload, "ms")));
		if (queue_add_task(c, t->job_id, clip, "fanwork", pl, err,
		    errlen) == -1) {
			json_decref(pl);
			return -1;
		}
		json_decref(pl);
	}
	return n > 0 ? queue_notify_stage(c, "fanwork", err, errlen) : 0;
}

static enum stage_rc
fanwork_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	long long start = wall_ms();

	sleep_ms(payload_int(ctx, "ms", 20, 0, 60000));
	record(ctx, start);
	if (json_is_true(json_object_get(ctx->task->payload, "fail"))) {
		seterr(err, errlen, "Test clip %lld could not be made "
		    "(permanent).", ctx->task->clip_id);
		return STAGE_PERMANENT;
	}
	*result = json_pack("{sI}", "clip", ctx->task->clip_id);
	return STAGE_OK;
}

static int
fanwork_done(PGconn *c, const struct task *t, json_t *result, char *err,
    size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[1] = { db_param_ll(&dp, t->clip_id) };
	json_t *ev;
	long long seq;

	(void)result;
	if (db_cmd(c, err, errlen, "UPDATE clips SET state = 'ready', "
	    "ready_at = now() WHERE id = $1", 1, p) == -1)
		return -1;
	ev = json_pack("{sI}", "clip", t->clip_id);
	seq = queue_event(c, t->job_id, "clip_ready", t->stage, ev, err, errlen);
	json_decref(ev);
	return seq < 0 ? -1 : 0;
}

/* "refused: why" or "allowed" for an attempt that failed with ERRNO
 * (0: it succeeded). */
static json_t *
attempt(int ok, const char *why)
{
	char s[512];

	if (ok)
		return json_string("allowed");
	snprintf(s, sizeof(s), "refused: %s", why);
	return json_string(s);
}

/* Connect to PostgreSQL with CONNINFO: allowed or refused. */
static json_t *
try_db(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	char why[256];
	json_t *v;
	size_t n;

	snprintf(why, sizeof(why), "%s", c ? PQerrorMessage(c) : "no memory");
	n = strlen(why);
	while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' '))
		why[--n] = '\0';
	v = attempt(c != NULL && PQstatus(c) == CONNECTION_OK, why);
	PQfinish(c);
	return v;
}

static enum stage_rc
escape_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const json_t *pl = ctx->task->payload;
	const char *conninfo = json_string_value(json_object_get(pl, "conninfo"));
	const char *rpath = json_string_value(json_object_get(pl, "read"));
	const char *xpath = json_string_value(json_object_get(pl, "exec"));
	char *const argv[] = { (char *)xpath, NULL };
	char *const envp[] = { NULL };
	struct stat sb;
	int fd, inherited = 0;
	char *s;

	(void)err;
	(void)errlen;
	record(ctx, wall_ms());
	*result = json_object();
	json_object_set_new(*result, "db", try_db(conninfo ? conninfo : ""));
	json_object_set_new(*result, "db_config", try_db(cfg.database_url));
	for (fd = 3; fd < 1024; fd++)
		if (fd != ctx->fd && fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode))
			inherited++;
	json_object_set_new(*result, "inherited_sockets", json_integer(inherited));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	json_object_set_new(*result, "socket", attempt(fd >= 0, strerror(errno)));
	if (fd >= 0)
		close(fd);
	fd = rpath ? open(rpath, O_RDONLY) : -1;
	json_object_set_new(*result, "read", attempt(fd >= 0, strerror(errno)));
	if (fd >= 0)
		close(fd);
	if (xpath != NULL)
		execve(xpath, argv, envp);
	json_object_set_new(*result, "exec", attempt(0, strerror(errno)));
	if ((s = json_dumps(*result, JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
		task_event(ctx, "escape", s, NULL);
		free(s);
	}
	return STAGE_OK;
}

/*                         name  isolated test batch cap  run  done  committed output */
const struct stage stage_test_noop = {
	"noop", 0, 1, 2048, NULL, noop_run, NULL, NULL, NULL };
const struct stage stage_test_sleep = {
	"sleep", 1, 1, 1, NULL, sleep_run, NULL, NULL, NULL };
const struct stage stage_test_capped = {
	"capped", 1, 1, 1, &cfg.cap_test, sleep_run, NULL, NULL, NULL };
const struct stage stage_test_transient = {
	"fail_transient", 1, 1, 1, NULL, fail_transient_run, NULL, NULL, NULL };
const struct stage stage_test_permanent = {
	"fail_permanent", 1, 1, 1, NULL, fail_permanent_run, NULL, NULL, NULL };
const struct stage stage_test_crash = {
	"crash", 1, 1, 1, NULL, crash_run, NULL, NULL, NULL };
const struct stage stage_test_hang = {
	"hang", 1, 1, 1, NULL, hang_run, NULL, NULL, NULL };
const struct stage stage_test_fanout = {
	"fanout", 0, 1, 1, NULL, fanout_run, fanout_done, NULL, NULL };
const struct stage stage_test_fanwork = {
	"fanwork", 1, 1, 1, NULL, fanwork_run, fanwork_done, NULL, NULL };
const struct stage stage_test_escape = {
	"escape", 1, 1, 1, NULL, escape_run, NULL, NULL, NULL };
