/*
 * A mutation fuzzer for the web front's parsers, run as a unit test: seed
 * inputs (valid and broken urlencoded, JSON, cookie, multipart bodies)
 * are mutated at random (bit flips, byte changes, cuts, splices,
 * repeated pieces) and fed to every parser, the multipart one in random
 * piece sizes.  Nothing is asserted about the answers; under
 * `make SANITIZE=1` any out-of-bounds access, leak or undefined behaviour
 * aborts it.  WEB_FUZZ_ITERS sets the rounds (default 20000), WEB_FUZZ_SEED
 * the seed, so a failure can be replayed.  The parsers are linked from
 * build/libfcgi_front.a.
 */
#define WEB_PARSERS_ONLY 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "mediatype.h"
#include "tap.h"

static const char *const seeds[] = {
	"url=https%3A%2F%2Fexample.com%2Fv&clips=3&aspects=9%3A16&aspects=1%3A1&captions=off&captions=on",
	"a=%zz&b=%4&c=+&d=%00&=x&&",
	"{\"url\":\"https://x/v\",\"clips\":3,\"aspects\":[\"9:16\",\"4:5\"],\"captions\":false,\"min_len\":2.5,\"x\":null}",
	"{\"a\":{\"b\":[1,{\"c\":[]}]},\"s\":\"\\u00e9\\ud83d\\ude00\"}",
	"a=1; cm_session=\"12.34.abcdef\"; b=2",
	"--XyZ\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\nhttps://x\r\n"
	    "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n"
	    "Content-Type: video/mp4\r\n\r\n\x00\x01\r\n--XyY\r\r\n--XyZ--\r\n",
	"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",
};
#define NSEEDS (sizeof(seeds) / sizeof(seeds[0]))

static unsigned long long rng;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (unsigned)(rng % n) : 0;
}

static size_t
mutate(char *b, size_t len, size_t cap)
{
	unsigned k, n = 1 + rnd(6);
	size_t at, l;

	while (n--) {
		switch (rnd(6)) {
		case 0:		/* flip a bit */
			if (len)
				b[rnd((unsigned)len)] ^= (char)(1 << rnd(8));
			break;
		case 1:		/* an interesting byte */
			if (len) {
				static const char bytes[] = "\r\n-\"%=&;\\{}[]:,\0\xff";
				b[rnd((unsigned)len)] = bytes[rnd(sizeof(bytes) - 1)];
			}
			break;
		case 2:		/* cut */
			if (len)
				len = rnd((unsigned)len + 1);
			break;
		case 3:		/* delete a piece */
			if (len > 1) {
				at = rnd((unsigned)len);
				l = rnd((unsigned)(len - at));
				memmove(b + at, b + at + l, len - at - l);
				len -= l;
			}
			break;
		case 4:		/* repeat a piece */
			if (len > 0 && len < cap / 2) {
				at = rnd((unsigned)len);
				l = 1 + rnd((unsigned)(len - at));
				for (k = 1 + rnd(50); k > 0 && len + l < cap; k--) {
					memmove(b + at + l, b + at, len - at);
					len += l;
				}
			}
			break;
		case 5:		/* splice in another seed */
			{
				const char *s = seeds[rnd(NSEEDS)];
				l = strlen(s);
				at = len ? rnd((unsigned)len) : 0;
				if (at + l < cap) {
					memcpy(b + at, s, l);
					if (at + l > len)
						len = at + l;
				}
			}
			break;
		}
	}
	return len;
}

static int
sink(void *arg, const struct mp_part *p, const char *d, size_t n, char *err,
    size_t errlen)
{
	size_t *total = arg;

	(void)p;
	if (d == NULL)
		return 0;
	*total += n;
	if (*total > 100000) {
		seterr(err, errlen, "too big");
		return -1;
	}
	return 0;
}

int
main(void)
{
	static const struct backends be = { 1, 1, 1, 3, 20, 60 };
	static char b[1 << 17];
	const char *e;
	long iters = 20000, i;
	struct form f = { .n = 0 };
	struct jobspec js;
	char err[256], field[64], out[256];
	size_t len, off, step, total;
	long long id;

	if ((e = getenv("WEB_FUZZ_ITERS")) != NULL)
		iters = strtol(e, NULL, 10);
	rng = (e = getenv("WEB_FUZZ_SEED")) != NULL ?
	    strtoull(e, NULL, 10) : (unsigned long long)time(NULL);
	if (rng == 0)
		rng = 1;
	printf("# seed %llu, %ld rounds\n", rng, iters);
	fflush(stdout);		/* for replaying after a sanitizer abort */
	for (i = 0; i < iters; i++) {
		const char *s = seeds[rnd(NSEEDS)];
		len = strlen(s);
		if (i < (long)NSEEDS)	/* each seed once as it is */
			s = seeds[i], len = strlen(s);
		memcpy(b, s, len);
		len = mutate(b, len, sizeof(b) - 1);
		b[len] = '\0';

		if (parse_urlencoded(b, len, &f, err, sizeof(err)) == 0)
			validate_job(&f, (int)rnd(2), &be, &js, field,
			    sizeof(field), err, sizeof(err));
		form_free(&f);
		if (parse_json_body(b, len, &f, err, sizeof(err)) == 0) {
			if (validate_job(&f, 0, &be, &js, field, sizeof(field),
			    err, sizeof(err)) == 0)
				json_decref(jobspec_options(&js));
		}
		form_free(&f);
		cookie_get(b, "cm_session", out, sizeof(out));
		multipart_boundary(b, out, sizeof(out), err, sizeof(err));
		path_match(b, "/jobs/%/events", &id);
		mediatype_upload_ext(b, out, 8, err, sizeof(err));
		{
			struct multipart m;
			memset(&m, 0, sizeof(m));
			total = 0;
			m.arg = &total;
			m.on_file = sink;
			if (mp_init(&m, "XyZ", &f, err, sizeof(err)) == 0) {
				for (off = 0; off < len; off += step) {
					step = 1 + rnd(64);
					if (step > len - off)
						step = len - off;
					if (mp_feed(&m, b + off, step, err,
					    sizeof(err)) == -1)
						break;
				}
				mp_finish(&m, err, sizeof(err));
			}
			mp_free(&m);
			form_free(&f);
		}
	}
	ok(1, "web parsers survive %ld fuzzed inputs", iters);
	return tap_done();
}
