/*
 * The messages an isolated stage's child sends its runner, one JSON
 * object a line (batch/runner/child.c child_feed): progress, events and
 * the result, fed in pieces as the pipe delivers them.  There is no
 * database: an event's write fails as it does when the connection is
 * lost, after the event's data has been read.
 */
#include "config.h"
#include "log.h"
#include "runner/runner.h"
#include "util.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_defaults();
	log_init("error", NULL);	/* no warning per bad line */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct runner r;
	struct task t;
	struct outcome out;
	struct buf in;
	size_t off, step;
	uint32_t seed = 0x2545f491u ^ (uint32_t)size;

	if (size > (1 << 18))
		return 0;
	memset(&r, 0, sizeof(r));
	memset(&t, 0, sizeof(t));
	memset(&out, 0, sizeof(out));
	t.id = 7;
	t.job_id = 3;
	t.clip_id = size & 1;
	snprintf(t.stage, sizeof(t.stage), "render");
	buf_init(&in, 256 * 1024);
	for (off = 0; off < size; off += step) {
		step = 1 + fuzz_rnd(&seed) % 4096;
		if (step > size - off)
			step = size - off;
		if (buf_add(&in, (const char *)data + off, step) == -1)
			break;
		child_feed(&r, &t, &in, &out);
	}
	json_decref(out.result);
	buf_free(&in);
	return 0;
}
