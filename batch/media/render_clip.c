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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ass/ass.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "log.h"
#include "render.h"
#include "util.h"

#define QUEUE_CAP	4	/* frames between the decoder and the encoder:
				   enough to ride out jitter; each is 3 MB */
#define POOL_CAP	(QUEUE_CAP + 3)	/* output frames kept for reuse */
#define MAX_HELD_AUDIO	4096	/* audio frames held until video starts */
#define PROGRESS_EVERY	250	/* frames */

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

static void
averr(char *err, size_t errlen, const char *what, int e)
{
	char msg[AV_ERROR_MAX_STRING_SIZE];

	av_strerror(e, msg, sizeof(msg));
	seterr(err, errlen, "%s: %s.", what, msg);
}

/* ---- the queue between the two threads ---- */

struct item {
	AVFrame	*f;		/* NULL: end of stream */
	int	 audio;
	int	 stop;		/* the render stopped: drop, do not encode */
};

struct fq {
	pthread_mutex_t	mu;
	pthread_cond_t	cv;
	struct item	it[QUEUE_CAP];
	int		head, n;
	int		failed;		/* stopped: the encoder or the producer
					   gave up, or the render was cancelled */
	/* Output frames come back here once encoded: fresh 3 MB frames for
	 * every picture cost more in page faults than the scaling itself. */
	AVFrame		*pool[POOL_CAP];
	int		npool;
};

/* A video frame from the pool, or NULL when it is empty. */
static AVFrame *
fq_take(struct fq *q)
{
	AVFrame *f = NULL;

	pthread_mutex_lock(&q->mu);
	if (q->npool > 0)
		f = q->pool[--q->npool];
	pthread_mutex_unlock(&q->mu);
	if (f != NULL && av_frame_make_writable(f) < 0)
		av_frame_free(&f);
	return f;
}

static void
fq_give(struct fq *q, AVFrame *f)
{
	pthread_mutex_lock(&q->mu);
	if (q->npool < POOL_CAP) {
		q->pool[q->npool++] = f;
		f = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	av_frame_free(&f);
}

/* Queue F, or drop it once the render has stopped.  F NULL is the end of
 * the stream, which always gets through, so that the encoder loop ends. */
static void
fq_put(struct fq *q, AVFrame *f, int audio)
{
	pthread_mutex_lock(&q->mu);
	while (q->n == QUEUE_CAP && (f == NULL || !q->failed))
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->failed && f != NULL) {
		pthread_mutex_unlock(&q->mu);
		av_frame_free(&f);
		return;
	}
	q->it[(q->head + q->n) % QUEUE_CAP].f = f;
	q->it[(q->head + q->n) % QUEUE_CAP].audio = audio;
	q->n++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static int
fq_failed(struct fq *q)
{
	int f;

	pthread_mutex_lock(&q->mu);
	f = q->failed;
	pthread_mutex_unlock(&q->mu);
	return f;
}

/* The encoder gave up, or the render was cancelled: the producer stops
 * and what is queued is dropped. */
static void
fq_stop(struct fq *q)
{
	pthread_mutex_lock(&q->mu);
	q->failed = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static struct item
fq_get(struct fq *q)
{
	struct item it;

	pthread_mutex_lock(&q->mu);
	while (q->n == 0)
		pthread_cond_wait(&q->cv, &q->mu);
	it = q->it[q->head];
	it.stop = q->failed;
	q->head = (q->head + 1) % QUEUE_CAP;
	q->n--;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return it;
}

/* ---- the output side (encoder thread) ---- */

struct out {
	AVFormatContext	*oc;
	AVCodecContext	*venc, *aenc;
	AVStream	*vst, *ast;
	AVPacket	*pkt;
	int64_t		 vdur;		/* one frame, in venc->time_base */
	struct fq	 q;
	int		 rc;		/* 0, or -1 with err */
	char		 err[256];
};

static int
drain(struct out *o, AVCodecContext *enc, AVStream *st)
{
	int e;

	for (;;) {
		e = avcodec_receive_packet(enc, o->pkt);
		if (e == AVERROR(EAGAIN) || e == AVERROR_EOF)
			return 0;
		if (e < 0) {
			averr(o->err, sizeof(o->err), "Encoding failed", e);
			return -1;
		}
		if (enc == o->venc && o->pkt->duration == 0)
			o->pkt->duration = o->vdur;
		av_packet_rescale_ts(o->pkt, enc->time_base, st->time_base);
		o->pkt->stream_index = st->index;
		if ((e = av_interleaved_write_frame(o->oc, o->pkt)) < 0) {
			averr(o->err, sizeof(o->err), "Writing the clip failed", e);
			return -1;
		}
	}
}

/* Encode and mux what the producer queues until its end item.  Progress
 * counts encoded pictures; 1 when the progress callback cancelled. */
static int
encode_all(struct out *o, const struct render_req *r, long long expect)
{
	long long done = 0;
	int cancelled = 0, e;

	for (;;) {
		struct item it = fq_get(&o->q);
		AVCodecContext *enc;
		AVStream *st;

		if (it.stop) {
			if (it.f == NULL)
				break;
			av_frame_free(&it.f);
			continue;
		}
		if (it.f == NULL) {
			/* End: flush both encoders. */
			if (o->rc == 0) {
				avcodec_send_frame(o->venc, NULL);
				o->rc = drain(o, o->venc, o->vst);
			}
			if (o->rc == 0 && o->aenc) {
				avcodec_send_frame(o->aenc, NULL);
				o->rc = drain(o, o->aenc, o->ast);
			}
			break;
		}
		enc = it.audio ? o->aenc : o->venc;
		st = it.audio ? o->ast : o->vst;
		if ((e = avcodec_send_frame(enc, it.f)) < 0) {
			averr(o->err, sizeof(o->err), "Encoding failed", e);
			o->rc = -1;
		} else
			o->rc = drain(o, enc, st);
		if (o->rc != 0)
			fq_stop(&o->q);
		if (it.audio) {
			av_frame_free(&it.f);
			continue;
		}
		fq_give(&o->q, it.f);
		if (++done % PROGRESS_EVERY == 0 && r->progress != NULL &&
		    r->progress(r->progress_arg,
		    (int)(done * 99 / (expect > 0 ? expect : 1))) != 0) {
			cancelled = 1;
			fq_stop(&o->q);
		}
	}
	return cancelled;
}

static int
open_video_enc(struct out *o, const struct render_req *r, AVRational tb,
    AVRational fps, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	AVDictionary *opts = NULL;
	AVCodecContext *c;
	char crf[16];
	int e;

	if (codec == NULL) {
		seterr(err, errlen, "This FFmpeg has no libx264 encoder.");
		return -1;
	}
	if ((c = o->venc = avcodec_alloc_context3(codec)) == NULL)
		goto oom;
	c->width = r->out_w;
	c->height = r->out_h;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->sample_aspect_ratio = (AVRational){1, 1};
	c->time_base = tb;
	c->framerate = fps;
	c->thread_count = r->threads;
	c->color_range = AVCOL_RANGE_MPEG;
	if (o->oc->oformat->flags & AVFMT_GLOBALHEADER)
		c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	xsnprintf(crf, sizeof(crf), "%d", r->crf);
	av_dict_set(&opts, "preset", r->preset, 0);
	av_dict_set(&opts, "crf", crf, 0);
	e = avcodec_open2(c, codec, &opts);
	av_dict_free(&opts);
	if (e < 0) {
		averr(err, errlen, "The H.264 encoder could not start", e);
		return -1;
	}
	if ((o->vst = avformat_new_stream(o->oc, NULL)) == NULL)
		goto oom;
	if ((e = avcodec_parameters_from_context(o->vst->codecpar, c)) < 0) {
		averr(err, errlen, "The H.264 stream could not be set up", e);
		return -1;
	}
	o->vst->time_base = tb;
	o->vst->avg_frame_rate = fps;
	o->vst->sample_aspect_ratio = c->sample_aspect_ratio;
	return 0;
oom:
	seterr(err, errlen, "Out of memory starting the encoder.");
	return -1;
}

/* AAC at the source's rate when AAC allows it, mono or stereo. */
static int
open_audio_enc(struct out *o, const AVCodecContext *dec, char *err,
    size_t errlen)
{
	static const int rates[] = { 96000, 88200, 64000, 48000, 44100, 32000,
	    24000, 22050, 16000, 12000, 11025, 8000 };
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
	AVCodecContext *c;
	size_t i;
	int e, rate = 48000;

	if (codec == NULL) {
		seterr(err, errlen, "This FFmpeg has no AAC encoder.");
		return -1;
	}
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (dec->sample_rate == rates[i])
			rate = rates[i];
	if ((c = o->aenc = avcodec_alloc_context3(codec)) == NULL)
		goto oom;
	c->sample_fmt = AV_SAMPLE_FMT_FLTP;
	c->sample_rate = rate;
	av_channel_layout_default(&c->ch_layout,
	    dec->ch_layout.nb_channels >= 2 ? 2 : 1);
	c->bit_rate = c->ch_layout.nb_channels == 2 ? 128000 : 96000;
	c->time_base = (AVRational){1, rate};
	if (o->oc->oformat->flags & AVFMT_GLOBALHEADER)
		c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if ((e = avcodec_open2(c, codec, NULL)) < 0) {
		averr(err, errlen, "The AAC encoder could not start", e);
		return -1;
	}
	if ((o->ast = avformat_new_stream(o->oc, NULL)) == NULL)
		goto oom;
	if ((e = avcodec_parameters_from_context(o->ast->codecpar, c)) < 0) {
		averr(err, errlen, "The AAC stream could not be set up", e);
		return -1;
	}
	o->ast->time_base = c->time_base;
	return 0;
oom:
	seterr(err, errlen, "Out of memory starting the encoder.");
	return -1;
}

/* ---- captions: libass images blended onto the YUV frame ---- */

struct caps {
	ASS_Library	*lib;
	ASS_Renderer	*rend;
	ASS_Track	*track;
};

static void
caps_close(struct caps *c)
{
	if (c->track)
		ass_free_track(c->track);
	if (c->rend)
		ass_renderer_done(c->rend);
	if (c->lib)
		ass_library_done(c->lib);
	memset(c, 0, sizeof(*c));
}

/* libass talks a lot; keep its warnings and errors only. */
static void
caps_log(int level, const char *fmt, va_list ap, void *arg)
{
	char line[512];

	(void)arg;
	if (level > 2)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	log_ev(LOG_WARN, "libass", "{ss}", "msg", line);
}

static int
caps_open(struct caps *c, const char *ass, int w, int h, char *err,
    size_t errlen)
{
	char *copy;

	memset(c, 0, sizeof(*c));
	if ((c->lib = ass_library_init()) != NULL)
		ass_set_message_cb(c->lib, caps_log, NULL);
	if (c->lib == NULL || (c->rend = ass_renderer_init(c->lib)) == NULL) {
		seterr(err, errlen, "The caption renderer (libass) could not "
		    "start.");
		goto fail;
	}
	ass_set_frame_size(c->rend, w, h);
	ass_set_storage_size(c->rend, w, h);
	ass_set_fonts(c->rend, NULL, "sans-serif", ASS_FONTPROVIDER_AUTODETECT,
	    NULL, 1);
	/* libass may modify the buffer it parses. */
	if ((copy = strdup(ass)) == NULL) {
		seterr(err, errlen, "Out of memory preparing captions.");
		goto fail;
	}
	c->track = ass_read_memory(c->lib, copy, strlen(copy), NULL);
	free(copy);
	if (c->track == NULL || c->track->n_events == 0) {
		seterr(err, errlen, "The captions could not be parsed.");
		goto fail;
	}
	return 0;
fail:
	caps_close(c);
	return -1;
}

/* Blend libass's alpha bitmaps onto a limited-range BT.601 yuv420p frame. */
static void
caps_blend(struct caps *c, AVFrame *f, long long ms)
{
	ASS_Image *img;
	int changed;

	for (img = ass_render_frame(c->rend, c->track, ms, &changed); img;
	    img = img->next) {
		unsigned rr = img->color >> 24, gg = (img->color >> 16) & 255;
		unsigned bb = (img->color >> 8) & 255;
		unsigned op = 255 - (img->color & 255);
		int yc = (66 * rr + 129 * gg + 25 * bb + 128) / 256 + 16;
		int uc = (-38 * (int)rr - 74 * (int)gg + 112 * (int)bb + 128) / 256 + 128;
		int vc = (112 * (int)rr - 94 * (int)gg - 18 * (int)bb + 128) / 256 + 128;
		int x, y, x0 = img->dst_x, y0 = img->dst_y;

		if (op == 0)
			continue;
		for (y = 0; y < img->h; y++) {
			int dy = y0 + y;
			uint8_t *row;
			const uint8_t *src = img->bitmap + (size_t)y * img->stride;

			if (dy < 0 || dy >= f->height)
				continue;
			row = f->data[0] + (size_t)dy * f->linesize[0];
			for (x = 0; x < img->w; x++) {
				int dx = x0 + x;
				unsigned a = src[x] * op / 255;

				if (a == 0 || dx < 0 || dx >= f->width)
					continue;
				row[dx] = (uint8_t)((row[dx] * (255 - a) + yc * a) / 255);
			}
		}
		/* Chroma: each sample covers 2x2 luma pixels; use their mean. */
		for (y = y0 & ~1; y < y0 + img->h; y += 2) {
			uint8_t *ur, *vr;

			if (y < 0 || y >= f->height)
				continue;
			ur = f->data[1] + (size_t)(y / 2) * f->linesize[1];
			vr = f->data[2] + (size_t)(y / 2) * f->linesize[2];
			for (x = x0 & ~1; x < x0 + img->w; x += 2) {
				unsigned sum = 0, a;
				int i, j;

				if (x < 0 || x >= f->width)
					continue;
				for (j = 0; j < 2; j++)
					for (i = 0; i < 2; i++) {
						int by = y + j - y0, bx = x + i - x0;

						if (by >= 0 && by < img->h && bx >= 0 &&
						    bx < img->w)
							sum += img->bitmap[(size_t)by *
							    img->stride + bx];
					}
				a = sum / 4 * op / 255;
				if (a == 0)
					continue;
				ur[x / 2] = (uint8_t)((ur[x / 2] * (255 - a) + uc * a) / 255);
				vr[x / 2] = (uint8_t)((vr[x / 2] * (255 - a) + vc * a) / 255);
			}
		}
	}
}

/* ---- thumbnail ---- */

static int
write_thumb(const AVFrame *f, const char *path, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *c = NULL;
	struct SwsContext *sws = NULL;
	AVFrame *j = NULL;
	AVPacket *pkt = NULL;
	FILE *fp = NULL;
	int rc = -1, e, tw = f->width / 2 & ~1, th = f->height / 2 & ~1;

	if (codec == NULL || (c = avcodec_alloc_context3(codec)) == NULL ||
	    (j = av_frame_alloc()) == NULL || (pkt = av_packet_alloc()) == NULL) {
		seterr(err, errlen, "The thumbnail encoder could not start.");
		goto out;
	}
	c->width = tw;
	c->height = th;
	c->pix_fmt = AV_PIX_FMT_YUVJ420P;
	c->time_base = (AVRational){1, 25};
	c->flags |= AV_CODEC_FLAG_QSCALE;
	c->global_quality = FF_QP2LAMBDA * 3;
	j->format = c->pix_fmt;
	j->width = tw;
	j->height = th;
	if ((e = avcodec_open2(c, codec, NULL)) < 0 ||
	    (e = av_frame_get_buffer(j, 0)) < 0) {
		averr(err, errlen, "The thumbnail encoder could not start", e);
		goto out;
	}
	sws = sws_getContext(f->width, f->height, f->format, tw, th,
	    AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL, NULL);
	if (sws == NULL) {
		seterr(err, errlen, "The thumbnail could not be scaled.");
		goto out;
	}
	sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0,
	    f->height, j->data, j->linesize);
	j->pts = 0;
	if ((e = avcodec_send_frame(c, j)) < 0 ||
	    (e = avcodec_send_frame(c, NULL)) < 0 ||
	    (e = avcodec_receive_packet(c, pkt)) < 0) {
		averr(err, errlen, "The thumbnail could not be encoded", e);
		goto out;
	}
	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(pkt->data, 1, (size_t)pkt->size, fp) != (size_t)pkt->size) {
		seterr(err, errlen, "The thumbnail could not be written.");
		goto out;
	}
	rc = 0;
out:
	if (fp && fclose(fp) != 0 && rc == 0) {
		seterr(err, errlen, "The thumbnail could not be written.");
		rc = -1;
	}
	sws_freeContext(sws);
	av_packet_free(&pkt);
	av_frame_free(&j);
	avcodec_free_context(&c);
	return rc;
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

struct audio_trim {
	SwrContext	*swr;
	AVAudioFifo	*fifo;
	int64_t		 next_pts;	/* samples sent to the encoder */
	int64_t		 in_used;	/* source samples taken since T0 */
	int		 in_rate;
};

/* Fill a hole in the source audio (a late start, a gap) with silence so
 * that what follows stays in sync with the picture. */
static int
audio_silence(struct out *o, struct audio_trim *a, double secs)
{
	uint8_t **buf = NULL;
	int n = (int)llround(secs * o->aenc->sample_rate), rc = -1;

	if (n <= 0)
		return 0;
	if (av_samples_alloc_array_and_samples(&buf, NULL,
	    o->aenc->ch_layout.nb_channels, n, o->aenc->sample_fmt, 0) < 0)
		return -1;
	av_samples_set_silence(buf, 0, n, o->aenc->ch_layout.nb_channels,
	    o->aenc->sample_fmt);
	if (av_audio_fifo_write(a->fifo, (void **)buf, n) == n)
		rc = 0;
	a->in_used += llround(secs * a->in_rate);
	av_freep(&buf[0]);
	av_freep(&buf);
	return rc;
}

/* Queue AAC-sized frames from the fifo; all of it when FLUSH. */
static int
audio_emit(struct out *o, struct audio_trim *a, int flush)
{
	int fs = o->aenc->frame_size > 0 ? o->aenc->frame_size : 1024;

	while (av_audio_fifo_size(a->fifo) >= fs ||
	    (flush && av_audio_fifo_size(a->fifo) > 0)) {
		int n = av_audio_fifo_size(a->fifo) < fs ?
		    av_audio_fifo_size(a->fifo) : fs;
		AVFrame *f = av_frame_alloc();

		if (f == NULL)
			return -1;
		f->nb_samples = n;
		f->format = o->aenc->sample_fmt;
		f->sample_rate = o->aenc->sample_rate;
		if (av_channel_layout_copy(&f->ch_layout, &o->aenc->ch_layout) < 0 ||
		    av_frame_get_buffer(f, 0) < 0 ||
		    av_audio_fifo_read(a->fifo, (void **)f->data, n) != n) {
			av_frame_free(&f);
			return -1;
		}
		f->pts = a->next_pts;
		a->next_pts += n;
		fq_put(&o->q, f, 1);
	}
	return 0;
}

/* Take the part of decoded audio frame F that lies in [T0, T1). */
static int
audio_take(struct out *o, struct audio_trim *a, const AVFrame *f, double ft,
    double t0, double t1)
{
	int64_t skip, keep;
	const uint8_t *in[AV_NUM_DATA_POINTERS];
	uint8_t **conv = NULL;
	int bps, planar, ch, i, n, maxout, rc = -1;

	skip = (int64_t)llround((t0 - ft) * a->in_rate);
	if (skip < 0)
		skip = 0;
	keep = (int64_t)llround((t1 - ft) * a->in_rate);
	if (keep > f->nb_samples)
		keep = f->nb_samples;
	if (keep <= skip)
		return 0;
	{
		double from = ft + (double)skip / a->in_rate;
		double covered = t0 + (double)a->in_used / a->in_rate;

		if (from - covered > 0.02 && audio_silence(o, a, from - covered) != 0)
			return -1;
	}
	a->in_used += keep - skip;
	bps = av_get_bytes_per_sample(f->format);
	planar = av_sample_fmt_is_planar(f->format);
	ch = f->ch_layout.nb_channels;
	memset(in, 0, sizeof(in));
	for (i = 0; i < (planar ? ch : 1) && i < AV_NUM_DATA_POINTERS; i++)
		in[i] = f->extended_data[i] + skip * bps * (planar ? 1 : ch);
	maxout = swr_get_out_samples(a->swr, (int)(keep - skip));
	if (av_samples_alloc_array_and_samples(&conv, NULL,
	    o->aenc->ch_layout.nb_channels, maxout, o->aenc->sample_fmt, 0) < 0)
		return -1;
	n = swr_convert(a->swr, conv, maxout, in, (int)(keep - skip));
	if (n >= 0 && av_audio_fifo_write(a->fifo, (void **)conv, n) == n)
		rc = audio_emit(o, a, 0);
	av_freep(&conv[0]);
	av_freep(&conv);
	return rc;
}

static int
audio_finish(struct out *o, struct audio_trim *a)
{
	uint8_t **conv = NULL;
	int n, maxout = swr_get_out_samples(a->swr, 0), rc = 0;

	if (maxout > 0) {
		if (av_samples_alloc_array_and_samples(&conv, NULL,
		    o->aenc->ch_layout.nb_channels, maxout,
		    o->aenc->sample_fmt, 0) < 0)
			return -1;
		n = swr_convert(a->swr, conv, maxout, NULL, 0);
		if (n > 0 && av_audio_fifo_write(a->fifo, (void **)conv, n) != n)
			rc = -1;
		av_freep(&conv[0]);
		av_freep(&conv);
	}
	return rc == 0 ? audio_emit(o, a, 1) : rc;
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
	if (media_open(&m, r->src, r->src_format, 1, 1, err, errlen) != 0) {
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
