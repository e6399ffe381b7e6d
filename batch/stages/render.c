/*
 * The render stage: one task per clip segment, with one output per clip
 * row of that segment (its aspects: 9:16, 1:1, 4:5).  The segment is
 * decoded once; each output is drawn by its own framing (track, split or
 * fit, as the frame stage chose), gets word-level captions placed for
 * that layout, and is encoded to an MP4 and a thumbnail stored at
 * jobs/{job}/render/{clip}.mp4 and .jpg.  A caption failure renders the
 * output without captions and tells the user; a missing framing renders
 * it centre-cropped.
 *
 * The task's payload (frame_done() makes it; a re-render of one clip row
 * is the same with one output):
 *
 *   {"start": S, "end": E,                      the segment, in seconds
 *    "outputs": [{"clip_id": N, "aspect": "9:16",
 *                 "crop_key": "jobs/J/crop/N.json",
 *                 "caption_style": "bold",      optional: the clip's own
 *                 "edits": {"words": {...}, "removed": [...]}}, optional
 *                ...],                           1 to 8
 *    "captions": true, "transcript_key": "..."}  both optional
 *
 * The task's clip_id is its first output's clip.  An output is recorded
 * only while its clip row is pending (or rendering): a re-render sets the
 * row back to pending when it queues the task.  A payload without
 * "outputs" (tasks queued before it existed, and a re-render of one clip
 * from the review routes) is one output: the task's clip with the
 * payload's own "aspect", "crop_key", "caption_style" and "edits".
 *
 * Each output is recorded as soon as it is written, while the others
 * still encode: the child sends it to the runner (task_output()), whose
 * output() hook below sets the clip's row to rendered and queues its
 * publish task in a transaction of its own; its progress goes the same
 * way, as a "progress" event naming the clip.  An output that fails on
 * its own (its encoder, its file) fails only its clip.  The task's result
 * lists every output again, and done() records those not yet recorded,
 * so a runner that only sees the result loses nothing.
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

struct render_ask;

/* One output of a render task: a clip row of the segment. */
struct render_one {
	struct render_ask *ask;
	long long	 clip_id;
	const char	*aspect, *crop_key;
	const char	*style;		/* the clip's caption style, or NULL */
	const json_t	*edits;		/* the clip's edits (review), or NULL */
	int		 out_w, out_h, aw, ah;
	struct crop_frame cf;
	int		 have_cf;
	char		*ass;
	char		 mp4[4096], jpg[4096];
	struct task_ctx	*ctx;
	int		 captioned;	/* captions asked for and made */
	int		 pct;		/* its last progress */
	json_t		*item;		/* what it came to, for the result */
};

/* What one render task asks for: its payload and the job's options. */
struct render_ask {
	double		 start, end;
	const char	*tkey, *style;
	int		 captions;	/* the task's and the job's both */
	char		 tkey_def[KEY_MAX];
	struct render_one out[RENDER_MAX_OUT];
	int		 n;
	enum stage_rc	 store_rc;	/* an output could not be stored */
	char		 store_err[512];
};

/* Output O from payload item IT (NULL: the payload itself is the one
 * output, of the task's clip).  0, or -1 with ERR. */
static int
render_ask_one(const struct task *tk, const json_t *it,
    struct render_one *o, char *err, size_t errlen)
{
	json_int_t id = tk->clip_id;

	o->aspect = "9:16";
	if (json_unpack((json_t *)(it ? it : tk->payload), it ?
	    "{sIs?ss?s}" : "{s?ss?s}", it ? "clip_id" : "aspect",
	    it ? (void *)&id : (void *)&o->aspect, it ? "aspect" : "crop_key",
	    it ? (void *)&o->aspect : (void *)&o->crop_key, "crop_key",
	    &o->crop_key) != 0 || id <= 0) {
		seterr(err, errlen, "The render task names no clip.");
		return -1;
	}
	o->clip_id = id;
	/* the clip's own caption style and edits, when the user set them */
	json_unpack((json_t *)(it ? it : tk->payload), "{s?s}",
	    "caption_style", &o->style);
	if (o->style != NULL && !captions_style_valid(o->style))
		o->style = NULL;
	o->edits = json_object_get(it ? it : tk->payload, "edits");
	if (render_size(o->aspect, &o->out_w, &o->out_h) != 0 ||
	    crop_parse_aspect(o->aspect, &o->aw, &o->ah) != 0) {
		seterr(err, errlen, "Unknown aspect \"%s\".", o->aspect);
		return -1;
	}
	return 0;
}

/* Read task TK into A.  0, or -1 with ERR (the task is not valid). */
static int
render_ask(const struct task *tk, struct render_ask *a, char *err,
    size_t errlen)
{
	json_t *opts = json_object_get(tk->job, "options");
	json_t *outs = json_object_get(tk->payload, "outputs"), *it;
	int job_caps = 1;
	size_t i;

	memset(a, 0, sizeof(*a));
	a->captions = 1;
	if (json_unpack(tk->payload, "{sFsFs?ss?b}", "start", &a->start,
	    "end", &a->end, "transcript_key", &a->tkey, "captions",
	    &a->captions) != 0 || !(a->end > a->start && a->start >= 0)) {
		seterr(err, errlen, "The render task lacks its clip's times.");
		return -1;
	}
	if (outs != NULL && (!json_is_array(outs) || json_array_size(outs) <
	    1 || json_array_size(outs) > RENDER_MAX_OUT)) {
		seterr(err, errlen, "The render task asks for 1 to %d outputs.",
		    RENDER_MAX_OUT);
		return -1;
	}
	if (outs == NULL) {
		if (render_ask_one(tk, NULL, &a->out[0], err, errlen) != 0)
			return -1;
		a->n = 1;
	}
	json_array_foreach(outs, i, it) {
		if (render_ask_one(tk, it, &a->out[i], err, errlen) != 0)
			return -1;
		a->n++;
	}
	json_unpack(opts, "{s?bs?s}", "captions", &job_caps, "caption_style",
	    &a->style);
	a->captions = a->captions && job_caps;
	if (a->style == NULL || !captions_style_valid(a->style))
		a->style = jobspec_field("caption_style")->def;
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
 * Output O's framing into o->cf and where its layout draws, for a SRC_W
 * x SRC_H source, into G: o->have_cf 1, or 0 when there is none or it
 * does not fit the source (the user is told the clip is centre-cropped;
 * G is a track's).
 */
static void
render_framing(struct task_ctx *ctx, struct render_one *o, int src_w,
    int src_h, struct render_geom *g)
{
	char why[300] = "", name[64];
	json_t *cj = NULL;

	xsnprintf(name, sizeof(name), "crop-%lld.json", o->clip_id);
	o->have_cf = 0;
	if (o->crop_key != NULL && stage_input_json(ctx, o->crop_key,
	    name, &cj, why, sizeof(why)) == STAGE_OK &&
	    crop_frame_from_json(cj, &o->cf, why, sizeof(why)) == 0)
		o->have_cf = render_frame_fits(&o->cf, src_w, src_h);
	json_decref(cj);
	render_geom(o->have_cf ? o->cf.layout : LAYOUT_TRACK, src_w, src_h,
	    o->out_w, o->out_h, g);
	if (!o->have_cf) {
		json_t *d = json_pack("{sI}", "clip", (json_int_t)o->clip_id);

		if (why[0])
			json_object_set_new(d, "error", json_string(why));
		task_event(ctx, "fallback", why[0] || o->crop_key == NULL ?
		    "The framing for this clip was not available, so it is "
		    "centre-cropped." : "The framing for this clip was planned "
		    "on a picture of another size, so it is centre-cropped.", d);
		json_decref(d);
	}
}

/* Tell the user clip CLIP goes without captions, because of WHY. */
static void
no_captions(struct task_ctx *ctx, long long clip, const char *msg,
    const char *why)
{
	json_t *d = json_pack("{sssI}", "error", why, "clip", (json_int_t)clip);

	task_event(ctx, "fallback", msg, d);
	json_decref(d);
}

/* Store output O's MP4 and JPG at its clip's render keys; *RESULT gets
 * what render_record() records. */
static enum stage_rc
render_store(struct task_ctx *ctx, const struct render_one *o,
    const struct render_res *rs, json_t **result, char *err, size_t errlen)
{
	const struct task *tk = ctx->task;
	char vkey[KEY_MAX], tkey[KEY_MAX];
	enum stage_rc rc;

	if (key_clip_render(vkey, sizeof(vkey), tk->job_id, o->clip_id,
	    "mp4") != 0 || key_clip_render(tkey, sizeof(tkey), tk->job_id,
	    o->clip_id, "jpg") != 0) {
		seterr(err, errlen, "The render task names no clip.");
		return STAGE_PERMANENT;
	}
	if ((rc = stage_put(ctx, vkey, o->mp4, "video/mp4", err, errlen)) !=
	    STAGE_OK ||
	    (rc = stage_put(ctx, tkey, o->jpg, "image/jpeg", err, errlen)) !=
	    STAGE_OK)
		return rc;
	*result = json_pack("{sIsssssisisfsIsbss}", "clip",
	    (json_int_t)o->clip_id, "video_key", vkey, "thumb_key", tkey,
	    "width", rs->width, "height", rs->height, "duration", rs->duration,
	    "frames", (json_int_t)rs->frames, "captions", o->captioned &&
	    !rs->captions_failed, "layout", crop_layout_name(rs->layout));
	if (*result == NULL) {
		seterr(err, errlen, "out of memory");
		return STAGE_TRANSIENT;
	}
	return STAGE_OK;
}

/* An output's progress: the runner records it for its clip, and the
 * task's own progress is the slowest output's. */
static int
progress_cb(void *arg, int pct)
{
	struct render_one *o = arg;
	struct render_ask *a = o->ask;
	json_t *d = json_pack("{sIsi}", "clip", (json_int_t)o->clip_id, "pct",
	    pct);
	int i, min = pct;

	task_output(o->ctx, d);
	json_decref(d);
	o->pct = pct;
	for (i = 0; i < a->n; i++)
		if (a->out[i].item == NULL && a->out[i].pct < min)
			min = a->out[i].pct;
	return task_progress(o->ctx, min, "rendering");
}

/* Output O is written (RS->rc RENDER_OK): stored, and sent to the runner,
 * which records it and queues its publish task while the others encode.
 * Or it failed on its own: its clip fails. */
static void
finished_cb(void *arg, const struct render_res *rs)
{
	struct render_one *o = arg;
	struct task_ctx *ctx = o->ctx;
	char err[512];
	json_t *res = NULL;
	enum stage_rc rc;

	if (rs->rc == RENDER_OK) {
		if (rs->captions_failed)
			no_captions(ctx, o->clip_id, "Captions could not be drawn "
			    "for this clip, so it is rendered without them.",
			    rs->captions_err);
		rc = render_store(ctx, o, rs, &res, err, sizeof(err));
		if (rc == STAGE_TRANSIENT) {
			/* The store is down: the task is tried again. */
			o->ask->store_rc = rc;
			xsnprintf(o->ask->store_err, sizeof(o->ask->store_err),
			    "%s", err);
			return;
		}
		if (rc == STAGE_OK) {
			log_ev(LOG_INFO, "render_done", "{sIsIsssfsI}", "job",
			    ctx->task->job_id, "clip", o->clip_id, "aspect",
			    o->aspect, "duration", rs->duration, "frames",
			    (json_int_t)rs->frames);
			o->item = res;
			task_output(ctx, res);
			return;
		}
	} else
		xsnprintf(err, sizeof(err), "%s", rs->err);
	log_ev(LOG_WARN, "render_output_failed", "{sIsIss}", "job",
	    ctx->task->job_id, "clip", o->clip_id, "error", err);
	o->item = json_pack("{sIss}", "clip", (json_int_t)o->clip_id, "error",
	    err);
	task_output(ctx, o->item);
}

/* Output O's framing, captions, files and request RQ for the source SRC
 * (SW x SH).  0, or -1 with ERR. */
static int
render_prepare(struct task_ctx *ctx, struct render_ask *a,
    struct render_one *o, const char *src, int sw, int sh,
    struct render_req *rq, char *err, size_t errlen)
{
	struct render_geom g;
	char why[300];

	o->ask = a;
	o->ctx = ctx;
	render_framing(ctx, o, sw, sh, &g);
	if (a->captions) {
		o->ass = make_captions(ctx, a->tkey, a->start, a->end,
		    o->style != NULL ? o->style : a->style, o->edits,
		    o->have_cf ? &o->cf : NULL, &g, why, sizeof(why));
		if (o->ass == NULL && why[0] != '\0')
			no_captions(ctx, o->clip_id, "Captions could not be made "
			    "for this clip, so it is rendered without them.", why);
		o->captioned = o->ass != NULL;
	}
	if (xsnprintf(o->mp4, sizeof(o->mp4), "%s/%lld.mp4", ctx->scratch,
	    o->clip_id) != 0 || xsnprintf(o->jpg, sizeof(o->jpg),
	    "%s/%lld.jpg", ctx->scratch, o->clip_id) != 0) {
		seterr(err, errlen, "The scratch path is too long.");
		return -1;
	}
	memset(rq, 0, sizeof(*rq));
	rq->src = src;
	rq->src_format = probe_job_format(ctx->task->job);
	rq->start = a->start;
	rq->end = a->end;
	rq->frame = o->have_cf ? &o->cf : NULL;
	rq->out_w = o->out_w;
	rq->out_h = o->out_h;
	rq->aspect_w = o->aw;
	rq->aspect_h = o->ah;
	rq->ass = o->ass;
	rq->preset = cfg.x264_preset;
	rq->crf = (int)cfg.x264_crf;
	/* 0: libx264's own choice, 1.5 frame threads per core.  One per
	 * core holds 23 MB less at 1080x1920 but leaves the cores idle
	 * more often while the frame threads wait on each other (2 cores:
	 * 3% more wall time, contrib/bench/render).  Several outputs:
	 * their encoders run side by side, one thread each, which keeps
	 * the cores as busy and holds a third of the frames. */
	rq->threads = a->n > 1 && cfg.render_threads == 0 ? 1 :
	    (int)cfg.render_threads;
	rq->out_mp4 = o->mp4;
	rq->out_jpg = o->jpg;
	rq->progress = progress_cb;
	rq->progress_arg = o;
	rq->finished = finished_cb;
	rq->finished_arg = o;
	return 0;
}

/* The task's result: every output's record, {"outputs": [...]}. */
static json_t *
render_result(struct render_ask *a)
{
	json_t *outs = json_array();
	int i;

	for (i = 0; i < a->n; i++)
		if (a->out[i].item != NULL)
			json_array_append(outs, a->out[i].item);
	return json_pack("{so}", "outputs", outs);
}

static enum stage_rc
render_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const struct task *tk = ctx->task;
	struct render_req rq[RENDER_MAX_OUT];
	struct render_res rs[RENDER_MAX_OUT];
	struct render_ask *a;
	char *src = NULL;
	int i, sw, sh;
	enum render_rc rr;
	enum stage_rc rc;
	long long t_ms = now_ms();

	/* libx264 rounds its large buffers up to whole 2 MB pages and asks
	 * for transparent huge pages for them, so each is resident to its
	 * last page: 14 MB more per 1080x1920 render, for no speed here
	 * (contrib/bench/render).  The stage runs in a child of its own
	 * (isolated), so the setting is that child's alone. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		seterr(err, errlen, "Out of memory.");
		return STAGE_TRANSIENT;
	}
	rc = STAGE_PERMANENT;
	if (render_ask(tk, a, err, errlen) != 0)
		goto out;
	if ((rc = stage_input(ctx, json_string_value(json_object_get(tk->job,
	    "source_key")), "source", &src, err, errlen)) != STAGE_OK)
		goto out;
	rc = STAGE_PERMANENT;
	if (source_size(tk->job, src, &sw, &sh, err, errlen) != 0)
		goto out;
	for (i = 0; i < a->n; i++)
		if (render_prepare(ctx, a, &a->out[i], src, sw, sh, &rq[i], err,
		    errlen) != 0)
			goto out;
	rr = render_clips(rq, a->n, rs, err, errlen);
	if (rr == RENDER_CANCELLED) {
		rc = STAGE_CANCELLED;
		goto out;
	}
	if (rr != RENDER_OK)
		goto out;
	if (a->store_rc != STAGE_OK) {
		seterr(err, errlen, "%s", a->store_err);
		rc = a->store_rc;
		goto out;
	}
	*result = render_result(a);
	rc = STAGE_OK;
	log_ev(LOG_INFO, "render_task_done", "{sIsisI}", "job", tk->job_id,
	    "outputs", a->n, "ms", now_ms() - t_ms);
out:
	for (i = 0; i < a->n; i++) {
		crop_frame_free(&a->out[i].cf);
		free(a->out[i].ass);
		json_decref(a->out[i].item);
	}
	free(a);
	free(src);
	return rc;
}

/* Output record IT of task TK, once: a result sets its clip rendered and
 * queues its publish task, an error fails the clip; a clip no longer
 * pending (or rendering) is left as it is, so the same record from the
 * child's message and from the task's result counts once.  A progress
 * report ({"clip", "pct"}) is a "progress" event naming the clip.  In
 * the caller's transaction.  0/-1. */
static int
render_record(PGconn *c, const struct task *tk, json_t *it, char *err,
    size_t errlen)
{
	const char *vkey = NULL, *tkey = NULL, *why = NULL;
	json_int_t clip = 0, w = 0, h = 0, pct = -1;
	double dur = 0;
	struct db_params dp = { 0 };
	char ds[32];
	json_t *d;
	long long k;

	if (json_unpack(it, "{sIs?ss?ss?ss?Is?Is?Fs?I}", "clip", &clip,
	    "video_key", &vkey, "thumb_key", &tkey, "error", &why, "width", &w,
	    "height", &h, "duration", &dur, "pct", &pct) != 0 || clip <= 0 ||
	    (why == NULL && pct < 0 && (vkey == NULL || tkey == NULL))) {
		seterr(err, errlen, "The render result is incomplete.");
		return -1;
	}
	if (why == NULL && vkey == NULL) {
		d = json_pack("{sssIsIss}", "stage", tk->stage, "clip", clip,
		    "pct", pct > 100 ? (json_int_t)100 : pct, "msg", "rendering");
		k = queue_event(c, tk->job_id, "progress", tk->stage, d, err,
		    errlen);
		json_decref(d);
		return k < 0 ? -1 : 0;
	}
	if (why != NULL) {
		const char *p[] = { db_param_ll(&dp, clip),
		    db_param_ll(&dp, tk->job_id), why };

		k = db_count(c, err, errlen, "UPDATE clips SET state = 'failed', "
		    "error = $3 WHERE id = $1 AND job_id = $2 AND state IN "
		    "('pending', 'rendering')", 3, p);
	} else {
		const char *p[] = { db_param_ll(&dp, clip),
		    db_param_ll(&dp, tk->job_id), db_param_ll(&dp, w),
		    db_param_ll(&dp, h), ds, vkey, tkey };

		xsnprintf(ds, sizeof(ds), "%.3f", dur);
		/* A clip rendered anew keeps serving its published file
		 * (ready_at set) until publish replaces it. */
		k = db_count(c, err, errlen, "UPDATE clips SET state = 'rendered', "
		    "width = CASE WHEN ready_at IS NULL THEN $3 ELSE width END, "
		    "height = CASE WHEN ready_at IS NULL THEN $4 ELSE height END, "
		    "duration_s = CASE WHEN ready_at IS NULL THEN $5::float8 "
		    "ELSE duration_s END, "
		    "video_key = CASE WHEN ready_at IS NULL THEN $6 ELSE "
		    "video_key END, "
		    "thumb_key = CASE WHEN ready_at IS NULL THEN $7 ELSE "
		    "thumb_key END WHERE id = $1 AND job_id = $2 AND state IN "
		    "('pending', 'rendering')", 7, p);
	}
	if (k <= 0)
		return (int)k;
	if (why != NULL) {
		d = json_pack("{sssssI}", "stage", tk->stage, "error", why,
		    "clip", clip);
		k = queue_event(c, tk->job_id, "clip_failed", tk->stage, d, err,
		    errlen);
		json_decref(d);
		return k < 0 ? -1 : 0;
	}
	/* the size too: publish records it when it replaces a published file */
	d = json_pack("{sssssIsIsf}", "video_key", vkey, "thumb_key", tkey,
	    "width", w, "height", h, "duration", dur);
	k = queue_add_task(c, tk->job_id, clip, "publish", d, err, errlen);
	json_decref(d);
	if (k != 0)
		return -1;
	return queue_notify_stage(c, "publish", err, errlen);
}

/* The task's result: the outputs not recorded from their messages. */
static int
render_done(PGconn *c, const struct task *tk, json_t *res, char *err,
    size_t errlen)
{
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(res, "outputs"), i, it)
		if (render_record(c, tk, it, err, errlen) != 0)
			return -1;
	return 0;
}

const struct stage stage_render = {
	.name = "render",
	.isolated = 1,
	.batch = 1,
	.cap = &cfg.cap_render,
	.run = render_run,
	.done = render_done,
	.output = render_record,
};
