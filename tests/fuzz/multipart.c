/*
 * Multipart uploads (fcgi/parse.c): the first line is the Content-Type
 * header (multipart_boundary; "XyZ" when it has none usable), the rest
 * the body, fed to the streaming parser in pieces of 1 to 64 bytes whose
 * sizes come from the first byte; file parts' names go through
 * mediatype_upload_ext() as the upload route does.
 */
#define WEB_PARSERS_ONLY 1
#include "extern.h"
#include "mediatype.h"
#include "fuzz.h"

static int
on_file(void *arg, const struct mp_part *p, const char *d, size_t n,
    char *err, size_t errlen)
{
	size_t *total = arg;
	char ext[8];

	if (d == NULL) {
		mediatype_upload_ext(p->filename, ext, sizeof(ext), err,
		    errlen);
		return 0;
	}
	if (n == 0 || d[0] == 0x7f) {
		seterr(err, errlen, "the callback stops here");
		return -1;
	}
	*total += n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct multipart m;
	struct form f = { .n = 0 };
	char err[256], boundary[80], *ct;
	const char *body, *nl;
	size_t total = 0, off, step, blen;
	uint32_t seed;

	if (size < 1 || size > (1 << 16))
		return 0;
	seed = 0x9e3779b9u ^ data[0];
	data++, size--;
	nl = memchr(data, '\n', size);
	ct = fuzz_str(data, nl != NULL ? (size_t)(nl - (const char *)data) : 0);
	body = nl != NULL ? nl + 1 : (const char *)data;
	blen = size - (size_t)(body - (const char *)data);
	if (multipart_boundary(ct, boundary, sizeof(boundary), err,
	    sizeof(err)) == -1)
		snprintf(boundary, sizeof(boundary), "XyZ");
	free(ct);
	memset(&m, 0, sizeof(m));
	m.arg = &total;
	m.on_file = on_file;
	if (mp_init(&m, boundary, &f, err, sizeof(err)) == 0) {
		for (off = 0; off < blen; off += step) {
			step = 1 + fuzz_rnd(&seed) % 64;
			if (step > blen - off)
				step = blen - off;
			if (mp_feed(&m, body + off, step, err, sizeof(err)) == -1)
				break;
		}
		if (off >= blen)
			mp_finish(&m, err, sizeof(err));
	}
	mp_free(&m);
	form_free(&f);
	return 0;
}
