/*
 * Table tests for the job specification (lib/jobspec.c) and the media
 * type table (lib/mediatype.c): every field's bounds accepted and refused,
 * the sentences built from the table, the checks across fields, the
 * options JSON, and the upload, probe and MIME lookups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec.h"
#include "mediatype.h"
#include "tap.h"

static const struct backends all = { 1, 1, 1, 3, 20, 60 };
static const struct backends none = { 0, 0, 0, 3, 20, 60 };

/* Set NAME to VAL on a fresh spec; 0 or -1, ERR. */
static int
set(const char *name, const char *val, const struct backends *be, char *err,
    size_t errlen)
{
	struct jobspec js;

	jobspec_defaults(&js, be);
	err[0] = '\0';
	return jobspec_set(&js, jobspec_field(name), val, be, err, errlen);
}

/* Every JF_INT field: its bounds from the table, and the sentence. */
static void
test_ints(void)
{
	const struct jobfield *f;
	char v[32], err[256], want[64];

	for (f = jobspec_fields; f->name != NULL; f++) {
		if (f->type != JF_INT)
			continue;
		snprintf(want, sizeof(want), "from %lld to %lld", f->min, f->max);
		snprintf(v, sizeof(v), "%lld", f->min);
		ok(set(f->name, v, &all, err, sizeof(err)) == 0, "%s=%s", f->name, v);
		snprintf(v, sizeof(v), "%lld", f->max);
		ok(set(f->name, v, &all, err, sizeof(err)) == 0, "%s=%s", f->name, v);
		snprintf(v, sizeof(v), "%lld", f->min - 1);
		ok(set(f->name, v, &all, err, sizeof(err)) == -1 &&
		    strstr(err, want) != NULL, "%s=%s refused: %s", f->name, v, err);
		snprintf(v, sizeof(v), "%lld", f->max + 1);
		ok(set(f->name, v, &all, err, sizeof(err)) == -1 &&
		    strstr(err, want) != NULL, "%s=%s refused", f->name, v);
		ok(set(f->name, "2.5", &all, err, sizeof(err)) == -1 &&
		    strstr(err, "not \"2.5\"") != NULL, "%s=2.5 refused", f->name);
	}
	ok(jobspec_field("clips")->max == JOBSPEC_CLIPS_MAX &&
	    JOBSPEC_CLIPS_MAX == 10, "clips: 1 to 10");
	ok(jobspec_field("max_len")->max == JOBSPEC_LEN_MAX &&
	    JOBSPEC_LEN_MAX == 3600, "lengths: up to 3600 s");
}

/* Every JF_ENUM field: each word, a wrong one refused with all listed. */
static void
test_enums(void)
{
	const struct jobfield *f;
	char err[256];
	size_t i;
	int listed;

	for (f = jobspec_fields; f->name != NULL; f++) {
		if (f->type != JF_ENUM)
			continue;
		for (i = 0; f->words[i] != NULL; i++)
			ok(set(f->name, f->words[i], &all, err, sizeof(err)) == 0,
			    "%s=%s", f->name, f->words[i]);
		ok(set(f->name, "nope", &all, err, sizeof(err)) == -1,
		    "%s=nope refused", f->name);
		for (listed = 1, i = 0; f->words[i] != NULL; i++)
			listed &= strstr(err, f->words[i]) != NULL;
		ok(listed && strstr(err, "not \"nope\"") != NULL,
		    "%s: the refusal lists every choice: %s", f->name, err);
		if (f->gated != NULL)
			ok(set(f->name, f->gated, &none, err, sizeof(err)) == -1 &&
			    strstr(err, "not configured") != NULL,
			    "%s=%s refused when the server lacks it", f->name,
			    f->gated);
	}
}

/* Every field refuses bytes that are not UTF-8 (the CLI's arguments come
 * this way to PostgreSQL). */
static void
test_utf8(void)
{
	const struct jobfield *f;
	char err[256];

	for (f = jobspec_fields; f->name != NULL; f++)
		ok(set(f->name, "http://x.org/\xff", &all, err,
		    sizeof(err)) == -1 && strcmp(err, "is not valid UTF-8 text")
		    == 0, "%s: invalid UTF-8 refused", f->name);
}

static void
test_values(void)
{
	static const struct {
		const char *field, *val;
		int good;
		const char *errpart;
	} t[] = {
		{ "url", "https://example.com/v", 1, NULL },
		{ "url", "HTTP://example.com/v", 1, NULL },
		{ "url", "", 1, NULL },
		{ "url", "ftp://example.com/v", 0, "http:// or https://" },
		{ "url", "https://", 0, "no host" },
		{ "url", "https:///v", 0, "no host" },
		{ "url", "https://?x", 0, "no host" },
		{ "url", "https://x/a b", 0, "space" },
		{ "url", "https://x/a\tb", 0, "control" },
		{ "captions", "off", 1, NULL },
		{ "captions", "yes", 1, NULL },
		{ "captions", "maybe", 0, "on or off" },
		{ "language", "en", 1, NULL },
		{ "language", "deu", 1, NULL },
		{ "language", "e", 0, "language code" },
		{ "language", "EN", 0, "language code" },
		{ "language", "engl", 0, "language code" },
		{ "first_stage", "test_noop", 1, NULL },
		{ "first_stage", "fetch", 0, "test stage" },
		{ "first_stage", "test_a1", 0, "test stage" },
	};
	char err[256], url[JOBSPEC_URL_MAX + 16];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rc = set(t[i].field, t[i].val, &all, err, sizeof(err));
		if (t[i].good)
			ok(rc == 0, "%s=\"%s\" accepted", t[i].field, t[i].val);
		else
			ok(rc == -1 && strstr(err, t[i].errpart) != NULL,
			    "%s=\"%s\" refused: %s", t[i].field, t[i].val, err);
	}
	ok(set("first_stage", "test_noop", &none, err, sizeof(err)) == -1 &&
	    strstr(err, "test_stages") != NULL, "first_stage without test_stages");
	/* the URL cap: JOBSPEC_URL_MAX characters pass, one more does not */
	snprintf(url, sizeof(url), "https://x/");
	memset(url + 10, 'a', JOBSPEC_URL_MAX - 10);
	url[JOBSPEC_URL_MAX] = '\0';
	ok(set("url", url, &all, err, sizeof(err)) == 0, "url of 2048 characters");
	url[JOBSPEC_URL_MAX] = 'a';
	url[JOBSPEC_URL_MAX + 1] = '\0';
	ok(set("url", url, &all, err, sizeof(err)) == -1 &&
	    strstr(err, "longer than 2048 characters") != NULL,
	    "url of 2049 characters refused");
}

/* The checks across fields, the names they use and the options JSON. */
static void
test_finish(void)
{
	struct jobspec js;
	char err[256], field[32], name[32], *s;
	json_t *o;
	int rc;

	jobspec_defaults(&js, &all);
	rc = jobspec_finish(&js, 0, 0, field, sizeof(field), err, sizeof(err));
	ok(rc == -1 && strcmp(field, "url") == 0 && strstr(err, "required"),
	    "no URL and no file: url is required");
	snprintf(js.url, sizeof(js.url), "https://x/v");
	rc = jobspec_finish(&js, 1, 0, field, sizeof(field), err, sizeof(err));
	ok(rc == -1 && strcmp(field, "url") == 0, "a URL and a file: refused");
	js.min_len = 50;
	js.max_len = 40;
	rc = jobspec_finish(&js, 0, 0, field, sizeof(field), err, sizeof(err));
	ok(rc == -1 && strcmp(field, "min_len") == 0 &&
	    strcmp(err, "must not be longer than max_len (40 s)") == 0,
	    "min_len > max_len, as the web names it: %s", err);
	rc = jobspec_finish(&js, 0, 1, field, sizeof(field), err, sizeof(err));
	ok(rc == -1 && strcmp(jobspec_name(field, 1, name, sizeof(name)),
	    "--min-len") == 0 &&
	    strcmp(err, "must not be longer than --max-len (40 s)") == 0,
	    "min_len > max_len, as the CLI names it: %s %s", name, err);
	ok(strcmp(jobspec_name("url", 1, name, sizeof(name)), "the URL") == 0 &&
	    strcmp(jobspec_name("transcribe_backend", 1, name, sizeof(name)),
	    "--transcribe-backend") == 0 &&
	    strcmp(jobspec_name("min_len", 0, name, sizeof(name)), "min_len") == 0,
	    "field names as flags");

	jobspec_defaults(&js, &none);
	snprintf(js.url, sizeof(js.url), "https://x/v");
	jobspec_set(&js, jobspec_field("aspects"), "4:5", &none, err, sizeof(err));
	jobspec_set(&js, jobspec_field("aspects"), "9:16", &none, err, sizeof(err));
	jobspec_set(&js, jobspec_field("aspects"), "4:5", &none, err, sizeof(err));
	jobspec_set(&js, jobspec_field("captions"), "off", &none, err, sizeof(err));
	rc = jobspec_finish(&js, 0, 0, field, sizeof(field), err, sizeof(err));
	o = jobspec_options(&js);
	s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	ok(rc == 0 && s != NULL && strcmp(s, "{\"clips\":3,\"min_len\":20,"
	    "\"max_len\":60,\"aspects\":[\"9:16\",\"4:5\"],\"captions\":false,"
	    "\"caption_style\":\"bold\",\"layout\":\"auto\","
	    "\"transcribe_backend\":\"pocketsphinx\",\"select_backend\":"
	    "\"heuristic\",\"language\":\"en\"}") == 0, "options JSON: %s", s ? s : "NULL");
	free(s);
	json_decref(o);
	{
		struct backends d = all;
		d.openai = d.llm = 2;
		jobspec_defaults(&js, &d);
		ok(strcmp(js.transcribe_backend, "openai") == 0 &&
		    strcmp(js.select_backend, "llm") == 0 && js.captions == 1 &&
		    strcmp(js.language, "en") == 0,
		    "defaults follow the configured backends");
	}
}

static void
test_mediatypes(void)
{
	const struct mediatype *m;
	char ext[MEDIATYPE_EXT_MAX + 1], err[512];
	int listed = 1, n = 0;

	ok(mediatype_upload_ext("x.exe", ext, sizeof(ext), err, sizeof(err)) ==
	    -1 && strstr(err, "\"x.exe\" is not a video or audio file") != NULL,
	    "x.exe refused: %s", err);
	for (m = mediatypes; m->ext != NULL; m++) {
		if (m->upload) {
			listed &= strstr(err, m->ext) != NULL;
			n++;
		}
	}
	ok(listed && n == 17, "the refusal lists every upload type (%d)", n);
	ok(strstr(err, "wmv") == NULL, "and no other");
	ok(mediatype_upload_ext("/tmp/My Talk.MKV", ext, sizeof(ext), NULL, 0) ==
	    0 && strcmp(ext, "mkv") == 0, "upload ext mkv, lower-cased");
	ok(mediatype_upload_ext("dir.mp4/file", ext, sizeof(ext), NULL, 0) == -1,
	    "a dot in a folder name is no extension");
	ok(mediatype_upload_ext("v.wmv", ext, sizeof(ext), NULL, 0) == -1,
	    "wmv is probed but not uploaded");
	ok(strcmp(mediatype_source_ext("mov,mp4,m4a,3gp,3g2,mj2", "h264"),
	    "mp4") == 0, "mov demuxer: mp4");
	ok(strcmp(mediatype_source_ext("matroska,webm", "vp9"), "webm") == 0,
	    "matroska with vp9: webm");
	ok(strcmp(mediatype_source_ext("matroska,webm", "h264"), "mkv") == 0,
	    "matroska with h264: mkv");
	ok(strcmp(mediatype_source_ext("mpeg", "mpeg2video"), "mpg") == 0 &&
	    strcmp(mediatype_source_ext("asf", "wmv2"), "wmv") == 0 &&
	    strcmp(mediatype_source_ext("ogg", "theora"), "ogv") == 0 &&
	    strcmp(mediatype_source_ext("mpegts", "h264"), "ts") == 0,
	    "mpeg, asf, ogg, mpegts");
	ok(strcmp(mediatype_source_ext("image2", "png"), "bin") == 0,
	    "an unknown demuxer: bin");
	ok(strcmp(mediatype_mime("mkv"), "video/x-matroska") == 0 &&
	    strcmp(mediatype_mime("MP4"), "video/mp4") == 0 &&
	    strcmp(mediatype_mime("bin"), "application/octet-stream") == 0,
	    "MIME types");
}

int
main(void)
{
	test_ints();
	test_enums();
	test_utf8();
	test_values();
	test_finish();
	test_mediatypes();
	return tap_done();
}
