/*
 * The render stage: one task per clip row.  Follows the clip's crop path,
 * burns word-level captions, encodes the MP4 and its thumbnail, stores
 * them at jobs/{job}/render/{clip}.mp4 and .jpg.  A caption failure
 * renders the clip without captions and tells the user; a missing crop
 * path renders it centre-cropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "media/captions.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "media/probe.h"
#include "media/render.h"
#include "stages/select/select.h"
#include "runner/stage.h"
#include "util.h"

static int
progress_cb(void *arg, int pct)
{
	return task_progress(arg, pct, "rendering");
}

/* The ASS captions for the clip, placed clear of the face along crop path
 * CP (NULL: none), or NULL (none, or failed: *WHY says). */
static char *
make_captions(struct task_ctx *ctx, const char *tkey, double start,
    double end, int w, int h, const char *style, const struct crop_path *cp,
    char *why, size_t whylen)
{
	struct transcript t;
	struct caption_req cr = { .start = start, .end = end, .width = w,
	    .height = h, .style = style, .font = cfg.caption_font };
	struct cap_face *face = NULL;
	char *path, *ass = NULL, err[256];
	int transient, none = 0;

	why[0] = '\0';
	if ((path = render_fetch(ctx->store, tkey, ctx->scratch,
	    "transcript.json", &transient, err, sizeof(err))) == NULL) {
		seterr(why, whylen, "%s", err);
		return NULL;
	}
	if (transcript_load(path, NULL, &t, err, sizeof(err)) != 0) {
		seterr(why, whylen, "%s", err);
		free(path);
		return NULL;
	}
	free(path);
	if (captions_faces(cp, h, &face, &cr.nface) != 0) {
		seterr(why, whylen, "Out of memory placing the captions.");
		transcript_free(&t);
		return NULL;
	}
	cr.w = t.w;
	cr.n = t.nw;
	cr.face = face;
	ass = captions_ass(&cr, &none, err, sizeof(err));
	if (ass == NULL && !none)
		seterr(why, whylen, "%s", err);
	free(face);
	transcript_free(&t);
	return ass;
}

static enum stage_rc
render_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const struct task *tk = ctx->task;
	json_t *opts = json_object_get(tk->job, "options"), *cj = NULL;
	const char *aspect = "9:16", *crop_key = NULL, *tkey = NULL;
	const char *style = NULL, *src_key = NULL;
	char *src = NULL, *ass = NULL, why[300], key[256], tkey_def[128];
	char mp4[4096], jpg[4096];
	struct crop_path cp;
	struct render_req rq;
	struct render_res rs;
	double start = 0, end = 0;
	int captions = 1, job_caps = 1, transient, have_cp = 0, aw, ah;
	enum render_rc rr;
	enum stage_rc rc = STAGE_PERMANENT;
	long long t_ms = now_ms();

	/* libx264 rounds its large buffers up to whole 2 MB pages and asks
	 * for transparent huge pages for them, so each is resident to its
	 * last page: 14 MB more per 1080x1920 render, for no speed here
	 * (contrib/bench/render).  The stage runs in a child of its own
	 * (isolated), so the setting is that child's alone. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	memset(&cp, 0, sizeof(cp));
	if (json_unpack(tk->payload, "{sFsFs?ss?ss?ss?b}", "start", &start,
	    "end", &end, "aspect", &aspect, "crop_key", &crop_key,
	    "transcript_key", &tkey, "captions", &captions) != 0 ||
	    !(end > start && start >= 0)) {
		seterr(err, errlen, "The render task lacks its clip's times.");
		return STAGE_PERMANENT;
	}
	json_unpack(opts, "{s?bs?s}", "captions", &job_caps, "caption_style",
	    &style);
	if (style == NULL || !captions_style_valid(style))
		style = "classic";
	src_key = json_string_value(json_object_get(tk->job, "source_key"));
	if (render_size(aspect, &rq.out_w, &rq.out_h) != 0 ||
	    crop_parse_aspect(aspect, &aw, &ah) != 0) {
		seterr(err, errlen, "Unknown aspect \"%s\".", aspect);
		return STAGE_PERMANENT;
	}
	if ((src = render_fetch(ctx->store, src_key, ctx->scratch, "source",
	    &transient, err, errlen)) == NULL)
		return transient ? STAGE_TRANSIENT : STAGE_PERMANENT;

	if (crop_key != NULL) {
		cj = render_fetch_json(ctx->store, crop_key, ctx->scratch,
		    "crop.json", &transient, why, sizeof(why));
		if (cj != NULL && crop_path_from_json(cj, &cp, why, sizeof(why)) == 0)
			have_cp = 1;
	}
	if (!have_cp)
		task_event(ctx, "fallback", "The framing for this clip was not "
		    "available, so it is centre-cropped.", NULL);

	if (captions && job_caps) {
		if (tkey == NULL && xsnprintf(tkey_def, sizeof(tkey_def),
		    "jobs/%lld/transcript.json", tk->job_id) == 0)
			tkey = tkey_def;
		ass = make_captions(ctx, tkey, start, end, rq.out_w, rq.out_h,
		    style, have_cp ? &cp : NULL, why, sizeof(why));
		if (ass == NULL && why[0] != '\0') {
			json_t *d = json_pack("{ss}", "error", why);

			task_event(ctx, "fallback", "Captions could not be made "
			    "for this clip, so it is rendered without them.", d);
			json_decref(d);
		}
	}

	if (xsnprintf(mp4, sizeof(mp4), "%s/clip.mp4", ctx->scratch) != 0 ||
	    xsnprintf(jpg, sizeof(jpg), "%s/clip.jpg", ctx->scratch) != 0) {
		seterr(err, errlen, "The scratch path is too long.");
		goto out;
	}
	rq.src = src;
	rq.src_format = probe_job_format(tk->job);
	rq.start = start;
	rq.end = end;
	rq.crop = have_cp ? &cp : NULL;
	rq.aspect_w = aw;
	rq.aspect_h = ah;
	rq.ass = ass;
	rq.preset = cfg.x264_preset;
	rq.crf = (int)cfg.x264_crf;
	/* 0: libx264's own choice, 1.5 frame threads per core.  One per
	 * core holds 23 MB less at 1080x1920 but leaves the cores idle
	 * more often while the frame threads wait on each other (2 cores:
	 * 3% more wall time, contrib/bench/render). */
	rq.threads = (int)cfg.render_threads;
	rq.out_mp4 = mp4;
	rq.out_jpg = jpg;
	rq.progress = progress_cb;
	rq.progress_arg = ctx;
	rr = render_clip(&rq, &rs, err, errlen);
	if (rr == RENDER_CANCELLED) {
		rc = STAGE_CANCELLED;
		goto out;
	}
	if (rr != RENDER_OK)
		goto out;
	if (rs.captions_failed) {
		json_t *d = json_pack("{ss}", "error", rs.captions_err);

		task_event(ctx, "fallback", "Captions could not be drawn for "
		    "this clip, so it is rendered without them.", d);
		json_decref(d);
	}
	if (xsnprintf(key, sizeof(key), "jobs/%lld/render/%lld.mp4",
	    tk->job_id, tk->clip_id) != 0)
		goto out;
	if ((transient = store_put(ctx->store, key, mp4, "video/mp4", err,
	    errlen)) != STORE_OK) {
		rc = transient == STORE_AGAIN ? STAGE_TRANSIENT : STAGE_PERMANENT;
		goto out;
	}
	*result = json_pack("{sssisisfsIsb}", "video_key", key,
	    "width", rs.width, "height", rs.height, "duration", rs.duration,
	    "frames", (json_int_t)rs.frames,
	    "captions", ass != NULL && !rs.captions_failed);
	xsnprintf(key, sizeof(key), "jobs/%lld/render/%lld.jpg", tk->job_id,
	    tk->clip_id);
	if ((transient = store_put(ctx->store, key, jpg, "image/jpeg", err,
	    errlen)) != STORE_OK) {
		json_decref(*result);
		*result = NULL;
		rc = transient == STORE_AGAIN ? STAGE_TRANSIENT : STAGE_PERMANENT;
		goto out;
	}
	json_object_set_new(*result, "thumb_key", json_string(key));
	log_ev(LOG_INFO, "render_done", "{sIsIsfsIsI}", "job", tk->job_id,
	    "clip", tk->clip_id, "duration", rs.duration, "frames",
	    (json_int_t)rs.frames, "ms", now_ms() - t_ms);
	rc = STAGE_OK;
out:
	crop_path_free(&cp);
	json_decref(cj);
	free(ass);
	free(src);
	return rc;
}

static int
render_done(PGconn *c, const struct task *tk, json_t *res, char *err,
    size_t errlen)
{
	const char *vkey = NULL, *tkey = NULL;
	json_int_t w = 0, h = 0;
	double dur = 0;
	struct db_params dp = { 0 };
	char ds[32];
	json_t *payload;
	int rc;

	if (json_unpack(res, "{sssssIsIsF}", "video_key", &vkey, "thumb_key",
	    &tkey, "width", &w, "height", &h, "duration", &dur) != 0) {
		seterr(err, errlen, "The render result is incomplete.");
		return -1;
	}
	xsnprintf(ds, sizeof(ds), "%.3f", dur);
	{
		const char *p[] = { db_param_ll(&dp, tk->clip_id),
		    db_param_ll(&dp, tk->job_id), db_param_ll(&dp, w),
		    db_param_ll(&dp, h), ds, vkey, tkey };

		if (db_cmd(c, err, errlen, "UPDATE clips SET state = 'rendered', "
		    "width = $3, height = $4, duration_s = $5, video_key = $6, "
		    "thumb_key = $7 WHERE id = $1 AND job_id = $2", 7, p) != 0)
			return -1;
	}
	payload = json_pack("{ssss}", "video_key", vkey, "thumb_key", tkey);
	rc = queue_add_task(c, tk->job_id, tk->clip_id, "publish", payload, err,
	    errlen);
	json_decref(payload);
	if (rc != 0)
		return -1;
	return queue_notify_stage(c, "publish", err, errlen);
}

const struct stage stage_render = {
	.name = "render",
	.isolated = 1,
	.batch = 1,
	.cap = &cfg.cap_render,
	.run = render_run,
	.done = render_done,
};
