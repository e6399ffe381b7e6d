/* Connections, migrations, and the query and transaction helpers
 * everything uses. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-events.h>

#include "config.h"
#include "db.h"
#include "util.h"

/* Advisory lock key under which migrations run ("clipmill" in ASCII). */
#define MIGRATE_LOCK "7164903486720158060"

/* The session's time limits, and the messages it gets: 0 or -1 with ERR. */
static int
session_setup(PGconn *c, char *err, size_t errlen)
{
	char sql[256];
	PGresult *r;
	int good;

	/* Times, sequences and JSON are all read in the database's terms;
	 * keep server messages short and untranslated.  A statement that
	 * runs or waits too long is cancelled: a request thread is never
	 * held by a hung or locked database. */
	snprintf(sql, sizeof(sql), "SET client_min_messages = warning; "
	    "SET statement_timeout = %lld; SET lock_timeout = %lld",
	    cfg.db_statement_timeout * 1000, cfg.db_lock_timeout * 1000);
	r = PQexec(c, sql);
	good = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!good)
		seterr(err, errlen, "cannot set up the database session: %s",
		    PQresultErrorMessage(r));
	PQclear(r);
	return good ? 0 : -1;
}

PGconn *
db_connect(char *err, size_t errlen)
{
	char ct[24], idle[24];
	/* Ours first: what database_url says wins over them (libpq takes
	 * the last value of a key, and dbname expands to the string's). */
	const char *const keys[] = { "connect_timeout", "keepalives",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "dbname", NULL };
	const char *vals[] = { ct, "1", idle, "10", "3", cfg.database_url,
	    NULL };
	PGconn *c;

	snprintf(ct, sizeof(ct), "%lld", cfg.db_connect_timeout);
	snprintf(idle, sizeof(idle), "%lld", cfg.db_keepalive_idle);
	c = PQconnectdbParams(keys, vals, 1);
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
	if (session_setup(c, err, errlen) == -1) {
		PQfinish(c);
		return NULL;
	}
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

/* The names prepared on one connection, and the SQLSTATE of its last
 * failed statement (its libpq instance data). */
struct conndata {
	char	**names;
	size_t	  n;
	char	  sqlstate[6];
};

static struct conndata *conndata_of(PGconn *);

/* R when it is COMMAND_OK or TUPLES_OK; otherwise NULL with ERR, and R
 * is cleared.  Either way the connection remembers the SQLSTATE. */
static PGresult *
checked(PGconn *c, PGresult *r, char *err, size_t errlen)
{
	struct conndata *cd = c ? conndata_of(c) : NULL;
	const char *st;

	if (cd != NULL)
		cd->sqlstate[0] = '\0';
	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		return r;
	default:
		st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		if (cd != NULL && st != NULL)
			snprintf(cd->sqlstate, sizeof(cd->sqlstate), "%s", st);
		pqerr(c, r, err, errlen);
		PQclear(r);
		return NULL;
	}
}

PGresult *
db_exec(PGconn *c, char *err, size_t errlen, const char *sql, int n,
    const char *const *params)
{
	return checked(c, PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0),
	    err, errlen);
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

long long
db_count(PGconn *c, char *err, size_t errlen, const char *sql, int n,
    const char *const *params)
{
	PGresult *r = db_exec(c, err, errlen, sql, n, params);
	long long k = 0;

	if (r == NULL)
		return -1;
	if (parse_ll(PQcmdTuples(r), 0, INT64_MAX, &k) == -1)
		k = 0;
	PQclear(r);
	return k;
}

/* ---- what is remembered per connection ---- */

static void
prepared_clear(struct conndata *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		free(ps->names[i]);
	free(ps->names);
	ps->names = NULL;
	ps->n = 0;
}

/* libpq calls this when the connection is reset (the server has forgotten
 * its statements) and when it is closed. */
static int
conndata_event(PGEventId id, void *info, void *pass)
{
	struct conndata *ps;

	(void)pass;
	switch (id) {
	case PGEVT_CONNRESET:
		ps = PQinstanceData(((PGEventConnReset *)info)->conn,
		    conndata_event);
		if (ps != NULL)
			prepared_clear(ps);
		break;
	case PGEVT_CONNDESTROY:
		ps = PQinstanceData(((PGEventConnDestroy *)info)->conn,
		    conndata_event);
		if (ps != NULL) {
			prepared_clear(ps);
			free(ps);
		}
		break;
	default:
		break;
	}
	return 1;
}

/* The connection's set, made on first use; NULL when out of memory. */
static struct conndata *
conndata_of(PGconn *c)
{
	struct conndata *ps;

	if ((ps = PQinstanceData(c, conndata_event)) != NULL)
		return ps;
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	if (!PQregisterEventProc(c, conndata_event, "clipmill-prepared",
	    NULL) || !PQsetInstanceData(c, conndata_event, ps)) {
		free(ps);
		return NULL;
	}
	return ps;
}

static int
prepared_has(const struct conndata *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->names[i], name) == 0)
			return 1;
	return 0;
}

/* Prepare NAME on C unless done before; 0 or -1 with ERR. */
static int
prepare_once(PGconn *c, const char *name, const char *sql, int n, char *err,
    size_t errlen)
{
	struct conndata *ps;
	char **nn, *copy;
	PGresult *r;

	if ((ps = conndata_of(c)) == NULL) {
		seterr(err, errlen, "database error: out of memory");
		return -1;
	}
	if (prepared_has(ps, name))
		return 0;
	if ((copy = strdup(name)) == NULL ||
	    (nn = realloc(ps->names, (ps->n + 1) * sizeof(*nn))) == NULL) {
		free(copy);
		seterr(err, errlen, "database error: out of memory");
		return -1;
	}
	ps->names = nn;
	if ((r = checked(c, PQprepare(c, name, sql, n, NULL), err,
	    errlen)) == NULL) {
		free(copy);
		return -1;
	}
	PQclear(r);
	ps->names[ps->n++] = copy;
	return 0;
}

PGresult *
db_exec_prepared(PGconn *c, char *err, size_t errlen, const char *name,
    const char *sql, int n, const char *const *params)
{
	if (prepare_once(c, name, sql, n, err, errlen) == -1)
		return NULL;
	return checked(c, PQexecPrepared(c, name, n, params, NULL, NULL, 0),
	    err, errlen);
}

int
db_lost(PGconn *c)
{
	return c == NULL || PQstatus(c) != CONNECTION_OK;
}

int
db_timed_out(PGconn *c)
{
	struct conndata *cd;

	if (db_lost(c) || (cd = PQinstanceData(c, conndata_event)) == NULL)
		return 0;
	/* query_canceled (statement_timeout), lock_not_available
	 * (lock_timeout) */
	return strcmp(cd->sqlstate, "57014") == 0 ||
	    strcmp(cd->sqlstate, "55P03") == 0;
}

int
db_begin(PGconn *c, char *err, size_t errlen)
{
	return db_cmd(c, err, errlen, "BEGIN", 0, NULL);
}

int
db_commit(PGconn *c, char *err, size_t errlen)
{
	return db_cmd(c, err, errlen, "COMMIT", 0, NULL);
}

void
db_rollback(PGconn *c)
{
	if (!db_lost(c))
		PQclear(PQexec(c, "ROLLBACK"));
}

const char *
db_param_ll(struct db_params *dp, long long v)
{
	char *s;

	assert(dp->n >= 0 && dp->n < DB_NPARAMS);
	s = dp->v[dp->n++];
	snprintf(s, sizeof(dp->v[0]), "%lld", v);
	return s;
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
	const char *p[2];
	PGresult *r;
	int i, have, applied = 0;

	/* An operator's command: a migration may rewrite a large table, and
	 * waits for another migration or for the runners' row locks. */
	if (db_cmd(c, err, errlen, "SET statement_timeout = 0", 0, NULL) == -1 ||
	    db_cmd(c, err, errlen, "SET lock_timeout = 0", 0, NULL) == -1 ||
	    db_cmd(c, err, errlen, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")",
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
		struct db_params dp = { 0 };
		char msg[512];

		if (m->version <= have)
			continue;
		if (db_begin(c, err, errlen) == -1)
			goto fail;
		/* a multi-statement file: no params */
		if ((r = checked(c, PQexec(c, m->sql), msg, sizeof(msg))) ==
		    NULL) {
			db_rollback(c);
			seterr(err, errlen, "migration %s failed: %s", m->name, msg);
			goto fail;
		}
		PQclear(r);
		p[0] = db_param_ll(&dp, m->version);
		p[1] = m->name;
		if (db_cmd(c, err, errlen, "INSERT INTO schema_migrations "
		    "(version, name) VALUES ($1, $2)", 2, p) == -1 ||
		    db_commit(c, err, errlen) == -1) {
			db_rollback(c);
			goto fail;
		}
		applied++;
	}
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")"));
	return session_setup(c, err, errlen) == -1 ? -1 : applied;
fail:
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")"));
	return -1;
}
