/*
 * The one way clipmill opens a source file with libavformat.  A source is
 * untrusted: some demuxers (HLS, DASH, concat, IMF, image sequences) read
 * further files or URLs that the file names, so that an upload could pull
 * another job's video into its own clips.  Every stage opens through here:
 * plain containers only, the local file only, a pixel budget for the
 * decoders, and one choice of streams for the probe and every decoder.
 */
#ifndef CLIPMILL_OPEN_INPUT_H
#define CLIPMILL_OPEN_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct AVFormatContext;
struct AVCodecContext;

enum media_open_rc {
	MEDIA_OPEN_OK = 0,
	MEDIA_OPEN_REJECT = 1,	/* not acceptable input: ERR says why */
	MEDIA_OPEN_ERROR = -1	/* could not read the file (I/O, memory) */
};

/*
 * Open PATH into *FC (close with avformat_close_input) with its stream
 * information read.  FORMAT is the demuxer name the probe recorded (its
 * first name counts: "mov,mp4,..." is "mov"); NULL or "" detects it.
 * Either way the demuxer must be one of the plain containers, and only
 * the file protocol is allowed.  Anything else is MEDIA_OPEN_REJECT with
 * a sentence for the user in ERR: a playlist or reference file, a still
 * image, an unknown or unaccepted format, an MP4 whose index (moov) is
 * missing or damaged, unreadable streams.
 */
enum media_open_rc media_open_input(struct AVFormatContext **fc,
	    const char *path, const char *format, char *err, size_t errlen);

/* 1 when F is the MP4/MOV demuxer (libavformat's "mov,mp4,..."). */
struct AVInputFormat;
int	media_format_is_mp4(const struct AVInputFormat *f);

/* The sentence for an MP4 WHAT ("whose index is missing"): incomplete or
 * damaged, most likely cut short, into ERR. */
void	media_mp4_damaged(char *err, size_t errlen, const char *what);

/* The same from memory: the source is read through PB (the caller's,
 * freed by the caller after avformat_close_input), its format detected
 * from its first bytes and held to the same list.  For the fuzz harness
 * (tests/fuzz/probe.c). */
struct AVIOContext;
enum media_open_rc media_open_io(struct AVFormatContext **fc,
	    struct AVIOContext *pb, char *err, size_t errlen);
/* Whether the demuxer called NAME (its first name) is a plain container
 * clipmill opens. */
int	media_format_allowed(const char *name);

/* The video stream the probe and every decoder use: the best one as
 * av_find_best_stream() ranks them, never a cover picture; -1 if none. */
int	media_video_stream(struct AVFormatContext *fc);

/* The audio stream that goes with media_video_stream(); -1 if none. */
int	media_audio_stream(struct AVFormatContext *fc);

/* The largest picture (in pixels) a decoder may allocate: the configured
 * size limit with room for the decoders' alignment. */
int64_t	media_max_pixels(void);

/* Give decoder C the pixel budget (before avcodec_open2). */
void	media_limit_decoder(struct AVCodecContext *c);

#endif
