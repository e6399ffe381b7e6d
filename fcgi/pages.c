/*
 * HTML pages.  Every dynamic value goes through html_esc(); every form
 * that changes state carries the user's CSRF token.  The status page
 * works without JavaScript (it refreshes itself) and is live with it
 * (long-poll on /jobs/{id}/events, then a fresh GET of the job as JSON).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "extern.h"

static const char css[] =
    "body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:60em;"
    "padding:1em;color:#222}header{display:flex;flex-wrap:wrap;gap:.5em 1em;"
    "align-items:center;border-bottom:1px solid #ddd;margin-bottom:1em}"
    "header h1{font-size:1.3em;margin:.4em 0;flex:1}a{color:#05c}"
    "label{display:block;margin:.5em 0}"
    "fieldset{border:1px solid #ddd;margin:.8em 0;min-width:0}"
    "input{max-width:100%;box-sizing:border-box}.error{color:#b00}"
    ".field-error{color:#b00;font-weight:600;margin:.2em 0}"
    ".bar{background:#eee;border-radius:4px;height:1em;min-width:4em;"
    "overflow:hidden}.bar>div{background:#3a7;height:100%}"
    ".bar.failed>div{background:#c33}#overall .bar{height:1.4em}"
    "#overall p{margin:.3em 0 1em}td.grow{width:60%}"
    "#stages td:first-child{overflow-wrap:normal;width:1%}"
    "@media(max-width:30em){td.grow{width:40%}}"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;"
    "padding:.25em .5em;border-bottom:1px solid #eee;"
    "overflow-wrap:anywhere}"
    /* the list: short words stay whole, the source takes what is left */
    "#jobs td,#jobs th{overflow-wrap:normal}"
    "#jobs td.src{width:99%;overflow-wrap:anywhere}"
    ".clips{display:flex;flex-wrap:wrap;gap:1em}.clip{border:1px solid #ddd;"
    "padding:.5em;flex:1 1 15em;max-width:22em;box-sizing:border-box}"
    ".clip video,.clip img{width:100%}.clip .bar{margin:.2em 0}"
    ".warn{background:#fff4d6;border-left:4px solid #e0a000;margin:.4em 0;"
    "padding:.3em .5em}.score summary{cursor:pointer}.score ul{margin:.2em 0;"
    "padding-left:1.2em;font-size:.9em}.src{overflow-wrap:anywhere}"
    "#events{max-height:20em;overflow:auto;font:12px monospace;"
    "overflow-wrap:anywhere}"
    "button{padding:.3em 1em}"
    /* the clip editor (editor.js): a card being edited takes the row */
    ".needs-js{display:none}html.js .needs-js{display:inline-block}"
    ".clip.editing{flex-basis:100%;max-width:none}"
    ".clip.editing>video{max-width:20em;display:block}"
    ".rank{background:#05c;color:#fff;border-radius:3px;padding:0 .3em;"
    "margin-right:.3em}.notice{background:#e8f1ff;border-left:4px solid #05c;"
    "padding:.4em .6em}.edit-btn{margin:.3em 0}"
    ".editor{border-top:1px solid #ddd;margin-top:.5em;padding-top:.5em}"
    ".editor label{margin:.3em 0}.e-title{width:100%}"
    ".e-bounds{display:flex;flex-wrap:wrap;gap:.3em 1.2em;margin:.4em 0}"
    ".e-bounds button{padding:.1em .6em}.e-bounds output{display:inline-block;"
    "min-width:4em;text-align:center;font-variant-numeric:tabular-nums}"
    ".e-help{font-size:.9em;color:#555;margin:.3em 0}"
    ".e-words{list-style:none;padding:0;margin:.3em 0;display:flex;"
    "flex-wrap:wrap;gap:.25em}.w{display:inline-flex;flex-wrap:wrap;"
    "align-items:center;border:1px solid #ccc;border-radius:3px;"
    "padding:.1em .2em;max-width:100%;box-sizing:border-box}"
    ".w small{color:#666;font-size:.75em;margin:0 .2em}"
    ".w input{font:inherit;border:0;border-bottom:1px dotted #999;"
    "background:transparent;min-width:2ch;max-width:12em;padding:0 .1em}"
    ".w.low{background:#fff4d6;border-color:#e0a000}"
    ".w.fixed input{color:#05c;font-weight:600}"
    ".w.removed input{text-decoration:line-through;color:#999}"
    ".w .e-x{padding:0 .35em;border:0;background:none;cursor:pointer;"
    "color:#777}.w .e-x[aria-pressed=true]{color:#b00;font-weight:700}"
    ".w.out{border-style:dashed;background:#f6f6f6}.w.out button{border:0;"
    "background:none;color:#777;font:inherit;padding:0 .1em;cursor:pointer}"
    ".e-opts{display:flex;flex-wrap:wrap;gap:0 1.2em}"
    ".e-actions{display:flex;flex-wrap:wrap;gap:.5em}"
    ".e-msg{min-height:1.2em;margin:.3em 0}";

/* The page head; BODY_ATTRS (may be NULL) go on <body>. */
static void
page_begin_attrs(struct buf *b, const char *title, const struct user *u,
    const char *body_attrs)
{
	buf_addstr(b, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width,initial-scale=1\"><title>");
	html_esc(b, title);
	buf_addstr(b, " - clipmill</title><style>");
	buf_addstr(b, css);
	buf_addstr(b, "</style></head><body");
	if (body_attrs != NULL)
		buf_addstr(b, body_attrs);
	buf_addstr(b, "><header><h1><a href=\"/\">clipmill</a></h1>");
	if (u != NULL) {
		buf_addstr(b, "<a href=\"/jobs\">My jobs</a>"
		    "<a href=\"/account\">Account</a><span>");
		html_esc(b, u->name);
		buf_addstr(b, "</span>");
		if (u->via == AUTH_SESSION) {
			buf_addstr(b, "<form method=\"post\" action=\"/logout\" "
			    "style=\"margin:0\"><input type=\"hidden\" "
			    "name=\"csrf\" value=\"");
			html_esc(b, u->csrf);
			buf_addstr(b, "\"><button>Log out</button></form>");
		}
	}
	buf_addstr(b, "</header>\n<main>\n");
}

void
page_begin(struct buf *b, const char *title, const struct user *u)
{
	page_begin_attrs(b, title, u, NULL);
}

void
page_end(struct buf *b)
{
	buf_addstr(b, "</main></body></html>\n");
}

#define CSP "Content-Security-Policy: default-src 'self'; " \
    "style-src 'unsafe-inline'; script-src 'unsafe-inline' 'self'; " \
    "img-src 'self' data: http: https:; media-src 'self' http: https:\r\n"

/* HTML (LEN bytes) with STATUS, the pages' Content-Security-Policy and
 * EXTRA header lines. */
static void
send_html(struct req *r, int status, const char *html, size_t len,
    const char *extra)
{
	char hdr[1024];

	snprintf(hdr, sizeof(hdr), "%s%s", CSP, extra ? extra : "");
	respond(r, status, "text/html; charset=utf-8", hdr, html, len);
}

/* Send page B (freed) with the security policy and EXTRA header lines.
 * The page's appends are not checked one by one: a failure is sticky, so
 * a page that could not be built whole is caught here, and answered 500
 * rather than sent cut short. */
static void
send_page_with(struct req *r, struct buf *b, int status, const char *extra)
{
	if (buf_failed(b)) {
		buf_free(b);
		log_ev(LOG_ERROR, "page_incomplete", "{ss}", "path", r->path);
		respond_error(r, 500, NULL, NULL, "Something went wrong on our "
		    "side; it has been logged.");
		return;
	}
	send_html(r, status, b->data, b->len, extra);
	buf_free(b);
}

static void
send_page(struct req *r, struct buf *b, int status)
{
	send_page_with(r, b, status, NULL);
}

void
page_send(struct req *r, struct buf *b, int status, const char *extra)
{
	send_page_with(r, b, status, extra);
}

void
page_login(struct req *r, const char *msg)
{
	struct buf b;
	char nonce[33], token[65], cookie[256] = "";
	int fresh;

	if (login_token(r, nonce, token, &fresh) == -1) {
		respond_error(r, 500, NULL, NULL, "no random bytes");
		return;
	}
	if (fresh)
		login_cookie(r, nonce, cookie, sizeof(cookie));
	buf_init(&b, 0);
	page_begin(&b, "Log in", NULL);
	buf_addstr(&b, "<h2>Log in</h2>\n");
	if (msg != NULL) {
		buf_addstr(&b, "<p class=\"error\" id=\"login-error\">");
		html_esc(&b, msg);
		buf_addstr(&b, "</p>\n");
	}
	buf_printf(&b, "<form method=\"post\" action=\"/login\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", token);
	buf_addstr(&b, "<label>API key <input type=\"password\" name=\"key\" id=\"key\" "
	    "size=\"56\" autocomplete=\"current-password\" required></label>"
	    "<button type=\"submit\" id=\"login\">Log in</button></form>\n"
	    "<p>An operator creates keys with <code>clipmill user add "
	    "NAME</code>.</p>\n");
	page_end(&b);
	send_page_with(r, &b, r->status ? r->status : 200, cookie);
}

void
csrf_input(struct buf *b, const struct user *u)
{
	buf_addstr(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	html_esc(b, u->csrf);
	buf_addstr(b, "\">");
}

/* What the form shows: the values sent back when a submit was refused
 * (V, may be NULL), and the refused field with its message. */
struct formview {
	const struct form *v;
	const char	*field;		/* NULL: none in particular */
	const char	*msg;
};

/* The value to show for NAME: the one sent, else DEF. */
static const char *
fv(const struct formview *fw, const char *name, const char *def)
{
	const char *s = fw->v != NULL ? form_get(fw->v, name) : NULL;

	return s != NULL ? s : def;
}

/* Whether checkbox NAME=VAL is to be checked: as sent, else ON. */
static int
fchecked(const struct formview *fw, const char *name, const char *val,
    int on)
{
	size_t i;

	if (fw->v == NULL || form_count(fw->v, name) == 0)
		return on;
	for (i = 0; i < fw->v->n; i++)
		if (strcmp(fw->v->f[i].key, name) == 0 &&
		    strcmp(fw->v->f[i].val, val) == 0)
			return 1;
	return 0;
}

/* The message beside field NAME, when it is the one refused. */
static void
ferr(struct buf *b, const struct formview *fw, const char *name)
{
	if (fw->field == NULL || strcmp(fw->field, name) != 0)
		return;
	buf_addstr(b, "<p class=\"field-error\" id=\"error-");
	html_esc(b, name);
	buf_addstr(b, "\" role=\"alert\">");
	html_esc(b, fw->msg);
	buf_addstr(b, "</p>");
}

/* A select for job field NAME (lib/jobspec.c): one option per word of
 * the table, the value sent or the default selected. */
static void
field_select(struct buf *b, const struct formview *fw, const char *name)
{
	const struct jobfield *f = jobspec_field(name);
	const char *sel;
	size_t i;

	if (f == NULL || f->words == NULL)
		return;
	sel = fv(fw, name, f->def);
	buf_addstr(b, "<select name=\"");
	html_esc(b, f->name);
	buf_addstr(b, "\">");
	for (i = 0; f->words[i] != NULL; i++) {
		buf_addstr(b, "<option value=\"");
		html_esc(b, f->words[i]);
		buf_addstr(b, strcmp(f->words[i], sel) == 0 ?
		    "\" selected>" : "\">");
		html_esc(b, f->words[i]);
		buf_addstr(b, "</option>");
	}
	buf_addstr(b, "</select>");
}

/* <input type=number name=NAME min=1 max=MAX value=...>. */
static void
field_number(struct buf *b, const struct formview *fw, const char *name,
    int max, long long def)
{
	char d[32];

	snprintf(d, sizeof(d), "%lld", def);
	buf_printf(b, "<input type=\"number\" name=\"%s\" min=\"1\" "
	    "max=\"%d\" value=\"", name, max);
	html_esc(b, fv(fw, name, d));
	buf_addstr(b, "\">");
}

static void
field_aspect(struct buf *b, const struct formview *fw, const char *val,
    const char *label, int on)
{
	buf_printf(b, "<label><input type=\"checkbox\" name=\"aspects\" "
	    "value=\"%s\"%s> %s</label>", val, fchecked(fw, "aspects", val,
	    on) ? " checked" : "", label);
}

/* The source and clip fieldsets. */
static void
form_clips(struct buf *b, const struct formview *fw)
{
	buf_printf(b, "<fieldset><legend>Source</legend>"
	    "<label>Video address (YouTube or any page yt-dlp knows, or a "
	    "direct media link) <input type=\"url\" name=\"url\" size=\"60\" "
	    "id=\"url\" value=\"");
	html_esc(b, fv(fw, "url", ""));
	buf_addstr(b, "\"></label>");
	ferr(b, fw, "url");
	buf_printf(b, "<label>or upload a file (at most %lld MB) "
	    "<input type=\"file\" name=\"file\" id=\"file\" "
	    "accept=\"video/*,audio/*\"></label>", cfg.upload_max_mb);
	ferr(b, fw, "file");
	buf_addstr(b, "<div id=\"upload\" hidden><div class=\"bar\">"
	    "<div style=\"width:0\"></div></div><p id=\"upload-text\"></p>"
	    "</div></fieldset><fieldset><legend>Clips</legend>"
	    "<label>Number of clips ");
	field_number(b, fw, "clips", JOBSPEC_CLIPS_MAX, cfg.clips_default);
	buf_addstr(b, "</label>");
	ferr(b, fw, "clips");
	buf_addstr(b, "<label>Length from ");
	field_number(b, fw, "min_len", JOBSPEC_LEN_MAX, cfg.clip_min);
	buf_addstr(b, " to ");
	field_number(b, fw, "max_len", JOBSPEC_LEN_MAX, cfg.clip_max);
	buf_addstr(b, " seconds</label>");
	ferr(b, fw, "min_len");
	ferr(b, fw, "max_len");
	field_aspect(b, fw, "9:16", "9:16 (vertical)", 1);
	field_aspect(b, fw, "1:1", "1:1 (square)", 0);
	field_aspect(b, fw, "4:5", "4:5 (portrait)", 0);
	ferr(b, fw, "aspects");
	buf_addstr(b, "</fieldset>");
}

/* Captions, framing and the backends. */
static void
form_options(struct buf *b, const struct formview *fw)
{
	const struct backends *be = backends_conf();
	const char *asr = fv(fw, "transcribe_backend", be->openai == 2 ?
	    "openai" : "pocketsphinx");
	const char *sel = fv(fw, "select_backend", be->llm == 2 ? "llm" :
	    "heuristic");

	buf_printf(b, "<fieldset><legend>Captions</legend>"
	    "<input type=\"hidden\" name=\"captions\" value=\"off\">"
	    "<label><input type=\"checkbox\" name=\"captions\" value=\"on\"%s>"
	    " Burn in word-by-word captions</label><label>Style ",
	    fchecked(fw, "captions", "on", 1) ? " checked" : "");
	field_select(b, fw, "caption_style");
	buf_addstr(b, "</label></fieldset>");
	/* review (issue 13): unchecked sends nothing, which is off */
	buf_printf(b, "<fieldset><legend>Review</legend><label><input "
	    "type=\"checkbox\" name=\"review\" value=\"on\"%s> Let me "
	    "review, edit and choose the clips before they are rendered"
	    "</label></fieldset>", fchecked(fw, "review", "on", 0) ?
	    " checked" : "");
	ferr(b, fw, "review");
	buf_addstr(b, "<fieldset><legend>Framing</legend><label>Layout ");
	field_select(b, fw, "layout");
	buf_addstr(b, "</label></fieldset>");
	buf_addstr(b, "<fieldset><legend>Backends</legend>"
	    "<label>Transcription <select name=\"transcribe_backend\">");
	buf_printf(b, "<option value=\"pocketsphinx\"%s>pocketsphinx "
	    "(offline)</option>", strcmp(asr, "openai") == 0 ? "" :
	    " selected");
	if (be->openai)
		buf_printf(b, "<option value=\"openai\"%s>OpenAI-compatible "
		    "API</option>", strcmp(asr, "openai") == 0 ?
		    " selected" : "");
	buf_addstr(b, "</select></label>");
	ferr(b, fw, "transcribe_backend");
	buf_addstr(b, "<label>Choosing clips <select name=\"select_backend\">");
	buf_printf(b, "<option value=\"heuristic\"%s>heuristic</option>",
	    strcmp(sel, "llm") == 0 ? "" : " selected");
	if (be->llm)
		buf_printf(b, "<option value=\"llm\"%s>language model</option>",
		    strcmp(sel, "llm") == 0 ? " selected" : "");
	buf_addstr(b, "</select></label>");
	ferr(b, fw, "select_backend");
	buf_addstr(b, "<label>Language <input name=\"language\" value=\"");
	html_esc(b, fv(fw, "language", "en"));
	buf_addstr(b, "\" size=\"3\" maxlength=\"3\" pattern=\"[a-z]{2,3}\">"
	    "</label>");
	ferr(b, fw, "language");
	buf_addstr(b, "</fieldset>");
	if (be->test_stages) {
		buf_addstr(b, "<label>First stage (test hook) <input "
		    "name=\"first_stage\" id=\"first_stage\" value=\"");
		html_esc(b, fv(fw, "first_stage", ""));
		buf_addstr(b, "\"></label>");
		ferr(b, fw, "first_stage");
	}
}

/* With a file chosen, the form goes by XMLHttpRequest so that the page
 * can show the upload's progress; the answer (the job's page, or the form
 * again with an error) replaces the page.  Without a file, or without
 * JavaScript, it is an ordinary submit. */
static const char upload_js[] =
    "(function(){\n"
    "var f=document.getElementById('submit-form'),"
    "file=document.getElementById('file');\n"
    "f.addEventListener('submit',function(e){\n"
    " if(!file.files.length||!window.XMLHttpRequest)return;\n"
    " e.preventDefault();\n"
    " var box=document.getElementById('upload'),bar=box.querySelector("
    "'.bar>div'),txt=document.getElementById('upload-text'),"
    "x=new XMLHttpRequest();\n"
    " box.hidden=false;document.getElementById('submit').disabled=true;\n"
    " x.upload.onprogress=function(p){if(!p.lengthComputable)return;"
    "var pc=Math.floor(100*p.loaded/p.total);bar.style.width=pc+'%';"
    "bar.parentNode.dataset.pct=pc;txt.textContent='Uploading: '+pc+'% of '+"
    "(p.total/1048576).toFixed(1)+' MB';};\n"
    " x.onload=function(){if(x.responseURL&&/\\/jobs\\/\\d+$/.test("
    "x.responseURL)){location.href=x.responseURL;return;}"
    "document.open();document.write(x.responseText);document.close();};\n"
    " x.onerror=function(){txt.textContent='The upload failed: the "
    "connection was lost. Try again.';"
    "document.getElementById('submit').disabled=false;};\n"
    " x.open('POST',f.action);x.setRequestHeader('Accept','text/html');"
    "x.send(new FormData(f));\n"
    "});\n"
    "})();\n";

/* The form, with STATUS; FW says what to fill in and what was refused. */
static void
form_page(struct req *r, int status, const struct formview *fw,
    const char *extra)
{
	struct buf b;

	buf_init(&b, 0);
	page_begin(&b, "New job", &r->u);
	buf_addstr(&b, "<h2>Make clips from a video</h2>\n");
	if (fw->msg != NULL) {
		buf_addstr(&b, "<p class=\"error\" id=\"form-error\" "
		    "role=\"alert\">");
		if (fw->field != NULL && *fw->field != '\0') {
			html_esc(&b, fw->field);
			buf_addstr(&b, ": ");
		}
		html_esc(&b, fw->msg);
		if (fw->v != NULL && fw->field != NULL &&
		    strcmp(fw->field, "file") != 0)
			buf_addstr(&b, " (a chosen file must be chosen again)");
		buf_addstr(&b, "</p>\n");
	}
	buf_addstr(&b, "<form method=\"post\" action=\"/jobs\" "
	    "enctype=\"multipart/form-data\" id=\"submit-form\">");
	csrf_input(&b, &r->u);
	form_clips(&b, fw);
	form_options(&b, fw);
	buf_addstr(&b, "<button type=\"submit\" id=\"submit\">Make clips"
	    "</button></form>\n<script>");
	buf_addstr(&b, upload_js);
	buf_addstr(&b, "</script>\n");
	page_end(&b);
	send_page_with(r, &b, status, extra);
}

void
page_form(struct req *r)
{
	const struct backends *be = backends_conf();
	struct formview fw = { NULL, NULL, NULL };

	if (r->json) {
		respond_json(r, 200, json_pack("{sssIsIsIsbsb}", "user",
		    r->u.name, "clips_default", (json_int_t)cfg.clips_default,
		    "clip_min", (json_int_t)cfg.clip_min,
		    "upload_max_mb", (json_int_t)cfg.upload_max_mb,
		    "openai", be->openai > 0, "llm", be->llm > 0), NULL);
		return;
	}
	form_page(r, 200, &fw, NULL);
}

void
page_form_again(struct req *r, int status, const char *field,
    const char *msg, const char *extra)
{
	struct formview fw = { r->refill, field, msg };

	form_page(r, status, &fw, extra);
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

void
page_jobs(struct req *r, json_t *rows, long long page, int more)
{
	struct buf b;
	char when[17];
	json_t *o;
	size_t i;

	buf_init(&b, 0);
	page_begin(&b, "My jobs", &r->u);
	buf_addstr(&b, "<h2>My jobs</h2>\n<table id=\"jobs\"><tr><th>Job</th>"
	    "<th>State</th><th>Source</th><th>Clips</th><th>Submitted (UTC)"
	    "</th></tr>\n");
	json_array_foreach(rows, i, o) {
		long long id = json_integer_value(json_object_get(o, "id"));
		buf_printf(&b, "<tr><td><a href=\"/jobs/%lld\">#%lld</a></td><td>",
		    id, id);
		html_esc(&b, jstr(o, "state"));
		buf_addstr(&b, "</td><td class=\"src\">");
		html_esc(&b, *jstr(o, "source") ? jstr(o, "source") :
		    "an uploaded file");
		buf_printf(&b, "</td><td>%lld</td><td>", (long long)
		    json_integer_value(json_object_get(o, "clips_ready")));
		/* 2026-12-04T00:47:10Z as 2026-12-04 00:47 */
		snprintf(when, sizeof(when), "%.16s", jstr(o, "created_at"));
		if (strlen(when) == 16 && when[10] == 'T')
			when[10] = ' ';
		html_esc(&b, when);
		buf_addstr(&b, "</td></tr>\n");
	}
	buf_addstr(&b, "</table>\n<p>");
	if (page > 1)
		buf_printf(&b, "<a href=\"/jobs?page=%lld\">Newer</a> ", page - 1);
	if (more)
		buf_printf(&b, "<a href=\"/jobs?page=%lld\">Older</a>", page + 1);
	buf_addstr(&b, "</p>\n");
	page_end(&b);
	send_page(r, &b, 200);
}

/* Seconds as "1:05" or "1:02:05". */
static void
clock_add(struct buf *b, double secs)
{
	long t = secs > 0 ? lround(secs) : 0;

	if (t >= 3600)
		buf_printf(b, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		buf_printf(b, "%ld:%02ld", t / 60, t % 60);
}

/* A duration for people: "40 s", "3 min", "1 h 5 min". */
static void
span_add(struct buf *b, double secs)
{
	long t = secs > 0 ? lround(secs) : 0;

	if (t < 60)
		buf_printf(b, "%ld s", t);
	else if (t < 3600)
		buf_printf(b, "%ld min", (t + 30) / 60);
	else
		buf_printf(b, "%ld h %ld min", t / 3600, t / 60 % 60);
}

static void
bar_add(struct buf *b, const char *stage, long long pct, int failed)
{
	buf_addstr(b, "<div class=\"bar");
	if (failed)
		buf_addstr(b, " failed");
	buf_addstr(b, "\"");
	if (stage != NULL) {
		buf_addstr(b, " data-stage=\"");
		html_esc(b, stage);
		buf_addstr(b, "\"");
	}
	buf_printf(b, " data-pct=\"%lld\"><div style=\"width:%lld%%\"></div>"
	    "</div>", pct, pct);
}

/* The whole job's bar and the time it has left (or took). */
static void
job_overall(struct buf *b, json_t *j, const char *state, int live)
{
	json_t *pr = json_object_get(j, "progress");
	long long pct = json_integer_value(json_object_get(pr, "pct"));
	json_t *rem = json_object_get(pr, "remaining_s");

	buf_addstr(b, "<div id=\"overall\">");
	bar_add(b, NULL, pct, strcmp(state, "failed") == 0);
	buf_printf(b, "<p>%lld%%", pct);
	if (live && json_is_integer(rem)) {
		buf_addstr(b, " &middot; about ");
		span_add(b, (double)json_integer_value(rem));
		buf_addstr(b, " left");
	} else if (strcmp(state, "awaiting_review") == 0) {
		buf_addstr(b, " &middot; waiting for your review");
	} else if (!live) {
		buf_addstr(b, " &middot; ");
		html_esc(b, state);
		buf_addstr(b, " after ");
		span_add(b, json_number_value(json_object_get(j, "elapsed_s")));
	}
	buf_addstr(b, "</p></div>\n");
}

/* One row a stage: a failed stage's bar is red and says why. */
static void
job_stages(struct buf *b, json_t *j)
{
	json_t *o;
	size_t i;

	buf_addstr(b, "<table id=\"stages\">");
	json_array_foreach(json_object_get(j, "stages"), i, o) {
		long long pct = json_integer_value(json_object_get(o, "pct"));
		int failed = json_integer_value(json_object_get(o, "failed")) > 0;
		const char *msg = failed && *jstr(o, "error") ? jstr(o, "error") :
		    jstr(o, "message");

		buf_addstr(b, "<tr><td>");
		html_esc(b, jstr(o, "stage"));
		buf_addstr(b, "</td><td class=\"grow\">");
		bar_add(b, jstr(o, "stage"), pct, failed);
		buf_printf(b, "</td><td>%s%lld%% ", failed ? "failed at " : "",
		    pct);
		html_esc(b, msg);
		buf_addstr(b, "</td></tr>");
	}
	buf_addstr(b, "</table>\n");
}

/* OPEN, TEXT escaped, CLOSE; nothing when TEXT is empty. */
static void
text_in(struct buf *b, const char *open, const char *text, const char *close)
{
	if (*text == '\0')
		return;
	buf_addstr(b, open);
	html_esc(b, text);
	buf_addstr(b, close);
}

/* How the clip is framed, in figures, and a warning when it is not good. */
static void
clip_framing(struct buf *b, json_t *q)
{
	json_t *v;

	if (!json_is_object(q) || !*jstr(q, "layout"))
		return;
	buf_addstr(b, "<br><small class=\"figures\">Layout ");
	html_esc(b, jstr(q, "layout"));
	if (json_is_number(v = json_object_get(q, "face_in_picture")))
		buf_printf(b, " &middot; face in picture %.0f%%",
		    100 * json_number_value(v));
	if (json_is_number(v = json_object_get(q, "reversals_per_s")))
		buf_printf(b, " &middot; %.2f camera reversals/s",
		    json_number_value(v));
	if (json_is_number(v = json_object_get(q, "upscale")))
		buf_printf(b, " &middot; upscaled %.1f&times;",
		    json_number_value(v));
	if (json_is_number(v = json_object_get(q, "asr_confidence")))
		buf_printf(b, " &middot; words recognised with %.0f%% "
		    "confidence", 100 * json_number_value(v));
	buf_addstr(b, "</small>");
	text_in(b, "<br><small>", jstr(q, "layout_reason"), "</small>");
	text_in(b, "<p class=\"warn\" role=\"note\">&#9888; ",
	    jstr(q, "warning"), "</p>");
}

/* The score and what it is made of. */
static void
clip_score(struct buf *b, json_t *o)
{
	json_t *v = json_object_get(o, "score"), *pt;
	size_t i;

	if (!json_is_number(v))
		return;
	buf_printf(b, "<details class=\"score\"><summary>Score %.0f of 100"
	    "</summary><ul>", json_number_value(v));
	json_array_foreach(json_object_get(o, "score_parts"), i, pt) {
		double pts = json_number_value(json_object_get(pt, "points"));
		double max = json_number_value(json_object_get(pt, "max"));

		buf_addstr(b, "<li>");
		html_esc(b, jstr(pt, "what"));
		if (max < 0)
			buf_printf(b, ": %.0f (up to %.0f)", pts, max);
		else
			buf_printf(b, ": %.0f of %.0f", pts, max);
		buf_addstr(b, "</li>");
	}
	if (i == 0)
		buf_addstr(b, "<li>Chosen before scores were itemised.</li>");
	buf_addstr(b, "</ul></details>");
}

/* What a clip is doing: "waiting", "rendering" with its bar, "ready". */
static void
clip_state(struct buf *b, json_t *o)
{
	const char *state = jstr(o, "state");
	json_t *rd = json_object_get(o, "render");

	if (strcmp(state, "pending") == 0 && strcmp(jstr(rd, "state"),
	    "running") == 0) {
		long long pct = json_integer_value(json_object_get(rd, "pct"));

		buf_printf(b, "rendering %lld%%", pct);
		bar_add(b, NULL, pct, 0);
	} else if (strcmp(state, "pending") == 0)
		buf_addstr(b, json_is_object(rd) ? "waiting for a renderer" :
		    "waiting for framing");
	else if (strcmp(state, "rendered") == 0)
		buf_addstr(b, "publishing");
	else if (strcmp(state, "candidate") == 0)
		buf_addstr(b, "candidate: not rendered yet");
	else
		html_esc(b, state);
	text_in(b, "<br><span class=\"error\">", jstr(o, "error"), "</span>");
}

/* What the editor (editor.js) starts from, as JSON in data-edit. */
static void
clip_edit_data(struct buf *b, json_t *o)
{
	static const char *const keys[] = { "id", "rank", "state", "start",
	    "end", "title", "aspect", "layout", "caption_style", "edits" };
	json_t *d = json_object(), *v;
	char *s;
	size_t i;

	for (i = 0; d != NULL && i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = json_object_get(o, keys[i])) != NULL)
			json_object_set(d, keys[i], v);
	s = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	html_esc(b, s != NULL ? s : "{}");
	free(s);
	json_decref(d);
}

/* The card's inside: the video, what the clip is, its state, an "Edit"
 * button for a clip that may be edited. */
static void
clip_inner(struct buf *b, json_t *o, long long id)
{
	const char *video = jstr(o, "video"), *thumb = jstr(o, "thumbnail");
	const char *state = jstr(o, "state");
	double start = json_number_value(json_object_get(o, "start"));
	double end = json_number_value(json_object_get(o, "end"));

	if (*video) {
		buf_addstr(b, "<video controls preload=\"none\" src=\"");
		html_esc(b, video);
		buf_addstr(b, "\" poster=\"");
		html_esc(b, thumb);
		buf_addstr(b, "\"></video>");
	}
	buf_addstr(b, "<b>");
	if (strcmp(state, "candidate") == 0)
		buf_printf(b, "<span class=\"rank\" title=\"Rank among the "
		    "candidates\">#%lld</span>", (long long)json_integer_value(
		    json_object_get(o, "rank")));
	html_esc(b, *jstr(o, "title") ? jstr(o, "title") : "Clip");
	buf_addstr(b, "</b><br>");
	html_esc(b, jstr(o, "aspect"));
	buf_addstr(b, " &middot; ");
	clock_add(b, start);
	buf_addstr(b, "&ndash;");
	clock_add(b, end);
	buf_addstr(b, " of the source (");
	span_add(b, end - start);
	buf_addstr(b, ")<br><span class=\"cstate\">");
	clip_state(b, o);
	buf_addstr(b, "</span>");
	clip_framing(b, json_object_get(o, "quality"));
	buf_addstr(b, "<br><small>");
	html_esc(b, jstr(o, "reason"));
	buf_addstr(b, "</small>");
	clip_score(b, o);
	if (*video) {
		buf_addstr(b, "<a href=\"");
		html_esc(b, video);
		buf_addstr(b, "\" download>Download</a>");
		buf_printf(b, " &middot; subtitles: <a href=\"/clips/%lld/"
		    "subtitles.srt\" download>SRT</a> <a href=\"/clips/%lld/"
		    "subtitles.vtt\" download>WebVTT</a>", id, id);
	}
	if (strcmp(state, "candidate") == 0 || strcmp(state, "ready") == 0 ||
	    strcmp(state, "failed") == 0)
		buf_printf(b, "<br><button type=\"button\" class=\"edit-btn "
		    "needs-js\" data-clip=\"%lld\" aria-expanded=\"false\">"
		    "Edit</button>", id);
}

static void
clip_card(struct buf *b, json_t *o)
{
	long long id = json_integer_value(json_object_get(o, "id"));
	struct buf in;

	/* data-sig changes whenever the card does, so the live page
	 * replaces only the cards that changed; it keeps a playing video
	 * and an open editor across the swap. */
	buf_init(&in, 0);
	buf_addstr(&in, "\" data-edit=\"");
	clip_edit_data(&in, o);
	buf_addstr(&in, "\">");
	clip_inner(&in, o, id);
	buf_printf(b, "<div class=\"clip\" id=\"clip-%lld\" data-clip=\"%lld\" "
	    "data-state=\"", id, id);
	html_esc(b, jstr(o, "state"));
	buf_printf(b, "\" data-sig=\"%08x", buf_failed(&in) ? 0 :
	    text_hash(in.data, in.len));
	if (buf_failed(&in))
		b->failed = 1;		/* the page is answered 500 */
	else
		buf_add(b, in.data, in.len);
	buf_addstr(b, "</div>");
	buf_free(&in);
}

/* The job's source as its owner knows it: the URL, or the file's name. */
static const char *
job_source(json_t *j)
{
	if (strcmp(jstr(j, "source_kind"), "url") == 0)
		return jstr(j, "source_url");
	return *jstr(j, "source_name") ? jstr(j, "source_name") :
	    "an uploaded file";
}

/* The live part of the status page.  The server renders every part; with
 * JavaScript the page long-polls /jobs/{id}/events, and after each batch
 * of events fetches itself again and swaps in the parts that changed. */
static const char status_js[] =
    "(function(){\n"
    "var id=document.body.dataset.job,after=+document.body.dataset.seq,"
    "polling=0;\n"
    /* nothing comes from a job at rest until its owner acts (the editor
     * wakes the poll up then) */
    "var rest={done:1,partial:1,failed:1,cancelled:1,awaiting_review:1};\n"
    /* a fresher card N for the card O on the page: O's video plays on
     * until the clip is ready again, O's open editor stays */
    "function keep(o,n){\n"
    " var ov=o.querySelector('video'),nv=n.querySelector('video'),"
    "ed=o.querySelector('.editor');\n"
    " if(ov&&nv&&ov.getAttribute('src')===nv.getAttribute('src')&&"
    "(n.dataset.state!=='ready'||o.dataset.state==='ready'))nv.replaceWith(ov);\n"
    " else if(ov&&!nv&&n.dataset.state!=='ready'){var s=n.querySelector("
    "'b');n.insertBefore(ov,s);}\n"
    " if(ed){n.appendChild(ed);n.classList.add('editing');"
    "var eb=n.querySelector('.edit-btn');if(eb)eb.setAttribute("
    "'aria-expanded','true');}\n"
    "}\n"
    "function swap(d){\n"
    " ['head','error','actions','review','overall','stages'].forEach("
    "function(k){\n"
    "  var a=document.getElementById(k),b=d.getElementById(k);\n"
    "  if(a&&b&&a.innerHTML!==b.innerHTML)a.innerHTML=b.innerHTML;});\n"
    " var box=document.getElementById('clips'),nb=d.getElementById('clips');\n"
    " if(!box||!nb)return;\n"
    " Array.prototype.slice.call(nb.children).forEach(function(c,i){\n"
    "  var o=document.getElementById(c.id),at=box.children[i];\n"
    "  if(o&&o.dataset.sig===c.dataset.sig){if(o!==at)box.insertBefore(o,at);"
    "return;}\n"
    "  var n=document.importNode(c,true);\n"
    "  if(o){var f=o.contains(document.activeElement);keep(o,n);"
    "o.replaceWith(n);if(f&&!n.contains(document.activeElement)){"
    "var eb=n.querySelector('.edit-btn');if(eb)eb.focus();}}\n"
    "  else box.insertBefore(n,at||null);});\n"
    " while(box.children.length>nb.children.length)"
    "box.removeChild(box.lastChild);\n"
    " document.dispatchEvent(new Event('clipmill:swap'));\n"
    "}\n"
    "function addEvents(evs){var ul=document.getElementById('events');"
    "evs.forEach(function(e){var li=document.createElement('li');"
    "li.value=e.seq;li.textContent=e.seq+' '+e.kind+(e.stage?' '+e.stage:'')+"
    "(e.data&&e.data.msg?': '+e.data.msg:'')+(e.data&&e.data.pct!=null?"
    "' '+e.data.pct+'%':'');ul.appendChild(li);});}\n"
    "function refresh(){return fetch('/jobs/'+id,{headers:{Accept:"
    "'text/html'},credentials:'same-origin'}).then(function(r){"
    "if(!r.ok)throw r.status;return r.text();}).then(function(t){"
    "swap(new DOMParser().parseFromString(t,'text/html'));});}\n"
    "function poll(){polling=1;fetch('/jobs/'+id+'/events?after='+after+"
    "'&timeout=25',"
    "{headers:{Accept:'application/json'},credentials:'same-origin'})"
    ".then(function(r){if(!r.ok)throw r.status;return r.json();})"
    ".then(function(j){if(j.events.length){addEvents(j.events);"
    "after=j.next;return refresh().then(function(){return j;});}return j;})"
    ".then(function(j){if(!(j.state&&rest[j.state]&&!j.events.length))"
    "poll();else{polling=0;refresh();}})"
    ".catch(function(){setTimeout(poll,2000);});}\n"
    /* a job at rest has nothing more to say: no polling; a poll that
     * learns the job is at rest (its answer's state) is the last one,
     * until the editor asks for a render or saves an edit */
    "window.clipmillLive={wake:function(){if(!polling)poll();},"
    "refresh:refresh};\n"
    "if(!rest[document.getElementById('state').dataset.state])poll();\n"
    "})();\n";

/* Cancel while the job runs or awaits review, retry when it failed or was
 * cancelled. */
static void
job_actions(struct buf *b, struct req *r, long long id, const char *state,
    int live)
{
	/* a job awaiting review has nothing running, but may be cancelled */
	if (strcmp(state, "awaiting_review") == 0)
		live = 1;
	buf_addstr(b, "<div id=\"actions\">");
	if (live || strcmp(state, "done") != 0) {
		buf_printf(b, "<form method=\"post\" action=\"/jobs/%lld/%s\">",
		    id, live ? "cancel" : "retry");
		csrf_input(b, &r->u);
		buf_printf(b, "<button id=\"%s\">%s</button></form>",
		    live ? "cancel" : "retry", live ? "Cancel" : "Retry");
	}
	buf_addstr(b, "</div>\n");
}

/* The candidates waiting to be chosen: what the user is to do, and
 * "Render all". */
static void
job_review(struct buf *b, json_t *j, const char *state)
{
	json_t *o;
	size_t i, n = 0;

	json_array_foreach(json_object_get(j, "clips"), i, o)
		if (strcmp(jstr(o, "state"), "candidate") == 0)
			n++;
	buf_addstr(b, "<div id=\"review\">");
	if (n > 0) {
		buf_addstr(b, "<p class=\"notice\">");
		if (strcmp(state, "awaiting_review") == 0)
			buf_printf(b, "<b>This job awaits your review.</b> "
			    "It found %zu candidate clip%s, best first. Correct "
			    "their words, move their start and end, then render "
			    "the ones you want: nothing is rendered until you "
			    "ask.", n, n == 1 ? "" : "s");
		else
			buf_printf(b, "%zu candidate clip%s not rendered: "
			    "edit %s and render %s when you like.", n,
			    n == 1 ? " is" : "s are", n == 1 ? "it" : "them",
			    n == 1 ? "it" : "any of them");
		buf_addstr(b, "</p><button type=\"button\" id=\"render-all\" "
		    "class=\"needs-js\">");
		if (n == 1)
			buf_addstr(b, "Render the candidate");
		else
			buf_printf(b, "Render all %zu candidates", n);
		buf_addstr(b, "</button> <span id=\"review-msg\" "
		    "role=\"status\"></span>");
	}
	buf_addstr(b, "</div>\n");
}

void
page_job_build(struct req *r, json_t *j, struct buf *out)
{
	struct buf b;
	json_t *o;
	size_t i;
	const char *state = jstr(j, "state");
	long long id = json_integer_value(json_object_get(j, "id"));
	long long seq = json_integer_value(json_object_get(j, "last_seq"));
	int live = strcmp(state, "pending") == 0 || strcmp(state, "running") == 0;
	char title[64], attr[192];

	snprintf(title, sizeof(title), "Job %lld", id);
	/* the token is hex: nothing to escape */
	snprintf(attr, sizeof(attr), " data-job=\"%lld\" data-seq=\"%lld\" "
	    "data-csrf=\"%s\"", id, seq, r->u.csrf);
	buf_init(&b, 0);
	page_begin_attrs(&b, title, &r->u, attr);
	/* A meta refresh is scheduled as soon as it is parsed, so removing
	 * it from script is too late: inside <noscript> a browser that runs
	 * the live script never sees it. */
	buf_printf(&b, "<noscript>%s</noscript>",
	    live ? "<meta http-equiv=\"refresh\" content=\"5\">" : "");
	buf_printf(&b, "<h2 id=\"head\">Job %lld: <span id=\"state\" "
	    "data-state=\"", id);
	html_esc(&b, state);
	buf_addstr(&b, "\">");
	html_esc(&b, state);
	buf_addstr(&b, "</span></h2>\n<p class=\"src\">Source: ");
	html_esc(&b, job_source(j));
	buf_addstr(&b, "</p><p class=\"error\" id=\"error\">");
	html_esc(&b, jstr(j, "error"));
	buf_addstr(&b, "</p>\n");
	job_actions(&b, r, id, state, live);
	job_review(&b, j, state);
	job_overall(&b, j, state, live);
	buf_addstr(&b, "<h3>Progress</h3>");
	job_stages(&b, j);
	buf_addstr(&b, "<h3>Clips</h3><div class=\"clips\" id=\"clips\">");
	json_array_foreach(json_object_get(j, "clips"), i, o)
		clip_card(&b, o);
	buf_addstr(&b, "</div>\n<h3>Events</h3><ol id=\"events\">");
	json_array_foreach(json_object_get(j, "events"), i, o) {
		json_t *d = json_object_get(o, "data");
		buf_printf(&b, "<li value=\"%lld\">%lld ",
		    (long long)json_integer_value(json_object_get(o, "seq")),
		    (long long)json_integer_value(json_object_get(o, "seq")));
		html_esc(&b, jstr(o, "kind"));
		if (*jstr(o, "stage")) {
			buf_addstr(&b, " ");
			html_esc(&b, jstr(o, "stage"));
		}
		if (json_is_object(d) && *jstr(d, "msg")) {
			buf_addstr(&b, ": ");
			html_esc(&b, jstr(d, "msg"));
		}
		buf_addstr(&b, "</li>");
	}
	buf_addstr(&b, "</ol>\n");
	editor_template(&b);
	editor_script(&b);
	buf_addstr(&b, "<script>");
	buf_addstr(&b, status_js);
	buf_addstr(&b, "</script>\n");
	page_end(&b);
	*out = b;
}

void
page_job(struct req *r, json_t *j, const char *extra)
{
	struct buf b;

	page_job_build(r, j, &b);
	send_page_with(r, &b, 200, extra);
}

void
page_send_raw(struct req *r, const char *html, size_t len, const char *extra)
{
	send_html(r, 200, html, len, extra);
}
