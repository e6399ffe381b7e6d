/*
 * The answer of an OpenAI-compatible chat model to the clip request
 * (batch/stages/select/llm.c select_llm_parse): a chat completion whose
 * message content is the JSON with the clips, each checked and snapped to
 * the words of a fixed two-minute transcript.
 */
#include <stdio.h>

#include "config.h"
#include "stages/select/select.h"
#include "fuzz.h"

#define NW	240		/* a word every half second */

static struct word	words[NW];
static struct segment	segs[NW / 10];
static struct transcript t;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char text[NW][16], stext[NW / 10][200];
	size_t i;

	(void)argc;
	(void)argv;
	fuzz_defaults();
	for (i = 0; i < NW; i++) {
		snprintf(text[i], sizeof(text[i]), "%s%zu", i % 7 ? "word" :
		    "Why", i);
		words[i].start = i * 0.5;
		words[i].end = i * 0.5 + 0.4;
		words[i].conf = 0.9;
		words[i].text = text[i];
		words[i].sent_end = i % 10 == 9;
	}
	for (i = 0; i < NW / 10; i++) {
		snprintf(stext[i], sizeof(stext[i]), "Sentence number %zu, "
		    "with ten words in it, more or less.", i);
		segs[i].start = i * 5.0;
		segs[i].end = i * 5.0 + 4.9;
		segs[i].w0 = i * 10;
		segs[i].w1 = i * 10 + 10;
		segs[i].text = stext[i];
	}
	t.duration = NW * 0.5;
	t.w = words;
	t.nw = NW;
	t.seg = segs;
	t.nseg = NW / 10;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct select_req rq = { 3, 10, 60, NW * 0.5 };
	static struct pick c[256];
	char err[256];
	size_t nc = 0, i;

	if (size > (1 << 20))
		return 0;
	if (select_llm_parse((const char *)data, size, &t, &rq, c, &nc, err,
	    sizeof(err)) == 0)
		for (i = 0; i < nc; i++)
			if (c[i].start < 0 || c[i].end > t.duration ||
			    c[i].end - c[i].start < rq.min_len ||
			    c[i].end - c[i].start > rq.max_len)
				abort();	/* a pick the checks let through */
	return 0;
}
