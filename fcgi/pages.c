/*
 * HTML pages.  Every dynamic value goes through html_esc(); every form
 * that changes state carries the user's CSRF token.  The status page
 * works without JavaScript (it refreshes itself) and is live with it
 * (long-poll on /jobs/{id}/events, then a fresh GET of the job as JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "extern.h"

static const char css[] =
    "body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:60em;"
    "padding:1em;color:#222}header{display:flex;gap:1em;align-items:center;"
    "border-bottom:1px solid #ddd;margin-bottom:1em}header h1{font-size:1.3em;"
    "margin:.4em 0;flex:1}a{color:#05c}label{display:block;margin:.5em 0}"
    "fieldset{border:1px solid #ddd;margin:.8em 0;min-width:0}"
    "input{max-width:100%;box-sizing:border-box}.error{color:#b00}"
    ".bar{background:#eee;border-radius:4px;height:1em;min-width:16em;"
    "overflow:hidden}.bar>div{background:#3a7;height:100%}"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;"
    "padding:.25em .5em;border-bottom:1px solid #eee}"
    ".clips{display:flex;flex-wrap:wrap;gap:1em}.clip{border:1px solid #ddd;"
    "padding:.5em;width:16em}.clip video,.clip img{width:100%}"
    "#events{max-height:20em;overflow:auto;font:12px monospace}"
    "button{padding:.3em 1em}";

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
		buf_addstr(b, "<a href=\"/jobs\">My jobs</a><span>");
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

/* Send page B (freed) with the security policy and EXTRA header lines.
 * The page's appends are not checked one by one: a failure is sticky, so
 * a page that could not be built whole is caught here, and answered 500
 * rather than sent cut short. */
static void
send_page_with(struct req *r, struct buf *b, int status, const char *extra)
{
	char hdr[1024];

	if (buf_failed(b)) {
		buf_free(b);
		log_ev(LOG_ERROR, "page_incomplete", "{ss}", "path", r->path);
		respond_error(r, 500, NULL, NULL, "Something went wrong on our "
		    "side; it has been logged.");
		return;
	}
	snprintf(hdr, sizeof(hdr), "%s%s", CSP, extra ? extra : "");
	respond(r, status, "text/html; charset=utf-8", hdr, b->data, b->len);
	buf_free(b);
}

static void
send_page(struct req *r, struct buf *b, int status)
{
	send_page_with(r, b, status, NULL);
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

static void
csrf_input(struct buf *b, const struct user *u)
{
	buf_addstr(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	html_esc(b, u->csrf);
	buf_addstr(b, "\">");
}

/* A select for job field NAME (lib/jobspec.c): one option per word of
 * the table, its default selected. */
static void
field_select(struct buf *b, const char *name)
{
	const struct jobfield *f = jobspec_field(name);
	size_t i;

	if (f == NULL || f->words == NULL)
		return;
	buf_addstr(b, "<select name=\"");
	html_esc(b, f->name);
	buf_addstr(b, "\">");
	for (i = 0; f->words[i] != NULL; i++) {
		buf_addstr(b, "<option value=\"");
		html_esc(b, f->words[i]);
		buf_addstr(b, strcmp(f->words[i], f->def) == 0 ?
		    "\" selected>" : "\">");
		html_esc(b, f->words[i]);
		buf_addstr(b, "</option>");
	}
	buf_addstr(b, "</select>");
}

void
page_form(struct req *r)
{
	const struct backends *be = backends_conf();
	struct buf b;

	if (r->json) {
		respond_json(r, 200, json_pack("{sssIsIsIsbsb}", "user",
		    r->u.name, "clips_default", (json_int_t)cfg.clips_default,
		    "clip_min", (json_int_t)cfg.clip_min,
		    "upload_max_mb", (json_int_t)cfg.upload_max_mb,
		    "openai", be->openai > 0, "llm", be->llm > 0), NULL);
		return;
	}
	buf_init(&b, 0);
	page_begin(&b, "New job", &r->u);
	buf_addstr(&b, "<h2>Make clips from a video</h2>\n"
	    "<form method=\"post\" action=\"/jobs\" "
	    "enctype=\"multipart/form-data\" id=\"submit-form\">");
	csrf_input(&b, &r->u);
	buf_printf(&b, "<fieldset><legend>Source</legend>"
	    "<label>Video address (YouTube or any page yt-dlp knows, or a "
	    "direct media link) <input type=\"url\" name=\"url\" size=\"60\" "
	    "id=\"url\"></label><label>or upload a file (at most %lld MB) "
	    "<input type=\"file\" name=\"file\" id=\"file\" "
	    "accept=\"video/*,audio/*\"></label></fieldset>",
	    cfg.upload_max_mb);
	buf_printf(&b, "<fieldset><legend>Clips</legend>"
	    "<label>Number of clips <input type=\"number\" name=\"clips\" "
	    "min=\"1\" max=\"%d\" value=\"%lld\"></label>"
	    "<label>Length from <input type=\"number\" name=\"min_len\" "
	    "min=\"1\" max=\"%d\" value=\"%lld\"> to <input type=\"number\" "
	    "name=\"max_len\" min=\"1\" max=\"%d\" value=\"%lld\"> "
	    "seconds</label>"
	    "<label><input type=\"checkbox\" name=\"aspects\" value=\"9:16\" "
	    "checked> 9:16 (vertical)</label>"
	    "<label><input type=\"checkbox\" name=\"aspects\" value=\"1:1\"> "
	    "1:1 (square)</label>"
	    "<label><input type=\"checkbox\" name=\"aspects\" value=\"4:5\"> "
	    "4:5 (portrait)</label></fieldset>",
	    JOBSPEC_CLIPS_MAX, cfg.clips_default, JOBSPEC_LEN_MAX, cfg.clip_min,
	    JOBSPEC_LEN_MAX, cfg.clip_max);
	buf_addstr(&b, "<fieldset><legend>Captions</legend>"
	    "<input type=\"hidden\" name=\"captions\" value=\"off\">"
	    "<label><input type=\"checkbox\" name=\"captions\" value=\"on\" "
	    "checked> Burn in word-by-word captions</label>"
	    "<label>Style ");
	field_select(&b, "caption_style");
	buf_addstr(&b, "</label></fieldset>");
	buf_addstr(&b, "<fieldset><legend>Framing</legend><label>Layout ");
	field_select(&b, "layout");
	buf_addstr(&b, "</label></fieldset>");
	buf_addstr(&b, "<fieldset><legend>Backends</legend>"
	    "<label>Transcription <select name=\"transcribe_backend\">");
	buf_printf(&b, "<option value=\"pocketsphinx\"%s>pocketsphinx "
	    "(offline)</option>", be->openai == 2 ? "" : " selected");
	if (be->openai)
		buf_printf(&b, "<option value=\"openai\"%s>OpenAI-compatible "
		    "API</option>", be->openai == 2 ? " selected" : "");
	buf_addstr(&b, "</select></label><label>Choosing clips "
	    "<select name=\"select_backend\">");
	buf_printf(&b, "<option value=\"heuristic\"%s>heuristic</option>",
	    be->llm == 2 ? "" : " selected");
	if (be->llm)
		buf_printf(&b, "<option value=\"llm\"%s>language model</option>",
		    be->llm == 2 ? " selected" : "");
	buf_addstr(&b, "</select></label><label>Language <input name=\"language\" "
	    "value=\"en\" size=\"3\" maxlength=\"3\" pattern=\"[a-z]{2,3}\">"
	    "</label></fieldset>");
	if (be->test_stages)
		buf_addstr(&b, "<label>First stage (test hook) <input "
		    "name=\"first_stage\" id=\"first_stage\"></label>");
	buf_addstr(&b, "<button type=\"submit\" id=\"submit\">Make clips"
	    "</button></form>\n");
	page_end(&b);
	send_page(r, &b, 200);
}

void
page_jobs(struct req *r, PGresult *res, long long page, int more)
{
	struct buf b;
	int i, n = PQntuples(res);

	if (n > 20)
		n = 20;
	buf_init(&b, 0);
	page_begin(&b, "My jobs", &r->u);
	buf_addstr(&b, "<h2>My jobs</h2>\n<table><tr><th>Job</th><th>State</th>"
	    "<th>Source</th><th>Clips</th><th>Submitted (UTC)</th></tr>\n");
	for (i = 0; i < n; i++) {
		buf_printf(&b, "<tr><td><a href=\"/jobs/%s\">#%s</a></td><td>",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 0));
		html_esc(&b, PQgetvalue(res, i, 1));
		buf_addstr(&b, "</td><td>");
		html_esc(&b, PQgetvalue(res, i, 3));
		buf_printf(&b, "</td><td>%s</td><td>", PQgetvalue(res, i, 5));
		html_esc(&b, PQgetvalue(res, i, 4));
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

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* The live part of the status page: the same code renders it on the
 * server (first paint, no JavaScript) and in the browser after each
 * event, from the job's JSON. */
static const char status_js[] =
    "(function(){\n"
    "var id=document.body.dataset.job,after=+document.body.dataset.seq;\n"
    "var ended={done:1,partial:1,failed:1,cancelled:1};\n"
    "function esc(s){return String(s==null?'':s).replace(/[&<>\"']/g,"
    "function(c){return '&#'+c.charCodeAt(0)+';';});}\n"
    "function render(j){\n"
    " document.getElementById('state').textContent=j.state;\n"
    " document.getElementById('state').dataset.state=j.state;\n"
    " var s='';j.stages.forEach(function(st){s+='<tr><td>'+esc(st.stage)+"
    "'</td><td><div class=\"bar\" data-stage=\"'+esc(st.stage)+'\" "
    "data-pct=\"'+st.pct+'\"><div style=\"width:'+st.pct+'%\"></div></div>"
    "</td><td>'+st.pct+'% '+esc(st.message||'')+'</td></tr>';});\n"
    " document.getElementById('stages').innerHTML=s;\n"
    " var c='';j.clips.forEach(function(cl){c+='<div class=\"clip\">'+"
    "(cl.video?'<video controls preload=\"none\" src=\"'+esc(cl.video)+'\" "
    "poster=\"'+esc(cl.thumbnail||'')+'\"></video>':'')+'<b>'+"
    "esc(cl.title||('Clip '+cl.rank))+'</b><br>'+esc(cl.aspect)+' &middot; '+"
    "esc(cl.state)+(cl.score!=null?' &middot; score '+(+cl.score).toFixed(2)"
    ":'')+'<br><small>'+esc(cl.reason||'')+'</small>'+(cl.video?'<br><a "
    "href=\"'+esc(cl.video)+'\" download>Download</a>':'')+'</div>';});\n"
    " document.getElementById('clips').innerHTML=c;\n"
    " document.getElementById('error').textContent=j.error||'';\n"
    " if(ended[j.state]){var c=document.getElementById('cancel');"
    "if(c)c.parentNode.remove();}\n"
    "}\n"
    "function addEvents(evs){var ul=document.getElementById('events');"
    "evs.forEach(function(e){var li=document.createElement('li');"
    "li.textContent=e.seq+' '+e.kind+(e.stage?' '+e.stage:'')+"
    "(e.data&&e.data.msg?': '+e.data.msg:'')+(e.data&&e.data.pct!=null?"
    "' '+e.data.pct+'%':'');ul.appendChild(li);});}\n"
    "function refresh(){return fetch('/jobs/'+id,{headers:{Accept:"
    "'application/json'},credentials:'same-origin'}).then(function(r){"
    "return r.json();}).then(render);}\n"
    "function poll(){fetch('/jobs/'+id+'/events?after='+after+'&timeout=25',"
    "{headers:{Accept:'application/json'},credentials:'same-origin'})"
    ".then(function(r){if(!r.ok)throw r.status;return r.json();})"
    ".then(function(j){if(j.events.length){addEvents(j.events);"
    "after=j.next;return refresh().then(function(){return j;});}return j;})"
    ".then(function(j){if(!(j.state&&ended[j.state]&&!j.events.length))"
    "poll();else refresh();})"
    ".catch(function(){setTimeout(poll,2000);});}\n"
    /* an ended job has nothing more to say: no polling; a poll that
     * learns the job has ended (its answer's state) is the last one */
    "if(!ended[document.getElementById('state').dataset.state])poll();\n"
    "})();\n";

void
page_job(struct req *r, json_t *j)
{
	struct buf b;
	json_t *v, *o;
	size_t i;
	const char *state = jstr(j, "state");
	long long id = json_integer_value(json_object_get(j, "id"));
	long long seq = json_integer_value(json_object_get(j, "last_seq"));
	int live = strcmp(state, "pending") == 0 || strcmp(state, "running") == 0;
	char title[64];

	snprintf(title, sizeof(title), "Job %lld", id);
	buf_init(&b, 0);
	{
		char attr[96];
		snprintf(attr, sizeof(attr), " data-job=\"%lld\" data-seq=\"%lld\"",
		    id, seq);
		page_begin_attrs(&b, title, &r->u, attr);
	}
	/* A meta refresh is scheduled as soon as it is parsed, so removing
	 * it from script is too late: inside <noscript> a browser that runs
	 * the live script never sees it. */
	buf_printf(&b, "<noscript>%s</noscript>",
	    live ? "<meta http-equiv=\"refresh\" content=\"5\">" : "");
	buf_printf(&b, "<h2>Job %lld: <span id=\"state\" data-state=\"", id);
	html_esc(&b, state);
	buf_addstr(&b, "\">");
	html_esc(&b, state);
	buf_addstr(&b, "</span></h2>\n<p>Source: ");
	html_esc(&b, strcmp(jstr(j, "source_kind"), "url") == 0 ?
	    jstr(j, "source_url") : "uploaded file");
	buf_addstr(&b, "</p><p class=\"error\" id=\"error\">");
	html_esc(&b, jstr(j, "error"));
	buf_addstr(&b, "</p>\n");
	if (live) {
		buf_printf(&b, "<form method=\"post\" action=\"/jobs/%lld/cancel\">",
		    id);
		csrf_input(&b, &r->u);
		buf_addstr(&b, "<button id=\"cancel\">Cancel</button></form>\n");
	} else if (strcmp(state, "done") != 0) {
		buf_printf(&b, "<form method=\"post\" action=\"/jobs/%lld/retry\">",
		    id);
		csrf_input(&b, &r->u);
		buf_addstr(&b, "<button id=\"retry\">Retry</button></form>\n");
	}
	buf_addstr(&b, "<h3>Progress</h3><table id=\"stages\">");
	json_array_foreach(json_object_get(j, "stages"), i, o) {
		long long pct = json_integer_value(json_object_get(o, "pct"));
		buf_addstr(&b, "<tr><td>");
		html_esc(&b, jstr(o, "stage"));
		buf_addstr(&b, "</td><td><div class=\"bar\" data-stage=\"");
		html_esc(&b, jstr(o, "stage"));
		buf_printf(&b, "\" data-pct=\"%lld\"><div style=\"width:%lld%%\">"
		    "</div></div></td><td>%lld%% ", pct, pct, pct);
		html_esc(&b, jstr(o, "message"));
		buf_addstr(&b, "</td></tr>");
	}
	buf_addstr(&b, "</table>\n<h3>Clips</h3><div class=\"clips\" id=\"clips\">");
	json_array_foreach(json_object_get(j, "clips"), i, o) {
		const char *video = jstr(o, "video"), *thumb = jstr(o, "thumbnail");
		buf_addstr(&b, "<div class=\"clip\">");
		if (*video) {
			buf_addstr(&b, "<video controls preload=\"none\" src=\"");
			html_esc(&b, video);
			buf_addstr(&b, "\" poster=\"");
			html_esc(&b, thumb);
			buf_addstr(&b, "\"></video>");
		}
		buf_addstr(&b, "<b>");
		html_esc(&b, *jstr(o, "title") ? jstr(o, "title") : "Clip");
		buf_addstr(&b, "</b><br>");
		html_esc(&b, jstr(o, "aspect"));
		buf_addstr(&b, " &middot; ");
		html_esc(&b, jstr(o, "state"));
		if ((v = json_object_get(o, "score")) != NULL && json_is_number(v))
			buf_printf(&b, " &middot; score %.2f", json_number_value(v));
		buf_addstr(&b, "<br><small>");
		html_esc(&b, jstr(o, "reason"));
		buf_addstr(&b, "</small>");
		if (*video) {
			buf_addstr(&b, "<br><a href=\"");
			html_esc(&b, video);
			buf_addstr(&b, "\" download>Download</a>");
		}
		buf_addstr(&b, "</div>");
	}
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
	buf_addstr(&b, "</ol>\n<script>");
	buf_addstr(&b, status_js);
	buf_addstr(&b, "</script>\n");
	page_end(&b);
	send_page(r, &b, 200);
}
