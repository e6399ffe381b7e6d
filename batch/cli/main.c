/*
 * clipmill: the operator's command-line tool.
 *   clipmill [-c FILE] COMMAND [ARGS]
 * Every command exits 0 on success, 1 on a failure it explains in one
 * sentence on stderr, 2 on a usage error.  The commands live in
 * batch/cli_*.c (see cli.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "util.h"

void
cli_usage_all(FILE *f)
{
	fprintf(f,
	    "usage: %s [-c config] command [arguments]\n"
	    "\n"
	    "commands:\n"
	    "  migrate              apply the database schema migrations\n"
	    "  user add NAME        create a user and print a new API key once\n"
	    "  user list            list users\n"
	    "  user disable NAME    refuse NAME's API key from now on and end "
	    "its sessions\n"
	    "  user enable NAME     accept NAME's API key again\n"
	    "  user rotate-key NAME\n"
	    "                       print a new API key for NAME; the old key "
	    "and NAME's\n"
	    "                       browser sessions end at once\n"
	    "  user webhook NAME URL | --remove\n"
	    "                       POST NAME's job events to URL; prints the "
	    "signing\n"
	    "                       secret once\n"
	    "  submit --user NAME [options] URL | --file PATH\n"
	    "                       queue a job; prints its id.  Options:\n",
	    cli_progname);
	cli_submit_options(f, 23);
	fprintf(f,
	    "  jobs [--state S] [--user NAME] [--limit N]\n"
	    "                       list jobs, newest first (default 50)\n"
	    "  job ID               a job with its tasks, clips and events\n"
	    "  retry ID             run a failed, cancelled or partial job's "
	    "failed steps again\n"
	    "  cancel ID            cancel a pending or running job\n"
	    "  stats                queue depth per stage and state, task "
	    "durations\n"
	    "                       (p50, p95) and failures over the last hour\n"
	    "  prune                delete ended jobs beyond retention, with "
	    "their files\n"
	    "  config               print the effective configuration\n"
	    "  doctor [--socket unix:PATH|HOST:PORT] [--min-free MB]\n"
	    "                       check the set-up, one line per check\n"
	    "\n"
	    "The configuration is read from -c FILE, else $CLIPMILL_CONF, else\n"
	    SYSCONFDIR "/clipmill.conf; $CLIPMILL_DATABASE_URL overrides "
	    "database_url.\n"
	    "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

static int
cmd_migrate(int argc, char **argv)
{
	char err[1024];
	PGconn *c;
	int n;

	(void)argv;
	if (argc != 1)
		return cli_usage("migrate", "migrate takes no arguments");
	if ((c = db_connect(err, sizeof(err))) == NULL)
		return cli_fail("%s", err);
	n = db_migrate(c, err, sizeof(err));
	PQfinish(c);
	if (n < 0)
		return cli_fail("%s", err);
	printf("%d migration%s applied; schema is at version %d\n", n,
	    n == 1 ? "" : "s", migrations[n_migrations - 1].version);
	return CLI_OK;
}

static int
cmd_config(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return cli_usage("config", "config takes no arguments");
	config_dump(stdout);
	return CLI_OK;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "migrate", cmd_migrate },
	{ "user", cli_user },
	{ "submit", cli_submit },
	{ "jobs", cli_jobs },
	{ "job", cli_job },
	{ "retry", cli_retry },
	{ "cancel", cli_cancel },
	{ "stats", cli_stats },
	{ "prune", cli_prune },
	{ "config", cmd_config },
};

int
main(int argc, char **argv)
{
	const char *conf = NULL;
	char err[1024];
	size_t i;
	int ch;

	log_set_program(cli_progname);
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'h':
			cli_usage_all(stdout);
			return CLI_OK;
		default:
			cli_usage_all(stderr);
			return CLI_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		cli_usage_all(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[0], "doctor") == 0)
		return cli_doctor(conf, argc, argv);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "%s: unknown command \"%s\"\n", cli_progname,
		    argv[0]);
		cli_usage_all(stderr);
		return CLI_USAGE;
	}
	if (config_load(conf, err, sizeof(err)) == -1)
		return cli_fail("%s", err);
	log_init(cfg.log_level, NULL);
	return commands[i].fn(argc, argv);
}
