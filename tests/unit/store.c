/*
 * The file store (lib/store.c, lib/store_file.c): key rules as a table,
 * put/get/stat/delete/delete-prefix round trips, atomic puts (no temporary
 * files left, a put that fails half way leaves no object and keeps the old
 * one), missing keys, URLs and local paths.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "store.h"
#include "util.h"
#include "tap.h"

static char dir[128], sdir[256], local[256];

/* Write LEN pseudo-random bytes (seeded by SEED) to PATH. */
static void
make_file(const char *path, size_t len, unsigned seed)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	srand(seed);
	for (i = 0; i < len; i++)
		fputc(rand() & 0xff, f);
	if (fclose(f) == EOF)
		exit(1);
}

/* 1 when files A and B have the same bytes. */
static int
same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
	int ca, cb, same = fa != NULL && fb != NULL;

	while (same) {
		ca = fgetc(fa);
		cb = fgetc(fb);
		if (ca != cb)
			same = 0;
		if (ca == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* Count files below PATH whose name contains NEEDLE (all when NULL). */
static int
count_files(const char *path, const char *needle)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char sub[1024];
	int c = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR)
			c += count_files(sub, needle);
		else if (needle == NULL || strstr(de->d_name, needle) != NULL)
			c++;
	}
	closedir(d);
	return c;
}

static void
key_table(void)
{
	static const struct {
		const char *key;
		int key_ok, prefix_ok;
	} t[] = {
		{ "a", 1, 0 },
		{ "jobs/42/source.mp4", 1, 0 },
		{ "jobs/42/", 0, 1 },
		{ "jobs/", 0, 1 },
		{ "A-Z_a-z.0-9", 1, 0 },
		{ ".hidden", 1, 0 },
		{ "jobs/.x", 1, 0 },
		{ "a..b", 1, 0 },
		{ "a.", 1, 0 },
		{ "", 0, 0 },
		{ "/", 0, 0 },
		{ "/abs/key", 0, 0 },
		{ "/abs/", 0, 0 },
		{ "a//b", 0, 0 },
		{ "jobs//", 0, 0 },
		{ "a/", 0, 1 },
		{ "..", 0, 0 },
		{ "../x", 0, 0 },
		{ "../", 0, 0 },
		{ "a/../b", 0, 0 },
		{ "a/..", 0, 0 },
		{ "a/../", 0, 0 },
		{ ".", 0, 0 },
		{ "./a", 0, 0 },
		{ "a/./b", 0, 0 },
		{ "a/.../b", 0, 0 },
		{ "a b", 0, 0 },
		{ "a\\b", 0, 0 },
		{ "a?b", 0, 0 },
		{ "a%2e", 0, 0 },
		{ "a\nb", 0, 0 },
		{ "caf\xc3\xa9", 0, 0 },
		{ "a~", 0, 0 },
	};
	char name[160], long_key[600];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(name, sizeof(name), "key \"%s\" %s as a key, %s as a "
		    "prefix", t[i].key, t[i].key_ok ? "valid" : "invalid",
		    t[i].prefix_ok ? "valid" : "invalid");
		for (char *p = name; *p; p++)
			if (*p == '\n')
				*p = '|';
		result(store_key_valid(t[i].key) == t[i].key_ok &&
		    store_prefix_valid(t[i].key) == t[i].prefix_ok, name, NULL);
	}
	/* 512 bytes is the longest key (4 components of at most 127) */
	memset(long_key, 'k', sizeof(long_key));
	for (i = 127; i < 511; i += 128)
		long_key[i] = '/';
	long_key[512] = '\0';
	result(!store_key_valid(NULL) && !store_prefix_valid(NULL),
	    "NULL is neither a key nor a prefix", NULL);
	result(store_key_valid(long_key), "a key of 512 bytes is valid", NULL);
	long_key[512] = 'k';
	long_key[513] = '\0';
	result(!store_key_valid(long_key), "a key of 513 bytes is invalid", NULL);
	long_key[511] = '/';
	long_key[512] = '\0';
	result(store_prefix_valid(long_key), "a prefix of 512 bytes is valid",
	    NULL);
}

static void
round_trip(struct store *s)
{
	char src[300], src2[300], got[300], err[512], *u, *lp, want[400];
	struct store_stat st;
	long long t0 = (long long)time(NULL);

	snprintf(src, sizeof(src), "%s/src.bin", local);
	snprintf(src2, sizeof(src2), "%s/src2.bin", local);
	snprintf(got, sizeof(got), "%s/out/deeper/got.bin", local);
	make_file(src, 300000, 1);
	make_file(src2, 1234, 2);

	result(store_put(s, "jobs/1/source.mp4", src, "video/mp4", err,
	    sizeof(err)) == STORE_OK, "put", err);
	memset(&st, 0, sizeof(st));
	result(store_stat(s, "jobs/1/source.mp4", &st, err, sizeof(err)) ==
	    STORE_OK && st.size == 300000, "stat gives the size", err);
	result(st.mtime >= t0 - 2 && st.mtime <= t0 + 60,
	    "stat gives the modification time", NULL);
	result(store_get(s, "jobs/1/source.mp4", got, err, sizeof(err)) ==
	    STORE_OK && same_file(src, got),
	    "get returns the same bytes (creating the local directory)", err);
	snprintf(want, sizeof(want), "%s/jobs/1/source.mp4", sdir);
	result(same_file(src, want), "the object is a file under store_dir",
	    NULL);
	{
		struct stat sb;
		result(stat(want, &sb) == 0 && (sb.st_mode & 0777) == 0644,
		    "objects are readable by the web server (0644)", NULL);
	}

	result(store_put(s, "jobs/1/source.mp4", src2, NULL, err, sizeof(err)) ==
	    STORE_OK && store_stat(s, "jobs/1/source.mp4", &st, err,
	    sizeof(err)) == STORE_OK && st.size == 1234,
	    "put over an object replaces it", err);
	result(store_get(s, "jobs/1/source.mp4", got, err, sizeof(err)) ==
	    STORE_OK && same_file(src2, got), "get over a local file replaces it",
	    err);
	result(count_files(sdir, ".tmp.") == 0 && count_files(local, ".tmp.") == 0,
	    "no temporary files are left", NULL);

	u = store_url(s, "jobs/1/source.mp4", 60, err, sizeof(err));
	result(u != NULL && strcmp(u, "/files/jobs/1/source.mp4") == 0,
	    "url is store_public_url/KEY", u);
	free(u);
	lp = store_local_path(s, "jobs/1/source.mp4");
	result(lp != NULL && strcmp(lp, want) == 0,
	    "local_path is store_dir/KEY", lp);
	free(lp);
	result(store_local_path(s, "../etc/passwd") == NULL,
	    "no local_path for a bad key", NULL);
	result(store_url(s, "/etc/passwd", 60, err, sizeof(err)) == NULL &&
	    strstr(err, "invalid store key") != NULL, "no url for a bad key", err);

	/* missing keys */
	result(store_stat(s, "jobs/1/none.mp4", &st, err, sizeof(err)) ==
	    STORE_NOTFOUND, "stat of a missing key is NOTFOUND", NULL);
	result(store_stat(s, "jobs/1/source.mp4/x", &st, err, sizeof(err)) ==
	    STORE_NOTFOUND, "stat below an object is NOTFOUND", NULL);
	result(store_stat(s, "jobs/1", &st, err, sizeof(err)) == STORE_NOTFOUND,
	    "stat of a prefix is NOTFOUND", NULL);
	err[0] = '\0';
	result(store_get(s, "jobs/1/none.mp4", got, err, sizeof(err)) ==
	    STORE_NOTFOUND && strstr(err, "jobs/1/none.mp4") != NULL,
	    "get of a missing key is NOTFOUND and names it", err);
	result(store_get(s, "jobs/1", got, err, sizeof(err)) == STORE_NOTFOUND,
	    "get of a prefix is NOTFOUND", err);
	result(same_file(src2, got), "a failed get leaves the local file alone",
	    NULL);
	result(store_delete(s, "jobs/1/none.mp4", err, sizeof(err)) ==
	    STORE_NOTFOUND, "delete of a missing key is NOTFOUND", NULL);
	result(store_delete(s, "jobs/1", err, sizeof(err)) == STORE_NOTFOUND,
	    "delete of a prefix is NOTFOUND", err);

	/* bad keys never reach the backend */
	result(store_put(s, "../escape", src, NULL, err, sizeof(err)) ==
	    STORE_ERR && strstr(err, "invalid store key") != NULL,
	    "put with a bad key is refused", err);
	result(count_files(dir, "escape") == 0, "and writes nothing", NULL);
	result(store_get(s, "a//b", got, err, sizeof(err)) == STORE_ERR,
	    "get with a bad key is refused", err);
	result(store_delete(s, "/x", err, sizeof(err)) == STORE_ERR,
	    "delete with a bad key is refused", err);
	result(store_delete_prefix(s, "jobs", err, sizeof(err)) == STORE_ERR &&
	    strstr(err, "invalid store prefix") != NULL,
	    "delete_prefix without a trailing / is refused", err);

	/* a missing local source: the caller's error, and no trace */
	snprintf(want, sizeof(want), "%s/nothing-here", local);
	result(store_put(s, "jobs/77/x.mp4", want, NULL, err, sizeof(err)) ==
	    STORE_ERR && strstr(err, "nothing-here") != NULL,
	    "put of a missing local file is an error that names it", err);
	snprintf(want, sizeof(want), "%s/jobs/77", sdir);
	result(access(want, F_OK) == -1 && errno == ENOENT,
	    "and creates no directory", NULL);

	/* delete and delete by prefix */
	result(store_delete(s, "jobs/1/source.mp4", err, sizeof(err)) ==
	    STORE_OK && store_stat(s, "jobs/1/source.mp4", &st, err,
	    sizeof(err)) == STORE_NOTFOUND, "delete removes the object", err);
	store_put(s, "jobs/2/a.mp4", src2, NULL, err, sizeof(err));
	store_put(s, "jobs/2/render/3.mp4", src2, NULL, err, sizeof(err));
	store_put(s, "jobs/2/render/3.jpg", src2, NULL, err, sizeof(err));
	store_put(s, "jobs/20/keep.mp4", src2, NULL, err, sizeof(err));
	store_put(s, "jobs/2.mp4", src2, NULL, err, sizeof(err));
	result(store_delete_prefix(s, "jobs/2/render/", err, sizeof(err)) ==
	    STORE_OK && store_stat(s, "jobs/2/render/3.mp4", &st, err,
	    sizeof(err)) == STORE_NOTFOUND && store_stat(s, "jobs/2/a.mp4", &st,
	    err, sizeof(err)) == STORE_OK, "delete_prefix of a subdirectory", err);
	result(store_delete_prefix(s, "jobs/2/", err, sizeof(err)) == STORE_OK &&
	    store_stat(s, "jobs/2/a.mp4", &st, err, sizeof(err)) ==
	    STORE_NOTFOUND, "delete_prefix removes everything under it", err);
	result(store_stat(s, "jobs/20/keep.mp4", &st, err, sizeof(err)) ==
	    STORE_OK && store_stat(s, "jobs/2.mp4", &st, err, sizeof(err)) ==
	    STORE_OK, "delete_prefix jobs/2/ keeps jobs/20/ and jobs/2.mp4",
	    err);
	snprintf(want, sizeof(want), "%s/jobs/2", sdir);
	result(access(want, F_OK) == -1, "delete_prefix removes the directory",
	    NULL);
	result(store_delete_prefix(s, "jobs/999/", err, sizeof(err)) == STORE_OK,
	    "delete_prefix of nothing is fine", err);

	/* delete by prefix does not follow symbolic links out of the store */
	{
		char outside[300], link[400];

		snprintf(outside, sizeof(outside), "%s/outside", local);
		mkdir_p(outside, 0755);
		snprintf(want, sizeof(want), "%s/precious", outside);
		make_file(want, 10, 3);
		store_put(s, "jobs/9/a.mp4", src2, NULL, err, sizeof(err));
		snprintf(link, sizeof(link), "%s/jobs/9/link", sdir);
		if (symlink(outside, link) == -1)
			perror(link);
		result(store_delete_prefix(s, "jobs/9/", err, sizeof(err)) ==
		    STORE_OK && access(want, F_OK) == 0 &&
		    access(link, F_OK) == -1,
		    "delete_prefix removes a symbolic link, not its target", err);
	}
}

/* A put that fails half way (the file size limit stops the copy) leaves no
 * object, no temporary file, and the previous object as it was.  Run in a
 * child because the limit is per process. */
static void
failed_put(struct store *s)
{
	char src[300], small[300], got[300], err[512];
	struct store_stat st;
	pid_t pid;
	int status;

	snprintf(src, sizeof(src), "%s/big.bin", local);
	snprintf(small, sizeof(small), "%s/small.bin", local);
	snprintf(got, sizeof(got), "%s/got-old.bin", local);
	make_file(src, 1 << 20, 4);
	make_file(small, 1000, 5);
	store_put(s, "jobs/5/old.mp4", small, NULL, err, sizeof(err));
	fflush(stdout);
	if ((pid = fork()) == 0) {
		struct rlimit rl = { 256 * 1024, 256 * 1024 };
		int rc1, rc2;

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		rc1 = store_put(s, "jobs/5/new.mp4", src, NULL, err, sizeof(err));
		rc2 = store_put(s, "jobs/5/old.mp4", src, NULL, err, sizeof(err));
		_exit(rc1 != STORE_OK && rc2 != STORE_OK ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	result(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a put past the file size limit fails", NULL);
	result(store_stat(s, "jobs/5/new.mp4", &st, err, sizeof(err)) ==
	    STORE_NOTFOUND, "a failed put leaves no object", NULL);
	result(count_files(sdir, ".tmp.") == 0,
	    "a failed put leaves no temporary file", NULL);
	result(store_get(s, "jobs/5/old.mp4", got, err, sizeof(err)) ==
	    STORE_OK && same_file(small, got),
	    "a failed put over an object keeps the old one whole", err);
}

static void
opening(void)
{
	char err[512], *u;
	struct store *s;

	result(store_file_open("relative/dir", "/f", err, sizeof(err)) == NULL &&
	    strstr(err, "absolute") != NULL,
	    "store_dir must be absolute", err);
	snprintf(err, sizeof(err), "%s/made/by/open/", dir);
	s = store_file_open(err, "http://127.0.0.1:8080/files/", err,
	    sizeof(err));
	result(s != NULL, "store_file_open creates store_dir", err);
	if (s == NULL)
		return;
	u = store_url(s, "clips/1/2.mp4", 0, err, sizeof(err));
	result(u != NULL && strcmp(u, "http://127.0.0.1:8080/files/clips/1/2.mp4")
	    == 0, "url joins with one '/' after a trailing slash", u);
	free(u);
	store_close(s);

	/* store_open follows the configuration */
	config_load("/dev/null", err, sizeof(err));
	snprintf(err, sizeof(err), "%s/from-config", dir);
	config_set("store_dir", err, NULL, 0);
	config_set("store_public_url", "/pub", NULL, 0);
	s = store_open(err, sizeof(err));
	result(s != NULL && strcmp(s->ops->name, "file") == 0,
	    "store_open opens the file backend for store = file", err);
	if (s != NULL) {
		u = store_local_path(s, "a/b");
		snprintf(err, sizeof(err), "%s/from-config/a/b", dir);
		result(u != NULL && strcmp(u, err) == 0,
		    "store_open uses store_dir", u);
		free(u);
		u = store_url(s, "a/b", 0, err, sizeof(err));
		result(u != NULL && strcmp(u, "/pub/a/b") == 0,
		    "store_open uses store_public_url", u);
		free(u);
		store_close(s);
	}
}

int
main(void)
{
	const char *t = getenv("CLIPMILL_TEST_TMP");
	char err[512];
	struct store *s;

	snprintf(dir, sizeof(dir), "%s/store.XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	snprintf(sdir, sizeof(sdir), "%s/store", dir);
	snprintf(local, sizeof(local), "%s/local", dir);
	mkdir_p(local, 0755);
	key_table();
	if ((s = store_file_open(sdir, "/files", err, sizeof(err))) == NULL) {
		printf("not ok store_file_open: %s\n", err);
		return 1;
	}
	round_trip(s);
	failed_put(s);
	store_close(s);
	opening();
	/* leave the directory when something failed, to look at */
	if (tap_fails == 0) {
		s = store_file_open(dir, "", err, sizeof(err));
		if (s != NULL) {
			store_delete_prefix(s, "store/", err, sizeof(err));
			store_delete_prefix(s, "local/", err, sizeof(err));
			store_delete_prefix(s, "made/", err, sizeof(err));
			store_delete_prefix(s, "from-config/", err, sizeof(err));
			store_close(s);
		}
		rmdir(dir);
	}
	return tap_done();
}
