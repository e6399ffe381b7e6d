/*
 * Media probing (libavformat) for the fetch stage: what a source file is
 * and whether clipmill accepts it.
 */
#ifndef CLIPMILL_PROBE_H
#define CLIPMILL_PROBE_H

#include <stddef.h>
#include <jansson.h>

enum probe_rc {
	PROBE_OK = 0,
	PROBE_REJECT = 1,	/* not acceptable input: ERR says why (permanent) */
	PROBE_ERROR = -1	/* could not read the file (I/O, memory) */
};

/*
 * Probe PATH.  On PROBE_OK *OUT is a new object {"duration","width",
 * "height","display_width","display_height","fps","rotation","has_audio",
 * "vcodec","acodec","audio_rate","audio_channels","format","ext","size",
 * "bit_rate","streams"}; the caller owns it.  "rotation" is the clockwise
 * turn (0, 90, 180, 270) a player gives the decoded picture, as ffmpeg's
 * autorotate does; display_width/height are the size after it.  "format"
 * is the demuxer found, with which every later stage opens the source
 * (media_open_input()).  Rejected (PROBE_REJECT, with a sentence in ERR):
 * zero bytes, not media, a playlist or reference file (HLS, DASH, concat)
 * or any format that is not a plain container (open_input.c), a still
 * image, an MP4 whose index is missing or names media past the end of
 * the file (cut short), no video stream, longer than cfg.max_duration,
 * larger than cfg.max_width x cfg.max_height (either orientation, after
 * rotation).
 */
enum probe_rc probe_file(const char *path, json_t **out, char *err,
	    size_t errlen);

/* Whether a source PROBE (probe_file's report) is long enough for JOB
 * (the task's job): PROBE_OK, or PROBE_REJECT with a sentence in ERR when
 * it lasts less than the shortest clip asked for (options.min_len; a job
 * without it is not checked).  A still picture in an MP4 lasts one frame. */
enum probe_rc probe_check_length(const json_t *probe, const json_t *job,
	    char *err, size_t errlen);

/* The same measures and report for FC, already opened (open_input.h) from
 * SIZE bytes; probe_file() ends with it, the fuzz harness
 * (tests/fuzz/probe.c) calls it on a source opened from memory. */
struct AVFormatContext;
enum probe_rc probe_opened(struct AVFormatContext *fc, long long size,
	    json_t **out, char *err, size_t errlen);

/* The demuxer name the probe recorded in JOB's "probe" object (the task's
 * job), or NULL for a job probed before it was recorded. */
const char *probe_job_format(const json_t *job);

/* The normalised clockwise rotation (0, 90, 180, 270) of a display matrix
 * angle as av_display_rotation_get() returns it (counter-clockwise). */
int	probe_norm_rotation(double ccw_degrees);

/* The clockwise turn (0, 90, 180, 270) a player gives ST's pictures: its
 * display matrix, else its "rotate" tag.  The frame and render stages
 * decode through the same answer (render_input.c). */
struct AVStream;
int	probe_stream_rotation(const struct AVStream *st);

#endif
