/* TAP-style reporting shared by the s3 unit programs. */
#ifndef CLIPMILL_S3_TAP_H
#define CLIPMILL_S3_TAP_H

#include <stdio.h>

static int fails;

/* Print "ok NAME" or "not ok NAME"; failures are counted for main(). */
static void
check(int cond, const char *name)
{
	printf("%s %s\n", cond ? "ok" : "not ok", name);
	if (!cond)
		fails++;
}

#endif
