/*
 * clipmill submit: queue a job for a URL or a local file, as a user.  The
 * options are the job specification's fields (lib/jobspec.c) as flags,
 * min_len as --min-len, checked by the same table as the web's form.
 */
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
#include "jobspec.h"
#include "mediatype.h"
#include "keys.h"
#include "queue.h"
#include "store.h"
#include "util.h"

#define NAME_MAX_FLAG	32
#define MAX_FIELDS	24
/* getopt values: a field's own flag is O_FIELD + its index in the table. */
enum { O_USER = 1, O_FILE, O_NOCAP, O_FIELD = 256 };

/* Older spellings kept working (clipmill(1) says so), and the field each
 * stands for. */
static const struct {
	const char	*flag, *field;
} aliases[] = {
	{ "aspect", "aspects" },
	{ "transcribe", "transcribe_backend" },
	{ "select", "select_backend" },
};
#define NALIASES (sizeof(aliases) / sizeof(aliases[0]))

/* A submission as the command line gives it. */
struct submission {
	const char	*user, *file;
	char		 ext[MEDIATYPE_EXT_MAX + 1];	/* the upload's */
	struct backends	 be;
	struct jobspec	 js;
};

/* The long options: --user, --file, --no-captions, one per field of the
 * table (but the URL, which is the argument) and the aliases.  NAMES
 * holds the flags' spellings.  0, or -1 when the table has more than
 * MAX_FIELDS rows. */
static int
long_options(struct option *lo, char names[][NAME_MAX_FLAG])
{
	const struct jobfield *f;
	size_t n = 0, i;

	for (f = jobspec_fields; f->name != NULL; f++)
		if (f - jobspec_fields >= MAX_FIELDS)
			return -1;
	lo[n++] = (struct option){ "user", required_argument, NULL, O_USER };
	lo[n++] = (struct option){ "file", required_argument, NULL, O_FILE };
	lo[n++] = (struct option){ "no-captions", no_argument, NULL, O_NOCAP };
	for (f = jobspec_fields; f->name != NULL; f++) {
		if (strcmp(f->name, "url") == 0)
			continue;
		jobspec_name(f->name, 1, names[f - jobspec_fields],
		    NAME_MAX_FLAG);
		/* a switch that is off by default is a flag (--review),
		 * which may still say --review=off */
		lo[n++] = (struct option){ names[f - jobspec_fields] + 2,
		    f->type == JF_BOOL && strcmp(f->def, "off") == 0 ?
		    optional_argument : required_argument, NULL,
		    O_FIELD + (int)(f - jobspec_fields) };
	}
	for (i = 0; i < NALIASES; i++)
		lo[n++] = (struct option){ aliases[i].flag, required_argument,
		    NULL, O_FIELD + (int)(jobspec_field(aliases[i].field) -
		    jobspec_fields) };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	return 0;
}

/* Print submit's options from the table, one a line, each indented by
 * INDENT spaces: what clipmill's usage lists. */
void
cli_submit_options(FILE *fp, int indent)
{
	const struct jobfield *f;
	char flag[NAME_MAX_FLAG];
	const char *const *w;
	size_t i;

	for (f = jobspec_fields; f->name != NULL; f++) {
		if (strcmp(f->name, "url") == 0 || f->type == JF_STAGE)
			continue;
		fprintf(fp, "%*s%s ", indent, "",
		    jobspec_name(f->name, 1, flag, sizeof(flag)));
		switch (f->type) {
		case JF_INT:
			fprintf(fp, "N (%lld-%lld)", f->min, f->max);
			break;
		case JF_BOOL:
			fputs(strcmp(f->def, "off") == 0 ? "(a flag; =off)" :
			    "on|off", fp);
			break;
		case JF_ENUM:
			for (w = f->words; *w != NULL; w++)
				fprintf(fp, "%s%s", w == f->words ? "" : "|", *w);
			if (f->multi)
				fputs(" (repeatable)", fp);
			break;
		case JF_URL:
			fputs("URL", fp);
			break;
		default:
			fputs("CODE", fp);
			break;
		}
		fputc('\n', fp);
	}
	fprintf(fp, "%*s--no-captions is --captions off\n%*sold spellings:",
	    indent, "", indent, "");
	for (i = 0; i < NALIASES; i++)
		fprintf(fp, "%s--%s", i == 0 ? " " : ", ", aliases[i].flag);
	fputc('\n', fp);
}

/* Set FIELD to VAL through the table; 0, or CLI_USAGE after saying why,
 * naming the field by its flag. */
static int
set_field(struct submission *s, const char *field, const char *val)
{
	char err[512], flag[NAME_MAX_FLAG];

	if (jobspec_set(&s->js, jobspec_field(field), val, &s->be, err,
	    sizeof(err)) == 0)
		return 0;
	return cli_usage("submit", "%s %s", jobspec_name(field, 1, flag,
	    sizeof(flag)), err);
}

/* Read the arguments into S and check them all; 0, or CLI_USAGE after
 * saying what is wrong. */
static int
parse_args(int argc, char **argv, struct submission *s)
{
	struct option lo[3 + MAX_FIELDS + NALIASES + 1];
	static char names[MAX_FIELDS][NAME_MAX_FLAG];
	char err[512], field[32], flag[NAME_MAX_FLAG];
	int ch, rc;

	if (long_options(lo, names) == -1)
		return cli_usage("submit", "the job table has more than %d "
		    "fields", MAX_FIELDS);
	jobspec_backends(&s->be);
	jobspec_defaults(&s->js, &s->be);
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		rc = 0;
		if (ch == O_USER)
			s->user = optarg;
		else if (ch == O_FILE)
			s->file = optarg;
		else if (ch == O_NOCAP)
			rc = set_field(s, "captions", "off");
		else if (ch >= O_FIELD)
			rc = set_field(s, jobspec_fields[ch - O_FIELD].name,
			    optarg != NULL ? optarg : "on");
		else
			rc = cli_usage("submit", "unknown option or missing "
			    "value: %s", argv[optind - 1]);
		if (rc != 0)
			return rc;
	}
	if (optind < argc && set_field(s, "url", argv[optind++]) != 0)
		return CLI_USAGE;
	if (optind < argc)
		return cli_usage("submit", "unexpected argument \"%s\"",
		    argv[optind]);
	if (s->user == NULL)
		return cli_usage("submit", "submit needs --user NAME");
	if (jobspec_finish(&s->js, s->file != NULL, 1, field, sizeof(field),
	    err, sizeof(err)) == -1)
		return cli_usage("submit", "%s %s", jobspec_name(field, 1, flag,
		    sizeof(flag)), err);
	if (s->file != NULL && mediatype_upload_ext(s->file, s->ext,
	    sizeof(s->ext), err, sizeof(err)) == -1)
		return cli_usage("submit", "--file %s", err);
	return 0;
}

/* The local file to upload is a regular file within upload_max_mb; 0, or
 * CLI_FAIL after saying why. */
static int
check_file(const char *file)
{
	struct stat sb;

	if (stat(file, &sb) == -1 || !S_ISREG(sb.st_mode))
		return cli_fail("%s is not a file that can be read", file);
	if ((unsigned long long)sb.st_size >
	    (unsigned long long)cfg.upload_max_mb * 1024 * 1024)
		return cli_fail("%s is larger than upload_max_mb (%lld MB)", file,
		    cfg.upload_max_mb);
	return 0;
}

/* The user's id, when the user exists and may submit; 0, or CLI_FAIL after
 * saying why. */
static int
submitter(PGconn *c, const char *user, long long *uid)
{
	int disabled;

	switch (cli_user_id(c, user, uid, &disabled)) {
	case 0:
		break;
	case 1:
		return cli_fail("no user named \"%s\"", user);
	default:
		return CLI_FAIL;
	}
	if (disabled)
		return cli_fail("user \"%s\" is disabled", user);
	return 0;
}

/* Queue S's job for user UID and print its id.  An upload goes into the
 * store, under its job's id, before the job row says so (the fetch stage
 * may start at once); it is removed again when the job cannot be queued.
 * CLI_OK, or CLI_FAIL after saying why. */
static int
queue_job(PGconn *c, const struct submission *s, long long uid, json_t *opts)
{
	const char *first = s->js.first_stage[0] ? s->js.first_stage : NULL;
	char err[1024], key[64];
	struct store *st;
	long long id, got;

	if (s->file == NULL) {
		got = queue_submit(c, 0, uid, "url", s->js.url, NULL, NULL, opts,
		    first, err, sizeof(err));
		if (got < 0)
			return cli_fail("%s", err);
		printf("%lld\n", got);
		return CLI_OK;
	}
	if ((st = store_open(err, sizeof(err))) == NULL)
		return cli_fail("%s", err);
	if ((id = queue_reserve_job_id(c, err, sizeof(err))) < 0) {
		store_close(st);
		return cli_fail("%s", err);
	}
	if (key_job_upload(key, sizeof(key), id, s->ext) == -1) {
		snprintf(err, sizeof(err), "no store key for upload.%s", s->ext);
		got = -1;
	} else if (store_put(st, key, s->file, NULL, err, sizeof(err)) !=
	    STORE_OK)
		got = -1;
	else if ((got = queue_submit(c, id, uid, "upload", NULL, key,
	    path_base(s->file), opts, first, err, sizeof(err))) < 0) {
		/* no job names the upload: do not leave it behind */
		char prefix[64], derr[256];
		if (key_job_prefix(prefix, sizeof(prefix), id) == 0)
			store_delete_prefix(st, prefix, derr, sizeof(derr));
	}
	store_close(st);
	if (got < 0)
		return cli_fail("%s", err);
	printf("%lld\n", got);
	return CLI_OK;
}

int
cli_submit(int argc, char **argv)
{
	struct submission s;
	json_t *opts = NULL;
	PGconn *c = NULL;
	long long uid;
	int rc;

	memset(&s, 0, sizeof(s));
	if ((rc = parse_args(argc, argv, &s)) != 0)
		return rc;
	/* From here on, failures are not usage errors. */
	if (s.file != NULL && (rc = check_file(s.file)) != 0)
		return rc;
	if ((opts = jobspec_options(&s.js)) == NULL)
		return cli_fail("out of memory");
	if ((c = cli_connect()) == NULL)
		rc = CLI_FAIL;
	else if ((rc = submitter(c, s.user, &uid)) == 0)
		rc = queue_job(c, &s, uid, opts);
	if (c != NULL)
		PQfinish(c);
	json_decref(opts);
	return rc;
}
