/*
 * The bounded buffer (lib/util.c): a table of append sequences against a
 * maximum, with what each append returns and what the buffer holds after.
 * Failure is sticky: once an append fails, every later one fails, the
 * contents stay as they were before the failure, and buf_failed() says so
 * until buf_reset().
 */
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "tap.h"

/* One step: append TEXT with buf_addstr() or buf_printf("%s"), or reset
 * the buffer; END (a zero step) ends the list. */
enum op { END, ADD, PRINTF, RESET };

struct step {
	enum op		 op;
	const char	*text;
	int		 rc;		/* what the append returns */
};

static const struct {
	const char	*name;
	size_t		 max;
	struct step	 steps[6];
	const char	*want;		/* contents at the end */
	int		 failed;	/* buf_failed() at the end */
} cases[] = {
	{ "parts within the maximum", 8,
	  { { ADD, "ab", 0 }, { PRINTF, "cd", 0 }, { ADD, "efgh", 0 } },
	  "abcdefgh", 0 },
	{ "a middle part too long fails the rest", 8,
	  { { ADD, "ab", 0 }, { ADD, "cdefghijk", -1 }, { ADD, "l", -1 },
	    { ADD, "}", -1 } },
	  "ab", 1 },
	{ "a printf too long fails the rest", 8,
	  { { ADD, "ab", 0 }, { PRINTF, "cdefghijk", -1 }, { ADD, "", -1 } },
	  "ab", 1 },
	{ "exactly the maximum, then one byte more", 4,
	  { { ADD, "abcd", 0 }, { ADD, "", 0 }, { ADD, "e", -1 },
	    { PRINTF, "", -1 } },
	  "abcd", 1 },
	{ "reset forgets the failure", 4,
	  { { ADD, "abc", 0 }, { ADD, "de", -1 }, { RESET, NULL, 0 },
	    { ADD, "xy", 0 }, { PRINTF, "z", 0 } },
	  "xyz", 0 },
	{ "no maximum", 0,
	  { { ADD, "ab", 0 }, { PRINTF, "cd", 0 } },
	  "abcd", 0 },
};

/* A printf longer than buf_printf's stack buffer takes the heap path. */
static void
long_printf(void)
{
	char big[2000];
	struct buf b;
	int rc;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 0);
	rc = buf_printf(&b, "<%s>", big);
	ok(rc == 0 && b.len == sizeof(big) + 1 && b.data[0] == '<' &&
	    b.data[b.len - 1] == '>', "a long printf is appended whole");
	buf_free(&b);

	buf_init(&b, 1000);
	rc = buf_printf(&b, "<%s>", big);
	ok(rc == -1 && b.len == 0 && buf_failed(&b) &&
	    buf_addstr(&b, "a") == -1,
	    "a long printf past the maximum fails, and so does the next append");
	buf_free(&b);
}

int
main(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		char why[128] = "";
		int rc;

		buf_init(&b, cases[i].max);
		for (k = 0; k < 6 && cases[i].steps[k].op != END; k++) {
			const struct step *s = &cases[i].steps[k];

			if (s->op == RESET) {
				buf_reset(&b);
				continue;
			}
			rc = s->op == PRINTF ? buf_printf(&b, "%s", s->text) :
			    buf_addstr(&b, s->text);
			if (rc != s->rc && *why == '\0')
				snprintf(why, sizeof(why), "step %zu returned %d",
				    k + 1, rc);
		}
		if (*why == '\0' && strcmp(b.data ? b.data : "",
		    cases[i].want) != 0)
			snprintf(why, sizeof(why), "holds \"%s\"", b.data);
		if (*why == '\0' && strlen(cases[i].want) != b.len)
			snprintf(why, sizeof(why), "len %zu", b.len);
		if (*why == '\0' && buf_failed(&b) != cases[i].failed)
			snprintf(why, sizeof(why), "failed is %d", buf_failed(&b));
		result(*why == '\0', cases[i].name, why);
		buf_free(&b);
	}
	long_printf();
	return tap_done();
}
