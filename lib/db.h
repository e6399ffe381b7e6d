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

/* Connect to cfg.database_url; returns the connection or NULL with ERR. */
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

/* True when the connection is gone (server restart, network). */
int	db_lost(PGconn *c);

#endif
