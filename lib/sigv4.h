/*
 * The parts of AWS Signature Version 4 that clipmill computes itself:
 * URI encoding, the signing key, and presigned (query-signed) URLs.
 * Request headers are signed by libcurl (CURLOPT_AWS_SIGV4); presigned URLs
 * are not something libcurl makes, so they are signed here with OpenSSL.
 */
#ifndef CLIPMILL_SIGV4_H
#define CLIPMILL_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "util.h"

/* Append S to B percent-encoded as SigV4 wants (RFC 3986 unreserved
 * characters kept; '/' kept when KEEP_SLASH).  0 or -1 (buffer full). */
int	sigv4_uri_encode(struct buf *b, const char *s, int keep_slash);

/* Format T as SigV4's timestamp, "YYYYMMDDTHHMMSSZ", into OUT[17]. */
void	sigv4_timestamp(time_t t, char out[17]);

/*
 * The query string of a presigned request (X-Amz-Algorithm ... &
 * X-Amz-Signature=...), signing only the host header with an unsigned
 * payload, as S3 expects of presigned GETs.  HOST is the Host header
 * (with ":port" when not the scheme's default), PATH the canonical,
 * already encoded path, AMZDATE a sigv4_timestamp().  Returns allocated
 * text (caller frees) or NULL with ERR.
 */
char	*sigv4_presign_query(const char *method, const char *host,
	    const char *path, const char *region, const char *service,
	    const char *access_key, const char *secret_key,
	    const char *amzdate, long long expires, char *err, size_t errlen);

#endif
