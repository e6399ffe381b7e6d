/*
 * Webhooks: URL checks, secrets, signatures, and adding deliveries to the
 * queue (webhook.h).  The delivery itself is batch/stages/webhook.c.
 */
#include <ctype.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "db.h"
#include "netpolicy.h"
#include "queue.h"
#include "util.h"
#include "webhook.h"

int
webhook_url_check(const char *url, char *err, size_t errlen)
{
	const char *h;
	size_t n, i;

	if (url == NULL || *url == '\0') {
		seterr(err, errlen, "is empty; give an http or https URL");
		return -1;
	}
	if (strlen(url) > WEBHOOK_URL_MAX) {
		seterr(err, errlen, "is longer than %d characters",
		    WEBHOOK_URL_MAX);
		return -1;
	}
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
			seterr(err, errlen, "must not contain spaces or "
			    "control characters");
			return -1;
		}
	if (strncasecmp(url, "http://", 7) == 0)
		h = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		h = url + 8;
	else {
		seterr(err, errlen, "must start with http:// or https://");
		return -1;
	}
	n = strcspn(h, "/?#");
	if (n == 0 || h[0] == ':') {
		seterr(err, errlen, "has no host name");
		return -1;
	}
	if (memchr(h, '@', n) != NULL) {
		seterr(err, errlen, "must not carry a user name or password");
		return -1;
	}
	return 0;
}

int
webhook_new_secret(char out[65])
{
	unsigned char raw[32];
	int i;

	if (random_bytes(raw, sizeof(raw)) == -1)
		return -1;
	for (i = 0; i < (int)sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	out[64] = '\0';
	return 0;
}

int
webhook_signature(const char *secret, long long ts, const char *body,
    size_t len, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf b;
	size_t k;
	int n;

	buf_init(&b, 0);
	if (buf_printf(&b, "%lld.", ts) == -1 ||
	    buf_add(&b, body, len) == -1 ||
	    HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)b.data, b.len, md, &mdlen) == NULL) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	n = snprintf(out, outlen, "t=%lld,v1=", ts);
	if (n < 0 || (size_t)n + 2 * mdlen >= outlen)
		return -1;
	for (k = 0; k < mdlen; k++)
		snprintf(out + n + 2 * k, 3, "%02x", md[k]);
	return 0;
}

int
webhook_enqueue(PGconn *c, long long job_id, const char *type,
    long long seq, json_t *data, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[1];
	PGresult *r;
	json_t *pl, *body;
	char id[64];
	int rc;

	p[0] = db_param_ll(&dp, job_id);
	r = db_exec(c, err, errlen,
	    "SELECT coalesce(nullif(j.options->>'webhook_url', ''),"
	    " u.webhook_url), u.webhook_secret FROM jobs j"
	    " JOIN users u ON u.id = j.user_id WHERE j.id = $1"
	    " AND u.webhook_secret IS NOT NULL AND (u.webhook_url IS NOT NULL"
	    " OR nullif(j.options->>'webhook_url', '') IS NOT NULL)",
	    1, p);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	/* the event's own id: a receiver can drop a delivery it has seen */
	snprintf(id, sizeof(id), "%lld-%lld", job_id, seq);
	body = json_pack("{sssssIsIsO}", "id", id, "type", type,
	    "created", (json_int_t)time(NULL), "job", (json_int_t)job_id,
	    "data", data != NULL ? data : json_null());
	pl = json_pack("{sssssssosI}", "url", PQgetvalue(r, 0, 0),
	    "secret", PQgetvalue(r, 0, 1), "type", type, "body", body,
	    "seq", (json_int_t)seq);
	PQclear(r);
	if (pl == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	rc = queue_add_task(c, job_id, 0, WEBHOOK_STAGE, pl, err, errlen);
	json_decref(pl);
	if (rc == 0)
		rc = queue_notify_stage(c, WEBHOOK_STAGE, err, errlen);
	return rc;
}

int
webhook_url_allowed(const char *url, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char *host = NULL, ip[NI_MAXHOST];
	CURLU *u;
	int rc = 0, gai;

	if (webhook_url_check(url, err, errlen) == -1)
		return -1;
	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		seterr(err, errlen, "is not a URL curl can read");
		return -1;
	}
	curl_url_cleanup(u);
	if (host[0] == '[') {		/* [v6] */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		seterr(err, errlen, "has a host name that does not resolve "
		    "(%s)", gai_strerror(gai));
		curl_free(host);
		return -1;
	}
	for (ai = res; ai != NULL && rc == 0; ai = ai->ai_next) {
		if (fetch_addr_allowed(ai->ai_addr))
			continue;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip),
		    NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(ip, sizeof(ip), "an address");
		seterr(err, errlen, "leads to %s, a private or local address, "
		    "which this server may not reach", ip);
		rc = -1;
	}
	freeaddrinfo(res);
	curl_free(host);
	return rc;
}
