/*
 * The LLM scorer (select.h): the timed transcript goes to an
 * OpenAI-compatible POST {llm_base_url}/chat/completions in chunks, each
 * asking for a JSON-schema answer; every chunk's clips are validated
 * (inside the video, within the length range, snapped to words) and the
 * best non-overlapping ones across all chunks win.  Any failed call or
 * invalid answer returns -1 so that the caller falls back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "select.h"
#include "util.h"

#define MAX_ANSWER	(1u << 20)	/* response body cap */
#define MAX_CANDS	256	/* clips read from one answer; the best kept */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_add(b, p, size * n) != 0)
		return 0;	/* too large: curl fails the transfer */
	return size * n;
}

/* The answer's JSON schema (response_format json_schema, strict). */
static json_t *
schema(void)
{
	static const char text[] = "{\"name\":\"clips\",\"strict\":true,"
	    "\"schema\":{\"type\":\"object\",\"additionalProperties\":false,"
	    "\"required\":[\"clips\"],\"properties\":{\"clips\":{\"type\":"
	    "\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":"
	    "false,\"required\":[\"start\",\"end\",\"score\",\"title\","
	    "\"reason\"],\"properties\":{\"start\":{\"type\":\"number\"},"
	    "\"end\":{\"type\":\"number\"},\"score\":{\"type\":\"integer\","
	    "\"minimum\":0,\"maximum\":100},\"title\":{\"type\":\"string\"},"
	    "\"reason\":{\"type\":\"string\"}}}}}}}";

	return json_loads(text, 0, NULL);
}

int
select_llm_parse(const char *body, size_t len, const struct transcript *t,
    const struct select_req *rq, struct pick *c, size_t *nc, char *err,
    size_t errlen)
{
	json_t *ans, *content_j = NULL, *clips, *cl;
	const char *content;
	json_error_t je;
	size_t i;
	int rc = -1;

	if ((ans = json_loadb(body, len, 0, &je)) == NULL ||
	    (content = json_string_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(ans, "choices"), 0), "message"),
	    "content"))) == NULL) {
		seterr(err, errlen, "The language model's answer is not a chat "
		    "completion.");
		goto out;
	}
	if ((content_j = json_loads(content, 0, &je)) == NULL ||
	    !json_is_array(clips = json_object_get(content_j, "clips"))) {
		seterr(err, errlen, "The language model's answer is not the JSON "
		    "that was asked for.");
		goto out;
	}
	json_array_foreach(clips, i, cl) {
		struct pick *p = &c[*nc];
		const char *ti = "", *re = "";
		double s, e, sc;

		if (*nc >= MAX_CANDS)
			break;
		if (json_unpack(cl, "{sFsFsFs?ss?s}", "start", &s, "end", &e,
		    "score", &sc, "title", &ti, "reason", &re) != 0 ||
		    !(sc >= 0 && sc <= 100) || !isfinite(s) || !isfinite(e) ||
		    select_snap(t, rq, &s, &e) != 0)
			continue;	/* one bad clip does not spoil the rest */
		p->start = round(s * 1000) / 1000;
		p->end = round(e * 1000) / 1000;
		p->score = sc;
		p->part[0] = (struct score_part){ "rating by the language model",
		    sc, 100 };
		p->nparts = 1;
		select_title(p->title, sizeof(p->title), ti);
		xsnprintf(p->reason, sizeof(p->reason), "%.*s", 250, re);
		(*nc)++;
	}
	rc = 0;
out:
	json_decref(ans);
	json_decref(content_j);
	return rc;
}

/* One request for the segments [S0, S1); appends valid picks to C. */
static int
ask(CURL *h, struct curl_slist *hdrs, const struct transcript *t,
    const struct select_req *rq, size_t s0, size_t s1, struct pick *c,
    size_t *nc, char *err, size_t errlen)
{
	struct buf text, body;
	json_t *req = NULL;
	char url[1024], *payload = NULL, sys[600];
	long status = 0;
	size_t i;
	int rc = -1;
	CURLcode cc;

	buf_init(&text, (size_t)cfg.llm_chunk_chars * 2);
	buf_init(&body, MAX_ANSWER);
	for (i = s0; i < s1; i++)
		buf_printf(&text, "[%.2f-%.2f] %s\n", t->seg[i].start,
		    t->seg[i].end, t->seg[i].text);
	xsnprintf(sys, sizeof(sys), "You pick the most engaging moments of a "
	    "video for short vertical clips. Each clip must stand alone: start "
	    "at the beginning of a sentence, end at the end of one, keep the "
	    "setup and the payoff. Each clip lasts between %.0f and %.0f "
	    "seconds. Give up to %d clips with start and end in seconds from "
	    "the transcript's timestamps, a score from 0 to 100, a title (a "
	    "readable sentence in sentence case, at most 60 characters) and a "
	    "one-sentence reason.", rq->min_len, rq->max_len,
	    rq->clips);
	req = json_pack("{sss[{ssss}{ssss+}]sfs{ssso}}", "model", cfg.llm_model,
	    "messages", "role", "system", "content", sys, "role", "user",
	    "content", "Timed transcript:\n", text.data ? text.data : "",
	    "temperature", 0.0, "response_format", "type", "json_schema",
	    "json_schema", schema());
	if (req == NULL || (payload = json_dumps(req, JSON_COMPACT)) == NULL ||
	    xsnprintf(url, sizeof(url), "%s/chat/completions",
	    cfg.llm_base_url) != 0) {
		seterr(err, errlen, "The request to the language model could "
		    "not be built.");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)cfg.llm_timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if ((cc = curl_easy_perform(h)) != CURLE_OK) {
		seterr(err, errlen, "The language model did not answer: %s.",
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		seterr(err, errlen, "The language model answered HTTP %ld.", status);
		goto out;
	}
	if (select_llm_parse(body.data ? body.data : "", body.len, t, rq, c,
	    nc, err, errlen) == -1)
		goto out;
	/* A chunk whose clips all miss is not fatal; select_llm fails when
	 * no chunk gave a usable clip. */
	rc = 0;
out:
	free(payload);
	json_decref(req);
	buf_free(&text);
	buf_free(&body);
	return rc;
}

static int
pick_cmp(const void *x, const void *y)
{
	const struct pick *a = x, *b = y;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->start < b->start ? -1 : a->start > b->start;
}

int
select_llm(const struct transcript *t, const struct select_req *rq,
    struct pick *out, char *err, size_t errlen)
{
	/* The best so far, and room for one more answer's clips. */
	struct pick *c = calloc(2 * MAX_CANDS, sizeof(*c));
	struct curl_slist *hdrs = NULL;
	CURL *h = NULL;
	char auth[600], *key = NULL;
	size_t nc = 0, k, s0 = 0, s1, chars, i;
	int np = 0, rc = -1;

	if (c == NULL || t->nseg == 0 || (h = curl_easy_init()) == NULL) {
		seterr(err, errlen, "The language model cannot be asked (no "
		    "transcript segments).");
		goto out;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (cfg.llm_key_file[0] != '\0') {
		if ((key = read_small_file(cfg.llm_key_file, 512, 1)) == NULL) {
			seterr(err, errlen, "The language model key file cannot "
			    "be read.");
			goto out;
		}
		if (xsnprintf(auth, sizeof(auth), "Authorization: Bearer %s", key) == 0)
			hdrs = curl_slist_append(hdrs, auth);
	}
	/* Chunks of whole segments, each asked on its own. */
	while (s0 < t->nseg) {
		for (s1 = s0, chars = 0; s1 < t->nseg && (s1 == s0 ||
		    chars + strlen(t->seg[s1].text) + 24 <= (size_t)cfg.llm_chunk_chars); s1++)
			chars += strlen(t->seg[s1].text) + 24;
		k = 0;
		if (ask(h, hdrs, t, rq, s0, s1, c + nc, &k, err, errlen) != 0)
			goto out;
		/* The best MAX_CANDS of every chunk so far: a long
		 * transcript's last chunks count as much as its first. */
		nc += k;
		qsort(c, nc, sizeof(*c), pick_cmp);
		if (nc > MAX_CANDS)
			nc = MAX_CANDS;
		s0 = s1;
	}
	if (nc == 0) {
		seterr(err, errlen, "None of the language model's clips fit the "
		    "video and the length range.");
		goto out;
	}
	for (i = 0; i < nc && np < rq->clips; i++) {
		if (!select_overlaps(out, (size_t)np, c[i].start, c[i].end))
			out[np++] = c[i];
	}
	rc = np;
out:
	if (key != NULL) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	explicit_bzero(auth, sizeof(auth));
	curl_slist_free_all(hdrs);
	if (h)
		curl_easy_cleanup(h);
	free(c);
	return rc;
}
