/* Opening an untrusted source file (open_input.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/mem.h>

#include "config.h"
#include "open_input.h"
#include "util.h"

/*
 * The demuxers clipmill opens, as libavformat's format_whitelist (a name
 * counts when any of a demuxer's names is here).  Each reads the one file
 * it is given and nothing else in FFmpeg 5.1 (mov's external data
 * references are off by default, and turned off below all the same).
 * Not here on purpose: hls, dash, webm_dash_manifest, concat, imf and the
 * image demuxers (image2 reads a numbered sequence of files), which name
 * or open further files or URLs; and everything else, unreviewed.
 */
#define MEDIA_FORMATS	"mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv," \
			"mpegts,mpeg,ogg,asf,wav,mp3,aac,flac"

/* Demuxers whose input is a list of other files, named in the refusal. */
static const char *const reference_formats[] = {
	"hls", "dash", "webm_dash_manifest", "concat", "imf", NULL
};

int
media_format_allowed(const char *name)
{
	return name != NULL && *name != '\0' &&
	    av_match_list(name, MEDIA_FORMATS, ',') > 0;
}

int64_t
media_max_pixels(void)
{
	/* Decoders check an aligned width (up to 64 more pixels) against
	 * the budget: a video at the limit must still decode. */
	return (int64_t)(cfg.max_width + 128) * (cfg.max_height + 128);
}

void
media_limit_decoder(AVCodecContext *c)
{
	c->max_pixels = media_max_pixels();
}

int
media_format_is_mp4(const AVInputFormat *f)
{
	return f != NULL && av_match_name("mov", f->name);
}

void
media_mp4_damaged(char *err, size_t errlen, const char *what)
{
	seterr(err, errlen, "The file looks like an MP4 %s: it is incomplete "
	    "or damaged (was the upload or download cut short?)", what);
}

/* The sentence for a demuxer that is not on the list; a rejection. */
static enum media_open_rc
refuse_format(const AVInputFormat *f, char *err, size_t errlen)
{
	const char *n = f->name;
	size_t i;

	for (i = 0; reference_formats[i] != NULL; i++)
		if (av_match_name(reference_formats[i], n)) {
			seterr(err, errlen, "The file is a playlist or "
			    "reference file (%s), not a video; only plain "
			    "video files are accepted.", reference_formats[i]);
			return MEDIA_OPEN_REJECT;
		}
	/* Single pictures come through the image demuxers (png_pipe,
	 * image2...). */
	if (strcmp(n, "image2") == 0 || strstr(n, "_pipe") != NULL) {
		seterr(err, errlen, "This is a still image, not a video.");
		return MEDIA_OPEN_REJECT;
	}
	seterr(err, errlen, "The file's format (%s) is not accepted; only "
	    "plain video files (MP4, MOV, Matroska, WebM, AVI, FLV, MPEG, "
	    "Ogg, WMV) are.", n);
	return MEDIA_OPEN_REJECT;
}

/* What PATH holds, from its first bytes, into *FMT (nothing is opened
 * but the file itself). */
static enum media_open_rc
detect_format(const char *path, const AVInputFormat **fmt, char *err,
    size_t errlen)
{
	AVIOContext *pb = NULL;
	AVDictionary *o = NULL;
	int e;

	av_dict_set(&o, "protocol_whitelist", "file", 0);
	e = avio_open2(&pb, path, AVIO_FLAG_READ, NULL, &o);
	av_dict_free(&o);
	if (e < 0) {
		seterr(err, errlen, "cannot open the media file: %s",
		    av_err2str(e));
		return MEDIA_OPEN_ERROR;
	}
	e = av_probe_input_buffer2(pb, fmt, path, NULL, 0, 0);
	avio_closep(&pb);
	if (e == AVERROR(ENOMEM) || e == AVERROR(EIO)) {
		seterr(err, errlen, "cannot read the media file: %s",
		    av_err2str(e));
		return MEDIA_OPEN_ERROR;
	}
	if (e < 0 || *fmt == NULL) {
		seterr(err, errlen, "This is not a video file: no known media "
		    "format was recognised in it.");
		return MEDIA_OPEN_REJECT;
	}
	return MEDIA_OPEN_OK;
}

/* The demuxer the probe recorded as FORMAT ("mov,mp4,..." is "mov"). */
static enum media_open_rc
named_format(const char *format, const AVInputFormat **fmt, char *err,
    size_t errlen)
{
	char name[64];
	size_t n = strcspn(format, ",");

	*fmt = NULL;
	if (n < sizeof(name)) {
		memcpy(name, format, n);
		name[n] = '\0';
		*fmt = av_find_input_format(name);
	}
	if (*fmt == NULL) {
		seterr(err, errlen, "This FFmpeg cannot read the source's "
		    "format (%s).", format);
		return MEDIA_OPEN_REJECT;
	}
	return MEDIA_OPEN_OK;
}

/* Read the stream information, each decoder held to the pixel budget. */
static int
find_stream_info(AVFormatContext *fc)
{
	AVDictionary **so = NULL;
	unsigned i, n = fc->nb_streams;
	int e;

	if (n > 0 && (so = calloc(n, sizeof(*so))) == NULL)
		return AVERROR(ENOMEM);
	for (i = 0; i < n; i++)
		av_dict_set_int(&so[i], "max_pixels", media_max_pixels(), 0);
	e = avformat_find_stream_info(fc, so);
	for (i = 0; i < n; i++)
		av_dict_free(&so[i]);
	free(so);
	return e;
}

/*
 * The largest single allocation FFmpeg may make for us (av_max_alloc;
 * its own default is INT_MAX).  A demuxer trusts sizes written in the
 * file: a WAV whose LIST chunk claims 4 GB had av_mallocz() zero 1.8 GB
 * for a 5 KB upload (found by the probe fuzzer, tests/fuzz/corpus/probe/
 * wav-list-huge).  A decoded 8K frame is under 200 MB; nothing we read
 * needs more than this in one piece, and such a file now fails to open.
 */
#define MEDIA_MAX_ALLOC	((size_t)256 << 20)

static pthread_once_t max_alloc_once = PTHREAD_ONCE_INIT;

static void
set_max_alloc(void)
{
	av_max_alloc(MEDIA_MAX_ALLOC);
}

/* Open the source (PATH, or PB when not NULL) as FMT, which must be on
 * the list, into *FC with its stream information read. */
static enum media_open_rc
open_as(AVFormatContext **fc, const char *path, AVIOContext *pb,
    const AVInputFormat *fmt, char *err, size_t errlen)
{
	AVDictionary *o = NULL;
	int e;

	pthread_once(&max_alloc_once, set_max_alloc);
	if (!media_format_allowed(fmt->name))
		return refuse_format(fmt, err, errlen);
	if (pb != NULL) {
		if ((*fc = avformat_alloc_context()) == NULL) {
			seterr(err, errlen, "out of memory");
			return MEDIA_OPEN_ERROR;
		}
		(*fc)->pb = pb;
		(*fc)->flags |= AVFMT_FLAG_CUSTOM_IO;
	}
	/* The whitelists again, for libavformat itself: they bind anything
	 * it would open on the demuxer's behalf. */
	av_dict_set(&o, "format_whitelist", MEDIA_FORMATS, 0);
	av_dict_set(&o, "protocol_whitelist", "file", 0);
	av_dict_set(&o, "enable_drefs", "0", 0);
	e = avformat_open_input(fc, path, fmt, &o);
	av_dict_free(&o);
	if (e == AVERROR(ENOMEM) || e == AVERROR(EIO)) {
		seterr(err, errlen, "cannot open the media file: %s",
		    av_err2str(e));
		return MEDIA_OPEN_ERROR;
	}
	if (e < 0) {
		/* An MP4 recognised by its first boxes whose index (moov)
		 * is absent or cut: a file that was not written to its end. */
		if (media_format_is_mp4(fmt))
			media_mp4_damaged(err, errlen, "whose index is missing");
		else
			seterr(err, errlen, "This is not a video file: no known "
			    "media format was recognised in it.");
		return MEDIA_OPEN_REJECT;
	}
	if ((e = find_stream_info(*fc)) < 0) {
		avformat_close_input(fc);
		if (e == AVERROR(ENOMEM)) {
			seterr(err, errlen, "out of memory");
			return MEDIA_OPEN_ERROR;
		}
		if (media_format_is_mp4(fmt))
			media_mp4_damaged(err, errlen, "whose index is damaged");
		else
			seterr(err, errlen, "This is not a readable video file: "
			    "its streams could not be decoded.");
		return MEDIA_OPEN_REJECT;
	}
	return MEDIA_OPEN_OK;
}

enum media_open_rc
media_open_input(AVFormatContext **fc, const char *path, const char *format,
    char *err, size_t errlen)
{
	const AVInputFormat *fmt = NULL;
	enum media_open_rc rc;

	*fc = NULL;
	rc = format != NULL && *format != '\0' ?
	    named_format(format, &fmt, err, errlen) :
	    detect_format(path, &fmt, err, errlen);
	if (rc != MEDIA_OPEN_OK)
		return rc;
	return open_as(fc, path, NULL, fmt, err, errlen);
}

enum media_open_rc
media_open_io(AVFormatContext **fc, AVIOContext *pb, char *err,
    size_t errlen)
{
	const AVInputFormat *fmt = NULL;
	int e;

	*fc = NULL;
	e = av_probe_input_buffer2(pb, &fmt, "", NULL, 0, 0);
	if (e == AVERROR(ENOMEM)) {
		seterr(err, errlen, "out of memory");
		return MEDIA_OPEN_ERROR;
	}
	if (e < 0 || fmt == NULL) {
		seterr(err, errlen, "This is not a video file: no known media "
		    "format was recognised in it.");
		return MEDIA_OPEN_REJECT;
	}
	return open_as(fc, "", pb, fmt, err, errlen);
}

int
media_video_stream(AVFormatContext *fc)
{
	int i = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	unsigned j;

	if (i < 0)
		return -1;
	if (!(fc->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
		return i;
	/* A cover picture ranked first (it may be the default stream): the
	 * first moving picture instead. */
	for (j = 0; j < fc->nb_streams; j++)
		if (fc->streams[j]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
		    !(fc->streams[j]->disposition & AV_DISPOSITION_ATTACHED_PIC))
			return (int)j;
	return -1;
}

int
media_audio_stream(AVFormatContext *fc)
{
	int i = av_find_best_stream(fc, AVMEDIA_TYPE_AUDIO, -1,
	    media_video_stream(fc), NULL, 0);

	return i < 0 ? -1 : i;
}
