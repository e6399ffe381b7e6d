/*
 * Store keys: how every artifact of a job is named, in one place.  Stored
 * data, the web front, pruning and the tests depend on these spellings:
 *
 *   jobs/{job}/                     everything a job made on its way
 *   jobs/{job}/upload.{ext}         the user's upload, until fetch copies it
 *   jobs/{job}/source.{ext}         the fetched (or uploaded) source
 *   jobs/{job}/loudness.json        transcribe: the loudness envelope
 *   jobs/{job}/transcript.json      transcribe: the timed words
 *   jobs/{job}/crop/{clip}.json     frame: a clip's crop path
 *   jobs/{job}/render/{clip}.{ext}  render: mp4 and jpg, until published
 *   clips/{job}/                    what a job published
 *   clips/{job}/{clip}.{ext}        publish: the clip and its thumbnail
 *
 * Each builder writes the key into BUF (LEN bytes) and returns 0, or -1
 * when it does not fit or an argument is out of range (BUF is then the
 * empty string, never a truncated key).  The result is a valid key
 * (store_key_valid, or store_prefix_valid for the prefixes) whenever JOB
 * and CLIP are positive and EXT is a plain extension.
 */
#ifndef CLIPMILL_KEYS_H
#define CLIPMILL_KEYS_H

#include <stddef.h>

#define KEY_MAX	128	/* room for any key built here */

int	key_job_prefix(char *buf, size_t len, long long job);
int	key_job_upload(char *buf, size_t len, long long job, const char *ext);
int	key_job_source(char *buf, size_t len, long long job, const char *ext);
int	key_job_loudness(char *buf, size_t len, long long job);
int	key_job_transcript(char *buf, size_t len, long long job);
int	key_clip_crop(char *buf, size_t len, long long job, long long clip);
int	key_clip_render(char *buf, size_t len, long long job, long long clip,
	    const char *ext);
int	key_clips_prefix(char *buf, size_t len, long long job);
int	key_clip_public(char *buf, size_t len, long long job, long long clip,
	    const char *ext);

#endif
