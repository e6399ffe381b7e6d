/*
 * The frame stage: one task per job.  Decodes the source only inside the
 * clips' ranges, detects faces at about cfg.frame_sample_fps at reduced
 * resolution (each range once, however many aspects were asked for),
 * plans one crop path per clip row, and stores it at
 * jobs/{job}/crop/{clip}.json.  No face, or no working detector: the clip
 * is centre-cropped and the user is told.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libswscale/swscale.h>

#include "config.h"
#include "media/crop.h"
#include "db.h"
#include "keys.h"
#include "media/face_cv.h"
#include "log.h"
#include "media/render.h"
#include "runner/stage.h"
#include "util.h"

#define MAX_CLIPS	64
/*
 * How faces are looked for.  First at 640x360 (for 16:9; the shorter side
 * at 360, in landscape or portrait), for faces of at least a ninth of it:
 * a speaker's face, not the audience's, and skipping the small scales is
 * most of the saving.  Where that finds a face in fewer than half the
 * samples (a wide shot: the speaker small on a stage), the range is
 * looked at again at 1280x720 for faces down to 24 px (a thirtieth of the
 * shorter side), half as often, and without equalising the histogram
 * (a wide shot is mostly one backdrop, which equalising stretches at the
 * face's expense): about ten times the work a sample, only where the
 * first pass found too little, and only after six such samples found a
 * face at all.
 */
struct detect {
	int		 short_side;	/* of the detection picture */
	int		 min_div;	/* smallest face: short_side / min_div */
	int		 fps_div;	/* samples: cfg.frame_sample_fps / this */
	int		 max_samples;	/* and no more than this a range (0: any) */
	int		 equalize;	/* the histogram first (face_cv.h) */
	const char	*what;		/* the progress message */
};
static const struct detect DETECT_SPEAKER = { 360, 9, 1, 0, 1,
	"finding faces" };
/* Six samples first: a video with no face at all (slides, a screen)
 * costs little more than the first pass. */
static const struct detect DETECT_WIDE_PROBE = { 720, 30, 2, 6, 0,
	"looking for smaller faces" };
static const struct detect DETECT_WIDE = { 720, 30, 2, 0, 0,
	"looking for smaller faces" };

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
	struct SwsContext *sws = NULL;
	uint8_t *grey = NULL;
	double fps = cfg.frame_sample_fps / how->fps_div, step, next = r->start;
	size_t cap;
	int gw = 0, gh = 0, sw = 0, sh = 0, rc = -1, gs, mins;

	if (how->max_samples > 0 && fps * (r->end - r->start) > how->max_samples)
		fps = how->max_samples / (r->end - r->start);
	step = 1.0 / fps;
	cap = (size_t)((r->end - r->start) * fps) + 4;
	if ((r->s = calloc(cap, sizeof(*r->s))) == NULL) {
		seterr(err, errlen, "Out of memory sampling faces.");
		return -1;
	}
	if (media_seek(m, r->start, err, errlen) != 0)
		goto out;
	for (;;) {
		enum AVMediaType kind;
		AVFrame *f;
		double t;
		int nr = media_next(m, &kind, err, errlen), nf, i;
		struct face_box boxes[CROP_MAX_FACES];

		if (nr < 0)
			goto out;
		if (nr == 1)
			break;
		f = m->frame;
		t = media_frame_time(m, kind, f);
		if (t >= r->end)
			break;
		if (t < next - 0.02 || r->n >= cap)
			continue;
		next += step;
		while (next <= t)
			next += step;
		if (f->width != sw || f->height != sh) {
			free(grey);
			sw = f->width;
			sh = f->height;
			if ((sw < sh ? sw : sh) > how->short_side) {
				gw = (int)((long long)sw * how->short_side /
				    (sw < sh ? sw : sh));
				gh = (int)((long long)sh * how->short_side /
				    (sw < sh ? sw : sh));
			} else {
				gw = sw;
				gh = sh;
			}
			grey = malloc((size_t)gw * gh);
		}
		if (grey == NULL || gh < 8 ||
		    media_grey(&sws, f, grey, gw, gh) != 0) {
			seterr(err, errlen, "The source frames cannot be "
			    "scaled for face detection.");
			goto out;
		}
		/* The shorter side, so that a portrait video's speaker counts;
		 * 24 px is the cascade's own window. */
		gs = gw < gh ? gw : gh;
		mins = gs / how->min_div > 24 ? gs / how->min_div : 24;
		nf = fd ? face_det_run(fd, grey, gw, gh, gw, mins,
		    how->equalize, boxes, CROP_MAX_FACES) : 0;
		if (nf < 0)
			nf = 0;
		r->s[r->n].t = t - r->start;
		r->s[r->n].n = nf;
		for (i = 0; i < nf; i++) {
			/* Back to source pixels. */
			r->s[r->n].box[i].x = (int)lround(boxes[i].x * (double)sw / gw);
			r->s[r->n].box[i].y = (int)lround(boxes[i].y * (double)sh / gh);
			r->s[r->n].box[i].w = (int)lround(boxes[i].w * (double)sw / gw);
			r->s[r->n].box[i].h = (int)lround(boxes[i].h * (double)sh / gh);
		}
		r->n++;
		if (r->n % 10 == 0 && task_progress(ctx, pct0 + (int)((pct1 - pct0) *
		    (t - r->start) / (r->end - r->start)), "%s", how->what) != 0) {
			rc = 1;
			goto out;
		}
	}
	rc = 0;
out:
	sws_freeContext(sws);
	free(grey);
	return rc;
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

static enum stage_rc
frame_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const struct task *tk = ctx->task;
	json_t *clips = json_object_get(tk->payload, "clips"), *c, *out_clips;
	const char *src_key = json_string_value(json_object_get(tk->job,
	    "source_key"));
	struct range ranges[MAX_CLIPS];
	int range_of[MAX_CLIPS];
	size_t nr = 0, i, j, nc;
	struct face_det *fd = NULL;
	struct media_in m;
	char *src = NULL, derr[256];
	int opened = 0, sw, sh;
	enum stage_rc rc = STAGE_PERMANENT;

	memset(ranges, 0, sizeof(ranges));
	nc = json_array_size(clips);
	if (nc == 0 || nc > MAX_CLIPS) {
		seterr(err, errlen, "The frame task has no clips (or too many).");
		return STAGE_PERMANENT;
	}
	/* One detection pass per distinct range, shared by its aspects. */
	json_array_foreach(clips, i, c) {
		double s = json_number_value(json_object_get(c, "start"));
		double e = json_number_value(json_object_get(c, "end"));

		if (!(e > s && s >= 0) || !json_is_integer(json_object_get(c, "id")) ||
		    crop_parse_aspect(json_string_value(json_object_get(c,
		    "aspect")), &sw, &sh) != 0) {
			seterr(err, errlen, "Clip %zu of the frame task is not valid.", i);
			return STAGE_PERMANENT;
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
	if ((rc = stage_input(ctx, src_key, "source", &src, err, errlen)) !=
	    STAGE_OK)
		return rc;
	rc = STAGE_PERMANENT;
	if (media_open(&m, src, 0, 0, err, errlen) != 0)
		goto out;
	opened = 1;
	/* Reference frames are enough at five samples a second. */
	m.vdec->skip_frame = AVDISCARD_NONREF;
	/* Displayed size: media_next() turns rotated sources upright. */
	sw = m.width;
	sh = m.height;

	/* OpenCV starts here, in the task's child, after the runner forked. */
	if ((fd = face_det_open(cfg.face_cascade, derr, sizeof(derr))) == NULL) {
		json_t *d = json_pack("{ss}", "error", derr);

		task_event(ctx, "fallback", "Face detection is not available, so "
		    "the clips are centre-cropped.", d);
		json_decref(d);
	}
	for (j = 0; j < nr && fd != NULL; j++) {
		int pct1 = (int)((j + 1) * 90 / nr);
		int r = sample_range(ctx, &m, fd, &DETECT_SPEAKER, &ranges[j],
		    (int)(j * 90 / nr), pct1, err, errlen);
		struct range wide;

		if (r == 0 && face_samples(&ranges[j]) * 2 < ranges[j].n) {
			/* A wide shot?  Look for smaller faces; keep what
			 * finds a face more often. */
			wide = ranges[j];
			wide.s = NULL;
			wide.n = 0;
			r = sample_range(ctx, &m, fd, &DETECT_WIDE_PROBE, &wide,
			    pct1, pct1, err, errlen);
			if (r == 0 && face_samples(&wide) > 0) {
				free(wide.s);
				wide.s = NULL;
				wide.n = 0;
				r = sample_range(ctx, &m, fd, &DETECT_WIDE, &wide,
				    pct1, pct1, err, errlen);
			}
			log_ev(LOG_INFO, "frame_wide_pass", "{sisIsIsIsI}",
			    "rank", ranges[j].rank, "samples",
			    (json_int_t)ranges[j].n, "faces", (json_int_t)
			    face_samples(&ranges[j]), "wide_samples",
			    (json_int_t)wide.n, "wide_faces",
			    (json_int_t)face_samples(&wide));
			if (r == 0 && face_samples(&wide) * ranges[j].n >
			    face_samples(&ranges[j]) * wide.n) {
				free(ranges[j].s);
				ranges[j] = wide;
			} else
				free(wide.s);
		}
		if (r == 1) {
			rc = STAGE_CANCELLED;
			goto out;
		}
		if (r != 0)
			goto out;
	}

	out_clips = json_array();
	*result = json_pack("{so}", "clips", out_clips);
	json_array_foreach(clips, i, c) {
		struct range *r = &ranges[range_of[i]];
		struct crop_path cp;
		json_t *pj, *q;
		char key[256], path[4096];
		int aw, ah, face_fallback;

		crop_parse_aspect(json_string_value(json_object_get(c, "aspect")),
		    &aw, &ah);
		if (crop_plan(r->s, r->n, r->end - r->start, sw, sh, aw, ah, &cp,
		    err, errlen) != 0)
			goto fail;
		face_fallback = !cp.has_face;
		pj = crop_path_json(&cp);
		if (key_clip_crop(key, sizeof(key), tk->job_id, (long long)
		    json_integer_value(json_object_get(c, "id"))) != 0 || xsnprintf(path, sizeof(path), "%s/crop-%zu.json",
		    ctx->scratch, i) != 0 || pj == NULL ||
		    json_dump_file(pj, path, JSON_COMPACT | JSON_REAL_PRECISION(7)) != 0) {
			seterr(err, errlen, "The crop path could not be written.");
			json_decref(pj);
			crop_path_free(&cp);
			goto fail;
		}
		json_decref(pj);
		if ((rc = stage_put(ctx, key, path, "application/json", err,
		    errlen)) != STAGE_OK) {
			crop_path_free(&cp);
			goto fail_rc;
		}
		q = json_pack("{sisisbsf}", "samples", (int)r->n, "face_samples",
		    cp.face_samples, "centre_crop", face_fallback,
		    "reversals_per_s", round(cp.reversals_per_s * 1000) / 1000);
		json_object_set_new(q, "face_in_crop", cp.face_samples > 0 ?
		    json_real(round(cp.face_in_crop * 1000) / 1000) : json_null());
		json_array_append_new(out_clips, json_pack("{sOsOsOsOsssO}",
		    "id", json_object_get(c, "id"), "start", json_object_get(c, "start"),
		    "end", json_object_get(c, "end"), "aspect",
		    json_object_get(c, "aspect"), "crop_key", key, "quality", q));
		json_decref(q);
		crop_path_free(&cp);
		/* One notice per segment, not per aspect. */
		if (face_fallback && (i == 0 || range_of[i - 1] != range_of[i])) {
			char msg[160];
			int k, seen = 0;

			for (k = 0; k < (int)i; k++)
				if (range_of[k] == range_of[i])
					seen = 1;
			if (!seen) {
				json_t *d = json_pack("{sisfsf}", "rank", r->rank,
				    "start", r->start, "end", r->end);

				xsnprintf(msg, sizeof(msg), "No face was found in clip "
				    "%d, so it is centre-cropped.", r->rank);
				task_event(ctx, "fallback", msg, d);
				json_decref(d);
			}
		}
	}
	{
		json_t *v;

		if ((v = json_object_get(tk->payload, "captions")) != NULL)
			json_object_set(*result, "captions", v);
		if ((v = json_object_get(tk->payload, "transcript_key")) != NULL)
			json_object_set(*result, "transcript_key", v);
	}
	log_ev(LOG_INFO, "frame_done", "{sIsi}", "job", tk->job_id, "clips",
	    (int)nc);
	rc = STAGE_OK;
	goto out;
fail:
	rc = STAGE_PERMANENT;
fail_rc:
	json_decref(*result);
	*result = NULL;
out:
	for (j = 0; j < nr; j++)
		free(ranges[j].s);
	face_det_close(fd);
	if (opened)
		media_close(&m);
	free(src);
	return rc;
}

static int
frame_done(PGconn *c, const struct task *tk, json_t *res, char *err,
    size_t errlen)
{
	json_t *clips = json_object_get(res, "clips"), *cl;
	size_t i;
	char job[24];

	xsnprintf(job, sizeof(job), "%lld", tk->job_id);
	json_array_foreach(clips, i, cl) {
		json_t *q = json_object_get(cl, "quality"), *payload;
		char id[24], *qs;
		int rc;

		xsnprintf(id, sizeof(id), "%lld",
		    (long long)json_integer_value(json_object_get(cl, "id")));
		if ((qs = json_dumps(q, JSON_COMPACT)) == NULL) {
			seterr(err, errlen, "Out of memory.");
			return -1;
		}
		{
			const char *p[] = { id, job, qs };

			rc = db_cmd(c, err, errlen, "UPDATE clips SET quality = "
			    "$3::jsonb WHERE id = $1 AND job_id = $2", 3, p);
		}
		free(qs);
		if (rc != 0)
			return -1;
		payload = json_pack("{sOsOsOsO}", "start", json_object_get(cl,
		    "start"), "end", json_object_get(cl, "end"), "aspect",
		    json_object_get(cl, "aspect"), "crop_key",
		    json_object_get(cl, "crop_key"));
		if (json_object_get(res, "captions"))
			json_object_set(payload, "captions",
			    json_object_get(res, "captions"));
		if (json_object_get(res, "transcript_key"))
			json_object_set(payload, "transcript_key",
			    json_object_get(res, "transcript_key"));
		rc = queue_add_task(c, tk->job_id, json_integer_value(
		    json_object_get(cl, "id")), "render", payload, err, errlen);
		json_decref(payload);
		if (rc != 0)
			return -1;
	}
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
