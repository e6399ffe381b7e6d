/*
 * Probe a source file with libavformat and apply the input policy.  The
 * fetch stage runs this on every source, whatever its origin, so an upload
 * and a download are judged alike.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libavformat/avformat.h>
#include <libavutil/display.h>

#include "config.h"
#include "mediatype.h"
#include "probe.h"
#include "util.h"

int
probe_norm_rotation(double ccw)
{
	long r;

	if (!isfinite(ccw))
		return 0;
	/* av_display_rotation_get() is counter-clockwise; players rotate
	 * clockwise by its negation.  Round to a quarter turn. */
	r = lround(-ccw / 90.0) * 90;
	r %= 360;
	if (r < 0)
		r += 360;
	return (int)r;
}

int
probe_stream_rotation(const AVStream *st)
{
	const uint8_t *sd;
	AVDictionaryEntry *e;
	long long v;

	sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
	if (sd != NULL)
		return probe_norm_rotation(
		    av_display_rotation_get((const int32_t *)sd));
	/* Older muxers wrote a "rotate" tag (clockwise degrees). */
	e = av_dict_get(st->metadata, "rotate", NULL, 0);
	if (e != NULL && parse_ll(e->value, -3600, 3600, &v) == 0)
		return probe_norm_rotation(-(double)v);
	return 0;
}

static void
fmt_duration(char *dst, size_t len, double s)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(dst, len, "%ld h %02ld min", t / 3600, (t / 60) % 60);
	else
		snprintf(dst, len, "%ld min %02ld s", t / 60, t % 60);
}

enum probe_rc
probe_file(const char *path, json_t **out, char *err, size_t errlen)
{
	AVFormatContext *fc = NULL;
	AVStream *vs = NULL, *as = NULL;
	enum probe_rc rc = PROBE_ERROR;
	struct stat sb;
	char d1[32], d2[32];
	const char *vcodec, *acodec = "";
	double duration = 0, fps = 0;
	int w, h, dw, dh, rot, ret;
	unsigned i;
	long long maxlong, maxshort;

	*out = NULL;
	if (stat(path, &sb) == -1) {
		seterr(err, errlen, "cannot read the downloaded file: %s",
		    strerror(errno));
		return PROBE_ERROR;
	}
	if (sb.st_size == 0) {
		seterr(err, errlen, "The file is empty (zero bytes).");
		return PROBE_REJECT;
	}
	if ((ret = avformat_open_input(&fc, path, NULL, NULL)) < 0) {
		if (ret == AVERROR(ENOMEM) || ret == AVERROR(EIO)) {
			seterr(err, errlen, "cannot open the media file: %s",
			    av_err2str(ret));
			return PROBE_ERROR;
		}
		seterr(err, errlen, "This is not a video file: no known media "
		    "format was recognised in it.");
		return PROBE_REJECT;
	}
	if (avformat_find_stream_info(fc, NULL) < 0) {
		seterr(err, errlen, "This is not a readable video file: its "
		    "streams could not be decoded.");
		rc = PROBE_REJECT;
		goto out;
	}
	for (i = 0; i < fc->nb_streams; i++) {
		AVStream *st = fc->streams[i];
		enum AVMediaType t = st->codecpar->codec_type;

		if (t == AVMEDIA_TYPE_VIDEO && vs == NULL &&
		    !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
			vs = st;
		else if (t == AVMEDIA_TYPE_AUDIO && as == NULL)
			as = st;
	}
	if (vs == NULL) {
		seterr(err, errlen, as != NULL ? "The file has no video stream "
		    "(it is audio only)." : "The file has no video stream.");
		rc = PROBE_REJECT;
		goto out;
	}
	/* Single pictures come through the image demuxers (png_pipe,
	 * image2...), with no duration to speak of. */
	if (strcmp(fc->iformat->name, "image2") == 0 ||
	    strstr(fc->iformat->name, "_pipe") != NULL) {
		seterr(err, errlen, "This is a still image, not a video.");
		rc = PROBE_REJECT;
		goto out;
	}
	if (fc->duration != AV_NOPTS_VALUE && fc->duration > 0)
		duration = (double)fc->duration / AV_TIME_BASE;
	else if (vs->duration != AV_NOPTS_VALUE && vs->duration > 0)
		duration = vs->duration * av_q2d(vs->time_base);
	if (!(duration > 0)) {
		seterr(err, errlen, "The video has no duration: it may be a "
		    "single frame or damaged.");
		rc = PROBE_REJECT;
		goto out;
	}
	if (duration > (double)cfg.max_duration) {
		fmt_duration(d1, sizeof(d1), duration);
		fmt_duration(d2, sizeof(d2), (double)cfg.max_duration);
		seterr(err, errlen, "The video is too long: %s, and the limit "
		    "is %s.", d1, d2);
		rc = PROBE_REJECT;
		goto out;
	}
	w = vs->codecpar->width;
	h = vs->codecpar->height;
	if (w <= 0 || h <= 0) {
		seterr(err, errlen, "The video stream has no picture size: the "
		    "file may be damaged.");
		rc = PROBE_REJECT;
		goto out;
	}
	rot = probe_stream_rotation(vs);
	dw = (rot == 90 || rot == 270) ? h : w;
	dh = (rot == 90 || rot == 270) ? w : h;
	/* The limit is a pixel budget in either orientation: a portrait
	 * 2160x3840 phone video passes a 3840x2160 limit. */
	maxlong = cfg.max_width > cfg.max_height ? cfg.max_width : cfg.max_height;
	maxshort = cfg.max_width > cfg.max_height ? cfg.max_height : cfg.max_width;
	if ((dw > dh ? dw : dh) > maxlong || (dw > dh ? dh : dw) > maxshort) {
		seterr(err, errlen, "The video's resolution is too large: "
		    "%dx%d, and the limit is %lldx%lld.", dw, dh,
		    cfg.max_width, cfg.max_height);
		rc = PROBE_REJECT;
		goto out;
	}
	if (vs->avg_frame_rate.num > 0 && vs->avg_frame_rate.den > 0)
		fps = av_q2d(vs->avg_frame_rate);
	else if (vs->r_frame_rate.num > 0 && vs->r_frame_rate.den > 0)
		fps = av_q2d(vs->r_frame_rate);
	vcodec = avcodec_get_name(vs->codecpar->codec_id);
	if (as != NULL)
		acodec = avcodec_get_name(as->codecpar->codec_id);
	*out = json_pack("{sf sisi sisi sf si sb ss ss si si ss ss sI sI si}",
	    "duration", round(duration * 1000) / 1000,
	    "width", w, "height", h,
	    "display_width", dw, "display_height", dh,
	    "fps", round(fps * 1000) / 1000,
	    "rotation", rot,
	    "has_audio", as != NULL,
	    "vcodec", vcodec,
	    "acodec", acodec,
	    "audio_rate", as ? as->codecpar->sample_rate : 0,
	    "audio_channels", as ? as->codecpar->ch_layout.nb_channels : 0,
	    "format", fc->iformat->name,
	    "ext", mediatype_source_ext(fc->iformat->name, vcodec),
	    "size", (json_int_t)sb.st_size,
	    "bit_rate", (json_int_t)fc->bit_rate,
	    "streams", (int)fc->nb_streams);
	if (*out == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	rc = PROBE_OK;
out:
	avformat_close_input(&fc);
	return rc;
}
