/*
 * The account's own settings: the page /account, and /account/webhook
 * (GET, PUT, DELETE for scripts; POST from the page's forms, answered with
 * the page).  Every route acts on the authenticated user's own row only;
 * there is no way to name another user.  A browser session must send the
 * CSRF token (field "csrf") with POST, PUT and DELETE; a key needs none.
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

/* Keep URL (NULL: remove) as R's user's webhook, with a new secret in
 * SECRET.  0; 1 when URL is refused (the reason in MSG, for the field
 * "url"); -1 after answering. */
static int
webhook_save(struct req *r, PGconn *c, const char *url, char secret[65],
    char *msg, size_t msglen)
{
	struct db_params dp = { 0 };
	const char *p[3];
	char err[512];

	if (url != NULL && webhook_url_allowed(url, msg, msglen) == -1)
		return 1;
	if (url != NULL && webhook_new_secret(secret) == -1) {
		respond_error(r, 500, NULL, NULL, "No random bytes for a "
		    "secret; try again.");
		return -1;
	}
	p[0] = db_param_ll(&dp, r->u.id);
	p[1] = url;
	p[2] = url != NULL ? secret : NULL;
	if (db_cmd(c, err, sizeof(err), "UPDATE users SET webhook_url = $2,"
	    " webhook_secret = $3 WHERE id = $1", 3, p) == -1) {
		db_fail(r, err);
		return -1;
	}
	log_ev(LOG_INFO, url != NULL ? "webhook_set" : "webhook_removed",
	    "{sI}", "user", (json_int_t)r->u.id);
	return 0;
}

/* Set URL (NULL: remove) with a new secret, answered this once. */
static void
webhook_set(struct req *r, PGconn *c, const char *url)
{
	char msg[512], secret[65];
	int rc;

	if ((rc = webhook_save(r, c, url, secret, msg, sizeof(msg))) == 1)
		respond_error(r, 400, "url", NULL, "%s.", msg);
	if (rc != 0)
		return;
	if (url == NULL)
		respond_json(r, 200, json_pack("{sn}", "url"), NULL);
	else
		respond_json(r, 200, json_pack("{ssss}", "url", url, "secret",
		    secret), NULL);
}

/* The webhook part of the account page: the URL kept (CUR, may be NULL),
 * the secret just made (SECRET, shown this once), or the URL refused
 * (TRIED) with the reason MSG. */
static void
webhook_section(struct buf *b, struct req *r, const char *cur,
    const char *secret, const char *tried, const char *msg)
{
	buf_addstr(b, "<section id=\"webhook\"><h3>Webhook</h3>\n<p>clipmill "
	    "POSTs JSON to this address when a clip is ready "
	    "(<code>clip.ready</code>), when a job ends (<code>job.done</code>, "
	    "<code>job.failed</code>) and when a job waits for your review "
	    "(<code>job.awaiting_review</code>). Each request carries "
	    "<code>Clipmill-Signature: t=TIME,v1=HMAC</code>: the HMAC-SHA256, "
	    "with your secret, of the time, a dot and the body.</p>\n");
	if (cur != NULL) {
		buf_addstr(b, "<p>Events go to <code id=\"webhook-url\" "
		    "class=\"src\">");
		html_esc(b, cur);
		buf_addstr(b, "</code>.</p>\n");
	} else
		buf_addstr(b, "<p id=\"webhook-none\">No webhook is set.</p>\n");
	if (secret != NULL) {
		buf_addstr(b, "<p class=\"warn\" id=\"webhook-secret-note\">Its "
		    "secret, shown this once (setting the address again makes a "
		    "new one): <code id=\"webhook-secret\" class=\"src\">");
		html_esc(b, secret);
		buf_addstr(b, "</code></p>\n");
	}
	buf_addstr(b, "<form method=\"post\" action=\"/account/webhook\">");
	csrf_input(b, &r->u);
	buf_addstr(b, "<label>Address (http or https) <input type=\"url\" "
	    "name=\"url\" id=\"webhook-input\" size=\"60\" maxlength=\"2048\" "
	    "required value=\"");
	html_esc(b, tried != NULL ? tried : cur != NULL ? cur : "");
	buf_addstr(b, "\"></label>");
	if (msg != NULL) {
		buf_addstr(b, "<p class=\"field-error\" id=\"error-url\" "
		    "role=\"alert\">The address ");
		html_esc(b, msg);
		buf_addstr(b, ".</p>");
	}
	buf_addstr(b, "<button id=\"webhook-save\">Save and make a new "
	    "secret</button></form>\n");
	if (cur != NULL) {
		buf_addstr(b, "<form method=\"post\" action=\"/account/webhook\">");
		csrf_input(b, &r->u);
		buf_addstr(b, "<input type=\"hidden\" name=\"remove\" value=\"1\">"
		    "<button id=\"webhook-remove\">Remove the webhook</button>"
		    "</form>\n");
	}
	buf_addstr(b, "</section>\n");
}

/* The account page, answered STATUS; see webhook_section for the rest. */
static void
account_page(struct req *r, PGconn *c, int status, const char *secret,
    const char *tried, const char *msg)
{
	struct db_params dp = { 0 };
	const char *p[1];
	char err[512];
	PGresult *res;
	struct buf b;

	p[0] = db_param_ll(&dp, r->u.id);
	if ((res = db_exec(c, err, sizeof(err), "SELECT webhook_url FROM users"
	    " WHERE id = $1", 1, p)) == NULL) {
		db_fail(r, err);
		return;
	}
	buf_init(&b, 0);
	page_begin(&b, "Account", &r->u);
	buf_addstr(&b, "<h2>Account</h2>\n<p>You are <strong>");
	html_esc(&b, r->u.name);
	buf_addstr(&b, "</strong>.</p>\n");
	webhook_section(&b, r, PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ?
	    PQgetvalue(res, 0, 0) : NULL, secret, tried, msg);
	page_end(&b);
	PQclear(res);
	/* the secret is on this page: kept by no cache */
	page_send(r, &b, status, "Cache-Control: no-store\r\n");
}

/* POST /account/webhook from the account page's forms: set (field "url")
 * or remove (field "remove"), answered with the page itself, since the
 * secret is shown on it once. */
static void
webhook_form(struct req *r, PGconn *c, const struct form *f)
{
	const char *url = form_get(f, "url");
	char msg[512], secret[65];
	int rc;

	if (form_get(f, "remove") != NULL)
		url = NULL;
	else if (url == NULL || *url == '\0') {
		account_page(r, c, 400, NULL, "", "is required: the http or "
		    "https URL to POST events to");
		return;
	}
	if ((rc = webhook_save(r, c, url, secret, msg, sizeof(msg))) == -1)
		return;
	if (rc == 1) {
		account_page(r, c, 400, NULL, url, msg);
		return;
	}
	account_page(r, c, 200, url != NULL ? secret : NULL, NULL, NULL);
}

void
route_account(struct req *r)
{
	PGconn *c;

	if ((c = req_db(r)) != NULL)
		account_page(r, c, 200, NULL, NULL, NULL);
}

void
route_account_webhook(struct req *r)
{
	struct form f = { .n = 0 };
	const char *url = NULL;
	int post = strcmp(r->method, "POST") == 0;
	int put = strcmp(r->method, "PUT") == 0;
	int del = strcmp(r->method, "DELETE") == 0;
	PGconn *c;

	if ((post || put || del) && read_account_form(r, &f) == -1)
		goto out;
	if (post && !r->json) {
		if ((c = req_db(r)) != NULL)
			webhook_form(r, c, &f);
		goto out;
	}
	if (post) {	/* a script's POST: as PUT, or DELETE with "remove" */
		del = form_get(&f, "remove") != NULL;
		put = !del;
	}
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
