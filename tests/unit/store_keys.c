/*
 * Store keys and the stages' store policy as tables: every key builder's
 * spelling (stored data depends on it) and its refusals; which errno is
 * worth a retry (store_errno_rc); a store rc as a stage rc; and where
 * stage_input() finds a file and what its failures mean, against a fake
 * store whose answers the table sets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "runner/stage.h"
#include "store.h"
#include "util.h"
#include "tap.h"

static void
test_keys(void)
{
	static struct {
		const char *name, *want;
		int rc;
		char b[KEY_MAX];
	} c[20];
	char small[12];
	int i = 0;

#define K(call, w) do { c[i].name = #call; c[i].want = (w); \
	c[i].rc = call; i++; } while (0)
	K(key_job_prefix(c[i].b, KEY_MAX, 42), "jobs/42/");
	K(key_job_upload(c[i].b, KEY_MAX, 42, "mp4"), "jobs/42/upload.mp4");
	K(key_job_source(c[i].b, KEY_MAX, 42, "webm"), "jobs/42/source.webm");
	K(key_job_loudness(c[i].b, KEY_MAX, 7), "jobs/7/loudness.json");
	K(key_job_transcript(c[i].b, KEY_MAX, 7), "jobs/7/transcript.json");
	K(key_clip_crop(c[i].b, KEY_MAX, 7, 12), "jobs/7/crop/12.json");
	K(key_clip_render(c[i].b, KEY_MAX, 7, 3, "mp4"), "jobs/7/render/3.mp4");
	K(key_clip_render(c[i].b, KEY_MAX, 7, 3, "jpg"), "jobs/7/render/3.jpg");
	K(key_clips_prefix(c[i].b, KEY_MAX, 7), "clips/7/");
	K(key_clip_public(c[i].b, KEY_MAX, 7, 3,
	    "0123456789abcdef0123456789abcdef", "mp4"),
	    "clips/7/3-0123456789abcdef0123456789abcdef.mp4");
	K(clip_route(c[i].b, KEY_MAX, 12, 0), "/clips/12/video");
	K(clip_route(c[i].b, KEY_MAX, 12, 1), "/clips/12/thumbnail");
	K(key_job_prefix(c[i].b, KEY_MAX, 9223372036854775807LL),
	    "jobs/9223372036854775807/");
	/* refusals leave an empty string, never a part of a key */
	K(key_job_prefix(c[i].b, KEY_MAX, 0), NULL);
	K(key_job_source(c[i].b, KEY_MAX, 1, "../x"), NULL);
	K(key_job_source(c[i].b, KEY_MAX, 1, ""), NULL);
	K(key_clip_render(c[i].b, KEY_MAX, 1, -2, "mp4"), NULL);
	K(key_clip_public(c[i].b, KEY_MAX, 1, 2,
	    "0123456789abcdef0123456789abcdef", NULL), NULL);
	K(key_clip_public(c[i].b, KEY_MAX, 1, 2, "0123456789ABCDEF0123456789abcdef",
	    "mp4"), NULL);
	K(key_clip_public(c[i].b, KEY_MAX, 1, 2, "../", "mp4"), NULL);
#undef K
	for (i = 0; i < (int)(sizeof(c) / sizeof(c[0])); i++) {
		if (c[i].want == NULL)
			ok(c[i].rc == -1 && c[i].b[0] == '\0', "%s refused",
			    c[i].name);
		else
			ok(c[i].rc == 0 && strcmp(c[i].b, c[i].want) == 0 &&
			    (c[i].want[0] == '/' ? 1 :
			    c[i].want[strlen(c[i].want) - 1] == '/' ?
			    store_prefix_valid(c[i].b) : store_key_valid(c[i].b)),
			    "%s is %s (got \"%s\")", c[i].name, c[i].want,
			    c[i].b);
	}
	ok(key_job_transcript(small, sizeof(small), 42) == -1 &&
	    small[0] == '\0', "a key that does not fit is refused, not cut");
	{
		char t1[KEY_TOKEN_LEN + 1], t2[KEY_TOKEN_LEN + 1], k[KEY_MAX];

		ok(key_token(t1) == 0 && key_token(t2) == 0 &&
		    strcmp(t1, t2) != 0 && key_clip_public(k, sizeof(k), 1, 2,
		    t1, "mp4") == 0 && store_key_valid(k),
		    "tokens differ each time and make valid keys (%s)", t1);
	}
}

static void
test_errno(void)
{
	static const struct { int e, want; } t[] = {
		{ ENOSPC, STORE_AGAIN }, { EDQUOT, STORE_AGAIN },
		{ EIO, STORE_AGAIN }, { EINTR, STORE_AGAIN },
		{ EAGAIN, STORE_AGAIN }, { EACCES, STORE_ERR },
		{ EPERM, STORE_ERR }, { ENAMETOOLONG, STORE_ERR },
		{ EROFS, STORE_ERR }, { 0, STORE_ERR },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(store_errno_rc(t[i].e) == t[i].want, "errno %s is %s",
		    strerror(t[i].e), t[i].want == STORE_AGAIN ? "retried" :
		    "not retried");
}

static void
test_stage_rc(void)
{
	static const struct { int s; enum stage_rc want; } t[] = {
		{ STORE_OK, STAGE_OK }, { STORE_AGAIN, STAGE_TRANSIENT },
		{ STORE_ERR, STAGE_PERMANENT }, { STORE_NOTFOUND, STAGE_PERMANENT },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(stage_store_rc(t[i].s) == t[i].want, "store rc %d is stage "
		    "rc %d", t[i].s, (int)t[i].want);
}

/* A store that answers get() with fake_get_rc and has a local file only
 * when fake_local is set. */
static int fake_get_rc, fake_gets;
static const char *fake_local;

static int
fake_get(struct store *s, const char *key, const char *path, char *err,
    size_t errlen)
{
	FILE *f;

	(void)s;
	fake_gets++;
	if (fake_get_rc != STORE_OK) {
		seterr(err, errlen, "fake get of %s failed", key);
		return fake_get_rc;
	}
	if ((f = fopen(path, "w")) == NULL)
		return STORE_ERR;
	fputs("{\"a\":1}", f);
	fclose(f);
	return STORE_OK;
}

static char *
fake_local_path(struct store *s, const char *key)
{
	(void)s;
	(void)key;
	return fake_local != NULL ? strdup(fake_local) : NULL;
}

static void
test_input(void)
{
	static const struct store_ops ops = { .name = "fake", .get = fake_get,
	    .local_path = fake_local_path };
	struct store st = { &ops, NULL };
	struct task_ctx ctx;
	char scratch[] = "/tmp/clipmill-keys.XXXXXX", lf[256], want[300];
	char err[256];
	static const struct {
		const char	*name, *key;
		int		 local;		/* 0 none, 1 readable, 2 missing */
		int		 get_rc;
		enum stage_rc	 want;
		int		 where;		/* 1 local, 2 scratch */
		int		 gets;
	} t[] = {
		{ "the store's own file", "jobs/1/source.mp4", 1, STORE_ERR,
		  STAGE_OK, 1, 0 },
		{ "no local file: downloaded", "jobs/1/source.mp4", 0, STORE_OK,
		  STAGE_OK, 2, 1 },
		{ "local file gone: downloaded", "jobs/1/source.mp4", 2,
		  STORE_OK, STAGE_OK, 2, 1 },
		{ "store down: transient", "jobs/1/source.mp4", 0, STORE_AGAIN,
		  STAGE_TRANSIENT, 0, 1 },
		{ "missing: permanent", "jobs/1/source.mp4", 0, STORE_NOTFOUND,
		  STAGE_PERMANENT, 0, 1 },
		{ "store refuses: permanent", "jobs/1/source.mp4", 0, STORE_ERR,
		  STAGE_PERMANENT, 0, 1 },
		{ "invalid key: permanent", "jobs/../x", 1, STORE_OK,
		  STAGE_PERMANENT, 0, 0 },
		{ "no key: permanent", NULL, 1, STORE_OK, STAGE_PERMANENT, 0, 0 },
	};
	size_t i;
	char *p;
	json_t *o;
	FILE *f;

	if (mkdtemp(scratch) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(lf, sizeof(lf), "%s/local.mp4", scratch);
	snprintf(want, sizeof(want), "%s/in", scratch);
	if ((f = fopen(lf, "w")) != NULL)
		fclose(f);
	memset(&ctx, 0, sizeof(ctx));
	ctx.store = &st;
	ctx.scratch = scratch;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum stage_rc rc;

		fake_local = t[i].local == 1 ? lf : t[i].local == 2 ?
		    "/nonexistent/x.mp4" : NULL;
		fake_get_rc = t[i].get_rc;
		fake_gets = 0;
		err[0] = '\0';
		rc = stage_input(&ctx, t[i].key, "in", &p, err, sizeof(err));
		ok(rc == t[i].want && fake_gets == t[i].gets &&
		    (t[i].where == 0 ? p == NULL && err[0] != '\0' :
		    p != NULL && strcmp(p, t[i].where == 1 ? lf : want) == 0),
		    "stage_input: %s (rc %d, path %s, err %s)", t[i].name,
		    (int)rc, p ? p : "NULL", err);
		free(p);
		unlink(want);
	}
	fake_local = NULL;
	fake_get_rc = STORE_OK;
	ok(stage_input_json(&ctx, "jobs/1/crop/1.json", "in", &o, err,
	    sizeof(err)) == STAGE_OK && json_integer_value(json_object_get(o,
	    "a")) == 1, "stage_input_json reads the object");
	json_decref(o);
	unlink(want);
	fake_local = lf;	/* empty: not JSON */
	ok(stage_input_json(&ctx, "jobs/1/crop/1.json", "in", &o, err,
	    sizeof(err)) == STAGE_PERMANENT && o == NULL &&
	    strstr(err, "not valid JSON") != NULL,
	    "stage_input_json: not JSON is permanent");
	unlink(lf);
	rmdir(scratch);
}

int
main(void)
{
	test_keys();
	test_errno();
	test_stage_rc();
	test_input();
	return tap_done();
}
