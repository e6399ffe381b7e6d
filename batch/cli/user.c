/* clipmill user add|list|disable|enable: API users. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "util.h"

/* Create NAME with a fresh API key, printed once; only its hash is kept. */
static int
user_add(const char *name)
{
	unsigned char raw[24];
	char key[64], hash[65], prefix[16];
	const char *p[3];
	PGresult *r;
	PGconn *c;
	int i, rc = CLI_FAIL;

	if (random_bytes(raw, sizeof(raw)) == -1)
		return cli_fail("cannot read random bytes");
	/* "cm_" and 48 hex digits: easy to spot in logs and to grep. */
	memcpy(key, "cm_", 3);
	for (i = 0; i < (int)sizeof(raw); i++)
		snprintf(key + 3 + 2 * i, 3, "%02x", raw[i]);
	sha256_hex(key, strlen(key), hash);
	snprintf(prefix, sizeof(prefix), "%.10s", key);
	p[0] = name;
	p[1] = hash;
	p[2] = prefix;
	if ((c = cli_connect()) == NULL)
		return CLI_FAIL;
	r = PQexecParams(c,
	    "INSERT INTO users (name, key_hash, key_prefix) VALUES ($1, $2, $3)",
	    3, NULL, p, NULL, NULL, 0);
	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
		printf("%s\n", key);
		rc = CLI_OK;
		break;
	default: {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "23505") == 0)
			cli_fail("a user named \"%s\" already exists", name);
		else if (state != NULL && strcmp(state, "23514") == 0)
			cli_fail("a user name is 1 to 64 letters, digits or "
			    ". _ @ -");
		else
			cli_fail("%s", PQerrorMessage(c));
	}
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

static int
user_list(void)
{
	static const char *const hdr[] = { "ID", "NAME", "KEY", "STATE",
	    "JOBS", "CREATED (UTC)" };
	char err[512];
	PGresult *r;
	PGconn *c;

	if ((c = cli_connect()) == NULL)
		return CLI_FAIL;
	r = db_exec(c, err, sizeof(err),
	    "SELECT id, name, key_prefix, CASE WHEN disabled THEN 'disabled'"
	    " ELSE 'active' END, (SELECT count(*) FROM jobs j"
	    " WHERE j.user_id = u.id), " CLI_TS("created_at") " "
	    "FROM users u ORDER BY id", 0, NULL);
	PQfinish(c);
	if (r == NULL)
		return cli_fail("%s", err);
	cli_table(stdout, r, hdr, 40);
	PQclear(r);
	return CLI_OK;
}

/* Disable (or enable again) NAME: a disabled user's key is refused. */
static int
user_set_disabled(const char *name, int disabled)
{
	char err[512];
	const char *p[2] = { name, disabled ? "t" : "f" };
	PGresult *r;
	PGconn *c;
	int rc = CLI_OK;

	if ((c = cli_connect()) == NULL)
		return CLI_FAIL;
	r = db_exec(c, err, sizeof(err),
	    "UPDATE users SET disabled = $2::boolean WHERE name = $1", 2, p);
	PQfinish(c);
	if (r == NULL)
		return cli_fail("%s", err);
	if (strcmp(PQcmdTuples(r), "0") == 0)
		rc = cli_fail("no user named \"%s\"", name);
	else
		printf("user %s %s\n", name, disabled ? "disabled" : "enabled");
	PQclear(r);
	return rc;
}

int
cli_user(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "add") == 0)
		return user_add(argv[2]);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return user_list();
	if (argc == 3 && strcmp(argv[1], "disable") == 0)
		return user_set_disabled(argv[2], 1);
	if (argc == 3 && strcmp(argv[1], "enable") == 0)
		return user_set_disabled(argv[2], 0);
	if (argc >= 2)
		return cli_usage("user", "unknown or incomplete user command "
		    "\"%s\"", argv[1]);
	return cli_usage("user", "the user command needs a subcommand");
}
