/*
 * Webhooks: a user's URL that clipmill POSTs signed JSON to when a clip is
 * ready and when a job ends.  Each delivery is a task of the stage
 * "webhook" (batch/stages/webhook.c), added by webhook_enqueue() in the
 * transaction that writes the event causing it, and retried with the
 * queue's backoff until cfg.max_attempts.
 *
 * Event types: "clip.ready" (publish.c), "job.done" and "job.failed"
 * (runner_sql.c, where a job settles or fails), "job.awaiting_review"
 * (frame.c, where a job submitted with review stops for the user).
 */
#ifndef CLIPMILL_WEBHOOK_H
#define CLIPMILL_WEBHOOK_H

#include <stddef.h>
#include <jansson.h>
#include <libpq-fe.h>

#define WEBHOOK_STAGE	"webhook"
#define WEBHOOK_URL_MAX	2048

/* 0 when URL is an http or https URL with a host and no user part, at
 * most WEBHOOK_URL_MAX bytes; else -1 with a sentence in ERR. */
int	webhook_url_check(const char *url, char *err, size_t errlen);

/* 0 when URL passes webhook_url_check() and every address its host
 * resolves to is allowed by the address policy (netpolicy.h); else -1
 * with a sentence in ERR.  Where a user sets a URL (the API, the CLI); the
 * delivery checks again at each connection. */
int	webhook_url_allowed(const char *url, char *err, size_t errlen);

/* A new secret: 32 random bytes as 64 hex digits.  0 or -1. */
int	webhook_new_secret(char out[65]);

/* The signature header's value "t=TS,v1=HEX", HEX being the lowercase
 * HMAC-SHA256 with SECRET of "TS.BODY".  0 or -1. */
int	webhook_signature(const char *secret, long long ts, const char *body,
	    size_t len, char *out, size_t outlen);

/* In the caller's transaction: when job JOB_ID has a webhook (its option
 * "webhook_url", else its owner's URL) and its owner a secret, add a
 * delivery task of TYPE for the event SEQ with DATA (not stolen).  0
 * (also when there is no webhook) or -1. */
int	webhook_enqueue(PGconn *, long long job_id, const char *type,
	    long long seq, json_t *data, char *err, size_t errlen);

#endif
