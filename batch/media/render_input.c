/* Demuxing and decoding for the frame and render stages (render.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/avutil.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "open_input.h"
#include "probe.h"
#include "render.h"
#include "util.h"

static void
averr(char *err, size_t errlen, const char *what, int e)
{
	char msg[AV_ERROR_MAX_STRING_SIZE];

	av_strerror(e, msg, sizeof(msg));
	seterr(err, errlen, "%s: %s.", what, msg);
}

static int
open_decoder(AVStream *st, int threads, AVCodecContext **out, char *err,
    size_t errlen)
{
	const AVCodec *dec = avcodec_find_decoder(st->codecpar->codec_id);
	AVCodecContext *c;
	int e;

	if (dec == NULL) {
		seterr(err, errlen, "No decoder for the source's %s codec.",
		    avcodec_get_name(st->codecpar->codec_id));
		return -1;
	}
	if ((c = avcodec_alloc_context3(dec)) == NULL) {
		seterr(err, errlen, "Out of memory opening a decoder.");
		return -1;
	}
	if ((e = avcodec_parameters_to_context(c, st->codecpar)) < 0) {
		averr(err, errlen, "Bad codec parameters", e);
		avcodec_free_context(&c);
		return -1;
	}
	c->pkt_timebase = st->time_base;
	c->thread_count = threads;
	media_limit_decoder(c);
	if ((e = avcodec_open2(c, dec, NULL)) < 0) {
		averr(err, errlen, "The decoder could not start", e);
		avcodec_free_context(&c);
		return -1;
	}
	*out = c;
	return 0;
}

/*
 * Turning pictures upright, as a player (or ffmpeg's autorotate) would:
 * whole pixels moved, nothing filtered, so the result is exact.  Planar
 * formats of 8 to 16 bits are turned as they are, provided a quarter turn
 * keeps their chroma subsampling (4:2:0, 4:4:4); any other format is
 * first converted to yuv420p.
 */
#define TILE 32

#define TURN_PLANE(T)							\
static void								\
turn_plane_##T(uint8_t *d, int dls, const uint8_t *s, int sls, int w,	\
    int h, int rot)							\
{									\
	int x, y, bx, by;						\
									\
	if (rot == 180) {						\
		for (y = 0; y < h; y++) {				\
			const T *sr = (const T *)(s + (size_t)(h - 1 - y) * sls); \
			T *dr = (T *)(d + (size_t)y * dls);		\
			for (x = 0; x < w; x++)				\
				dr[x] = sr[w - 1 - x];			\
		}							\
		return;							\
	}								\
	/* (x, y) goes to (h-1-y, x) clockwise, (y, w-1-x) the other	\
	 * way; in tiles, so that both sides stay in the cache. */	\
	for (by = 0; by < h; by += TILE)				\
		for (bx = 0; bx < w; bx += TILE)			\
			for (y = by; y < by + TILE && y < h; y++) {	\
				const T *sr = (const T *)(s + (size_t)y * sls); \
				for (x = bx; x < bx + TILE && x < w; x++) { \
					int dx = rot == 90 ? h - 1 - y : y; \
					int dy = rot == 90 ? x : w - 1 - x; \
					((T *)(d + (size_t)dy * dls))[dx] = sr[x]; \
				}					\
			}						\
}
TURN_PLANE(uint8_t)
TURN_PLANE(uint16_t)

/* Whether F's format can be turned by ROT as it is. */
static int
turnable(int format, int rot)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(format);
	int c, bps;

	if (d == NULL || (d->flags & (AV_PIX_FMT_FLAG_HWACCEL |
	    AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM)) ||
	    (d->nb_components > 1 && !(d->flags & AV_PIX_FMT_FLAG_PLANAR)) ||
	    (rot != 180 && d->log2_chroma_w != d->log2_chroma_h))
		return 0;
	bps = (d->comp[0].depth + 7) / 8;
	if (bps != 1 && bps != 2)
		return 0;
	for (c = 0; c < d->nb_components; c++)
		if (d->comp[c].step != bps || d->comp[c].offset != 0 ||
		    (d->comp[c].depth + 7) / 8 != bps)
			return 0;
	return 1;
}

/* Give F buffers for a FMT picture of W x H, keeping the ones it has when
 * they fit (a fresh 3 MB picture each time costs page faults), and none
 * of the last picture's side data or metadata: av_frame_copy_props()
 * adds to those, so a reused frame would gather them picture after
 * picture.  0 or -1. */
static int
frame_fit(AVFrame *f, int fmt, int w, int h)
{
	if (f->format == fmt && f->width == w && f->height == h &&
	    f->buf[0] != NULL) {
		while (f->nb_side_data > 0)
			av_frame_remove_side_data(f, f->side_data[0]->type);
		av_dict_free(&f->metadata);
		return av_frame_make_writable(f) < 0 ? -1 : 0;
	}
	av_frame_unref(f);
	f->format = fmt;
	f->width = w;
	f->height = h;
	return av_frame_get_buffer(f, 0) < 0 ? -1 : 0;
}

/* Turn m->raw upright into m->frame, through m->turned (and m->conv),
 * whose buffers are reused from picture to picture. */
static int
rot_frame(struct media_in *m, char *err, size_t errlen)
{
	const AVFrame *s = m->raw;
	const AVPixFmtDescriptor *d;
	AVFrame *t = m->turned;
	int rot = m->rotation, quarter = rot % 180 != 0, p, np, bps;

	if (!turnable(s->format, rot)) {
		/* Converted first, at the same size. */
		m->rot_sws = sws_getCachedContext(m->rot_sws, s->width, s->height,
		    s->format, s->width, s->height, AV_PIX_FMT_YUV420P,
		    SWS_BICUBIC, NULL, NULL, NULL);
		if (m->rot_sws == NULL || frame_fit(m->conv, AV_PIX_FMT_YUV420P,
		    s->width, s->height) != 0 ||
		    sws_scale_frame(m->rot_sws, m->conv, s) < 0 ||
		    av_frame_copy_props(m->conv, s) < 0) {
			seterr(err, errlen, "The video's pixel format %s could "
			    "not be turned upright.",
			    av_get_pix_fmt_name(s->format));
			return -1;
		}
		s = m->conv;
	}
	if (frame_fit(t, s->format, quarter ? s->height : s->width,
	    quarter ? s->width : s->height) != 0)
		goto oom;
	d = av_pix_fmt_desc_get(s->format);
	bps = (d->comp[0].depth + 7) / 8;
	np = av_pix_fmt_count_planes(s->format);
	for (p = 0; p < np; p++) {
		/* Planes 1 and 2 are the subsampled ones, as in libavutil. */
		int w = p == 1 || p == 2 ? AV_CEIL_RSHIFT(s->width,
		    d->log2_chroma_w) : s->width;
		int h = p == 1 || p == 2 ? AV_CEIL_RSHIFT(s->height,
		    d->log2_chroma_h) : s->height;

		if (bps == 1)
			turn_plane_uint8_t(t->data[p], t->linesize[p], s->data[p],
			    s->linesize[p], w, h, rot);
		else
			turn_plane_uint16_t(t->data[p], t->linesize[p],
			    s->data[p], s->linesize[p], w, h, rot);
	}
	if (av_frame_copy_props(t, s) < 0 || av_frame_ref(m->frame, t) < 0)
		goto oom;
	if (quarter && t->sample_aspect_ratio.num > 0)
		m->frame->sample_aspect_ratio = (AVRational){
		    s->sample_aspect_ratio.den, s->sample_aspect_ratio.num };
	/* The picture is upright now: nothing may turn it again. */
	av_frame_remove_side_data(m->frame, AV_FRAME_DATA_DISPLAYMATRIX);
	av_frame_unref(m->raw);
	return 0;
oom:
	seterr(err, errlen, "Out of memory turning the video upright.");
	return -1;
}

int
media_open(struct media_in *m, const char *path, const char *format,
    int want_audio, int threads, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->vidx = m->aidx = -1;
	/* Library chatter is not our log's business; real errors come back
	 * as return values and become sentences. */
	av_log_set_level(AV_LOG_ERROR);
	if (media_open_input(&m->fmt, path, format, err, errlen) !=
	    MEDIA_OPEN_OK)
		return -1;
	m->vidx = media_video_stream(m->fmt);
	if (m->vidx < 0) {
		seterr(err, errlen, "The source has no video stream.");
		goto fail;
	}
	if (open_decoder(m->fmt->streams[m->vidx], threads, &m->vdec, err,
	    errlen) != 0)
		goto fail;
	m->threads = threads;
	m->rotation = probe_stream_rotation(m->fmt->streams[m->vidx]);
	m->width = m->rotation % 180 ? m->vdec->height : m->vdec->width;
	m->height = m->rotation % 180 ? m->vdec->width : m->vdec->height;
	if (m->rotation != 0 && ((m->raw = av_frame_alloc()) == NULL ||
	    (m->turned = av_frame_alloc()) == NULL ||
	    (m->conv = av_frame_alloc()) == NULL)) {
		seterr(err, errlen, "Out of memory opening the source.");
		goto fail;
	}
	if (want_audio) {
		m->aidx = media_audio_stream(m->fmt);
		if (m->aidx >= 0 && open_decoder(m->fmt->streams[m->aidx], 1,
		    &m->adec, err, errlen) != 0)
			goto fail;
	}
	m->origin = m->fmt->start_time == AV_NOPTS_VALUE ? 0 :
	    (double)m->fmt->start_time / AV_TIME_BASE;
	if ((m->pkt = av_packet_alloc()) == NULL ||
	    (m->frame = av_frame_alloc()) == NULL) {
		seterr(err, errlen, "Out of memory opening the source.");
		goto fail;
	}
	m->adone = m->adec == NULL;
	return 0;
fail:
	media_close(m);
	return -1;
}

void
media_close(struct media_in *m)
{
	avcodec_free_context(&m->vdec);
	avcodec_free_context(&m->adec);
	av_packet_free(&m->pkt);
	av_frame_free(&m->frame);
	av_frame_free(&m->raw);
	av_frame_free(&m->turned);
	av_frame_free(&m->conv);
	sws_freeContext(m->rot_sws);
	avformat_close_input(&m->fmt);
}

int
media_seek(struct media_in *m, double t, char *err, size_t errlen)
{
	AVStream *st = m->fmt->streams[m->vidx];
	int64_t ts;
	int e;

	if (t < 0)
		t = 0;
	ts = (int64_t)((t + m->origin) / av_q2d(st->time_base));
	if ((e = av_seek_frame(m->fmt, m->vidx, ts, AVSEEK_FLAG_BACKWARD)) < 0 &&
	    (e = av_seek_frame(m->fmt, -1, 0, AVSEEK_FLAG_BACKWARD)) < 0) {
		averr(err, errlen, "Seeking in the source failed", e);
		return -1;
	}
	avcodec_flush_buffers(m->vdec);
	if (m->adec)
		avcodec_flush_buffers(m->adec);
	m->draining = 0;
	m->vdone = 0;
	m->adone = m->adec == NULL;
	return 0;
}

int
media_next(struct media_in *m, enum AVMediaType *kind, char *err,
    size_t errlen)
{
	int e;

	av_frame_unref(m->frame);
	for (;;) {
		/* Prefer frames already decoded. */
		if (!m->vdone) {
			/* A turned source decodes aside and is turned into
			 * m->frame; the common case decodes there directly. */
			e = avcodec_receive_frame(m->vdec, m->raw ? m->raw :
			    m->frame);
			if (e == 0) {
				if (m->raw != NULL && rot_frame(m, err, errlen) != 0)
					return -1;
				*kind = AVMEDIA_TYPE_VIDEO;
				return 0;
			}
			if (e == AVERROR_EOF)
				m->vdone = 1;
			else if (e != AVERROR(EAGAIN)) {
				averr(err, errlen, "Decoding the video failed", e);
				return -1;
			}
		}
		if (!m->adone) {
			e = avcodec_receive_frame(m->adec, m->frame);
			if (e == 0) {
				*kind = AVMEDIA_TYPE_AUDIO;
				return 0;
			}
			if (e == AVERROR_EOF)
				m->adone = 1;
			else if (e != AVERROR(EAGAIN)) {
				averr(err, errlen, "Decoding the audio failed", e);
				return -1;
			}
		}
		if (m->vdone && m->adone)
			return 1;
		if (m->draining)
			continue;
		e = av_read_frame(m->fmt, m->pkt);
		if (e == AVERROR_EOF || e == AVERROR(EIO)) {
			/* End of input: drain both decoders. */
			m->draining = 1;
			avcodec_send_packet(m->vdec, NULL);
			if (m->adec)
				avcodec_send_packet(m->adec, NULL);
			continue;
		}
		if (e < 0) {
			averr(err, errlen, "Reading the source failed", e);
			return -1;
		}
		if (m->pkt->stream_index == m->vidx) {
			/* Pictures before the range that nothing refers to need
			 * no decoding (the decoder reads this per packet). */
			if (m->skip_before > 0 && m->pkt->pts != AV_NOPTS_VALUE)
				m->vdec->skip_frame = m->pkt->pts * av_q2d(
				    m->fmt->streams[m->vidx]->time_base) - m->origin <
				    m->skip_before - 0.001 ? AVDISCARD_NONREF :
				    AVDISCARD_DEFAULT;
			e = avcodec_send_packet(m->vdec, m->pkt);
		}
		else if (m->adec && m->pkt->stream_index == m->aidx)
			e = avcodec_send_packet(m->adec, m->pkt);
		else
			e = 0;
		av_packet_unref(m->pkt);
		/* A damaged packet is skipped, as players do. */
		if (e < 0 && e != AVERROR(EAGAIN) && e != AVERROR_INVALIDDATA) {
			averr(err, errlen, "Decoding the source failed", e);
			return -1;
		}
	}
}

double
media_frame_time(const struct media_in *m, enum AVMediaType kind,
    const AVFrame *f)
{
	int idx = kind == AVMEDIA_TYPE_VIDEO ? m->vidx : m->aidx;
	int64_t pts = f->best_effort_timestamp != AV_NOPTS_VALUE ?
	    f->best_effort_timestamp : f->pts;

	if (pts == AV_NOPTS_VALUE || idx < 0)
		return -1;
	return pts * av_q2d(m->fmt->streams[idx]->time_base) - m->origin;
}

double
media_fps(const struct media_in *m)
{
	AVStream *st = m->fmt->streams[m->vidx];
	AVRational r = st->avg_frame_rate.num > 0 ? st->avg_frame_rate :
	    st->r_frame_rate;

	if (r.num <= 0 || r.den <= 0 || av_q2d(r) > 1000)
		return 25;
	return av_q2d(r);
}

int
media_grey(struct SwsContext **sws, const AVFrame *f, uint8_t *dst, int w,
    int h)
{
	uint8_t *d[4] = { dst, NULL, NULL, NULL };
	int ls[4] = { w, 0, 0, 0 };

	*sws = sws_getCachedContext(*sws, f->width, f->height, f->format, w, h,
	    AV_PIX_FMT_GRAY8, SWS_AREA, NULL, NULL, NULL);
	if (*sws == NULL)
		return -1;
	return sws_scale(*sws, (const uint8_t *const *)f->data, f->linesize, 0,
	    f->height, d, ls) == h ? 0 : -1;
}
