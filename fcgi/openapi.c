/*
 * GET /openapi.json: the OpenAPI 3.1 document of the JSON API, the bytes
 * of the repository's fcgi/openapi.json compiled into the program
 * (contrib/embed-file.sh), so the document served is always the one of
 * the build that serves it and no file path needs configuring.  Open to
 * everyone: it says nothing about any user.  Cached by clients for an
 * hour and revalidated by its ETag, the SHA-256 of the bytes.
 */
#include <stdio.h>
#include <string.h>

#include "extern.h"

extern const unsigned char openapi_doc[];
extern const size_t openapi_doc_len;
extern const char openapi_doc_etag[];

#define OPENAPI_CACHE	"Cache-Control: public, max-age=3600\r\n"

void
route_openapi(struct req *r)
{
	char h[256];

	r->json = 1;
	snprintf(h, sizeof(h), "ETag: %s\r\n" OPENAPI_CACHE, openapi_doc_etag);
	if (etag_match(param(r, "HTTP_IF_NONE_MATCH"), openapi_doc_etag)) {
		respond(r, 304, NULL, h, "", 0);
		return;
	}
	respond(r, 200, "application/json", h, (const char *)openapi_doc,
	    openapi_doc_len);
}
