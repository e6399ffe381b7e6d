/*
 * Review and editing (issue 13): PATCH /clips/{id} (bounds snapped to
 * words, title, word corrections, removed words, aspect, layout, caption
 * style), POST /clips/{id}/render and POST /jobs/{id}/render (the chosen
 * clips, or every candidate).
 *
 * Each route first locks the job and checks that it is the user's
 * (another user's clip or job is 404 with the same sentence as a missing
 * one), then the CSRF token of a browser session (field "csrf", in a JSON
 * or urlencoded body), then the fields (400 naming the field).  Every
 * change is written with an event, in one transaction: the job document
 * is cached by its last_seq.
 *
 * A render asked for reuses the clip's framing when its bounds, aspect and
 * layout are those it was framed for (clips.framed); otherwise the clip is
 * framed again first.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "db.h"
#include "extern.h"
#include "jobspec.h"
#include "log.h"
#include "queue.h"
#include "transcript.h"
#include "util.h"


/* Read the body into *BODY (see review_body) and F.  0; 1 when it could not
 * be read as fields (*BODY NULL, ERR says why: answered after the
 * ownership and CSRF checks); -1 after answering (413). */
static int
read_review_body(struct req *r, json_t **body, struct form *f, char *err,
    size_t errlen)
{
	struct buf b;
	int rc;

	buf_init(&b, FORM_MAX_BODY);
	if (read_body(r, &b, FORM_MAX_BODY) == -1) {
		buf_free(&b);
		return -1;
	}
	rc = review_body(param(r, "CONTENT_TYPE"), b.data, b.len, body, f,
	    err, errlen) == 0 ? 0 : 1;
	buf_free(&b);
	return rc;
}

/* ---- locking and loading ---- */

/* In a transaction: lock the job of clip ID (or job ID when JOB) when it
 * is the user's; 1 with its id in *JOB_ID, 0 after answering 404, -1
 * after answering (the database failed). */
static int
lock_owned(struct req *r, PGconn *c, long long id, int job,
    long long *job_id)
{
	struct db_params dp = { 0 };
	const char *p[2];
	char err[512];
	PGresult *res;
	int n;

	p[0] = db_param_ll(&dp, id);
	p[1] = db_param_ll(&dp, r->u.id);
	res = db_exec(c, err, sizeof(err), job ?
	    "SELECT id FROM jobs WHERE id = $1 AND user_id = $2 FOR UPDATE" :
	    "SELECT id FROM jobs WHERE id = (SELECT job_id FROM clips"
	    " WHERE id = $1) AND user_id = $2 FOR UPDATE", 2, p);
	if (res == NULL) {
		db_fail(r, err);
		return -1;
	}
	n = PQntuples(res);
	if (n == 1)
		parse_ll(PQgetvalue(res, 0, 0), 1, INT64_MAX, job_id);
	PQclear(res);
	if (n == 1)
		return 1;
	if (job)
		respond_error(r, 404, NULL, NULL, "You have no job %lld.", id);
	else
		respond_error(r, 404, NULL, NULL, "You have no clip %lld.", id);
	return 0;
}

/* In the transaction, the job locked: clip ID's row into CE (locked).
 * 0, or -1 with ERR. */
static int
load_clip(PGconn *c, long long id, struct clipedit *ce, char *err,
    size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[1] = { db_param_ll(&dp, id) };
	PGresult *res;

	res = db_exec(c, err, errlen, "SELECT c.job_id, c.state, c.start_s,"
	    " c.end_s, c.aspect, coalesce(c.layout, ''),"
	    " coalesce(c.caption_style, ''), coalesce(c.title, ''),"
	    " c.edits::text, j.state, coalesce(j.probe->>'duration', '0')"
	    " FROM clips c JOIN jobs j ON j.id = c.job_id WHERE c.id = $1"
	    " FOR UPDATE OF c", 1, p);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		seterr(err, errlen, "clip %lld is gone", id);
		return -1;
	}
	ce->id = id;
	parse_ll(PQgetvalue(res, 0, 0), 1, INT64_MAX, &ce->job);
	snprintf(ce->state, sizeof(ce->state), "%s", PQgetvalue(res, 0, 1));
	parse_double(PQgetvalue(res, 0, 2), 0, 1e9, &ce->start);
	parse_double(PQgetvalue(res, 0, 3), 0, 1e9, &ce->end);
	snprintf(ce->aspect, sizeof(ce->aspect), "%s", PQgetvalue(res, 0, 4));
	snprintf(ce->layout, sizeof(ce->layout), "%s", PQgetvalue(res, 0, 5));
	snprintf(ce->style, sizeof(ce->style), "%s", PQgetvalue(res, 0, 6));
	snprintf(ce->title, sizeof(ce->title), "%s", PQgetvalue(res, 0, 7));
	ce->edits = json_loads(PQgetvalue(res, 0, 8), 0, NULL);
	snprintf(ce->job_state, sizeof(ce->job_state), "%s",
	    PQgetvalue(res, 0, 9));
	if (parse_double(PQgetvalue(res, 0, 10), 0, 1e9, &ce->duration) == -1)
		ce->duration = 0;
	PQclear(res);
	if (!json_is_object(ce->edits)) {
		json_decref(ce->edits);
		ce->edits = json_object();
	}
	ce->fields = json_array();
	return 0;
}

/* 0 when clip CE may be edited or rendered now; else -1 after answering
 * 409 with a sentence. */
static int
clip_idle(struct req *r, const struct clipedit *ce)
{
	if (strcmp(ce->job_state, "cancelled") == 0) {
		respond_error(r, 409, NULL, NULL, "Job %lld was cancelled; "
		    "submit the video again.", ce->job);
		return -1;
	}
	if (strcmp(ce->state, "candidate") == 0 ||
	    strcmp(ce->state, "ready") == 0 || strcmp(ce->state, "failed") == 0)
		return 0;
	if (strcmp(ce->state, "cancelled") == 0)
		respond_error(r, 409, NULL, NULL, "Clip %lld was cancelled.",
		    ce->id);
	else
		respond_error(r, 409, NULL, NULL, "Clip %lld is being rendered "
		    "(%s); wait until it is ready or has failed.", ce->id,
		    ce->state);
	return -1;
}

/* Answer 200 with clip ID as GET /jobs/{id} lists it. */
static void
answer_clip(struct req *r, PGconn *c, long long id)
{
	struct db_params dp = { 0 };
	const char *p[1] = { db_param_ll(&dp, id) };
	char err[512];
	PGresult *res;
	json_t *j;

	res = db_exec(c, err, sizeof(err), "SELECT " CLIP_JSON_SQL "::text"
	    " FROM clips c JOIN jobs j ON j.id = c.job_id WHERE c.id = $1",
	    1, p);
	if (res == NULL) {
		db_fail(r, err);
		return;
	}
	j = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) :
	    NULL;
	PQclear(res);
	if (j == NULL)
		respond_error(r, 500, NULL, NULL, "The clip could not be read.");
	else
		respond_json(r, 200, j, NULL);
}

/* ---- PATCH /clips/{id} ---- */

/* In the transaction: write CE and the event clip_edited.  0 or -1. */
static int
save_clip(PGconn *c, const struct clipedit *ce, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[8];
	char s[32], e[32], *ed;
	json_t *ev;
	long long seq;
	int rc;

	if ((ed = json_dumps(ce->edits, JSON_COMPACT)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	snprintf(s, sizeof(s), "%.3f", ce->start);
	snprintf(e, sizeof(e), "%.3f", ce->end);
	p[0] = db_param_ll(&dp, ce->id);
	p[1] = s;
	p[2] = e;
	p[3] = ce->title[0] ? ce->title : NULL;
	p[4] = ed;
	p[5] = ce->aspect;
	p[6] = ce->layout[0] ? ce->layout : NULL;
	p[7] = ce->style[0] ? ce->style : NULL;
	rc = db_cmd(c, err, errlen, "UPDATE clips SET start_s = $2,"
	    " end_s = $3, title = $4, edits = $5::jsonb, aspect = $6,"
	    " layout = $7, caption_style = $8 WHERE id = $1", 8, p);
	free(ed);
	if (rc == -1)
		return -1;
	ev = json_pack("{sIsOss}", "clip", (json_int_t)ce->id, "fields",
	    ce->fields, "msg", "A clip was edited.");
	seq = queue_event(c, ce->job, "clip_edited", NULL, ev, err, errlen);
	json_decref(ev);
	return seq < 0 ? -1 : 0;
}

/* Whether BODY asks for something that needs the transcript. */
static int
needs_words(json_t *body)
{
	return json_object_get(body, "start") != NULL ||
	    json_object_get(body, "end") != NULL ||
	    json_object_get(body, "words") != NULL ||
	    json_object_get(body, "removed") != NULL;
}

/* In the transaction, after the ownership and CSRF checks: check BODY
 * against clip ID and write it.  0 when the transaction is to be
 * committed (the caller answers), -1 after answering (the caller rolls
 * back). */
static int
patch_clip(struct req *r, PGconn *c, long long id, json_t *body)
{
	struct clipedit ce;
	struct transcript t;
	char err[512], field[64];
	int rc = -1, have_t = 0, lt;

	memset(&ce, 0, sizeof(ce));
	if (load_clip(c, id, &ce, err, sizeof(err)) == -1) {
		db_fail(r, err);
		goto out;
	}
	if (clip_idle(r, &ce) == -1)
		goto out;
	if (needs_words(body)) {
		if ((lt = load_transcript(r, ce.job, &t)) == -1)
			goto out;
		have_t = lt == 0;
		ce.t = have_t ? &t : NULL;
		if (have_t && ce.duration <= 0)
			ce.duration = t.duration;
	}
	ce.be = backends_conf();
	if (review_edit(body, &ce, field, sizeof(field), err,
	    sizeof(err)) == -1) {
		respond_error(r, 400, field, NULL, "%s.", err);
		goto out;
	}
	if (json_array_size(ce.fields) > 0 &&
	    save_clip(c, &ce, err, sizeof(err)) == -1) {
		db_fail(r, err);
		goto out;
	}
	rc = 0;
out:
	if (have_t)
		transcript_free(&t);
	json_decref(ce.edits);
	json_decref(ce.fields);
	return rc;
}

/*
 * What every route here begins with: the body read into *BODY and F, a
 * transaction begun on *C, the job (of clip ID, or job ID when JOB) locked
 * and found to be the user's (*JOB_ID), the CSRF token checked, the body
 * readable.  A render (RENDER) may reopen the job, so it takes the user's
 * submission lock first, as a retry does.  0 inside the transaction; -1
 * after answering (rolled back).
 */
static int
review_begin(struct req *r, long long id, int job, int render, json_t **body,
    struct form *f, PGconn **c, long long *job_id)
{
	char err[512] = "";
	int rc;

	*c = NULL;
	if ((rc = read_review_body(r, body, f, err, sizeof(err))) == -1 ||
	    (*c = req_db(r)) == NULL)
		return -1;
	if (db_begin(*c, err, sizeof(err)) == -1) {
		db_fail(r, err);
		return -1;
	}
	if ((render && user_xact_lock(r, *c) == -1) ||
	    lock_owned(r, *c, id, job, job_id) != 1 || csrf_check(r, f) == -1)
		goto fail;
	if (rc == 1) {
		respond_error(r, 400, NULL, NULL, "%s", err);
		goto fail;
	}
	return 0;
fail:
	db_rollback(*c);
	return -1;
}

void
route_clip_patch(struct req *r, long long id)
{
	struct form f = { .n = 0 };
	json_t *body = NULL;
	char err[512];
	long long job;
	PGconn *c;

	if (review_begin(r, id, 0, 0, &body, &f, &c, &job) == -1)
		goto out;
	if (patch_clip(r, c, id, body) == -1) {
		db_rollback(c);
		goto out;
	}
	if (db_commit(c, err, sizeof(err)) == -1) {
		db_fail(r, err);
		goto out;
	}
	lp_touch(job, r->u.id);
	log_ev(LOG_INFO, "clip_edited", "{sIsI}", "clip", (json_int_t)id,
	    "user", (json_int_t)r->u.id);
	answer_clip(r, c, id);
out:
	json_decref(body);
	form_free(&f);
}

/* ---- rendering the chosen clips ---- */

/* Whether clip row R (see queue_render's query) is still framed as its
 * bounds, aspect and layout ask: the framing can be reused. */
static int
framing_fits(PGresult *res, json_t *framed)
{
	double s = 0, e = 0;
	const char *a, *l, *fl;

	if (!json_is_object(framed) || json_object_get(framed,
	    "crop_key") == NULL)
		return 0;
	parse_double(PQgetvalue(res, 0, 0), 0, 1e9, &s);
	parse_double(PQgetvalue(res, 0, 1), 0, 1e9, &e);
	a = json_string_value(json_object_get(framed, "aspect"));
	fl = json_string_value(json_object_get(framed, "layout"));
	l = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3);
	return fabs(json_number_value(json_object_get(framed, "start")) - s) <
	    0.001 && fabs(json_number_value(json_object_get(framed, "end")) -
	    e) < 0.001 && a != NULL && strcmp(a, PQgetvalue(res, 0, 2)) == 0 &&
	    ((l == NULL && fl == NULL) || (l != NULL && fl != NULL &&
	    strcmp(l, fl) == 0));
}

/* In the transaction, the job locked: queue clip ID of job JOB: its render
 * with its framing, or its framing again first.  *STAGE gets which.  0 or
 * -1 with ERR. */
static int
queue_render(PGconn *c, long long job, long long id, const char **stage,
    char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[1] = { db_param_ll(&dp, id) };
	json_t *framed, *pl, *edits, *v;
	PGresult *res;
	int rc;

	res = db_exec(c, err, errlen, "UPDATE clips SET state = 'pending',"
	    " error = NULL WHERE id = $1 RETURNING start_s, end_s, aspect,"
	    " layout, framed::text, edits::text, caption_style, rank", 1, p);
	if (res == NULL)
		return -1;
	framed = PQgetisnull(res, 0, 4) ? NULL :
	    json_loads(PQgetvalue(res, 0, 4), 0, NULL);
	edits = json_loads(PQgetvalue(res, 0, 5), 0, NULL);
	if (framing_fits(res, framed)) {
		*stage = "render";
		pl = json_pack("{sfsfsssOso}", "start", json_number_value(
		    json_object_get(framed, "start")), "end", json_number_value(
		    json_object_get(framed, "end")), "aspect",
		    PQgetvalue(res, 0, 2), "crop_key", json_object_get(framed,
		    "crop_key"), "edits", edits != NULL ? json_incref(edits) :
		    json_object());
		if (pl != NULL && !PQgetisnull(res, 0, 6))
			json_object_set_new(pl, "caption_style",
			    json_string(PQgetvalue(res, 0, 6)));
	} else {
		long long rank = 1;
		double s = 0, e = 0;

		*stage = "frame";
		parse_ll(PQgetvalue(res, 0, 7), 0, INT32_MAX, &rank);
		parse_double(PQgetvalue(res, 0, 0), 0, 1e9, &s);
		parse_double(PQgetvalue(res, 0, 1), 0, 1e9, &e);
		pl = json_pack("{s[{sIsIsfsfss}]}", "clips", "id",
		    (json_int_t)id, "rank", (json_int_t)rank, "start", s, "end",
		    e, "aspect", PQgetvalue(res, 0, 2));
		if (pl != NULL && !PQgetisnull(res, 0, 3))
			json_object_set_new(json_array_get(json_object_get(pl,
			    "clips"), 0), "layout",
			    json_string(PQgetvalue(res, 0, 3)));
	}
	/* what the first framing was told: captions, the transcript */
	if (pl != NULL && (v = json_object_get(framed, "captions")) != NULL)
		json_object_set(pl, "captions", v);
	if (pl != NULL && (v = json_object_get(framed,
	    "transcript_key")) != NULL)
		json_object_set(pl, "transcript_key", v);
	PQclear(res);
	json_decref(framed);
	json_decref(edits);
	if (pl == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	/* a task of the clip's: its failure fails the clip, not the job */
	rc = queue_add_task(c, job, id, *stage, pl, err, errlen);
	json_decref(pl);
	return rc;
}

#define RENDER_MAX	64	/* clips one request may choose */

/* A render of job JOB (locked, as is the user's submission lock) that is
 * not in progress makes it unfinished again: as a retry does, it must
 * leave the user within user_max_jobs.  0, or -1 after answering. */
static int
reopen_allowed(struct req *r, PGconn *c, long long job)
{
	struct db_params dp = { 0 };
	const char *p[2];
	char err[512];
	long long active = 0;
	PGresult *res;
	int live;

	p[0] = db_param_ll(&dp, job);
	p[1] = db_param_ll(&dp, r->u.id);
	if ((res = db_exec(c, err, sizeof(err), "SELECT (SELECT state IN"
	    " ('pending', 'running') FROM jobs WHERE id = $1), (SELECT count(*)"
	    " FROM jobs WHERE user_id = $2 AND state IN ('pending', 'running'))",
	    2, p)) == NULL) {
		db_fail(r, err);
		return -1;
	}
	live = *PQgetvalue(res, 0, 0) == 't';
	parse_ll(PQgetvalue(res, 0, 1), 0, INT64_MAX, &active);
	PQclear(res);
	return live ? 0 : user_jobs_full(r, active);
}

/* In the transaction, job JOB locked: queue the render of its N clips
 * IDS (each locked and checked), the job running again (also a finished
 * one), with the event render_requested.  0, or -1 after answering. */
static int
render_clips(struct req *r, PGconn *c, long long job, const long long *ids,
    size_t n)
{
	struct db_params dp = { 0 };
	struct clipedit ce;
	const char *p[1] = { db_param_ll(&dp, job) }, *stage;
	char err[512], msg[128];
	int frame = 0, render = 0;
	json_t *list = json_array(), *ev;
	size_t i;

	if (reopen_allowed(r, c, job) == -1) {
		json_decref(list);
		return -1;
	}
	for (i = 0; i < n; i++) {
		memset(&ce, 0, sizeof(ce));
		if (load_clip(c, ids[i], &ce, err, sizeof(err)) == -1)
			goto dbfail;
		json_decref(ce.edits);
		json_decref(ce.fields);
		if (clip_idle(r, &ce) == -1) {
			json_decref(list);
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		if (queue_render(c, job, ids[i], &stage, err, sizeof(err)) == -1)
			goto dbfail;
		*stage == 'f' ? frame++ : render++;
		json_array_append_new(list, json_integer(ids[i]));
	}
	snprintf(msg, sizeof(msg), "%zu clip%s will be rendered.", n,
	    n == 1 ? "" : "s");
	ev = json_pack("{sOss}", "clips", list, "msg", msg);
	if (db_cmd(c, err, sizeof(err), "UPDATE jobs SET state = 'running',"
	    " finished_at = NULL, error = NULL, updated_at = now()"
	    " WHERE id = $1 AND state <> 'running'", 1, p) == -1 ||
	    queue_event(c, job, "render_requested", NULL, ev, err,
	    sizeof(err)) < 0 ||
	    (frame && queue_notify_stage(c, "frame", err, sizeof(err)) == -1) ||
	    (render && queue_notify_stage(c, "render", err, sizeof(err)) == -1)) {
		json_decref(ev);
		goto dbfail;
	}
	json_decref(ev);
	json_decref(list);
	return 0;
dbfail:
	json_decref(list);
	db_fail(r, err);
	return -1;
}

/* Commit and answer 202 {"job", "clips"}; or answer the failure. */
static void
render_accepted(struct req *r, PGconn *c, long long job, const long long *ids,
    size_t n)
{
	char err[512];
	json_t *a;
	size_t i;

	if (db_commit(c, err, sizeof(err)) == -1) {
		db_fail(r, err);
		return;
	}
	lp_touch(job, r->u.id);
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	log_ev(LOG_INFO, "render_requested", "{sIsIsi}", "job",
	    (json_int_t)job, "user", (json_int_t)r->u.id, "clips", (int)n);
	respond_json(r, 202, json_pack("{sIso}", "job", (json_int_t)job,
	    "clips", a), NULL);
}

void
route_clip_render(struct req *r, long long id)
{
	struct form f = { .n = 0 };
	json_t *body = NULL;
	long long job;
	PGconn *c;

	if (review_begin(r, id, 0, 1, &body, &f, &c, &job) == -1)
		goto out;
	if (render_clips(r, c, job, &id, 1) == -1)
		db_rollback(c);
	else
		render_accepted(r, c, job, &id, 1);
out:
	json_decref(body);
	form_free(&f);
}

/* The clips BODY chooses of job JOB into IDS (room for RENDER_MAX), or
 * every candidate when it names none.  The count, or -1 after answering
 * (400 clips, 409 when no candidate is left). */
static long
chosen_clips(struct req *r, PGconn *c, long long job, json_t *body,
    long long *ids)
{
	struct db_params dp = { 0 };
	json_t *a = json_object_get(body, "clips"), *v;
	const char *p[1] = { db_param_ll(&dp, job) };
	char err[512];
	PGresult *res;
	size_t i, k, n = 0;
	long long id;
	int found;

	if (a != NULL && (!json_is_array(a) || json_array_size(a) > RENDER_MAX)) {
		respond_error(r, 400, "clips", NULL, "must be an array of at "
		    "most %d clip ids of job %lld.", RENDER_MAX, job);
		return -1;
	}
	if ((res = db_exec(c, err, sizeof(err), "SELECT id, state = 'candidate'"
	    " FROM clips WHERE job_id = $1 ORDER BY rank, id", 1, p)) == NULL) {
		db_fail(r, err);
		return -1;
	}
	if (json_array_size(a) == 0) {
		for (i = 0; i < (size_t)PQntuples(res) && n < RENDER_MAX; i++)
			if (*PQgetvalue(res, (int)i, 1) == 't')
				parse_ll(PQgetvalue(res, (int)i, 0), 1,
				    INT64_MAX, &ids[n++]);
		PQclear(res);
		if (n == 0)
			respond_error(r, 409, NULL, NULL, "Job %lld has no "
			    "candidate clips left to render; name the clips to "
			    "render again.", job);
		return n == 0 ? -1 : (long)n;
	}
	json_array_foreach(a, k, v) {
		id = json_is_integer(v) ? json_integer_value(v) : -1;
		if (json_is_string(v) && parse_ll(json_string_value(v), 1,
		    INT64_MAX, &id) == -1)
			id = -1;
		for (i = 0, found = 0; i < (size_t)PQntuples(res); i++)
			found |= strtoll(PQgetvalue(res, (int)i, 0), NULL,
			    10) == id;
		if (!found) {
			PQclear(res);
			respond_error(r, 400, "clips", NULL, "item %zu is not a "
			    "clip of job %lld.", k + 1, job);
			return -1;
		}
		for (i = 0, found = 0; i < n; i++)
			found |= ids[i] == id;
		if (!found)
			ids[n++] = id;
	}
	PQclear(res);
	return (long)n;
}

void
route_job_render(struct req *r, long long id)
{
	struct form f = { .n = 0 };
	long long ids[RENDER_MAX], job;
	json_t *body = NULL;
	PGconn *c;
	long n;

	if (review_begin(r, id, 1, 1, &body, &f, &c, &job) == -1)
		goto out;
	if ((n = chosen_clips(r, c, job, body, ids)) < 0 ||
	    render_clips(r, c, job, ids, (size_t)n) == -1)
		db_rollback(c);
	else
		render_accepted(r, c, job, ids, (size_t)n);
out:
	json_decref(body);
	form_free(&f);
}
