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


/* Plane pointers of SRC moved to the window's corner (X, Y). */
static void
window(const AVFrame *src, const AVPixFmtDescriptor *d, int x, int y,
    const uint8_t *data[4])
{
	int p;

	for (p = 0; p < 4; p++) {
		int c, step = 1, sx = 0, sy = 0;

		data[p] = NULL;
		if (src->data[p] == NULL)
			continue;
		for (c = 0; c < d->nb_components; c++)
			if (d->comp[c].plane == p) {
				step = d->comp[c].step;
				if (c == 1 || c == 2) {
					sx = d->log2_chroma_w;
					sy = d->log2_chroma_h;
				}
				break;
			}
		data[p] = src->data[p] + (ptrdiff_t)(y >> sy) * src->linesize[p] +
		    (ptrdiff_t)(x >> sx) * step;
	}
}

/* ---- the producer thread ---- */

struct prod {
	const struct render_req *r;
	struct media_in	*m;
	struct out	*o;
	struct caps	*caps;		/* NULL: no captions */
	struct audio_trim *at;
	const struct crop_path *cp;
	double		 fps;
	long long	 expect;	/* frames in the clip */
	long long	 frames;	/* frames queued */
	int		 thumb_done;
	int		 rc;		/* 0, or -1: with err unless the encoder
					   stopped it */
	char		 err[256];
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

/* Decode from the keyframe before the clip and queue every picture of it,
 * cropped, scaled and captioned, with the audio beside it.  0 or -1. */
static int
produce(struct prod *p)
{
	const struct render_req *r = p->r;
	struct media_in *m = p->m;
	struct out *o = p->o;
	struct audio_trim *at = p->at;
	const struct crop_path *cp = p->cp;
	struct SwsContext *sws = NULL;
	const AVPixFmtDescriptor *desc = NULL;
	AVFrame **held = NULL, *view = NULL;
	double fdur = 1.0 / p->fps, t0 = -1, tv_end = -1;
	double thumb_t = r->start + (r->end - r->start) / 3;
	int nheld = 0, sw = 0, sh = 0, sfmt = -1, video_over = 0, rc = -1;
	char *err = p->err;
	size_t errlen = sizeof(p->err);

	if ((view = av_frame_alloc()) == NULL ||
	    (m->adec != NULL &&
	    (held = calloc(MAX_HELD_AUDIO, sizeof(*held))) == NULL))
		goto oom;
	if (media_seek(m, r->start, err, errlen) != 0)
		goto out;
	m->skip_before = r->start - fdur / 2;
	for (;;) {
		enum AVMediaType kind;
		double t;
		int nr = media_next(m, &kind, err, errlen);

		if (nr < 0)
			goto out;
		if (nr == 1)
			break;
		if (fq_failed(&o->q))
			break;
		t = media_frame_time(m, kind, m->frame);
		if (kind == AVMEDIA_TYPE_AUDIO) {
			if (video_over && tv_end >= 0 && t >= tv_end)
				goto check_done;
			if (t0 < 0) {
				/* Video has not started: hold the frame. */
				if (nheld < MAX_HELD_AUDIO && t >= 0 &&
				    t + (double)m->frame->nb_samples / at->in_rate > r->start - 1) {
					if ((held[nheld] = av_frame_clone(m->frame)) == NULL)
						goto oom;
					nheld++;
				}
				continue;
			}
			if (audio_take(o, at, m->frame, t, t0, tv_end) != 0) {
				seterr(err, errlen, "The audio could not be converted.");
				goto out;
			}
			goto check_done;
		}
		if (kind != AVMEDIA_TYPE_VIDEO || video_over)
			goto check_done;
		if (t < r->start - fdur / 2)
			continue;	/* before the clip: decoded, not shown */
		if (t >= r->end - fdur / 2) {
			video_over = 1;
			if (t0 < 0)
				break;	/* no frame inside the clip */
			goto check_done;
		}
		if (t0 < 0) {
			int i;

			/* The clip's true first frame: audio starts here too. */
			t0 = t;
			tv_end = t0 + p->expect * fdur;
			if ((tv_end - r->end) > fdur / 2)
				tv_end -= fdur;
			for (i = 0; i < nheld; i++) {
				double ht = media_frame_time(m, AVMEDIA_TYPE_AUDIO, held[i]);

				if (audio_take(o, at, held[i], ht, t0, tv_end) != 0) {
					seterr(err, errlen, "The audio could not be converted.");
					goto out;
				}
				av_frame_free(&held[i]);
			}
			nheld = 0;
		}
		if (m->frame->width != sw || m->frame->height != sh ||
		    m->frame->format != sfmt) {
			/* A stream that changes size mid-way: new scaler, same
			 * window size relative to the frame. */
			sws_freeContext(sws);
			sw = m->frame->width;
			sh = m->frame->height;
			sfmt = m->frame->format;
			if (sw != cp->src_w || sh != cp->src_h) {
				seterr(err, errlen, "The source changes size "
				    "mid-way (%dx%d), which is not supported.", sw, sh);
				goto out;
			}
			sws = sws_getContext(cp->crop_w, cp->crop_h, sfmt, r->out_w,
			    r->out_h, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL,
			    NULL);
			desc = av_pix_fmt_desc_get(sfmt);
			if (sws == NULL || desc == NULL ||
			    (desc->flags & (AV_PIX_FMT_FLAG_HWACCEL |
			    AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM))) {
				seterr(err, errlen, "The source's pixel format %s "
				    "cannot be scaled.", av_get_pix_fmt_name(sfmt));
				goto out;
			}
		}
		{
			AVFrame *of = fq_take(&o->q);
			const uint8_t *win[4];
			int cx, cy, e;

			if (of == NULL) {
				if ((of = av_frame_alloc()) == NULL)
					goto oom;
				of->format = AV_PIX_FMT_YUV420P;
				of->width = r->out_w;
				of->height = r->out_h;
				of->sample_aspect_ratio = (AVRational){1, 1};
				if (av_frame_get_buffer(of, 0) < 0) {
					av_frame_free(&of);
					goto oom;
				}
			}
			crop_at(cp, t - r->start, &cx, &cy);
			window(m->frame, desc, cx, cy, win);
			/* A view of the window in the decoded frame, no copy. */
			av_frame_unref(view);
			if (av_frame_ref(view, m->frame) < 0) {
				av_frame_free(&of);
				goto oom;
			}
			memcpy(view->data, win, sizeof(win));
			view->width = cp->crop_w;
			view->height = cp->crop_h;
			e = sws_scale_frame(sws, of, view);
			/* Let go at once: a turned source's frame buffer goes
			 * back to its pool for the next picture. */
			av_frame_unref(view);
			if (e < 0) {
				av_frame_free(&of);
				averr(err, errlen, "Scaling a frame failed", e);
				goto out;
			}
			if (!p->thumb_done && t >= thumb_t - fdur / 2) {
				if (write_thumb(of, r->out_jpg, err, errlen) != 0) {
					av_frame_free(&of);
					goto out;
				}
				p->thumb_done = 1;
			}
			if (p->caps != NULL)
				caps_blend(p->caps, of, llround((t - r->start) * 1000));
			of->pts = p->frames * o->vdur;
			of->pict_type = AV_PICTURE_TYPE_NONE;
			fq_put(&o->q, of, 0);
			p->frames++;
		}
check_done:
		/* Stop once the video is past the clip and the audio too. */
		if (video_over && (m->adec == NULL || (tv_end >= 0 && t >= tv_end &&
		    kind == AVMEDIA_TYPE_AUDIO)))
			break;
	}
	if (fq_failed(&o->q))
		goto out;	/* the encoder's error, or a cancel */
	if (p->frames == 0) {
		seterr(err, errlen, "The clip from %.2f s to %.2f s has no video "
		    "frames in the source.", r->start, r->end);
		goto out;
	}
	if (m->adec != NULL && audio_finish(o, at) != 0) {
		seterr(err, errlen, "The audio could not be converted.");
		goto out;
	}
	rc = 0;
	goto out;
oom:
	seterr(err, errlen, "Out of memory while rendering.");
out:
	if (held) {
		int i;

		for (i = 0; i < nheld; i++)
			av_frame_free(&held[i]);
		free(held);
	}
	sws_freeContext(sws);
	av_frame_free(&view);
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
	AVDictionary *mopts = NULL;
	struct crop_path centre;
	const struct crop_path *cp = r->crop;
	int e;
	enum render_rc rc = RENDER_ERR;

	memset(res, 0, sizeof(*res));
	memset(&o, 0, sizeof(o));
	memset(&at, 0, sizeof(at));
	memset(&caps, 0, sizeof(caps));
	memset(&centre, 0, sizeof(centre));
	memset(&p, 0, sizeof(p));
	pthread_mutex_init(&o.q.mu, NULL);
	pthread_cond_init(&o.q.cv, NULL);

	/* One decoder thread: the producer's whole share of the work is
	 * small, and frame threads would only add their own overhead. */
	if (media_open(&m, r->src, 1, 1, err, errlen) != 0) {
		pthread_mutex_destroy(&o.q.mu);
		pthread_cond_destroy(&o.q.cv);
		return RENDER_ERR;
	}
	if (cp == NULL || cp->src_w != m.width || cp->src_h != m.height) {
		/* No path, or one planned on other dimensions: centre.  The
		 * sizes are as displayed (media_next() turns frames upright). */
		centre.src_w = m.width;
		centre.src_h = m.height;
		crop_size(centre.src_w, centre.src_h, r->aspect_w, r->aspect_h,
		    &centre.crop_w, &centre.crop_h);
		cp = &centre;
	}
	p.r = r;
	p.m = &m;
	p.o = &o;
	p.at = &at;
	p.cp = cp;
	p.fps = media_fps(&m);
	p.expect = (long long)ceil((r->end - r->start) * p.fps);
	fps_q = av_d2q(p.fps, 100000);
	tb = m.fmt->streams[m.vidx]->time_base;

	if (r->ass != NULL) {
		if (caps_open(&caps, r->ass, r->out_w, r->out_h,
		    res->captions_err, sizeof(res->captions_err)) == 0)
			p.caps = &caps;
		else
			res->captions_failed = 1;
	}

	if ((o.pkt = av_packet_alloc()) == NULL) {
		seterr(err, errlen, "Out of memory while rendering.");
		goto out;
	}
	if ((e = avformat_alloc_output_context2(&o.oc, NULL, "mp4", r->out_mp4)) < 0) {
		averr(err, errlen, "The MP4 writer could not start", e);
		goto out;
	}
	if (open_video_enc(&o, r, tb, fps_q, err, errlen) != 0)
		goto out;
	o.vdur = av_rescale_q(1, av_inv_q(fps_q), tb);
	if (o.vdur < 1)
		o.vdur = 1;
	if (m.adec != NULL) {
		if (open_audio_enc(&o, m.adec, err, errlen) != 0)
			goto out;
		at.in_rate = m.adec->sample_rate;
		if ((e = swr_alloc_set_opts2(&at.swr, &o.aenc->ch_layout,
		    o.aenc->sample_fmt, o.aenc->sample_rate, &m.adec->ch_layout,
		    m.adec->sample_fmt, m.adec->sample_rate, 0, NULL)) < 0 ||
		    (e = swr_init(at.swr)) < 0) {
			averr(err, errlen, "The audio resampler could not start", e);
			goto out;
		}
		if ((at.fifo = av_audio_fifo_alloc(o.aenc->sample_fmt,
		    o.aenc->ch_layout.nb_channels, 4096)) == NULL) {
			seterr(err, errlen, "Out of memory starting the audio.");
			goto out;
		}
		res->has_audio = 1;
	}
	if ((e = avio_open(&o.oc->pb, r->out_mp4, AVIO_FLAG_WRITE)) < 0) {
		averr(err, errlen, "The clip file could not be created", e);
		goto out;
	}
	/* faststart: the index goes first, so players start at once. */
	av_dict_set(&mopts, "movflags", "+faststart", 0);
	e = avformat_write_header(o.oc, &mopts);
	av_dict_free(&mopts);
	if (e < 0) {
		averr(err, errlen, "The clip file could not be started", e);
		goto out;
	}
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
	res->duration = p.frames / p.fps;
	rc = RENDER_OK;
out:
	swr_free(&at.swr);
	if (at.fifo)
		av_audio_fifo_free(at.fifo);
	caps_close(&caps);
	avcodec_free_context(&o.venc);
	avcodec_free_context(&o.aenc);
	if (o.oc) {
		if (o.oc->pb)
			avio_closep(&o.oc->pb);
		avformat_free_context(o.oc);
	}
	av_packet_free(&o.pkt);
	media_close(&m);
	while (o.q.npool > 0)
		av_frame_free(&o.q.pool[--o.q.npool]);
	pthread_mutex_destroy(&o.q.mu);
	pthread_cond_destroy(&o.q.cv);
	return rc;
}
