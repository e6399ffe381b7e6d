/*
 * The runner's SQL: claim, heartbeat, progress, complete, fail, hand back,
 * rescue and maintenance (see runner_sql.h).  Lock order: a job's row
 * before its running tasks' rows, everywhere but the claim, which only
 * locks pending tasks (which nothing else here locks).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "queue.h"
#include "runner_sql.h"
#include "stage.h"
#include "util.h"
#include "webhook.h"

#define LIVE "('pending', 'running')"

/* The runner's session advisory locks currently held in this database, as
 * bigint keys (pg_advisory_lock(bigint) shows as objsubid 1, the key split
 * into classid (high half) and objid (low half)). */
#define HELD_LOCKS \
	"SELECT (l.classid::bigint << 32) | l.objid::bigint FROM pg_locks l " \
	"WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted " \
	"AND l.database = (SELECT oid FROM pg_database " \
	"  WHERE datname = current_database())"

/* A running task needs rescue when its runner's lock is gone or its
 * heartbeat is older than the lease ($1 seconds), by the database clock. */
#define NEEDS_RESCUE \
	"(t.runner_lock IS NULL OR t.runner_lock NOT IN (" HELD_LOCKS ") " \
	" OR t.heartbeat_at IS NULL " \
	" OR t.heartbeat_at < now() - make_interval(secs => $1::float8))"

/* A transaction that records an outcome: durable even when the runner's
 * session commits asynchronously (see runner.c). */
static int
begin_durable(PGconn *c, char *err, size_t errlen)
{
	if (db_begin(c, err, errlen) == -1)
		return -1;
	return db_cmd(c, err, errlen, "SET LOCAL synchronous_commit = on", 0,
	    NULL);
}

/*
 * The hot statements (claim, batch complete, heartbeat, progress) are
 * prepared once per connection (db_exec_prepared): planning the claim
 * costs as much as running it.
 */
#define PS_CLAIM		"rq_claim"
#define PS_CLAIM_EVENT		"rq_claim_event"
#define PS_COMPLETE_BATCH	"rq_complete_batch"
#define PS_HEARTBEAT		"rq_heartbeat"
#define PS_PROGRESS		"rq_progress"

/* The parameters that name one claimed attempt of one task (the strings
 * point into dp: fill it in place, never copy it). */
struct match {
	struct db_params dp;
	const char	*id, *att, *job, *runner;
};

static void
match_fill(struct match *m, const struct runner_id *rid, const struct task *t)
{
	m->dp.n = 0;
	m->id = db_param_ll(&m->dp, t->id);
	m->att = db_param_ll(&m->dp, t->attempts);
	m->job = db_param_ll(&m->dp, t->job_id);
	m->runner = rid->name;
}

#define MATCH "id = $1 AND runner = $2 AND attempts = $3 AND state = 'running'"

int
rq_register(PGconn *c, struct runner_id *rid, char *err, size_t errlen)
{
	char host[64];
	const char *p[1];
	uint64_t r;
	PGresult *res;
	int i, got;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(rid->name, sizeof(rid->name), "%s:%ld", host, (long)getpid());
	for (i = 0; i < 8; i++) {
		struct db_params dp = { 0 };

		if (random_bytes(&r, sizeof(r)) == -1) {
			seterr(err, errlen, "cannot read random bytes");
			return -1;
		}
		/* 62 bits, never zero: far from the fixed keys
		 * (migrations, maintenance) by chance of 2^-62. */
		rid->lock = (long long)(r & 0x3fffffffffffffffULL) | 1;
		p[0] = db_param_ll(&dp, rid->lock);
		res = db_exec(c, err, errlen, "SELECT pg_try_advisory_lock($1::bigint)",
		    1, p);
		if (res == NULL)
			return -1;
		got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (got)
			return 0;
	}
	seterr(err, errlen, "could not take a runner lock");
	return -1;
}

/* 32-bit FNV-1a of "clipmill-cap:" STAGE, as the first advisory key. */
static int32_t
stage_hash(const char *stage)
{
	const char *pre = "clipmill-cap:", *s;
	uint32_t h = 2166136261u;

	for (s = pre; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	for (s = stage; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (int32_t)h;
}

int
rq_take_slot(PGconn *c, const char *stage, long long cap, char *err,
    size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[2];
	long long slot;
	PGresult *r;
	int rc = -2;

	p[0] = db_param_ll(&dp, stage_hash(stage));
	p[1] = db_param_ll(&dp, cap);
	/* The filter runs row by row under the LIMIT, so at most one slot
	 * lock is taken: the first free one. */
	r = db_exec(c, err, errlen,
	    "SELECT s FROM generate_series(0, $2::int - 1) s "
	    "WHERE pg_try_advisory_lock($1::int, s) LIMIT 1", 2, p);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1 &&
	    parse_ll(PQgetvalue(r, 0, 0), 0, INT32_MAX, &slot) == 0)
		rc = (int)slot;
	PQclear(r);
	return rc;
}

static const char claim_sql[] =
    "WITH c AS ("
    "  SELECT id FROM tasks"
    "  WHERE state = 'pending' AND stage = $1 AND run_after <= now()"
    "  ORDER BY priority, run_after, id"
    "  LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " t AS ("
    "  UPDATE tasks SET state = 'running', runner = $3, runner_lock = $4,"
    "   attempts = tasks.attempts + 1, heartbeat_at = now(),"
    "   started_at = now(), progress = 0, message = NULL"
    "  WHERE tasks.id = ANY (ARRAY(SELECT id FROM c))"
    "  RETURNING tasks.id, tasks.job_id, tasks.clip_id, tasks.attempts,"
    "   tasks.max_attempts, tasks.payload),"
    " j AS ("
    "  UPDATE jobs SET state = 'running', updated_at = now()"
    "  WHERE id = ANY (ARRAY(SELECT DISTINCT job_id FROM t))"
    "  AND state = 'pending')"
    /* the job's object once per job (rows are grouped by job): a
     * batch of a thousand tasks of one job builds and parses it once */
    "SELECT t.id, t.job_id, coalesce(t.clip_id, 0), t.attempts,"
    " t.max_attempts, t.payload, CASE WHEN row_number() OVER"
    " (PARTITION BY t.job_id ORDER BY t.id) = 1 THEN json_build_object("
    " 'id', jb.id, 'user_id', jb.user_id, 'source_kind', jb.source_kind,"
    " 'source_url', jb.source_url, 'source_key', jb.source_key,"
    " 'options', jb.options, 'probe', coalesce(jb.probe, '{}')) END "
    "FROM t JOIN jobs jb ON jb.id = t.job_id ORDER BY t.job_id, t.id";

/* One task, with a "stage_started" event on its job in the same
 * statement (the job row's last_seq gives the event its number). */
static const char claim_event_sql[] =
    "WITH c AS ("
    "  SELECT id FROM tasks"
    "  WHERE state = 'pending' AND stage = $1 AND run_after <= now()"
    "  ORDER BY priority, run_after, id"
    "  LIMIT 1 FOR UPDATE SKIP LOCKED),"
    " t AS ("
    "  UPDATE tasks SET state = 'running', runner = $3, runner_lock = $4,"
    "   attempts = tasks.attempts + 1, heartbeat_at = now(),"
    "   started_at = now(), progress = 0, message = NULL"
    "  WHERE tasks.id = ANY (ARRAY(SELECT id FROM c)) AND $2::int = 1"
    "  RETURNING tasks.id, tasks.job_id, tasks.clip_id, tasks.attempts,"
    "   tasks.max_attempts, tasks.payload),"
    " j AS ("
    "  UPDATE jobs SET state = CASE WHEN jobs.state = 'pending'"
    "   THEN 'running' ELSE jobs.state END,"
    "   last_seq = last_seq + 1, updated_at = now()"
    "  WHERE id IN (SELECT job_id FROM t)"
    "  RETURNING jobs.*),"
    " e AS ("
    "  INSERT INTO events (job_id, seq, kind, stage, data)"
    "  SELECT j.id, j.last_seq, 'stage_started', $1,"
    "   json_build_object('stage', $1::text, 'attempt', t.attempts)"
    "  FROM j JOIN t ON t.job_id = j.id)"
    "SELECT t.id, t.job_id, coalesce(t.clip_id, 0), t.attempts,"
    " t.max_attempts, t.payload, json_build_object('id', j.id,"
    " 'user_id', j.user_id, 'source_kind', j.source_kind,"
    " 'source_url', j.source_url, 'source_key', j.source_key,"
    " 'options', j.options, 'probe', coalesce(j.probe, '{}')),"
    " pg_notify('" CHAN_EVENTS "', j.id::text) "
    "FROM t JOIN j ON j.id = t.job_id";

/* Build a struct task from row I of a claim result; NULL when unreadable.
 * A NULL job column means "the same job as PREV". */
static struct task *
task_from_row(PGresult *r, int i, const char *stage, const struct task *prev)
{
	struct task *t;
	long long v[5];
	int k;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	for (k = 0; k < 5; k++)
		if (parse_ll(PQgetvalue(r, i, k), 0, INT64_MAX, &v[k]) == -1)
			goto bad;
	t->id = v[0];
	t->job_id = v[1];
	t->clip_id = v[2];
	t->attempts = (int)v[3];
	t->max_attempts = (int)v[4];
	snprintf(t->stage, sizeof(t->stage), "%s", stage);
	t->payload = json_loads(PQgetvalue(r, i, 5), 0, NULL);
	if (!PQgetisnull(r, i, 6))
		t->job = json_loads(PQgetvalue(r, i, 6), 0, NULL);
	else if (prev != NULL && prev->job_id == t->job_id)
		t->job = json_incref(prev->job);
	if (!json_is_object(t->payload) || !json_is_object(t->job))
		goto bad;
	return t;
bad:
	task_free(t);
	return NULL;
}

int
rq_claim(PGconn *c, const struct runner_id *rid, const char *stage, int n,
    int events, struct task **out, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[4];
	PGresult *r;
	int i, got = 0;

	if (events)
		n = 1;
	p[0] = stage;
	p[1] = db_param_ll(&dp, n);
	p[2] = rid->name;
	p[3] = db_param_ll(&dp, rid->lock);
	r = db_exec_prepared(c, err, errlen, events ? PS_CLAIM_EVENT : PS_CLAIM,
	    events ? claim_event_sql : claim_sql, 4, p);
	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r) && i < n; i++) {
		struct task *t = task_from_row(r, i, stage,
		    got > 0 ? out[got - 1] : NULL);
		/* A row we cannot read is still claimed by us: it will be
		 * rescued once we are gone, and is logged now. */
		if (t == NULL) {
			log_ev(LOG_ERROR, "claim_unreadable", "{ss}", "task",
			    PQgetvalue(r, i, 0));
			continue;
		}
		out[got++] = t;
	}
	PQclear(r);
	return got;
}

double
rq_next_due(PGconn *c, const char *const *stages, int nstages, char *err,
    size_t errlen)
{
	struct buf arr;
	const char *p[1];
	PGresult *r;
	double d = -1;
	int i;

	/* Stage names are [a-z0-9_] (the registry's), so a plain array
	 * literal is safe; it is still passed as a parameter. */
	buf_init(&arr, 4096);
	buf_addstr(&arr, "{");
	for (i = 0; i < nstages; i++) {
		if (i > 0)
			buf_addstr(&arr, ",");
		buf_printf(&arr, "\"%s\"", stages[i]);
	}
	if (buf_addstr(&arr, "}") == -1) {
		buf_free(&arr);
		seterr(err, errlen, "too many stages");
		return -1e9;
	}
	p[0] = arr.data;
	r = db_exec(c, err, errlen,
	    "SELECT extract(epoch FROM min(run_after) - now()) FROM tasks "
	    "WHERE state = 'pending' AND stage = ANY($1::text[])", 1, p);
	buf_free(&arr);
	if (r == NULL)
		return -1e9;
	if (PQgetisnull(r, 0, 0))
		d = -1;
	else if (parse_double(PQgetvalue(r, 0, 0), -1e12, 1e12, &d) == -1)
		d = 1;
	else if (d < 0)
		d = 0;
	PQclear(r);
	return d;
}

enum rq_state
rq_heartbeat(PGconn *c, const struct runner_id *rid, const struct task *t,
    char *err, size_t errlen)
{
	struct match m;
	const char *p[3];
	PGresult *r;
	enum rq_state st;

	match_fill(&m, rid, t);
	p[0] = m.id;
	p[1] = m.runner;
	p[2] = m.att;
	r = db_exec_prepared(c, err, errlen, PS_HEARTBEAT,
	    "UPDATE tasks SET heartbeat_at = now() WHERE " MATCH " RETURNING "
	    "(SELECT state IN " LIVE " FROM jobs WHERE jobs.id = tasks.job_id)"
	    /* a webhook delivery goes on after its job has ended */
	    " OR tasks.stage = '" WEBHOOK_STAGE "'",
	    3, p);
	if (r == NULL)
		return RQ_ERR;
	if (PQntuples(r) == 0)
		st = RQ_LOST;
	else
		st = strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? RQ_MINE : RQ_ENDED;
	PQclear(r);
	return st;
}

enum rq_state
rq_progress(PGconn *c, const struct runner_id *rid, const struct task *t,
    int pct, const char *msg, char *err, size_t errlen)
{
	struct match m;
	const char *p[6];
	PGresult *r;
	enum rq_state st;

	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	match_fill(&m, rid, t);
	p[0] = m.id;
	p[1] = m.runner;
	p[2] = m.att;
	p[3] = t->stage;
	p[4] = db_param_ll(&m.dp, pct);
	p[5] = msg;
	/* One statement: the task row, the event (numbered from the job
	 * row, which is only touched while the job is live), and one NOTIFY
	 * carrying only the job id.  A report that repeats the last one
	 * (a stage saying "still transcribing" every second) only
	 * heartbeats and checks the job: no event, no NOTIFY.  Every part
	 * of the statement sees the row as it was before the UPDATE. */
	r = db_exec_prepared(c, err, errlen, PS_PROGRESS,
	    "WITH o AS (SELECT progress IS DISTINCT FROM $5::int OR"
	    "  message IS DISTINCT FROM $6 AS changed FROM tasks WHERE id = $1),"
	    " t AS (UPDATE tasks SET progress = $5::int, message = $6,"
	    "  heartbeat_at = now() WHERE " MATCH " RETURNING job_id),"
	    " live AS (SELECT id FROM jobs WHERE id IN (SELECT job_id FROM t)"
	    "  AND state IN " LIVE "),"
	    " j AS (UPDATE jobs SET last_seq = last_seq + 1, updated_at = now()"
	    "  WHERE id IN (SELECT id FROM live) AND (SELECT changed FROM o)"
	    "  RETURNING id, last_seq),"
	    " e AS (INSERT INTO events (job_id, seq, kind, stage, data)"
	    "  SELECT id, last_seq, 'progress', $4, json_build_object("
	    "  'stage', $4::text, 'pct', $5::int, 'msg', $6::text) FROM j)"
	    "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM live),"
	    " (SELECT count(*) FROM (SELECT pg_notify('" CHAN_EVENTS "',"
	    " id::text) FROM j) n)", 6, p);
	if (r == NULL)
		return RQ_ERR;
	if (strcmp(PQgetvalue(r, 0, 0), "0") == 0)
		st = RQ_LOST;
	else if (strcmp(PQgetvalue(r, 0, 1), "0") == 0)
		st = RQ_ENDED;
	else
		st = RQ_MINE;
	PQclear(r);
	return st;
}

int
rq_task_event(PGconn *c, const struct task *t, const char *kind,
    const char *msg, json_t *data, char *err, size_t errlen)
{
	json_t *d;
	long long seq;

	d = json_is_object(data) ? json_deep_copy(data) : json_object();
	if (d == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (msg != NULL)
		json_object_set_new(d, "msg", json_string(msg));
	/* An event about one output of several names its own clip. */
	if (t->clip_id > 0 && json_object_get(d, "clip") == NULL)
		json_object_set_new(d, "clip", json_integer(t->clip_id));
	seq = queue_event(c, t->job_id, kind, t->stage, d, err, errlen);
	json_decref(d);
	return seq < 0 ? -1 : 0;
}

/* A webhook delivery: carried out whatever its job's state, and its
 * failure never fails the job. */
static int
is_webhook(const struct task *t)
{
	return strcmp(t->stage, WEBHOOK_STAGE) == 0;
}

/* In a transaction: lock job JOB and tell whether it is live: 1, 0 when
 * it has ended or is gone, -1 on error. */
static int
lock_job_live(PGconn *c, const char *job, char *err, size_t errlen)
{
	const char *p[1] = { job };
	PGresult *r;
	int live;

	r = db_exec(c, err, errlen, "SELECT state IN " LIVE " FROM jobs "
	    "WHERE id = $1 FOR UPDATE", 1, p);
	if (r == NULL)
		return -1;
	live = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return live;
}

int
rq_settle_job(PGconn *c, long long job_id, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[3];
	const char *state, *msg = NULL;
	long long n = 0, ready = 0;
	PGresult *r;
	json_t *ev, *which = NULL;
	int go;

	p[0] = db_param_ll(&dp, job_id);
	r = db_exec(c, err, errlen,
	    "SELECT j.state IN " LIVE " AND NOT EXISTS (SELECT 1 FROM tasks t"
	    "  WHERE t.job_id = j.id AND t.state IN " LIVE
	    /* webhook deliveries neither hold a job open nor end it */
	    "  AND t.stage <> '" WEBHOOK_STAGE "'),"
	    /* candidates the user did not choose (review) do not count */
	    " (SELECT count(*) FROM clips WHERE job_id = j.id"
	    "  AND state <> 'candidate'),"
	    " (SELECT count(*) FROM clips WHERE job_id = j.id AND state = 'ready'),"
	    /* which clips, so that the final event says so */
	    " (SELECT json_build_object("
	    "  'ready_clips', coalesce(json_agg(id ORDER BY rank, id)"
	    "   FILTER (WHERE state = 'ready'), '[]'),"
	    "  'failed_clips', coalesce(json_agg(id ORDER BY rank, id)"
	    "   FILTER (WHERE state <> 'ready'), '[]'))"
	    "  FROM clips WHERE job_id = j.id AND state <> 'candidate')"
	    " FROM jobs j WHERE j.id = $1", 1, p);
	if (r == NULL)
		return -1;
	go = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	if (go) {
		parse_ll(PQgetvalue(r, 0, 1), 0, INT64_MAX, &n);
		parse_ll(PQgetvalue(r, 0, 2), 0, INT64_MAX, &ready);
		which = json_loads(PQgetvalue(r, 0, 3), 0, NULL);
	}
	PQclear(r);
	if (!go)
		return 0;
	if (n == 0 || ready == n)
		state = "done";
	else if (ready > 0)
		state = "partial";
	else {
		state = "failed";
		msg = "No clip could be made.";
	}
	p[1] = state;
	p[2] = msg;
	if (db_cmd(c, err, errlen,
	    "UPDATE jobs SET state = $2, error = $3,"
	    /* the clock, not the transaction start: a concurrent task that
	     * ended while we waited for the job's lock ended before this */
	    " finished_at = clock_timestamp(), updated_at = now()"
	    " WHERE id = $1", 3, p) == -1)
		return -1;
	ev = json_pack("{sssIsI}", "state", state, "clips", n, "ready", ready);
	if (which != NULL) {
		json_object_update(ev, which);
		json_decref(which);
	}
	if (msg != NULL)
		json_object_set_new(ev, "error", json_string(msg));
	else if (n > 0) {
		char sentence[128];

		if (ready == n && n == 1)
			snprintf(sentence, sizeof(sentence),
			    "The clip is ready.");
		else if (ready == n)
			snprintf(sentence, sizeof(sentence),
			    "All %lld clips are ready.", n);
		else
			snprintf(sentence, sizeof(sentence), "%lld of %lld "
			    "clips are ready; the others failed.", ready, n);
		json_object_set_new(ev, "msg", json_string(sentence));
	}
	n = queue_event(c, job_id, strcmp(state, "failed") == 0 ? "failed" :
	    "done", NULL, ev, err, errlen);
	if (n >= 0 && webhook_enqueue(c, job_id, strcmp(state, "failed") == 0 ?
	    "job.failed" : "job.done", n, ev, err, errlen) == -1)
		n = -1;
	json_decref(ev);
	return n < 0 ? -1 : 0;
}

enum rq_state
rq_output(PGconn *c, const struct runner_id *rid, const struct stage *st,
    const struct task *t, json_t *data, char *err, size_t errlen)
{
	struct match m;
	const char *p[3];
	long long k;
	int live;

	if (st == NULL || st->output == NULL)
		return RQ_MINE;
	match_fill(&m, rid, t);
	if (begin_durable(c, err, errlen) == -1)
		goto fail;
	if ((live = lock_job_live(c, m.job, err, errlen)) == -1)
		goto fail;
	if (!live) {
		db_rollback(c);
		return RQ_ENDED;
	}
	p[0] = m.id;
	p[1] = m.runner;
	p[2] = m.att;
	if ((k = db_count(c, err, errlen, "SELECT 1 FROM tasks WHERE " MATCH
	    " FOR UPDATE", 3, p)) == -1)
		goto fail;
	if (k == 0) {
		db_rollback(c);
		return RQ_LOST;
	}
	if (st->output(c, t, data, err, errlen) == -1 ||
	    db_commit(c, err, errlen) == -1)
		goto fail;
	return RQ_MINE;
fail:
	db_rollback(c);
	return RQ_ERR;
}

enum rq_state
rq_complete(PGconn *c, const struct runner_id *rid, const struct stage *st,
    const struct task *t, json_t *result, long long ms, int events,
    char *err, size_t errlen)
{
	struct match m;
	const char *p[5];
	char *res = NULL;
	long long k;
	int live;
	json_t *ev;

	match_fill(&m, rid, t);
	if (result != NULL && (res = json_dumps(result, JSON_COMPACT)) == NULL) {
		seterr(err, errlen, "out of memory");
		return RQ_ERR;
	}
	if (begin_durable(c, err, errlen) == -1)
		goto fail;
	if ((live = lock_job_live(c, m.job, err, errlen)) == -1)
		goto fail;
	if (is_webhook(t))
		live = 1;
	p[0] = m.id;
	p[1] = m.runner;
	p[2] = m.att;
	p[3] = live ? "done" : "cancelled";
	p[4] = res;
	k = db_count(c, err, errlen,
	    "UPDATE tasks SET state = $4, result = $5::jsonb,"
	    " progress = CASE WHEN $4 = 'done' THEN 100 ELSE progress END,"
	    " finished_at = now(), heartbeat_at = NULL, error = NULL"
	    " WHERE " MATCH, 5, p);
	if (k == -1)
		goto fail;
	if (k == 0) {
		db_rollback(c);
		free(res);
		return RQ_LOST;
	}
	if (live) {
		if (st->done != NULL && st->done(c, t, result, err, errlen) == -1)
			goto fail;
		if (events) {
			ev = json_pack("{sssisI}", "stage", t->stage, "attempt",
			    t->attempts, "ms", ms);
			if (t->clip_id > 0)
				json_object_set_new(ev, "clip",
				    json_integer(t->clip_id));
			k = queue_event(c, t->job_id, "stage_done", t->stage, ev,
			    err, errlen);
			json_decref(ev);
			if (k < 0)
				goto fail;
		}
		if (rq_settle_job(c, t->job_id, err, errlen) == -1)
			goto fail;
	}
	if (db_commit(c, err, errlen) == -1)
		goto fail;
	free(res);
	return live ? RQ_MINE : RQ_ENDED;
fail:
	db_rollback(c);
	free(res);
	return RQ_ERR;
}

int
rq_complete_batch(PGconn *c, const struct runner_id *rid,
    struct task *const *tasks, int n, char *err, size_t errlen)
{
	struct buf ids, atts;
	const char *p[3];
	PGresult *r = NULL;
	long long done = 0, k, jid;
	int i;

	buf_init(&ids, 0);
	buf_init(&atts, 0);
	buf_addstr(&ids, "{");
	buf_addstr(&atts, "{");
	for (i = 0; i < n; i++) {
		buf_printf(&ids, "%s%lld", i ? "," : "", tasks[i]->id);
		buf_printf(&atts, "%s%d", i ? "," : "", tasks[i]->attempts);
	}
	if (buf_addstr(&ids, "}") == -1 || buf_addstr(&atts, "}") == -1) {
		seterr(err, errlen, "out of memory");
		done = -1;
		goto out;
	}
	p[0] = ids.data;
	p[1] = atts.data;
	p[2] = rid->name;
	if (begin_durable(c, err, errlen) == -1)
		goto fail;
	r = db_exec_prepared(c, err, errlen, PS_COMPLETE_BATCH,
	    "WITH d AS (UPDATE tasks SET state = 'done', progress = 100,"
	    "  finished_at = now(), heartbeat_at = NULL"
	    "  FROM unnest($1::bigint[], $2::int[]) AS u(id, att)"
	    /* id = ANY: reach the rows by primary key, never by a
	     * scan of the whole table (the planner cannot see how
	     * many rows unnest() gives) */
	    "  WHERE tasks.id = ANY ($1::bigint[])"
	    "  AND tasks.id = u.id AND tasks.attempts = u.att"
	    "  AND tasks.runner = $3 AND tasks.state = 'running'"
	    "  RETURNING tasks.job_id)"
	    "SELECT job_id, count(*) FROM d GROUP BY job_id ORDER BY job_id",
	    3, p);
	if (r == NULL)
		goto fail;
	/* Fan-in: lock each job touched, in id order, then look again with a
	 * fresh snapshot, so that of two runners finishing a job's last
	 * tasks at the same moment, the later one settles it. */
	for (i = 0; i < PQntuples(r); i++) {
		const char *jp[1];

		if (parse_ll(PQgetvalue(r, i, 1), 0, INT64_MAX, &k) == 0)
			done += k;
		if (parse_ll(PQgetvalue(r, i, 0), 1, INT64_MAX, &jid) == -1)
			continue;
		jp[0] = PQgetvalue(r, i, 0);
		if (lock_job_live(c, jp[0], err, errlen) == -1 ||
		    rq_settle_job(c, jid, err, errlen) == -1)
			goto fail;
	}
	PQclear(r);
	r = NULL;
	if (db_commit(c, err, errlen) == -1)
		goto fail;
	goto out;
fail:
	PQclear(r);
	db_rollback(c);
	done = -1;
out:
	buf_free(&ids);
	buf_free(&atts);
	return (int)done;
}

double
rq_backoff(double base, int attempts)
{
	uint32_t r = 0;
	double d;

	if (attempts < 1)
		attempts = 1;
	if (attempts > 30)
		attempts = 30;
	d = base * ldexp(1.0, attempts - 1);
	random_bytes(&r, sizeof(r));
	return d + d * ((double)r / 4294967296.0);
}

/* In a transaction: a webhook delivery (already marked failed) is given
 * up, with an event saying so.  0 or -1. */
static int
webhook_gave_up(PGconn *c, const struct task *t, const char *msg, char *err,
    size_t errlen)
{
	const char *type = json_string_value(json_object_get(t->payload,
	    "type"));
	char sentence[768];
	json_t *ev;
	long long k;

	snprintf(sentence, sizeof(sentence), "Gave up delivering the webhook "
	    "%s after %d attempt%s: %s", type != NULL ? type : "event",
	    t->attempts, t->attempts == 1 ? "" : "s", msg);
	/* (a rescued task comes without its payload) */
	ev = json_pack("{sssO?sO?siss}", "stage", t->stage, "type",
	    json_object_get(t->payload, "type"), "url",
	    json_object_get(t->payload, "url"), "attempt", t->attempts,
	    "error", msg);
	if (ev == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	json_object_set_new(ev, "msg", json_string(sentence));
	k = queue_event(c, t->job_id, "webhook_failed", t->stage, ev, err,
	    errlen);
	json_decref(ev);
	return k < 0 ? -1 : 0;
}

/* In a transaction with the job locked and live: the task (still ours,
 * MATCH in P[0..2]) fails for good with MSG.  A job-level task fails its
 * job (and cancels the job's other pending tasks); a per-clip task fails
 * its clip and the job settles.  0, 1 when not ours, -1. */
/* In the failing transaction: the other clips task T makes (its
 * payload's "outputs": a render of several aspects) fail with it, those
 * not yet rendered, each with a "clip_failed" event.  0/-1. */
static int
fail_outputs(PGconn *c, const struct task *t, const char *msg, char *err,
    size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[3];
	PGresult *r;
	json_t *ev;
	int i, rc = 0;

	p[0] = db_param_ll(&dp, t->id);
	p[1] = db_param_ll(&dp, t->clip_id);
	p[2] = msg;
	r = db_exec(c, err, errlen,
	    "UPDATE clips SET state = 'failed', error = $3"
	    " WHERE id <> $2 AND state IN ('pending', 'rendering')"
	    " AND job_id = (SELECT job_id FROM tasks WHERE id = $1)"
	    " AND id IN (SELECT (o->>'clip_id')::bigint FROM tasks k,"
	    "  jsonb_array_elements(CASE WHEN jsonb_typeof(k.payload->'outputs')"
	    "  = 'array' THEN k.payload->'outputs' ELSE '[]' END) o"
	    "  WHERE k.id = $1 AND o->>'clip_id' ~ '^[0-9]{1,18}$')"
	    " RETURNING id", 3, p);
	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r) && rc == 0; i++) {
		long long id = 0;

		parse_ll(PQgetvalue(r, i, 0), 1, INT64_MAX, &id);
		ev = json_pack("{sssssisI}", "stage", t->stage, "error", msg,
		    "attempt", t->attempts, "clip", (json_int_t)id);
		if (queue_event(c, t->job_id, "clip_failed", t->stage, ev, err,
		    errlen) < 0)
			rc = -1;
		json_decref(ev);
	}
	PQclear(r);
	return rc;
}

static int
fail_for_good(PGconn *c, const struct task *t, const char *const *mp,
    const char *msg, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[4];
	long long k;
	json_t *ev;

	p[0] = mp[0];
	p[1] = mp[1];
	p[2] = mp[2];
	p[3] = msg;
	k = db_count(c, err, errlen,
	    "UPDATE tasks SET state = 'failed', error = $4, finished_at = now(),"
	    " heartbeat_at = NULL WHERE " MATCH, 4, p);
	if (k <= 0)
		return k == 0 ? 1 : -1;
	if (is_webhook(t))
		return webhook_gave_up(c, t, msg, err, errlen);
	ev = json_pack("{sssssi}", "stage", t->stage, "error", msg, "attempt",
	    t->attempts);
	if (t->clip_id <= 0) {
		const char *jp[2];

		jp[0] = db_param_ll(&dp, t->job_id);
		jp[1] = msg;
		if (db_cmd(c, err, errlen,
		    "UPDATE jobs SET state = 'failed', error = $2,"
		    " finished_at = now(), updated_at = now() WHERE id = $1",
		    2, jp) == -1 ||
		    db_cmd(c, err, errlen,
		    "UPDATE tasks SET state = 'cancelled', finished_at = now()"
		    " WHERE job_id = $1 AND state = 'pending'"
		    " AND stage <> '" WEBHOOK_STAGE "'", 1, jp) == -1 ||
		    (k = queue_event(c, t->job_id, "failed", t->stage, ev, err,
		    errlen)) < 0 ||
		    webhook_enqueue(c, t->job_id, "job.failed", k, ev, err,
		    errlen) == -1) {
			json_decref(ev);
			return -1;
		}
		json_decref(ev);
		return 0;
	}
	p[0] = db_param_ll(&dp, t->clip_id);
	p[1] = msg;
	json_object_set_new(ev, "clip", json_integer(t->clip_id));
	if (db_cmd(c, err, errlen, "UPDATE clips SET state = 'failed', "
	    "error = $2 WHERE id = $1", 2, p) == -1 ||
	    queue_event(c, t->job_id, "clip_failed", t->stage, ev, err,
	    errlen) < 0 ||
	    fail_outputs(c, t, msg, err, errlen) == -1 ||
	    rq_settle_job(c, t->job_id, err, errlen) == -1) {
		json_decref(ev);
		return -1;
	}
	json_decref(ev);
	return 0;
}

/* In a transaction with the job locked and live: back to pending after a
 * backoff (DELAY seconds), with a "retry" event.  0, 1 when not ours. */
static int
retry_later(PGconn *c, const struct task *t, const char *const *mp,
    const char *msg, double delay, char *err, size_t errlen)
{
	const char *p[5];
	char d[32];
	long long k;
	json_t *ev;

	snprintf(d, sizeof(d), "%.3f", delay);
	p[0] = mp[0];
	p[1] = mp[1];
	p[2] = mp[2];
	p[3] = msg;
	p[4] = d;
	k = db_count(c, err, errlen,
	    "UPDATE tasks SET state = 'pending', error = $4,"
	    " run_after = now() + make_interval(secs => $5::float8),"
	    " runner = NULL, runner_lock = NULL, heartbeat_at = NULL,"
	    " progress = 0, message = NULL WHERE " MATCH, 5, p);
	if (k <= 0)
		return k == 0 ? 1 : -1;
	ev = json_pack("{sssssisf}", "stage", t->stage, "error", msg,
	    "attempt", t->attempts, "delay_s", delay);
	if (t->clip_id > 0)
		json_object_set_new(ev, "clip", json_integer(t->clip_id));
	k = queue_event(c, t->job_id, "retry", t->stage, ev, err, errlen);
	json_decref(ev);
	return k < 0 ? -1 : 0;
}

/* In a transaction, the job locked and ended: the task is cancelled. */
static int
mark_cancelled(PGconn *c, const char *const *mp, char *err, size_t errlen)
{
	long long k = db_count(c, err, errlen,
	    "UPDATE tasks SET state = 'cancelled', finished_at = now(),"
	    " heartbeat_at = NULL WHERE " MATCH, 3, mp);

	return k <= 0 ? (k == 0 ? 1 : -1) : 0;
}

enum rq_state
rq_fail(PGconn *c, const struct runner_id *rid, const struct task *t,
    int permanent, const char *msg, char *err, size_t errlen)
{
	struct match m;
	const char *mp[3];
	int live, rc;

	match_fill(&m, rid, t);
	mp[0] = m.id;
	mp[1] = m.runner;
	mp[2] = m.att;
	if (msg == NULL || *msg == '\0')
		msg = "The step failed for an unknown reason.";
	if (begin_durable(c, err, errlen) == -1)
		goto fail;
	if ((live = lock_job_live(c, m.job, err, errlen)) == -1)
		goto fail;
	if (is_webhook(t))
		live = 1;
	if (!live)
		rc = mark_cancelled(c, mp, err, errlen);
	else if (!permanent && t->attempts < t->max_attempts)
		rc = retry_later(c, t, mp, msg,
		    rq_backoff(cfg.retry_base, t->attempts), err, errlen);
	else
		rc = fail_for_good(c, t, mp, msg, err, errlen);
	if (rc == -1)
		goto fail;
	if (rc == 1) {
		db_rollback(c);
		return RQ_LOST;
	}
	if (db_commit(c, err, errlen) == -1)
		goto fail;
	return live ? RQ_MINE : RQ_ENDED;
fail:
	db_rollback(c);
	return RQ_ERR;
}

enum rq_state
rq_cancelled(PGconn *c, const struct runner_id *rid, const struct task *t,
    char *err, size_t errlen)
{
	struct match m;
	const char *mp[3];
	int rc;

	match_fill(&m, rid, t);
	mp[0] = m.id;
	mp[1] = m.runner;
	mp[2] = m.att;
	rc = mark_cancelled(c, mp, err, errlen);
	return rc == -1 ? RQ_ERR : rc == 1 ? RQ_LOST : RQ_MINE;
}

enum rq_state
rq_hand_back(PGconn *c, const struct runner_id *rid, const struct task *t,
    char *err, size_t errlen)
{
	struct match m;
	const char *p[4];
	long long k;

	match_fill(&m, rid, t);
	p[0] = m.id;
	p[1] = m.runner;
	p[2] = m.att;
	p[3] = t->stage;
	/* Not the task's fault: the attempt is not counted. */
	k = db_count(c, err, errlen,
	    "WITH t AS (UPDATE tasks SET state = 'pending',"
	    "  attempts = attempts - 1, run_after = now(), runner = NULL,"
	    "  runner_lock = NULL, heartbeat_at = NULL, progress = 0,"
	    "  message = NULL WHERE " MATCH " RETURNING id)"
	    "SELECT pg_notify('" CHAN_TASKS "', $4) FROM t", 4, p);
	return k < 0 ? RQ_ERR : k == 0 ? RQ_LOST : RQ_MINE;
}

/* In the maintenance transaction: rescue one candidate row I of R. */
static int
rescue_one(PGconn *c, PGresult *r, int i, const char *lease, char *err,
    size_t errlen)
{
	struct task t;
	long long v[5];
	const char *p[4];
	char msg[256];
	int k, live, dead, rc;

	memset(&t, 0, sizeof(t));
	for (k = 0; k < 5; k++)
		if (parse_ll(PQgetvalue(r, i, k), 0, INT64_MAX, &v[k]) == -1)
			return 0;
	t.id = v[0];
	t.job_id = v[1];
	t.clip_id = v[2];
	t.attempts = (int)v[3];
	t.max_attempts = (int)v[4];
	snprintf(t.stage, sizeof(t.stage), "%s", PQgetvalue(r, i, 5));
	dead = strcmp(PQgetvalue(r, i, 7), "t") == 0;
	if (dead)
		snprintf(msg, sizeof(msg), "The runner working on this step "
		    "stopped.");
	else
		snprintf(msg, sizeof(msg), "The runner working on this step "
		    "stopped responding for more than %s s.", lease);
	if ((live = lock_job_live(c, PQgetvalue(r, i, 1), err, errlen)) == -1)
		return -1;
	if (is_webhook(&t))
		live = 1;
	/* Look again under the job's lock: the runner may have finished,
	 * or heartbeated, in the meantime. */
	p[0] = lease;
	p[1] = PQgetvalue(r, i, 0);
	p[2] = PQgetvalue(r, i, 6);
	p[3] = PQgetvalue(r, i, 3);
	{
		PGresult *q = db_exec(c, err, errlen,
		    "SELECT 1 FROM tasks t WHERE t.id = $2 AND t.runner = $3"
		    " AND t.attempts = $4 AND t.state = 'running' AND "
		    NEEDS_RESCUE " FOR UPDATE", 4, p);
		if (q == NULL)
			return -1;
		k = PQntuples(q);
		PQclear(q);
		if (k == 0)
			return 0;
	}
	{
		const char *mp[3] = { p[1], p[2], p[3] };

		if (!live)
			rc = mark_cancelled(c, mp, err, errlen);
		else if (t.attempts < t.max_attempts)
			rc = retry_later(c, &t, mp, msg, 0, err, errlen);
		else {
			snprintf(msg, sizeof(msg), "The step was interrupted "
			    "%d times (its runner stopped each time).",
			    t.attempts);
			rc = fail_for_good(c, &t, mp, msg, err, errlen);
		}
	}
	if (rc == -1)
		return -1;
	log_ev(LOG_WARN, "task_rescued", "{sIsIsssisbss}", "task", t.id, "job",
	    t.job_id, "stage", t.stage, "attempt", t.attempts, "runner_gone",
	    dead, "runner", PQgetvalue(r, i, 6));
	return rc == 0;
}

/* In a transaction: take the maintenance lock; 1, 0 when held elsewhere. */
static int
maint_lock(PGconn *c, char *err, size_t errlen)
{
	PGresult *r = db_exec(c, err, errlen,
	    "SELECT pg_try_advisory_xact_lock(" MAINT_LOCK ")", 0, NULL);
	int got;

	if (r == NULL)
		return -1;
	got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return got;
}

/* In the maintenance transaction: rescue every candidate; count or -1. */
static int
rescue_all(PGconn *c, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[1] = { db_param_ll(&dp, cfg.lease) };
	PGresult *r, *s;
	int i, n = 0, k;

	r = db_exec(c, err, errlen,
	    "SELECT t.id, t.job_id, coalesce(t.clip_id, 0), t.attempts,"
	    " t.max_attempts, t.stage, t.runner,"
	    " t.runner_lock IS NULL OR t.runner_lock NOT IN (" HELD_LOCKS ")"
	    " FROM tasks t WHERE t.state = 'running' AND " NEEDS_RESCUE
	    " ORDER BY t.id LIMIT 1000", 1, p);
	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		if ((k = rescue_one(c, r, i, p[0], err, errlen)) == -1) {
			PQclear(r);
			return -1;
		}
		n += k;
	}
	/* Wake idle runners of the stages that got work back. */
	if (n > 0) {
		for (i = 0; i < PQntuples(r); i++) {
			const char *sp[1] = { PQgetvalue(r, i, 5) };
			s = db_exec(c, err, errlen, "SELECT pg_notify('"
			    CHAN_TASKS "', $1)", 1, sp);
			if (s == NULL) {
				PQclear(r);
				return -1;
			}
			PQclear(s);
		}
	}
	PQclear(r);
	return n;
}

int
rq_rescue(PGconn *c, char *err, size_t errlen)
{
	int got, n;

	if (db_begin(c, err, errlen) == -1)
		return -1;
	if ((got = maint_lock(c, err, errlen)) != 1) {
		db_rollback(c);
		return got == 0 ? -2 : -1;
	}
	if ((n = rescue_all(c, err, errlen)) == -1 ||
	    db_commit(c, err, errlen) == -1) {
		db_rollback(c);
		return -1;
	}
	return n;
}

int
rq_maintenance(PGconn *c, struct store *st, int *rescued, int *pruned,
    char *err, size_t errlen)
{
	PGresult *r;
	long long jid;
	int got, i;

	*rescued = *pruned = 0;
	if (db_begin(c, err, errlen) == -1)
		return -1;
	if ((got = maint_lock(c, err, errlen)) != 1) {
		db_rollback(c);
		return got == 0 ? -2 : -1;
	}
	if ((*rescued = rescue_all(c, err, errlen)) == -1)
		goto fail;
	/* Live jobs with no live task left (a settle that never ran, say
	 * after a manual change) are settled now. */
	r = db_exec(c, err, errlen,
	    "SELECT id FROM jobs j WHERE state IN " LIVE " AND NOT EXISTS"
	    " (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state IN "
	    LIVE ") ORDER BY id", 0, NULL);
	if (r == NULL)
		goto fail;
	for (i = 0; i < PQntuples(r); i++) {
		if (parse_ll(PQgetvalue(r, i, 0), 1, INT64_MAX, &jid) == -1)
			continue;
		if (lock_job_live(c, PQgetvalue(r, i, 0), err, errlen) == -1 ||
		    rq_settle_job(c, jid, err, errlen) == -1) {
			PQclear(r);
			goto fail;
		}
	}
	PQclear(r);
	/* Pruning deletes stored objects before rows; it runs inside the
	 * locked transaction so that two maintenance runs never race. */
	if ((*pruned = queue_prune(c, st, err, errlen)) == -1)
		goto fail;
	if (db_commit(c, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(c);
	return -1;
}
