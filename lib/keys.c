/*
 * Store keys (keys.h): the one spelling of every artifact's name.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "util.h"

/* An extension is 1..15 letters and digits: nothing that could step out
 * of the key's folder or end in a dot. */
static int
ext_ok(const char *ext)
{
	size_t i;

	if (ext == NULL || ext[0] == '\0' || strlen(ext) > 15)
		return 0;
	for (i = 0; ext[i] != '\0'; i++)
		if (!((ext[i] >= 'a' && ext[i] <= 'z') ||
		    (ext[i] >= 'A' && ext[i] <= 'Z') ||
		    (ext[i] >= '0' && ext[i] <= '9')))
			return 0;
	return 1;
}

/* Format into BUF when GOOD; 0, or -1 with BUF empty. */
static int __attribute__((format(printf, 4, 5)))
build(char *buf, size_t len, int good, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (!good)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

int
key_job_prefix(char *buf, size_t len, long long job)
{
	return build(buf, len, job > 0, "jobs/%lld/", job);
}

int
key_job_upload(char *buf, size_t len, long long job, const char *ext)
{
	return build(buf, len, job > 0 && ext_ok(ext), "jobs/%lld/upload.%s",
	    job, ext);
}

int
key_job_source(char *buf, size_t len, long long job, const char *ext)
{
	return build(buf, len, job > 0 && ext_ok(ext), "jobs/%lld/source.%s",
	    job, ext);
}

int
key_job_loudness(char *buf, size_t len, long long job)
{
	return build(buf, len, job > 0, "jobs/%lld/loudness.json", job);
}

int
key_job_transcript(char *buf, size_t len, long long job)
{
	return build(buf, len, job > 0, "jobs/%lld/transcript.json", job);
}

int
key_clip_crop(char *buf, size_t len, long long job, long long clip)
{
	return build(buf, len, job > 0 && clip > 0, "jobs/%lld/crop/%lld.json",
	    job, clip);
}

int
key_clip_render(char *buf, size_t len, long long job, long long clip,
    const char *ext)
{
	return build(buf, len, job > 0 && clip > 0 && ext_ok(ext),
	    "jobs/%lld/render/%lld.%s", job, clip, ext);
}

int
key_clips_prefix(char *buf, size_t len, long long job)
{
	return build(buf, len, job > 0, "clips/%lld/", job);
}

/* A token is exactly KEY_TOKEN_LEN lower-case hex digits. */
static int
token_ok(const char *tok)
{
	size_t i;

	if (tok == NULL || strlen(tok) != KEY_TOKEN_LEN)
		return 0;
	for (i = 0; tok[i] != '\0'; i++)
		if (!((tok[i] >= '0' && tok[i] <= '9') ||
		    (tok[i] >= 'a' && tok[i] <= 'f')))
			return 0;
	return 1;
}

int
key_token(char tok[KEY_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[KEY_TOKEN_LEN / 2];
	size_t i;

	tok[0] = '\0';
	if (random_bytes(r, sizeof(r)) == -1)
		return -1;
	for (i = 0; i < sizeof(r); i++) {
		tok[2 * i] = hex[r[i] >> 4];
		tok[2 * i + 1] = hex[r[i] & 0xf];
	}
	tok[KEY_TOKEN_LEN] = '\0';
	return 0;
}

int
key_clip_public(char *buf, size_t len, long long job, long long clip,
    const char *token, const char *ext)
{
	return build(buf, len, job > 0 && clip > 0 && token_ok(token) &&
	    ext_ok(ext), "clips/%lld/%lld-%s.%s", job, clip, token, ext);
}

int
clip_route(char *buf, size_t len, long long clip, int thumb)
{
	return build(buf, len, clip > 0, "/clips/%lld/%s", clip,
	    thumb ? "thumbnail" : "video");
}
