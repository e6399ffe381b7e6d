/* clipmill submit: queue a job for a URL or a local file, as a user. */
#include <ctype.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "keys.h"
#include "queue.h"
#include "store.h"
#include "util.h"

#define MAX_URL 2048

/* The choices the pipeline contract allows for each enumerated option. */
static const char *const aspects[] = { "9:16", "1:1", "4:5", NULL };

enum { O_USER = 1, O_CLIPS, O_MIN, O_MAX, O_ASPECT, O_NOCAP, O_STYLE,
    O_LANG, O_TRANSCRIBE, O_SELECT, O_FILE };

/* Options that pick one of a few words, and the job option each sets. */
static const struct choice {
	int		 opt;
	const char	*name, *key, *words[4], *said;
} choices[] = {
	{ O_STYLE, "--caption-style", "caption_style",
	    { "classic", "bold", "minimal", NULL }, "classic, bold or minimal" },
	{ O_TRANSCRIBE, "--transcribe", "transcribe_backend",
	    { "pocketsphinx", "openai", NULL }, "pocketsphinx or openai" },
	{ O_SELECT, "--select", "select_backend",
	    { "heuristic", "llm", NULL }, "heuristic or llm" },
};

static int
one_of(const char *v, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

/* 1 when URL is an http(s) URL with a host and no spaces or controls. */
static int
url_ok(const char *url)
{
	const char *h, *p;

	if (strncmp(url, "http://", 7) == 0)
		h = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		h = url + 8;
	else
		return 0;
	if (strlen(url) > MAX_URL || *h == '\0' || *h == '/')
		return 0;
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* The stored upload's extension: the file's own, lowercased, when it is
 * 1-8 letters and digits; else "bin".  OUT has room for 9 bytes. */
static void
upload_ext(const char *path, char out[9])
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	size_t n, i;

	snprintf(out, 9, "bin");
	if (dot == NULL || (slash != NULL && dot < slash) || dot[1] == '\0' ||
	    (n = strlen(dot + 1)) > 8)
		return;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)dot[1 + i]))
			return;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)dot[1 + i]);
	out[n] = '\0';
}

/* Set the job option for choice option OPT to V; 0, or CLI_USAGE after
 * saying what the choices are. */
static int
set_choice(json_t *opts, int opt, const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(choices) / sizeof(choices[0]); i++) {
		if (choices[i].opt != opt)
			continue;
		if (!one_of(v, choices[i].words))
			return cli_usage("submit", "%s must be %s, not \"%s\"",
			    choices[i].name, choices[i].said, v);
		json_object_set_new(opts, choices[i].key, json_string(v));
		return 0;
	}
	return CLI_USAGE;
}

/* Parse a clip length in seconds (1..3600). */
static int
parse_len(const char *opt, const char *v, double *out)
{
	if (parse_double(v, 1, 3600, out) == -1)
		return cli_usage("submit", "%s must be a number of seconds from "
		    "1 to 3600, not \"%s\"", opt, v);
	return 0;
}

int
cli_submit(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "user", required_argument, NULL, O_USER },
		{ "clips", required_argument, NULL, O_CLIPS },
		{ "min-len", required_argument, NULL, O_MIN },
		{ "max-len", required_argument, NULL, O_MAX },
		{ "aspect", required_argument, NULL, O_ASPECT },
		{ "no-captions", no_argument, NULL, O_NOCAP },
		{ "caption-style", required_argument, NULL, O_STYLE },
		{ "language", required_argument, NULL, O_LANG },
		{ "transcribe", required_argument, NULL, O_TRANSCRIBE },
		{ "select", required_argument, NULL, O_SELECT },
		{ "file", required_argument, NULL, O_FILE },
		{ NULL, 0, NULL, 0 }
	};
	const char *user = NULL, *file = NULL, *url = NULL;
	char err[1024], key[64], ext[9];
	double min_len = (double)cfg.clip_min, max_len = (double)cfg.clip_max;
	long long clips = cfg.clips_default, uid, id = -1, got;
	json_t *opts = NULL, *asp = NULL;
	struct store *st = NULL;
	struct stat sb;
	PGconn *c = NULL;
	int ch, disabled, rc = CLI_USAGE, stored = 0;
	size_t i;

	if ((opts = json_object()) == NULL || (asp = json_array()) == NULL) {
		json_decref(opts);
		return cli_fail("out of memory");
	}
	json_object_set_new(opts, "captions", json_true());
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case O_USER:
			user = optarg;
			break;
		case O_CLIPS:
			if (parse_ll(optarg, 1, 10, &clips) == -1) {
				cli_usage("submit", "--clips must be a whole number "
				    "from 1 to 10, not \"%s\"", optarg);
				goto out;
			}
			break;
		case O_MIN:
			if (parse_len("--min-len", optarg, &min_len) != 0)
				goto out;
			break;
		case O_MAX:
			if (parse_len("--max-len", optarg, &max_len) != 0)
				goto out;
			break;
		case O_ASPECT:
			if (!one_of(optarg, aspects)) {
				cli_usage("submit", "--aspect must be 9:16, 1:1 or "
				    "4:5, not \"%s\"", optarg);
				goto out;
			}
			/* asking twice for one aspect means once */
			for (i = 0; i < json_array_size(asp); i++)
				if (strcmp(json_string_value(json_array_get(asp,
				    i)), optarg) == 0)
					break;
			if (i == json_array_size(asp))
				json_array_append_new(asp, json_string(optarg));
			break;
		case O_NOCAP:
			json_object_set_new(opts, "captions", json_false());
			break;
		case O_STYLE:
		case O_TRANSCRIBE:
		case O_SELECT:
			if (set_choice(opts, ch, optarg) != 0)
				goto out;
			break;
		case O_LANG:
			/* a language code: two or three lowercase letters */
			if (strlen(optarg) < 2 || strlen(optarg) > 3 ||
			    strspn(optarg, "abcdefghijklmnopqrstuvwxyz") !=
			    strlen(optarg)) {
				cli_usage("submit", "--language must be a two- or "
				    "three-letter code such as en, not \"%s\"",
				    optarg);
				goto out;
			}
			json_object_set_new(opts, "language", json_string(optarg));
			break;
		case O_FILE:
			file = optarg;
			break;
		default:
			cli_usage("submit", "unknown option or missing value: %s",
			    argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc)
		url = argv[optind++];
	if (optind < argc) {
		cli_usage("submit", "unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (user == NULL) {
		cli_usage("submit", "submit needs --user NAME");
		goto out;
	}
	if ((url == NULL) == (file == NULL)) {
		cli_usage("submit", "give either a URL or --file PATH");
		goto out;
	}
	if (url != NULL && !url_ok(url)) {
		cli_usage("submit", "the URL must start with http:// or https://, "
		    "name a host, have no spaces and be at most %d characters",
		    MAX_URL);
		goto out;
	}
	if (min_len > max_len) {
		cli_usage("submit", "the shortest clip (%g s) is longer than the "
		    "longest (%g s): check --min-len and --max-len", min_len,
		    max_len);
		goto out;
	}
	if (json_array_size(asp) == 0)
		json_array_append_new(asp, json_string("9:16"));
	json_object_set_new(opts, "clips", json_integer(clips));
	json_object_set_new(opts, "min_len", json_real(min_len));
	json_object_set_new(opts, "max_len", json_real(max_len));
	json_object_set(opts, "aspects", asp);

	/* From here on, failures are not usage errors. */
	rc = CLI_FAIL;
	if (file != NULL) {
		if (stat(file, &sb) == -1 || !S_ISREG(sb.st_mode)) {
			cli_fail("%s is not a file that can be read", file);
			goto out;
		}
		if ((unsigned long long)sb.st_size >
		    (unsigned long long)cfg.upload_max_mb * 1024 * 1024) {
			cli_fail("%s is larger than upload_max_mb (%lld MB)", file,
			    cfg.upload_max_mb);
			goto out;
		}
	}
	if ((c = cli_connect()) == NULL)
		goto out;
	switch (cli_user_id(c, user, &uid, &disabled)) {
	case 0:
		break;
	case 1:
		cli_fail("no user named \"%s\"", user);
		goto out;
	default:
		goto out;
	}
	if (disabled) {
		cli_fail("user \"%s\" is disabled", user);
		goto out;
	}
	if (file != NULL) {
		/* The upload is in the store, under its job's id, before the
		 * job row says so: the fetch stage may start at once. */
		if ((st = store_open(err, sizeof(err))) == NULL) {
			cli_fail("%s", err);
			goto out;
		}
		if ((id = queue_reserve_job_id(c, err, sizeof(err))) < 0) {
			cli_fail("%s", err);
			goto out;
		}
		upload_ext(file, ext);
		key_job_upload(key, sizeof(key), id, ext);
		if (store_put(st, key, file, NULL, err, sizeof(err)) != STORE_OK) {
			cli_fail("%s", err);
			goto out;
		}
		stored = 1;
		got = queue_submit(c, id, uid, "upload", NULL, key, opts, NULL,
		    err, sizeof(err));
	} else
		got = queue_submit(c, 0, uid, "url", url, NULL, opts, NULL, err,
		    sizeof(err));
	if (got < 0) {
		cli_fail("%s", err);
		goto out;
	}
	printf("%lld\n", got);
	stored = 0;
	rc = CLI_OK;
out:
	if (stored) {
		/* no job names the upload: do not leave it behind */
		key_job_prefix(key, sizeof(key), id);
		store_delete_prefix(st, key, err, sizeof(err));
	}
	store_close(st);
	if (c != NULL)
		PQfinish(c);
	json_decref(asp);
	json_decref(opts);
	return rc;
}
