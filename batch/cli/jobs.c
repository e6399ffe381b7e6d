/* clipmill jobs, job ID, retry ID, cancel ID: looking at jobs and acting
 * on them. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "queue.h"
#include "util.h"

static const char *const job_states[] = {
	"pending", "running", "done", "partial", "failed", "cancelled"
};

int
cli_jobs(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "state", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const hdr[] = { "ID", "USER", "STATE", "CLIPS",
	    "CREATED (UTC)", "SOURCE", "ERROR" };
	const char *state = NULL, *user = NULL, *p[3];
	struct db_params dp = { 0 };
	char err[512];
	long long n = 50, uid;
	PGresult *r;
	PGconn *c;
	size_t i;
	int ch, rc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			for (i = 0; i < sizeof(job_states) / sizeof(*job_states); i++)
				if (strcmp(optarg, job_states[i]) == 0)
					break;
			if (i == sizeof(job_states) / sizeof(*job_states))
				return cli_usage("jobs", "--state must be one of "
				    "pending, running, done, partial, failed or "
				    "cancelled, not \"%s\"", optarg);
			state = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'n':
			if (parse_ll(optarg, 1, 100000, &n) == -1)
				return cli_usage("jobs", "--limit must be a whole "
				    "number from 1 to 100000, not \"%s\"", optarg);
			break;
		default:
			return cli_usage("jobs", "unknown option or missing "
			    "value: %s", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage("jobs", "unexpected argument \"%s\"",
		    argv[optind]);
	if ((c = cli_connect()) == NULL)
		return CLI_FAIL;
	/* An unknown user is a mistake worth saying, not an empty list. */
	if (user != NULL && (rc = cli_user_id(c, user, &uid, NULL)) != 0) {
		PQfinish(c);
		return rc == 1 ? cli_fail("no user named \"%s\"", user) : CLI_FAIL;
	}
	p[0] = state;
	p[1] = user;
	p[2] = db_param_ll(&dp, n);
	r = db_exec(c, err, sizeof(err),
	    "SELECT j.id, u.name, j.state,"
	    " (SELECT count(*) FROM clips k WHERE k.job_id = j.id),"
	    " " CLI_TS("j.created_at") ","
	    " j.source_kind || ' ' || coalesce(j.source_url, j.source_key, ''),"
	    " j.error "
	    "FROM jobs j JOIN users u ON u.id = j.user_id "
	    "WHERE ($1::text IS NULL OR j.state = $1) "
	    "  AND ($2::text IS NULL OR u.name = $2) "
	    "ORDER BY j.id DESC LIMIT $3::int", 3, p);
	PQfinish(c);
	if (r == NULL)
		return cli_fail("%s", err);
	cli_table(stdout, r, hdr, 60);
	PQclear(r);
	return CLI_OK;
}

/* Run QUERY with the job id as $1 and print it as a table under a title. */
static int
section(PGconn *c, const char *title, const char *query, const char *jid,
    const char *const *hdr)
{
	char err[512];
	const char *p[1] = { jid };
	PGresult *r;

	if ((r = db_exec(c, err, sizeof(err), query, 1, p)) == NULL)
		return cli_fail("%s", err);
	printf("\n%s (%d)\n", title, PQntuples(r));
	if (PQntuples(r) > 0)
		cli_table(stdout, r, hdr, 200);
	PQclear(r);
	return CLI_OK;
}

int
cli_job(int argc, char **argv)
{
	static const char *const fields[] = { "id", "user", "state", "source",
	    "source_key", "options", "probe", "error", "created", "updated",
	    "finished" };
	static const char *const task_hdr[] = { "ID", "STAGE", "CLIP", "STATE",
	    "ATTEMPTS", "PROGRESS", "RUNNER", "STARTED (UTC)", "FINISHED (UTC)",
	    "ERROR" };
	static const char *const clip_hdr[] = { "ID", "RANK", "ASPECT",
	    "START", "END", "SCORE", "STATE", "TITLE", "VIDEO", "ERROR" };
	static const char *const ev_hdr[] = { "SEQ", "TIME (UTC)", "KIND",
	    "STAGE", "DATA" };
	struct db_params dp = { 0 };
	char err[512];
	const char *p[1], *jid;
	long long id;
	PGresult *r;
	PGconn *c;
	int i, rc = CLI_FAIL;

	if (argc != 2)
		return cli_usage("job", "job takes one job id");
	if (cli_parse_id(argv[1], &id) == -1)
		return cli_usage("job", "a job id is a positive whole number, "
		    "not \"%s\"", argv[1]);
	jid = p[0] = db_param_ll(&dp, id);
	if ((c = cli_connect()) == NULL)
		return CLI_FAIL;
	r = db_exec(c, err, sizeof(err),
	    "SELECT j.id, u.name, j.state,"
	    " j.source_kind || coalesce(' ' || j.source_url, ''), j.source_key,"
	    " j.options::text, j.probe::text, j.error,"
	    " " CLI_TS("j.created_at") ", " CLI_TS("j.updated_at") ","
	    " " CLI_TS("j.finished_at") " "
	    "FROM jobs j JOIN users u ON u.id = j.user_id WHERE j.id = $1", 1, p);
	if (r == NULL) {
		cli_fail("%s", err);
		goto out;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		cli_fail("no job %lld", id);
		goto out;
	}
	for (i = 0; i < PQnfields(r); i++)
		printf("%-11s %s\n", fields[i], PQgetisnull(r, 0, i) ? "-" :
		    PQgetvalue(r, 0, i));
	PQclear(r);
	if (section(c, "tasks",
	    "SELECT id, stage, clip_id, state,"
	    " attempts || '/' || max_attempts, progress || '%'"
	    "  || coalesce(' ' || message, ''), runner,"
	    " " CLI_TS("started_at") ", " CLI_TS("finished_at") ", error "
	    "FROM tasks WHERE job_id = $1 ORDER BY id", jid, task_hdr) != 0 ||
	    section(c, "clips",
	    "SELECT id, rank, aspect, round(start_s::numeric, 2),"
	    " round(end_s::numeric, 2), round(score::numeric, 3), state, title,"
	    /* the store's key when no public URL is kept (S3 clips are
	     * presigned when asked for, through /clips/ID/video) */
	    " coalesce(video_url, video_key), error "
	    "FROM clips WHERE job_id = $1 ORDER BY rank, aspect, id", jid,
	    clip_hdr) != 0 ||
	    section(c, "events",
	    "SELECT seq, " CLI_TS("ts") ", kind, stage, data::text "
	    "FROM events WHERE job_id = $1 ORDER BY seq", jid, ev_hdr) != 0)
		goto out;
	rc = CLI_OK;
out:
	PQfinish(c);
	return rc;
}

/* retry and cancel: the same shape around two queue calls. */
static int
job_action(int argc, char **argv, int (*fn)(PGconn *, long long, long long,
    char *, size_t), const char *done)
{
	char err[512] = "";
	long long id;
	PGconn *c;
	int rc;

	if (argc != 2)
		return cli_usage(argv[0], "%s takes one job id", argv[0]);
	if (cli_parse_id(argv[1], &id) == -1)
		return cli_usage(argv[0], "a job id is a positive whole number, "
		    "not \"%s\"", argv[1]);
	if ((c = cli_connect()) == NULL)
		return CLI_FAIL;
	rc = fn(c, id, 0, err, sizeof(err));
	PQfinish(c);
	switch (rc) {
	case 0:
		printf("job %lld %s\n", id, done);
		return CLI_OK;
	case 1:
		/* the queue says nothing when the job does not exist */
		if (err[0] == '\0')
			return cli_fail("no job %lld", id);
		return cli_fail("%s", err);
	default:
		return cli_fail("%s", err);
	}
}

int
cli_retry(int argc, char **argv)
{
	return job_action(argc, argv, queue_retry_job, "will be retried");
}

int
cli_cancel(int argc, char **argv)
{
	return job_action(argc, argv, queue_cancel_job, "cancelled");
}
