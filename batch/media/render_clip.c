/*
 * The clip renderer (render.h).  A producer thread demuxes, decodes,
 * crops, scales and burns captions, one frame after another on one core,
 * at a lower priority than the rest; the calling thread feeds libx264 (its
 * own frame and lookahead threads) and AAC and muxes.  Video and audio are
 * both trimmed to start at the first video frame at or after the clip's
 * start, so they begin together.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "log.h"
#include "render_int.h"
#include "util.h"

#define MAX_HELD_AUDIO	4096	/* audio frames held until video starts */

int
render_size(const char *aspect, int *w, int *h)
{
	int aw, ah;

	if (crop_parse_aspect(aspect, &aw, &ah) != 0)
		return -1;
	if (!((aw == 9 && ah == 16) || (aw == 1 && ah == 1) ||
	    (aw == 4 && ah == 5)))
		return -1;
	*w = 1080;
	*h = (1080 * ah / aw) & ~1;
	return 0;
}

void
averr(char *err, size_t errlen, const char *what, int e)
{
	char msg[AV_ERROR_MAX_STRING_SIZE];

	av_strerror(e, msg, sizeof(msg));
	seterr(err, errlen, "%s: %s.", what, msg);
}


/* ---- the producer thread ---- */

struct prod {
	const struct render_req *r;
	struct media_in	*m;
	struct out	*o;
	struct caps	*caps;		/* NULL: no captions */
	struct audio_trim *at;
	struct lay	*lay;
	double		 fps;
	long long	 expect;	/* frames in the clip */
	long long	 frames;	/* frames queued */
	int		 thumb_done;
	int		 rc;		/* 0, or -1: with err unless the encoder
					   stopped it */
	char		 err[256];

	/* produce()'s own state */
	double		 fdur;		/* one frame, seconds */
	double		 thumb_t;	/* the thumbnail's time in the source */
	double		 t0;		/* the clip's first frame; -1 until then */
	double		 tv_end;	/* where the audio ends; -1 until T0 */
	int64_t		 slots;		/* the clip's frames, known at T0 */
	int64_t		 last_pts;	/* the last picture queued, or -1 */
	double		 last_t;	/* its time in the source */
	int		 video_over;	/* a frame past the clip was decoded */
	AVFrame		**held;		/* audio decoded before T0 */
	int		 nheld;
};

/* Below the encoder's threads in priority: the producer's work (decoding,
 * scaling, captions) is about a seventh of the encoder's, and this way it
 * runs in the gaps libx264's frame threads leave while they wait on each
 * other rather than taking turns with them (contrib/bench/render: 2 to 3%
 * less wall time on 2 cores).  Only this thread, which ends with the
 * render; an unprivileged thread could not raise it back. */
static void
yield_to_encoder(void)
{
	id_t tid = (id_t)gettid();
	int nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, tid);
	if (nice == -1 && errno != 0)
		return;
	if (setpriority(PRIO_PROCESS, tid, nice + 5 > 19 ? 19 : nice + 5) != 0)
		log_ev(LOG_WARN, "render_nice", "{ss}", "error", strerror(errno));
}

/* A decoded audio frame at T: held until the clip's first picture, then
 * trimmed to [T0, TV_END) and queued.  0 or -1 with p->err. */
static int
prod_audio(struct prod *p, double t)
{
	const AVFrame *f = p->m->frame;

	if (p->video_over && p->tv_end >= 0 && t >= p->tv_end)
		return 0;
	if (p->t0 < 0) {
		/* Video has not started: hold the frame. */
		if (p->nheld < MAX_HELD_AUDIO && t >= 0 &&
		    t + (double)f->nb_samples / p->at->in_rate > p->r->start - 1) {
			if ((p->held[p->nheld] = av_frame_clone(f)) == NULL) {
				seterr(p->err, sizeof(p->err), "Out of memory "
				    "while rendering.");
				return -1;
			}
			p->nheld++;
		}
		return 0;
	}
	if (audio_take(p->o, p->at, f, t, p->t0, p->tv_end) != 0) {
		seterr(p->err, sizeof(p->err), "The audio could not be converted.");
		return -1;
	}
	return 0;
}

/* The clip's true first frame, at T: audio starts here too, and what was
 * held of it goes out.  0 or -1 with p->err. */
static int
prod_first(struct prod *p, double t)
{
	int i;

	p->t0 = t;
	p->slots = p->expect;
	if (p->t0 + p->slots * p->fdur - p->r->end > p->fdur / 2)
		p->slots--;
	p->tv_end = p->t0 + p->slots * p->fdur;
	for (i = 0; i < p->nheld; i++) {
		double ht = media_frame_time(p->m, AVMEDIA_TYPE_AUDIO, p->held[i]);

		if (audio_take(p->o, p->at, p->held[i], ht, p->t0, p->tv_end) != 0) {
			seterr(p->err, sizeof(p->err), "The audio could not be "
			    "converted.");
			return -1;
		}
		av_frame_free(&p->held[i]);
	}
	p->nheld = 0;
	return 0;
}

/* The output slot of the picture at T: the encoder's time base is one
 * frame, and the picture goes where its own timestamp puts it, counted
 * from the clip's first picture.  Counting pictures instead, at a frame
 * duration rounded to the source's time base (Matroska's milliseconds:
 * 42 for 1/24 s), drifted by half a second a minute.  A picture whose
 * slot is taken (a duplicate timestamp, or two within a frame) takes the
 * next one; a gap in the source stays a gap, so the sound stays with it. */
static int64_t
prod_slot(const struct prod *p, double t)
{
	int64_t s = llround((t - p->t0) * p->fps);

	return s > p->last_pts ? s : p->last_pts + 1;
}

/* The decoded picture at T drawn by the clip's layout, captioned (and
 * kept as the thumbnail when it is its turn), stamped and queued.  0 or
 * -1 with p->err. */
static int
prod_picture(struct prod *p, double t)
{
	const struct render_req *r = p->r;
	AVFrame *of = fq_take(&p->o->q);

	if (of == NULL) {
		if ((of = av_frame_alloc()) == NULL)
			goto oom;
		of->format = AV_PIX_FMT_YUV420P;
		of->width = r->out_w;
		of->height = r->out_h;
		of->sample_aspect_ratio = (AVRational){1, 1};
		if (av_frame_get_buffer(of, 0) < 0)
			goto oom;
	}
	if (lay_draw(p->lay, p->m->frame, t - r->start, of) != 0) {
		av_frame_free(&of);
		seterr(p->err, sizeof(p->err), "Scaling a frame failed.");
		return -1;
	}
	if (!p->thumb_done && t >= p->thumb_t - p->fdur / 2) {
		if (write_thumb(of, r->out_jpg, p->err, sizeof(p->err)) != 0) {
			av_frame_free(&of);
			return -1;
		}
		p->thumb_done = 1;
	}
	if (p->caps != NULL)
		caps_blend(p->caps, of, llround((t - r->start) * 1000));
	of->pts = p->last_pts = prod_slot(p, t);
	p->last_t = t;
	of->pict_type = AV_PICTURE_TYPE_NONE;
	fq_put(&p->o->q, of, 0);
	p->frames++;
	return 0;
oom:
	av_frame_free(&of);
	seterr(p->err, sizeof(p->err), "Out of memory while rendering.");
	return -1;
}

/* Decode from the keyframe before the clip and queue every picture of it,
 * cropped, scaled and captioned, with the audio beside it.  0 or -1. */
static int
produce(struct prod *p)
{
	const struct render_req *r = p->r;
	struct media_in *m = p->m;
	int i, rc = -1;

	p->fdur = 1.0 / p->fps;
	p->thumb_t = r->start + (r->end - r->start) / 3;
	p->t0 = p->tv_end = -1;
	p->last_pts = -1;
	if ((m->adec != NULL &&
	    (p->held = calloc(MAX_HELD_AUDIO, sizeof(*p->held))) == NULL)) {
		seterr(p->err, sizeof(p->err), "Out of memory while rendering.");
		goto out;
	}
	if (media_seek(m, r->start, p->err, sizeof(p->err)) != 0)
		goto out;
	m->skip_before = r->start - p->fdur / 2;
	for (;;) {
		enum AVMediaType kind;
		double t;
		int nr = media_next(m, &kind, p->err, sizeof(p->err));

		if (nr < 0)
			goto out;
		if (nr == 1 || fq_failed(&p->o->q))
			break;
		t = media_frame_time(m, kind, m->frame);
		if (kind == AVMEDIA_TYPE_AUDIO) {
			if (prod_audio(p, t) != 0)
				goto out;
		} else if (kind == AVMEDIA_TYPE_VIDEO && !p->video_over) {
			if (p->t0 >= 0 && m->frame->pts == AV_NOPTS_VALUE &&
			    m->frame->best_effort_timestamp == AV_NOPTS_VALUE)
				t = p->last_t + p->fdur;	/* untimed: next */
			if (t < r->start - p->fdur / 2)
				continue;	/* before the clip: decoded, not shown */
			if (p->t0 < 0 ? t >= r->end - p->fdur / 2 :
			    prod_slot(p, t) >= p->slots) {
				p->video_over = 1;
				if (p->t0 < 0)
					break;	/* no frame inside the clip */
			} else if ((p->t0 < 0 && prod_first(p, t) != 0) ||
			    lay_scalers(p->lay, m->frame, m->width, m->height,
			    p->err, sizeof(p->err)) != 0 ||
			    prod_picture(p, t) != 0)
				goto out;
		}
		/* Stop once the video is past the clip and the audio too. */
		if (p->video_over && (m->adec == NULL || (p->tv_end >= 0 &&
		    t >= p->tv_end && kind == AVMEDIA_TYPE_AUDIO)))
			break;
	}
	if (fq_failed(&p->o->q))
		goto out;	/* the encoder's error, or a cancel */
	if (p->frames == 0) {
		seterr(p->err, sizeof(p->err), "The clip from %.2f s to %.2f s "
		    "has no video frames in the source.", r->start, r->end);
		goto out;
	}
	if (m->adec != NULL && audio_finish(p->o, p->at) != 0) {
		seterr(p->err, sizeof(p->err), "The audio could not be converted.");
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < p->nheld; i++)
		av_frame_free(&p->held[i]);
	free(p->held);
	p->held = NULL;
	p->nheld = 0;
	return rc;
}

static void *
producer_main(void *arg)
{
	struct prod *p = arg;

	yield_to_encoder();
	if ((p->rc = produce(p)) != 0)
		fq_stop(&p->o->q);
	fq_put(&p->o->q, NULL, 0);
	return NULL;
}

/* ---- the render ---- */

enum render_rc
render_clip(const struct render_req *r, struct render_res *res, char *err,
    size_t errlen)
{
	struct media_in m;
	struct out o;
	struct caps caps;
	struct audio_trim at;
	struct prod p;
	pthread_t th;
	AVRational tb, fps_q;
	struct lay lay;
	int e;
	enum render_rc rc = RENDER_ERR;

	memset(res, 0, sizeof(*res));
	memset(&o, 0, sizeof(o));
	memset(&at, 0, sizeof(at));
	memset(&caps, 0, sizeof(caps));
	memset(&lay, 0, sizeof(lay));
	memset(&p, 0, sizeof(p));
	fq_init(&o.q);

	/* One decoder thread: the producer's whole share of the work is
	 * small, and frame threads would only add their own overhead. */
	if (media_open(&m, r->src, r->src_format, 1, 1, err, errlen) != 0) {
		fq_destroy(&o.q);
		return RENDER_ERR;
	}
	if (lay_open(&lay, r->frame, m.width, m.height, r, err, errlen) != 0)
		goto out;
	p.r = r;
	p.m = &m;
	p.o = &o;
	p.at = &at;
	p.lay = &lay;
	p.fps = media_fps(&m);
	p.expect = (long long)ceil((r->end - r->start) * p.fps);
	/* The output's time base is one frame (exact for 24, 30000/1001...),
	 * and prod_slot() puts each picture on it: constant frame rate. */
	fps_q = av_d2q(p.fps, 100000);
	tb = av_inv_q(fps_q);

	if (r->ass != NULL) {
		if (caps_open(&caps, r->ass, r->out_w, r->out_h,
		    res->captions_err, sizeof(res->captions_err)) == 0)
			p.caps = &caps;
		else
			res->captions_failed = 1;
	}

	if (out_open(&o, r, m.adec, tb, fps_q, err, errlen) != 0)
		goto out;
	if (m.adec != NULL) {
		if (audio_trim_open(&at, &o, m.adec, err, errlen) != 0)
			goto out;
		res->has_audio = 1;
	}
	if (out_start(&o, r->out_mp4, err, errlen) != 0)
		goto out;
	if (pthread_create(&th, NULL, producer_main, &p) != 0) {
		seterr(err, errlen, "The render thread could not start.");
		goto out;
	}
	if (encode_all(&o, r, p.expect)) {
		pthread_join(th, NULL);
		rc = RENDER_CANCELLED;
		goto out;
	}
	pthread_join(th, NULL);
	if (o.rc != 0) {
		seterr(err, errlen, "%s", o.err);
		goto out;
	}
	if (p.rc != 0) {
		seterr(err, errlen, "%s", p.err);
		goto out;
	}
	if ((e = av_write_trailer(o.oc)) < 0) {
		averr(err, errlen, "The clip file could not be finished", e);
		goto out;
	}
	if (!p.thumb_done) {
		seterr(err, errlen, "No frame for the thumbnail.");
		goto out;
	}
	res->width = r->out_w;
	res->height = r->out_h;
	res->frames = p.frames;
	res->layout = lay.g.layout;
	res->centred = r->frame != NULL && lay.centred;
	res->duration = (p.last_pts + 1) / p.fps;
	rc = RENDER_OK;
out:
	audio_trim_close(&at);
	caps_close(&caps);
	lay_close(&lay);
	out_close(&o);
	media_close(&m);
	fq_destroy(&o.q);
	return rc;
}
