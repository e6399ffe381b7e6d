/*
 * The database helpers (lib/db.c): db_param_ll()'s text, and, against the
 * test cluster (skipped without one), the transaction helpers, the error
 * text, and prepared statements remembered per connection: a statement
 * prepared on a connection that was closed is prepared again on the next
 * one, even when libpq hands out the same address, and again after
 * PQreset(); the statement, lock and connect timeouts.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "config.h"
#include "db.h"
#include "util.h"
#include "tap.h"

static const struct {
	long long	 v;
	const char	*want;
} params[] = {
	{ 0, "0" },
	{ 12345, "12345" },
	{ -1, "-1" },
	{ LLONG_MAX, "9223372036854775807" },
	{ LLONG_MIN, "-9223372036854775808" },
};

static void
param_table(void)
{
	struct db_params dp = { 0 };
	const char *got[sizeof(params) / sizeof(params[0])];
	size_t i;

	/* all filled first: each keeps its own slot */
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		got[i] = db_param_ll(&dp, params[i].v);
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		ok(strcmp(got[i], params[i].want) == 0, "db_param_ll(%s): %s",
		    params[i].want, got[i]);
}

/* Run the prepared "t_next" on C: $1 + 1 as text, or NULL with ERR. */
static char *
next_of(PGconn *c, const char *n, char *err, size_t errlen)
{
	const char *p[1] = { n };
	PGresult *r;
	char *s;

	r = db_exec_prepared(c, err, errlen, "t_next", "SELECT $1::int + 1",
	    1, p);
	if (r == NULL)
		return NULL;
	s = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return s;
}

static int
is(char *got, const char *want)
{
	int good = got != NULL && strcmp(got, want) == 0;

	free(got);
	return good;
}

static void
prepared(void)
{
	char err[512] = "";
	PGconn *c, *prev;
	PGresult *r;
	int i, good = 1, reused = 0;

	if ((c = db_connect(err, sizeof(err))) == NULL) {
		ok(0, "connect: %s", err);
		return;
	}
	ok(is(next_of(c, "41", err, sizeof(err)), "42"), "prepared, then run");
	ok(is(next_of(c, "1", err, sizeof(err)), "2"), "run again by name");
	r = db_exec(c, err, sizeof(err), "SELECT count(*) FROM "
	    "pg_prepared_statements WHERE name = 't_next'", 0, NULL);
	ok(r != NULL && strcmp(PQgetvalue(r, 0, 0), "1") == 0,
	    "prepared once on the connection");
	PQclear(r);

	/* A new connection often gets the address of the one just closed. */
	for (i = 0; i < 20 && good; i++) {
		prev = c;
		PQfinish(c);
		if ((c = db_connect(err, sizeof(err))) == NULL) {
			good = 0;
			break;
		}
		reused += c == prev;
		good = is(next_of(c, "9", err, sizeof(err)), "10");
	}
	printf("# %d of 20 new connections had the old one's address\n",
	    reused);
	result(good, "prepared again on each new connection", err);
	if (c == NULL)
		return;

	PQreset(c);
	*err = '\0';
	result(is(next_of(c, "2", err, sizeof(err)), "3"),
	    "prepared again after PQreset", err);

	r = db_exec_prepared(c, err, sizeof(err), "t_bad", "SELEC 1", 0, NULL);
	result(r == NULL && strncmp(err, "database error: ", 16) == 0 &&
	    err[strlen(err) - 1] != '\n', "a bad statement: the one error "
	    "text, trimmed", err);

	ok(db_begin(c, err, sizeof(err)) == 0 &&
	    db_cmd(c, err, sizeof(err), "CREATE TEMP TABLE t_rb (x int)", 0,
	    NULL) == 0, "begin, then work");
	db_rollback(c);
	r = db_exec(c, err, sizeof(err),
	    "SELECT to_regclass('pg_temp.t_rb') IS NULL", 0, NULL);
	ok(r != NULL && strcmp(PQgetvalue(r, 0, 0), "t") == 0,
	    "db_rollback undoes it");
	PQclear(r);
	ok(db_begin(c, err, sizeof(err)) == 0 &&
	    db_cmd(c, err, sizeof(err), "CREATE TEMP TABLE t_cm (x int)", 0,
	    NULL) == 0 && db_commit(c, err, sizeof(err)) == 0 &&
	    db_count(c, err, sizeof(err), "INSERT INTO t_cm VALUES (1), (2)",
	    0, NULL) == 2, "db_commit keeps it; db_count counts rows");
	PQfinish(c);
	db_rollback(NULL);	/* a lost connection: nothing is sent */
	ok(1, "db_rollback on no connection");
}

/* A statement over db_statement_timeout and a lock wait over
 * db_lock_timeout fail in about that time, and db_timed_out() says so;
 * a bad statement is not a timeout. */
static void
timeouts(void)
{
	char err[512] = "";
	PGconn *c, *c2 = NULL;
	long long t0, ms;

	cfg.db_statement_timeout = 1;
	cfg.db_lock_timeout = 1;
	if ((c = db_connect(err, sizeof(err))) == NULL ||
	    (c2 = db_connect(err, sizeof(err))) == NULL) {
		ok(0, "connect: %s", err);
		goto out;
	}
	t0 = now_ms();
	ok(db_cmd(c, err, sizeof(err), "SELECT pg_sleep(5)", 0, NULL) == -1 &&
	    db_timed_out(c) && !db_lost(c), "a statement over "
	    "db_statement_timeout is cancelled: %s", err);
	ms = now_ms() - t0;
	ok(ms < 3000, "cancelled after about 1 s (%lld ms)", ms);
	ok(db_cmd(c, err, sizeof(err), "SELECT 1", 0, NULL) == 0 &&
	    !db_timed_out(c), "the connection works on");
	ok(db_cmd(c, err, sizeof(err), "SELECT pg_advisory_lock(4242)", 0,
	    NULL) == 0, "one session takes a lock");
	t0 = now_ms();
	ok(db_cmd(c2, err, sizeof(err), "SELECT pg_advisory_lock(4242)", 0,
	    NULL) == -1 && db_timed_out(c2), "another waits no longer than "
	    "db_lock_timeout: %s", err);
	ms = now_ms() - t0;
	ok(ms < 3000, "gave up after about 1 s (%lld ms)", ms);
	ok(db_cmd(c2, err, sizeof(err), "SELEC 1", 0, NULL) == -1 &&
	    !db_timed_out(c2), "a bad statement is not a timeout");
out:
	PQfinish(c);
	PQfinish(c2);
}

/* A server that takes the connection and never answers: db_connect()
 * gives up after db_connect_timeout.  Run in a child, so that a hang is
 * a failure and not a stuck test. */
static void
connect_timeout(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char err[512], url[128];
	long long t0, ms = 0;
	int s, status = -1, i;
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(s, 4) == -1 ||
	    getsockname(s, (struct sockaddr *)&sa, &sl) == -1) {
		ok(0, "a silent listener: %s", strerror(errno));
		return;
	}
	snprintf(url, sizeof(url), "host=127.0.0.1 port=%d dbname=x",
	    ntohs(sa.sin_port));
	t0 = now_ms();
	if ((pid = fork()) == 0) {
		config_set("database_url", url, err, sizeof(err));
		cfg.db_connect_timeout = 2;
		_exit(db_connect(err, sizeof(err)) == NULL ? 0 : 1);
	}
	for (i = 0; i < 200 && pid > 0; i++) {	/* 10 s */
		if (waitpid(pid, &status, WNOHANG) == pid) {
			ms = now_ms() - t0;
			break;
		}
		usleep(50000);
	}
	if (i == 200) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	close(s);
	ok(i < 200 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a server that never answers: db_connect gives up after "
	    "db_connect_timeout (%lld ms)", ms);
}

int
main(void)
{
	const char *host = getenv("CLIPMILL_TEST_PGHOST");
	char url[512], err[512];

	param_table();
	if (host == NULL) {
		printf("# CLIPMILL_TEST_PGHOST is not set: no database checks\n");
		return tap_done();
	}
	snprintf(url, sizeof(url), "host=%s user=postgres dbname=postgres",
	    host);
	if (setenv("CLIPMILL_DATABASE_URL", url, 1) == -1 ||
	    config_load("/dev/null", err, sizeof(err)) == -1) {
		ok(0, "configuration: %s", err);
		return tap_done();
	}
	prepared();
	timeouts();
	connect_timeout();
	return tap_done();
}
