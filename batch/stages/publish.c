/*
 * publish: one task per clip.  Copies the rendered clip and its thumbnail
 * from jobs/{job}/render/{clip}.mp4|.jpg to their final keys
 * clips/{job}/{clip}-{token}.mp4|.jpg (keys.h: a new random token for
 * each file, so that no published address can be guessed or derived from
 * another), records the keys, and deletes the render keys once that is
 * committed.
 *
 * Users reach a clip through /clips/{id}/video and /clips/{id}/thumbnail
 * (fcgi/jobs.c), which check ownership and then hand the file to the web
 * server or redirect to the store's URL, presigned at that moment: the
 * "clip_ready" event names those addresses.  A store URL is kept in the
 * row only when it does not expire (s3_public_url, or a file store's
 * store_public_url), for operators (clipmill job ID).
 *
 * A store that is down or slow (STORE_AGAIN) makes the task transient: the
 * runner retries it with backoff, and after the last attempt fails the
 * clip (clips.state 'failed', event "clip_failed").  The last attempt also
 * raises the alert here, as a log line operators can match
 * ("publish_failed", "alert": true); the metric is the count of
 * "clip_failed" events of stage "publish".
 *
 * Retries are safe: the render keys are deleted only after the final keys
 * are recorded (committed()), so every attempt finds them.  An attempt that
 * stored its copies and then died leaves them under clips/{job}/, which
 * pruning the job removes.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "runner/stage.h"
#include "store.h"
#include "util.h"
#include "webhook.h"

#define KEYLEN 600

struct pub_obj {
	const char	*what;		/* "clip", "thumbnail" for messages */
	const char	*ext;
	const char	*ctype;
	char		 src[KEYLEN];
	char		 dst[KEYLEN];
	char		 local[PATH_MAX];
	int		 present;	/* published */
};

/* O's keys: the render key (the task payload's, which render's done()
 * may name, else the contract's jobs/{job}/render/{clip}.EXT) and a final
 * key with a new token.  0, or -1 with ERR. */
static int
pick_keys(const struct task *t, struct pub_obj *o, const char *payload_field,
    char *err, size_t errlen)
{
	const char *k = NULL;
	char prefix[KEY_MAX], tok[KEY_TOKEN_LEN + 1];

	if (t->payload != NULL)
		k = json_string_value(json_object_get(t->payload, payload_field));
	if (key_token(tok) == -1) {
		seterr(err, errlen, "no random numbers for the clip's address: "
		    "%s", strerror(errno));
		return -1;
	}
	if (key_job_prefix(prefix, sizeof(prefix), t->job_id) == -1 ||
	    key_clip_public(o->dst, sizeof(o->dst), t->job_id, t->clip_id,
	    tok, o->ext) == -1) {
		seterr(err, errlen, "the task names no job or clip");
		return -1;
	}
	if (k != NULL) {
		/* only this job's own artifacts may be moved */
		if (!store_key_valid(k) || strncmp(k, prefix, strlen(prefix)) != 0 ||
		    xsnprintf(o->src, sizeof(o->src), "%s", k) == -1) {
			seterr(err, errlen, "the %s's store key \"%.80s\" is not "
			    "one of this job's", o->what, k);
			return -1;
		}
	} else
		key_clip_render(o->src, sizeof(o->src), t->job_id, t->clip_id,
		    o->ext);
	return 0;
}

/* Copy O from its render key to its final key through the scratch
 * directory.  STORE_OK, or a store rc with ERR; STORE_NOTFOUND when the
 * render key does not exist. */
static int
move_in(struct task_ctx *ctx, struct pub_obj *o, char *err, size_t errlen)
{
	int rc;

	if (xsnprintf(o->local, sizeof(o->local), "%s/publish.%s", ctx->scratch,
	    o->ext) == -1) {
		seterr(err, errlen, "the scratch directory's path is too long");
		return STORE_ERR;
	}
	rc = store_get(ctx->store, o->src, o->local, err, errlen);
	if (rc == STORE_NOTFOUND) {
		seterr(err, errlen, "the rendered %s (%s) is not in the store",
		    o->what, o->src);
		return rc;
	}
	if (rc != STORE_OK)
		return rc;
	rc = store_put(ctx->store, o->dst, o->local, o->ctype, err, errlen);
	unlink(o->local);
	if (rc == STORE_OK)
		o->present = 1;
	return rc;
}

/* Alert once the clip will not be published: a log line for operators.
 * The user-visible event (clip_failed) is written by the runner when it
 * fails the task for good. */
static void
alert(const struct task *t, const char *why)
{
	log_ev(LOG_ERROR, "publish_failed", "{sbsIsIsiss}", "alert", 1,
	    "job", t->job_id, "clip", t->clip_id, "attempt", t->attempts,
	    "error", why);
}

/* The store URLs of V and TH into *VURL and *TURL (allocated, or NULL)
 * when they stay valid; presigned ones are made when handed out.  0, or
 * -1 with ERR. */
static int
lasting_urls(struct task_ctx *ctx, const struct pub_obj *v,
    const struct pub_obj *th, char **vurl, char **turl, char *err,
    size_t errlen)
{
	*vurl = *turl = NULL;
	if (!store_url_lasts(ctx->store))
		return 0;
	if ((*vurl = store_url(ctx->store, v->dst, 0, err, errlen)) == NULL)
		return -1;
	if (th->present && (*turl = store_url(ctx->store, th->dst, 0, err,
	    errlen)) == NULL) {
		free(*vurl);
		*vurl = NULL;
		return -1;
	}
	return 0;
}

static enum stage_rc
publish_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const struct task *t = ctx->task;
	struct pub_obj v = { "clip", "mp4", "video/mp4", "", "", "", 0 };
	struct pub_obj th = { "thumbnail", "jpg", "image/jpeg", "", "", "", 0 };
	char *vurl = NULL, *turl = NULL;
	enum stage_rc src = STAGE_OK;
	int rc;

	*result = NULL;
	if (t->clip_id <= 0) {
		seterr(err, errlen, "publish needs a clip; this task has none");
		return STAGE_PERMANENT;
	}
	if (pick_keys(t, &v, "video_key", err, errlen) == -1 ||
	    pick_keys(t, &th, "thumb_key", err, errlen) == -1)
		return STAGE_PERMANENT;
	if (task_progress(ctx, 5, "publishing the clip"))
		return STAGE_CANCELLED;

	if ((rc = move_in(ctx, &v, err, errlen)) != STORE_OK) {
		src = stage_store_rc(rc);
		goto fail;
	}
	if (task_progress(ctx, 60, "publishing the thumbnail"))
		return STAGE_CANCELLED;
	rc = move_in(ctx, &th, err, errlen);
	if (rc == STORE_NOTFOUND) {
		/* a clip without a picture is still a clip */
		task_event(ctx, "fallback", "The clip was published without a "
		    "thumbnail, because none was rendered.", NULL);
	} else if (rc != STORE_OK) {
		src = stage_store_rc(rc);
		goto fail;
	}
	if (lasting_urls(ctx, &v, &th, &vurl, &turl, err, errlen) == -1) {
		src = STAGE_PERMANENT;
		goto fail;
	}

	/* render_*: what committed() deletes once the keys are recorded */
	*result = json_pack("{sssossso*so*ssso*}", "video_key", v.dst,
	    "thumb_key", th.present ? json_string(th.dst) : json_null(),
	    "render_video_key", v.src,
	    "render_thumb_key", th.present ? json_string(th.src) : NULL,
	    "video_url", vurl != NULL ? json_string(vurl) : json_null(),
	    "store", cfg.store,
	    "thumb_url", turl != NULL ? json_string(turl) : json_null());
	free(vurl);
	free(turl);
	if (*result == NULL) {
		seterr(err, errlen, "out of memory");
		return STAGE_TRANSIENT;
	}
	task_progress(ctx, 100, "published");
	return STAGE_OK;
fail:
	/* the runner retries transient failures until the last attempt */
	if (src == STAGE_PERMANENT || t->attempts >= t->max_attempts)
		alert(t, err);
	else
		log_ev(LOG_WARN, "publish_retry", "{sIsIsiss}", "job", t->job_id,
		    "clip", t->clip_id, "attempt", t->attempts, "error", err);
	return src;
}

/* PAYLOAD's number FIELD as a query parameter (kept in DP), or NULL. */
static const char *
json_number_param(struct db_params *dp, const json_t *payload,
    const char *field)
{
	json_t *v = json_object_get(payload, field);

	if (json_is_integer(v))
		return db_param_ll(dp, json_integer_value(v));
	if (!json_is_number(v))
		return NULL;
	if (dp->n >= DB_NPARAMS)
		return NULL;
	snprintf(dp->v[dp->n], sizeof(dp->v[0]), "%.3f",
	    json_number_value(v));
	return dp->v[dp->n++];
}

/* In the completing transaction, before the new keys are recorded: the
 * files a clip rendered anew was served from until now (P[0] the clip,
 * P[1] the job, P[2] and P[3] the new keys) go into RESULT as
 * "old_video_key" and "old_thumb_key", for committed() to delete.  0 or
 * -1. */
static int
old_files(PGconn *c, const char *const *p, json_t *result, char *err,
    size_t errlen)
{
	static const char *const field[] = { "old_video_key", "old_thumb_key" };
	static const char *const render[] = { "render_video_key",
	    "render_thumb_key" };
	const char *old, *rk;
	PGresult *r;
	int i;

	r = db_exec(c, err, errlen, "SELECT video_key, thumb_key FROM clips"
	    " WHERE id = $1 AND job_id = $2 FOR UPDATE", 2, p);
	if (r == NULL)
		return -1;
	for (i = 0; i < 2 && PQntuples(r) == 1; i++) {
		if (PQgetisnull(r, 0, i))
			continue;
		old = PQgetvalue(r, 0, i);
		rk = json_string_value(json_object_get(result, render[i]));
		if ((p[2 + i] == NULL || strcmp(old, p[2 + i]) != 0) &&
		    (rk == NULL || strcmp(old, rk) != 0))
			json_object_set_new(result, field[i], json_string(old));
	}
	PQclear(r);
	return 0;
}

/* In the completing transaction: the clip is ready; tell the user, with
 * the addresses that serve it (each checks who asks). */
static int
publish_done(PGconn *c, const struct task *t, json_t *result, char *err,
    size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[6];
	char vpath[64], tpath[64];
	json_t *ev;
	long long seq, rank = 0;
	PGresult *r;

	p[2] = json_string_value(json_object_get(result, "video_key"));
	p[3] = json_string_value(json_object_get(result, "thumb_key"));
	p[4] = json_string_value(json_object_get(result, "video_url"));
	p[5] = json_string_value(json_object_get(result, "thumb_url"));
	if (p[2] == NULL) {
		seterr(err, errlen, "publish finished without a video key");
		return -1;
	}
	p[0] = db_param_ll(&dp, t->clip_id);
	p[1] = db_param_ll(&dp, t->job_id);
	if (old_files(c, p, result, err, errlen) == -1)
		return -1;
	{
		const char *q[9] = { p[0], p[1], p[2], p[3], p[4], p[5] };

		/* a clip rendered anew: the size of the file now served */
		q[6] = json_number_param(&dp, t->payload, "width");
		q[7] = json_number_param(&dp, t->payload, "height");
		q[8] = json_number_param(&dp, t->payload, "duration");
		r = db_exec(c, err, errlen,
		    "UPDATE clips SET state = 'ready', video_key = $3,"
		    " thumb_key = $4, video_url = $5, thumb_url = $6,"
		    " ready_at = now(), error = NULL,"
		    " width = coalesce($7::int, width),"
		    " height = coalesce($8::int, height),"
		    " duration_s = coalesce($9::float8, duration_s)"
		    " WHERE id = $1 AND job_id = $2 RETURNING rank, aspect", 9, q);
	}
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		seterr(err, errlen, "clip %lld of job %lld is gone", t->clip_id,
		    t->job_id);
		return -1;
	}
	parse_ll(PQgetvalue(r, 0, 0), 0, INT32_MAX, &rank);
	clip_route(vpath, sizeof(vpath), t->clip_id, 0);
	clip_route(tpath, sizeof(tpath), t->clip_id, 1);
	ev = json_pack("{sIsIsssssoss}", "clip", t->clip_id, "rank", rank,
	    "aspect", PQgetvalue(r, 0, 1), "video_url", vpath,
	    "thumb_url", p[3] != NULL ? json_string(tpath) : json_null(),
	    "msg", "A clip is ready.");
	PQclear(r);
	if (ev == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	seq = queue_event(c, t->job_id, "clip_ready", "publish", ev, err, errlen);
	if (seq >= 0 && webhook_enqueue(c, t->job_id, "clip.ready", seq, ev,
	    err, errlen) == -1)
		seq = -1;
	json_decref(ev);
	return seq < 0 ? -1 : 0;
}

/* After the commit: the render copies can go.  A failed delete leaves
 * garbage for pruning, not a broken clip. */
static void
publish_committed(struct store *st, const struct task *t, json_t *result)
{
	/* and the files of the render this one replaces */
	static const char *const fields[] = { "render_video_key",
	    "render_thumb_key", "old_video_key", "old_thumb_key" };
	const char *k;
	char derr[512];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		k = json_string_value(json_object_get(result, fields[i]));
		if (k == NULL)
			continue;
		rc = store_delete(st, k, derr, sizeof(derr));
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			log_ev(LOG_WARN, "publish_cleanup_failed", "{sIss}",
			    "job", t->job_id, "error", derr);
	}
}

const struct stage stage_publish = {
	.name = "publish",
	.isolated = 1,
	.test_only = 0,
	.batch = 1,
	.cap = &cfg.cap_publish,
	.run = publish_run,
	.done = publish_done,
	.committed = publish_committed,
};
