/*
 * The render stage: one task per clip row.  Draws the clip by its framing
 * (track, split or fit, as the frame stage chose), burns word-level
 * captions placed for that layout, encodes the MP4 and its thumbnail,
 * stores them at jobs/{job}/render/{clip}.mp4 and .jpg.  A caption
 * failure renders the clip without captions and tells the user; a
 * missing framing renders it centre-cropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "media/captions.h"
#include "config.h"
#include "db.h"
#include "jobspec.h"
#include "keys.h"
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

/* The ASS captions for the clip, placed for framing F (NULL: a centred
 * track) drawn as G says, or NULL (none, or failed: *WHY says). */
static char *
make_captions(struct task_ctx *ctx, const char *tkey, double start,
    double end, const char *style, const json_t *edits,
    const struct crop_frame *f, const struct render_geom *g, char *why,
    size_t whylen)
{
	struct word *ew;
	size_t en;
	struct transcript t;
	struct caption_req cr = { .start = start, .end = end, .width = g->out_w,
	    .height = g->out_h, .style = style, .font = cfg.caption_font };
	struct cap_face *face = NULL;
	char *path, *ass = NULL, err[256];
	int none = 0;

	why[0] = '\0';
	if (stage_input(ctx, tkey, "transcript.json", &path, err,
	    sizeof(err)) != STAGE_OK) {
		seterr(why, whylen, "%s", err);
		return NULL;
	}
	if (transcript_load(path, NULL, &t, err, sizeof(err)) != 0) {
		seterr(why, whylen, "%s", err);
		free(path);
		return NULL;
	}
	free(path);
	if (captions_layout(&cr, f, g, &face) != 0) {
		seterr(why, whylen, "Out of memory placing the captions.");
		transcript_free(&t);
		return NULL;
	}
	/* the user's corrections and removed words (review) */
	if ((ew = transcript_edited(t.w, t.nw, edits, &en)) == NULL) {
		seterr(why, whylen, "Out of memory applying the edits.");
		free(face);
		transcript_free(&t);
		return NULL;
	}
	cr.w = ew;
	cr.n = en;
	ass = captions_ass(&cr, &none, err, sizeof(err));
	if (ass == NULL && !none)
		seterr(why, whylen, "%s", err);
	free(ew);
	free(face);
	transcript_free(&t);
	return ass;
}

/* What one render task asks for: its payload and the job's options. */
struct render_ask {
	double		 start, end;
	const char	*aspect, *crop_key, *tkey, *style;
	const json_t	*edits;		/* the clip's, or NULL */
	int		 captions;	/* the task's and the job's both */
	int		 out_w, out_h, aw, ah;
	char		 tkey_def[KEY_MAX];
};

/* Read task TK into A.  0, or -1 with ERR (the task is not valid). */
static int
render_ask(const struct task *tk, struct render_ask *a, char *err,
    size_t errlen)
{
	json_t *opts = json_object_get(tk->job, "options");
	int job_caps = 1;

	memset(a, 0, sizeof(*a));
	a->aspect = "9:16";
	a->captions = 1;
	if (json_unpack(tk->payload, "{sFsFs?ss?ss?ss?b}", "start", &a->start,
	    "end", &a->end, "aspect", &a->aspect, "crop_key", &a->crop_key,
	    "transcript_key", &a->tkey, "captions", &a->captions) != 0 ||
	    !(a->end > a->start && a->start >= 0)) {
		seterr(err, errlen, "The render task lacks its clip's times.");
		return -1;
	}
	json_unpack(opts, "{s?bs?s}", "captions", &job_caps, "caption_style",
	    &a->style);
	a->captions = a->captions && job_caps;
	/* the clip's own style and edits, when the user set them */
	json_unpack(tk->payload, "{s?s}", "caption_style", &a->style);
	a->edits = json_object_get(tk->payload, "edits");
	if (a->style == NULL || !captions_style_valid(a->style))
		a->style = jobspec_field("caption_style")->def;
	if (render_size(a->aspect, &a->out_w, &a->out_h) != 0 ||
	    crop_parse_aspect(a->aspect, &a->aw, &a->ah) != 0) {
		seterr(err, errlen, "Unknown aspect \"%s\".", a->aspect);
		return -1;
	}
	if (a->tkey == NULL && key_job_transcript(a->tkey_def,
	    sizeof(a->tkey_def), tk->job_id) == 0)
		a->tkey = a->tkey_def;
	return 0;
}

/* The source's size as displayed: the probe's, or (a job probed before
 * it recorded one) the file's own.  0, or -1 with ERR. */
static int
source_size(const json_t *job, const char *src, int *w, int *h, char *err,
    size_t errlen)
{
	json_int_t dw = 0, dh = 0;
	struct media_in m;

	json_unpack(json_object_get((json_t *)job, "probe"), "{s?Is?I}",
	    "display_width", &dw, "display_height", &dh);
	if (dw > 0 && dh > 0 && dw <= 16384 && dh <= 16384) {
		*w = (int)dw;
		*h = (int)dh;
		return 0;
	}
	if (media_open(&m, src, probe_job_format(job), 0, 1, err, errlen) != 0)
		return -1;
	*w = m.width;
	*h = m.height;
	media_close(&m);
	return 0;
}

/*
 * The clip's framing into F and where its layout draws, for a SRC_W x
 * SRC_H source, into G: 1, or 0 when there is none or it does not fit the
 * source (the user is told the clip is centre-cropped; G is a track's).
 */
static int
render_framing(struct task_ctx *ctx, const struct render_ask *a, int src_w,
    int src_h, struct crop_frame *f, struct render_geom *g)
{
	char why[300] = "";
	json_t *cj = NULL;
	int have = 0;

	if (a->crop_key != NULL && stage_input_json(ctx, a->crop_key,
	    "crop.json", &cj, why, sizeof(why)) == STAGE_OK &&
	    crop_frame_from_json(cj, f, why, sizeof(why)) == 0)
		have = render_frame_fits(f, src_w, src_h);
	json_decref(cj);
	render_geom(have ? f->layout : LAYOUT_TRACK, src_w, src_h, a->out_w,
	    a->out_h, g);
	if (!have) {
		json_t *d = why[0] ? json_pack("{ss}", "error", why) : NULL;

		task_event(ctx, "fallback", why[0] || a->crop_key == NULL ?
		    "The framing for this clip was not available, so it is "
		    "centre-cropped." : "The framing for this clip was planned "
		    "on a picture of another size, so it is centre-cropped.", d);
		json_decref(d);
	}
	return have;
}

/* Tell the user the clip goes without captions, because of WHY. */
static void
no_captions(struct task_ctx *ctx, const char *msg, const char *why)
{
	json_t *d = json_pack("{ss}", "error", why);

	task_event(ctx, "fallback", msg, d);
	json_decref(d);
}

/* Store the rendered MP4 and JPG at the clip's render keys; *RESULT gets
 * what render_done() records. */
static enum stage_rc
render_store(struct task_ctx *ctx, const struct render_res *rs,
    const char *mp4, const char *jpg, int captioned, json_t **result,
    char *err, size_t errlen)
{
	const struct task *tk = ctx->task;
	char vkey[KEY_MAX], tkey[KEY_MAX];
	enum stage_rc rc;

	if (key_clip_render(vkey, sizeof(vkey), tk->job_id, tk->clip_id,
	    "mp4") != 0 || key_clip_render(tkey, sizeof(tkey), tk->job_id,
	    tk->clip_id, "jpg") != 0) {
		seterr(err, errlen, "The render task names no clip.");
		return STAGE_PERMANENT;
	}
	if ((rc = stage_put(ctx, vkey, mp4, "video/mp4", err, errlen)) !=
	    STAGE_OK ||
	    (rc = stage_put(ctx, tkey, jpg, "image/jpeg", err, errlen)) !=
	    STAGE_OK)
		return rc;
	*result = json_pack("{sssssisisfsIsbss}", "video_key", vkey,
	    "thumb_key", tkey, "width", rs->width, "height", rs->height,
	    "duration", rs->duration, "frames", (json_int_t)rs->frames,
	    "captions", captioned, "layout", crop_layout_name(rs->layout));
	if (*result == NULL) {
		seterr(err, errlen, "out of memory");
		return STAGE_TRANSIENT;
	}
	return STAGE_OK;
}

static enum stage_rc
render_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const struct task *tk = ctx->task;
	char *src = NULL, *ass = NULL, why[300], mp4[4096], jpg[4096];
	struct render_ask a;
	struct crop_frame cf;
	struct render_geom g;
	struct render_req rq;
	struct render_res rs;
	int have_cf, sw, sh;
	enum render_rc rr;
	enum stage_rc rc;
	long long t_ms = now_ms();

	/* libx264 rounds its large buffers up to whole 2 MB pages and asks
	 * for transparent huge pages for them, so each is resident to its
	 * last page: 14 MB more per 1080x1920 render, for no speed here
	 * (contrib/bench/render).  The stage runs in a child of its own
	 * (isolated), so the setting is that child's alone. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	memset(&cf, 0, sizeof(cf));
	memset(&rq, 0, sizeof(rq));
	if (render_ask(tk, &a, err, errlen) != 0)
		return STAGE_PERMANENT;
	if ((rc = stage_input(ctx, json_string_value(json_object_get(tk->job,
	    "source_key")), "source", &src, err, errlen)) != STAGE_OK)
		return rc;
	rc = STAGE_PERMANENT;
	if (source_size(tk->job, src, &sw, &sh, err, errlen) != 0)
		goto out;
	have_cf = render_framing(ctx, &a, sw, sh, &cf, &g);
	if (a.captions) {
		ass = make_captions(ctx, a.tkey, a.start, a.end, a.style,
		    a.edits, have_cf ? &cf : NULL, &g, why, sizeof(why));
		if (ass == NULL && why[0] != '\0')
			no_captions(ctx, "Captions could not be made for this "
			    "clip, so it is rendered without them.", why);
	}

	if (xsnprintf(mp4, sizeof(mp4), "%s/clip.mp4", ctx->scratch) != 0 ||
	    xsnprintf(jpg, sizeof(jpg), "%s/clip.jpg", ctx->scratch) != 0) {
		seterr(err, errlen, "The scratch path is too long.");
		goto out;
	}
	rq.src = src;
	rq.src_format = probe_job_format(tk->job);
	rq.start = a.start;
	rq.end = a.end;
	rq.frame = have_cf ? &cf : NULL;
	rq.out_w = a.out_w;
	rq.out_h = a.out_h;
	rq.aspect_w = a.aw;
	rq.aspect_h = a.ah;
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
	if (rs.captions_failed)
		no_captions(ctx, "Captions could not be drawn for this clip, so "
		    "it is rendered without them.", rs.captions_err);
	if ((rc = render_store(ctx, &rs, mp4, jpg, ass != NULL &&
	    !rs.captions_failed, result, err, errlen)) != STAGE_OK)
		goto out;
	log_ev(LOG_INFO, "render_done", "{sIsIsfsIsI}", "job", tk->job_id,
	    "clip", tk->clip_id, "duration", rs.duration, "frames",
	    (json_int_t)rs.frames, "ms", now_ms() - t_ms);
out:
	crop_frame_free(&cf);
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

		/* A clip rendered anew keeps serving its published file
		 * (ready_at set) until publish replaces it. */
		if (db_cmd(c, err, errlen, "UPDATE clips SET state = 'rendered', "
		    "width = CASE WHEN ready_at IS NULL THEN $3 ELSE width END, "
		    "height = CASE WHEN ready_at IS NULL THEN $4 ELSE height END, "
		    "duration_s = CASE WHEN ready_at IS NULL THEN $5::float8 "
		    "ELSE duration_s END, "
		    "video_key = CASE WHEN ready_at IS NULL THEN $6 ELSE "
		    "video_key END, "
		    "thumb_key = CASE WHEN ready_at IS NULL THEN $7 ELSE "
		    "thumb_key END WHERE id = $1 AND job_id = $2", 7, p) != 0)
			return -1;
	}
	payload = json_pack("{sssssIsIsf}", "video_key", vkey, "thumb_key",
	    tkey, "width", w, "height", h, "duration", dur);
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
