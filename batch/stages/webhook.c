/*
 * The stage "webhook": one delivery of one event to a user's webhook URL
 * (lib/webhook.h).  The task's payload carries the URL, the secret, the
 * event type and the JSON body; the body is signed at each attempt with
 * the time of that attempt.  Every address curl connects to is held to the
 * address policy (lib/netpolicy.c) from the open-socket callback, as
 * fetches are.  A 2xx answer is delivered; another status, a timeout or a
 * connection failure is retried by the queue with backoff; an address the
 * policy refuses fails the delivery at once.  Runs in a forked child like
 * the other network stages; one bounded HTTP request (cfg.webhook_timeout).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "db.h"
#include "fetch/fetch.h"
#include "runner/stage.h"
#include "util.h"
#include "webhook.h"

struct hook {
	int	 blocked;
	char	 addr[NI_MAXHOST];
};

static curl_socket_t
hook_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct hook *h = clientp;

	(void)purpose;
	if (fetch_addr_allowed(&a->addr))
		return socket(a->family, a->socktype, a->protocol);
	h->blocked = 1;
	if (getnameinfo(&a->addr, a->addrlen, h->addr, sizeof(h->addr), NULL,
	    0, NI_NUMERICHOST) != 0)
		snprintf(h->addr, sizeof(h->addr), "an address");
	return CURL_SOCKET_BAD;
}

/* The answer's body is not kept. */
static size_t
discard(char *p, size_t size, size_t n, void *userp)
{
	(void)p;
	(void)userp;
	return size * n;
}

/* POST BODY to URL with the headers in HDRS; the curl code, *STATUS. */
static CURLcode
post(const char *url, const char *body, struct curl_slist *hdrs,
    struct hook *h, long *status, char *ebuf)
{
	CURLcode cc;
	CURL *c;

	if ((c = curl_easy_init()) == NULL)
		return CURLE_OUT_OF_MEMORY;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, hook_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg.webhook_timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)cfg.webhook_timeout);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "clipmill-webhook/1");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	return cc;
}

static enum stage_rc
webhook_run(struct task_ctx *ctx, json_t **result, char *err, size_t errlen)
{
	const json_t *pl = ctx->task->payload;
	const char *url, *secret, *type;
	char sig[160], line[256], ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	struct hook h = { 0 };
	enum stage_rc rc;
	long status = 0;
	CURLcode cc;
	char *body;

	url = json_string_value(json_object_get(pl, "url"));
	secret = json_string_value(json_object_get(pl, "secret"));
	type = json_string_value(json_object_get(pl, "type"));
	if (url == NULL || secret == NULL || type == NULL ||
	    (body = json_dumps(json_object_get(pl, "body"), JSON_COMPACT)) ==
	    NULL) {
		seterr(err, errlen, "The webhook delivery has no URL, secret "
		    "or body.");
		return STAGE_PERMANENT;
	}
	if (webhook_signature(secret, (long long)time(NULL), body,
	    strlen(body), sig, sizeof(sig)) == -1) {
		free(body);
		seterr(err, errlen, "The webhook could not be signed.");
		return STAGE_TRANSIENT;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	snprintf(line, sizeof(line), "Clipmill-Signature: %s", sig);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "Clipmill-Event: %s", type);
	hdrs = curl_slist_append(hdrs, line);
	hdrs = curl_slist_append(hdrs, "Expect:");
	cc = post(url, body, hdrs, &h, &status, ebuf);
	curl_slist_free_all(hdrs);
	free(body);
	if (h.blocked) {
		seterr(err, errlen, "The webhook URL leads to %s, a private "
		    "or local address, which this server may not reach.",
		    h.addr);
		return STAGE_PERMANENT;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		seterr(err, errlen, "The webhook receiver did not answer "
		    "within %lld s.", cfg.webhook_timeout);
		return STAGE_TRANSIENT;
	}
	if (cc != CURLE_OK) {
		seterr(err, errlen, "The webhook could not be delivered: %s.",
		    ebuf[0] ? ebuf : curl_easy_strerror(cc));
		return STAGE_TRANSIENT;
	}
	if (status < 200 || status > 299) {
		seterr(err, errlen, "The webhook receiver answered %ld.",
		    status);
		return STAGE_TRANSIENT;
	}
	rc = STAGE_OK;
	*result = json_pack("{si}", "status", (int)status);
	return rc;
}

/* In the completing transaction: say it was delivered. */
static int
webhook_done(PGconn *c, const struct task *t, json_t *result, char *err,
    size_t errlen)
{
	json_t *ev;
	char msg[160];
	long long seq;

	snprintf(msg, sizeof(msg), "The webhook %s was delivered (attempt %d).",
	    json_string_value(json_object_get(t->payload, "type")),
	    t->attempts);
	ev = json_pack("{sOsOsisOss}", "type", json_object_get(t->payload,
	    "type"), "url", json_object_get(t->payload, "url"), "attempt",
	    t->attempts, "status", json_object_get(result, "status"),
	    "msg", msg);
	if (ev == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	seq = queue_event(c, t->job_id, "webhook_delivered", WEBHOOK_STAGE, ev,
	    err, errlen);
	json_decref(ev);
	return seq < 0 ? -1 : 0;
}

const struct stage stage_webhook = {
	.name = WEBHOOK_STAGE,
	.isolated = 1,
	.test_only = 0,
	.batch = 1,
	.cap = NULL,
	.run = webhook_run,
	.done = webhook_done,
};
