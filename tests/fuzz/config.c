/*
 * The configuration file (lib/config.c config_parse), read from memory
 * through fmemopen(3) on top of the defaults, as config_load() reads it.
 */
#include <stdio.h>

#include "config.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_defaults();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	FILE *f;

	if (size == 0)
		return 0;
	if ((f = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	config_parse("fuzz.conf", f, err, sizeof(err));
	fclose(f);
	return 0;
}
