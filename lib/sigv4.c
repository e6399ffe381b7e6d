/* AWS Signature Version 4 for presigned URLs (see sigv4.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4.h"
#include "util.h"

int
sigv4_uri_encode(struct buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char pct[3];

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
			if (buf_add(b, p, 1) == -1)
				return -1;
			continue;
		}
		pct[0] = '%';
		pct[1] = hex[*p >> 4];
		pct[2] = hex[*p & 15];
		if (buf_add(b, pct, 3) == -1)
			return -1;
	}
	/* an empty string still leaves a terminated buffer */
	return buf_add(b, "", 0);
}

void
sigv4_timestamp(time_t t, char out[17])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		out[0] = '\0';
}

static int
hmac(const void *key, size_t keylen, const char *data, unsigned char out[32])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data,
	    strlen(data), out, &n) == NULL || n != 32)
		return -1;
	return 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
 * service), "aws4_request") */
static int
signing_key(const char *secret, const char *date8, const char *region,
    const char *service, unsigned char out[32])
{
	char k0[256];
	unsigned char k1[32], k2[32], k3[32];

	if (xsnprintf(k0, sizeof(k0), "AWS4%s", secret) == -1)
		return -1;
	return hmac(k0, strlen(k0), date8, k1) == -1 ||
	    hmac(k1, 32, region, k2) == -1 ||
	    hmac(k2, 32, service, k3) == -1 ||
	    hmac(k3, 32, "aws4_request", out) == -1 ? -1 : 0;
}

char *
sigv4_presign_query(const char *method, const char *host, const char *path,
    const char *region, const char *service, const char *access_key,
    const char *secret_key, const char *amzdate, long long expires,
    char *err, size_t errlen)
{
	struct buf q, cr, sts, cred;
	char date8[9], crhash[65], sig[65];
	unsigned char key[32], mac[32];
	char *out = NULL;
	int i;

	buf_init(&q, 8192);
	buf_init(&cr, 16384);
	buf_init(&sts, 4096);
	buf_init(&cred, 1024);
	if (strlen(amzdate) != 16 || expires < 1 || expires > 604800) {
		seterr(err, errlen, "a presigned URL needs a valid date and an "
		    "expiry of 1 second to 7 days");
		goto out;
	}
	memcpy(date8, amzdate, 8);
	date8[8] = '\0';
	if (buf_printf(&cred, "%s/%s/%s/%s/aws4_request", access_key, date8,
	    region, service) == -1)
		goto full;
	/* The canonical query: every parameter but the signature, sorted by
	 * name (the order written here), names and values encoded. */
	if (buf_addstr(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=")
	    == -1 || sigv4_uri_encode(&q, cred.data, 0) == -1 ||
	    buf_printf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%lld"
	    "&X-Amz-SignedHeaders=host", amzdate, expires) == -1)
		goto full;
	if (buf_printf(&cr, "%s\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD",
	    method, path, q.data, host) == -1)
		goto full;
	sha256_hex(cr.data, cr.len, crhash);
	if (buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
	    amzdate, date8, region, service, crhash) == -1)
		goto full;
	if (signing_key(secret_key, date8, region, service, key) == -1 ||
	    hmac(key, 32, sts.data, mac) == -1) {
		seterr(err, errlen, "cannot compute the URL's signature");
		goto out;
	}
	for (i = 0; i < 32; i++)
		snprintf(sig + 2 * i, 3, "%02x", mac[i]);
	if (buf_printf(&q, "&X-Amz-Signature=%s", sig) == -1)
		goto full;
	out = q.data;	/* the buffer becomes the caller's string */
	q.data = NULL;
	goto out;
full:
	seterr(err, errlen, "a presigned URL would be too long");
out:
	OPENSSL_cleanse(key, sizeof(key));
	buf_free(&q);
	buf_free(&cr);
	buf_free(&sts);
	buf_free(&cred);
	return out;
}
