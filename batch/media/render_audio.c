/*
 * The render's audio: decoded source audio trimmed to the clip (from its
 * first video frame), resampled for AAC, gaps filled with silence, cut
 * into encoder-sized frames and queued beside the pictures.
 */
#include <math.h>
#include <string.h>

#include <libavutil/channel_layout.h>

#include "render_int.h"
#include "util.h"

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
int
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

int
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

/* The resampler from DEC's audio to O's AAC encoder, and its fifo.  0 or
 * -1 with ERR; audio_trim_close() frees what was made either way. */
int
audio_trim_open(struct audio_trim *a, const struct out *o,
    AVCodecContext *dec, char *err, size_t errlen)
{
	int e;

	a->in_rate = dec->sample_rate;
	if ((e = swr_alloc_set_opts2(&a->swr, &o->aenc->ch_layout,
	    o->aenc->sample_fmt, o->aenc->sample_rate, &dec->ch_layout,
	    dec->sample_fmt, dec->sample_rate, 0, NULL)) < 0 ||
	    (e = swr_init(a->swr)) < 0) {
		averr(err, errlen, "The audio resampler could not start", e);
		return -1;
	}
	if ((a->fifo = av_audio_fifo_alloc(o->aenc->sample_fmt,
	    o->aenc->ch_layout.nb_channels, 4096)) == NULL) {
		seterr(err, errlen, "Out of memory starting the audio.");
		return -1;
	}
	return 0;
}

void
audio_trim_close(struct audio_trim *a)
{
	swr_free(&a->swr);
	if (a->fifo)
		av_audio_fifo_free(a->fifo);
	a->fifo = NULL;
}
