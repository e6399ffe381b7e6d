/*
 * The clipmill command-line tool's internals: one file per command group
 * (user.c, jobs.c, submit.c, stats.c, doctor.c) and the helpers they
 * share (util.c).  A command gets argv with argv[0] its own name and
 * returns the exit status: 0 ok, 1 a failure explained in one sentence on
 * stderr, 2 a usage error.
 */
#ifndef CLIPMILL_CLI_H
#define CLIPMILL_CLI_H

#include <stdio.h>
#include <libpq-fe.h>

#define CLI_OK		0
#define CLI_FAIL	1
#define CLI_USAGE	2

/* A timestamp column as the CLI prints it: UTC, to the second. */
#define CLI_TS(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"

extern const char *cli_progname;

/* Print MSG on F as one line: runs of white space (libpq's line breaks
 * and indents) become one space. */
void	cli_put_line(FILE *f, const char *msg);
/* Print "clipmill: MESSAGE" on stderr; returns CLI_FAIL. */
int	cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "clipmill: MESSAGE" and the command's usage line; returns
 * CLI_USAGE.  FMT may be NULL for the usage line alone. */
int	cli_usage(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The usage text, all commands (clipmill.c). */
void	cli_usage_all(FILE *);

/* Connect and check that the schema matches; NULL after saying why. */
PGconn	*cli_connect(void);

/* Parse a job id argument (a positive integer); 0 or -1. */
int	cli_parse_id(const char *s, long long *id);

/* Print rows as a table under HEADERS (one per column), columns padded to
 * their widest cell, NULL cells as "-", cells cut at MAXW characters. */
void	cli_table(FILE *, PGresult *, const char *const *headers, int maxw);

/* Look up a user by name: 0 with *ID (and *DISABLED when not NULL), 1 when
 * there is no such user, -1 on a database error (said on stderr). */
int	cli_user_id(PGconn *, const char *name, long long *id, int *disabled);

int	cli_user(int, char **);
int	cli_jobs(int, char **);
int	cli_job(int, char **);
int	cli_retry(int, char **);
int	cli_cancel(int, char **);
int	cli_submit(int, char **);
/* Print submit's options, from the job table, for the usage text. */
void	cli_submit_options(FILE *, int indent);
int	cli_stats(int, char **);
int	cli_prune(int, char **);
/* clipmill doctor: loads the configuration itself (CONF: -c, or NULL),
 * so that a file that does not parse is one of its reports. */
int	cli_doctor(const char *conf, int, char **);

#endif
