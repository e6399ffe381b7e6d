/*
 * The clip renderer (render.h).  A producer thread demuxes and decodes
 * the clip once and, for each output (an aspect of the clip), crops,
 * scales and burns captions, one frame after another on one core (at a
 * lower priority than the rest for one output); one encoder thread per
 * output feeds
 * libx264 (its own frame and lookahead threads) and AAC and muxes, and
 * the calling thread hands each output to its finished callback as soon
 * as it is written.  Video and audio are both trimmed to start at the
 * first video frame at or after the clip's start, so they begin together.
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


/* ---- one output ---- */

struct render;

struct outp {
	struct render_req r;		/* as asked, the progress wrapped */
	const struct render_req *req;	/* as asked */
	struct render	*rs;
	struct render_res *res;
	struct out	 o;
	struct caps	 caps;
	struct caps	*capsp;		/* NULL: no captions */
	struct audio_trim at;
	struct lay	 lay;
	pthread_t	 th;
	int		 started;	/* its encoder thread runs */
	int		 fed;		/* the producer still feeds it */
	int		 prod_rc;	/* 0, or -1: the producer failed it */
	int		 by_source;	/* ... with every other output */
	char		 prod_err[256];
	int		 ended, reported;	/* under rs->mu */
};

/* ---- the producer thread ---- */

struct prod {
	struct render	*rs;
	struct media_in	*m;
	double		 fps;
	long long	 expect;	/* frames in the clip */
	long long	 frames;	/* frames queued */
	int		 thumb_done;
	int		 rc;		/* 0, or -1 with err */
	char		 err[256];

	/* produce()'s own state */
	double		 start, end;	/* the clip */
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

/* The whole render: what the threads share. */
struct render {
	struct outp	 out[RENDER_MAX_OUT];
	int		 n;
	struct prod	 p;
	pthread_mutex_t	 mu;		/* ended, reported, cancelled */
	pthread_cond_t	 cv;		/* an output ended */
	pthread_mutex_t	 cb;		/* one callback at a time */
	int		 cancelled;
};

/* Below the encoder's threads in priority (one output): the producer's
 * work (decoding, scaling, captions) is about a seventh of the encoder's,
 * and this way it runs in the gaps libx264's frame threads leave while
 * they wait on each other rather than taking turns with them
 * (contrib/bench/render: 2 to 3% less wall time on 2 cores).  Only this thread, which ends with the
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

/* The producer gives up on output O with the sentence ERR: its encoder
 * drops what is queued and ends. */
static void
prod_drop(struct outp *o, const char *err)
{
	if (!o->fed)
		return;
	o->prod_rc = -1;
	seterr(o->prod_err, sizeof(o->prod_err), "%s", err);
	fq_stop(&o->o.q);
	fq_put(&o->o.q, NULL, 0);
	o->fed = 0;
}

/* Outputs the producer still feeds, after dropping those whose encoder
 * stopped (failed, or cancelled). */
static int
prod_live(struct prod *p)
{
	int i, live = 0;

	for (i = 0; i < p->rs->n; i++) {
		struct outp *o = &p->rs->out[i];

		if (o->fed && fq_failed(&o->o.q))
			prod_drop(o, "The encoder stopped.");
		live += o->fed;
	}
	return live;
}

/* Decoded audio frame F at FT, trimmed to [T0, TV_END), to every output
 * fed; one whose audio fails is dropped. */
static void
prod_take(struct prod *p, const AVFrame *f, double ft)
{
	int i;

	for (i = 0; i < p->rs->n; i++) {
		struct outp *o = &p->rs->out[i];

		if (o->fed && audio_take(&o->o, &o->at, f, ft, p->t0,
		    p->tv_end) != 0)
			prod_drop(o, "The audio could not be converted.");
	}
}

/* A decoded audio frame at T: held until the clip's first picture, then
 * trimmed and queued.  0 or -1 with p->err. */
static int
prod_audio(struct prod *p, double t)
{
	const AVFrame *f = p->m->frame;

	if (p->video_over && p->tv_end >= 0 && t >= p->tv_end)
		return 0;
	if (p->t0 < 0) {
		/* Video has not started: hold the frame. */
		if (p->nheld < MAX_HELD_AUDIO && t >= 0 &&
		    t + (double)f->nb_samples / p->m->adec->sample_rate >
		    p->start - 1) {
			if ((p->held[p->nheld] = av_frame_clone(f)) == NULL) {
				seterr(p->err, sizeof(p->err), "Out of memory "
				    "while rendering.");
				return -1;
			}
			p->nheld++;
		}
		return 0;
	}
	prod_take(p, f, t);
	return 0;
}

/* The clip's true first frame, at T: audio starts here too, and what was
 * held of it goes out. */
static void
prod_first(struct prod *p, double t)
{
	int i;

	p->t0 = t;
	p->slots = p->expect;
	if (p->t0 + p->slots * p->fdur - p->end > p->fdur / 2)
		p->slots--;
	p->tv_end = p->t0 + p->slots * p->fdur;
	for (i = 0; i < p->nheld; i++) {
		prod_take(p, p->held[i], media_frame_time(p->m,
		    AVMEDIA_TYPE_AUDIO, p->held[i]));
		av_frame_free(&p->held[i]);
	}
	p->nheld = 0;
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

/* The decoded picture at T drawn by output O's layout, captioned (and
 * kept as its thumbnail when THUMB), stamped PTS and queued.  0, or -1
 * with ERR (the output's own failure). */
static int
out_picture(struct prod *p, struct outp *o, double t, int64_t pts,
    int thumb, char *err, size_t errlen)
{
	const struct render_req *r = &o->r;
	AVFrame *of = fq_take(&o->o.q);

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
	if (lay_draw(&o->lay, p->m->frame, t - r->start, of) != 0) {
		av_frame_free(&of);
		seterr(err, errlen, "Scaling a frame failed.");
		return -1;
	}
	if (thumb && write_thumb(of, r->out_jpg, err, errlen) != 0) {
		av_frame_free(&of);
		return -1;
	}
	if (o->capsp != NULL)
		caps_blend(o->capsp, of, llround((t - r->start) * 1000));
	of->pts = pts;
	of->pict_type = AV_PICTURE_TYPE_NONE;
	fq_put(&o->o.q, of, 0);
	return 0;
oom:
	av_frame_free(&of);
	seterr(err, errlen, "Out of memory while rendering.");
	return -1;
}

/* The decoded picture at T to every output fed.  0 or -1 with p->err
 * (the source's failure). */
static int
prod_picture(struct prod *p, double t)
{
	int64_t pts = prod_slot(p, t);
	int i, thumb = !p->thumb_done && t >= p->thumb_t - p->fdur / 2;
	char err[256];

	for (i = 0; i < p->rs->n; i++) {
		struct outp *o = &p->rs->out[i];

		if (!o->fed)
			continue;
		if (lay_scalers(&o->lay, p->m->frame, p->m->width,
		    p->m->height, p->err, sizeof(p->err)) != 0)
			return -1;	/* the source, for every output */
		if (out_picture(p, o, t, pts, thumb, err, sizeof(err)) != 0)
			prod_drop(o, err);
	}
	p->thumb_done |= thumb;
	p->last_pts = pts;
	p->last_t = t;
	p->frames++;
	return 0;
}

/* A decoded video frame at T: before the clip, in it (queued), or past
 * it.  0, 1 when the clip has no frame at all, -1 with p->err. */
static int
prod_video(struct prod *p, double t)
{
	struct media_in *m = p->m;

	if (p->t0 >= 0 && m->frame->pts == AV_NOPTS_VALUE &&
	    m->frame->best_effort_timestamp == AV_NOPTS_VALUE)
		t = p->last_t + p->fdur;	/* untimed: next */
	if (t < p->start - p->fdur / 2)
		return 0;	/* before the clip: decoded, not shown */
	if (p->t0 < 0 ? t >= p->end - p->fdur / 2 :
	    prod_slot(p, t) >= p->slots) {
		p->video_over = 1;
		return p->t0 < 0 ? 1 : 0;
	}
	if (p->t0 < 0)
		prod_first(p, t);
	return prod_picture(p, t);
}

/* Decode from the keyframe before the clip and queue every picture of it
 * to every output, drawn, scaled and captioned, with the audio beside
 * it.  0 or -1 with p->err. */
static int
produce(struct prod *p)
{
	struct media_in *m = p->m;
	int i, rc = -1;

	p->fdur = 1.0 / p->fps;
	p->thumb_t = p->start + (p->end - p->start) / 3;
	p->t0 = p->tv_end = -1;
	p->last_pts = -1;
	if ((m->adec != NULL &&
	    (p->held = calloc(MAX_HELD_AUDIO, sizeof(*p->held))) == NULL)) {
		seterr(p->err, sizeof(p->err), "Out of memory while rendering.");
		goto out;
	}
	if (media_seek(m, p->start, p->err, sizeof(p->err)) != 0)
		goto out;
	m->skip_before = p->start - p->fdur / 2;
	for (;;) {
		enum AVMediaType kind;
		double t;
		int nr = media_next(m, &kind, p->err, sizeof(p->err));

		if (nr < 0)
			goto out;
		if (nr == 1 || prod_live(p) == 0)
			break;
		t = media_frame_time(m, kind, m->frame);
		if (kind == AVMEDIA_TYPE_AUDIO) {
			if (prod_audio(p, t) != 0)
				goto out;
		} else if (kind == AVMEDIA_TYPE_VIDEO && !p->video_over) {
			if ((nr = prod_video(p, t)) < 0)
				goto out;
			if (nr == 1)
				break;	/* no frame inside the clip */
		}
		/* Stop once the video is past the clip and the audio too. */
		if (p->video_over && (m->adec == NULL || (p->tv_end >= 0 &&
		    t >= p->tv_end && kind == AVMEDIA_TYPE_AUDIO)))
			break;
	}
	if (p->frames == 0 && prod_live(p) > 0) {
		seterr(p->err, sizeof(p->err), "The clip from %.2f s to %.2f s "
		    "has no video frames in the source.", p->start, p->end);
		goto out;
	}
	for (i = 0; i < p->rs->n; i++) {
		struct outp *o = &p->rs->out[i];

		if (o->fed && m->adec != NULL && audio_finish(&o->o, &o->at) != 0)
			prod_drop(o, "The audio could not be converted.");
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
	int i;

	/* Several outputs: their encoders have a thread each and leave no
	 * gaps; lowered, the producer, which feeds them all, fell behind
	 * them (contrib/bench/render -a: 12% more wall time). */
	if (p->rs->n == 1)
		yield_to_encoder();
	p->rc = produce(p);
	for (i = 0; i < p->rs->n; i++) {
		struct outp *o = &p->rs->out[i];

		if (p->rc != 0 && o->fed) {
			o->by_source = 1;
			prod_drop(o, p->err);
		} else if (o->fed) {
			fq_put(&o->o.q, NULL, 0);
			o->fed = 0;
		}
	}
	return NULL;
}

/* ---- the encoder threads ---- */

/* Output O's progress, one callback at a time; a cancel stops every
 * output. */
static int
out_progress(void *arg, int pct)
{
	struct outp *o = arg;
	struct render *rs = o->rs;
	int stop, i;

	pthread_mutex_lock(&rs->cb);
	stop = rs->cancelled || (o->req->progress != NULL &&
	    o->req->progress(o->req->progress_arg, pct) != 0);
	pthread_mutex_unlock(&rs->cb);
	if (stop) {
		pthread_mutex_lock(&rs->mu);
		rs->cancelled = 1;
		pthread_mutex_unlock(&rs->mu);
		for (i = 0; i < rs->n; i++)
			fq_stop(&rs->out[i].o.q);
	}
	return stop;
}

/* Output O once its encoder has ended: the file finished, RES filled. */
static void
out_finish(struct outp *o)
{
	struct render_res *res = o->res;
	struct prod *p = &o->rs->p;
	int e;

	res->rc = RENDER_ERR;
	if (o->o.rc != 0) {
		seterr(res->err, sizeof(res->err), "%s", o->o.err);
		return;
	}
	if (o->prod_rc != 0) {
		seterr(res->err, sizeof(res->err), "%s", o->prod_err);
		return;
	}
	if ((e = av_write_trailer(o->o.oc)) < 0) {
		averr(res->err, sizeof(res->err), "The clip file could not be "
		    "finished", e);
		return;
	}
	/* The producer is done with this output: its counts are final. */
	if (!p->thumb_done) {
		seterr(res->err, sizeof(res->err), "No frame for the thumbnail.");
		return;
	}
	res->width = o->r.out_w;
	res->height = o->r.out_h;
	res->frames = p->frames;
	res->layout = o->lay.g.layout;
	res->centred = o->r.frame != NULL && o->lay.centred;
	res->duration = (p->last_pts + 1) / p->fps;
	res->rc = RENDER_OK;
}

static void *
encoder_main(void *arg)
{
	struct outp *o = arg;
	struct render *rs = o->rs;

	if (encode_all(&o->o, &o->r, rs->p.expect) == 0)
		out_finish(o);
	else
		o->res->rc = RENDER_CANCELLED;
	pthread_mutex_lock(&rs->mu);
	o->ended = 1;
	pthread_cond_broadcast(&rs->cv);
	pthread_mutex_unlock(&rs->mu);
	return NULL;
}

/* ---- the render ---- */

/* Output O of request R, for source M (its frame rate FPS_Q), one of
 * several encoded at once when SHARED: layout, captions, encoders and
 * the file started.  0, or -1 with ERR; what was made is freed by
 * out_free() either way. */
static int
out_setup(struct outp *o, const struct render_req *r, struct media_in *m,
    AVRational fps_q, int shared, char *err, size_t errlen)
{
	struct render_res *res = o->res;

	o->req = r;
	o->r = *r;
	o->r.progress = out_progress;
	o->r.progress_arg = o;
	/* Several outputs: fewer frames queued and held by each encoder,
	 * so that together they stay within a stage's memory. */
	if (shared && o->r.x264_params == NULL)
		o->r.x264_params = RENDER_SHARED_X264;
	fq_init(&o->o.q, shared ? SHARED_QUEUE_CAP : QUEUE_CAP);
	if (lay_open(&o->lay, r->frame, m->width, m->height, r, err,
	    errlen) != 0)
		return -1;
	if (r->ass != NULL) {
		if (caps_open(&o->caps, r->ass, r->out_w, r->out_h,
		    res->captions_err, sizeof(res->captions_err)) == 0)
			o->capsp = &o->caps;
		else
			res->captions_failed = 1;
	}
	/* The output's time base is one frame (exact for 24, 30000/1001...),
	 * and prod_slot() puts each picture on it: constant frame rate. */
	if (out_open(&o->o, &o->r, m->adec, av_inv_q(fps_q), fps_q, err,
	    errlen) != 0)
		return -1;
	if (m->adec != NULL) {
		if (audio_trim_open(&o->at, &o->o, m->adec, err, errlen) != 0)
			return -1;
		res->has_audio = 1;
	}
	return out_start(&o->o, r->out_mp4, err, errlen);
}

static void
out_free(struct outp *o)
{
	audio_trim_close(&o->at);
	caps_close(&o->caps);
	lay_close(&o->lay);
	out_close(&o->o);
	fq_destroy(&o->o.q);
}

/* Hand each output to its finished callback as soon as its encoder has
 * ended, until every one has; then the threads are joined. */
static void
report_outputs(struct render *rs, pthread_t prod_th)
{
	int i, left = 0;

	for (i = 0; i < rs->n; i++)
		left += rs->out[i].started;
	pthread_mutex_lock(&rs->mu);
	while (left > 0) {
		struct outp *o = NULL;
		int cancelled;

		for (i = 0; i < rs->n && o == NULL; i++)
			if (rs->out[i].started && rs->out[i].ended &&
			    !rs->out[i].reported)
				o = &rs->out[i];
		if (o == NULL) {
			pthread_cond_wait(&rs->cv, &rs->mu);
			continue;
		}
		o->reported = 1;
		left--;
		cancelled = rs->cancelled;
		pthread_mutex_unlock(&rs->mu);
		/* The producer failed them all, or the render was cancelled:
		 * the caller hears it once, from render_clips(). */
		pthread_join(o->th, NULL);
		if (!o->by_source && !cancelled &&
		    o->req->finished != NULL) {
			pthread_mutex_lock(&rs->cb);
			o->req->finished(o->req->finished_arg, o->res);
			pthread_mutex_unlock(&rs->cb);
		}
		pthread_mutex_lock(&rs->mu);
	}
	pthread_mutex_unlock(&rs->mu);
	pthread_join(prod_th, NULL);
}

/* Start the encoder threads and the producer, report each output as it
 * ends.  0 once all have, or -1 with ERR when no thread could start. */
static int
render_run_threads(struct render *rs, char *err, size_t errlen)
{
	pthread_t th;
	int i;

	for (i = 0; i < rs->n; i++) {
		struct outp *o = &rs->out[i];

		if (o->fed && pthread_create(&o->th, NULL, encoder_main, o) == 0)
			o->started = 1;
		else if (o->fed) {
			o->fed = 0;
			o->res->rc = RENDER_ERR;
			seterr(o->res->err, sizeof(o->res->err), "The render "
			    "thread could not start.");
		}
	}
	if (pthread_create(&th, NULL, producer_main, &rs->p) != 0) {
		seterr(err, errlen, "The render thread could not start.");
		for (i = 0; i < rs->n; i++)
			prod_drop(&rs->out[i], err);
		for (i = 0; i < rs->n; i++)
			if (rs->out[i].started)
				pthread_join(rs->out[i].th, NULL);
		return -1;
	}
	report_outputs(rs, th);
	return 0;
}

enum render_rc
render_clips(const struct render_req *rq, int n, struct render_res *res,
    char *err, size_t errlen)
{
	struct render *rs;
	struct media_in m;
	AVRational fps_q;
	char oerr[256];
	int i, live = 0;
	enum render_rc rc = RENDER_ERR;

	if (n < 1 || n > RENDER_MAX_OUT) {
		seterr(err, errlen, "A render makes 1 to %d outputs.",
		    RENDER_MAX_OUT);
		return RENDER_ERR;
	}
	memset(res, 0, sizeof(*res) * (size_t)n);
	/* One decoder thread: the producer's whole share of the work is
	 * small, and frame threads would only add their own overhead. */
	if (media_open(&m, rq[0].src, rq[0].src_format, 1, 1, err, errlen) != 0)
		return RENDER_ERR;
	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		seterr(err, errlen, "Out of memory while rendering.");
		media_close(&m);
		return RENDER_ERR;
	}
	pthread_mutex_init(&rs->mu, NULL);
	pthread_cond_init(&rs->cv, NULL);
	pthread_mutex_init(&rs->cb, NULL);
	rs->n = n;
	rs->p.rs = rs;
	rs->p.m = &m;
	rs->p.start = rq[0].start;
	rs->p.end = rq[0].end;
	rs->p.fps = media_fps(&m);
	rs->p.expect = (long long)ceil((rq[0].end - rq[0].start) * rs->p.fps);
	fps_q = av_d2q(rs->p.fps, 100000);
	for (i = 0; i < n; i++) {
		struct outp *o = &rs->out[i];

		o->rs = rs;
		o->res = &res[i];
		if (out_setup(o, &rq[i], &m, fps_q, n > 1, oerr,
		    sizeof(oerr)) != 0) {
			res[i].rc = RENDER_ERR;
			seterr(res[i].err, sizeof(res[i].err), "%s", oerr);
			if (rq[i].finished != NULL)
				rq[i].finished(rq[i].finished_arg, &res[i]);
		} else
			live += o->fed = 1;
	}
	if (live == 0) {
		rc = RENDER_OK;		/* each output says why */
		goto out;
	}
	/* One line per decode: what one reading of the source served. */
	log_ev(LOG_INFO, "render_decode", "{sfsfsisi}", "start", rq[0].start,
	    "end", rq[0].end, "outputs", n, "live", live);
	if (render_run_threads(rs, err, errlen) != 0)
		goto out;
	if (rs->cancelled)
		rc = RENDER_CANCELLED;
	else if (rs->p.rc != 0)
		seterr(err, errlen, "%s", rs->p.err);
	else
		rc = RENDER_OK;
out:
	for (i = 0; i < n; i++)
		out_free(&rs->out[i]);
	media_close(&m);
	pthread_mutex_destroy(&rs->mu);
	pthread_cond_destroy(&rs->cv);
	pthread_mutex_destroy(&rs->cb);
	free(rs);
	return rc;
}

enum render_rc
render_clip(const struct render_req *r, struct render_res *res, char *err,
    size_t errlen)
{
	enum render_rc rc = render_clips(r, 1, res, err, errlen);

	if (rc == RENDER_OK && res->rc != RENDER_OK) {
		seterr(err, errlen, "%s", res->err);
		rc = res->rc;
	}
	return rc;
}
