/*
 * What the libFuzzer harnesses in this folder share (FUZZING.md).  Each
 * harness is one file with LLVMFuzzerTestOneInput(), built by
 * `make fuzz-build` against the clang + ASan + UBSan tree in build/fuzz.
 */
#ifndef CLIPMILL_FUZZ_H
#define CLIPMILL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/* DATA as a NUL-terminated string (a copy, to free; it ends at the first
 * NUL the data holds, as a C parser sees it). */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A small deterministic generator, seeded from the input, for the sizes
 * of the pieces a streaming parser is fed. */
static inline unsigned
fuzz_rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Every option at its default (an empty file), for a harness whose
 * parser reads cfg. */
static inline void
fuzz_defaults(void)
{
	char err[256];

	if (config_load("/dev/null", err, sizeof(err)) == -1)
		abort();
}

#endif
