/*
 * The OpenAI-compatible recogniser: POST {openai_base_url}/audio/transcriptions
 * as multipart/form-data with model, response_format=verbose_json and
 * timestamp_granularities[] = word and segment (and language when known).
 *
 * The audio goes up as FLAC (lossless, about half of raw PCM), cut at
 * quiet points into chunks whose raw size stays under
 * cfg.transcribe_upload_mb, so the compressed file always does; each
 * chunk's times are shifted by its start.  429, 408 and 5xx answers, a
 * timeout and a body that is not the expected JSON are retried up to
 * cfg.transcribe_retries times, waiting as long as Retry-After asks (at
 * most 60 s) or 1, 2, 4... s.  Other 4xx answers (bad key, bad model)
 * fail at once.  The API gives no per-word confidence: a word gets
 * exp(avg_logprob) of its segment when the server sends one, else 1.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "asr.h"
#include "media/audio.h"
#include "config.h"
#include "log.h"
#include "runner/stage.h"
#include "util.h"

#define BODY_MAX	(64u * 1024 * 1024)
#define RETRY_MAX_S	60.0

double
asr_retry_after(const char *v, double max)
{
	long long s;
	struct tm tm;
	time_t t;
	char *end;

	while (*v == ' ')
		v++;
	if (parse_ll(v, 0, 86400 * 365, &s) == 0)
		return (double)s > max ? max : (double)s;
	memset(&tm, 0, sizeof(tm));
	/* An HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT" */
	end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	s = (long long)(t - time(NULL));
	if (s < 0)
		s = 0;
	return (double)s > max ? max : (double)s;
}

static int
is_sentence_end(char c)
{
	return c == '.' || c == '?' || c == '!';
}

/* Add one word from the server: surrounding punctuation is dropped (some
 * servers attach it to words), a sentence end is kept as a flag. */
static int
add_word(struct asr_words *out, const char *raw, double start, double end,
    double conf)
{
	char w[64];
	size_t n;
	char punct = 0;

	while (*raw != '\0' && (isspace((unsigned char)*raw) ||
	    (ispunct((unsigned char)*raw) && *raw != '\'')))
		raw++;
	snprintf(w, sizeof(w), "%s", raw);
	n = strlen(w);
	while (n > 0 && (isspace((unsigned char)w[n - 1]) ||
	    (ispunct((unsigned char)w[n - 1]) && w[n - 1] != '\''))) {
		if (is_sentence_end(w[n - 1]) && punct == 0)
			punct = w[n - 1];
		w[--n] = '\0';
	}
	if (n == 0)
		return 0;
	if (asr_words_add(out, w, start, end, conf) == -1)
		return -1;
	out->v[out->n - 1].punct = punct;
	return 0;
}

static int
get_time(json_t *o, const char *k, double *v)
{
	json_t *x = json_object_get(o, k);

	if (!json_is_number(x))
		return -1;
	*v = json_number_value(x);
	return isfinite(*v) && *v >= 0 && *v < 1e7 ? 0 : -1;
}

int
asr_openai_parse(const char *body, size_t len, double off,
    struct asr_words *out, char *err, size_t errlen)
{
	json_t *root, *words, *segs, *x;
	json_error_t je;
	size_t i, k, first = out->n;
	int rc = -1;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(root)) {
		seterr(err, errlen, "the answer is not a JSON object");
		goto out;
	}
	words = json_object_get(root, "words");
	segs = json_object_get(root, "segments");
	if (words != NULL && !json_is_array(words)) {
		seterr(err, errlen, "\"words\" is not a list");
		goto out;
	}
	if (segs != NULL && !json_is_array(segs)) {
		seterr(err, errlen, "\"segments\" is not a list");
		goto out;
	}
	if (words == NULL && segs == NULL) {
		if (!json_is_string(json_object_get(root, "text"))) {
			seterr(err, errlen, "the answer has no text, words or "
			    "segments");
			goto out;
		}
		rc = 0;		/* nothing timed to report (silence) */
		goto out;
	}
	json_array_foreach(words, i, x) {
		double s, e;
		const char *w = json_string_value(json_object_get(x, "word"));
		if (w == NULL || get_time(x, "start", &s) || get_time(x, "end", &e)) {
			seterr(err, errlen, "word %zu has no word, start or end", i);
			goto out;
		}
		if (add_word(out, w, off + s, off + e, 1.0) == -1)
			goto oom;
	}
	json_array_foreach(segs, i, x) {
		double s, e, lp;
		const char *t = json_string_value(json_object_get(x, "text"));
		size_t tl;
		json_t *alp = json_object_get(x, "avg_logprob");

		if (t == NULL || get_time(x, "start", &s) || get_time(x, "end", &e)) {
			seterr(err, errlen, "segment %zu has no text, start or "
			    "end", i);
			goto out;
		}
		s += off;
		e += off;
		lp = json_is_number(alp) ? exp(json_number_value(alp)) : 1.0;
		if (words == NULL) {
			/* A server without word times: spread the segment's
			 * words evenly over it (an approximation). */
			const char *p = t, *q;
			size_t nw = 0, j = 0;
			for (q = t; *q; q++)
				if (!isspace((unsigned char)*q) &&
				    (q == t || isspace((unsigned char)q[-1])))
					nw++;
			for (; *p != '\0'; j++) {
				char one[64];
				size_t wl;
				while (isspace((unsigned char)*p))
					p++;
				if (*p == '\0')
					break;
				wl = strcspn(p, " \t\r\n");
				snprintf(one, sizeof(one), "%.*s", (int)(wl <
				    sizeof(one) ? wl : sizeof(one) - 1), p);
				p += wl;
				if (add_word(out, one, s + (e - s) * j / nw,
				    s + (e - s) * (j + 1) / nw, lp) == -1)
					goto oom;
			}
			continue;
		}
		/* Confidence and sentence ends from the segment. */
		tl = strlen(t);
		while (tl > 0 && isspace((unsigned char)t[tl - 1]))
			tl--;
		for (k = first; k < out->n; k++) {
			struct asr_word *w = &out->v[k];
			double mid = (w->start + w->end) / 2;
			if (mid >= s && mid <= e) {
				w->conf = lp < 0 ? 0 : lp > 1 ? 1 : lp;
				if (tl > 0 && is_sentence_end(t[tl - 1]) &&
				    (k + 1 == out->n ||
				    (out->v[k + 1].start + out->v[k + 1].end) / 2 > e))
					w->punct = t[tl - 1];
			}
		}
	}
	rc = 0;
	goto out;
oom:
	seterr(err, errlen, "out of memory");
out:
	if (rc == -1)
		out->n = first;
	json_decref(root);
	return rc;
}

struct req {
	struct buf	 body;
	char		 retry_after[64];
	struct task_ctx	*ctx;
	int		 cancelled;
	int		 pct;
};

static size_t
on_body(char *p, size_t size, size_t n, void *u)
{
	struct req *r = u;

	return buf_add(&r->body, p, size * n) == 0 ? size * n : 0;
}

static size_t
on_header(char *p, size_t size, size_t n, void *u)
{
	struct req *r = u;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		size_t vl = len - 12;
		if (vl >= sizeof(r->retry_after))
			vl = sizeof(r->retry_after) - 1;
		memcpy(r->retry_after, p + 12, vl);
		r->retry_after[vl] = '\0';
		r->retry_after[strcspn(r->retry_after, "\r\n")] = '\0';
	}
	return len;
}

static int
on_progress(void *u, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct req *r = u;

	(void)dt; (void)dn; (void)ut; (void)un;
	if (task_progress(r->ctx, r->pct, "transcribing (waiting for the "
	    "service)")) {
		r->cancelled = 1;
		return 1;
	}
	return 0;
}

/* Sleep S seconds in short steps, watching for a cancel; 1 if cancelled. */
static int
wait_cancellable(struct task_ctx *ctx, int pct, double s)
{
	long long end = now_ms() + (long long)(s * 1000);

	while (now_ms() < end) {
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		if (task_progress(ctx, pct, "transcription service busy; "
		    "waiting %.0f s", s))
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* The multipart form for FILE, in language LANG ("" or NULL: unknown),
 * for handle C; NULL on ENOMEM.  Caller frees with curl_mime_free(). */
static curl_mime *
chunk_form(CURL *c, const char *file, const char *lang)
{
	static const struct { const char *name, *value; } fields[] = {
		{ "response_format", "verbose_json" },
		{ "timestamp_granularities[]", "word" },
		{ "timestamp_granularities[]", "segment" },
	};
	curl_mime *m;
	curl_mimepart *p;
	size_t i;

	if ((m = curl_mime_init(c)) == NULL)
		return NULL;
	p = curl_mime_addpart(m);
	curl_mime_name(p, "file");
	curl_mime_filedata(p, file);
	curl_mime_filename(p, "audio.flac");
	curl_mime_type(p, "audio/flac");
	p = curl_mime_addpart(m);
	curl_mime_name(p, "model");
	curl_mime_data(p, cfg.transcribe_model, CURL_ZERO_TERMINATED);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		p = curl_mime_addpart(m);
		curl_mime_name(p, fields[i].name);
		curl_mime_data(p, fields[i].value, CURL_ZERO_TERMINATED);
	}
	if (lang != NULL && *lang != '\0') {
		p = curl_mime_addpart(m);
		curl_mime_name(p, "language");
		curl_mime_data(p, lang, CURL_ZERO_TERMINATED);
	}
	return m;
}

/* POST FILE to URL once, the answer into R: *CC gets curl's code (its
 * words in EBUF), *STATUS the HTTP status (0 for none).  0, or -1 when
 * the request could not be made (ENOMEM). */
static int
post_once(const struct asr_input *in, const char *url,
    struct curl_slist *hdr, const char *file, struct req *r, char *ebuf,
    CURLcode *cc, long *status)
{
	CURL *c;
	curl_mime *m;

	*status = 0;
	ebuf[0] = '\0';
	buf_reset(&r->body);
	r->retry_after[0] = '\0';
	if ((c = curl_easy_init()) == NULL)
		return -1;
	if ((m = chunk_form(c, file, in->language)) == NULL) {
		curl_easy_cleanup(c);
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MIMEPOST, m);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg.transcribe_timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	*cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_mime_free(m);
	return 0;
}

/* What one answer means. */
enum answer { ANSWER_OK, ANSWER_RETRY, ANSWER_REFUSED };

/* Judge the answer in R (curl code CC, HTTP STATUS): its words go to
 * OUT shifted by OFF on ANSWER_OK; on ANSWER_RETRY, WHY says why and
 * *WAIT is the server's Retry-After (or -1); on ANSWER_REFUSED, ERR has
 * the sentence for the user. */
static enum answer
judge(const struct req *r, CURLcode cc, const char *ebuf, long status,
    double off, struct asr_words *out, char *why, size_t whylen,
    double *wait, char *err, size_t errlen)
{
	const char *body = r->body.data ? r->body.data : "";
	const char *msg;
	json_t *j;

	*wait = -1;
	if (cc != CURLE_OK) {
		snprintf(why, whylen, "%s", ebuf[0] ? ebuf :
		    curl_easy_strerror(cc));
		return ANSWER_RETRY;
	}
	if (status == 200) {
		if (asr_openai_parse(body, r->body.len, off, out, why,
		    whylen) == 0)
			return ANSWER_OK;
		/* a garbled answer may be a proxy's hiccup: retry */
		return ANSWER_RETRY;
	}
	if (status == 429 || status == 408 || status >= 500) {
		snprintf(why, whylen, "HTTP %ld", status);
		if (r->retry_after[0] != '\0')
			*wait = asr_retry_after(r->retry_after, RETRY_MAX_S);
		return ANSWER_RETRY;
	}
	j = json_loadb(body, r->body.len, 0, NULL);
	msg = json_string_value(json_object_get(json_object_get(j, "error"),
	    "message"));
	/* Its words (which may quote the API key) are for the operator. */
	log_ev(LOG_WARN, "asr_refused", "{sIss}", "status", (long long)status,
	    "message", msg ? msg : "");
	seterr(err, errlen, "The transcription service refused the request "
	    "(HTTP %ld); the runner's log has its answer.", status);
	json_decref(j);
	return ANSWER_REFUSED;
}

/* One chunk through the service, with retries. */
static enum asr_rc
post_chunk(const struct asr_input *in, const char *url, const char *key,
    const char *file, double off, int pct, struct asr_words *out, char *err,
    size_t errlen)
{
	struct curl_slist *hdr = NULL;
	char auth[4200], ebuf[CURL_ERROR_SIZE], why[256];
	struct req r;
	long attempt, status;
	double wait;
	enum asr_rc rc = ASR_FAILED;
	enum answer ans;
	CURLcode cc;

	memset(&r, 0, sizeof(r));
	r.ctx = in->ctx;
	r.pct = pct;
	buf_init(&r.body, BODY_MAX);
	if (key != NULL) {
		if (xsnprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    key) == -1) {
			seterr(err, errlen, "the API key is too long");
			return ASR_FAILED;
		}
		hdr = curl_slist_append(hdr, auth);
	}
	for (attempt = 1; attempt <= cfg.transcribe_retries; attempt++) {
		if (post_once(in, url, hdr, file, &r, ebuf, &cc, &status) ==
		    -1) {
			seterr(err, errlen, "out of memory");
			break;
		}
		if (r.cancelled) {
			seterr(err, errlen, "The transcription was cancelled.");
			rc = ASR_CANCELLED;
			break;
		}
		ans = judge(&r, cc, ebuf, status, off, out, why, sizeof(why),
		    &wait, err, errlen);
		if (ans == ANSWER_OK)
			rc = ASR_OK;
		if (ans != ANSWER_RETRY)
			break;
		if (cc == CURLE_OK && status == 200)
			log_ev(LOG_WARN, "asr_openai_bad_body", "{sssi}",
			    "why", why, "attempt", (int)attempt);
		log_ev(LOG_WARN, "asr_openai_retry", "{sisssf}", "attempt",
		    (int)attempt, "why", why, "wait", wait);
		if (attempt == cfg.transcribe_retries) {
			seterr(err, errlen, "The transcription service failed "
			    "%ld times; last: %s.", attempt, why);
			break;
		}
		if (wait < 0)
			wait = attempt >= 6 ? 32 : (double)(1 << (attempt - 1));
		if (wait_cancellable(in->ctx, pct, wait)) {
			seterr(err, errlen, "The transcription was cancelled.");
			rc = ASR_CANCELLED;
			break;
		}
	}
	curl_slist_free_all(hdr);
	buf_free(&r.body);
	return rc;
}

enum asr_rc
asr_openai(const struct asr_input *in, struct asr_words *out, char *model,
    size_t modellen, char *err, size_t errlen)
{
	char url[2048], file[4096];
	char *key = NULL;
	size_t *bounds = NULL, max_frames, blen;
	long n, i;
	enum asr_rc rc = ASR_FAILED;

	snprintf(model, modellen, "%s", cfg.transcribe_model);
	blen = strlen(cfg.openai_base_url);
	while (blen > 0 && cfg.openai_base_url[blen - 1] == '/')
		blen--;
	if (xsnprintf(url, sizeof(url), "%.*s/audio/transcriptions", (int)blen,
	    cfg.openai_base_url) == -1) {
		seterr(err, errlen, "openai_base_url is too long");
		return ASR_FAILED;
	}
	if (cfg.openai_key_file[0] != '\0' &&
	    (key = read_small_file(cfg.openai_key_file, 4096, 1)) == NULL) {
		seterr(err, errlen, "cannot read the API key file %s: %s",
		    cfg.openai_key_file, strerror(errno));
		return ASR_FAILED;
	}
	/* Raw 16-bit PCM is 32000 bytes a second; FLAC is smaller, so a
	 * chunk under the limit as PCM is under it as FLAC. */
	max_frames = (size_t)((double)cfg.transcribe_upload_mb * 1048576 * 0.95 /
	    (2.0 * AUDIO_RATE) * AUDIO_ENV_HZ);
	n = audio_split(in->audio->dbfs, in->audio->ndbfs, max_frames, &bounds);
	if (n < 0) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		long long from = (long long)bounds[i] * AUDIO_ENV_SAMPLES;
		long long to = (long long)bounds[i + 1] * AUDIO_ENV_SAMPLES;
		int pct = in->pct0 + (int)((in->pct1 - in->pct0) * i / n);

		if (to > in->audio->samples)
			to = in->audio->samples;
		if (to - from < AUDIO_RATE / 10)
			continue;
		if (task_progress(in->ctx, pct, "transcribing: part %ld of %ld",
		    i + 1, n)) {
			seterr(err, errlen, "The transcription was cancelled.");
			rc = ASR_CANCELLED;
			goto out;
		}
		if (xsnprintf(file, sizeof(file), "%s/upload-%ld.flac",
		    in->scratch, i) == -1 ||
		    audio_encode_flac(in->pcm_path, from, to - from, file, err,
		    errlen) == -1)
			goto out;
		rc = post_chunk(in, url, key, file, (double)from / AUDIO_RATE,
		    pct, out, err, errlen);
		unlink(file);
		if (rc != ASR_OK)
			goto out;
		rc = ASR_FAILED;
	}
	rc = ASR_OK;
out:
	if (key != NULL) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(bounds);
	return rc;
}
