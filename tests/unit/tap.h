/*
 * TAP-style reporting for every unit test program (tests/run.sh counts the
 * "ok" and "not ok" lines).  Include once per program; main() returns
 * tap_done().
 */
#ifndef CLIPMILL_TAP_H
#define CLIPMILL_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_fails;

/* Report one check named by FMT; a failure is counted for tap_done(). */
static void __attribute__((format(printf, 2, 3), unused))
ok(int good, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%s %d ", good ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!good)
		tap_fails++;
}

/* Report one check; DETAIL (may be NULL or empty) says what was seen. */
static void __attribute__((unused))
result(int good, const char *name, const char *detail)
{
	if (good || !detail || !*detail)
		ok(good, "%s", name);
	else
		ok(good, "%s: %s", name, detail);
}

/* Print the plan; the program's exit status. */
static int __attribute__((unused))
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_fails ? 1 : 0;
}

#endif
