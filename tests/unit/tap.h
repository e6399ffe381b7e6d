/*
 * TAP-style reporting for the unit test programs (tests/run.sh counts the
 * "ok" and "not ok" lines): include once per program.
 */
#ifndef CLIPMILL_TAP_H
#define CLIPMILL_TAP_H

#include <stdio.h>

static int tap_n, tap_fails;

/* Report one check; DETAIL (may be NULL or empty) says what was seen. */
static void
result(int good, const char *name, const char *detail)
{
	tap_n++;
	if (good)
		printf("ok %d %s\n", tap_n, name);
	else {
		printf("not ok %d %s%s%s\n", tap_n, name,
		    detail && *detail ? ": " : "", detail ? detail : "");
		tap_fails++;
	}
}

/* Print the plan; the program's exit status. */
static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_fails ? 1 : 0;
}

#endif
