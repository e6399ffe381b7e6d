/*
 * Media containers as the fetch stage probes them
 * (batch/media/open_input.c and probe.c), from memory: an AVIOContext
 * over the input stands for the file, the format is detected from its
 * first bytes and held to the list of plain containers, the stream
 * information is read with the decoders' pixel budget, and the probe's
 * measures and report are made.
 */
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>

#include "config.h"
#include "media/open_input.h"
#include "media/probe.h"
#include "fuzz.h"

struct mem {
	const uint8_t	*p;
	size_t		 n, at;
};

static int
mem_read(void *arg, uint8_t *buf, int len)
{
	struct mem *m = arg;
	size_t left = m->n - m->at;

	if (left == 0)
		return AVERROR_EOF;
	if ((size_t)len > left)
		len = (int)left;
	memcpy(buf, m->p + m->at, (size_t)len);
	m->at += (size_t)len;
	return len;
}

static int64_t
mem_seek(void *arg, int64_t off, int whence)
{
	struct mem *m = arg;
	int64_t to;

	switch (whence & ~AVSEEK_FORCE) {
	case AVSEEK_SIZE:
		return (int64_t)m->n;
	case SEEK_SET:
		to = off;
		break;
	case SEEK_CUR:
		to = (int64_t)m->at + off;
		break;
	case SEEK_END:
		to = (int64_t)m->n + off;
		break;
	default:
		return -1;
	}
	if (to < 0 || to > (int64_t)m->n)
		return -1;
	m->at = (size_t)to;
	return to;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_defaults();
	av_log_set_level(AV_LOG_QUIET);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = { data, size, 0 };
	AVFormatContext *fc = NULL;
	AVIOContext *pb;
	unsigned char *iobuf;
	json_t *out = NULL;
	char err[512];

	if (size == 0 || size > (1 << 20))
		return 0;
	if ((iobuf = av_malloc(4096)) == NULL)
		abort();
	if ((pb = avio_alloc_context(iobuf, 4096, 0, &m, mem_read, NULL,
	    mem_seek)) == NULL)
		abort();
	if (media_open_io(&fc, pb, err, sizeof(err)) == MEDIA_OPEN_OK) {
		probe_opened(fc, (long long)size, &out, err, sizeof(err));
		json_decref(out);
		avformat_close_input(&fc);
	}
	av_freep(&pb->buffer);
	avio_context_free(&pb);
	return 0;
}
