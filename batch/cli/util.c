/* Helpers every clipmill command uses: messages, connection, tables. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "util.h"

const char *cli_progname = "clipmill";

void
cli_put_line(FILE *f, const char *msg)
{
	const char *p;
	int sp = 0;

	/* libpq's messages run over several indented lines: keep the
	 * promise of one line, with single spaces. */
	for (p = msg; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
			sp = 1;
			continue;
		}
		if (sp && p != msg)
			fputc(' ', f);
		sp = 0;
		fputc(*p, f);
	}
	fputc('\n', f);
}

int
cli_fail(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: ", cli_progname);
	cli_put_line(stderr, msg);
	return CLI_FAIL;
}

/* One usage line per command, as in the full usage text. */
static const struct {
	const char *cmd, *line;
} usage_lines[] = {
	{ "migrate", "migrate" },
	{ "user", "user add|disable|enable NAME | user list" },
	{ "jobs", "jobs [--state S] [--user NAME] [--limit N]" },
	{ "job", "job ID" },
	{ "retry", "retry ID" },
	{ "cancel", "cancel ID" },
	/* its options follow, from the job table (cli_submit_options) */
	{ "submit", "submit --user NAME [options] URL | --file PATH" },
	{ "stats", "stats" },
	{ "prune", "prune" },
	{ "config", "config" },
};

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	if (fmt != NULL) {
		fprintf(stderr, "%s: ", cli_progname);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	for (i = 0; i < sizeof(usage_lines) / sizeof(usage_lines[0]); i++)
		if (strcmp(usage_lines[i].cmd, cmd) == 0) {
			fprintf(stderr, "usage: %s %s\n", cli_progname,
			    usage_lines[i].line);
			if (strcmp(cmd, "submit") == 0)
				cli_submit_options(stderr, 2);
			return CLI_USAGE;
		}
	cli_usage_all(stderr);
	return CLI_USAGE;
}

PGconn *
cli_connect(void)
{
	char err[1024];
	PGconn *c;

	if ((c = db_connect(err, sizeof(err))) == NULL) {
		cli_fail("%s", err);
		return NULL;
	}
	if (db_check_schema(c, err, sizeof(err)) == -1) {
		cli_fail("%s", err);
		PQfinish(c);
		return NULL;
	}
	return c;
}

int
cli_parse_id(const char *s, long long *id)
{
	return parse_ll(s, 1, INT64_MAX, id);
}

/* Printed width of the first N bytes of S (UTF-8 continuation bytes do
 * not count), and how many bytes fit in MAXW columns. */
static int
cell_width(const char *s, int maxw, size_t *bytes)
{
	int w = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (w == maxw)
			break;
		w++;
	}
	*bytes = i;
	return w;
}

void
cli_table(FILE *f, PGresult *r, const char *const *headers, int maxw)
{
	int nf = PQnfields(r), nr = PQntuples(r), i, j, w[32];
	size_t b;

	if (nf > 32)
		nf = 32;
	for (j = 0; j < nf; j++)
		w[j] = (int)strlen(headers[j]);
	for (i = 0; i < nr; i++)
		for (j = 0; j < nf; j++) {
			int cw = PQgetisnull(r, i, j) ? 1 :
			    cell_width(PQgetvalue(r, i, j), maxw, &b);
			if (cw > w[j])
				w[j] = cw;
		}
	for (j = 0; j < nf; j++)
		fprintf(f, "%-*s%s", j + 1 < nf ? w[j] : 0, headers[j],
		    j + 1 < nf ? "  " : "\n");
	for (i = 0; i < nr; i++)
		for (j = 0; j < nf; j++) {
			const char *v = PQgetisnull(r, i, j) ? "-" :
			    PQgetvalue(r, i, j);
			int cw = cell_width(v, maxw, &b), k;

			/* control characters (a newline in an error) would
			 * break the table: show them as spaces */
			for (k = 0; k < (int)b; k++)
				fputc((unsigned char)v[k] < 0x20 ? ' ' : v[k], f);
			if (j + 1 < nf)
				fprintf(f, "%*s", w[j] - cw + 2, "");
			else
				fputc('\n', f);
		}
}

int
cli_user_id(PGconn *c, const char *name, long long *id, int *disabled)
{
	char err[512];
	const char *p[1] = { name };
	PGresult *r;
	int rc = 1;

	r = db_exec(c, err, sizeof(err),
	    "SELECT id, disabled FROM users WHERE name = $1", 1, p);
	if (r == NULL) {
		cli_fail("%s", err);
		return -1;
	}
	if (PQntuples(r) == 1 &&
	    parse_ll(PQgetvalue(r, 0, 0), 1, INT64_MAX, id) == 0) {
		if (disabled != NULL)
			*disabled = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
		rc = 0;
	}
	PQclear(r);
	return rc;
}
