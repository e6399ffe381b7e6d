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
 *   clips/{job}/{clip}-{token}.{ext} publish: the clip and its thumbnail
 *
 * A published key carries a random token (key_token: 128 bits, one per
 * file), so that a clip's address cannot be derived from another's, nor
 * the thumbnail's from the clip's, when the store serves them publicly
 * (s3_public_url, file_delivery = redirect).  Clips published before the
 * token was added keep their clips/{job}/{clip}.{ext} keys, which the rows
 * hold.
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
#define KEY_TOKEN_LEN	32	/* hex digits of a published key's token */

int	key_job_prefix(char *buf, size_t len, long long job);
int	key_job_upload(char *buf, size_t len, long long job, const char *ext);
int	key_job_source(char *buf, size_t len, long long job, const char *ext);
int	key_job_loudness(char *buf, size_t len, long long job);
int	key_job_transcript(char *buf, size_t len, long long job);
int	key_clip_crop(char *buf, size_t len, long long job, long long clip);
int	key_clip_render(char *buf, size_t len, long long job, long long clip,
	    const char *ext);
int	key_clips_prefix(char *buf, size_t len, long long job);
/* A new random token into TOK (KEY_TOKEN_LEN hex digits); 0, or -1 with
 * TOK empty when the system has no randomness to give. */
int	key_token(char tok[KEY_TOKEN_LEN + 1]);
int	key_clip_public(char *buf, size_t len, long long job, long long clip,
	    const char *token, const char *ext);

/*
 * Not a store key: the web front's address of a clip's file,
 * /clips/{clip}/video or /clips/{clip}/thumbnail, which checks that the
 * clip is the asker's and then serves it.  Events and the job's JSON hand
 * out these; they never expire.  0, or -1 with BUF empty.
 */
int	clip_route(char *buf, size_t len, long long clip, int thumb);

#endif
