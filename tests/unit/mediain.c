/*
 * Media-in: table tests for the small parsers and policies (no arguments),
 * and a driver that runs the fetch and transcribe stages' run() and done()
 * for the integration scripts (tests/t_fetch.sh, tests/t_transcribe*.sh):
 *
 *   mediain run STAGE JOB_JSON SCRATCH   run() once; prints a JSON report
 *   mediain done STAGE JOB_ID RESULT     done() in a transaction
 *   mediain audio SRC PCM                audio extraction only
 *   mediain proxy PORT                   yt-dlp's proxy alone: prints its
 *                                        URL, stops at EOF on stdin, then
 *                                        prints "refusal: " and the last one
 *
 * task_progress/task_event are defined here, for this program only: a run
 * is cancelled when the file named by $MEDIAIN_CANCEL_FILE exists.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#include "stages/transcribe/asr.h"
#include "media/audio.h"
#include "config.h"
#include "db.h"
#include "stages/fetch/fetch.h"
#include "log.h"
#include "media/probe.h"
#include "runner/stage.h"
#include "util.h"
#include "tap.h"

static json_t *events;

int
task_progress(struct task_ctx *ctx, int pct, const char *fmt, ...)
{
	const char *cf = getenv("MEDIAIN_CANCEL_FILE");
	long long t = now_ms();
	char msg[256];
	va_list ap;

	/* Every report: the runner debounces but keeps the latest value,
	 * so a stage's last report always arrives; dropping it here would
	 * make a fast download look as if it never reported. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "progress %d %s\n", pct, msg);
	ctx->last_report_ms = t;
	return cf != NULL && access(cf, F_OK) == 0;
}

void
task_event(struct task_ctx *ctx, const char *kind, const char *msg,
    json_t *data)
{
	(void)ctx;
	json_array_append_new(events, json_pack("{sssssO?}", "kind", kind,
	    "msg", msg, "data", data));
}

void
task_output(struct task_ctx *ctx, json_t *data)
{
	task_event(ctx, "output", "", data);
}

static int
blocked(const char *ip)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	memset(&s6, 0, sizeof(s6));
	memset(&s4, 0, sizeof(s4));
	if (inet_pton(AF_INET, ip, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return fetch_addr_blocked((struct sockaddr *)&s4);
	}
	if (inet_pton(AF_INET6, ip, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		return fetch_addr_blocked((struct sockaddr *)&s6);
	}
	return -1;
}

/* The proxy's request parser: status, and what it understood. */
static void
proxy_table(void)
{
	static const char A[] = "Proxy-Authorization: Basic c2VjcmV0\r\n";
	static const struct {
		const char *name, *head;
		int status, tunnel, port;
		const char *host, *out;
	} t[] = {
		{ "GET passed on in origin form",
		  "GET http://example.com/a/b?c=d#frag HTTP/1.1\r\n"
		  "Host: example.com\r\n"
		  "Proxy-authorization: Basic c2VjcmV0\r\n"
		  "User-Agent: Mozilla/5.0\r\nProxy-Connection: keep-alive\r\n"
		  "Connection: keep-alive\r\nKeep-Alive: 5\r\nRange: bytes=0-\r\n\r\n",
		  0, 0, 80, "example.com",
		  "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\n"
		  "User-Agent: Mozilla/5.0\r\nRange: bytes=0-\r\n"
		  "Via: 1.1 clipmill\r\nConnection: close\r\n\r\n" },
		{ "no path, a port, no Host, HTTP/1.0, bare newlines",
		  "HEAD http://10.0.0.5:8080 HTTP/1.0\nProxy-Authorization: "
		  "basic c2VjcmV0 \n\n",
		  0, 0, 8080, "10.0.0.5",
		  "HEAD / HTTP/1.0\r\nHost: 10.0.0.5:8080\r\n"
		  "Via: 1.1 clipmill\r\nConnection: close\r\n\r\n" },
		{ "query without a path gets one",
		  "GET http://h?q=1 HTTP/1.1\r\nHost: h\r\n%s\r\n",
		  0, 0, 80, "h",
		  "GET /?q=1 HTTP/1.1\r\nHost: h\r\nVia: 1.1 clipmill\r\n"
		  "Connection: close\r\n\r\n" },
		{ "CONNECT host:port", "CONNECT media.example:443 HTTP/1.1\r\n"
		  "Host: media.example:443\r\n%s\r\n", 0, 1, 443,
		  "media.example", "" },
		{ "CONNECT [v6]:port", "CONNECT [::1]:8443 HTTP/1.1\r\n%s\r\n",
		  0, 1, 8443, "::1", "" },
		{ "no credentials", "GET http://h/ HTTP/1.1\r\n\r\n",
		  407, 0, 0, "", NULL },
		{ "wrong credentials", "GET http://h/ HTTP/1.1\r\n"
		  "Proxy-Authorization: Basic c2VjcmV1\r\n\r\n", 407, 0, 0, "", NULL },
		{ "credentials of another scheme", "GET http://h/ HTTP/1.1\r\n"
		  "Proxy-Authorization: Token c2VjcmV0\r\n\r\n", 407, 0, 0, "", NULL },
		{ "CONNECT without a port", "CONNECT h HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "port 0", "CONNECT h:0 HTTP/1.1\r\n%s\r\n", 400, 0, 0, "", NULL },
		{ "port too large", "GET http://h:65536/ HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "port with a sign", "GET http://h:+80/ HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "two colons", "CONNECT a:b:443 HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "unclosed bracket", "CONNECT [::1:443 HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "user info in the URL", "GET http://u:p@h/ HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "percent in the host", "GET http://a%2eb/ HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "empty host", "GET http:///x HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "origin form: not a proxy request", "GET /x HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "https URL: CONNECT is the way",
		  "GET https://h/ HTTP/1.1\r\n%s\r\n", 501, 0, 0, "", NULL },
		{ "another scheme", "GET ftp://h/ HTTP/1.1\r\n%s\r\n",
		  501, 0, 0, "", NULL },
		{ "HTTP/2 request line", "GET http://h/ HTTP/2\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "extra space", "GET  http://h/ HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "bad method", "G(T http://h/ HTTP/1.1\r\n%s\r\n",
		  400, 0, 0, "", NULL },
		{ "control byte in the target", "GET http://h/\x01 HTTP/1.1\r\n"
		  "%s\r\n", 400, 0, 0, "", NULL },
		{ "folded header", "GET http://h/ HTTP/1.1\r\n%s X: a\r\n"
		  " b\r\n\r\n", 400, 0, 0, "", NULL },
		{ "header without a colon", "GET http://h/ HTTP/1.1\r\n%sX\r\n\r\n",
		  400, 0, 0, "", NULL },
		{ "no empty line", "GET http://h/ HTTP/1.1\r\n%s", 400, 0, 0, "",
		  NULL },
	};
	char head[1024], name[160];
	struct proxy_req r;
	struct buf out;
	size_t i;
	int st;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* %s in a head stands for the right credentials */
		const char *pct = strstr(t[i].head, "%s");
		if (pct != NULL)
			snprintf(head, sizeof(head), "%.*s%s%s",
			    (int)(pct - t[i].head), t[i].head, A, pct + 2);
		else
			snprintf(head, sizeof(head), "%s", t[i].head);
		buf_init(&out, 4096);
		st = fetch_proxy_parse(head, strlen(head), "Basic c2VjcmV0", &r,
		    &out);
		snprintf(name, sizeof(name), "proxy: %s -> %d", t[i].name,
		    t[i].status);
		ok(st == t[i].status && (st != 0 ||
		    (r.tunnel == t[i].tunnel && r.port == t[i].port &&
		    strcmp(r.host, t[i].host) == 0 && strcmp(out.len ? out.data :
		    "", t[i].out) == 0)), name);
		if (st != t[i].status || (st == 0 && strcmp(out.len ? out.data :
		    "", t[i].out) != 0))
			fprintf(stderr, "got %d, %s:%d, \"%s\"\n", st, r.host,
			    r.port, out.len ? out.data : "");
		buf_free(&out);
	}
	/* Mutated heads: whatever the parser says, it says one of its
	 * statuses, and what it accepts is whole.  Each input lies in a
	 * buffer of its exact size, so that SANITIZE=1 sees any over-read. */
	{
		static const int seeds[] = { 0, 1, 3, 4 };
		unsigned long long rng = 0x9e3779b97f4a7c15ULL;
		int bad = 0, k, j;

		for (k = 0; k < 20000 && !bad; k++) {
			const char *sd = t[seeds[k % 4]].head, *pct;
			size_t n, at;
			char *h;

			pct = strstr(sd, "%s");
			if (pct != NULL)
				snprintf(head, sizeof(head), "%.*s%s%s",
				    (int)(pct - sd), sd, A, pct + 2);
			else
				snprintf(head, sizeof(head), "%s", sd);
			n = strlen(head);
			for (j = 0; j < 4 && n > 1; j++) {
				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				at = (size_t)(rng >> 8) % n;
				switch (rng % 4) {
				case 0: head[at] ^= (char)(1 << (rng >> 40) % 8); break;
				case 1: head[at] = ":[]@/? \r\n\0"[(rng >> 40) % 10]; break;
				case 2: n = at + 1; break;
				default: memmove(head + at, head + at + 1, n - at - 1);
					n--; break;
				}
			}
			if ((h = malloc(n)) == NULL)
				break;
			memcpy(h, head, n);
			buf_init(&out, 4096);
			st = fetch_proxy_parse(h, n, "Basic c2VjcmV0", &r, &out);
			if (st != 0 && st != 400 && st != 407 && st != 431 &&
			    st != 501)
				bad = 1;
			if (st == 0 && (r.host[0] == '\0' || r.port < 1 ||
			    r.port > 65535 || (!r.tunnel && (out.len < 4 ||
			    memcmp(out.data + out.len - 4, "\r\n\r\n", 4) != 0))))
				bad = 1;
			if (bad)
				fprintf(stderr, "round %d: %d for \"%.*s\"\n", k,
				    st, (int)n, h);
			buf_free(&out);
			free(h);
		}
		ok(!bad, "proxy: 20000 mutated heads parsed sanely");
	}
	{	/* OUT full: the head does not fit what it would become */
		const char *h = "GET http://h/ HTTP/1.1\r\nProxy-Authorization: "
		    "Basic c2VjcmV0\r\nX-Long: 0123456789\r\n\r\n";
		buf_init(&out, 30);
		ok(fetch_proxy_parse(h, strlen(h), "Basic c2VjcmV0", &r,
		    &out) == 431, "proxy: a head past OUT's maximum -> 431");
		buf_free(&out);
	}
}

static void
tables(void)
{
	static const struct { const char *ip; int blocked; } ips[] = {
		{ "127.0.0.1", 1 }, { "127.9.9.9", 1 }, { "10.1.2.3", 1 },
		{ "172.16.0.1", 1 }, { "172.31.255.255", 1 }, { "172.32.0.1", 0 },
		{ "192.168.1.1", 1 }, { "169.254.169.254", 1 }, { "100.64.0.1", 1 },
		{ "0.0.0.0", 1 }, { "224.0.0.1", 1 }, { "239.255.255.250", 1 },
		{ "255.255.255.255", 1 }, { "8.8.8.8", 0 }, { "93.184.216.34", 0 },
		{ "::1", 1 }, { "::", 1 }, { "fe80::1", 1 }, { "fd00::1", 1 },
		{ "ff02::1", 1 }, { "::ffff:127.0.0.1", 1 },
		{ "::ffff:8.8.8.8", 0 }, { "64:ff9b::a00:1", 1 },
		{ "2002:c0a8:101::1", 1 }, { "2001:4860:4860::8888", 0 },
	};
	static const struct { const char *line; enum fetch_rc rc; const char *has; }
	    yt[] = {
		{ "ERROR: Unsupported URL: http://x/", FETCH_PERMANENT, "not supported" },
		{ "ERROR: [youtube] abc: Private video. Sign in", FETCH_PERMANENT, "private" },
		{ "ERROR: [youtube] abc: Video unavailable", FETCH_PERMANENT, "removed" },
		{ "ERROR: unable to download video data: HTTP Error 403: Forbidden",
		  FETCH_PERMANENT, "HTTP 403" },
		{ "[download] File is larger than max-filesize (1 bytes > 0 bytes). Aborting.",
		  FETCH_PERMANENT, "too large" },
		{ "ERROR: [generic] Unable to download webpage: HTTP Error 503",
		  FETCH_TRANSIENT, "5xx" },
		{ "ERROR: something new", FETCH_TRANSIENT, "yt-dlp" },
		{ "ERROR: [html5] rtmp-1: Requested format is not available. Use "
		  "--list-formats for a list of available formats",
		  FETCH_PERMANENT, "protocol" },
		{ "ERROR: unable to download video data: HTTP Error 403: "
		  "Refused by clipmill: 10.0.0.5 is on a private or local network",
		  FETCH_PERMANENT, "address is not allowed" },
		{ "ERROR: [generic] Unable to download webpage: <urlopen error "
		  "Tunnel connection failed: 403 Refused by clipmill: port 22 "
		  "cannot be used (only 80 and 443)>", FETCH_PERMANENT,
		  "address is not allowed" },
	};
	static const struct { const char *line; int pct; } prog[] = {
		{ "clipmill-progress 50 100 NA", 50 },
		{ "clipmill-progress 10 NA 40", 25 },
		{ "clipmill-progress 10 NA NA", 0 },
		{ "clipmill-progress 200 100 NA", 100 },
		{ "[download] 10%", -1 },
		{ "clipmill-progress x 1 1", -1 },
	};
	struct asr_words w = { NULL, 0, 0 };
	char err[256], name[256];
	const char *sentence;
	size_t i, *b = NULL;
	float env[100];
	long n;
	json_t *segs;

	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		snprintf(name, sizeof(name), "address %s %s", ips[i].ip,
		    ips[i].blocked ? "blocked" : "allowed");
		ok(blocked(ips[i].ip) == ips[i].blocked, name);
	}
	for (i = 0; i < sizeof(yt) / sizeof(yt[0]); i++) {
		enum fetch_rc r = fetch_ytdlp_classify(yt[i].line, &sentence);
		snprintf(name, sizeof(name), "yt-dlp line %zu -> \"%s\"", i,
		    yt[i].has);
		ok(r == yt[i].rc && strstr(sentence, yt[i].has) != NULL, name);
	}
	for (i = 0; i < sizeof(prog) / sizeof(prog[0]); i++) {
		snprintf(name, sizeof(name), "progress \"%s\" = %d", prog[i].line,
		    prog[i].pct);
		ok(fetch_ytdlp_progress(prog[i].line) == prog[i].pct, name);
	}
	proxy_table();
	ok(asr_retry_after("7", 60) == 7, "Retry-After seconds");
	ok(asr_retry_after("999", 60) == 60, "Retry-After capped");
	ok(asr_retry_after("soon", 60) == -1, "Retry-After garbage");
	ok(asr_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 60) == 0,
	    "Retry-After date in the past");
	ok(probe_norm_rotation(-90) == 90 && probe_norm_rotation(90) == 270
	    && probe_norm_rotation(180) == 180 && probe_norm_rotation(0) == 0,
	    "display matrix rotation normalised clockwise");

	/* verbose_json: words re-based by the chunk offset, sentence ends
	 * and confidence from segments */
	{
		const char *body = "{\"text\":\"Hi there. Go!\",\"words\":["
		    "{\"word\":\"Hi\",\"start\":0.1,\"end\":0.3},"
		    "{\"word\":\"there\",\"start\":0.3,\"end\":0.6},"
		    "{\"word\":\"Go\",\"start\":1.0,\"end\":1.2}],"
		    "\"segments\":[{\"start\":0,\"end\":0.7,\"text\":\" Hi there.\","
		    "\"avg_logprob\":-0.1},{\"start\":0.9,\"end\":1.3,\"text\":\" Go!\"}]}";
		const char *nowords = "{\"text\":\"a b\",\"segments\":[{\"start\":"
		    "0,\"end\":2,\"text\":\"a b\"}]}";
		int r = asr_openai_parse(body, strlen(body), 100, &w, err,
		    sizeof(err));
		ok(r == 0 && w.n == 3, "openai answer parsed");
		ok(w.n == 3 && fabs(w.v[2].start - 101.0) < 1e-9,
		    "openai times re-based by the chunk offset");
		ok(w.n == 3 && w.v[1].punct == '.' && w.v[0].punct == 0 &&
		    w.v[2].punct == '!', "openai sentence ends from segments");
		ok(w.n == 3 && fabs(w.v[0].conf - exp(-0.1)) < 1e-6,
		    "openai confidence from avg_logprob");
		w.n = 0;
		ok(asr_openai_parse("{\"words\":[{\"word\":\"x\"}]}", 23, 0,
		    &w, err, sizeof(err)) == -1 && w.n == 0,
		    "openai word without times refused");
		ok(asr_openai_parse("<html>", 6, 0, &w, err, sizeof(err)) ==
		    -1, "openai non-JSON refused");
		ok(asr_openai_parse(nowords, strlen(nowords), 0, &w, err,
		    sizeof(err)) == 0 && w.n == 2 && fabs(w.v[1].start - 1.0) <
		    1e-9, "openai segments without words spread evenly");
		asr_words_free(&w);
	}
	/* Segments: a sentence end, a long pause, a hard cap. */
	asr_words_add(&w, "one", 0.0, 0.4, 0.9);
	asr_words_add(&w, "two", 0.5, 0.9, 0.8);
	w.v[1].punct = '.';
	asr_words_add(&w, "three", 1.0, 1.4, 0.7);
	asr_words_add(&w, "four", 2.5, 2.9, 0.6);	/* after a 1.1 s pause */
	for (i = 0; i < 80; i++)			/* 40 s without pauses */
		asr_words_add(&w, "w", 3.0 + i * 0.5, 3.5 + i * 0.5, 0.5);
	segs = transcript_segments(&w);
	ok(segs != NULL && json_array_size(segs) >= 4,
	    "segments split at sentence end, pause and length");
	ok(segs != NULL && strcmp(json_string_value(json_object_get(
	    json_array_get(segs, 0), "text")), "one two.") == 0,
	    "segment text ends with its sentence mark");
	ok(segs != NULL && json_array_size(json_object_get(json_array_get(
	    segs, 1), "words")) == 1, "a pause ends a segment");
	for (i = 0; segs != NULL && i < json_array_size(segs); i++) {
		json_t *s = json_array_get(segs, i);
		double d = json_number_value(json_object_get(s, "end")) -
		    json_number_value(json_object_get(s, "start"));
		if (d > 30.0 + 1e-9)
			break;
	}
	ok(segs != NULL && i == json_array_size(segs),
	    "no segment longer than 30 s");
	json_decref(segs);
	asr_words_free(&w);

	/* Chunks cut at the quietest frame of each window's second half. */
	for (i = 0; i < 100; i++)
		env[i] = -20;
	env[37] = -60;
	env[70] = -70;
	n = audio_split(env, 100, 40, &b);
	ok(n == 3 && b[0] == 0 && b[1] == 37 && b[2] == 70 && b[3] == 100,
	    "audio split at quiet frames");
	free(b);
	n = audio_split(env, 10, 40, &b);
	ok(n == 1 && b[1] == 10, "short audio is one chunk");
	free(b);
}

static long
maxrss_kb(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ru.ru_maxrss;
}

/* CPU seconds (user + system) of this process and its waited-for
 * children: the work done, whatever else the machine is doing. */
static double
cpu_s(void)
{
	struct rusage a, b;

	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec +
	    b.ru_stime.tv_sec + (a.ru_utime.tv_usec + a.ru_stime.tv_usec +
	    b.ru_utime.tv_usec + b.ru_stime.tv_usec) / 1e6;
}

static int
run_stage(const char *name, const char *jobjson, const char *scratch)
{
	const struct stage *st = stage_find(name);
	struct task t;
	struct task_ctx ctx;
	struct store *store;
	json_t *result = NULL, *rep;
	json_error_t je;
	char err[1024] = "";
	enum stage_rc rc;
	static const char *const names[] = { "ok", "transient", "permanent",
	    "cancelled" };
	long long t0;

	if (st == NULL) {
		fprintf(stderr, "no stage %s\n", name);
		return 2;
	}
	memset(&t, 0, sizeof(t));
	if ((t.job = json_loads(jobjson, 0, &je)) == NULL) {
		fprintf(stderr, "bad job JSON: %s\n", je.text);
		return 2;
	}
	t.id = 1;
	t.job_id = json_integer_value(json_object_get(t.job, "id"));
	snprintf(t.stage, sizeof(t.stage), "%s", name);
	t.attempts = 1;
	t.max_attempts = 3;
	t.payload = json_object();
	if ((store = store_open(err, sizeof(err))) == NULL) {
		fprintf(stderr, "store: %s\n", err);
		return 2;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.task = &t;
	ctx.store = store;
	ctx.scratch = scratch;
	ctx.fd = -1;
	t0 = now_ms();
	rc = st->run(&ctx, &result, err, sizeof(err));
	rep = json_pack("{sssssO?sOsIsfsIsI}", "rc", names[rc], "err", err,
	    "result", result, "events", events, "ms", (json_int_t)(now_ms() - t0),
	    "cpu_s", cpu_s(),
	    "maxrss_kb", (json_int_t)maxrss_kb(RUSAGE_SELF),
	    "children_maxrss_kb", (json_int_t)maxrss_kb(RUSAGE_CHILDREN));
	json_dumpf(rep, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(rep);
	json_decref(result);
	json_decref(t.job);
	json_decref(t.payload);
	store_close(store);
	return 0;
}

static int
run_done(const char *name, const char *jobid, const char *resjson)
{
	const struct stage *st = stage_find(name);
	struct task t;
	char err[512] = "";
	PGconn *c;
	json_t *res;
	long long id;
	int rc = 1;

	if (st == NULL || parse_ll(jobid, 1, INT64_MAX, &id) == -1 ||
	    (res = json_loads(resjson, 0, NULL)) == NULL) {
		fprintf(stderr, "usage: done STAGE JOB_ID RESULT_JSON\n");
		return 2;
	}
	memset(&t, 0, sizeof(t));
	t.job_id = id;
	if ((c = db_connect(err, sizeof(err))) == NULL)
		goto out;
	if (db_cmd(c, err, sizeof(err), "BEGIN", 0, NULL) == 0 &&
	    st->done(c, &t, res, err, sizeof(err)) == 0 &&
	    db_cmd(c, err, sizeof(err), "COMMIT", 0, NULL) == 0)
		rc = 0;
	PQfinish(c);
out:
	if (rc)
		fprintf(stderr, "done: %s\n", err);
	json_decref(res);
	return rc;
}

static int
run_proxy(const char *portarg)
{
	struct fetch_proxy *px;
	char err[256], refusal[512], b[64];
	long long port;

	if (parse_ll(portarg, 0, 65535, &port) == -1) {
		fprintf(stderr, "usage: proxy PORT\n");
		return 2;
	}
	if ((px = fetch_proxy_start((int)port, err, sizeof(err))) == NULL) {
		fprintf(stderr, "proxy: %s\n", err);
		return 1;
	}
	printf("%s\n", fetch_proxy_url(px));
	fflush(stdout);
	while (read(0, b, sizeof(b)) > 0)
		;
	fetch_proxy_stop(px, refusal, sizeof(refusal));
	printf("refusal: %s\n", refusal);
	return 0;
}

static int
run_audio(const char *src, const char *pcm)
{
	struct task t;
	struct task_ctx ctx;
	struct audio a;
	char err[512] = "";
	enum audio_rc r;
	long long t0 = now_ms();

	memset(&t, 0, sizeof(t));
	memset(&ctx, 0, sizeof(ctx));
	ctx.task = &t;
	ctx.fd = -1;
	r = audio_extract(&ctx, src, NULL, pcm, &a, 0, 100, err, sizeof(err));
	printf("{\"rc\":%d,\"samples\":%lld,\"envelope\":%zu,"
	    "\"ms\":%lld,\"maxrss_kb\":%ld}\n", (int)r, a.samples, a.ndbfs,
	    now_ms() - t0, maxrss_kb(RUSAGE_SELF));
	if (r != AUDIO_OK)
		fprintf(stderr, "audio: %s\n", err);
	audio_free(&a);
	return r == AUDIO_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	char err[512];
	int rc;

	events = json_array();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc == 1) {
		if (config_load("/dev/null", err, sizeof(err)) == -1)
			return 2;
		tables();
		return tap_done();
	}
	if (config_load(NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	log_init("warn", NULL);
	if (argc == 5 && strcmp(argv[1], "run") == 0)
		rc = run_stage(argv[2], argv[3], argv[4]);
	else if (argc == 5 && strcmp(argv[1], "done") == 0)
		rc = run_done(argv[2], argv[3], argv[4]);
	else if (argc == 4 && strcmp(argv[1], "audio") == 0)
		rc = run_audio(argv[2], argv[3]);
	else if (argc == 3 && strcmp(argv[1], "proxy") == 0)
		rc = run_proxy(argv[2]);
	else {
		fprintf(stderr, "usage: mediain [run STAGE JOB SCRATCH | done "
		    "STAGE JOB_ID RESULT | audio SRC PCM | proxy PORT]\n");
		rc = 2;
	}
	json_decref(events);
	curl_global_cleanup();
	return rc;
}
