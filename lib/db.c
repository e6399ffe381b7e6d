/* Connections, migrations and the two query helpers everything uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "util.h"

/* Advisory lock key under which migrations run ("clipmill" in ASCII). */
#define MIGRATE_LOCK "7164903486720158060"

PGconn *
db_connect(char *err, size_t errlen)
{
	PGconn *c;

	c = PQconnectdb(cfg.database_url);
	if (c == NULL) {
		seterr(err, errlen, "cannot connect to the database: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(c);
		size_t n = strlen(m);
		while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
			n--;
		seterr(err, errlen, "cannot connect to the database: %.*s",
		    (int)n, m);
		PQfinish(c);
		return NULL;
	}
	/* Times, sequences and JSON are all read in the database's terms;
	 * keep server messages short and untranslated. */
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static void
pqerr(PGconn *c, PGresult *r, char *err, size_t errlen)
{
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
	size_t n = strlen(m);

	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	seterr(err, errlen, "database error: %.*s", (int)n, m);
}

PGresult *
db_exec(PGconn *c, char *err, size_t errlen, const char *sql, int n,
    const char *const *params)
{
	PGresult *r;

	r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		return r;
	default:
		pqerr(c, r, err, errlen);
		PQclear(r);
		return NULL;
	}
}

int
db_cmd(PGconn *c, char *err, size_t errlen, const char *sql, int n,
    const char *const *params)
{
	PGresult *r = db_exec(c, err, errlen, sql, n, params);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
db_lost(PGconn *c)
{
	return c == NULL || PQstatus(c) != CONNECTION_OK;
}

static int
latest(void)
{
	return n_migrations > 0 ? migrations[n_migrations - 1].version : 0;
}

/* The recorded schema version (the table must exist), or -1. */
static int
db_version(PGconn *c, char *err, size_t errlen)
{
	PGresult *r;
	long long v = -1;

	r = db_exec(c, err, errlen,
	    "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL);
	if (r == NULL)
		return -1;
	if (parse_ll(PQgetvalue(r, 0, 0), 0, 1000000, &v) == -1)
		seterr(err, errlen, "unreadable schema version");
	PQclear(r);
	return (int)v;
}

int
db_check_schema(PGconn *c, char *err, size_t errlen)
{
	int v;

	PGresult *r = db_exec(c, err, errlen,
	    "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL);
	if (r == NULL)
		return -1;
	v = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!v) {
		seterr(err, errlen, "the database has no clipmill schema: "
		    "run `clipmill migrate` first");
		return -1;
	}
	if ((v = db_version(c, err, errlen)) < 0)
		return -1;
	if (v < latest()) {
		seterr(err, errlen, "the database schema is version %d but "
		    "this clipmill needs %d: run `clipmill migrate`", v, latest());
		return -1;
	}
	if (v > latest()) {
		seterr(err, errlen, "the database schema is version %d, newer "
		    "than this clipmill (%d): upgrade clipmill", v, latest());
		return -1;
	}
	return 0;
}

int
db_migrate(PGconn *c, char *err, size_t errlen)
{
	char ver[16];
	const char *p[2];
	PGresult *r;
	int i, have, applied = 0;

	if (db_cmd(c, err, errlen, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")",
	    0, NULL) == -1)
		return -1;
	if (db_cmd(c, err, errlen,
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version integer PRIMARY KEY, name text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL) == -1)
		goto fail;
	if ((have = db_version(c, err, errlen)) < 0)
		goto fail;
	if (have > latest()) {
		seterr(err, errlen, "the database schema is version %d, newer "
		    "than this clipmill (%d): upgrade clipmill before migrating",
		    have, latest());
		goto fail;
	}
	for (i = 0; i < n_migrations; i++) {
		const struct migration *m = &migrations[i];
		char msg[512];

		if (m->version <= have)
			continue;
		if (db_cmd(c, err, errlen, "BEGIN", 0, NULL) == -1)
			goto fail;
		r = PQexec(c, m->sql);	/* a multi-statement file: no params */
		if (PQresultStatus(r) != PGRES_COMMAND_OK &&
		    PQresultStatus(r) != PGRES_TUPLES_OK) {
			pqerr(c, r, msg, sizeof(msg));
			PQclear(r);
			PQclear(PQexec(c, "ROLLBACK"));
			seterr(err, errlen, "migration %s failed: %s", m->name, msg);
			goto fail;
		}
		PQclear(r);
		snprintf(ver, sizeof(ver), "%d", m->version);
		p[0] = ver;
		p[1] = m->name;
		if (db_cmd(c, err, errlen, "INSERT INTO schema_migrations "
		    "(version, name) VALUES ($1, $2)", 2, p) == -1 ||
		    db_cmd(c, err, errlen, "COMMIT", 0, NULL) == -1) {
			PQclear(PQexec(c, "ROLLBACK"));
			goto fail;
		}
		applied++;
	}
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")"));
	return applied;
fail:
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")"));
	return -1;
}
