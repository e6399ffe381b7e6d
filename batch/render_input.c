/* Demuxing and decoding for the frame and render stages (render.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/avutil.h>

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
	if ((e = avcodec_open2(c, dec, NULL)) < 0) {
		averr(err, errlen, "The decoder could not start", e);
		avcodec_free_context(&c);
		return -1;
	}
	*out = c;
	return 0;
}

/*
 * Build the filters that turn pictures like F clockwise by m->rotation, as
 * ffmpeg's autorotate does: transpose for a quarter turn, hflip + vflip
 * for a half.  The filters take any pixel format they can (transpose
 * converts subsampled formats it cannot turn) and reuse their buffers.
 */
static int
rot_open(struct media_in *m, const AVFrame *f, char *err, size_t errlen)
{
	static const struct { int rot; const char *f[2], *args[2]; } turns[] = {
		{ 90, { "transpose", NULL }, { "dir=clock", NULL } },
		{ 180, { "hflip", "vflip" }, { NULL, NULL } },
		{ 270, { "transpose", NULL }, { "dir=cclock", NULL } },
	};
	AVRational tb = m->fmt->streams[m->vidx]->time_base;
	AVRational sar = f->sample_aspect_ratio;
	AVFilterContext *prev, *cur;
	char args[160];
	size_t i, k;
	int e;

	avfilter_graph_free(&m->rot_graph);
	m->rot_in = m->rot_out = NULL;
	for (i = 0; i < sizeof(turns) / sizeof(turns[0]); i++)
		if (turns[i].rot == m->rotation)
			break;
	assert(i < sizeof(turns) / sizeof(turns[0]));
	if (sar.num <= 0 || sar.den <= 0)
		sar = (AVRational){ 1, 1 };
	if ((m->rot_graph = avfilter_graph_alloc()) == NULL) {
		seterr(err, errlen, "Out of memory turning the video upright.");
		return -1;
	}
	m->rot_graph->nb_threads = m->threads;
	if (xsnprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:"
	    "time_base=%d/%d:pixel_aspect=%d/%d", f->width, f->height, f->format,
	    tb.num, tb.den, sar.num, sar.den) != 0) {
		seterr(err, errlen, "The video's parameters are out of range.");
		return -1;
	}
	if ((e = avfilter_graph_create_filter(&m->rot_in,
	    avfilter_get_by_name("buffer"), "in", args, NULL, m->rot_graph)) < 0)
		goto fail;
	prev = m->rot_in;
	for (k = 0; k < 2 && turns[i].f[k] != NULL; k++) {
		if ((e = avfilter_graph_create_filter(&cur,
		    avfilter_get_by_name(turns[i].f[k]), turns[i].f[k],
		    turns[i].args[k], NULL, m->rot_graph)) < 0 ||
		    (e = avfilter_link(prev, 0, cur, 0)) < 0)
			goto fail;
		prev = cur;
	}
	if ((e = avfilter_graph_create_filter(&m->rot_out,
	    avfilter_get_by_name("buffersink"), "out", NULL, NULL,
	    m->rot_graph)) < 0 ||
	    (e = avfilter_link(prev, 0, m->rot_out, 0)) < 0 ||
	    (e = avfilter_graph_config(m->rot_graph, NULL)) < 0)
		goto fail;
	m->rot_w = f->width;
	m->rot_h = f->height;
	m->rot_fmt = f->format;
	return 0;
fail:
	averr(err, errlen, "The video could not be turned upright", e);
	avfilter_graph_free(&m->rot_graph);
	m->rot_in = m->rot_out = NULL;
	return -1;
}

/* Turn m->raw (consumed) upright into m->frame. */
static int
rot_frame(struct media_in *m, char *err, size_t errlen)
{
	const AVFrame *f = m->raw;
	int e;

	if ((m->rot_graph == NULL || f->width != m->rot_w ||
	    f->height != m->rot_h || f->format != m->rot_fmt) &&
	    rot_open(m, f, err, errlen) != 0)
		return -1;
	if ((e = av_buffersrc_add_frame_flags(m->rot_in, m->raw, 0)) < 0 ||
	    (e = av_buffersink_get_frame(m->rot_out, m->frame)) < 0) {
		averr(err, errlen, "Turning a frame upright failed", e);
		return -1;
	}
	/* The picture is upright now: nothing may turn it again. */
	av_frame_remove_side_data(m->frame, AV_FRAME_DATA_DISPLAYMATRIX);
	return 0;
}

int
media_open(struct media_in *m, const char *path, int want_audio, int threads,
    char *err, size_t errlen)
{
	int e;

	memset(m, 0, sizeof(*m));
	m->vidx = m->aidx = -1;
	/* Library chatter is not our log's business; real errors come back
	 * as return values and become sentences. */
	av_log_set_level(AV_LOG_ERROR);
	if ((e = avformat_open_input(&m->fmt, path, NULL, NULL)) < 0) {
		averr(err, errlen, "The source video could not be opened", e);
		return -1;
	}
	if ((e = avformat_find_stream_info(m->fmt, NULL)) < 0) {
		averr(err, errlen, "The source video could not be read", e);
		goto fail;
	}
	m->vidx = av_find_best_stream(m->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
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
	if (m->rotation != 0 && (m->raw = av_frame_alloc()) == NULL) {
		seterr(err, errlen, "Out of memory opening the source.");
		goto fail;
	}
	if (want_audio) {
		m->aidx = av_find_best_stream(m->fmt, AVMEDIA_TYPE_AUDIO, -1,
		    m->vidx, NULL, 0);
		if (m->aidx >= 0 && open_decoder(m->fmt->streams[m->aidx], 1,
		    &m->adec, err, errlen) != 0)
			goto fail;
		if (m->aidx < 0)
			m->aidx = -1;
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
	avfilter_graph_free(&m->rot_graph);
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

char *
render_fetch(struct store *st, const char *key, const char *scratch,
    const char *name, int *transient, char *err, size_t errlen)
{
	char path[4096], *p;
	int rc;

	*transient = 0;
	if (key == NULL || !store_key_valid(key)) {
		seterr(err, errlen, "A stored file's key is missing or invalid.");
		return NULL;
	}
	/* The file store has the bytes on disk already: read them in place. */
	if ((p = store_local_path(st, key)) != NULL) {
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	if (xsnprintf(path, sizeof(path), "%s/%s", scratch, name) != 0) {
		seterr(err, errlen, "The scratch path is too long.");
		return NULL;
	}
	rc = store_get(st, key, path, err, errlen);
	if (rc != STORE_OK) {
		*transient = rc == STORE_AGAIN;
		if (rc == STORE_NOTFOUND)
			seterr(err, errlen, "The stored file %s is missing.", key);
		return NULL;
	}
	return strdup(path);
}

json_t *
render_fetch_json(struct store *st, const char *key, const char *scratch,
    const char *name, int *transient, char *err, size_t errlen)
{
	struct stat sb;
	json_error_t je;
	json_t *o = NULL;
	char *p;

	if ((p = render_fetch(st, key, scratch, name, transient, err, errlen)) == NULL)
		return NULL;
	if (stat(p, &sb) != 0 || sb.st_size > (64L << 20))
		seterr(err, errlen, "The stored file %s is missing or too large.", key);
	else if ((o = json_load_file(p, 0, &je)) == NULL || !json_is_object(o)) {
		seterr(err, errlen, "The stored file %s is not valid JSON.", key);
		json_decref(o);
		o = NULL;
	}
	free(p);
	return o;
}
