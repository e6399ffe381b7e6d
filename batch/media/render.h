/*
 * Media in and out for the frame and render stages: a demuxer with its
 * decoders (render_input.c), and the clip renderer (render_clip.c) that
 * decodes from the keyframe before a clip, draws each frame by the clip's
 * layout (track, split or fit, render_layout.c), burns captions with
 * libass, and encodes H.264 + AAC into MP4 while a second thread decodes;
 * several outputs of one clip (aspects) share that one decode.
 */
#ifndef CLIPMILL_RENDER_H
#define CLIPMILL_RENDER_H

#include <stddef.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "crop.h"
#include "store.h"

struct SwsContext;

struct media_in {
	AVFormatContext	*fmt;
	AVCodecContext	*vdec, *adec;
	int		 vidx, aidx;	/* stream indexes, -1 when absent */
	AVPacket	*pkt;
	AVFrame		*frame;		/* the frame media_next() returns */
	/* Pictures come out upright: a source with rotation metadata (a phone
	 * held upright) is turned as a player would turn it, so everything
	 * downstream works in display orientation and size. */
	int		 rotation;	/* clockwise turn applied: 0, 90, 180, 270 */
	int		 width, height;	/* video size after the turn */
	AVFrame		*raw;		/* decoded picture before the turn */
	AVFrame		*turned;	/* the turned picture, reused */
	AVFrame		*conv;		/* RAW in yuv420p, when its format
					   cannot be turned as it is */
	struct SwsContext *rot_sws;	/* for CONV */
	int		 threads;
	double		 origin;	/* the file's start time, seconds */
	int		 draining;	/* packets exhausted, flushing decoders */
	int		 vdone, adone;	/* decoder fully drained */
	double		 skip_before;	/* frames shown before this time (s) are
					   not needed: skip non-reference ones */
};

/* Open PATH as FORMAT (the demuxer the probe recorded; NULL: found again,
 * through media_open_input() all the same) with the probe's video stream
 * and (WANT_AUDIO) audio stream; THREADS for the video decoder (0:
 * automatic).  0 or -1 + ERR.  m->width and m->height are the displayed
 * size (after rotation). */
int	media_open(struct media_in *, const char *path, const char *format,
	    int want_audio, int threads, char *err, size_t errlen);
void	media_close(struct media_in *);

/* Seek to the keyframe at or before T seconds and reset the decoders. */
int	media_seek(struct media_in *, double t, char *err, size_t errlen);

/* Decode the next frame into m->frame (valid until the next call; video
 * turned upright, m->width x m->height): 0 and *KIND set, 1 at the end of
 * the file, -1 with ERR. */
int	media_next(struct media_in *, enum AVMediaType *kind, char *err,
	    size_t errlen);

/* A decoded frame's time in seconds from the start of the file. */
double	media_frame_time(const struct media_in *, enum AVMediaType kind,
	    const AVFrame *);

/* Frames per second of the video stream (25 when the file does not say). */
double	media_fps(const struct media_in *);

/* F as a W x H grey picture in DST (W bytes a row), area-averaged.  *SWS
 * is kept from call to call (NULL at first; sws_freeContext() it after)
 * and made again when F's size or format changes.  0 or -1. */
int	media_grey(struct SwsContext **sws, const AVFrame *f, uint8_t *dst,
	    int w, int h);

/* Returns 1 when the render must stop (the job was cancelled). */
typedef int (*render_progress_fn)(void *arg, int pct);

enum render_rc { RENDER_OK = 0, RENDER_ERR = -1, RENDER_CANCELLED = 1 };

struct render_res;

/* An output of render_clips() is written (RES->rc RENDER_OK) or failed
 * on its own (RENDER_ERR, RES->err a sentence). */
typedef void (*render_finished_fn)(void *arg, const struct render_res *res);

#define RENDER_MAX_OUT	8	/* outputs of one decode */

/*
 * The x264 options of each output when several are encoded at once
 * (unless its request names its own).  Their encoders run side by side,
 * and libx264's own frames are most of the memory: at 1080x1920 each
 * picture it holds is 6 MB waiting in its lookahead and 10 MB as a
 * reference, and veryfast holds 13 and 5.  A lookahead of 5 pictures
 * instead of the preset's 10, B-frames that are not references (which
 * keeps 3 references instead of 5) and constant-rate input (one picture
 * less waiting: the output is constant-rate anyway) bring three aspects
 * (9:16, 1:1, 4:5) from 449 to under 300 MB (contrib/bench/render -a,
 * whose ffmpeg runs get the same options).  Presets without
 * macroblock-tree (ultrafast, superfast) have no lookahead to shorten.
 */
#define RENDER_SHARED_X264	"rc-lookahead=5:b-pyramid=none:force-cfr=1"

struct render_req {
	const char	*src;		/* source media file */
	const char	*src_format;	/* its demuxer, as the probe found */
	double		 start, end;	/* the clip, seconds in the source */
	const struct crop_frame *frame;	/* the layout and its windows;
					   NULL: a centred track */
	int		 aspect_w, aspect_h;
	int		 out_w, out_h;	/* 1080x1920, 1080x1080, 1080x1350 */
	const char	*ass;		/* ASS captions in clip time, or NULL */
	const char	*preset;	/* x264 */
	int		 crf;
	const char	*x264_params;	/* x264 options over the preset,
					   "key=value:...", or NULL;
					   render_clips() gives several
					   outputs RENDER_SHARED_X264 */
	int		 threads;	/* 0: automatic */
	const char	*out_mp4;
	const char	*out_jpg;
	render_progress_fn progress;
	void		*progress_arg;
	render_finished_fn finished;	/* render_clips(): may be NULL */
	void		*finished_arg;
};

struct render_res {
	enum render_rc	rc;	/* render_clips(): this output's end */
	char	err[256];	/* why it failed, a sentence */
	int	width, height;
	double	duration;	/* seconds of video written */
	long long frames;
	int	has_audio;
	enum crop_layout layout;	/* the layout drawn */
	int	centred;	/* the framing did not fit the source: a
				   centred track was drawn instead */
	int	captions_failed;	/* ASS given but libass refused it */
	char	captions_err[256];
};

/* Render one clip; RES is filled.  ERR gets a sentence on RENDER_ERR. */
enum render_rc render_clip(const struct render_req *, struct render_res *,
	    char *err, size_t errlen);

/*
 * Render N (1..RENDER_MAX_OUT) outputs of one clip from one decode: the
 * requests name the same source, start and end; each has its own size,
 * framing, captions, files and callbacks, and its own encoder thread.
 * An output that fails on its own (its encoder, its file) ends with
 * RES[i].rc RENDER_ERR and leaves the others going; each output's
 * finished callback runs as soon as it is written or has failed, from
 * the calling thread.  Progress and finished callbacks never run at the
 * same time as each other.  Returns RENDER_OK once every output has
 * ended (each with its own RES[i].rc), RENDER_CANCELLED when a progress
 * callback asked to stop, RENDER_ERR with ERR when the source failed
 * every output not yet finished (their finished callbacks are not
 * called).
 */
enum render_rc render_clips(const struct render_req *, int n,
	    struct render_res *, char *err, size_t errlen);

/* The output size for an aspect "W:H": 1080 wide, height by the aspect,
 * even.  0 or -1 for an unknown aspect. */
int	render_size(const char *aspect, int *w, int *h);

#endif
