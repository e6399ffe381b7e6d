/*
 * clipmill-batch: the runner cron starts (runner.c).
 *
 * Exit codes (keep in step with usage() and clipmill-batch(8)):
 *   0  finished normally: idle for --idle-exit seconds, --max-tasks done,
 *      --once done, stopped by SIGTERM/SIGINT (its task finished or handed
 *      back), maintenance done or skipped, sweep done, or nothing to do
 *      because database_url is empty (a fresh package's configuration),
 *      --listen with wake_socket empty or another listener on it
 *   1  could not work: configuration, schema, store or scratch directory
 *      unusable, or maintenance failed
 *   2  usage error (unknown option or stage)
 *   3  the database is unreachable, or the connection was lost while
 *      running (its tasks are rescued by the next runner)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "runner.h"
#include "stage.h"
#include "util.h"

static const char *progname = "clipmill-batch";

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [-c FILE] --stage NAME[,NAME...] [--max-tasks N]\n"
	    "            [--idle-exit SEC] [--once]\n"
	    "       %s [-c FILE] --maintenance\n"
	    "       %s [-c FILE] --sweep\n"
	    "       %s [-c FILE] --list-stages\n"
	    "       %s [-c FILE] --listen\n"
	    "\n"
	    "  --stage LIST     claim and run tasks of these stages\n"
	    "  --max-tasks N    exit after running N tasks\n"
	    "  --idle-exit SEC  exit after SEC seconds without work "
	    "(default: idle_exit)\n"
	    "  --once           one claim round, then exit\n"
	    "  --maintenance    rescue stuck tasks and prune old jobs, then exit\n"
	    "  --sweep          remove scratch directories of dead tasks "
	    "(unlocked,\n"
	    "                   older than 30 minutes) and uploads left behind\n"
	    "                   (untouched for 2 hours), then exit\n"
	    "  --list-stages    print the stages this runner knows\n"
	    "  --listen         the host's wake-up service for wake_socket: one\n"
	    "                   LISTEN connection and the rescue pass for all\n"
	    "                   the host's runners, which connect only to work\n"
	    "  -c FILE          configuration file (default: $CLIPMILL_CONF, "
	    "then\n"
	    "                   " SYSCONFDIR "/clipmill.conf)\n"
	    "\n"
	    "Exit status: 0 finished normally (idle, --max-tasks, --once, "
	    "SIGTERM);\n"
	    "1 could not work (configuration, schema, store, scratch, "
	    "maintenance);\n"
	    "2 usage error; 3 database unreachable or lost while running.\n",
	    progname, progname, progname, progname, progname);
}

static void
list_stages(void)
{
	size_t i;
	const struct stage *s;

	for (i = 0; (s = all_stages[i]) != NULL; i++) {
		if (s->test_only && !cfg.test_stages)
			continue;
		printf("%s\t%s", s->name, s->isolated ? "isolated" :
		    s->batch > 1 ? "in-process,batch" : "in-process");
		if (s->cap != NULL)
			printf("\tcap=%lld", *s->cap);
		printf("%s\n", s->test_only ? "\ttest" : "");
	}
}

/* Parse "a,b,c" into O->stages; 0, or -1 with a sentence on stderr. */
static int
parse_stages(const char *arg, struct runner_opts *o)
{
	char name[64];
	const char *p = arg, *comma;
	const struct stage *s;
	size_t len, i;
	int j;

	while (*p) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len >= sizeof(name)) {
			fprintf(stderr, "%s: bad stage list \"%s\"\n", progname, arg);
			return -1;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		if ((s = stage_find(name)) == NULL) {
			for (i = 0; all_stages[i] != NULL; i++)
				if (strcmp(all_stages[i]->name, name) == 0)
					break;
			if (all_stages[i] != NULL)
				fprintf(stderr, "%s: stage \"%s\" is for tests "
				    "only; set test_stages = yes to use it\n",
				    progname, name);
			else {
				fprintf(stderr, "%s: unknown stage \"%s\"; known "
				    "stages:", progname, name);
				for (i = 0; all_stages[i] != NULL; i++)
					if (!all_stages[i]->test_only ||
					    cfg.test_stages)
						fprintf(stderr, " %s",
						    all_stages[i]->name);
				fprintf(stderr, "\n");
			}
			return -1;
		}
		for (j = 0; j < o->nstages; j++)
			if (o->stages[j] == s)
				break;
		if (j == o->nstages) {
			if (o->nstages == MAX_RUN_STAGES) {
				fprintf(stderr, "%s: too many stages\n", progname);
				return -1;
			}
			o->stages[o->nstages++] = s;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (o->nstages == 0) {
		fprintf(stderr, "%s: --stage needs at least one stage name\n",
		    progname);
		return -1;
	}
	return 0;
}

/* Fill O for --stage from the options' text: 0, or the exit status after
 * saying why on stderr. */
static int
run_options(const char *max, const char *idle, const char *stages,
    struct runner_opts *o)
{
	o->idle_exit = cfg.idle_exit;
	if (max != NULL && parse_ll(max, 1, 1000000000, &o->max_tasks) == -1) {
		fprintf(stderr, "%s: --max-tasks must be a whole number from 1 "
		    "to 1000000000, not \"%s\"\n", progname, max);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (idle != NULL && parse_ll(idle, 0, 86400, &o->idle_exit) == -1) {
		fprintf(stderr, "%s: --idle-exit must be a whole number of seconds "
		    "from 0 to 86400, not \"%s\"\n", progname, idle);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (parse_stages(stages, o) == -1)
		return EXIT_USAGE;
	return 0;
}

int
main(int argc, char **argv)
{
	enum { M_RUN, M_MAINT, M_SWEEP, M_LIST, M_LISTEN } mode = M_RUN;
	static const struct option longopts[] = {
		{ "stage", required_argument, NULL, 's' },
		{ "max-tasks", required_argument, NULL, 'm' },
		{ "idle-exit", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, 'o' },
		{ "maintenance", no_argument, NULL, 'M' },
		{ "sweep", no_argument, NULL, 'S' },
		{ "list-stages", no_argument, NULL, 'L' },
		{ "listen", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct runner_opts o;
	const char *conf = NULL, *stages = NULL, *max = NULL, *idle = NULL;
	char err[1024];
	int ch, rc, modes = 0;

	log_set_program(progname);
	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 's':
			stages = optarg;
			break;
		case 'm':
			max = optarg;
			break;
		case 'i':
			idle = optarg;
			break;
		case 'o':
			o.once = 1;
			break;
		case 'M':
		case 'S':
		case 'L':
		case 'W':
			mode = ch == 'M' ? M_MAINT : ch == 'S' ? M_SWEEP :
			    ch == 'L' ? M_LIST : M_LISTEN;
			modes++;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", progname,
		    argv[optind]);
		goto bad;
	}
	if (modes > 1 || (modes == 1 && stages != NULL)) {
		fprintf(stderr, "%s: --stage, --maintenance, --sweep, "
		    "--list-stages and --listen go alone\n", progname);
		goto bad;
	}
	if (modes == 0 && stages == NULL) {
		fprintf(stderr, "%s: say which stages to run with --stage\n",
		    progname);
		goto bad;
	}
	if (modes == 1 && (max != NULL || idle != NULL || o.once)) {
		fprintf(stderr, "%s: --max-tasks, --idle-exit and --once go with "
		    "--stage\n", progname);
		goto bad;
	}
	if (config_load(conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return EXIT_FAIL;
	}
	if (log_init(cfg.log_level, cfg.log_file) == -1) {
		fprintf(stderr, "%s: cannot open log file %s\n", progname,
		    cfg.log_file);
		return EXIT_FAIL;
	}
	if (mode == M_LIST) {
		list_stages();
		return EXIT_OK;
	}
	if (mode == M_RUN && (rc = run_options(max, idle, stages, &o)) != 0)
		return rc;
	/* A fresh package runs cron's lines before the operator has named
	 * a database: one line in the log, not an error every minute. */
	if (*cfg.database_url == '\0') {
		log_ev(LOG_INFO, "not_configured", "{ss}", "reason",
		    "database_url is empty; set it in clipmill.conf");
		return EXIT_OK;
	}
	/* Our name on the connection: `clipmill doctor` finds idle runners
	 * in pg_stat_activity by it. */
	setenv("PGAPPNAME", progname, 1);
	switch (mode) {
	case M_SWEEP:
		return runner_sweep();
	case M_MAINT:
		return runner_maintenance();
	case M_LISTEN:
		return runner_listen();
	default:
		return runner_main(&o);
	}
bad:
	usage(stderr);
	return EXIT_USAGE;
}
