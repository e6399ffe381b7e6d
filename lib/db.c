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

/* R when it is COMMAND_OK or TUPLES_OK; otherwise NULL with ERR, and R
 * is cleared. */
static PGresult *
checked(PGconn *c, PGresult *r, char *err, size_t errlen)
{
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

/* ---- prepared statements, remembered per connection ---- */

/* The names prepared on one connection (its libpq instance data). */
struct prepared {
	char	**names;
	size_t	  n;
};

static void
prepared_clear(struct prepared *ps)
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
prepared_event(PGEventId id, void *info, void *pass)
{
	struct prepared *ps;

	(void)pass;
	switch (id) {
	case PGEVT_CONNRESET:
		ps = PQinstanceData(((PGEventConnReset *)info)->conn,
		    prepared_event);
		if (ps != NULL)
			prepared_clear(ps);
		break;
	case PGEVT_CONNDESTROY:
		ps = PQinstanceData(((PGEventConnDestroy *)info)->conn,
		    prepared_event);
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
static struct prepared *
prepared_of(PGconn *c)
{
	struct prepared *ps;

	if ((ps = PQinstanceData(c, prepared_event)) != NULL)
		return ps;
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	if (!PQregisterEventProc(c, prepared_event, "clipmill-prepared",
	    NULL) || !PQsetInstanceData(c, prepared_event, ps)) {
		free(ps);
		return NULL;
	}
	return ps;
}

static int
prepared_has(const struct prepared *ps, const char *name)
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
	struct prepared *ps;
	char **nn, *copy;
	PGresult *r;

	if ((ps = prepared_of(c)) == NULL) {
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
	return applied;
fail:
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")"));
	return -1;
}
