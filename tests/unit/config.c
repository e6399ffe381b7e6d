/*
 * The configuration parser: a table of file contents and what they must
 * give (a value, as `clipmill config` prints it, or an exact
 * "file:line: message"), the environment variables, and etc/clipmill.conf
 * with every option uncommented, which must set exactly the table's
 * defaults (so the file and lib/config.c cannot drift apart).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"
#include "tap.h"

static char dir[256], path[300];

static void
write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) == EOF) {
		perror(p);
		exit(1);
	}
}

/* The whole configuration as `clipmill config` prints it; caller frees. */
static char *
dump(void)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (f == NULL)
		exit(1);
	config_dump(f);
	fclose(f);
	return s;
}

/* 1 when the dump holds the line WANT. */
static int
dump_has(const char *want)
{
	char *d = dump(), *p = d;
	size_t wl = strlen(want);
	int found = 0;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, want, wl) == 0 && (p[wl] == '\n' || p[wl] == '\0'))
			found = 1;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	free(d);
	return found;
}

/* Expand "@" in T to the test file's path into OUT. */
static void
expand(const char *t, char *out, size_t len)
{
	const char *at = strchr(t, '@');

	if (at == NULL)
		snprintf(out, len, "%s", t);
	else
		snprintf(out, len, "%.*s%s%s", (int)(at - t), t, path, at + 1);
}

static const struct {
	const char *name;
	const char *text;	/* file contents */
	const char *want;	/* a dump line, or an error with @ for the path */
	int error;
} cases[] = {
	{ "empty file gives defaults", "", "lease = 60", 0 },
	{ "integer", "lease = 5\n", "lease = 5", 0 },
	{ "blanks around key and value", "  \tlease\t=\t7  \n", "lease = 7", 0 },
	{ "CRLF line ends", "lease = 8\r\n", "lease = 8", 0 },
	{ "comment and blank lines", "# lease = 1\n\n   # x\nlease = 9\n",
	    "lease = 9", 0 },
	{ "last line without newline", "lease = 11", "lease = 11", 0 },
	{ "last of two wins", "lease = 1\nlease = 2\n", "lease = 2", 0 },
	{ "octal integer", "fcgi_socket_mode = 0640\n", "fcgi_socket_mode = 416",
	    0 },
	{ "hexadecimal integer", "x264_crf = 0x10\n", "x264_crf = 16", 0 },
	{ "integer at its minimum", "idle_exit = 0\n", "idle_exit = 0", 0 },
	{ "integer at its maximum", "lease = 86400\n", "lease = 86400", 0 },
	{ "number", "retry_base = 0.25\n", "retry_base = 0.25", 0 },
	{ "number printed with all its digits", "retry_base = 12345.678\n",
	    "retry_base = 12345.678", 0 },
	{ "bool yes", "test_stages = yes\n", "test_stages = yes", 0 },
	{ "bool on", "test_stages = On\n", "test_stages = yes", 0 },
	{ "bool 0", "s3_path_style = 0\n", "s3_path_style = no", 0 },
	{ "bool false", "s3_path_style = false\n", "s3_path_style = no", 0 },
	{ "enum", "store = s3\n", "store = \"s3\"", 0 },
	{ "quoted string keeps blanks", "caption_font = \" DejaVu Sans \"\n",
	    "caption_font = \" DejaVu Sans \"", 0 },
	{ "empty quoted string", "base_url = \"\"\n", "base_url = \"\"", 0 },
	{ "empty value", "log_file =\n", "log_file = \"\"", 0 },
	{ "'=' inside a value", "database_url = dbname=x user=y\n",
	    "database_url = \"dbname=x user=y\"", 0 },
	{ "clip_min equal to clip_max", "clip_min = 30\nclip_max = 30\n",
	    "clip_min = 30", 0 },

	{ "unknown key", "lease = 5\nbogus = 1\n",
	    "@:2: unknown option \"bogus\"", 1 },
	{ "keys are case-sensitive", "Lease = 5\n",
	    "@:1: unknown option \"Lease\"", 1 },
	{ "bad integer", "lease = ten\n",
	    "@:1: lease must be a whole number from 1 to 86400, not \"ten\"", 1 },
	{ "integer with trailing text", "lease = 5s\n",
	    "@:1: lease must be a whole number from 1 to 86400, not \"5s\"", 1 },
	{ "a comment after a value is part of it", "lease = 5 # five\n",
	    "@:1: lease must be a whole number from 1 to 86400, not "
	    "\"5 # five\"", 1 },
	{ "empty integer", "lease =\n",
	    "@:1: lease must be a whole number from 1 to 86400, not \"\"", 1 },
	{ "integer below range", "lease = 0\n",
	    "@:1: lease must be a whole number from 1 to 86400, not \"0\"", 1 },
	{ "integer above range", "\n\nx264_crf = 52\n",
	    "@:3: x264_crf must be a whole number from 0 to 51, not \"52\"", 1 },
	{ "integer overflow", "keep_failed = 99999999999999999999\n",
	    "@:1: keep_failed must be a whole number from 0 to 100000000, not "
	    "\"99999999999999999999\"", 1 },
	{ "number below range", "retry_base = 0\n",
	    "@:1: retry_base must be a number from 0.001 to 86400, not \"0\"", 1 },
	{ "bad number", "frame_sample_fps = fast\n",
	    "@:1: frame_sample_fps must be a number from 0.1 to 60, not "
	    "\"fast\"", 1 },
	{ "number nan", "frame_sample_fps = nan\n",
	    "@:1: frame_sample_fps must be a number from 0.1 to 60, not "
	    "\"nan\"", 1 },
	{ "bad bool", "test_stages = maybe\n",
	    "@:1: test_stages must be yes or no, not \"maybe\"", 1 },
	{ "bad enum", "store = ftp\n",
	    "@:1: store must be one of file|s3, not \"ftp\"", 1 },
	{ "enum prefix is not a match", "store = fil\n",
	    "@:1: store must be one of file|s3, not \"fil\"", 1 },
	{ "enum is case-sensitive", "log_level = INFO\n",
	    "@:1: log_level must be one of debug|info|warn|error, not \"INFO\"",
	    1 },
	{ "unterminated quote", "base_url = \"http://x\n",
	    "@:1: unterminated quote", 1 },
	{ "lone quote", "base_url = \"\n", "@:1: unterminated quote", 1 },
	{ "missing '='", "# fine\nlease 5\n", "@:2: expected \"key = value\"", 1 },
	{ "clip_min larger than clip_max", "clip_min = 61\n",
	    "@: clip_min (61) is larger than clip_max (60)", 1 },
};

static void
table(void)
{
	char err[1024], want[1024], name[160];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		write_file(path, cases[i].text);
		err[0] = '\0';
		rc = config_load(path, err, sizeof(err));
		expand(cases[i].want, want, sizeof(want));
		snprintf(name, sizeof(name), "table: %s", cases[i].name);
		if (cases[i].error)
			result(rc == -1 && strcmp(err, want) == 0, name, err);
		else
			result(rc == 0 && dump_has(want), name, err);
	}
}

static void
long_line(void)
{
	char err[1024], want[400];
	struct buf b;
	int i;

	/* 4094 characters and a newline fit; 5000 do not. */
	buf_init(&b, 0);
	for (i = 0; i < 4094 - 10; i++)
		buf_addstr(&b, " ");
	buf_addstr(&b, "lease = 12\n");
	write_file(path, b.data);
	result(config_load(path, err, sizeof(err)) == 0 && dump_has("lease = 12"),
	    "a line of 4094 characters is read", err);
	buf_free(&b);
	buf_addstr(&b, "lease = 1\nbase_url = ");
	for (i = 0; i < 5000; i++)
		buf_addstr(&b, "x");
	buf_addstr(&b, "\n");
	write_file(path, b.data);
	snprintf(want, sizeof(want), "%s:2: line too long", path);
	result(config_load(path, err, sizeof(err)) == -1 &&
	    strcmp(err, want) == 0, "line too long", err);
	buf_free(&b);
}

static void
files_and_environment(void)
{
	char err[1024], want[700], other[300];

	unsetenv("CLIPMILL_CONF");
	unsetenv("CLIPMILL_DATABASE_URL");
	unsetenv("DATABASE_URL");

	snprintf(want, sizeof(want), "%s/none.conf", dir);
	result(config_load(want, err, sizeof(err)) == -1 &&
	    strstr(err, "none.conf: No such file or directory") != NULL,
	    "a named file that is missing is an error", err);

	snprintf(other, sizeof(other), "%s/other.conf", dir);
	write_file(other, "lease = 42\n");
	setenv("CLIPMILL_CONF", other, 1);
	result(config_load(NULL, err, sizeof(err)) == 0 && dump_has("lease = 42"),
	    "CLIPMILL_CONF names the file", err);
	write_file(path, "lease = 43\n");
	result(config_load(path, err, sizeof(err)) == 0 && dump_has("lease = 43"),
	    "an explicit path wins over CLIPMILL_CONF", err);
	write_file(other, "lease = -1\n");
	snprintf(want, sizeof(want), "%s:1: lease must be a whole number from "
	    "1 to 86400, not \"-1\"", other);
	result(config_load(NULL, err, sizeof(err)) == -1 &&
	    strcmp(err, want) == 0, "errors name the CLIPMILL_CONF file", err);
	snprintf(want, sizeof(want), "%s/missing.conf", dir);
	setenv("CLIPMILL_CONF", want, 1);
	result(config_load(NULL, err, sizeof(err)) == -1 &&
	    strstr(err, "missing.conf: No such file or directory") != NULL,
	    "a missing CLIPMILL_CONF file is an error", err);
	unsetenv("CLIPMILL_CONF");

	write_file(path, "database_url = dbname=fromfile\n");
	result(config_load(path, err, sizeof(err)) == 0 &&
	    dump_has("database_url = \"dbname=fromfile\""),
	    "database_url from the file", err);
	setenv("DATABASE_URL", "dbname=generic", 1);
	result(config_load(path, err, sizeof(err)) == 0 &&
	    dump_has("database_url = \"dbname=generic\""),
	    "DATABASE_URL overrides the file", err);
	setenv("CLIPMILL_DATABASE_URL", "host=/tmp dbname=fromenv", 1);
	result(config_load(path, err, sizeof(err)) == 0 &&
	    dump_has("database_url = \"host=/tmp dbname=fromenv\""),
	    "CLIPMILL_DATABASE_URL overrides the file and DATABASE_URL", err);
	unsetenv("CLIPMILL_DATABASE_URL");
	unsetenv("DATABASE_URL");
	result(config_load(path, err, sizeof(err)) == 0 &&
	    dump_has("database_url = \"dbname=fromfile\""),
	    "a second load starts from the defaults again", err);

	result(config_set("clip_max", "5000", err, sizeof(err)) == -1 &&
	    strcmp(err, "clip_max must be a whole number from 1 to 3600, not "
	    "\"5000\"") == 0, "config_set checks bounds", err);
	result(config_set("nope", "1", err, sizeof(err)) == -1 &&
	    strcmp(err, "unknown option \"nope\"") == 0,
	    "config_set refuses unknown keys", err);
}

/*
 * etc/clipmill.conf documents every option commented out at its default:
 * uncommenting every "#key = value" line must parse, name every option of
 * the table exactly once, and change nothing.
 */
static void
shipped_file(void)
{
	char err[1024], src[512], line[4096], *defaults, *after;
	struct buf keys;
	const char *top = getenv("CLIPMILL_TOP");
	FILE *in, *out;
	int nkeys = 0, dup = 0, ntable = 0;
	char *p;

	snprintf(src, sizeof(src), "%s/etc/clipmill.conf", top ? top : ".");
	if ((in = fopen(src, "r")) == NULL) {
		result(0, "etc/clipmill.conf is readable", src);
		return;
	}
	if ((out = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	buf_init(&keys, 0);
	buf_addstr(&keys, " ");
	while (fgets(line, sizeof(line), in) != NULL) {
		size_t k = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");

		if (line[0] == '#' && k > 0 && strncmp(line + 1 + k, " = ", 3) == 0) {
			char key[80];

			snprintf(key, sizeof(key), " %.*s ", (int)k, line + 1);
			if (strstr(keys.data, key) != NULL)
				dup++;
			else
				buf_addstr(&keys, key + 1);
			nkeys++;
			fputs(line + 1, out);
		}
	}
	fclose(in);
	fclose(out);

	unsetenv("CLIPMILL_DATABASE_URL");
	unsetenv("DATABASE_URL");
	config_load("/dev/null", err, sizeof(err));
	defaults = dump();
	result(config_load(path, err, sizeof(err)) == 0,
	    "etc/clipmill.conf with every option uncommented parses", err);
	after = dump();
	result(strcmp(defaults, after) == 0,
	    "etc/clipmill.conf documents the table's defaults", NULL);
	if (strcmp(defaults, after) != 0) {
		/* say which lines differ */
		char *a = defaults, *b = after;
		while (*a && *b) {
			size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
			if (la != lb || strncmp(a, b, la) != 0)
				printf("# table: %.*s   file: %.*s\n", (int)la, a,
				    (int)lb, b);
			a += la + (a[la] != 0);
			b += lb + (b[lb] != 0);
		}
	}
	/* every option of the table appears in the file */
	for (p = defaults; *p; ) {
		size_t l = strcspn(p, " ");
		char key[80];

		snprintf(key, sizeof(key), " %.*s ", (int)l, p);
		if (strstr(keys.data, key) == NULL)
			printf("# not in etc/clipmill.conf: %.*s\n", (int)l, p);
		else
			ntable++;
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
	{
		char msg[100];
		int total = 0;

		for (p = defaults; *p; p++)
			total += *p == '\n';
		snprintf(msg, sizeof(msg), "%d of %d options in the file, %d "
		    "lines in all, %d repeated", ntable, total, nkeys, dup);
		result(ntable == total && nkeys == total && dup == 0,
		    "etc/clipmill.conf names every option exactly once", msg);
	}
	free(defaults);
	free(after);
	buf_free(&keys);
}

int
main(void)
{
	const char *t = getenv("CLIPMILL_TEST_TMP");

	snprintf(dir, sizeof(dir), "%s/config.XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/test.conf", dir);
	table();
	long_line();
	files_and_environment();
	shipped_file();
	unlink(path);
	snprintf(path, sizeof(path), "%s/other.conf", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
