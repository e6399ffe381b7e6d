/*
 * The S3 store backend.  Run without arguments (as tests/run.sh does): the
 * offline checks of its configuration errors and URLs.  Run with a
 * command, it is the client tests/t_s3*.sh drive against s3rver, using
 * the configuration in $CLIPMILL_CONF:
 *
 *   s3_store put KEY FILE [TYPE] | get KEY FILE | stat KEY | del KEY |
 *            delprefix PREFIX | url KEY [EXPIRES]
 *
 * Exit status: 0 ok, 1 not found, 2 permanent error, 3 transient error
 * (the store's enum, for the scripts), 4 usage or configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "store.h"
#include "util.h"
#include "tap.h"


static void
set(const char *k, const char *v)
{
	char err[256];

	if (config_set(k, v, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(4);
	}
}

/* Open with the current settings; returns the store or NULL with ERR. */
static struct store *
try_open(char *err, size_t errlen)
{
	err[0] = '\0';
	return store_s3_open(err, errlen);
}

static void
offline(void)
{
	char err[512], *u;
	struct store *s;

	if (config_load("/dev/null", err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(4);
	}
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	set("store", "s3");
	set("s3_endpoint", "http://127.0.0.1:9000");
	set("s3_bucket", "clips");

	s = try_open(err, sizeof(err));
	ok(s == NULL && strstr(err, "AWS_ACCESS_KEY_ID") != NULL,
	    "no credentials: a sentence naming where they come from");
	store_close(s);
	setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1);

	set("s3_access_key_file", "/nonexistent/key");
	s = try_open(err, sizeof(err));
	ok(s == NULL && strstr(err, "s3_access_key_file") != NULL &&
	    strstr(err, "/nonexistent/key") != NULL,
	    "unreadable key file: named in the error");
	store_close(s);
	set("s3_access_key_file", "");

	set("s3_bucket", "Bad_Bucket");
	s = try_open(err, sizeof(err));
	ok(s == NULL && strstr(err, "s3_bucket") != NULL, "bad bucket name");
	store_close(s);
	set("s3_bucket", "clips");

	set("s3_endpoint", "ftp://127.0.0.1");
	s = try_open(err, sizeof(err));
	ok(s == NULL && strstr(err, "http://") != NULL, "endpoint scheme");
	store_close(s);
	set("s3_endpoint", "http://127.0.0.1:9000/some/path");
	s = try_open(err, sizeof(err));
	ok(s == NULL && strstr(err, "without a path") != NULL,
	    "endpoint with a path refused");
	store_close(s);

	/* public base URL: plain joins */
	set("s3_endpoint", "http://127.0.0.1:9000/");
	set("s3_public_url", "https://cdn.example.org/media/");
	s = try_open(err, sizeof(err));
	ok(s != NULL, "valid configuration opens");
	if (s == NULL)
		return;
	u = store_url(s, "clips/7/12.mp4", 0, err, sizeof(err));
	ok(u != NULL && strcmp(u, "https://cdn.example.org/media/clips/7/12.mp4")
	    == 0, "public URL joins base and key");
	free(u);
	store_close(s);

	/* presigned, path-style */
	set("s3_public_url", "");
	s = try_open(err, sizeof(err));
	u = s ? store_url(s, "clips/7/12.mp4", 600, err, sizeof(err)) : NULL;
	ok(u != NULL && strncmp(u, "http://127.0.0.1:9000/clips/clips/7/12.mp4?"
	    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
	    "AKIAIOSFODNN7EXAMPLE%2F", 92) == 0 && strstr(u,
	    "&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=") !=
	    NULL, "presigned path-style URL");
	free(u);
	store_close(s);

	/* presigned, virtual-hosted */
	set("s3_path_style", "no");
	s = try_open(err, sizeof(err));
	u = s ? store_url(s, "clips/7/12.mp4", 0, err, sizeof(err)) : NULL;
	ok(u != NULL && strncmp(u, "http://clips.127.0.0.1:9000/clips/7/12.mp4?",
	    43) == 0 && strstr(u, "&X-Amz-Expires=3600&") != NULL,
	    "presigned virtual-hosted URL, default expiry");
	free(u);
	u = s ? store_url(s, "../etc/passwd", 0, err, sizeof(err)) : NULL;
	ok(u == NULL && strstr(err, "invalid store key") != NULL,
	    "bad key refused before any request");
	free(u);
	store_close(s);
}

int
main(int argc, char **argv)
{
	struct store *s;
	struct store_stat st;
	char err[1024] = "", *u;
	int rc;

	if (argc < 2) {
		offline();
		return tap_done();
	}
	if (config_load(NULL, err, sizeof(err)) == -1 ||
	    (s = store_open(err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 4;
	}
	if (strcmp(argv[1], "put") == 0 && argc >= 4)
		rc = store_put(s, argv[2], argv[3], argc > 4 ? argv[4] : NULL,
		    err, sizeof(err));
	else if (strcmp(argv[1], "get") == 0 && argc == 4)
		rc = store_get(s, argv[2], argv[3], err, sizeof(err));
	else if (strcmp(argv[1], "stat") == 0 && argc == 3) {
		rc = store_stat(s, argv[2], &st, err, sizeof(err));
		if (rc == STORE_OK)
			printf("%llu %lld\n", (unsigned long long)st.size, st.mtime);
	} else if (strcmp(argv[1], "del") == 0 && argc == 3)
		rc = store_delete(s, argv[2], err, sizeof(err));
	else if (strcmp(argv[1], "delprefix") == 0 && argc == 3)
		rc = store_delete_prefix(s, argv[2], err, sizeof(err));
	else if (strcmp(argv[1], "url") == 0 && argc >= 3) {
		long long exp = 0;

		if (argc > 3 && parse_ll(argv[3], 1, 604800, &exp) == -1) {
			fprintf(stderr, "bad expiry\n");
			store_close(s);
			return 4;
		}
		u = store_url(s, argv[2], exp, err, sizeof(err));
		rc = u != NULL ? STORE_OK : STORE_ERR;
		if (u != NULL)
			printf("%s\n", u);
		free(u);
	} else {
		fprintf(stderr, "usage: s3_store put|get|stat|del|delprefix|url ...\n");
		store_close(s);
		return 4;
	}
	store_close(s);
	if (rc != STORE_OK)
		fprintf(stderr, "%s\n", err);
	switch (rc) {
	case STORE_OK:
		return 0;
	case STORE_NOTFOUND:
		return 1;
	case STORE_AGAIN:
		return 3;
	default:
		return 2;
	}
}
