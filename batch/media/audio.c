/*
 * Audio extraction with libavformat/libavcodec/libswresample, streamed to
 * a PCM file, with a loudness envelope computed on the way; and FLAC
 * encoding of chunks for the upload backend.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "audio.h"
#include "open_input.h"
#include "runner/stage.h"
#include "util.h"

void
audio_free(struct audio *a)
{
	free(a->dbfs);
	memset(a, 0, sizeof(*a));
}

/* The envelope accumulates sums of squares per 100 ms window. */
struct env {
	struct audio	*a;
	size_t		 cap;
	double		 sumsq;
	int		 nin;		/* samples in the open window */
};

static int
env_push(struct env *e)
{
	float db;
	double rms;

	if (e->nin == 0)
		return 0;
	if (e->a->ndbfs == e->cap) {
		size_t nc = e->cap ? e->cap * 2 : 4096;
		float *n = realloc(e->a->dbfs, nc * sizeof(*n));
		if (n == NULL)
			return -1;
		e->a->dbfs = n;
		e->cap = nc;
	}
	rms = sqrt(e->sumsq / e->nin) / 32768.0;
	db = rms > 0 ? (float)(20 * log10(rms)) : AUDIO_SILENT_DB;
	if (db < AUDIO_SILENT_DB)
		db = AUDIO_SILENT_DB;
	e->a->dbfs[e->a->ndbfs++] = db;
	e->sumsq = 0;
	e->nin = 0;
	return 0;
}

static int
env_add(struct env *e, const int16_t *s, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		e->sumsq += (double)s[i] * s[i];
		if (++e->nin == AUDIO_ENV_SAMPLES && env_push(e) == -1)
			return -1;
	}
	return 0;
}

/* Resample what FRAME holds (NULL: flush) and write it out. */
static int
convert(SwrContext *swr, const AVFrame *frame, int16_t **obuf, int *ocap,
    FILE *out, struct env *e, struct audio *a)
{
	int want, got;

	want = swr_get_out_samples(swr, frame ? frame->nb_samples : 0);
	if (want < 0)
		return -1;
	if (want > *ocap) {
		int16_t *n = realloc(*obuf, (size_t)want * sizeof(int16_t));
		if (n == NULL)
			return -1;
		*obuf = n;
		*ocap = want;
	}
	got = swr_convert(swr, (uint8_t **)obuf, want,
	    frame ? (const uint8_t **)frame->extended_data : NULL,
	    frame ? frame->nb_samples : 0);
	if (got < 0)
		return -1;
	if (got == 0)
		return 0;
	if (fwrite(*obuf, sizeof(int16_t), (size_t)got, out) != (size_t)got)
		return -1;
	a->samples += got;
	return env_add(e, *obuf, got);
}

/* One extraction's demuxer, decoder and resampler. */
struct extract {
	AVFormatContext	*fc;
	AVCodecContext	*dc;
	SwrContext	*swr;
	AVPacket	*pkt;
	AVFrame		*frame;
	int16_t		*obuf;		/* resampled samples */
	int		 ocap;
	int		 si;		/* the audio stream */
	double		 tb;		/* its time base */
	double		 dur;		/* the file's length (s), 0 if unknown */
};

/* Open SRC's audio stream (the one the probe and render choose) with its
 * decoder and a resampler to 16 kHz mono into X.  AUDIO_OK, AUDIO_NONE,
 * or AUDIO_ERROR with ERR; extract_close() X in every case. */
static enum audio_rc
extract_open(struct extract *x, const char *src, const char *format,
    char *err, size_t errlen)
{
	AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
	const AVCodec *codec;
	AVCodecContext *dc;
	unsigned i;

	if (media_open_input(&x->fc, src, format, err, errlen) != MEDIA_OPEN_OK)
		return AUDIO_ERROR;
	if ((x->si = media_audio_stream(x->fc)) < 0)
		return AUDIO_NONE;
	codec = avcodec_find_decoder(x->fc->streams[x->si]->codecpar->codec_id);
	if (codec == NULL) {
		seterr(err, errlen, "The sound track cannot be decoded (no "
		    "decoder for it).");
		return AUDIO_ERROR;
	}
	/* Only the audio stream is demuxed into packets we look at. */
	for (i = 0; i < x->fc->nb_streams; i++)
		if ((int)i != x->si)
			x->fc->streams[i]->discard = AVDISCARD_ALL;
	x->tb = av_q2d(x->fc->streams[x->si]->time_base);
	if (x->fc->duration > 0)
		x->dur = (double)x->fc->duration / AV_TIME_BASE;
	if ((dc = x->dc = avcodec_alloc_context3(codec)) == NULL ||
	    avcodec_parameters_to_context(dc, x->fc->streams[x->si]->codecpar)
	    < 0 || avcodec_open2(dc, codec, NULL) < 0) {
		seterr(err, errlen, "The sound track cannot be decoded.");
		return AUDIO_ERROR;
	}
	if (dc->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
		av_channel_layout_default(&dc->ch_layout,
		    dc->ch_layout.nb_channels);
	if (swr_alloc_set_opts2(&x->swr, &mono, AV_SAMPLE_FMT_S16, AUDIO_RATE,
	    &dc->ch_layout, dc->sample_fmt, dc->sample_rate, 0, NULL) < 0 ||
	    swr_init(x->swr) < 0) {
		seterr(err, errlen, "cannot set up resampling of the sound "
		    "track (%d Hz, %d channels)", dc->sample_rate,
		    dc->ch_layout.nb_channels);
		return AUDIO_ERROR;
	}
	if ((x->pkt = av_packet_alloc()) == NULL ||
	    (x->frame = av_frame_alloc()) == NULL) {
		seterr(err, errlen, "out of memory");
		return AUDIO_ERROR;
	}
	return AUDIO_OK;
}

static void
extract_close(struct extract *x)
{
	free(x->obuf);
	av_frame_free(&x->frame);
	av_packet_free(&x->pkt);
	swr_free(&x->swr);
	avcodec_free_context(&x->dc);
	avformat_close_input(&x->fc);
}

/* Decode X to the end into OUT, the envelope in E; progress from PCT0 to
 * PCT1.  AUDIO_OK, AUDIO_CANCELLED, or AUDIO_ERROR with ERR. */
static enum audio_rc
extract_decode(struct task_ctx *ctx, struct extract *x, FILE *out,
    struct env *e, int pct0, int pct1, char *err, size_t errlen)
{
	AVPacket *pkt = x->pkt;
	int ret, eof = 0;

	while (!eof) {
		ret = av_read_frame(x->fc, pkt);
		if (ret < 0) {
			/* The end, or a damaged tail: keep what was decoded. */
			eof = 1;
			ret = avcodec_send_packet(x->dc, NULL);
		} else {
			if (pkt->stream_index != x->si) {
				av_packet_unref(pkt);
				continue;
			}
			if (x->dur > 0 && pkt->pts != AV_NOPTS_VALUE) {
				double pos = pkt->pts * x->tb;
				int pct = pct0 + (int)((pct1 - pct0) * pos / x->dur);
				if (task_progress(ctx, pct < pct0 ? pct0 :
				    pct > pct1 ? pct1 : pct,
				    "extracting audio: %.0f of %.0f s", pos, x->dur))
					return AUDIO_CANCELLED;
			}
			ret = avcodec_send_packet(x->dc, pkt);
			av_packet_unref(pkt);
			if (ret == AVERROR_INVALIDDATA)
				continue;	/* skip a broken packet */
		}
		while ((ret = avcodec_receive_frame(x->dc, x->frame)) >= 0) {
			if (convert(x->swr, x->frame, &x->obuf, &x->ocap, out, e,
			    e->a) == -1) {
				seterr(err, errlen, "cannot write the audio: %s",
				    strerror(errno));
				return AUDIO_ERROR;
			}
			av_frame_unref(x->frame);
		}
	}
	if (convert(x->swr, NULL, &x->obuf, &x->ocap, out, e, e->a) == -1 ||
	    env_push(e) == -1 || fflush(out) != 0) {
		seterr(err, errlen, "cannot write the audio: %s", strerror(errno));
		return AUDIO_ERROR;
	}
	return AUDIO_OK;
}

enum audio_rc
audio_extract(struct task_ctx *ctx, const char *src, const char *format,
    const char *pcm_path, struct audio *a, int pct0, int pct1, char *err,
    size_t errlen)
{
	struct extract x;
	struct env e;
	FILE *out = NULL;
	enum audio_rc rc;

	memset(a, 0, sizeof(*a));
	memset(&e, 0, sizeof(e));
	memset(&x, 0, sizeof(x));
	e.a = a;
	if ((rc = extract_open(&x, src, format, err, errlen)) != AUDIO_OK)
		goto out;
	if ((out = fopen(pcm_path, "wb")) == NULL) {
		seterr(err, errlen, "cannot write %s: %s", pcm_path,
		    strerror(errno));
		rc = AUDIO_ERROR;
		goto out;
	}
	rc = extract_decode(ctx, &x, out, &e, pct0, pct1, err, errlen);
out:
	if (out != NULL && fclose(out) != 0 && rc == AUDIO_OK) {
		seterr(err, errlen, "cannot write the audio: %s", strerror(errno));
		rc = AUDIO_ERROR;
	}
	if (rc != AUDIO_OK)
		unlink(pcm_path);
	if (rc != AUDIO_OK && rc != AUDIO_NONE)
		audio_free(a);
	extract_close(&x);
	return rc;
}

int
audio_write_loudness(const struct audio *a, const char *path, char *err,
    size_t errlen)
{
	FILE *f;
	size_t i;
	int bad;

	if ((f = fopen(path, "w")) == NULL) {
		seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\"interval\":%.1f,\"dbfs\":[", 1.0 / AUDIO_ENV_HZ);
	for (i = 0; i < a->ndbfs; i++)
		fprintf(f, "%s%.1f", i ? "," : "", (double)a->dbfs[i]);
	fputs("]}\n", f);
	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		seterr(err, errlen, "cannot write %s", path);
		return -1;
	}
	return 0;
}

long
audio_split(const float *dbfs, size_t n, size_t max_frames, size_t **bounds)
{
	size_t *b = NULL, nb = 0, cap = 0, start = 0, i, best;

	if (max_frames < 2)
		max_frames = 2;
	for (;;) {
		if (nb + 2 > cap) {
			size_t nc = cap ? cap * 2 : 16;
			size_t *nbuf = realloc(b, nc * sizeof(*b));
			if (nbuf == NULL) {
				free(b);
				return -1;
			}
			b = nbuf;
			cap = nc;
		}
		b[nb++] = start;
		if (n - start <= max_frames)
			break;
		/* The quietest frame in the window's second half: a pause
		 * between words, so no word is cut in two. */
		best = start + max_frames / 2;
		for (i = best; i < start + max_frames; i++)
			if (dbfs[i] <= dbfs[best])
				best = i;
		start = best;
	}
	b[nb] = n;
	*bounds = b;
	return (long)nb;
}

short *
audio_read(const char *pcm_path, long long from, long long count, char *err,
    size_t errlen)
{
	short *s;
	FILE *f;

	if (count <= 0 || (s = malloc((size_t)count * sizeof(short))) == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	if ((f = fopen(pcm_path, "rb")) == NULL ||
	    fseeko(f, (off_t)from * 2, SEEK_SET) != 0 ||
	    fread(s, sizeof(short), (size_t)count, f) != (size_t)count) {
		seterr(err, errlen, "cannot read the audio: %s",
		    errno ? strerror(errno) : "short file");
		free(s);
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	fclose(f);
	return s;
}

static int
write_packets(AVCodecContext *ec, AVFormatContext *oc, AVPacket *pkt)
{
	int ret;

	while ((ret = avcodec_receive_packet(ec, pkt)) >= 0) {
		av_packet_rescale_ts(pkt, ec->time_base, oc->streams[0]->time_base);
		pkt->stream_index = 0;
		if (av_interleaved_write_frame(oc, pkt) < 0)
			return -1;
	}
	return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : -1;
}

int
audio_encode_flac(const char *pcm_path, long long from, long long count,
    const char *outpath, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_FLAC);
	AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
	AVFormatContext *oc = NULL;
	AVCodecContext *ec = NULL;
	AVStream *st;
	AVFrame *fr = NULL;
	AVPacket *pkt = NULL;
	FILE *in = NULL;
	long long done = 0;
	int rc = -1, opened = 0, fs;

	if (codec == NULL) {
		seterr(err, errlen, "this FFmpeg has no FLAC encoder");
		return -1;
	}
	if (avformat_alloc_output_context2(&oc, NULL, "flac", outpath) < 0 ||
	    (st = avformat_new_stream(oc, NULL)) == NULL ||
	    (ec = avcodec_alloc_context3(codec)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	ec->sample_fmt = AV_SAMPLE_FMT_S16;
	ec->sample_rate = AUDIO_RATE;
	av_channel_layout_copy(&ec->ch_layout, &mono);
	ec->time_base = (AVRational){ 1, AUDIO_RATE };
	if (avcodec_open2(ec, codec, NULL) < 0 ||
	    avcodec_parameters_from_context(st->codecpar, ec) < 0) {
		seterr(err, errlen, "cannot open the FLAC encoder");
		goto out;
	}
	st->time_base = ec->time_base;
	if (avio_open(&oc->pb, outpath, AVIO_FLAG_WRITE) < 0) {
		seterr(err, errlen, "cannot write %s", outpath);
		goto out;
	}
	opened = 1;
	if (avformat_write_header(oc, NULL) < 0)
		goto encfail;
	fs = ec->frame_size > 0 ? ec->frame_size : 4096;
	if ((fr = av_frame_alloc()) == NULL || (pkt = av_packet_alloc()) == NULL)
		goto encfail;
	fr->format = AV_SAMPLE_FMT_S16;
	fr->sample_rate = AUDIO_RATE;
	av_channel_layout_copy(&fr->ch_layout, &mono);
	fr->nb_samples = fs;
	if (av_frame_get_buffer(fr, 0) < 0)
		goto encfail;
	if ((in = fopen(pcm_path, "rb")) == NULL ||
	    fseeko(in, (off_t)from * 2, SEEK_SET) != 0) {
		seterr(err, errlen, "cannot read the audio: %s", strerror(errno));
		goto out;
	}
	while (done < count) {
		int n = count - done < fs ? (int)(count - done) : fs;
		if (av_frame_make_writable(fr) < 0)
			goto encfail;
		fr->nb_samples = n;
		if (fread(fr->data[0], 2, (size_t)n, in) != (size_t)n) {
			seterr(err, errlen, "cannot read the audio: short file");
			goto out;
		}
		fr->pts = done;
		done += n;
		if (avcodec_send_frame(ec, fr) < 0 || write_packets(ec, oc, pkt))
			goto encfail;
	}
	if (avcodec_send_frame(ec, NULL) < 0 || write_packets(ec, oc, pkt) ||
	    av_write_trailer(oc) < 0)
		goto encfail;
	rc = 0;
	goto out;
encfail:
	seterr(err, errlen, "FLAC encoding failed");
out:
	if (in != NULL)
		fclose(in);
	if (opened)
		avio_closep(&oc->pb);
	if (rc != 0)
		unlink(outpath);
	av_frame_free(&fr);
	av_packet_free(&pkt);
	avcodec_free_context(&ec);
	avformat_free_context(oc);
	return rc;
}
