/*
 * Audio for the transcriber: the source's sound decoded to 16 kHz mono
 * signed 16-bit PCM in a scratch file (streamed: memory does not grow with
 * the input's length), a loudness envelope, chunking at quiet points, and
 * FLAC encoding of a chunk for upload.
 */
#ifndef CLIPMILL_AUDIO_H
#define CLIPMILL_AUDIO_H

#include <stddef.h>

struct task_ctx;

#define AUDIO_RATE	16000
#define AUDIO_ENV_HZ	10		/* loudness values per second */
#define AUDIO_ENV_SAMPLES (AUDIO_RATE / AUDIO_ENV_HZ)
#define AUDIO_SILENT_DB	(-100.0f)	/* floor for digital silence */

enum audio_rc {
	AUDIO_OK = 0,
	AUDIO_NONE,		/* the file has no audio stream */
	AUDIO_ERROR,		/* cannot decode: ERR says why */
	AUDIO_CANCELLED
};

struct audio {
	long long	 samples;	/* in the PCM file */
	float		*dbfs;		/* RMS dBFS per 100 ms (malloc'd) */
	size_t		 ndbfs;
};

/*
 * Decode SRC's audio stream (the one the probe chose) into PCM_PATH (raw
 * s16le, 16 kHz, mono) and fill A (free with audio_free).  SRC is opened
 * as FORMAT, the demuxer the probe recorded (media_open_input()).
 * Progress is reported from PCT0 to PCT1 of the task; a cancel returns
 * AUDIO_CANCELLED.
 */
enum audio_rc audio_extract(struct task_ctx *, const char *src,
	    const char *format, const char *pcm_path, struct audio *a,
	    int pct0, int pct1, char *err, size_t errlen);
void	audio_free(struct audio *);

/* Write {"interval":0.1,"dbfs":[...]} to PATH; 0 or -1 with ERR. */
int	audio_write_loudness(const struct audio *, const char *path,
	    char *err, size_t errlen);

/*
 * Split N envelope frames into chunks of at most MAX_FRAMES, cutting each
 * at the quietest frame of the second half of the window.  Returns the
 * number of chunks and sets *BOUNDS (malloc'd, nchunks + 1 frame indexes,
 * first 0, last N), or -1 on ENOMEM.
 */
long	audio_split(const float *dbfs, size_t n, size_t max_frames,
	    size_t **bounds);

/* Read samples [FROM, FROM+COUNT) of the PCM file into a malloc'd array
 * (caller frees); NULL with ERR. */
short	*audio_read(const char *pcm_path, long long from, long long count,
	    char *err, size_t errlen);

/* Encode samples [FROM, FROM+COUNT) of the PCM file as FLAC into OUT;
 * 0 or -1 with ERR.  Reads and encodes in small blocks. */
int	audio_encode_flac(const char *pcm_path, long long from,
	    long long count, const char *out, char *err, size_t errlen);

#endif
