/*
 * The Cookie header (fcgi/parse.c cookie_get) as fcgi/auth.c reads it:
 * the session cookie, its id checked for form (lib/session.c
 * session_id_valid) before any query, and the login page's nonce, each
 * under its plain and its __Host- name.  The same bytes as an
 * If-None-Match header against a job's ETags (parse.c etag_match).
 */
#define WEB_PARSERS_ONLY 1
#include "extern.h"
#include "session.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "cm_session",
	    "__Host-cm_session" };
	char id[SESSION_ID_LEN + 1], nonce[33], *s;
	size_t i;

	s = fuzz_str(data, size);
	for (i = 0; i < 2; i++)
		if (cookie_get(s, names[i], id, sizeof(id)) == 0)
			session_id_valid(id);
	cookie_get(s, "cm_login", nonce, sizeof(nonce));
	cookie_get(s, "__Host-cm_login", nonce, sizeof(nonce));
	session_id_valid(s);
	etag_match(s, "W/\"j0123456789abcdef0123456789abcdef\"");
	etag_match(s, "\"h0\"");
	free(s);
	return 0;
}
