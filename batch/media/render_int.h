/*
 * What the parts of the clip renderer share (render.h is the public
 * interface): the queue between the producer thread and the encoder
 * thread (render_queue.c), the encoders and muxer (render_encode.c),
 * captions (render_captions.c), the thumbnail (render_thumb.c) and the
 * audio trim (render_audio.c); render_clip.c runs a clip through them.
 */
#ifndef CLIPMILL_RENDER_INT_H
#define CLIPMILL_RENDER_INT_H

#include <pthread.h>
#include <stddef.h>

#include <ass/ass.h>
#include <libavutil/pixdesc.h>
#include <libavutil/audio_fifo.h>
#include <libswresample/swresample.h>

#include "render.h"
#include "render_geom.h"

#define QUEUE_CAP	4	/* frames between the decoder and the encoder:
				   enough to ride out jitter; each is 3 MB */
#define SHARED_QUEUE_CAP 1	/* each, with several outputs: 6 MB
				   less for three than 2 each */
#define POOL_CAP	(QUEUE_CAP + 3)	/* output frames kept for reuse */

/* ERR gets "WHAT: " and FFmpeg's message for error E. */
void	averr(char *err, size_t errlen, const char *what, int e);

/* ---- the queue between the two threads (render_queue.c) ---- */

struct item {
	AVFrame	*f;		/* NULL: end of stream */
	int	 audio;
	int	 stop;		/* the render stopped: drop, do not encode */
};

struct fq {
	pthread_mutex_t	mu;
	pthread_cond_t	cv;
	struct item	it[QUEUE_CAP];
	int		head, n;
	int		cap;		/* frames queued at most: QUEUE_CAP for
					   one output, fewer for several, whose
					   frames add up (SHARED_QUEUE_CAP) */
	int		failed;		/* stopped: the encoder or the producer
					   gave up, or the render was cancelled */
	/* Output frames come back here once encoded: fresh 3 MB frames for
	 * every picture cost more in page faults than the scaling itself. */
	AVFrame		*pool[POOL_CAP];
	int		npool;
};

/* A video frame from the pool, or NULL when it is empty. */
AVFrame	*fq_take(struct fq *);
/* Give an encoded video frame back to the pool (freed when it is full). */
void	 fq_give(struct fq *, AVFrame *);
/* Queue F, or drop it once the render has stopped.  F NULL is the end of
 * the stream, which always gets through, so that the encoder loop ends. */
void	 fq_put(struct fq *, AVFrame *f, int audio);
int	 fq_failed(struct fq *);
/* The encoder gave up, or the render was cancelled: the producer stops
 * and what is queued is dropped. */
void	 fq_stop(struct fq *);
struct item fq_get(struct fq *);
/* A queue with its lock, empty, of at most CAP frames (1..QUEUE_CAP);
 * fq_destroy() when both threads are done. */
void	 fq_init(struct fq *, int cap);
void	 fq_destroy(struct fq *);

/* ---- the output side, encoder thread (render_encode.c) ---- */

struct out {
	AVFormatContext	*oc;
	AVCodecContext	*venc, *aenc;
	AVStream	*vst, *ast;
	AVPacket	*pkt;
	int64_t		 vdur;		/* one frame, in venc->time_base */
	struct fq	 q;
	int		 rc;		/* 0, or -1 with err */
	char		 err[256];
};

/* Encode and mux what the producer queues until its end item.  Progress
 * counts encoded pictures; 1 when the progress callback cancelled. */
int	encode_all(struct out *, const struct render_req *, long long expect);
int	open_video_enc(struct out *, const struct render_req *, AVRational tb,
	    AVRational fps, char *err, size_t errlen);
/* The MP4 writer for R->out_mp4 with its H.264 encoder (time base TB,
 * frame rate FPS) and, when DEC is not NULL, an AAC encoder for its
 * audio; nothing is written yet.  0 or -1 with ERR; out_close() frees
 * what was made either way. */
int	out_open(struct out *, const struct render_req *r,
	    const AVCodecContext *dec, AVRational tb, AVRational fps, char *err,
	    size_t errlen);
/* Create the file at PATH and write its header.  0 or -1 with ERR. */
int	out_start(struct out *, const char *path, char *err, size_t errlen);
void	out_close(struct out *);
/* AAC at the source's rate when AAC allows it, mono or stereo. */
int	open_audio_enc(struct out *, const AVCodecContext *dec, char *err,
	    size_t errlen);

/* ---- captions: libass images blended onto the YUV frame
 * (render_captions.c) ---- */

struct caps {
	ASS_Library	*lib;
	ASS_Renderer	*rend;
	ASS_Track	*track;
};

int	caps_open(struct caps *, const char *ass, int w, int h, char *err,
	    size_t errlen);
void	caps_close(struct caps *);
/* Blend libass's alpha bitmaps onto a limited-range BT.601 yuv420p frame. */
void	caps_blend(struct caps *, AVFrame *f, long long ms);

/* ---- the picture by the clip's layout (render_layout.c) ---- */

struct lay {
	struct render_geom g;
	const struct crop_path *pane[CROP_PANES];	/* the windows' paths */
	struct {
		int	ox, oy, w, h;	/* the part of the pane's window drawn:
					   all of it, or its middle when its
					   aspect is not the pane's */
	}		 win[CROP_PANES];
	struct crop_path centre;	/* the path of a centred track */
	int		 centred;	/* no usable framing: centred track */
	struct SwsContext *sws[CROP_PANES];	/* window to pane; fit: the
						   whole picture, in [0] */
	struct SwsContext *down, *up;	/* fit: to the small background and
					   back up to the output */
	AVFrame		*small;		/* fit: the background, small */
	uint8_t		*tmp;		/* fit: a line for the blur */
	const AVPixFmtDescriptor *desc;	/* of the decoded frames */
	int		 sfmt;		/* their format, -1 before the first */
};

/* The drawing of framing F (NULL: a centred track, as is a framing whose
 * panes were planned on another size than SRC_W x SRC_H) for request R.
 * 0, or -1 with ERR; lay_close() frees what was made either way. */
int	lay_open(struct lay *, const struct crop_frame *f, int src_w,
	    int src_h, const struct render_req *r, char *err, size_t errlen);
void	lay_close(struct lay *);
/* Scalers for decoded frames like F (made again when the format
 * changes; a change of size is an error).  0 or -1 with ERR. */
int	lay_scalers(struct lay *, const AVFrame *f, int src_w, int src_h,
	    char *err, size_t errlen);
/* Draw source frame SRC at clip time CT (seconds) into the yuv420p output
 * frame OF, every pixel of it.  0 or -1 (a scaler failed). */
int	lay_draw(struct lay *, const AVFrame *src, double ct, AVFrame *of);

/* ---- thumbnail (render_thumb.c) ---- */

int	write_thumb(const AVFrame *f, const char *path, char *err,
	    size_t errlen);

/* ---- audio trim (render_audio.c) ---- */

struct audio_trim {
	SwrContext	*swr;
	AVAudioFifo	*fifo;
	int64_t		 next_pts;	/* samples sent to the encoder */
	int64_t		 in_used;	/* source samples taken since T0 */
	int		 in_rate;
};

/* Take the part of decoded audio frame F that lies in [T0, T1). */
int	audio_take(struct out *, struct audio_trim *, const AVFrame *f,
	    double ft, double t0, double t1);
int	audio_finish(struct out *, struct audio_trim *);
/* The resampler from DEC's audio to O's AAC encoder, and its fifo.  0 or
 * -1 with ERR; audio_trim_close() frees what was made either way. */
int	audio_trim_open(struct audio_trim *, const struct out *o,
	    AVCodecContext *dec, char *err, size_t errlen);
void	audio_trim_close(struct audio_trim *);

#endif
