/*
 * clipmill: the operator's command-line tool.
 *   clipmill [-c FILE] COMMAND [ARGS]
 * Every command exits 0 on success, 1 on a failure it explains in one
 * sentence on stderr, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "util.h"

static const char *progname = "clipmill";

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [-c config] command [arguments]\n"
	    "\n"
	    "commands:\n"
	    "  migrate              apply the database schema migrations\n"
	    "  user add NAME        create a user and print a new API key once\n"
	    "  user list            list users\n",
	    progname);
}

static PGconn *
connect_or_die(void)
{
	char err[512];
	PGconn *c = db_connect(err, sizeof(err));

	if (c == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		exit(1);
	}
	return c;
}

static int
cmd_migrate(int argc, char **argv)
{
	char err[1024];
	PGconn *c;
	int n;

	(void)argv;
	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	c = connect_or_die();
	n = db_migrate(c, err, sizeof(err));
	PQfinish(c);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return 1;
	}
	printf("%d migration%s applied; schema is at version %d\n", n,
	    n == 1 ? "" : "s", migrations[n_migrations - 1].version);
	return 0;
}

static int
user_add(const char *name)
{
	unsigned char raw[24];
	char key[64], hash[65], prefix[16], err[512];
	const char *p[3];
	PGconn *c;
	int i, rc = 1;

	if (random_bytes(raw, sizeof(raw)) == -1) {
		fprintf(stderr, "%s: cannot read random bytes\n", progname);
		return 1;
	}
	/* "cm_" and 48 hex digits: easy to spot in logs and to grep. */
	memcpy(key, "cm_", 3);
	for (i = 0; i < (int)sizeof(raw); i++)
		snprintf(key + 3 + 2 * i, 3, "%02x", raw[i]);
	sha256_hex(key, strlen(key), hash);
	snprintf(prefix, sizeof(prefix), "%.10s", key);
	p[0] = name;
	p[1] = hash;
	p[2] = prefix;
	c = connect_or_die();
	if (db_check_schema(c, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", progname, err);
		goto out;
	}
	PGresult *r = PQexecParams(c,
	    "INSERT INTO users (name, key_hash, key_prefix) VALUES ($1, $2, $3)",
	    3, NULL, p, NULL, NULL, 0);
	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
		printf("%s\n", key);
		rc = 0;
		break;
	default: {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "23505") == 0)
			fprintf(stderr, "%s: a user named \"%s\" already exists\n",
			    progname, name);
		else if (state != NULL && strcmp(state, "23514") == 0)
			fprintf(stderr, "%s: a user name is 1 to 64 letters, "
			    "digits or . _ @ -\n", progname);
		else
			fprintf(stderr, "%s: %s", progname, PQerrorMessage(c));
	}
	}
	PQclear(r);
out:
	PQfinish(c);
	return rc;
}

static int
user_list(void)
{
	char err[512];
	PGresult *r;
	PGconn *c = connect_or_die();
	int i, rc = 1;

	r = db_exec(c, err, sizeof(err),
	    "SELECT id, name, key_prefix, disabled, "
	    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
	    "FROM users ORDER BY id", 0, NULL);
	if (r == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		goto out;
	}
	printf("%-6s %-24s %-12s %-8s %s\n", "ID", "NAME", "KEY", "STATE",
	    "CREATED (UTC)");
	for (i = 0; i < PQntuples(r); i++)
		printf("%-6s %-24s %-12s %-8s %s\n", PQgetvalue(r, i, 0),
		    PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
		    strcmp(PQgetvalue(r, i, 3), "t") == 0 ? "disabled" : "active",
		    PQgetvalue(r, i, 4));
	PQclear(r);
	rc = 0;
out:
	PQfinish(c);
	return rc;
}

static int
cmd_user(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "add") == 0)
		return user_add(argv[2]);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return user_list();
	usage(stderr);
	return 2;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "migrate", cmd_migrate },
	{ "user", cmd_user },
};

int
main(int argc, char **argv)
{
	const char *conf = NULL;
	char err[1024];
	size_t i;
	int ch;

	log_set_program(progname);
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	if (config_load(conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return 1;
	}
	log_init(cfg.log_level, NULL);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			return commands[i].fn(argc, argv);
	fprintf(stderr, "%s: unknown command \"%s\"\n", progname, argv[0]);
	usage(stderr);
	return 2;
}
