/*
 * Table tests for the web front's parsers: urlencoded, JSON bodies,
 * cookies, multipart boundaries and bodies (fed whole and byte by byte),
 * route paths, and the job validator table.  parse.c and validate.c use
 * neither libfcgi nor the database; they are linked from
 * build/libfcgi_front.a.
 */
#define WEB_PARSERS_ONLY 1
#include <stdio.h>
#include <string.h>

#include "extern.h"
#include "mediatype.h"
#include "tap.h"

/* "k=v|k=v" rendering of a form, for comparisons. */
static void
render(const struct form *f, char *out, size_t len)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < f->n && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s=%s", i ? "|" : "",
		    f->f[i].key, f->f[i].val);
}

/* utf8_valid_prefix() and utf8_scrub() (lib/util.c): the check every
 * text field from the network passes. */
static void
test_utf8(void)
{
	static const struct {
		const char *in;
		size_t valid;		/* the well-formed prefix */
		const char *scrubbed;
	} t[] = {
		{ "", 0, "" },
		{ "abc", 3, "abc" },
		{ "h\xc3\xa9", 3, "h\xc3\xa9" },			/* e acute */
		{ "\xef\xbf\xbf", 3, "\xef\xbf\xbf" },		/* U+FFFF */
		{ "\xf0\x9f\x8e\xac!", 5, "\xf0\x9f\x8e\xac!" },	/* U+1F3AC */
		{ "\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf" },	/* U+10FFFF */
		{ "a\xff", 1, "a?" },
		{ "a\x80" "b", 1, "a?b" },			/* lone continuation */
		{ "ab\xc3", 2, "ab?" },				/* cut short */
		{ "x\xe2\x82y", 1, "x??y" },
		{ "\xc0\xaf", 0, "??" },				/* overlong '/' */
		{ "\xe0\x80\xaf", 0, "???" },			/* overlong */
		{ "\xf0\x80\x80\xaf", 0, "????" },			/* overlong */
		{ "\xed\xa0\x80", 0, "???" },			/* surrogate */
		{ "\xf4\x90\x80\x80", 0, "????" },			/* past U+10FFFF */
		{ "\xf5\x80\x80\x80", 0, "????" },
	};
	char buf[32];
	size_t i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = utf8_valid_prefix(t[i].in, strlen(t[i].in));
		snprintf(buf, sizeof(buf), "%s", t[i].in);
		utf8_scrub(buf);
		ok(n == t[i].valid && strcmp(buf, t[i].scrubbed) == 0,
		    "utf8 row %zu: valid prefix %zu, scrubbed \"%s\"", i, n, buf);
	}
}

static void
test_urlencoded(void)
{
	static const struct {
		const char *in, *want;	/* want NULL: error */
		const char *errpart;
	} t[] = {
		{ "a=1&b=2", "a=1|b=2", NULL },
		{ "url=http%3A%2F%2Fx.org%2Fv%3Fa%3D1&clips=3",
		    "url=http://x.org/v?a=1|clips=3", NULL },
		{ "a=hello+world", "a=hello world", NULL },
		{ "a=", "a=", NULL },
		{ "a", "a=", NULL },
		{ "a=1&&b=2&", "a=1|b=2", NULL },
		{ "aspects=9%3A16&aspects=1%3A1", "aspects=9:16|aspects=1:1", NULL },
		{ "", "", NULL },
		{ "a=%zz", NULL, "a: bad percent-encoding" },
		{ "a=%4", NULL, "a: bad percent-encoding" },
		{ "a=%00", NULL, "a: contains a NUL byte" },
		{ "A=1", NULL, "field name" },
		{ "a%20b=1", NULL, "field name" },
		{ "=1", NULL, "field name" },
		{ "url=caf%C3%A9", "url=caf\xc3\xa9", NULL },
		{ "url=http://x.org/%FF", NULL, "url: is not valid UTF-8 text" },
		{ "caption_style=%C3", NULL, "caption_style: is not valid UTF-8" },
		{ "q=%ED%A0%80", NULL, "q: is not valid UTF-8" },
	};
	struct form f = { .n = 0 };
	char err[256], got[512], name[128];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		rc = parse_urlencoded(t[i].in, strlen(t[i].in), &f, err, sizeof(err));
		render(&f, got, sizeof(got));
		snprintf(name, sizeof(name), "urlencoded \"%s\"", t[i].in);
		if (t[i].want != NULL)
			ok(rc == 0 && strcmp(got, t[i].want) == 0, name);
		else
			ok(rc == -1 && strstr(err, t[i].errpart) != NULL, name);
		form_free(&f);
	}
	/* caps: 65 fields, one value over 8 KB, a body over 64 KB */
	{
		char big[70000];
		size_t o = 0;
		for (i = 0; i < 65; i++)
			o += (size_t)snprintf(big + o, sizeof(big) - o, "f%zu=1&", i);
		rc = parse_urlencoded(big, o, &f, err, sizeof(err));
		ok(rc == -1 && strstr(err, "too many fields"), "urlencoded field cap");
		form_free(&f);
		memcpy(big, "a=", 2);
		memset(big + 2, 'x', 9000);
		rc = parse_urlencoded(big, 9002, &f, err, sizeof(err));
		ok(rc == -1 && strstr(err, "a: the value is longer"), "urlencoded value cap");
		form_free(&f);
		memset(big + 2, 'x', sizeof(big) - 2);
		rc = parse_urlencoded(big, sizeof(big), &f, err, sizeof(err));
		ok(rc == -1 && strstr(err, "larger than"), "urlencoded body cap");
		form_free(&f);
	}
}

static void
test_json(void)
{
	static const struct {
		const char *in, *want, *errpart;
	} t[] = {
		{ "{\"url\":\"https://x/v\",\"clips\":3}", "url=https://x/v|clips=3", NULL },
		{ "{\"aspects\":[\"9:16\",\"1:1\"]}", "aspects=9:16|aspects=1:1", NULL },
		{ "{\"captions\":false,\"x\":null}", "captions=false", NULL },
		{ "{\"min_len\":2.5}", "min_len=2.5", NULL },
		/* numbers as written, not as "%.17g" spells their double */
		{ "{\"clips\":3.7}", "clips=3.7", NULL },
		{ "{\"clips\":0.1}", "clips=0.1", NULL },
		{ "{\"clips\":-12.25}", "clips=-12.25", NULL },
		{ "{\"clips\":3.0}", "clips=3", NULL },
		{ "{\"clips\":1e300}", "clips=1e+300", NULL },
		{ "{\"clips\":1.5e-7}", "clips=1.5e-07", NULL },
		{ "{\"clips\":0.30000000000000004}", "clips=0.30000000000000004", NULL },
		{ "{\"clips\":2.2250738585072014e-308}",
		    "clips=2.2250738585072014e-308", NULL },
		{ "{\"url\":", NULL, "not valid JSON" },
		{ "[1,2]", NULL, "must be a JSON object" },
		{ "{\"a\":1,\"a\":2}", NULL, "not valid JSON" },
		{ "{\"clips\":{\"n\":1}}", NULL, "clips: must be a string" },
		{ "{\"Bad\":1}", NULL, "field name" },
		{ "{\"s\":\"a\\u0000b\"}", NULL, "not valid JSON" },
	};
	struct form f = { .n = 0 };
	char err[256], got[512], name[160];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		rc = parse_json_body(t[i].in, strlen(t[i].in), &f, err, sizeof(err));
		render(&f, got, sizeof(got));
		snprintf(name, sizeof(name), "json %s", t[i].in);
		if (t[i].want != NULL)
			ok(rc == 0 && strcmp(got, t[i].want) == 0, name);
		else
			ok(rc == -1 && strstr(err, t[i].errpart) != NULL, name);
		form_free(&f);
	}
	rc = parse_json_body("{\"url\":\n  oops}", 15, &f, err, sizeof(err));
	ok(rc == -1 && strstr(err, "line 2"), "json error names the line");
}

static void
test_cookie(void)
{
	static const struct {
		const char *h, *name, *want;
	} t[] = {
		{ "cm_session=abc", "cm_session", "abc" },
		{ "a=1; cm_session=abc; b=2", "cm_session", "abc" },
		{ "xcm_session=abc", "cm_session", NULL },
		{ "cm_session=\"q\"", "cm_session", "q" },
		{ "a=1;cm_session=v ", "cm_session", "v" },
		{ "cm_session", "cm_session", NULL },
		{ "", "cm_session", NULL },
	};
	char out[16], name[128];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rc = cookie_get(t[i].h, t[i].name, out, sizeof(out));
		snprintf(name, sizeof(name), "cookie \"%s\"", t[i].h);
		ok(t[i].want ? rc == 0 && strcmp(out, t[i].want) == 0 : rc == -1,
		    name);
	}
	rc = cookie_get("cm_session=0123456789abcdefXYZ", "cm_session", out,
	    sizeof(out));
	ok(rc == -1, "cookie longer than the buffer refused");
}

static void
test_paths(void)
{
	long long id = 0;

	ok(path_match("/jobs/42", "/jobs/%", &id) && id == 42, "path /jobs/42");
	ok(path_match("/jobs/42/events", "/jobs/%/events", &id) && id == 42,
	    "path events");
	ok(!path_match("/jobs/042", "/jobs/%", &id), "path leading zero");
	ok(!path_match("/jobs/", "/jobs/%", &id), "path no id");
	ok(!path_match("/jobs/4x", "/jobs/%", &id), "path junk after id");
	ok(!path_match("/jobs/99999999999999999999", "/jobs/%", &id),
	    "path id overflow");
	ok(!path_match("/jobs/1/events/x", "/jobs/%/events", &id), "path tail");
}

/* If-None-Match against an ETag: the weak comparison, lists, "*". */
static void
test_etag(void)
{
	static const struct {
		const char	*header, *etag;
		int		 want;
	} t[] = {
		{ "W/\"j1\"", "W/\"j1\"", 1 },
		{ "\"j1\"", "W/\"j1\"", 1 },	/* weak: W/ ignored */
		{ "W/\"j1\"", "\"j1\"", 1 },
		{ "\"a\", W/\"j1\"", "W/\"j1\"", 1 },
		{ "\"a\",\"b\"", "W/\"j1\"", 0 },
		{ "*", "W/\"j1\"", 1 },
		{ "W/\"j12\"", "W/\"j1\"", 0 },
		{ "W/\"j\"", "W/\"j1\"", 0 },
		{ "j1", "W/\"j1\"", 0 },		/* not a quoted tag */
		{ "\"j1", "W/\"j1\"", 0 },		/* unterminated */
		{ "", "W/\"j1\"", 0 },
		{ NULL, "W/\"j1\"", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(*t); i++)
		ok(etag_match(t[i].header, t[i].etag) == t[i].want,
		    "If-None-Match %s against %s", t[i].header ? t[i].header :
		    "(none)", t[i].etag);
}

struct filesink {
	char	 data[4096];
	size_t	 len;
	int	 starts;
	char	 fname[256];
};

static int
sink(void *arg, const struct mp_part *p, const char *d, size_t n, char *err,
    size_t errlen)
{
	struct filesink *s = arg;

	(void)err;
	(void)errlen;
	if (d == NULL) {
		s->starts++;
		snprintf(s->fname, sizeof(s->fname), "%s", p->filename);
		return 0;
	}
	if (s->len + n > sizeof(s->data))
		return -1;
	memcpy(s->data + s->len, d, n);
	s->len += n;
	return 0;
}

/* Parse BODY whole (step 0) or in pieces of STEP bytes. */
static int
mp_run(const char *body, size_t len, size_t step, struct form *f,
    struct filesink *s, char *err, size_t errlen)
{
	struct multipart m;
	size_t i, n;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	memset(s, 0, sizeof(*s));
	m.arg = s;
	m.on_file = sink;
	if (mp_init(&m, "XyZ", f, err, errlen) == -1)
		return -1;
	for (i = 0; i < len; i += n) {
		n = step ? step : len;
		if (n > len - i)
			n = len - i;
		if (mp_feed(&m, body + i, n, err, errlen) == -1)
			goto out;
	}
	rc = mp_finish(&m, err, errlen);
out:
	mp_free(&m);
	return rc;
}

static void
test_multipart(void)
{
	/* the file's bytes hold CRs, a CRLF--, and a near-boundary */
	static const char file[] = "\x00\x01\r\r\n-\r\n--XyY\r\n--Xy\rEND";
	char body[1024], err[256], got[512], name[128];
	struct filesink s;
	struct form f = { .n = 0 };
	size_t len, step;
	int rc;

	len = (size_t)snprintf(body, sizeof(body),
	    "preamble\r\n--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"url\"\r\n\r\n"
	    "\r\n--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"clips\"\r\n\r\n"
	    "4\r\n--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"file\"; filename=\"a b.mp4\"\r\n"
	    "Content-Type: video/mp4\r\n\r\n");
	memcpy(body + len, file, sizeof(file) - 1);
	len += sizeof(file) - 1;
	len += (size_t)snprintf(body + len, sizeof(body) - len,
	    "\r\n--XyZ--\r\nepilogue");
	for (step = 0; step <= 7; step++) {
		rc = mp_run(body, len, step, &f, &s, err, sizeof(err));
		render(&f, got, sizeof(got));
		snprintf(name, sizeof(name), "multipart in pieces of %zu", step);
		ok(rc == 0 && strcmp(got, "url=|clips=4") == 0 &&
		    s.len == sizeof(file) - 1 &&
		    memcmp(s.data, file, s.len) == 0 && s.starts == 1 &&
		    strcmp(s.fname, "a b.mp4") == 0, name);
		form_free(&f);
	}

	static const struct {
		const char *body, *errpart;
	} bad[] = {
		{ "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",
		    "ends before its closing boundary" },
		{ "--XyZ\r\nContent-Type: text/plain\r\n\r\n1\r\n--XyZ--",
		    "no Content-Disposition" },
		{ "--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n--XyZ--",
		    "missing or bad field name" },
		{ "--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n--XyZ--",
		    "not form-data" },
		{ "--XyZ\r\nbroken header\r\n\r\n1\r\n--XyZ--", "no colon" },
		{ "--XyZ\r\n\r\n1\r\n--XyZ--", "no headers" },
		{ "--XyZ!!", "followed by garbage" },
		{ "nothing at all", "ends before" },
		{ "", "ends before" },
		{ "--XyZ\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\n"
		    "a\xff\r\n--XyZ--", "url: is not valid UTF-8 text" },
		{ "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
		    "filename=\"\xc0\xaf.mp4\"\r\n\r\n1\r\n--XyZ--",
		    "file: the file name is not valid UTF-8" },
	};
	size_t i;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		rc = mp_run(bad[i].body, strlen(bad[i].body), 3, &f, &s, err,
		    sizeof(err));
		snprintf(name, sizeof(name), "multipart refused: %s",
		    bad[i].errpart);
		ok(rc == -1 && strstr(err, bad[i].errpart) != NULL, name);
		form_free(&f);
	}
	/* header block cap */
	{
		static char big[8000];
		len = (size_t)snprintf(big, sizeof(big), "--XyZ\r\nX-Pad: ");
		memset(big + len, 'a', 5000);
		len += 5000;
		rc = mp_run(big, len, 0, &f, &s, err, sizeof(err));
		ok(rc == -1 && strstr(err, "headers are longer"), "multipart header cap");
		form_free(&f);
	}
	/* boundaries from Content-Type */
	{
		char b[80];
		ok(multipart_boundary("multipart/form-data; boundary=abc", b,
		    sizeof(b), err, sizeof(err)) == 0 && strcmp(b, "abc") == 0,
		    "boundary plain");
		ok(multipart_boundary("multipart/form-data; boundary=\"a b\"; x=1",
		    b, sizeof(b), err, sizeof(err)) == 0 && strcmp(b, "a b") == 0,
		    "boundary quoted");
		ok(multipart_boundary("multipart/form-data", b, sizeof(b), err,
		    sizeof(err)) == -1, "boundary missing");
		ok(multipart_boundary("multipart/form-data; boundary=a\rb", b,
		    sizeof(b), err, sizeof(err)) == -1, "boundary with CR refused");
		ok(multipart_boundary("multipart/form-data; boundary=", b,
		    sizeof(b), err, sizeof(err)) == -1, "boundary empty");
	}
}

static void
test_validate(void)
{
	static const struct backends be = { 0, 1, 0, 3, 20, 60 };
	static const struct {
		const char *form;	/* urlencoded */
		int file;
		const char *field;	/* NULL: valid */
		const char *errpart;
		const char *options;	/* expected options JSON when valid */
	} t[] = {
		{ "url=https://example.com/v", 0, NULL, NULL,
		    "{\"clips\": 3, \"min_len\": 20, \"max_len\": 60, \"aspects\": "
		    "[\"9:16\"], \"captions\": true, \"caption_style\": \"bold\", "
		    "\"layout\": \"auto\", \"transcribe_backend\": \"pocketsphinx\", \"select_backend\": "
		    "\"heuristic\", \"language\": \"en\"}" },
		{ "url=http://x.org/a&clips=10&min_len=5&max_len=9&aspects=1:1"
		    "&aspects=4:5&captions=off&captions=on&caption_style=minimal"
		    "&select_backend=llm&language=de&csrf=x", 0, NULL, NULL,
		    "{\"clips\": 10, \"min_len\": 5, \"max_len\": 9, \"aspects\": "
		    "[\"1:1\", \"4:5\"], \"captions\": true, \"caption_style\": "
		    "\"minimal\", \"layout\": \"auto\", \"transcribe_backend\": \"pocketsphinx\", "
		    "\"select_backend\": \"llm\", \"language\": \"de\"}" },
		{ "captions=off&captions=off", 1, NULL, NULL,
		    "{\"clips\": 3, \"min_len\": 20, \"max_len\": 60, \"aspects\": "
		    "[\"9:16\"], \"captions\": false, \"caption_style\": \"bold\", "
		    "\"layout\": \"auto\", \"transcribe_backend\": \"pocketsphinx\", \"select_backend\": "
		    "\"heuristic\", \"language\": \"en\"}" },
		{ "", 0, "url", "is required", NULL },
		{ "url=ftp://x/y", 0, "url", "http:// or https://", NULL },
		{ "url=https://", 0, "url", "no host", NULL },
		{ "url=https://x/a b", 0, "url", "space", NULL },
		{ "url=https://x/a", 1, "url", "left out when a file is given", NULL },
		{ "url=https://x/a&clips=11", 0, "clips", "from 1 to 10", NULL },
		{ "url=https://x/a&clips=abc", 0, "clips", "not \"abc\"", NULL },
		{ "url=https://x/a&clips=1&clips=2", 0, "clips", "more than once", NULL },
		{ "url=https://x/a&min_len=50&max_len=30", 0, "min_len",
		    "not be longer than max_len", NULL },
		{ "url=https://x/a&aspects=16:9", 0, "aspects", "one of 9:16,1:1,4:5", NULL },
		{ "url=https://x/a&captions=maybe", 0, "captions", "on or off", NULL },
		{ "url=https://x/a&caption_style=neon", 0, "caption_style", "one of", NULL },
		{ "url=https://x/a&transcribe_backend=openai", 0,
		    "transcribe_backend", "not configured", NULL },
		{ "url=https://x/a&language=EN", 0, "language", "language code", NULL },
		{ "url=https://x/a&first_stage=test_noop", 0, "first_stage",
		    "test_stages", NULL },
		{ "url=https://x/a&colour=red", 0, "colour", "not a field", NULL },
	};
	struct form f = { .n = 0 };
	struct jobspec js;
	char err[256], field[64], name[300], *opts;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		parse_urlencoded(t[i].form, strlen(t[i].form), &f, err, sizeof(err));
		err[0] = field[0] = '\0';
		rc = validate_job(&f, t[i].file, &be, &js, field, sizeof(field),
		    err, sizeof(err));
		snprintf(name, sizeof(name), "validate \"%s\"%s", t[i].form,
		    t[i].file ? " + file" : "");
		if (t[i].field == NULL) {
			json_t *o = jobspec_options(&js);
			opts = json_dumps(o, JSON_PRESERVE_ORDER);
			ok(rc == 0 && opts && strcmp(opts, t[i].options) == 0, name);
			if (rc != 0 || strcmp(opts, t[i].options) != 0)
				printf("# got %s / %s: %s\n", opts, field, err);
			free(opts);
			json_decref(o);
		} else {
			ok(rc == -1 && strcmp(field, t[i].field) == 0 &&
			    strstr(err, t[i].errpart) != NULL, name);
			if (rc != -1)
				printf("# accepted\n");
			else if (strcmp(field, t[i].field) != 0 ||
			    !strstr(err, t[i].errpart))
				printf("# got %s: %s\n", field, err);
		}
		form_free(&f);
	}
	{
		struct backends tb = be;
		tb.test_stages = 1;
		const char *q = "url=https://x/a&first_stage=test_noop";
		parse_urlencoded(q, strlen(q), &f, err, sizeof(err));
		rc = validate_job(&f, 0, &tb, &js, field, sizeof(field), err,
		    sizeof(err));
		ok(rc == 0 && strcmp(js.first_stage, "test_noop") == 0,
		    "first_stage accepted with test_stages");
		form_free(&f);
	}
	{
		char ext[MEDIATYPE_EXT_MAX + 1];
		ok(mediatype_upload_ext("My Talk.MP4", ext, sizeof(ext), NULL,
		    0) == 0 && strcmp(ext, "mp4") == 0, "upload ext mp4");
		ok(mediatype_upload_ext("x.exe", ext, sizeof(ext), NULL, 0) == -1,
		    "upload ext exe refused");
		ok(mediatype_upload_ext("noext", ext, sizeof(ext), NULL, 0) == -1,
		    "upload no ext refused");
		ok(mediatype_upload_ext("a.mp4.", ext, sizeof(ext), NULL, 0) == -1,
		    "upload trailing dot");
	}
}

int
main(void)
{
	test_utf8();
	test_urlencoded();
	test_json();
	test_cookie();
	test_paths();
	test_etag();
	test_multipart();
	test_validate();
	return tap_done();
}
