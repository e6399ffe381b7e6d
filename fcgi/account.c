/*
 * The account's own settings: /account/webhook (GET, PUT, DELETE).  Every
 * route acts on the authenticated user's own row only; there is no way to
 * name another user.  A browser session must send the CSRF token (field
 * "csrf") with PUT and DELETE; a key needs none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "db.h"
#include "extern.h"
#include "log.h"
#include "util.h"
#include "webhook.h"

/* Read a urlencoded or JSON body (or, when empty, the query string) into
 * F and check the CSRF token; 0, or -1 after answering. */
static int
read_account_form(struct req *r, struct form *f)
{
	const char *ctype = param(r, "CONTENT_TYPE");
	struct buf body;
	char err[512];
	int rc;

	buf_init(&body, FORM_MAX_BODY);
	if (read_body(r, &body, FORM_MAX_BODY) == -1) {
		buf_free(&body);
		return -1;
	}
	if (body.len == 0)
		rc = parse_urlencoded(r->query, strlen(r->query), f, err,
		    sizeof(err));
	else if (ctype != NULL && strncasecmp(ctype, "application/json",
	    16) == 0)
		rc = parse_json_body(body.data, body.len, f, err, sizeof(err));
	else
		rc = parse_urlencoded(body.data, body.len, f, err, sizeof(err));
	buf_free(&body);
	if (rc == -1) {
		respond_error(r, 400, NULL, NULL, "%s", err);
		return -1;
	}
	return csrf_check(r, f);
}

static void
webhook_get(struct req *r, PGconn *c)
{
	struct db_params dp = { 0 };
	const char *p[1];
	char err[512];
	PGresult *res;
	json_t *j;

	p[0] = db_param_ll(&dp, r->u.id);
	if ((res = db_exec(c, err, sizeof(err), "SELECT webhook_url FROM users"
	    " WHERE id = $1", 1, p)) == NULL) {
		db_fail(r, err);
		return;
	}
	j = json_pack("{so}", "url", PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0) ? json_string(PQgetvalue(res, 0, 0)) :
	    json_null());
	PQclear(res);
	respond_json(r, 200, j, NULL);
}

/* Set URL (NULL: remove) with a new secret, answered this once. */
static void
webhook_set(struct req *r, PGconn *c, const char *url)
{
	struct db_params dp = { 0 };
	const char *p[3];
	char err[512], secret[65];

	if (url != NULL && webhook_url_allowed(url, err, sizeof(err)) == -1) {
		respond_error(r, 400, "url", NULL, "%s.", err);
		return;
	}
	if (url != NULL && webhook_new_secret(secret) == -1) {
		respond_error(r, 500, NULL, NULL, "No random bytes for a "
		    "secret; try again.");
		return;
	}
	p[0] = db_param_ll(&dp, r->u.id);
	p[1] = url;
	p[2] = url != NULL ? secret : NULL;
	if (db_cmd(c, err, sizeof(err), "UPDATE users SET webhook_url = $2,"
	    " webhook_secret = $3 WHERE id = $1", 3, p) == -1) {
		db_fail(r, err);
		return;
	}
	log_ev(LOG_INFO, url != NULL ? "webhook_set" : "webhook_removed",
	    "{sI}", "user", (json_int_t)r->u.id);
	if (url == NULL)
		respond_json(r, 200, json_pack("{sn}", "url"), NULL);
	else
		respond_json(r, 200, json_pack("{ssss}", "url", url, "secret",
		    secret), NULL);
}

void
route_account_webhook(struct req *r)
{
	struct form f = { .n = 0 };
	const char *url = NULL;
	int put = strcmp(r->method, "PUT") == 0;
	int del = strcmp(r->method, "DELETE") == 0;
	PGconn *c;

	if ((put || del) && read_account_form(r, &f) == -1)
		goto out;
	if (put && ((url = form_get(&f, "url")) == NULL || *url == '\0')) {
		respond_error(r, 400, "url", NULL, "is required: the http or "
		    "https URL to POST events to.");
		goto out;
	}
	if ((c = req_db(r)) == NULL)
		goto out;
	if (put || del)
		webhook_set(r, c, url);
	else
		webhook_get(r, c);
out:
	form_free(&f);
}
