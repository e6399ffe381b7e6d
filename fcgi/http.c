/* Request accessors and responses: HTML for browsers, JSON for scripts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "extern.h"

const char *
param(struct req *r, const char *name)
{
	return FCGX_GetParam(name, r->fr->envp);
}

const char *
status_text(int s)
{
	switch (s) {
	case 200: return "OK";
	case 201: return "Created";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

int
read_body(struct req *r, struct buf *b, size_t max)
{
	const char *cl = param(r, "CONTENT_LENGTH");
	long long len = 0;
	char tmp[8192];
	int n;

	if (cl != NULL && *cl != '\0' && parse_ll(cl, 0, INT64_MAX, &len) == -1) {
		respond_error(r, 400, NULL, NULL, "The Content-Length header is "
		    "not a number.");
		return -1;
	}
	if ((unsigned long long)len > max) {
		respond_error(r, 413, NULL, NULL, "The request body is larger "
		    "than %zu bytes.", max);
		return -1;
	}
	buf_add(b, "", 0);
	while ((n = FCGX_GetStr(tmp, sizeof(tmp), r->fr->in)) > 0)
		if (buf_add(b, tmp, (size_t)n) == -1) {
			respond_error(r, 413, NULL, NULL, "The request body is "
			    "larger than %zu bytes.", max);
			return -1;
		}
	r->body_read = 1;
	return 0;
}

void
drain_body(struct req *r)
{
	char tmp[16384];

	if (r->body_read)
		return;
	/* Reading to the end keeps the connection in step with the web
	 * server, which has the whole body already (it buffers it). */
	while (FCGX_GetStr(tmp, sizeof(tmp), r->fr->in) > 0)
		;
	r->body_read = 1;
}

void
respond(struct req *r, int status, const char *ctype, const char *extra,
    const char *body, size_t len)
{
	FCGX_Stream *o = r->fr->out;
	char h[8192], cl[48];
	int n;

	/* libfcgi's own printf knows no %zu: format here.  Nothing is
	 * cached unless EXTRA says how (one Cache-Control, never two). */
	r->status = status;
	/* a 304 has no body and says nothing of the length of the 200 */
	if (status == 304)
		snprintf(cl, sizeof(cl), "%s", "");
	else
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", len);
	n = snprintf(h, sizeof(h), "Status: %d %s\r\n%s%s%s"
	    "%s%s"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: same-origin\r\n%s\r\n", status,
	    status_text(status), ctype ? "Content-Type: " : "",
	    ctype ? ctype : "", ctype ? "\r\n" : "", cl,
	    extra != NULL && strcasestr(extra, "Cache-Control:") != NULL ? "" :
	    "Cache-Control: no-store\r\n", extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(h)) {
		n = snprintf(h, sizeof(h), "Status: 500 Internal Server Error"
		    "\r\nContent-Length: 0\r\n\r\n");
		len = 0;
	}
	FCGX_PutStr(h, n, o);
	if (len > 0 && strcmp(r->method, "HEAD") != 0)
		FCGX_PutStr(body, (int)len, o);
}

void
respond_json(struct req *r, int status, json_t *j, const char *extra)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (s == NULL) {
		json_decref(j);
		respond(r, 500, "application/json", NULL,
		    "{\"error\":\"out of memory\"}", 25);
		return;
	}
	respond(r, status, "application/json", extra, s, strlen(s));
	free(s);
	json_decref(j);
}

int
html_esc(struct buf *b, const char *s)
{
	const char *p;
	int rc = 0;

	for (p = s ? s : ""; *p && rc == 0; p++) {
		switch (*p) {
		case '<': rc = buf_addstr(b, "&lt;"); break;
		case '>': rc = buf_addstr(b, "&gt;"); break;
		case '&': rc = buf_addstr(b, "&amp;"); break;
		case '"': rc = buf_addstr(b, "&quot;"); break;
		case '\'': rc = buf_addstr(b, "&#39;"); break;
		default: rc = buf_add(b, p, 1);
		}
	}
	return rc;
}

void
respond_error(struct req *r, int status, const char *field, const char *extra,
    const char *fmt, ...)
{
	char msg[1024], full[1200];
	struct buf b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A value echoed with "%.40s" may end inside a character, which
	 * JSON cannot carry. */
	utf8_scrub(msg);
	if (field != NULL && *field != '\0')
		snprintf(full, sizeof(full), "%s: %s", field, msg);
	else
		snprintf(full, sizeof(full), "%s", msg);
	utf8_scrub(full);
	if (status >= 500)
		log_ev(LOG_WARN, "http_error", "{siss}", "status", status,
		    "error", full);
	if (!r->json && r->refill != NULL && status >= 400 && status < 500 &&
	    status != 401 && status != 403) {
		page_form_again(r, status, field, msg, extra);
		return;
	}
	if (r->json) {
		respond_json(r, status, json_pack("{sssissss*}", "error", full,
		    "status", status, "message", msg,
		    "field", field && *field ? field : NULL), extra);
		return;
	}
	buf_init(&b, 64 * 1024);
	page_begin(&b, status_text(status), r->u.id ? &r->u : NULL);
	buf_printf(&b, "<h1>%d %s</h1>\n<p class=\"error\">", status,
	    status_text(status));
	html_esc(&b, full);
	buf_addstr(&b, "</p>\n<p><a href=\"/\">Back to the form</a></p>\n");
	page_end(&b);
	respond(r, status, "text/html; charset=utf-8", extra, b.data, b.len);
	buf_free(&b);
}

void
redirect(struct req *r, const char *location, const char *extra)
{
	char h[1024];

	snprintf(h, sizeof(h), "Location: %s\r\n%s", location,
	    extra ? extra : "");
	respond(r, 303, "text/plain", h, "", 0);
}
