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
#include "open_input.h"
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

/* What the probe measured of a source's chosen streams. */
struct probe_info {
	AVStream	*vs, *as;	/* the video and audio streams, or NULL */
	double		 duration, fps;
	int		 w, h;		/* coded picture size */
	int		 dw, dh, rot;	/* displayed size, clockwise turn */
};

/* The streams every stage uses, the duration and the picture size of FC
 * into P, checked against the limits: PROBE_OK, or PROBE_REJECT with a
 * sentence in ERR. */
static enum probe_rc
probe_measure(AVFormatContext *fc, struct probe_info *p, char *err,
    size_t errlen)
{
	AVStream *vs;
	char d1[32], d2[32];
	long long maxlong, maxshort;
	int vi = media_video_stream(fc), ai = media_audio_stream(fc);

	memset(p, 0, sizeof(*p));
	p->as = ai >= 0 ? fc->streams[ai] : NULL;
	if (vi < 0) {
		seterr(err, errlen, p->as != NULL ? "The file has no video "
		    "stream (it is audio only)." : "The file has no video "
		    "stream.");
		return PROBE_REJECT;
	}
	vs = p->vs = fc->streams[vi];
	if (fc->duration != AV_NOPTS_VALUE && fc->duration > 0)
		p->duration = (double)fc->duration / AV_TIME_BASE;
	else if (vs->duration != AV_NOPTS_VALUE && vs->duration > 0)
		p->duration = vs->duration * av_q2d(vs->time_base);
	if (!(p->duration > 0)) {
		seterr(err, errlen, "The video has no duration: it may be a "
		    "single frame or damaged.");
		return PROBE_REJECT;
	}
	if (p->duration > (double)cfg.max_duration) {
		fmt_duration(d1, sizeof(d1), p->duration);
		fmt_duration(d2, sizeof(d2), (double)cfg.max_duration);
		seterr(err, errlen, "The video is too long: %s, and the limit "
		    "is %s.", d1, d2);
		return PROBE_REJECT;
	}
	p->w = vs->codecpar->width;
	p->h = vs->codecpar->height;
	if (p->w <= 0 || p->h <= 0) {
		seterr(err, errlen, "The video stream has no picture size: the "
		    "file may be damaged.");
		return PROBE_REJECT;
	}
	p->rot = probe_stream_rotation(vs);
	p->dw = (p->rot == 90 || p->rot == 270) ? p->h : p->w;
	p->dh = (p->rot == 90 || p->rot == 270) ? p->w : p->h;
	/* The limit is a pixel budget in either orientation: a portrait
	 * 2160x3840 phone video passes a 3840x2160 limit. */
	maxlong = cfg.max_width > cfg.max_height ? cfg.max_width : cfg.max_height;
	maxshort = cfg.max_width > cfg.max_height ? cfg.max_height : cfg.max_width;
	if ((p->dw > p->dh ? p->dw : p->dh) > maxlong ||
	    (p->dw > p->dh ? p->dh : p->dw) > maxshort) {
		seterr(err, errlen, "The video's resolution is too large: "
		    "%dx%d, and the limit is %lldx%lld.", p->dw, p->dh,
		    cfg.max_width, cfg.max_height);
		return PROBE_REJECT;
	}
	if (vs->avg_frame_rate.num > 0 && vs->avg_frame_rate.den > 0)
		p->fps = av_q2d(vs->avg_frame_rate);
	else if (vs->r_frame_rate.num > 0 && vs->r_frame_rate.den > 0)
		p->fps = av_q2d(vs->r_frame_rate);
	return PROBE_OK;
}

/* An MP4's index names where every sample lies: one past the end of the
 * file, or no streams at all, means the file was cut short (a
 * "faststart" MP4 keeps its index first, so a cut leaves it whole).
 * PROBE_OK, or PROBE_REJECT with a sentence in ERR. */
static enum probe_rc
probe_complete(AVFormatContext *fc, long long size, char *err, size_t errlen)
{
	const AVIndexEntry *e;
	long long end = 0;
	unsigned i;
	int n;

	if (!media_format_is_mp4(fc->iformat))
		return PROBE_OK;
	if (fc->nb_streams == 0) {
		media_mp4_damaged(err, errlen, "whose index is missing");
		return PROBE_REJECT;
	}
	for (i = 0; i < fc->nb_streams; i++) {
		n = avformat_index_get_entries_count(fc->streams[i]);
		if (n > 0 && (e = avformat_index_get_entry(fc->streams[i],
		    n - 1)) != NULL && e->pos + e->size > end)
			end = e->pos + e->size;
	}
	if (end > size) {
		media_mp4_damaged(err, errlen, "that ends early (its index "
		    "names media the file does not hold)");
		return PROBE_REJECT;
	}
	return PROBE_OK;
}

/* The probe's report (probe.h) of FC as P measured it; new reference,
 * or NULL when out of memory. */
static json_t *
probe_report(const AVFormatContext *fc, const struct probe_info *p,
    long long size)
{
	const AVStream *as = p->as;
	const char *vcodec = avcodec_get_name(p->vs->codecpar->codec_id);

	return json_pack("{sf sisi sisi sf si sb ss ss si si ss ss sI sI si}",
	    "duration", round(p->duration * 1000) / 1000,
	    "width", p->w, "height", p->h,
	    "display_width", p->dw, "display_height", p->dh,
	    "fps", round(p->fps * 1000) / 1000,
	    "rotation", p->rot,
	    "has_audio", as != NULL,
	    "vcodec", vcodec,
	    "acodec", as ? avcodec_get_name(as->codecpar->codec_id) : "",
	    "audio_rate", as ? as->codecpar->sample_rate : 0,
	    "audio_channels", as ? as->codecpar->ch_layout.nb_channels : 0,
	    "format", fc->iformat->name,
	    "ext", mediatype_source_ext(fc->iformat->name, vcodec),
	    "size", (json_int_t)size,
	    "bit_rate", (json_int_t)fc->bit_rate,
	    "streams", (int)fc->nb_streams);
}

enum probe_rc
probe_opened(AVFormatContext *fc, long long size, json_t **out, char *err,
    size_t errlen)
{
	struct probe_info p;
	enum probe_rc rc;

	*out = NULL;
	rc = probe_complete(fc, size, err, errlen);
	if (rc == PROBE_OK)
		rc = probe_measure(fc, &p, err, errlen);
	if (rc == PROBE_OK && (*out = probe_report(fc, &p, size)) == NULL) {
		seterr(err, errlen, "out of memory");
		rc = PROBE_ERROR;
	}
	return rc;
}

enum probe_rc
probe_file(const char *path, json_t **out, char *err, size_t errlen)
{
	AVFormatContext *fc = NULL;
	struct stat sb;
	enum probe_rc rc;

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
	/* No format named: the probe is where it is found, and recorded
	 * for every later stage to open the source with. */
	switch (media_open_input(&fc, path, NULL, err, errlen)) {
	case MEDIA_OPEN_OK:
		break;
	case MEDIA_OPEN_REJECT:
		return PROBE_REJECT;
	default:
		return PROBE_ERROR;
	}
	rc = probe_opened(fc, (long long)sb.st_size, out, err, errlen);
	avformat_close_input(&fc);
	return rc;
}

enum probe_rc
probe_check_length(const json_t *probe, const json_t *job, char *err,
    size_t errlen)
{
	const json_t *min = json_object_get(json_object_get(job, "options"),
	    "min_len");
	double d = json_number_value(json_object_get(probe, "duration"));
	char dur[32];

	if (!json_is_number(min) || d >= json_number_value(min))
		return PROBE_OK;
	if (d < 60)
		snprintf(dur, sizeof(dur), "%.2f s", d);
	else
		fmt_duration(dur, sizeof(dur), d);
	seterr(err, errlen, "The video lasts only %s, less than the shortest "
	    "clip asked for (%g s), so no clip can be cut from it%s", dur,
	    json_number_value(min), d < 1 ? " (it looks like a single picture "
	    "saved as a video)." : ".");
	return PROBE_REJECT;
}

const char *
probe_job_format(const json_t *job)
{
	return json_string_value(json_object_get(json_object_get(job,
	    "probe"), "format"));
}
