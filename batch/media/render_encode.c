/*
 * The output side of the render (encoder thread): libx264 and AAC, fed
 * from the queue, muxed into the MP4.
 */
#include <errno.h>

#include "render_int.h"
#include "util.h"

#define PROGRESS_MIN	25	/* frames between progress reports, at least */
#define PROGRESS_STEPS	10	/* reports in a clip, at most */

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
int
encode_all(struct out *o, const struct render_req *r, long long expect)
{
	long long done = 0, every = expect / PROGRESS_STEPS;
	int cancelled = 0, e;

	if (every < PROGRESS_MIN)
		every = PROGRESS_MIN;

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
		if (++done % every == 0 && r->progress != NULL &&
		    r->progress(r->progress_arg,
		    (int)(done * 99 / (expect > 0 ? expect : 1))) != 0) {
			cancelled = 1;
			fq_stop(&o->q);
		}
	}
	return cancelled;
}

int
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
	if (r->x264_params != NULL)
		av_dict_set(&opts, "x264-params", r->x264_params, 0);
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
int
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

/* The MP4 writer for R->out_mp4 with its H.264 encoder (time base TB,
 * frame rate FPS) and, when DEC is not NULL, an AAC encoder for its
 * audio; nothing is written yet.  0 or -1 with ERR; out_close() frees
 * what was made either way. */
int
out_open(struct out *o, const struct render_req *r, const AVCodecContext *dec,
    AVRational tb, AVRational fps, char *err, size_t errlen)
{
	int e;

	if ((o->pkt = av_packet_alloc()) == NULL) {
		seterr(err, errlen, "Out of memory while rendering.");
		return -1;
	}
	if ((e = avformat_alloc_output_context2(&o->oc, NULL, "mp4",
	    r->out_mp4)) < 0) {
		averr(err, errlen, "The MP4 writer could not start", e);
		return -1;
	}
	if (open_video_enc(o, r, tb, fps, err, errlen) != 0)
		return -1;
	o->vdur = av_rescale_q(1, av_inv_q(fps), tb);
	if (o->vdur < 1)
		o->vdur = 1;
	if (dec != NULL && open_audio_enc(o, dec, err, errlen) != 0)
		return -1;
	return 0;
}

/* Create the file at PATH and write its header.  0 or -1 with ERR. */
int
out_start(struct out *o, const char *path, char *err, size_t errlen)
{
	AVDictionary *mopts = NULL;
	int e;

	if ((e = avio_open(&o->oc->pb, path, AVIO_FLAG_WRITE)) < 0) {
		averr(err, errlen, "The clip file could not be created", e);
		return -1;
	}
	/* faststart: the index goes first, so players start at once. */
	av_dict_set(&mopts, "movflags", "+faststart", 0);
	e = avformat_write_header(o->oc, &mopts);
	av_dict_free(&mopts);
	if (e < 0) {
		averr(err, errlen, "The clip file could not be started", e);
		return -1;
	}
	return 0;
}

/* The encoders and the writer (the file stays as written). */
void
out_close(struct out *o)
{
	avcodec_free_context(&o->venc);
	avcodec_free_context(&o->aenc);
	if (o->oc) {
		if (o->oc->pb)
			avio_closep(&o->oc->pb);
		avformat_free_context(o->oc);
		o->oc = NULL;
	}
	av_packet_free(&o->pkt);
}
