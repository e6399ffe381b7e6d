/*
 * The request head yt-dlp sends to the fetch proxy
 * (batch/stages/fetch/proxy.c fetch_proxy_parse): CONNECT or an absolute
 * http:// URL, the proxy credentials, the head rewritten for the site.
 */
#include "stages/fetch/fetch.h"
#include "util.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_req r;
	struct buf out;
	char *h;
	int st;

	if (size > 16384)
		return 0;
	/* not NUL-terminated: the parser gets LEN bytes */
	if ((h = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(h, data, size);
	buf_init(&out, 4096);
	memset(&r, 0, sizeof(r));
	st = fetch_proxy_parse(h, size, "Basic c2VjcmV0", &r, &out);
	if (st != 0 && st != 400 && st != 407 && st != 431 && st != 501)
		abort();	/* an answer the proxy does not give */
	if (st == 0 && (r.host[0] == '\0' || r.port < 1 || r.port > 65535 ||
	    (!r.tunnel && (out.len < 4 ||
	    memcmp(out.data + out.len - 4, "\r\n\r\n", 4) != 0))))
		abort();	/* accepted, but not a usable request */
	buf_free(&out);
	free(h);
	return 0;
}
