/*
 * The answer of an OpenAI-compatible /audio/transcriptions endpoint
 * (batch/stages/transcribe/asr_openai.c asr_openai_parse: verbose_json
 * with words, segments or both), then the transcript's segments built from
 * the words it gave (transcribe.c), as the stage writes them; and the
 * first line as a Retry-After value (asr_retry_after).
 */
#include <jansson.h>

#include "stages/transcribe/asr.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asr_words w = { NULL, 0, 0 };
	json_t *segs;
	char err[256], *line;
	const char *nl;

	if (size > (1 << 20))
		return 0;
	/* a chunk at the start, and one 600 s later appended to it */
	if (asr_openai_parse((const char *)data, size, 0, &w, err,
	    sizeof(err)) == 0 &&
	    asr_openai_parse((const char *)data, size, 600, &w, err,
	    sizeof(err)) == 0) {
		if ((segs = transcript_segments(&w)) == NULL)
			abort();	/* only on ENOMEM */
		json_decref(segs);
	}
	asr_words_free(&w);
	nl = memchr(data, '\n', size);
	line = fuzz_str(data, nl != NULL ? (size_t)(nl - (const char *)data) :
	    size);
	asr_retry_after(line, 3600);
	free(line);
	return 0;
}
