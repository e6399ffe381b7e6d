/*
 * clipmill.fcgi: the web front.  One multi-threaded libfcgi process; every
 * file here is one role:
 *   main.c      process, sockets, threads, shutdown, routing, counters
 *   parse.c     bounded parsers: query/urlencoded, cookies, multipart, paths
 *   validate.c  job submissions through the table of lib/jobspec.c
 *   http.c      request accessors and responses (HTML or JSON, errors)
 *   auth.c      API keys, sessions (lib/session.c), REMOTE_USER, CSRF,
 *               the secret directory
 *   authcache.c those lookups kept for auth_cache_ttl, forgotten at once
 *               on a NOTIFY on CHAN_AUTH (LISTEN thread)
 *   jobs.c      job routes: submit, list, status, cancel, retry, clips
 *   jobcache.c  job documents kept per process, by job, user and tag
 *   longpoll.c  the listener thread that holds waiting long-poll requests
 *   pages.c     HTML
 *   editor.c    the job page's clip editor (editor.js, built in)
 *   metrics.c   /healthz and /metrics
 *   account.c   the user's own settings: /account/webhook
 *   review.c    editing clips and rendering the chosen ones (review)
 * parse.c and validate.c use neither libfcgi nor the database: the unit
 * tests (tests/unit/web_*.c) link them from build/libfcgi_front.a and see
 * only the part of this header above WEB_PARSERS_ONLY.
 */
#ifndef CLIPMILL_FCGI_EXTERN_H
#define CLIPMILL_FCGI_EXTERN_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "jobspec.h"
#include "util.h"

/* ---- parse.c: bounded parsers, no I/O ---- */

#define FORM_MAX_FIELDS	64
#define FORM_MAX_VALUE	8192
#define FORM_MAX_BODY	65536	/* urlencoded and JSON bodies */

struct kv {
	char	*key;
	char	*val;
};

/* Decoded fields of a query string, urlencoded body, JSON body or the
 * non-file parts of a multipart body.  Keys may repeat (aspects). */
struct form {
	struct kv	 f[FORM_MAX_FIELDS];
	size_t		 n;
};

void	form_free(struct form *);
/* Add a copy of KEY and VAL (VAL of VLEN bytes); 0 or -1 with ERR. */
int	form_add(struct form *, const char *key, const char *val, size_t vlen,
	    char *err, size_t errlen);
/* The first value of KEY, or NULL. */
const char *form_get(const struct form *, const char *key);
/* The number of values KEY has. */
size_t	form_count(const struct form *, const char *key);

/* The value of hex digit C, or -1. */
int	hexval(int c);
/* Percent-decode S (N bytes) into OUT (at least N+1 bytes), '+' as space
 * when PLUS; returns the decoded length or -1 on a bad escape. */
long	url_decode(const char *s, size_t n, char *out, int plus);
/* Parse "a=b&c=d" (query string or urlencoded body) into F; 0 or -1 with
 * a sentence in ERR naming the field. */
int	parse_urlencoded(const char *s, size_t n, struct form *f, char *err,
	    size_t errlen);
/* Parse a JSON object body into F: strings as is, numbers in decimal,
 * booleans as "true"/"false", arrays of strings as repeated keys.  0 or
 * -1 with a sentence in ERR (a syntax error names line and column). */
int	parse_json_body(const char *s, size_t n, struct form *f, char *err,
	    size_t errlen);
/* Copy cookie NAME's value out of a Cookie header into OUT; 0 when found,
 * -1 when absent or too long. */
int	cookie_get(const char *header, const char *name, char *out, size_t outlen);
/* The boundary parameter of a multipart/form-data Content-Type into OUT;
 * 0 or -1 with ERR. */
int	multipart_boundary(const char *ctype, char *out, size_t outlen,
	    char *err, size_t errlen);
/* 1 when the If-None-Match value HEADER names entity tag ETAG (weak
 * comparison: W/ is ignored on both sides) or is "*"; 0 otherwise,
 * also for a malformed HEADER or a NULL. */
int	etag_match(const char *header, const char *etag);
/* "/jobs/42/events" against "/jobs/%/events": 1 and *ID on a match. */
int	path_match(const char *path, const char *pattern, long long *id);

/*
 * A streaming multipart/form-data parser: feed it the body in pieces of
 * any size; file parts go to the on_file callback as they arrive (never
 * whole in memory), other parts are collected into a struct form.
 */
struct mp_part {
	char	 name[64];
	char	 filename[256];
	char	 ctype[128];
	int	 is_file;		/* a filename parameter was present */
};

struct multipart {
	/* set by the caller */
	struct form	*form;
	void		*arg;
	/* called for each piece of a file part's body (0, or -1 to stop
	 * with the callback's own sentence in err) and once at its start
	 * with n == 0 and data == NULL */
	int		(*on_file)(void *arg, const struct mp_part *,
			    const char *data, size_t n, char *err, size_t errlen);
	/* private */
	int		 state;
	char		 delim[80];	/* "\r\n--" boundary */
	size_t		 dlen, match;
	struct buf	 hdr;		/* the current part's header block */
	struct buf	 val;		/* the current non-file part's value */
	struct mp_part	 part;
	size_t		 nparts;
};

/* 0 or -1 with ERR when the boundary is unusable. */
int	mp_init(struct multipart *, const char *boundary, struct form *,
	    char *err, size_t errlen);
/* Feed N bytes; 0, or -1 with ERR (a sentence naming the problem). */
int	mp_feed(struct multipart *, const char *data, size_t n, char *err,
	    size_t errlen);
/* At the end of the body: 0 when the closing boundary was seen. */
int	mp_finish(struct multipart *, char *err, size_t errlen);
void	mp_free(struct multipart *);

/* ---- validate.c: job submissions through the table of lib/jobspec.c ---- */

/* Check every field of F against the job specification (unknown fields
 * are refused too); HAVE_FILE says a file part came with the request,
 * which then replaces "url".  0 and a filled JS, or -1 with FIELD naming
 * the first bad field and ERR saying what is wrong with it. */
int	validate_job(const struct form *f, int have_file,
	    const struct backends *, struct jobspec *js, char *field,
	    size_t fieldlen, char *err, size_t errlen);

/* ---- review.c: the body of PATCH /clips/{id} ---- */

#define TITLE_MAX	100	/* characters of a title */

struct transcript;

/* The clip as it is, and then as the edit leaves it. */
struct clipedit {
	long long	 id, job;
	char		 state[16], job_state[24];
	double		 start, end, duration;	/* duration 0: unknown */
	char		 aspect[8], layout[8], style[16];	/* "" none */
	char		 title[TITLE_MAX * 4 + 1];
	json_t		*edits;		/* owned */
	json_t		*fields;	/* names changed, owned */
	const struct transcript *t;	/* NULL: none */
	const struct backends *be;	/* what the server offers */
};

/* The body of a review route, LEN bytes of DATA sent as CTYPE (JSON, or
 * urlencoded as a browser form sends it), as a JSON object into *OUT (new
 * reference) and its CSRF token into F.  Form fields: word.<i>=text
 * (empty: drop the correction), removed=<i> repeated (removed= alone
 * empties the set), clip=<id> repeated.  0, or -1 with a sentence in ERR
 * (*OUT NULL). */
int	review_body(const char *ctype, const char *data, size_t len,
	    json_t **out, struct form *f, char *err, size_t errlen);
/* Every field of BODY into CE (bounds snapped to CE's transcript and
 * checked, words and removed indices inside the clip, the enumerated
 * fields, the title); the names changed are appended to CE->fields.  0,
 * or -1 with FIELD naming the refused field and a sentence in ERR. */
int	review_edit(json_t *body, struct clipedit *ce, char *field,
	    size_t fieldlen, char *err, size_t errlen);

#endif

/* ---- the fcgi process (everything below uses libfcgi) ---- */
#ifndef WEB_PARSERS_ONLY
#include <stdatomic.h>
#include <fcgiapp.h>
#include <libpq-fe.h>

struct store;

enum auth_via { AUTH_NONE, AUTH_BEARER, AUTH_SESSION, AUTH_REMOTE };

struct user {
	long long	 id;		/* 0: nobody */
	char		 name[65];
	enum auth_via	 via;
	char		 csrf[65];	/* the token its forms must carry */
};

/* One request thread. */
struct worker {
	int		 n;
	PGconn		*db;		/* lazy; reopened after loss */
	struct store	*store;
};

struct req {
	FCGX_Request	*fr;
	struct worker	*w;
	const char	*method;
	char		 path[512];	/* REQUEST_URI up to '?' */
	const char	*query;
	int		 json;		/* answer in JSON */
	struct user	 u;
	int		 status;	/* what was answered, for counters */
	const char	*route;		/* a fixed name, for counters */
	int		 parked;	/* handed to the long-poll listener */
	int		 body_read;	/* stdin drained */
	/* While a browser's submit is read: a refused one (4xx but 401 and
	 * 403) is answered with the form again, filled with these values,
	 * the message beside its field. */
	const struct form *refill;
};

/* main.c */
/* Set once by the main thread when a signal asks the process to stop;
 * read by every request thread. */
extern atomic_int shutting_down;
/* The thread's database connection, connected and schema-checked, or
 * NULL after answering 503 (PostgreSQL is down). */
PGconn	*req_db(struct req *);
/* After a failed query: 503 when the connection was lost (it is then
 * closed: the caller must not use its PGconn again) or the statement
 * timed out, else 500. */
void	db_fail(struct req *, const char *err);
void	count_request(const char *route, int status);
size_t	format_http_counters(struct buf *);
extern const struct backends *backends_conf(void);

/* http.c */
const char *param(struct req *, const char *name);
/* Read the whole body (at most MAX bytes) into B; 0, or -1 after
 * answering 413/400. */
int	read_body(struct req *, struct buf *b, size_t max);
/* Read and discard what is left of the body. */
void	drain_body(struct req *);
void	respond(struct req *, int status, const char *ctype,
	    const char *extra_headers, const char *body, size_t len);
/* JSON answer: steals J. */
void	respond_json(struct req *, int status, json_t *j,
	    const char *extra_headers);
/* An error in the form asked for: FIELD may be NULL. */
void	respond_error(struct req *, int status, const char *field,
	    const char *extra_headers, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
void	redirect(struct req *, const char *location, const char *extra);
const char *status_text(int);
/* HTML-escape S onto B. */
int	html_esc(struct buf *b, const char *s);

/* auth.c */
int	auth_init(char *err, size_t errlen);
/* Identify the user (key, session, REMOTE_USER); 0 when known, 1 when
 * not (nothing answered), -1 after answering (503). */
int	auth_user(struct req *);
/* 0, or -1 after saying why on stderr and in the log: trust_remote_user
 * on a TCP listener FD without trust_remote_user_tcp. */
int	auth_listener_check(int fd);
/* Answer 401 (JSON) or send a browser to the login page. */
void	auth_required(struct req *);
/* 0 when the form's token matches, else answers 403 and returns -1.
 * Requests authenticated by a key need none. */
int	csrf_check(struct req *, const struct form *);
void	route_login_get(struct req *);
void	route_login_post(struct req *);
void	route_logout(struct req *);

/* authcache.c: KIND is 'k' (key hash), 's' (session id hash) or 'r'
 * (REMOTE_USER name).  ac_get: 1 and *USER, NAME when ID is kept; else 0
 * and *GEN, which the caller passes to ac_put() after asking PostgreSQL
 * (0 when nothing may be kept now). */
int	ac_get(int kind, const char *id, long long *user, char *name,
	    size_t namelen, unsigned long *gen);
/* Keep USER and NAME for ID for at most LIVE_S seconds (and at most
 * auth_cache_ttl), unless something was dropped since GEN was read. */
void	ac_put(int kind, const char *id, long long user, const char *name,
	    long long live_s, unsigned long gen);
/* Forget USER's lookups in this process now (the NOTIFY tells the
 * others). */
void	ac_forget(long long user);
/* The listener (longpoll.c) LISTENs on CHAN_AUTH (LIVE 1: everything
 * kept from before is dropped, as what changed while nobody listened is
 * unknown) or has stopped (0: nothing is kept). */
void	ac_listening(int live);

/* jobcache.c: what GET /jobs/ID and GET /jobs answer, kept per process.
 * JOB's tag and elapsed seconds as USER last read them, when the count
 * GEN (lp_gen(), read before that look) has not moved since: 1; else 0. */
#define JOB_TAG_LEN	64
int	jc_tag(long long job, long long user, unsigned long gen,
	    char tag[JOB_TAG_LEN + 1], long long *elapsed);
/* Keep TAG as JOB's for USER while GEN stays (0: not kept); SECS: its
 * elapsed seconds now, which stop moving when FINISHED. */
void	jc_tag_put(long long job, long long user, unsigned long gen,
	    const char *tag, double secs, int finished);
/* The kept document of JOB built for USER at TAG and ELAPSED seconds (a
 * copy the caller frees, *LEN its length), or NULL; with KEY, its page
 * as KEY saw it. */
char	*jc_get(long long job, long long user, const char *tag,
	    long long elapsed, const char *key, size_t *len);
/* Keep BODY (LEN bytes, copied) as that document or page, replacing its
 * slot's. */
void	jc_put(long long job, long long user, const char *tag,
	    long long elapsed, const char *key, const char *body, size_t len);
/* Page PAGE of USER's job list (a JSON array, a copy the caller frees;
 * *MORE: whether an older page follows) kept while the count GEN
 * (lp_user_gen(), read before the query) stays, or NULL. */
char	*lc_get(long long user, long long page, unsigned long gen, int *more);
void	lc_put(long long user, long long page, unsigned long gen,
	    const char *rows, int more);

/* jobs.c */
/* 0 when a user with ACTIVE unfinished jobs may have one more; else
 * answers 429 (user_max_jobs) and returns -1. */
int	user_jobs_full(struct req *, long long active);
/* The user's submission lock, to the end of C's transaction: submissions,
 * retries and renders that reopen a job check the limits under it.  0, or
 * -1 after answering. */
int	user_xact_lock(struct req *, PGconn *c);
/*
 * A clip as GET /jobs/{id} lists it (and PATCH /clips/{id} answers it):
 * the SQL of one JSON object over the row c of clips and j of its job.
 * layout and caption_style are the effective ones (the job's option when
 * the clip has none); video and thumbnail stay while a published file is
 * kept, also while a new render of the clip is made.
 */
#define CLIP_JSON_SQL \
	"json_build_object(" \
	"   'id', c.id, 'rank', c.rank, 'aspect', c.aspect," \
	"   'start', c.start_s, 'end', c.end_s, 'score', c.score," \
	"   'title', c.title, 'reason', c.reason, 'state', c.state," \
	"   'width', c.width, 'height', c.height," \
	"   'quality', c.quality, 'score_parts', c.score_parts," \
	/* a clip waiting for its render, or being rendered: the task \
	 * of its clip, or the one that makes it among other aspects */ \
	"   'render', (SELECT json_build_object('state', t.state," \
	"     'pct', t.progress) FROM tasks t WHERE t.job_id = c.job_id" \
	"     AND t.stage = 'render' AND (t.clip_id = c.id OR" \
	"     t.payload->'outputs' @> jsonb_build_array(" \
	"     jsonb_build_object('clip_id', c.id)))" \
	"     ORDER BY t.id DESC LIMIT 1)," \
	"   'duration', c.duration_s, 'error', c.error," \
	"   'edits', c.edits," \
	"   'layout', coalesce(c.layout, j.options->>'layout', 'auto')," \
	"   'caption_style', coalesce(c.caption_style," \
	"     j.options->>'caption_style', 'bold')," \
	"   'video', CASE WHEN c.video_key IS NOT NULL AND" \
	"     (c.state = 'ready' OR c.ready_at IS NOT NULL)" \
	"     THEN '/clips/' || c.id || '/video' END," \
	"   'thumbnail', CASE WHEN c.thumb_key IS NOT NULL AND" \
	"     (c.state = 'ready' OR c.ready_at IS NOT NULL)" \
	"     THEN '/clips/' || c.id || '/thumbnail' END)"
void	route_submit(struct req *);
void	route_jobs(struct req *);
void	route_job(struct req *, long long id);
void	route_cancel(struct req *, long long id);
void	route_retry(struct req *, long long id);
void	route_events(struct req *, long long id);
void	route_clip_file(struct req *, long long id, int thumb);
void	route_clip_subtitles(struct req *, long long id, int vtt);
void	route_transcript(struct req *, long long id);
struct transcript;
/* Job JOB's transcript into T (transcript_free() it); 0, 1 when the job
 * has none yet, -1 after answering (503). */
int	load_transcript(struct req *, long long job, struct transcript *t);

/* review.c: editing clips and choosing which to render (issue 13) */
void	route_clip_patch(struct req *, long long id);
void	route_clip_render(struct req *, long long id);
void	route_job_render(struct req *, long long id);

/* longpoll.c */
int	lp_start(char *err, size_t errlen);
void	lp_stop(void);
/* Hand a request over to the listener; it answers later (STATE, the
 * job's state now, goes into a timeout's answer).  0; LP_USER_FULL or
 * LP_ALL_FULL when the user's or everyone's waiters are at their cap
 * (user_max_longpolls, longpoll_max_waiters); -1 when the listener cannot
 * take it.  GEN: lp_gen() from before the caller's look at the events.
 * The caller answers all but 0. */
#define LP_USER_FULL	1
#define LP_ALL_FULL	2
int	lp_park(struct req *, long long job, long long user, long long after,
	    long long timeout_ms, const char *state, unsigned long gen);
/* The count of NOTIFYs for JOB's bucket, read before looking at its
 * events and passed to lp_park(): 0 when the listener is not listening. */
unsigned long lp_gen(long long job);
/* lp_gen() for the kept job documents: also 0 while a NOTIFY waits on the
 * listener's connection, not yet counted. */
unsigned long lp_doc_gen(long long job);
/* The same for USER's job list (NOTIFYs on CHAN_USER_JOBS). */
unsigned long lp_user_gen(long long user);
/* A change this process just made to JOB (and USER's list; 0: none):
 * what it kept of them is stale now, before the NOTIFY comes back. */
void	lp_touch(long long job, long long user);
/* 1 when a job in STATE has ended: no more events will come. */
int	lp_job_ended(const char *state);
size_t	lp_waiting(void);
/* The events answer body {"events":[...],"next":N,"state":S}, from rows
 * of (json text, seq); new string (caller frees). */
char	*lp_body(PGresult *r, long long after, const char *state);
PGresult *lp_query(PGconn *c, long long job, long long user, long long after,
	    char *err, size_t errlen);

/* editor.c: the clip editor's script, built in */
uint32_t text_hash(const char *s, size_t len);
void	editor_script(struct buf *);
void	editor_template(struct buf *);
void	route_editor_js(struct req *);

/* pages.c */
void	page_begin(struct buf *, const char *title, const struct user *);
void	page_end(struct buf *);
/* Send page B (freed) with the security policy and EXTRA header lines
 * (may be NULL); a page that could not be built whole is answered 500. */
void	page_send(struct req *, struct buf *, int status, const char *extra);
/* The hidden field carrying U's CSRF token, for a form that changes state. */
void	csrf_input(struct buf *, const struct user *);
void	page_form(struct req *);
/* The form again after a refused submit (r->refill): STATUS, the message
 * MSG beside FIELD (may be NULL), EXTRA header lines (may be NULL). */
void	page_form_again(struct req *, int status, const char *field,
	    const char *msg, const char *extra);
void	page_login(struct req *, const char *msg);
/* The login form's CSRF nonce (from the cookie, or new: *FRESH) and token;
 * 0 or -1.  login_cookie: the Set-Cookie line for a fresh nonce. */
int	login_token(struct req *, char nonce[33], char token[65], int *fresh);
void	login_cookie(struct req *, const char *nonce, char *out,
	    size_t len);
void	page_jobs(struct req *, json_t *rows, long long page, int more);
/* Job J's page, with EXTRA header lines (may be NULL). */
void	page_job(struct req *, json_t *job, const char *extra);
/* The job's page into B (page_job() without sending it). */
void	page_job_build(struct req *, json_t *job, struct buf *b);
/* Send the page HTML (LEN bytes) as page_send() would. */
void	page_send_raw(struct req *, const char *html, size_t len,
	    const char *extra);

/* account.c: GET, PUT {"url"} (answers the new secret once), DELETE */
void	route_account(struct req *);
void	route_account_webhook(struct req *);

/* openapi.c: the OpenAPI document compiled in (fcgi/openapi.json) */
void	route_openapi(struct req *);

/* metrics.c */
void	route_healthz(struct req *);
void	route_metrics(struct req *);
#endif
