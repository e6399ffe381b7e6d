/*
 * The fetch stage: get the job's source into the store and judge it.
 *
 * How a URL is fetched: libcurl asks for it first.  A 2xx answer with a
 * media content type (video/..., audio/..., application/mp4,
 * octet-stream) is
 * a direct media URL and is downloaded there and then.  Anything else (a
 * web page, an error status) is handed to yt-dlp, which knows the sites.
 * That first request also applies the address policy to the URL's host,
 * so a site URL pointing inside is refused before yt-dlp starts; yt-dlp's
 * own connections (the page again, redirects, the media it finds) go
 * through a proxy that holds each one to the same policy (proxy.c).
 * Uploads are already in the store at jobs.source_key.  Every source is
 * probed the same way and stored as jobs/{id}/source.EXT.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "fetch.h"
#include "keys.h"
#include "log.h"
#include "mediatype.h"
#include "media/probe.h"
#include "runner/stage.h"
#include "util.h"

static enum stage_rc
from_fetch_rc(enum fetch_rc r)
{
	switch (r) {
	case FETCH_OK:
		return STAGE_OK;
	case FETCH_CANCELLED:
		return STAGE_CANCELLED;
	case FETCH_TRANSIENT:
		return STAGE_TRANSIENT;
	case FETCH_NOT_MEDIA:
	case FETCH_PERMANENT:
		break;
	}
	return STAGE_PERMANENT;
}

/* Download URL into DIR; the local file's path goes to PATH. */
static enum stage_rc
fetch_url(struct task_ctx *ctx, const char *url, const char *dir, char *path,
    size_t pathlen, char *err, size_t errlen)
{
	char ctype[128], cerr[512];
	enum fetch_rc r;

	if (xsnprintf(path, pathlen, "%s/source.download", dir) == -1) {
		seterr(err, errlen, "scratch path too long");
		return STAGE_TRANSIENT;
	}
	r = fetch_curl(ctx, url, path, 1, ctype, sizeof(ctype), cerr,
	    sizeof(cerr));
	if (r != FETCH_NOT_MEDIA) {
		if (r != FETCH_OK)
			seterr(err, errlen, "%s", cerr);
		return from_fetch_rc(r);
	}
	log_ev(LOG_INFO, "fetch_via_ytdlp", "{ssss}", "url", url, "why", cerr);
	r = fetch_ytdlp(ctx, url, dir, path, pathlen, err, errlen);
	return from_fetch_rc(r);
}

/* The upload's local path (stage_input): the store's own file when it
 * has one, else a copy in the scratch directory. */
static enum stage_rc
fetch_upload(struct task_ctx *ctx, const char *key, char *path,
    size_t pathlen, char *err, size_t errlen)
{
	enum stage_rc rc;
	char *p;

	if (key == NULL || !store_key_valid(key)) {
		seterr(err, errlen, "The job has no uploaded file.");
		return STAGE_PERMANENT;
	}
	if ((rc = stage_input(ctx, key, "upload", &p, err, errlen)) != STAGE_OK)
		return rc;
	if (xsnprintf(path, pathlen, "%s", p) == -1) {
		seterr(err, errlen, "scratch path too long");
		rc = STAGE_TRANSIENT;
	}
	free(p);
	return rc;
}

static enum stage_rc
fetch_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const json_t *job = ctx->task->job;
	const char *kind, *url, *ext;
	char dir[4096], path[4096], key[128];
	json_t *probe = NULL;
	json_int_t id;
	enum stage_rc rc;
	enum probe_rc pr;

	id = json_integer_value(json_object_get(job, "id"));
	kind = json_string_value(json_object_get(job, "source_kind"));
	url = json_string_value(json_object_get(job, "source_url"));
	if (id <= 0 || kind == NULL) {
		seterr(err, errlen, "The job has no source.");
		return STAGE_PERMANENT;
	}
	if (xsnprintf(dir, sizeof(dir), "%s/dl", ctx->scratch) == -1 ||
	    mkdir_p(dir, 0700) == -1) {
		seterr(err, errlen, "cannot make the download directory: %s",
		    strerror(errno));
		return STAGE_TRANSIENT;
	}
	task_progress(ctx, 0, "fetching");
	if (strcmp(kind, "url") == 0) {
		if (url == NULL || *url == '\0') {
			seterr(err, errlen, "The job has no URL.");
			return STAGE_PERMANENT;
		}
		rc = fetch_url(ctx, url, dir, path, sizeof(path), err, errlen);
	} else if (strcmp(kind, "upload") == 0) {
		rc = fetch_upload(ctx, json_string_value(json_object_get(job,
		    "source_key")), path, sizeof(path), err, errlen);
	} else {
		seterr(err, errlen, "Unknown source kind \"%s\".", kind);
		return STAGE_PERMANENT;
	}
	if (rc != STAGE_OK)
		return rc;
	if (task_progress(ctx, 95, "checking the video"))
		return STAGE_CANCELLED;
	pr = probe_file(path, &probe, err, errlen);
	if (pr == PROBE_OK && (pr = probe_check_length(probe, job, err,
	    errlen)) != PROBE_OK) {
		json_decref(probe);
		probe = NULL;
	}
	if (pr != PROBE_OK) {
		/* A rejected download is not kept (an upload stays in the
		 * store: it is the user's, and pruning removes it). */
		if (strcmp(kind, "url") == 0)
			unlink(path);
		return pr == PROBE_REJECT ? STAGE_PERMANENT : STAGE_TRANSIENT;
	}
	ext = json_string_value(json_object_get(probe, "ext"));
	if (key_job_source(key, sizeof(key), (long long)id, ext) == -1) {
		json_decref(probe);
		seterr(err, errlen, "key too long");
		return STAGE_TRANSIENT;
	}
	rc = stage_put(ctx, key, path, mediatype_mime(ext), err, errlen);
	if (rc != STAGE_OK) {
		json_decref(probe);
		return rc;
	}
	*result = json_pack("{ssso}", "source_key", key, "probe", probe);
	if (*result == NULL) {
		seterr(err, errlen, "out of memory");
		return STAGE_TRANSIENT;
	}
	task_progress(ctx, 100, "stored %s", key);
	return STAGE_OK;
}

static int
fetch_done(PGconn *c, const struct task *t, json_t *result, char *err,
    size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[3];
	char *probe;
	int rc;

	if (result == NULL || (p[1] = json_string_value(json_object_get(result,
	    "source_key"))) == NULL) {
		seterr(err, errlen, "fetch result without source_key");
		return -1;
	}
	if ((probe = json_dumps(json_object_get(result, "probe"),
	    JSON_COMPACT)) == NULL) {
		seterr(err, errlen, "fetch result without probe");
		return -1;
	}
	p[0] = db_param_ll(&dp, t->job_id);
	p[2] = probe;
	rc = db_cmd(c, err, errlen, "UPDATE jobs SET source_key = $2, "
	    "probe = $3::jsonb, updated_at = now() WHERE id = $1", 3, p);
	free(probe);
	if (rc == -1 ||
	    queue_add_task(c, t->job_id, 0, "transcribe", NULL, err, errlen) ||
	    queue_notify_stage(c, "transcribe", err, errlen))
		return -1;
	return 0;
}

/* An upload was copied to the source key, which the job now names: the
 * upload is no longer needed.  Removed only once that is committed, so
 * that a retried fetch still finds it. */
static void
fetch_committed(struct store *st, const struct task *t, json_t *result)
{
	const char *kind, *up, *src;
	char err[512];
	int r;

	kind = json_string_value(json_object_get(t->job, "source_kind"));
	up = json_string_value(json_object_get(t->job, "source_key"));
	src = json_string_value(json_object_get(result, "source_key"));
	if (kind == NULL || strcmp(kind, "upload") != 0 || up == NULL ||
	    src == NULL || strcmp(up, src) == 0 || !store_key_valid(up))
		return;
	r = store_delete(st, up, err, sizeof(err));
	if (r != STORE_OK && r != STORE_NOTFOUND)
		log_ev(LOG_WARN, "upload_not_removed", "{sIssss}", "job",
		    (json_int_t)t->job_id, "key", up, "error", err);
}

const struct stage stage_fetch = {
	.name = "fetch",
	.isolated = 1,
	.cap = &cfg.cap_fetch,
	.run = fetch_run,
	.done = fetch_done,
	.committed = fetch_committed,
};
