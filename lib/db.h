/* The database layer: connections, migrations, small query helpers. */
#ifndef CLIPMILL_DB_H
#define CLIPMILL_DB_H

#include <stddef.h>
#include <libpq-fe.h>

struct migration {
	int		 version;
	const char	*name;
	const char	*sql;
};
extern const struct migration migrations[];	/* build/sql_migrations.c */
extern const int n_migrations;

/* Connect to cfg.database_url with db_connect_timeout and TCP keepalives
 * (the URL may override them), its statements limited to
 * db_statement_timeout and its lock waits to db_lock_timeout; returns
 * the connection or NULL with ERR. */
PGconn	*db_connect(char *err, size_t errlen);

/* Apply pending migrations in order under an advisory lock; refuses a
 * database newer than this binary.  Returns the number applied, or -1. */
int	db_migrate(PGconn *c, char *err, size_t errlen);

/* 0 when the schema matches this binary; -1 with a sentence otherwise
 * (older: run `clipmill migrate`; newer: upgrade clipmill). */
int	db_check_schema(PGconn *c, char *err, size_t errlen);

/* Run a parameterised command expecting COMMAND_OK or TUPLES_OK; returns
 * the result (caller PQclears) or NULL with ERR filled. */
PGresult *db_exec(PGconn *c, char *err, size_t errlen, const char *sql,
	    int n, const char *const *params);

/* Same, for commands whose rows are not needed: 0 or -1. */
int	db_cmd(PGconn *c, char *err, size_t errlen, const char *sql,
	    int n, const char *const *params);

/* Like db_exec(), for a statement run often: prepared under NAME the
 * first time it runs on C, executed by name after that.  Which names are
 * prepared is kept with the connection itself (libpq instance data), so it
 * goes when the connection is closed or reset. */
PGresult *db_exec_prepared(PGconn *c, char *err, size_t errlen,
	    const char *name, const char *sql, int n,
	    const char *const *params);

/* Run a command that changes rows: the number changed, or -1. */
long long db_count(PGconn *c, char *err, size_t errlen, const char *sql,
	    int n, const char *const *params);

/* True when the connection is gone (server restart, network). */
int	db_lost(PGconn *c);

/* True when the last statement on C failed because it ran longer than
 * db_statement_timeout or waited longer than db_lock_timeout for a lock:
 * the database is busy, not broken, and the work may be tried again. */
int	db_timed_out(PGconn *c);

/* Transactions: 0 or -1 with ERR.  db_rollback() sends nothing on a lost
 * connection (the server has rolled back already). */
int	db_begin(PGconn *c, char *err, size_t errlen);
int	db_commit(PGconn *c, char *err, size_t errlen);
void	db_rollback(PGconn *c);

/*
 * Numeric query parameters in text form, without a buffer per number:
 *
 *	struct db_params dp = { 0 };
 *	p[0] = db_param_ll(&dp, job_id);
 *
 * Each call takes the next of DB_NPARAMS slots; the strings live as long
 * as DP does.
 */
#define DB_NPARAMS	8
struct db_params {
	char	 v[DB_NPARAMS][24];
	int	 n;
};

const char *db_param_ll(struct db_params *dp, long long v);

#endif
