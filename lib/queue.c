/*
 * The queue's SQL for submitting jobs, adding tasks and events, and for
 * cancel and retry.  The runner's side (claim, heartbeat, complete, fail,
 * rescue, maintenance) is in runner_sql.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "queue.h"
#include "util.h"

void
task_free(struct task *t)
{
	if (t == NULL)
		return;
	json_decref(t->payload);
	json_decref(t->job);
	free(t);
}

long long
queue_reserve_job_id(PGconn *c, char *err, size_t errlen)
{
	PGresult *r;
	long long id = -1;

	r = db_exec(c, err, errlen, "SELECT nextval('jobs_id_seq')", 0, NULL);
	if (r == NULL)
		return -1;
	if (parse_ll(PQgetvalue(r, 0, 0), 1, INT64_MAX, &id) == -1)
		seterr(err, errlen, "unreadable job id");
	PQclear(r);
	return id;
}

int
queue_add_task(PGconn *c, long long job_id, long long clip_id,
    const char *stage, json_t *payload, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[5];
	char *pl;
	int rc;

	/* (a json_object() made here for NULL would leak) */
	pl = payload ? json_dumps(payload, JSON_COMPACT) : strdup("{}");
	if (pl == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	p[0] = db_param_ll(&dp, job_id);
	p[1] = clip_id > 0 ? db_param_ll(&dp, clip_id) : NULL;
	p[2] = stage;
	p[3] = pl;
	/* max_attempts is taken from the configuration at insert time, so a
	 * changed setting applies to new tasks only. */
	p[4] = db_param_ll(&dp, cfg.max_attempts > 0 ? cfg.max_attempts : 3);
	rc = db_cmd(c, err, errlen,
	    "INSERT INTO tasks (job_id, clip_id, stage, payload, max_attempts) "
	    "VALUES ($1, $2, $3, $4::jsonb, $5)", 5, p);
	free(pl);
	return rc;
}

int
queue_notify_stage(PGconn *c, const char *stage, char *err, size_t errlen)
{
	const char *p[1] = { stage };

	return db_cmd(c, err, errlen,
	    "SELECT pg_notify('" CHAN_TASKS "', $1)", 1, p);
}

long long
queue_event(PGconn *c, long long job_id, const char *kind, const char *stage,
    json_t *data, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[4];
	char *d = NULL;
	PGresult *r;
	long long seq = -1;

	if (data != NULL && (d = json_dumps(data, JSON_COMPACT)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	p[0] = db_param_ll(&dp, job_id);
	p[1] = kind;
	p[2] = stage;
	p[3] = d;
	/* The job row's lock makes seq gap-free and in commit order per job,
	 * which is what lets a long-poll reader ask for "after SEQ". */
	r = db_exec(c, err, errlen,
	    "WITH j AS (UPDATE jobs SET last_seq = last_seq + 1, "
	    "  updated_at = now() WHERE id = $1 RETURNING id, last_seq) "
	    "INSERT INTO events (job_id, seq, kind, stage, data) "
	    "SELECT id, last_seq, $2, $3, $4::jsonb FROM j "
	    "RETURNING seq, pg_notify('" CHAN_EVENTS "', $1::text)", 4, p);
	free(d);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		seterr(err, errlen, "no job %lld", job_id);
	else if (parse_ll(PQgetvalue(r, 0, 0), 1, INT32_MAX, &seq) == -1)
		seterr(err, errlen, "unreadable event seq");
	PQclear(r);
	return seq;
}

long long
queue_submit(PGconn *c, long long job_id, long long user_id,
    const char *source_kind, const char *source_url, const char *source_key,
    const char *source_name, json_t *options, const char *first_stage,
    char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[7];
	char *opts;
	PGresult *r;
	long long id = -1;
	json_t *ev;

	if (first_stage == NULL)
		first_stage = "fetch";
	if ((opts = options ? json_dumps(options, JSON_COMPACT) :
	    strdup("{}")) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	p[0] = job_id > 0 ? db_param_ll(&dp, job_id) : NULL;
	p[1] = db_param_ll(&dp, user_id);
	p[2] = source_kind;
	p[3] = source_url;
	p[4] = source_key;
	p[5] = opts;
	p[6] = source_name;
	if (db_begin(c, err, errlen) == -1)
		goto out;
	r = db_exec(c, err, errlen,
	    "INSERT INTO jobs (id, user_id, source_kind, source_url, source_key,"
	    " options, source_name) VALUES (coalesce($1::bigint,"
	    " nextval('jobs_id_seq')), $2, $3, $4, $5, $6::jsonb, $7)"
	    " RETURNING id", 7, p);
	if (r == NULL)
		goto fail;
	parse_ll(PQgetvalue(r, 0, 0), 1, INT64_MAX, &id);
	PQclear(r);
	ev = json_pack("{ss*ss*}", "url", source_url, "upload", source_key);
	if (queue_add_task(c, id, 0, first_stage, NULL, err, errlen) == -1 ||
	    queue_event(c, id, "submitted", NULL, ev, err, errlen) == -1 ||
	    queue_notify_stage(c, first_stage, err, errlen) == -1) {
		json_decref(ev);
		goto fail;
	}
	json_decref(ev);
	if (db_commit(c, err, errlen) == -1)
		goto fail;
	goto out;
fail:
	db_rollback(c);
	id = -1;
out:
	free(opts);
	return id;
}

/* Lock job JOB_ID (when it is USER_ID's, or anyone's for 0) and copy its
 * state into STATE.  0, 1 when there is no such job, or -1. */
static int
lock_job(PGconn *c, long long job_id, long long user_id, char *state,
    size_t statelen, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[2];
	PGresult *r;

	p[0] = db_param_ll(&dp, job_id);
	p[1] = db_param_ll(&dp, user_id);
	r = db_exec(c, err, errlen,
	    "SELECT state FROM jobs WHERE id = $1 AND ($2 = 0 OR user_id = $2) "
	    "FOR UPDATE", 2, p);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 1;
	}
	snprintf(state, statelen, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int
queue_cancel_job(PGconn *c, long long job_id, long long user_id, char *err,
    size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[1] = { db_param_ll(&dp, job_id) };
	char state[16];
	int rc;

	if (db_begin(c, err, errlen) == -1)
		return -1;
	if ((rc = lock_job(c, job_id, user_id, state, sizeof(state), err,
	    errlen)) != 0)
		goto end;
	if (strcmp(state, "pending") != 0 && strcmp(state, "running") != 0 &&
	    strcmp(state, "awaiting_review") != 0) {
		rc = 1;
		seterr(err, errlen, "job %lld has already ended (%s)", job_id,
		    state);
		goto end;
	}
	if (db_cmd(c, err, errlen,
	    "UPDATE jobs SET state = 'cancelled', finished_at = now(), "
	    " updated_at = now(), error = 'Cancelled.' WHERE id = $1", 1, p) == -1 ||
	    db_cmd(c, err, errlen,
	    "UPDATE tasks SET state = 'cancelled', finished_at = now() "
	    "WHERE job_id = $1 AND state = 'pending'", 1, p) == -1 ||
	    db_cmd(c, err, errlen,
	    "UPDATE clips SET state = 'cancelled' "
	    "WHERE job_id = $1 AND state IN ('pending', 'rendering',"
	    " 'candidate')", 1, p) == -1 ||
	    queue_event(c, job_id, "cancelled", NULL, NULL, err, errlen) == -1) {
		rc = -1;
		goto end;
	}
end:
	if (rc == 0)
		return db_commit(c, err, errlen);
	db_rollback(c);
	return rc;
}

int
queue_retry_job(PGconn *c, long long job_id, long long user_id, char *err,
    size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[1] = { db_param_ll(&dp, job_id) };
	char state[16];
	PGresult *r;
	int rc, i;

	if (db_begin(c, err, errlen) == -1)
		return -1;
	if ((rc = lock_job(c, job_id, user_id, state, sizeof(state), err,
	    errlen)) != 0)
		goto end;
	if (strcmp(state, "failed") != 0 && strcmp(state, "cancelled") != 0 &&
	    strcmp(state, "partial") != 0) {
		rc = 1;
		seterr(err, errlen, "job %lld is %s: only failed, cancelled or "
		    "partial jobs can be retried", job_id, state);
		goto end;
	}
	/* Failed and cancelled tasks start again with fresh attempts; their
	 * clips go back to pending. */
	r = db_exec(c, err, errlen,
	    "WITH t AS (UPDATE tasks SET state = 'pending', attempts = 0, "
	    "  error = NULL, run_after = now(), progress = 0, runner = NULL, "
	    "  finished_at = NULL WHERE job_id = $1 "
	    "  AND state IN ('failed', 'cancelled') RETURNING stage, clip_id), "
	    "c AS (UPDATE clips SET state = 'pending', error = NULL "
	    "  WHERE id IN (SELECT clip_id FROM t) RETURNING id) "
	    "SELECT DISTINCT stage FROM t", 1, p);
	if (r == NULL) {
		rc = -1;
		goto end;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		rc = 1;
		seterr(err, errlen, "job %lld has no failed or cancelled step "
		    "to retry", job_id);
		goto end;
	}
	for (i = 0; i < PQntuples(r) && rc == 0; i++)
		if (queue_notify_stage(c, PQgetvalue(r, i, 0), err, errlen) == -1)
			rc = -1;
	PQclear(r);
	if (rc == 0 && (db_cmd(c, err, errlen,
	    "UPDATE jobs SET state = 'running', error = NULL, finished_at = NULL,"
	    " updated_at = now() WHERE id = $1", 1, p) == -1 ||
	    queue_event(c, job_id, "retried", NULL, NULL, err, errlen) == -1))
		rc = -1;
end:
	if (rc == 0)
		return db_commit(c, err, errlen);
	db_rollback(c);
	return rc;
}
