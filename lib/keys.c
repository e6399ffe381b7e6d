/*
 * Store keys (keys.h): the one spelling of every artifact's name.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"

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

int
key_clip_public(char *buf, size_t len, long long job, long long clip,
    const char *ext)
{
	return build(buf, len, job > 0 && clip > 0 && ext_ok(ext),
	    "clips/%lld/%lld.%s", job, clip, ext);
}
