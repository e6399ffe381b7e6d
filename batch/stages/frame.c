/*
 * The frame stage: one task per job.  Decodes the source only inside the
 * clips' ranges, detects faces at about cfg.frame_sample_fps at reduced
 * resolution (each range once, however many aspects were asked for),
 * plans one framing per clip row (crop.h: a tracked crop that follows the
 * speaker, two stacked crops for two speakers, or the whole picture), and
 * stores it at jobs/{job}/crop/{clip}.json with its figures in
 * clips.quality.  The speaker is found from the faces' mouths and the
 * loudness the transcribe stage stored; the words' confidence comes from
 * its transcript.  No face: the whole picture is shown and the user is
 * told.  No detector (its model missing): the task fails and says which
 * file is missing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "media/crop.h"
#include "db.h"
#include "keys.h"
#include "media/face_cv.h"
#include "log.h"
#include "media/probe.h"
#include "media/render.h"
#include "runner/stage.h"
#include "util.h"
#include "webhook.h"

#define MAX_CLIPS	64
/*
 * How faces are looked for (face_cv.h).  First the whole frame, one look
 * of the full-range BlazeFace model a sample, which finds faces down to
 * about 40 px tall in 720p, and smaller ones only now and then.  Where
 * that finds a face in fewer than half the samples, or only faces under
 * a twelfth of the frame's shorter side (a wide shot: the speaker small
 * on a stage), the range is looked at again in squares of the shorter
 * side, down to about 20 px in 720p, half as often: three times the work
 * a sample for 16:9, only where the first pass found too little, and only
 * after six such samples found a face at all.
 *
 * Either way, once a face is found it is followed in the samples after
 * with the close-range model, about it only (face_det_track(), a fifth of
 * a whole look), and the whole frame is looked at again once a second or
 * as soon as a face is lost; while no face is seen, the frame is looked
 * at every two seconds (a face that comes in is framed from then on; the
 * path holds its first place before).  Measured against the Haar cascade
 * this replaced, on the same sources: about three times faster on footage
 * with faces, about as fast on footage without.
 */
#define WHOLE_LOOK_S	1.0	/* a whole look at least this often */
#define IDLE_S		2.0	/* and no more often than this without a face */
struct detect {
	int		 tiled;		/* squares of the shorter side */
	int		 fps_div;	/* samples: cfg.frame_sample_fps / this */
	int		 max_samples;	/* and no more than this a range (0: any) */
	const char	*what;		/* the progress message */
};
static const struct detect DETECT_SPEAKER = { 0, 1, 0, "finding faces" };
/* Six samples first: a video with no face at all (slides, a screen)
 * costs little more than the first pass. */
static const struct detect DETECT_WIDE_PROBE = { 1, 2, 6,
	"looking for smaller faces" };
static const struct detect DETECT_WIDE = { 1, 2, 0,
	"looking for smaller faces" };

/* What every clip's plan reads besides its faces. */
struct framing {
	int		 layout;	/* the job's, or -1: auto */
	struct crop_audio au;		/* the loudness, or none */
	double		*db;		/* au.db's storage */
	json_t		*transcript;	/* or NULL */
};

struct range {
	double		 start, end;
	int		 rank;
	struct crop_sample *s;
	size_t		 n;
};

/* Sample faces in [R->start, R->end).  0, -1 with ERR, or 1: cancelled. */
static int
sample_range(struct task_ctx *ctx, struct media_in *m, struct face_det *fd,
    const struct detect *how, struct range *r, int pct0, int pct1, char *err,
    size_t errlen)
{
	double fps = cfg.frame_sample_fps / how->fps_div, step, next = r->start;
	double whole_t = -1e9;
	struct face_box prev[CROP_MAX_FACES];
	size_t cap;
	int nprev = 0;

	if (how->max_samples > 0 && fps * (r->end - r->start) > how->max_samples)
		fps = how->max_samples / (r->end - r->start);
	step = 1.0 / fps;
	cap = (size_t)((r->end - r->start) * fps) + 4;
	if ((r->s = calloc(cap, sizeof(*r->s))) == NULL) {
		seterr(err, errlen, "Out of memory sampling faces.");
		return -1;
	}
	if (media_seek(m, r->start, err, errlen) != 0)
		return -1;
	for (;;) {
		enum AVMediaType kind;
		double t;
		int nr = media_next(m, &kind, err, errlen), nf;
		struct crop_sample *cs = &r->s[r->n];

		if (nr < 0)
			return -1;
		if (nr == 1)
			break;
		t = media_frame_time(m, kind, m->frame);
		if (t >= r->end)
			break;
		if (t < next - 0.02 || r->n >= cap)
			continue;
		/* Boxes come back in the frame's (upright, source) pixels. */
		nf = -1;
		if (nprev > 0 && t - whole_t < WHOLE_LOOK_S &&
		    (nf = face_det_track(fd, m->frame, prev, nprev, cs->box,
		    CROP_MAX_FACES)) < nprev)
			nf = -1;	/* one lost: look at the whole frame */
		if (nf < 0) {
			whole_t = t;
			nf = face_det_frame(fd, m->frame, how->tiled, cs->box,
			    CROP_MAX_FACES);
		}
		if (nf < 0) {
			seterr(err, errlen, "The source frames cannot be "
			    "scaled for face detection.");
			return -1;
		}
		cs->t = t - r->start;
		cs->n = nprev = nf;
		memcpy(prev, cs->box, sizeof(prev));
		r->n++;
		next += nf > 0 || step >= IDLE_S ? step : IDLE_S;
		while (next <= t)
			next += step;
		if (r->n % 10 == 0 && task_progress(ctx, pct0 + (int)((pct1 - pct0) *
		    (t - r->start) / (r->end - r->start)), "%s", how->what) != 0)
			return 1;
	}
	return 0;
}

/* How many of R's samples found a face. */
static size_t
face_samples(const struct range *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		if (r->s[i].n > 0)
			n++;
	return n;
}

/* Whether R's first look found too little: a face in fewer than half the
 * samples, or only faces under a twelfth of SIDE (the frame's shorter
 * side), which the whole-frame look finds only now and then. */
static int
wide_shot(const struct range *r, int side)
{
	size_t i;

	if (face_samples(r) * 2 < r->n)
		return 1;
	for (i = 0; i < r->n; i++)
		if (r->s[i].n > 0 && r->s[i].box[0].h * 12 >= side)
			return 0;
	return 1;
}

/*
 * The distinct ranges of the task's clips (one detection pass each,
 * shared by its aspects) into RANGES, and each clip's range into
 * RANGE_OF.  The number of ranges, or 0 with ERR when a clip is not valid.
 */
static size_t
clip_ranges(json_t *clips, struct range *ranges, int *range_of, char *err,
    size_t errlen)
{
	size_t nr = 0, i, j;
	json_t *c;
	int aw, ah;

	json_array_foreach(clips, i, c) {
		double s = json_number_value(json_object_get(c, "start"));
		double e = json_number_value(json_object_get(c, "end"));

		if (!(e > s && s >= 0) || !json_is_integer(json_object_get(c, "id")) ||
		    crop_parse_aspect(json_string_value(json_object_get(c,
		    "aspect")), &aw, &ah) != 0) {
			seterr(err, errlen, "Clip %zu of the frame task is not valid.", i);
			return 0;
		}
		for (j = 0; j < nr; j++)
			if (ranges[j].start == s && ranges[j].end == e)
				break;
		if (j == nr) {
			ranges[nr].start = s;
			ranges[nr].end = e;
			ranges[nr].rank = (int)json_integer_value(json_object_get(c,
			    "rank"));
			nr++;
		}
		range_of[i] = (int)j;
	}
	return nr;
}

/*
 * Sample the faces of range R (progress PCT0 to PCT1): the whole frame,
 * and in a wide shot, where that found too little, squares of it (see
 * struct detect), keeping what finds a face more often (the squares when
 * as often: their boxes are the sharper).  0, -1 with ERR,
 * or 1: cancelled.
 */
static int
detect_range(struct task_ctx *ctx, struct media_in *m, struct face_det *fd,
    struct range *r, int pct0, int pct1, char *err, size_t errlen)
{
	struct range wide;
	int rc;

	if ((rc = sample_range(ctx, m, fd, &DETECT_SPEAKER, r, pct0, pct1, err,
	    errlen)) != 0 || !wide_shot(r, m->width < m->height ? m->width :
	    m->height))
		return rc;
	wide = *r;
	wide.s = NULL;
	wide.n = 0;
	rc = sample_range(ctx, m, fd, &DETECT_WIDE_PROBE, &wide, pct1, pct1,
	    err, errlen);
	if (rc == 0 && face_samples(&wide) > 0) {
		free(wide.s);
		wide.s = NULL;
		wide.n = 0;
		rc = sample_range(ctx, m, fd, &DETECT_WIDE, &wide, pct1, pct1,
		    err, errlen);
	}
	log_ev(LOG_INFO, "frame_wide_pass", "{sisIsIsIsI}", "rank", r->rank,
	    "samples", (json_int_t)r->n, "faces", (json_int_t)face_samples(r),
	    "wide_samples", (json_int_t)wide.n, "wide_faces",
	    (json_int_t)face_samples(&wide));
	if (rc == 0 && face_samples(&wide) * r->n >= face_samples(r) * wide.n &&
	    face_samples(&wide) > 0) {
		free(r->s);
		*r = wide;
	} else
		free(wide.s);
	return rc;
}

/* Tell the user, once per range, that clip I's range found no face (and,
 * CENTRE, that it is centre-cropped, as the job asks for a track). */
static void
no_face_notice(struct task_ctx *ctx, const struct range *r,
    const int *range_of, size_t i, int centre)
{
	char msg[160];
	size_t k;
	json_t *d;

	for (k = 0; k < i; k++)
		if (range_of[k] == range_of[i])
			return;
	d = json_pack("{sisfsf}", "rank", r->rank, "start", r->start, "end",
	    r->end);
	xsnprintf(msg, sizeof(msg), "No face was found in clip %d, so %s.",
	    r->rank, centre ? "it is centre-cropped" : "the whole picture is "
	    "shown");
	task_event(ctx, "fallback", msg, d);
	json_decref(d);
}

/* The mean confidence of the words in [START, END) of transcript T, or
 * NULL when it has none or a word has no confidence.  New reference. */
static json_t *
asr_confidence(json_t *t, double start, double end)
{
	json_t *seg, *w, *c;
	size_t i, j, n = 0;
	double sum = 0;

	json_array_foreach(json_object_get(t, "segments"), i, seg)
		json_array_foreach(json_object_get(seg, "words"), j, w) {
			double ws = json_number_value(json_object_get(w, "start"));

			if (ws < start || ws >= end)
				continue;
			if (!json_is_number(c = json_object_get(w, "confidence")) ||
			    !(json_number_value(c) >= 0 && json_number_value(c) <= 1))
				return json_null();
			sum += json_number_value(c);
			n++;
		}
	return n > 0 ? json_real(round(sum / n * 1000) / 1000) : json_null();
}

/* Round V to three places, or null when V < 0 (unknown). */
static json_t *
share(double v)
{
	return v < 0 ? json_null() : json_real(round(v * 1000) / 1000);
}

/* Clip's quality figures for clips.quality: a new reference. */
static json_t *
quality(const struct range *r, const struct crop_frame *f,
    const struct crop_figures *fig, const struct framing *fr)
{
	char warn[200];
	json_t *q;

	q = json_pack("{sisisbsfsssssosfso}", "samples", (int)r->n,
	    "face_samples", fig->face_samples, "centre_crop",
	    f->layout == LAYOUT_TRACK && !fig->has_face, "reversals_per_s",
	    round(fig->reversals_per_s * 1000) / 1000, "layout",
	    crop_layout_name(f->layout), "layout_reason", f->reason,
	    "face_in_picture", share(fig->face_in_picture), "upscale",
	    round(fig->upscale * 100) / 100, "asr_confidence", fr->transcript ?
	    asr_confidence(fr->transcript, r->start, r->end) : json_null());
	json_object_set_new(q, "face_in_crop", share(fig->face_in_crop));
	json_object_set_new(q, "warning", crop_warning(f->layout, fig, warn,
	    sizeof(warn)) ? json_string(warn) : json_null());
	return q;
}

/* The layout clip C asks for (a re-framing for an edited clip carries
 * the clip's own), else the job's DEF; -1: auto. */
static int
clip_layout(json_t *c, int def)
{
	const char *w = json_string_value(json_object_get(c, "layout"));
	enum crop_layout l;

	if (w == NULL)
		return def;
	return crop_layout_parse(w, &l) == 0 ? (int)l : -1;
}

/*
 * Plan clip C's (the I-th) framing from range R's samples on a SW x SH
 * source, store it, and append the clip with its framing quality to
 * OUT_CLIPS; *NO_FACE is set when no face was found.  STAGE_OK, or
 * another stage_rc with ERR.
 */
static enum stage_rc
store_path(struct task_ctx *ctx, json_t *c, size_t i, const struct range *r,
    int sw, int sh, const struct framing *fr, json_t *out_clips,
    int *no_face, char *err, size_t errlen)
{
	const struct task *tk = ctx->task;
	struct crop_frame f;
	struct crop_figures fig;
	struct crop_audio au = fr->au;
	json_t *pj, *q;
	char key[256], path[4096];
	enum stage_rc rc;
	int ow, oh;

	if (render_size(json_string_value(json_object_get(c, "aspect")), &ow,
	    &oh) != 0) {
		seterr(err, errlen, "Clip %zu asks for an aspect that cannot "
		    "be rendered.", i);
		return STAGE_PERMANENT;
	}
	au.t0 = r->start;
	if (crop_frame_plan(r->s, r->n, r->end - r->start, sw, sh, ow, oh,
	    fr->au.n > 0 ? &au : NULL, clip_layout(c, fr->layout), &f, &fig,
	    err, errlen) != 0)
		return STAGE_PERMANENT;
	*no_face = !fig.has_face;
	pj = crop_frame_json(&f);
	if (key_clip_crop(key, sizeof(key), tk->job_id, (long long)
	    json_integer_value(json_object_get(c, "id"))) != 0 ||
	    xsnprintf(path, sizeof(path), "%s/crop-%zu.json",
	    ctx->scratch, i) != 0 || pj == NULL ||
	    json_dump_file(pj, path, JSON_COMPACT | JSON_REAL_PRECISION(7)) != 0) {
		seterr(err, errlen, "The crop path could not be written.");
		json_decref(pj);
		crop_frame_free(&f);
		return STAGE_PERMANENT;
	}
	json_decref(pj);
	if ((rc = stage_put(ctx, key, path, "application/json", err,
	    errlen)) != STAGE_OK) {
		crop_frame_free(&f);
		return rc;
	}
	q = quality(r, &f, &fig, fr);
	log_ev(LOG_INFO, "frame_layout", "{sisssisf}", "rank", r->rank,
	    "layout", crop_layout_name(f.layout), "speakers", fig.speakers,
	    "upscale", fig.upscale);
	json_array_append_new(out_clips, json_pack("{sOsOsOsOsssOsO?}",
	    "id", json_object_get(c, "id"), "start", json_object_get(c, "start"),
	    "end", json_object_get(c, "end"), "aspect",
	    json_object_get(c, "aspect"), "crop_key", key, "quality", q,
	    "layout", json_object_get(c, "layout")));
	json_decref(q);
	crop_frame_free(&f);
	return STAGE_OK;
}

/*
 * What the plans read besides faces into FR: the job's layout, the
 * loudness and the transcript (both optional: without them the speaker
 * is found from the mouths alone, and the words' confidence is null).
 */
static void
framing_load(struct task_ctx *ctx, struct framing *fr)
{
	const struct task *tk = ctx->task;
	const char *lw = json_string_value(json_object_get(json_object_get(
	    tk->job, "options"), "layout"));
	const char *tkey = json_string_value(json_object_get(tk->payload,
	    "transcript_key"));
	enum crop_layout l;
	char key[256], err[256];
	json_t *lo = NULL, *v;
	size_t i;

	memset(fr, 0, sizeof(*fr));
	fr->layout = lw != NULL && crop_layout_parse(lw, &l) == 0 ? (int)l : -1;
	if (key_job_loudness(key, sizeof(key), tk->job_id) == 0 &&
	    stage_input_json(ctx, key, "loudness.json", &lo, err,
	    sizeof(err)) == STAGE_OK) {
		json_t *arr = json_object_get(lo, "dbfs");
		double iv = json_number_value(json_object_get(lo, "interval"));
		size_t n = json_array_size(arr);

		if (iv >= 0.001 && iv <= 10 && n > 0 && n <= 10000000 &&
		    (fr->db = calloc(n, sizeof(*fr->db))) != NULL) {
			json_array_foreach(arr, i, v)
				fr->db[i] = json_number_value(v);
			fr->au.db = fr->db;
			fr->au.n = n;
			fr->au.interval = iv;
		}
		json_decref(lo);
	}
	if (tkey != NULL)
		xsnprintf(key, sizeof(key), "%s", tkey);
	else
		key_job_transcript(key, sizeof(key), tk->job_id);
	if (stage_input_json(ctx, key, "transcript.json", &fr->transcript, err,
	    sizeof(err)) != STAGE_OK)
		fr->transcript = NULL;
}

static enum stage_rc
frame_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const struct task *tk = ctx->task;
	json_t *clips = json_object_get(tk->payload, "clips"), *c, *v;
	const char *src_key = json_string_value(json_object_get(tk->job,
	    "source_key"));
	struct range ranges[MAX_CLIPS];
	int range_of[MAX_CLIPS];
	size_t nr = 0, i, j, nc;
	struct face_det *fd = NULL;
	struct framing fr;
	struct media_in m;
	char *src = NULL;
	int opened = 0, r;
	enum stage_rc rc = STAGE_PERMANENT;

	memset(ranges, 0, sizeof(ranges));
	memset(&fr, 0, sizeof(fr));
	nc = json_array_size(clips);
	if (nc == 0 || nc > MAX_CLIPS) {
		seterr(err, errlen, "The frame task has no clips (or too many).");
		return STAGE_PERMANENT;
	}
	if ((nr = clip_ranges(clips, ranges, range_of, err, errlen)) == 0)
		return STAGE_PERMANENT;
	/* OpenCV starts here, in the task's child, after the runner forked.
	 * Without its model the detector cannot work: say so, and fail. */
	if ((fd = face_det_open(cfg.face_model_dir, err, errlen)) == NULL)
		return STAGE_PERMANENT;
	if ((rc = stage_input(ctx, src_key, "source", &src, err, errlen)) !=
	    STAGE_OK)
		goto out;
	rc = STAGE_PERMANENT;
	if (media_open(&m, src, probe_job_format(ctx->task->job), 0, 0,
	    err, errlen) != 0)
		goto out;
	opened = 1;
	/* Reference frames are enough at five samples a second. */
	m.vdec->skip_frame = AVDISCARD_NONREF;

	for (j = 0; j < nr; j++) {
		r = detect_range(ctx, &m, fd, &ranges[j], (int)(j * 90 / nr),
		    (int)((j + 1) * 90 / nr), err, errlen);
		if (r != 0) {
			rc = r == 1 ? STAGE_CANCELLED : STAGE_PERMANENT;
			goto out;
		}
	}

	framing_load(ctx, &fr);
	*result = json_pack("{s[]}", "clips");
	json_array_foreach(clips, i, c) {
		int fallback;

		/* Displayed size: media_next() turns rotated sources upright. */
		rc = store_path(ctx, c, i, &ranges[range_of[i]], m.width,
		    m.height, &fr, json_object_get(*result, "clips"), &fallback,
		    err, errlen);
		if (rc != STAGE_OK) {
			json_decref(*result);
			*result = NULL;
			goto out;
		}
		if (fallback)
			no_face_notice(ctx, &ranges[range_of[i]], range_of, i,
			    fr.layout == LAYOUT_TRACK);
	}
	if ((v = json_object_get(tk->payload, "captions")) != NULL)
		json_object_set(*result, "captions", v);
	if ((v = json_object_get(tk->payload, "transcript_key")) != NULL)
		json_object_set(*result, "transcript_key", v);
	log_ev(LOG_INFO, "frame_done", "{sIsi}", "job", tk->job_id, "clips",
	    (int)nc);
	rc = STAGE_OK;
out:
	for (j = 0; j < nr; j++)
		free(ranges[j].s);
	free(fr.db);
	json_decref(fr.transcript);
	face_det_close(fd);
	if (opened)
		media_close(&m);
	free(src);
	return rc;
}

/*
 * In frame_done's transaction: record clip CL's framing figures and what
 * its framing was made for (clips.framed: a render asked for later reuses
 * it while the clip's bounds, aspect and layout stay); a candidate for
 * review when REVIEW, else the clip's own caption style and edits go
 * into CL ("caption_style", "edits") for its render output.  0 or -1.
 */
static int
frame_record(PGconn *c, const struct task *tk, json_t *res, json_t *cl,
    int review, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	json_t *framed, *edits;
	char *qs, *fs;
	PGresult *r;
	int rc = -1;

	framed = json_pack("{sOsOsOsO?sOsO?sO?}", "start", json_object_get(cl,
	    "start"), "end", json_object_get(cl, "end"), "aspect",
	    json_object_get(cl, "aspect"), "layout", json_object_get(cl,
	    "layout"), "crop_key", json_object_get(cl, "crop_key"), "captions",
	    json_object_get(res, "captions"), "transcript_key",
	    json_object_get(res, "transcript_key"));
	qs = json_dumps(json_object_get(cl, "quality"), JSON_COMPACT |
	    JSON_ENCODE_ANY);
	fs = framed != NULL ? json_dumps(framed, JSON_COMPACT) : NULL;
	json_decref(framed);
	if (qs == NULL || fs == NULL) {
		seterr(err, errlen, "Out of memory.");
		goto out;
	}
	{
		const char *p[] = { db_param_ll(&dp, json_integer_value(
		    json_object_get(cl, "id"))), db_param_ll(&dp, tk->job_id),
		    qs, fs, review ? "t" : "f" };

		r = db_exec(c, err, errlen, "UPDATE clips SET quality = "
		    "$3::jsonb, framed = $4::jsonb, state = CASE WHEN $5::bool "
		    "THEN 'candidate' ELSE state END WHERE id = $1 AND "
		    "job_id = $2 RETURNING edits::text, caption_style", 5, p);
	}
	if (r == NULL)
		goto out;
	if (!review && PQntuples(r) == 1) {
		if ((edits = json_loads(PQgetvalue(r, 0, 0), 0, NULL)) != NULL)
			json_object_set_new(cl, "edits", edits);
		if (!PQgetisnull(r, 0, 1))
			json_object_set_new(cl, "caption_style",
			    json_string(PQgetvalue(r, 0, 1)));
	}
	PQclear(r);
	rc = 0;
out:
	free(qs);
	free(fs);
	return rc;
}

/* In frame_done's transaction: the job waits for the user's review of its
 * N candidates, with an event and the webhook job.awaiting_review. */
static int
await_review(PGconn *c, const struct task *tk, size_t n, char *err,
    size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[1] = { db_param_ll(&dp, tk->job_id) };
	char msg[160];
	long long seq;
	json_t *ev;

	if (db_cmd(c, err, errlen, "UPDATE jobs SET state = 'awaiting_review',"
	    " updated_at = now() WHERE id = $1", 1, p) == -1)
		return -1;
	snprintf(msg, sizeof(msg), "%zu candidate clip%s wait%s for your "
	    "review: edit them, then choose which to render.", n,
	    n == 1 ? "" : "s", n == 1 ? "s" : "");
	if ((ev = json_pack("{sIss}", "candidates", (json_int_t)n, "msg",
	    msg)) == NULL) {
		seterr(err, errlen, "Out of memory.");
		return -1;
	}
	seq = queue_event(c, tk->job_id, "awaiting_review", "frame", ev, err,
	    errlen);
	if (seq >= 0 && webhook_enqueue(c, tk->job_id, "job.awaiting_review",
	    seq, ev, err, errlen) == -1)
		seq = -1;
	json_decref(ev);
	return seq < 0 ? -1 : 0;
}

/* Render output of clip CL (its caption style and edits, when
 * frame_record() found them). */
static json_t *
render_output(json_t *cl)
{
	json_t *o, *v;

	o = json_pack("{sOsOsO}", "clip_id", json_object_get(cl, "id"),
	    "aspect", json_object_get(cl, "aspect"), "crop_key",
	    json_object_get(cl, "crop_key"));
	if (o != NULL && (v = json_object_get(cl, "caption_style")) != NULL)
		json_object_set(o, "caption_style", v);
	if (o != NULL && (v = json_object_get(cl, "edits")) != NULL)
		json_object_set(o, "edits", v);
	return o;
}

/*
 * One render task per segment of result RES's clips: the clip rows of one
 * segment (its aspects) share its times, and one decode makes all their
 * outputs (the payload is described in render.c), the first row the
 * task's clip.  0, or -1 with ERR.
 */
static int
render_tasks(PGconn *c, const struct task *tk, json_t *res, char *err,
    size_t errlen)
{
	json_t *segs = json_array(), *cl, *seg, *payload;
	size_t i, k;
	int rc = 0;

	json_array_foreach(json_object_get(res, "clips"), i, cl) {
		double s = json_number_value(json_object_get(cl, "start"));
		double e = json_number_value(json_object_get(cl, "end"));

		payload = NULL;
		json_array_foreach(segs, k, seg)
			if (json_number_value(json_object_get(seg, "start")) == s &&
			    json_number_value(json_object_get(seg, "end")) == e &&
			    json_array_size(json_object_get(seg, "outputs")) <
			    RENDER_MAX_OUT)
				payload = seg;
		if (payload == NULL) {
			payload = json_pack("{sOsOs[]}", "start", json_object_get(
			    cl, "start"), "end", json_object_get(cl, "end"),
			    "outputs");
			if (json_object_get(res, "captions"))
				json_object_set(payload, "captions",
				    json_object_get(res, "captions"));
			if (json_object_get(res, "transcript_key"))
				json_object_set(payload, "transcript_key",
				    json_object_get(res, "transcript_key"));
			json_array_append_new(segs, payload);
		}
		json_array_append_new(json_object_get(payload, "outputs"),
		    render_output(cl));
	}
	json_array_foreach(segs, k, seg) {
		json_t *first = json_array_get(json_object_get(seg, "outputs"), 0);

		if ((rc = queue_add_task(c, tk->job_id, json_integer_value(
		    json_object_get(first, "clip_id")), "render", seg, err,
		    errlen)) != 0)
			break;
	}
	json_decref(segs);
	return rc;
}

static int
frame_done(PGconn *c, const struct task *tk, json_t *res, char *err,
    size_t errlen)
{
	json_t *clips = json_object_get(res, "clips"), *cl;
	int review = json_is_true(json_object_get(tk->payload, "review"));
	size_t i;

	json_array_foreach(clips, i, cl)
		if (frame_record(c, tk, res, cl, review, err, errlen) == -1)
			return -1;
	if (review)
		return await_review(c, tk, json_array_size(clips), err, errlen);
	if (render_tasks(c, tk, res, err, errlen) != 0)
		return -1;
	return queue_notify_stage(c, "render", err, errlen);
}

const struct stage stage_frame = {
	.name = "frame",
	.isolated = 1,
	.batch = 1,
	.cap = &cfg.cap_frame,
	.run = frame_run,
	.done = frame_done,
};
