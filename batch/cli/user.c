/* clipmill user add|list|disable|enable|rotate-key|webhook: API users. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "session.h"
#include "util.h"
#include "webhook.h"

/* A new API key into KEY, its SHA-256 (all that is kept) into HASH and
 * its first characters into PREFIX; 0, or -1 after saying why. */
static int
new_key(char key[64], char hash[65], char prefix[16])
{
	unsigned char raw[24];
	int i;

	if (random_bytes(raw, sizeof(raw)) == -1) {
		cli_fail("cannot read random bytes");
		return -1;
	}
	/* "cm_" and 48 hex digits: easy to spot in logs and to grep. */
	memcpy(key, "cm_", 3);
	for (i = 0; i < (int)sizeof(raw); i++)
		snprintf(key + 3 + 2 * i, 3, "%02x", raw[i]);
	sha256_hex(key, strlen(key), hash);
	snprintf(prefix, 16, "%.10s", key);
	return 0;
}

/* Create NAME with a fresh API key, printed once; only its hash is kept. */
static int
user_add(const char *name)
{
	char key[64], hash[65], prefix[16];
	const char *p[3];
	PGresult *r;
	PGconn *c;
	int rc = CLI_FAIL;

	if (new_key(key, hash, prefix) == -1)
		return CLI_FAIL;
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

/*
 * Run SQL, an UPDATE of the user named by P[0] that returns its id, with
 * the N parameters P, and end that user's browser sessions (when END), in
 * one transaction: a session cannot outlive the change.  CLI_OK, or
 * CLI_FAIL after saying why (no such user, a database error).
 */
static int
user_change(const char *sql, int n, const char *const *p, int end)
{
	char err[512];
	long long id;
	PGresult *r;
	PGconn *c;
	int rc = CLI_FAIL;

	if ((c = cli_connect()) == NULL)
		return CLI_FAIL;
	if (db_begin(c, err, sizeof(err)) == -1) {
		PQfinish(c);
		return cli_fail("%s", err);
	}
	if ((r = db_exec(c, err, sizeof(err), sql, n, p)) == NULL) {
		cli_fail("%s", err);
		goto out;
	}
	if (PQntuples(r) != 1 ||
	    parse_ll(PQgetvalue(r, 0, 0), 1, INT64_MAX, &id) == -1) {
		PQclear(r);
		cli_fail("no user named \"%s\"", p[0]);
		goto out;
	}
	PQclear(r);
	if ((end && session_end_user(c, id, err, sizeof(err)) == -1) ||
	    db_commit(c, err, sizeof(err)) == -1) {
		cli_fail("%s", err);
		goto out;
	}
	rc = CLI_OK;
out:
	if (rc != CLI_OK)
		db_rollback(c);
	PQfinish(c);
	return rc;
}

/* Disable (or enable again) NAME: a disabled user's key is refused, and
 * disabling ends the user's browser sessions. */
static int
user_set_disabled(const char *name, int disabled)
{
	const char *p[2] = { name, disabled ? "t" : "f" };

	if (user_change("UPDATE users SET disabled = $2::boolean "
	    "WHERE name = $1 RETURNING id", 2, p, disabled) != CLI_OK)
		return CLI_FAIL;
	printf("user %s %s\n", name, disabled ? "disabled" : "enabled");
	return CLI_OK;
}

/* Give NAME a new API key, printed once: the old one is refused from the
 * commit on, and every browser session of NAME ends with it. */
static int
user_rotate_key(const char *name)
{
	char key[64], hash[65], prefix[16];
	const char *p[3] = { name, hash, prefix };

	if (new_key(key, hash, prefix) == -1)
		return CLI_FAIL;
	if (user_change("UPDATE users SET key_hash = $2, key_prefix = $3 "
	    "WHERE name = $1 RETURNING id", 3, p, 1) != CLI_OK)
		return CLI_FAIL;
	printf("%s\n", key);
	return CLI_OK;
}

/* Set NAME's webhook to URL with a new secret, printed once; "--remove"
 * for URL removes it. */
static int
user_webhook(const char *name, const char *url)
{
	char secret[65], err[512];
	const char *p[3] = { name, NULL, NULL };

	if (strcmp(url, "--remove") == 0) {
		if (user_change("UPDATE users SET webhook_url = NULL,"
		    " webhook_secret = NULL WHERE name = $1 RETURNING id", 1, p,
		    0) != CLI_OK)
			return CLI_FAIL;
		printf("webhook of %s removed\n", name);
		return CLI_OK;
	}
	if (webhook_url_allowed(url, err, sizeof(err)) == -1)
		return cli_fail("the webhook URL %s", err);
	if (webhook_new_secret(secret) == -1)
		return cli_fail("cannot read random bytes");
	p[1] = url;
	p[2] = secret;
	if (user_change("UPDATE users SET webhook_url = $2, webhook_secret = $3"
	    " WHERE name = $1 RETURNING id", 3, p, 0) != CLI_OK)
		return CLI_FAIL;
	printf("%s\n", secret);
	return CLI_OK;
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
	if (argc == 3 && strcmp(argv[1], "rotate-key") == 0)
		return user_rotate_key(argv[2]);
	if (argc == 4 && strcmp(argv[1], "webhook") == 0)
		return user_webhook(argv[2], argv[3]);
	if (argc >= 2)
		return cli_usage("user", "unknown or incomplete user command "
		    "\"%s\"", argv[1]);
	return cli_usage("user", "the user command needs a subcommand");
}
