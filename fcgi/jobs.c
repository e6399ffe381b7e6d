/*
 * Job routes: submit (urlencoded, multipart with a streamed upload, JSON),
 * list, status, long-poll events, cancel, retry, and clip files (handed to
 * the web server: video never streams through this process).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "mediatype.h"
#include "queue.h"
#include "store.h"
#include "subtitles.h"
#include "transcript.h"
#include "extern.h"

/* Per-user submission lock (pg_advisory_lock's two-key form): submit
 * and retry check the limits and act under it. */
#define SUBMIT_LOCK "1668180333"
/* Upload slots: the two-key advisory lock (UPLOAD_LOCK + slot, user),
 * slot 0 .. user_max_uploads - 1, held while an upload streams. */
#define UPLOAD_LOCK 1668180400LL
/* A multipart body larger than this counts as an upload. */
#define UPLOAD_MIN_BODY 65536

/* ---- limits ---- */

/* Run SQL, which takes the user's (LP) submission lock; 0, or -1 after
 * answering (503 when it waited db_lock_timeout). */
static int
lock_user(struct req *r, PGconn *c, const char *sql, const char **lp)
{
	char err[512];

	if (db_cmd(c, err, sizeof(err), sql, 1, lp) == 0)
		return 0;
	if (db_timed_out(c))
		respond_error(r, 503, NULL, "Retry-After: 10\r\n",
		    "Another submission of yours is still being recorded; try "
		    "again in a few seconds.");
	else
		db_fail(r, err);
	return -1;
}

/* 0 when USER may submit (or retry) now; else answers 429 (or 503) and
 * returns -1.  A retry counts as a submission: in the rate, through its
 * "retried" event, and in the unfinished jobs it makes one more of. */
static int
check_limits(struct req *r, PGconn *c)
{
	char err[512], ra[64];
	struct db_params dp = { 0 };
	const char *p[1];
	long long active = 0, recent = 0, wait = 60;
	PGresult *res;

	p[0] = db_param_ll(&dp, r->u.id);
	res = db_exec(c, err, sizeof(err),
	    "WITH a AS (SELECT created_at AS t FROM jobs WHERE user_id = $1"
	    "  AND created_at > now() - interval '1 minute' "
	    " UNION ALL SELECT e.ts FROM jobs j JOIN events e ON e.job_id = j.id"
	    "  WHERE j.user_id = $1 AND j.updated_at > now() - interval '1 minute'"
	    "  AND e.kind = 'retried' AND e.ts > now() - interval '1 minute') "
	    "SELECT (SELECT count(*) FROM jobs WHERE user_id = $1 AND "
	    "   state IN ('pending', 'running')), "
	    " count(*), coalesce(ceil(extract(epoch FROM "
	    "   min(t) + interval '1 minute' - now())), 60) FROM a", 1, p);
	if (res == NULL) {
		db_fail(r, err);
		return -1;
	}
	parse_ll(PQgetvalue(res, 0, 0), 0, INT64_MAX, &active);
	parse_ll(PQgetvalue(res, 0, 1), 0, INT64_MAX, &recent);
	parse_ll(PQgetvalue(res, 0, 2), -100000, 100000, &wait);
	PQclear(res);
	if (wait < 1)
		wait = 1;
	if (recent >= cfg.user_submits_per_minute) {
		snprintf(ra, sizeof(ra), "Retry-After: %lld\r\n", wait);
		respond_error(r, 429, NULL, ra, "You have submitted or retried "
		    "%lld jobs in the last minute; the limit is %lld.  Try "
		    "again in %lld s.", recent, cfg.user_submits_per_minute,
		    wait);
		return -1;
	}
	return user_jobs_full(r, active);
}

int
user_jobs_full(struct req *r, long long active)
{
	if (active < cfg.user_max_jobs)
		return 0;
	respond_error(r, 429, NULL, "Retry-After: 30\r\n", "You have %lld jobs "
	    "in progress; the limit is %lld.  Wait for one to finish or cancel "
	    "one.", active, cfg.user_max_jobs);
	return -1;
}

/* Take the user's submission lock on C, waiting at most db_lock_timeout
 * (another submission of the user's may be storing a large upload); 0,
 * or -1 after answering.  LP holds the user's id as a parameter. */
static int
user_lock(struct req *r, PGconn *c, const char **lp)
{
	return lock_user(r, c, "SELECT pg_advisory_lock(" SUBMIT_LOCK
	    ", $1::int)", lp);
}

int
user_xact_lock(struct req *r, PGconn *c)
{
	struct db_params dp = { 0 };
	const char *lp[1] = { db_param_ll(&dp, r->u.id) };

	return lock_user(r, c, "SELECT pg_advisory_xact_lock(" SUBMIT_LOCK
	    ", $1::int)", lp);
}

static void
user_unlock(struct req *r, const char **lp)
{
	char err[512];

	/* db_fail() closes a lost connection: the worker's own pointer says
	 * whether it is still there (a lost connection took the lock with
	 * it). */
	if (!db_lost(r->w->db))
		db_cmd(r->w->db, err, sizeof(err), "SELECT pg_advisory_unlock("
		    SUBMIT_LOCK ", $1::int)", 1, lp);
}

/* 1 when the request body is an upload (a multipart body that is large,
 * or of unknown size), which needs an upload slot. */
static int
is_upload(struct req *r)
{
	const char *ctype = param(r, "CONTENT_TYPE");
	const char *cl = param(r, "CONTENT_LENGTH");
	long long len;

	if (ctype == NULL || strncasecmp(ctype, "multipart/form-data", 19) != 0)
		return 0;
	return cl == NULL || parse_ll(cl, 0, INT64_MAX, &len) == -1 ||
	    len > UPLOAD_MIN_BODY;
}

/* Take one of the user's user_max_uploads upload slots, held on C until
 * upload_slot_free(): the slot, or -1 after answering (429 when all are
 * taken).  Advisory locks, so the bound holds across processes. */
static int
upload_slot(struct req *r, PGconn *c)
{
	struct db_params dp = { 0 };
	char err[512];
	const char *p[3];
	long long slot = -1;
	PGresult *res;

	p[0] = db_param_ll(&dp, UPLOAD_LOCK);
	p[1] = db_param_ll(&dp, cfg.user_max_uploads);
	p[2] = db_param_ll(&dp, r->u.id);
	/* LIMIT 1: the locks are tried in order and the first free one
	 * is the only one taken. */
	res = db_exec(c, err, sizeof(err), "SELECT s FROM generate_series(0, "
	    "$2::int - 1) s WHERE pg_try_advisory_lock(($1::bigint + s)::int, "
	    "$3::int) LIMIT 1", 3, p);
	if (res == NULL) {
		db_fail(r, err);
		return -1;
	}
	if (PQntuples(res) == 1)
		parse_ll(PQgetvalue(res, 0, 0), 0, INT32_MAX, &slot);
	PQclear(res);
	if (slot >= 0)
		return (int)slot;
	log_ev(LOG_INFO, "upload_refused", "{sIsI}", "user",
	    (json_int_t)r->u.id, "limit", (json_int_t)cfg.user_max_uploads);
	respond_error(r, 429, NULL, "Retry-After: 30\r\n", "You have %lld "
	    "uploads in progress; the limit is %lld.  Wait for one to finish "
	    "and send this one again.", cfg.user_max_uploads,
	    cfg.user_max_uploads);
	return -1;
}

static void
upload_slot_free(struct req *r, int slot)
{
	struct db_params dp = { 0 };
	char err[512];
	const char *p[2];

	if (slot < 0 || db_lost(r->w->db))
		return;
	p[0] = db_param_ll(&dp, UPLOAD_LOCK + slot);
	p[1] = db_param_ll(&dp, r->u.id);
	db_cmd(r->w->db, err, sizeof(err), "SELECT pg_advisory_unlock("
	    "$1::int, $2::int)", 2, p);
}

/* ---- uploads ---- */

struct upload {
	struct req	*r;
	char		 tmp[4096];	/* "" until a file part starts */
	int		 fd;
	unsigned long long size, max;
	int		 nfiles;
	int		 too_big;
	int		 no_room;	/* the scratch disk is full */
	char		 ext[MEDIATYPE_EXT_MAX + 1];
	char		 name[256];	/* the file's own name, for the user */
};

static int
on_file(void *arg, const struct mp_part *p, const char *d, size_t n,
    char *err, size_t errlen)
{
	struct upload *u = arg;
	char msg[512];
	ssize_t w;

	if (strcmp(p->name, "file") != 0) {
		seterr(err, errlen, "%s: is not a file field this form knows",
		    p->name);
		return -1;
	}
	if (d == NULL) {		/* the part starts */
		if (p->filename[0] == '\0')
			return 0;	/* an empty file input: no file chosen */
		if (++u->nfiles > 1) {
			seterr(err, errlen, "file: give one file only");
			return -1;
		}
		if (mediatype_upload_ext(p->filename, u->ext, sizeof(u->ext),
		    msg, sizeof(msg)) == -1) {
			seterr(err, errlen, "file: %s", msg);
			return -1;
		}
		snprintf(u->name, sizeof(u->name), "%s", path_base(p->filename));
		if (mkdir_p(cfg.scratch_dir, 0700) == -1 ||
		    xsnprintf(u->tmp, sizeof(u->tmp), "%s/upload.XXXXXX",
		    cfg.scratch_dir) == -1 ||
		    (u->fd = mkostemp(u->tmp, O_CLOEXEC)) == -1) {
			u->no_room = errno == ENOSPC || errno == EDQUOT;
			seterr(err, errlen, "cannot store the upload: %s",
			    strerror(errno));
			u->tmp[0] = '\0';
			return -1;
		}
		return 0;
	}
	if (u->fd < 0)
		return 0;
	u->size += n;
	if (u->size > u->max) {
		u->too_big = 1;
		seterr(err, errlen, "file: is larger than %lld MB",
		    cfg.upload_max_mb);
		return -1;
	}
	while (n > 0) {
		if ((w = write(u->fd, d, n)) < 0) {
			if (errno == EINTR)
				continue;
			u->no_room = errno == ENOSPC || errno == EDQUOT ||
			    errno == EFBIG;
			seterr(err, errlen, "cannot store the upload: %s",
			    strerror(errno));
			return -1;
		}
		d += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
upload_cleanup(struct upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	if (u->tmp[0] != '\0')
		unlink(u->tmp);
	u->tmp[0] = '\0';
}

/* Stream a multipart body: fields into F, the file to a temporary file.
 * 0, or -1 after answering (400/413/507). */
static int
read_multipart(struct req *r, const char *ctype, struct form *f,
    struct upload *u)
{
	struct multipart m;
	char boundary[80], err[512], tmp[16384];
	const char *cl = param(r, "CONTENT_LENGTH");
	long long len = 0;
	int n, rc = -1;

	memset(&m, 0, sizeof(m));
	if (multipart_boundary(ctype, boundary, sizeof(boundary), err,
	    sizeof(err)) == -1) {
		respond_error(r, 400, NULL, NULL, "%s", err);
		return -1;
	}
	/* A declared length over the cap is refused before reading. */
	if (cl != NULL && parse_ll(cl, 0, INT64_MAX, &len) == 0 &&
	    (unsigned long long)len > u->max + 65536) {
		respond_error(r, 413, "file", NULL, "is larger than %lld MB",
		    cfg.upload_max_mb);
		return -1;
	}
	m.arg = u;
	m.on_file = on_file;
	if (mp_init(&m, boundary, f, err, sizeof(err)) == -1) {
		respond_error(r, 400, NULL, NULL, "%s", err);
		return -1;
	}
	while ((n = FCGX_GetStr(tmp, sizeof(tmp), r->fr->in)) > 0)
		if (mp_feed(&m, tmp, (size_t)n, err, sizeof(err)) == -1)
			goto fail;
	r->body_read = 1;
	if (mp_finish(&m, err, sizeof(err)) == -1)
		goto fail;
	rc = 0;
	goto out;
fail:
	drain_body(r);
	upload_cleanup(u);
	if (u->too_big)
		respond_error(r, 413, "file", NULL, "is larger than %lld MB",
		    cfg.upload_max_mb);
	else if (u->no_room) {
		log_ev(LOG_ERROR, "upload_no_room", "{ssss}", "dir",
		    cfg.scratch_dir, "error", err);
		respond_error(r, 507, "file", "Retry-After: 60\r\n", "there is "
		    "no room on the server to store the upload; try again "
		    "later");
	} else
		respond_error(r, 400, NULL, NULL, "%s", err);
out:
	mp_free(&m);
	return rc;
}

/* ---- submit ---- */

static json_t *
job_json(PGconn *c, long long id, long long user, char *err, size_t errlen);

/* Read the body, whatever its type, into F (a file part into UP, a
 * urlencoded or JSON body through BODY); 0, or -1 after answering. */
static int
read_submission(struct req *r, struct form *f, struct upload *up,
    struct buf *body)
{
	const char *ctype = param(r, "CONTENT_TYPE");
	char err[512];
	int json, rc;

	if (ctype == NULL)
		ctype = "";
	if (strncasecmp(ctype, "multipart/form-data", 19) == 0)
		return read_multipart(r, ctype, f, up);
	json = strncasecmp(ctype, "application/json", 16) == 0;
	if (!json && strncasecmp(ctype, "application/x-www-form-urlencoded",
	    33) != 0) {
		respond_error(r, 415, NULL, NULL, "Send the job as "
		    "application/x-www-form-urlencoded, multipart/form-data "
		    "or application/json.");
		return -1;
	}
	if (read_body(r, body, FORM_MAX_BODY) == -1)
		return -1;
	rc = json ? parse_json_body(body->data, body->len, f, err,
	    sizeof(err)) : parse_urlencoded(body->data, body->len, f, err,
	    sizeof(err));
	if (rc == -1) {
		respond_error(r, 400, NULL, NULL, "%s", err);
		return -1;
	}
	return 0;
}

/* Put the upload into the store as jobs/ID/upload.EXT under a job id
 * reserved now (*ID, and KEY); 0, or -1 after answering. */
static int
store_upload(struct req *r, PGconn *c, struct upload *up, long long *id,
    char *key, size_t keylen)
{
	char err[512];

	if ((*id = queue_reserve_job_id(c, err, sizeof(err))) == -1) {
		db_fail(r, err);
		return -1;
	}
	if (key_job_upload(key, keylen, *id, up->ext) == -1) {
		respond_error(r, 500, NULL, NULL, "No store key for the upload.");
		return -1;
	}
	close(up->fd);
	up->fd = -1;
	if (store_put(r->w->store, key, up->tmp, NULL, err,
	    sizeof(err)) != STORE_OK) {
		log_ev(LOG_ERROR, "upload_store_failed", "{sIss}", "job",
		    (json_int_t)*id, "error", err);
		respond_error(r, 503, NULL, "Retry-After: 10\r\n",
		    "The upload could not be stored; try again.");
		return -1;
	}
	upload_cleanup(up);
	return 0;
}

/* Answer for job ID, just submitted: a browser goes to its page, the API
 * gets 201 and the job. */
static void
answer_submitted(struct req *r, PGconn *c, long long id)
{
	char err[512], loc[64], h[96];
	json_t *job;

	snprintf(loc, sizeof(loc), "/jobs/%lld", id);
	if (!r->json) {
		redirect(r, loc, NULL);
		return;
	}
	if ((job = job_json(c, id, r->u.id, err, sizeof(err))) == NULL) {
		db_fail(r, err);
		return;
	}
	snprintf(h, sizeof(h), "Location: %s\r\n", loc);
	respond_json(r, 201, job, h);
}

void
route_submit(struct req *r)
{
	struct form f = { .n = 0 };
	struct upload up;
	struct jobspec js;
	struct buf body;
	char err[512], field[64], key[128];
	struct db_params dp = { 0 };
	const char *lp[1];
	json_t *opts = NULL;
	long long id = 0;
	PGconn *c;
	int locked = 0, stored = 0, slot = -1;

	memset(&up, 0, sizeof(up));
	up.fd = -1;
	up.r = r;
	up.max = (unsigned long long)cfg.upload_max_mb * 1024 * 1024;
	buf_init(&body, FORM_MAX_BODY);
	r->refill = &f;
	lp[0] = db_param_ll(&dp, r->u.id);
	if ((c = req_db(r)) == NULL)
		goto out;
	/* Limits first, so a refused upload is not read into a file. */
	if (check_limits(r, c) == -1)
		goto out;
	if (is_upload(r) && (slot = upload_slot(r, c)) == -1)
		goto out;
	if (read_submission(r, &f, &up, &body) == -1)
		goto out;
	if (csrf_check(r, &f) == -1)
		goto out;
	if (up.tmp[0] != '\0' && up.size == 0) {
		respond_error(r, 400, "file", NULL, "is empty");
		goto out;
	}
	if (validate_job(&f, up.tmp[0] != '\0', backends_conf(), &js, field,
	    sizeof(field), err, sizeof(err)) == -1) {
		respond_error(r, 400, field, NULL, "%s", err);
		goto out;
	}
	if ((opts = jobspec_options(&js)) == NULL) {
		respond_error(r, 500, NULL, NULL, "out of memory");
		goto out;
	}

	/* The limits again, under the user's lock: the body may have taken
	 * a while, and two submissions may race. */
	if (user_lock(r, c, lp) == -1)
		goto out;
	locked = 1;
	if (check_limits(r, c) == -1)
		goto out;
	if (up.tmp[0] != '\0') {
		if (store_upload(r, c, &up, &id, key, sizeof(key)) == -1)
			goto out;
		stored = 1;
	}
	id = queue_submit(c, id, r->u.id, up.size || stored ? "upload" : "url",
	    stored ? NULL : js.url, stored ? key : NULL,
	    stored && up.name[0] ? up.name : NULL, opts,
	    js.first_stage[0] ? js.first_stage : NULL, err, sizeof(err));
	if (id == -1) {
		db_fail(r, err);
		goto out;
	}
	stored = 0;	/* the job owns the object now */
	lp_touch(id, r->u.id);
	log_ev(LOG_INFO, "job_submitted", "{sIsIss}", "job", (json_int_t)id,
	    "user", (json_int_t)r->u.id, "source", up.size ? "upload" : "url");
	answer_submitted(r, c, id);
out:
	if (stored)
		store_delete(r->w->store, key, NULL, 0);
	/* db_fail() closes a lost connection: C may be freed by now. */
	if (locked)
		user_unlock(r, lp);
	upload_cleanup(&up);
	upload_slot_free(r, slot);
	json_decref(opts);
	r->refill = NULL;
	form_free(&f);
	buf_free(&body);
}

/* ---- reading jobs ---- */

/* How much of a whole job each pipeline stage is, in percent: about the
 * share of the wall time each takes on a talk of a few minutes. */
static const struct {
	const char	*stage;
	int		 weight;
} stage_weight[] = {
	{ "fetch", 10 }, { "transcribe", 30 }, { "select", 5 },
	{ "frame", 15 }, { "render", 35 }, { "publish", 5 },
};

/* Add "progress": {"pct", "remaining_s"} to job J: the stages' progress
 * weighted by their share of a job (stages not started count as 0), and
 * the time left at the pace so far (null until 5% or when it has ended). */
static void
job_progress(json_t *j)
{
	const char *state = json_string_value(json_object_get(j, "state"));
	double elapsed = json_number_value(json_object_get(j, "elapsed_s"));
	double sum = 0, any = 0, pct;
	json_t *st, *rem = json_null();
	size_t i, k;
	int n = 0;

	json_array_foreach(json_object_get(j, "stages"), i, st) {
		const char *name = json_string_value(json_object_get(st,
		    "stage"));
		double p = json_number_value(json_object_get(st, "pct"));

		any += p;
		n++;
		for (k = 0; k < sizeof(stage_weight) / sizeof(*stage_weight); k++)
			if (name != NULL && strcmp(name, stage_weight[k].stage) == 0)
				sum += p * stage_weight[k].weight / 100;
	}
	/* Jobs of the test stages only: the plain mean. */
	pct = sum > 0 ? sum : n > 0 ? any / n : 0;
	if (state == NULL)
		state = "";
	if (strcmp(state, "done") == 0 || strcmp(state, "partial") == 0)
		pct = 100;
	else if ((strcmp(state, "pending") == 0 || strcmp(state,
	    "running") == 0) && pct >= 5 && pct < 100)
		rem = json_integer((json_int_t)(elapsed * (100 - pct) / pct));
	json_object_set_new(j, "progress", json_pack("{sIso}", "pct",
	    (json_int_t)pct, "remaining_s", rem));
}

/* The job as JSON (new reference), NULL with ERR on a database error, or
 * a JSON null when there is no such job of USER's. */
static json_t *
job_json(PGconn *c, long long id, long long user, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[2];
	json_error_t jerr;
	PGresult *res;
	json_t *j;

	p[0] = db_param_ll(&dp, id);
	p[1] = db_param_ll(&dp, user);
	res = db_exec(c, err, errlen,
	    "SELECT json_build_object("
	    " 'id', j.id, 'state', j.state, 'source_kind', j.source_kind,"
	    " 'source_url', j.source_url, 'source_name', j.source_name,"
	    " 'options', j.options,"
	    " 'probe', j.probe, 'error', j.error, 'last_seq', j.last_seq,"
	    " 'created_at', j.created_at, 'finished_at', j.finished_at,"
	    " 'elapsed_s', round(extract(epoch FROM coalesce(j.finished_at,"
	    "   now()) - j.created_at)),"
	    " 'stages', (SELECT coalesce(json_agg(s ORDER BY s.first), '[]')"
	    "   FROM (SELECT stage, min(id) AS first, count(*) AS tasks,"
	    "     count(*) FILTER (WHERE state = 'done') AS done,"
	    "     count(*) FILTER (WHERE state = 'running') AS running,"
	    "     count(*) FILTER (WHERE state = 'failed') AS failed,"
	    /* a stage of one task a clip (publish) or a segment of clips
	     * (render: one task for all its aspects) is as far as all
	     * those tasks, made or not yet made, taken together */
	    "     round(sum(CASE WHEN state = 'done' THEN 100 ELSE progress"
	    "       END)::numeric / greatest(count(*), CASE WHEN"
	    "       bool_or(clip_id IS NOT NULL) THEN (SELECT CASE WHEN"
	    "       stage = 'render' THEN count(DISTINCT (k.start_s, k.end_s))"
	    "       ELSE count(*) END FROM"
	    "       clips k WHERE k.job_id = j.id"
	    "       AND k.state NOT IN ('cancelled', 'candidate'))"
	    "       ELSE 0 END))::int AS pct,"
	    "     (array_agg(error ORDER BY id DESC)"
	    "       FILTER (WHERE state = 'failed'))[1] AS error,"
	    /* what a task still at work says; a finished stage's last
	     * report ("3 of 4 parts") would be stale beside its 100% */
	    "     (array_agg(message ORDER BY id DESC)"
	    "       FILTER (WHERE message IS NOT NULL AND state <> 'done'))[1]"
	    "       AS message"
	    "     FROM tasks WHERE job_id = j.id GROUP BY stage) s),"
	    " 'clips', (SELECT coalesce(json_agg(" CLIP_JSON_SQL
	    "   ORDER BY c.rank, c.aspect), '[]') FROM clips c"
	    "   WHERE c.job_id = j.id),"
	    " 'events', (SELECT coalesce(json_agg(json_build_object("
	    "   'seq', e.seq, 'ts', e.ts, 'kind', e.kind, 'stage', e.stage,"
	    "   'data', e.data) ORDER BY e.seq), '[]') FROM (SELECT * FROM"
	    "   events WHERE job_id = j.id ORDER BY seq DESC LIMIT 200) e)"
	    ")::text FROM jobs j WHERE j.id = $1 AND j.user_id = $2", 2, p);
	if (res == NULL)
		return NULL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return json_null();
	}
	j = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
	PQclear(res);
	if (j == NULL)
		seterr(err, errlen, "unreadable job JSON: %s", jerr.text);
	else
		job_progress(j);
	return j;
}

/*
 * Job ID's tag if it is USER's: the MD5 of everything its document shows
 * that can change (the job row's version and last_seq, which every event
 * bumps, its state and updated_at, and the versions of its tasks and
 * clips: xmin changes with every update of a row) into TAG, and its
 * elapsed seconds, which move with the clock, into *ELAPSED.  The tag is
 * kept (jobcache.c) while GEN, the job's count of NOTIFYs read before
 * this look, stays: then no query at all.  0; 1 when there is no such job
 * of USER's; -1 with ERR.
 */
static int
job_tag(PGconn *c, long long id, long long user, unsigned long gen,
    char tag[JOB_TAG_LEN + 1], long long *elapsed, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[2];
	PGresult *res;
	double secs;
	int rc = 1;

	if (jc_tag(id, user, gen, tag, elapsed))
		return 0;
	p[0] = db_param_ll(&dp, id);
	p[1] = db_param_ll(&dp, user);
	res = db_exec_prepared(c, err, errlen, "job_tag",
	    "SELECT md5(concat_ws('|', j.xmin, j.last_seq, j.state,"
	    "  j.updated_at,"
	    "  (SELECT count(*) || ':' || coalesce(sum(t.xmin::text::bigint), 0)"
	    "   FROM tasks t WHERE t.job_id = j.id),"
	    "  (SELECT count(*) || ':' || coalesce(sum(k.xmin::text::bigint), 0)"
	    "   FROM clips k WHERE k.job_id = j.id))),"
	    " extract(epoch FROM coalesce(j.finished_at, now()) - j.created_at),"
	    " j.finished_at IS NOT NULL "
	    "FROM jobs j WHERE j.id = $1 AND j.user_id = $2", 2, p);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		snprintf(tag, JOB_TAG_LEN + 1, "%s", PQgetvalue(res, 0, 0));
		secs = strtod(PQgetvalue(res, 0, 1), NULL);
		*elapsed = llround(secs);
		jc_tag_put(id, user, gen, tag, secs,
		    strcmp(PQgetvalue(res, 0, 2), "t") == 0);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

/* The ETag of R's answer about a job whose tag is TAG: weak (elapsed_s and
 * remaining_s move with the clock without changing it), and for a page
 * also bound to what the page shows of the user (the name, the form
 * token of the session). */
static void
job_etag(struct req *r, const char *tag, char *out, size_t len)
{
	char buf[256], hex[65];

	if (r->json) {
		snprintf(out, len, "W/\"j%s\"", tag);
		return;
	}
	snprintf(buf, sizeof(buf), "%s|%s|%s", tag, r->u.name, r->u.csrf);
	sha256_hex(buf, strlen(buf), hex);
	snprintf(out, len, "W/\"h%.32s\"", hex);
}

/* Job ID's document as JSON text for R's user (allocated, *LEN), from the
 * process's copy when TAG and ELAPSED still match it, else built now and
 * kept; NULL after answering (500, 503). */
static char *
job_doc(struct req *r, PGconn *c, long long id, const char *tag,
    long long elapsed, size_t *len)
{
	char err[512], *s;
	json_t *j;

	if ((s = jc_get(id, r->u.id, tag, elapsed, NULL, len)) != NULL)
		return s;
	if ((j = job_json(c, id, r->u.id, err, sizeof(err))) == NULL) {
		db_fail(r, err);
		return NULL;
	}
	/* gone since the tag was read: as if it had been gone before */
	if (json_is_null(j)) {
		json_decref(j);
		respond_error(r, 404, NULL, NULL, "You have no job %lld.", id);
		return NULL;
	}
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s == NULL) {
		respond_error(r, 500, NULL, NULL, "Out of memory.");
		return NULL;
	}
	*len = strlen(s);
	jc_put(id, r->u.id, tag, elapsed, NULL, s, *len);
	return s;
}

/* Job ID's page for R's session (ETAG names the page: the job's tag and
 * what the page shows of the user), kept beside the document, with the
 * header lines H. */
static void
job_page(struct req *r, PGconn *c, long long id, const char *tag,
    long long elapsed, const char *etag, const char *h)
{
	char key[128], *s;
	struct buf b;
	size_t len;
	json_t *j;

	snprintf(key, sizeof(key), "%s|%d", etag, (int)r->u.via);
	if ((s = jc_get(id, r->u.id, tag, elapsed, key, &len)) != NULL) {
		page_send_raw(r, s, len, h);
		free(s);
		return;
	}
	if ((s = job_doc(r, c, id, tag, elapsed, &len)) == NULL)
		return;
	j = json_loads(s, 0, NULL);
	free(s);
	if (j == NULL) {
		respond_error(r, 500, NULL, NULL, "Out of memory.");
		return;
	}
	page_job_build(r, j, &b);
	json_decref(j);
	if (!buf_failed(&b))
		jc_put(id, r->u.id, tag, elapsed, key, b.data, b.len);
	page_send(r, &b, 200, h);
}

/*
 * GET /jobs/{id}: the job's tag (which also says whether it is this
 * user's: another user's job is 404, never 304), kept until a NOTIFY says
 * the job changed, else one small query; then 304 without a body when
 * If-None-Match names its ETag, else the document (kept per process until
 * the tag changes) as JSON or as the page.
 */
void
route_job(struct req *r, long long id)
{
	char err[512], tag[JOB_TAG_LEN + 1], etag[80], h[256], *body = NULL;
	unsigned long gen = lp_doc_gen(id);	/* before the look */
	long long elapsed = 0;
	size_t len = 0;
	PGconn *c;
	int rc;

	if ((c = req_db(r)) == NULL)
		return;
	if ((rc = job_tag(c, id, r->u.id, gen, tag, &elapsed, err,
	    sizeof(err))) == -1) {
		db_fail(r, err);
		return;
	}
	if (rc == 1) {
		respond_error(r, 404, NULL, NULL, "You have no job %lld.", id);
		return;
	}
	job_etag(r, tag, etag, sizeof(etag));
	/* the browser may keep it, for this user, and asks again each time */
	snprintf(h, sizeof(h), "ETag: %s\r\nCache-Control: private, no-cache"
	    "\r\nVary: Accept, Authorization, Cookie\r\n", etag);
	if (etag_match(param(r, "HTTP_IF_NONE_MATCH"), etag)) {
		respond(r, 304, NULL, h, "", 0);
		return;
	}
	if (r->json) {
		if ((body = job_doc(r, c, id, tag, elapsed, &len)) != NULL)
			respond(r, 200, "application/json", h, body, len);
	} else
		job_page(r, c, id, tag, elapsed, etag, h);
	free(body);
}

#define PAGE_SIZE 20

/* Page PAGE of USER's jobs, newest first, as a JSON array of the list's
 * rows (new string), *MORE whether an older page follows; kept per
 * process until a NOTIFY on CHAN_USER_JOBS says the list changed.  NULL
 * after answering. */
static char *
jobs_rows(struct req *r, long long page, int *more)
{
	unsigned long gen = lp_user_gen(r->u.id);	/* before the look */
	struct db_params dp = { 0 };
	char err[512], *s;
	const char *p[3];
	PGresult *res;
	PGconn *c;
	json_t *a;
	int i, n;

	if ((s = lc_get(r->u.id, page, gen, more)) != NULL)
		return s;
	if ((c = req_db(r)) == NULL)
		return NULL;
	p[0] = db_param_ll(&dp, r->u.id);
	p[1] = db_param_ll(&dp, PAGE_SIZE + 1);
	p[2] = db_param_ll(&dp, (page - 1) * PAGE_SIZE);
	res = db_exec_prepared(c, err, sizeof(err), "jobs_list",
	    "SELECT j.id, j.state, j.source_kind,"
	    " coalesce(j.source_url, j.source_name, ''),"
	    " to_char(j.created_at AT TIME ZONE 'UTC',"
	    "   'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " (SELECT count(*) FROM clips c WHERE c.job_id = j.id"
	    "   AND c.state = 'ready'), coalesce(j.error, '')"
	    " FROM jobs j WHERE j.user_id = $1 ORDER BY j.id DESC"
	    " LIMIT $2 OFFSET $3", 3, p);
	if (res == NULL) {
		db_fail(r, err);
		return NULL;
	}
	n = PQntuples(res);
	*more = n > PAGE_SIZE;
	if (*more)
		n = PAGE_SIZE;
	a = json_array();
	for (i = 0; i < n; i++) {
		long long id = 0, clips = 0;
		parse_ll(PQgetvalue(res, i, 0), 1, INT64_MAX, &id);
		parse_ll(PQgetvalue(res, i, 5), 0, INT64_MAX, &clips);
		json_array_append_new(a, json_pack("{sIssssss*sssIss*}", "id",
		    (json_int_t)id, "state", PQgetvalue(res, i, 1),
		    "source_kind", PQgetvalue(res, i, 2),
		    "source", *PQgetvalue(res, i, 3) ? PQgetvalue(res, i, 3) :
		    NULL,
		    "created_at", PQgetvalue(res, i, 4),
		    "clips_ready", (json_int_t)clips,
		    "error", *PQgetvalue(res, i, 6) ? PQgetvalue(res, i, 6) :
		    NULL));
	}
	PQclear(res);
	s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(a);
	if (s == NULL) {
		respond_error(r, 500, NULL, NULL, "Out of memory.");
		return NULL;
	}
	lc_put(r->u.id, page, gen, s, *more);
	return s;
}

void
route_jobs(struct req *r)
{
	struct form q = { .n = 0 };
	char err[512], *rows = NULL;
	const char *v;
	long long page = 1;
	struct buf b;
	json_t *a;
	int more = 0;

	if (parse_urlencoded(r->query, strlen(r->query), &q, err,
	    sizeof(err)) == -1) {
		respond_error(r, 400, NULL, NULL, "%s", err);
		goto out;
	}
	if ((v = form_get(&q, "page")) != NULL &&
	    parse_ll(v, 1, 1000000, &page) == -1) {
		respond_error(r, 400, "page", NULL, "must be a whole number "
		    "from 1 to 1000000");
		goto out;
	}
	if ((rows = jobs_rows(r, page, &more)) == NULL)
		goto out;
	if (!r->json) {
		if ((a = json_loads(rows, 0, NULL)) == NULL)
			respond_error(r, 500, NULL, NULL, "Out of memory.");
		else
			page_jobs(r, a, page, more);
		json_decref(a);
		goto out;
	}
	buf_init(&b, 0);
	if (buf_printf(&b, "{\"jobs\":%s,\"page\":%lld,\"more\":%s}", rows,
	    page, more ? "true" : "false") == -1)
		respond_error(r, 500, NULL, NULL, "Out of memory.");
	else
		respond(r, 200, "application/json", NULL, b.data, b.len);
	buf_free(&b);
out:
	free(rows);
	form_free(&q);
}

/* ---- cancel, retry ---- */

/* 1 when job ID is USER's, 0 when not (answered 404), -1 (answered). */
static int
owns(struct req *r, PGconn *c, long long id)
{
	struct db_params dp = { 0 };
	char err[512];
	const char *p[2];
	PGresult *res;
	int n;

	p[0] = db_param_ll(&dp, id);
	p[1] = db_param_ll(&dp, r->u.id);
	res = db_exec(c, err, sizeof(err), "SELECT 1 FROM jobs WHERE id = $1 "
	    "AND user_id = $2", 2, p);
	if (res == NULL) {
		db_fail(r, err);
		return -1;
	}
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		respond_error(r, 404, NULL, NULL, "You have no job %lld.", id);
		return 0;
	}
	return 1;
}

/* 0 when the user may retry job ID (or when its state is not one a
 * retry takes: the queue answers that); else -1 after answering 409.
 * Each retry gives the failed steps fresh attempts, so the retries of one
 * job are bounded by user_retries_per_job: the work a job can ask for
 * stays finite.  Call under the user's lock. */
static int
retry_allowed(struct req *r, PGconn *c, long long id)
{
	struct db_params dp = { 0 };
	char err[512];
	const char *p[1];
	long long n = 0;
	PGresult *res;
	int retryable;

	p[0] = db_param_ll(&dp, id);
	res = db_exec(c, err, sizeof(err), "SELECT state IN ('failed', "
	    "'cancelled', 'partial'), (SELECT count(*) FROM events WHERE "
	    "job_id = $1 AND kind = 'retried') FROM jobs WHERE id = $1", 1, p);
	if (res == NULL) {
		db_fail(r, err);
		return -1;
	}
	retryable = PQntuples(res) == 1 && *PQgetvalue(res, 0, 0) == 't';
	if (retryable)
		parse_ll(PQgetvalue(res, 0, 1), 0, INT64_MAX, &n);
	PQclear(res);
	if (!retryable || n < cfg.user_retries_per_job)
		return 0;
	respond_error(r, 409, NULL, NULL, "Job %lld has been retried %lld "
	    "times, the most allowed (%lld).  Submit the video again as a "
	    "new job.", id, n, cfg.user_retries_per_job);
	return -1;
}

static void
job_action(struct req *r, long long id, int retry)
{
	struct form f = { .n = 0 };
	struct buf body;
	struct db_params dp = { 0 };
	char err[512], loc[64];
	const char *lp[1];
	PGconn *c;
	int rc, locked = 0;

	buf_init(&body, FORM_MAX_BODY);
	if (read_body(r, &body, FORM_MAX_BODY) == -1)
		goto out;
	/* Forms send the CSRF token urlencoded; scripts send nothing or
	 * JSON, and authenticate with a key. */
	if (body.len > 0 && parse_urlencoded(body.data, body.len, &f, err,
	    sizeof(err)) == -1 && r->u.via != AUTH_BEARER) {
		respond_error(r, 400, NULL, NULL, "%s", err);
		goto out;
	}
	if (csrf_check(r, &f) == -1)
		goto out;
	if ((c = req_db(r)) == NULL)
		goto out;
	if (owns(r, c, id) != 1)
		goto out;
	/* A retry obeys the limits a submission does, under the same lock. */
	if (retry) {
		lp[0] = db_param_ll(&dp, r->u.id);
		if (user_lock(r, c, lp) == -1)
			goto out;
		locked = 1;
		if (retry_allowed(r, c, id) == -1 || check_limits(r, c) == -1)
			goto out;
	}
	rc = retry ? queue_retry_job(c, id, r->u.id, err, sizeof(err)) :
	    queue_cancel_job(c, id, r->u.id, err, sizeof(err));
	if (rc == -1) {
		db_fail(r, err);
		goto out;
	}
	if (rc == 1) {
		respond_error(r, 409, NULL, NULL, "%s.", err);
		goto out;
	}
	lp_touch(id, r->u.id);
	log_ev(LOG_INFO, retry ? "job_retried" : "job_cancelled", "{sIsI}",
	    "job", (json_int_t)id, "user", (json_int_t)r->u.id);
	snprintf(loc, sizeof(loc), "/jobs/%lld", id);
	if (!r->json)
		redirect(r, loc, NULL);
	else
		respond_json(r, 200, json_pack("{sIss}", "id", (json_int_t)id,
		    "state", retry ? "running" : "cancelled"), NULL);
out:
	if (locked)
		user_unlock(r, lp);
	form_free(&f);
	buf_free(&body);
}

void
route_cancel(struct req *r, long long id)
{
	job_action(r, id, 0);
}

void
route_retry(struct req *r, long long id)
{
	job_action(r, id, 1);
}

/* ---- long-poll ---- */

void
route_events(struct req *r, long long id)
{
	struct form q = { .n = 0 };
	char err[512], *body;
	const char *v;
	long long after = 0, timeout = 25;
	unsigned long gen;
	PGresult *res = NULL;
	PGconn *c;

	if (timeout > cfg.longpoll_max)
		timeout = cfg.longpoll_max;
	if (parse_urlencoded(r->query, strlen(r->query), &q, err,
	    sizeof(err)) == -1) {
		respond_error(r, 400, NULL, NULL, "%s", err);
		goto out;
	}
	if ((v = form_get(&q, "after")) != NULL &&
	    parse_ll(v, 0, 2147483647, &after) == -1) {
		respond_error(r, 400, "after", NULL, "must be an event number "
		    "from 0 to 2147483647");
		goto out;
	}
	if ((v = form_get(&q, "timeout")) != NULL &&
	    parse_ll(v, 0, cfg.longpoll_max, &timeout) == -1) {
		respond_error(r, 400, "timeout", NULL, "must be a whole number "
		    "of seconds from 0 to %lld", cfg.longpoll_max);
		goto out;
	}
	if ((c = req_db(r)) == NULL)
		goto out;
	gen = lp_gen(id);	/* before the look: see lp_park() */
	if ((res = lp_query(c, id, r->u.id, after, err, sizeof(err))) == NULL) {
		db_fail(r, err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		r->json = 1;
		respond_error(r, 404, NULL, NULL, "You have no job %lld.", id);
		goto out;
	}
	/* Events already there, a job that has ended (nothing more will
	 * come: the answer's state says so), or no wait asked for: answer
	 * now. */
	if (!PQgetisnull(res, 0, 1) || lp_job_ended(PQgetvalue(res, 0, 0)) ||
	    timeout == 0 || shutting_down) {
		if ((body = lp_body(res, after, PQgetvalue(res, 0, 0))) == NULL) {
			respond_error(r, 500, NULL, NULL, "out of memory");
			goto out;
		}
		respond(r, 200, "application/json", NULL, body, strlen(body));
		free(body);
		goto out;
	}
	/* Nothing yet: the listener holds the request from here on; this
	 * thread and its connection go back to serving others. */
	drain_body(r);
	switch (lp_park(r, id, r->u.id, after, timeout * 1000,
	    PQgetvalue(res, 0, 0), gen)) {
	case 0:
		r->parked = 1;
		break;
	case LP_USER_FULL:
		respond_error(r, 429, NULL, "Retry-After: 5\r\n", "You have "
		    "%lld progress requests waiting; the limit is %lld.  Close "
		    "a page or try again in a few seconds.",
		    cfg.user_max_longpolls, cfg.user_max_longpolls);
		break;
	case LP_ALL_FULL:
		log_ev(LOG_WARN, "longpoll_full", "{sI}", "waiters",
		    (json_int_t)cfg.longpoll_max_waiters);
		respond_error(r, 429, NULL, "Retry-After: 5\r\n", "The server "
		    "is holding as many progress requests as it can (%lld); try "
		    "again in a few seconds.", cfg.longpoll_max_waiters);
		break;
	default:
		respond(r, 200, "application/json", NULL,
		    "{\"events\":[],\"next\":0}", 23);
	}
out:
	PQclear(res);
	form_free(&q);
}

/* ---- clip files ---- */

#define CLIP_CACHE	"Cache-Control: private, no-cache\r\n"

/*
 * A ready clip's file, after the ownership check: the web server sends
 * it from the store directory (X-Accel-Redirect, X-Sendfile), or the
 * answer redirects to the store's URL for its key, made now (a presigned
 * one is fresh for s3_presign_expires seconds).  A row with a URL but no
 * key (none today) is redirected to that URL.
 */
void
route_clip_file(struct req *r, long long id, int thumb)
{
	struct db_params dp = { 0 };
	char err[512], h[4096];
	const char *p[2], *key, *url;
	char *local = NULL, *surl = NULL;
	PGresult *res = NULL;
	PGconn *c;

	if ((c = req_db(r)) == NULL)
		return;
	p[0] = db_param_ll(&dp, id);
	p[1] = db_param_ll(&dp, r->u.id);
	res = db_exec(c, err, sizeof(err), thumb ?
	    "SELECT c.thumb_key, c.thumb_url, c.state FROM clips c JOIN jobs j"
	    " ON j.id = c.job_id WHERE c.id = $1 AND j.user_id = $2" :
	    "SELECT c.video_key, c.video_url, c.state FROM clips c JOIN jobs j"
	    " ON j.id = c.job_id WHERE c.id = $1 AND j.user_id = $2", 2, p);
	if (res == NULL) {
		db_fail(r, err);
		return;
	}
	if (PQntuples(res) == 0) {
		respond_error(r, 404, NULL, NULL, "You have no clip %lld.", id);
		goto out;
	}
	key = PQgetvalue(res, 0, 0);
	url = PQgetvalue(res, 0, 1);
	if (PQgetisnull(res, 0, 0) && PQgetisnull(res, 0, 1)) {
		respond_error(r, 404, NULL, NULL, "Clip %lld is not ready yet "
		    "(%s).", id, PQgetvalue(res, 0, 2));
		goto out;
	}
	if (*key != '\0' && store_key_valid(key) &&
	    strcmp(cfg.file_delivery, "redirect") != 0 &&
	    (local = store_local_path(r->w->store, key)) != NULL) {
		/* The web server sends the bytes from the store directory.
		 * The browser keeps them, for this user only, and asks again
		 * before reusing them (a clip may be rendered anew). */
		if (strcmp(cfg.file_delivery, "x-accel") == 0)
			snprintf(h, sizeof(h), "X-Accel-Redirect: %s%s\r\n"
			    CLIP_CACHE, cfg.x_accel_prefix, key);
		else
			snprintf(h, sizeof(h), "X-Sendfile: %s\r\n" CLIP_CACHE,
			    local);
		respond(r, 200, thumb ? "image/jpeg" : "video/mp4", h, "", 0);
		goto out;
	}
	if (*key != '\0' && (surl = store_url(r->w->store, key,
	    cfg.s3_presign_expires, err, sizeof(err))) == NULL) {
		log_ev(LOG_ERROR, "clip_url_failed", "{sIss}", "clip",
		    (json_int_t)id, "error", err);
		respond_error(r, 503, NULL, "Retry-After: 10\r\n", "The clip's "
		    "address could not be made; try again.");
		goto out;
	}
	/* Not cached: a presigned address must be asked for anew. */
	snprintf(h, sizeof(h), "Location: %s\r\n", surl ? surl : url);
	respond(r, 302, "text/plain", h, "", 0);
out:
	free(local);
	free(surl);
	PQclear(res);
}

/* ---- transcript and subtitles ---- */

/*
 * Job JOB's transcript (transcript.json in the store) into T; the caller
 * frees it with transcript_free().  0; 1 when the job has none yet; -1
 * after answering (the store or the file failed).
 */
int
load_transcript(struct req *r, long long job, struct transcript *t)
{
	struct store_stat st;
	char key[KEY_MAX], tmp[PATH_MAX], err[512];
	char *local = NULL;
	int rc, fd;

	tmp[0] = '\0';
	snprintf(err, sizeof(err), "no store key for job %lld", job);
	if (key_job_transcript(key, sizeof(key), job) == -1)
		goto fail;
	if ((rc = store_stat(r->w->store, key, &st, err, sizeof(err))) ==
	    STORE_NOTFOUND)
		return 1;
	if (rc != STORE_OK)
		goto fail;
	/* A store without local files (S3) lends a copy in scratch_dir. */
	if ((local = store_local_path(r->w->store, key)) == NULL) {
		if (mkdir_p(cfg.scratch_dir, 0700) == -1 ||
		    xsnprintf(tmp, sizeof(tmp), "%s/transcript.XXXXXX",
		    cfg.scratch_dir) == -1 ||
		    (fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
			snprintf(err, sizeof(err), "%s: %s", cfg.scratch_dir,
			    strerror(errno));
			tmp[0] = '\0';
			goto fail;
		}
		close(fd);
		if (store_get(r->w->store, key, tmp, err, sizeof(err)) !=
		    STORE_OK)
			goto fail;
	}
	if (transcript_load(local ? local : tmp, NULL, t, err,
	    sizeof(err)) == 0) {
		rc = 0;
		goto out;
	}
fail:
	log_ev(LOG_ERROR, "transcript_read_failed", "{sIss}", "job",
	    (json_int_t)job, "error", err);
	respond_error(r, 503, NULL, "Retry-After: 10\r\n", "The transcript "
	    "of job %lld could not be read; try again.", job);
	rc = -1;
out:
	if (tmp[0] != '\0')
		unlink(tmp);
	free(local);
	return rc;
}

/* The JSON of T's words, times in seconds to the millisecond (allocated;
 * caller frees), or NULL when out of memory. */
static char *
transcript_json(const struct transcript *t)
{
	json_t *o, *words;
	char *s = NULL;
	size_t i;

	words = json_array();
	o = json_pack("{s:o, s:s*}", "words", words, "language",
	    t->language[0] != '\0' ? t->language : NULL);
	if (o == NULL)
		return NULL;
	for (i = 0; i < t->nw; i++)
		if (json_array_append_new(words, json_pack("{s:s, s:f, s:f, "
		    "s:f}", "text", t->w[i].text, "start", t->w[i].start,
		    "end", t->w[i].end, "confidence", t->w[i].conf)) == -1)
			goto out;
	/* Ten digits: 10.4 reads 10.4, an hour's 3723.456 stays exact. */
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(10));
out:
	json_decref(o);
	return s;
}

/* GET /jobs/{id}/transcript: the owner's job's words with their times and
 * confidence, and the language; 404 for another's job or before the
 * transcription is done. */
void
route_transcript(struct req *r, long long id)
{
	struct db_params dp = { 0 };
	struct transcript t;
	char err[512], *body = NULL;
	const char *p[2];
	PGresult *res;
	PGconn *c;
	int rc;

	if ((c = req_db(r)) == NULL)
		return;
	p[0] = db_param_ll(&dp, id);
	p[1] = db_param_ll(&dp, r->u.id);
	if ((res = db_exec(c, err, sizeof(err), "SELECT state FROM jobs "
	    "WHERE id = $1 AND user_id = $2", 2, p)) == NULL) {
		db_fail(r, err);
		return;
	}
	if (PQntuples(res) == 0)
		respond_error(r, 404, NULL, NULL, "You have no job %lld.", id);
	else if ((rc = load_transcript(r, id, &t)) == 1)
		respond_error(r, 404, NULL, NULL, "Job %lld has no transcript "
		    "yet (%s).", id, PQgetvalue(res, 0, 0));
	else if (rc == 0) {
		if ((body = transcript_json(&t)) == NULL)
			respond_error(r, 500, NULL, NULL, "Out of memory "
			    "writing the transcript.");
		else
			respond(r, 200, "application/json", CLIP_CACHE, body,
			    strlen(body));
		transcript_free(&t);
	}
	free(body);
	PQclear(res);
}

/* The subtitles of clip CLIP of job JOB over [START, END) of the source,
 * answered as a download (VTT: WebVTT, else SubRip). */
static void
send_subtitles(struct req *r, long long job, long long clip, double start,
    double end, const char *edits_text, int vtt)
{
	struct transcript t;
	struct word *ew = NULL;
	json_t *edits;
	char h[256], *body = NULL;
	size_t en = 0;
	int rc;

	if ((rc = load_transcript(r, job, &t)) == 1) {
		respond_error(r, 404, NULL, NULL, "Clip %lld has no transcript "
		    "to make subtitles from.", clip);
		return;
	}
	if (rc != 0)
		return;
	/* the user's corrections, without the removed words (review) */
	edits = json_loads(edits_text, 0, NULL);
	if ((ew = transcript_edited(t.w, t.nw, edits, &en)) != NULL)
		body = subtitles_make(ew, en, start, end, vtt ? SUBTITLES_VTT :
		    SUBTITLES_SRT);
	free(ew);
	json_decref(edits);
	transcript_free(&t);
	if (body == NULL) {
		respond_error(r, 500, NULL, NULL, "The subtitles of clip %lld "
		    "are too long to make.", clip);
		return;
	}
	snprintf(h, sizeof(h), "Content-Disposition: attachment; "
	    "filename=\"clip-%lld.%s\"\r\n" CLIP_CACHE, clip, vtt ? "vtt" : "srt");
	respond(r, 200, vtt ? "text/vtt; charset=utf-8" : "application/x-subrip",
	    h, body, strlen(body));
	free(body);
}

/* GET /clips/{id}/subtitles.srt and .vtt: a ready clip's words as
 * subtitles in clip time, built now from the job's transcript (the words
 * its captions show); 404 for another's clip or one not ready. */
void
route_clip_subtitles(struct req *r, long long id, int vtt)
{
	struct db_params dp = { 0 };
	char err[512];
	const char *p[2];
	long long job;
	double start, end;
	PGresult *res;
	PGconn *c;

	if ((c = req_db(r)) == NULL)
		return;
	p[0] = db_param_ll(&dp, id);
	p[1] = db_param_ll(&dp, r->u.id);
	if ((res = db_exec(c, err, sizeof(err), "SELECT c.job_id, c.start_s, "
	    "c.end_s, c.state, c.video_key IS NULL AND c.video_url IS NULL, "
	    "c.edits::text FROM clips c JOIN jobs j ON j.id = c.job_id WHERE c.id = $1 AND "
	    "j.user_id = $2", 2, p)) == NULL) {
		db_fail(r, err);
		return;
	}
	if (PQntuples(res) == 0)
		respond_error(r, 404, NULL, NULL, "You have no clip %lld.", id);
	else if (strcmp(PQgetvalue(res, 0, 4), "t") == 0)
		respond_error(r, 404, NULL, NULL, "Clip %lld is not ready yet "
		    "(%s).", id, PQgetvalue(res, 0, 3));
	else if (parse_ll(PQgetvalue(res, 0, 0), 1, INT64_MAX, &job) != 0 ||
	    parse_double(PQgetvalue(res, 0, 1), 0, 1e9, &start) != 0 ||
	    parse_double(PQgetvalue(res, 0, 2), 0, 1e9, &end) != 0)
		respond_error(r, 500, NULL, NULL, "Clip %lld has no valid "
		    "bounds.", id);
	else
		send_subtitles(r, job, id, start, end, PQgetvalue(res, 0, 5),
		    vtt);
	PQclear(res);
}
