/*
 * clipmill.fcgi: the FastCGI web front.
 *
 *   clipmill.fcgi [-c config] [--listen unix:PATH|HOST:PORT]
 *
 * The listening socket: --listen, else the one systemd passes (socket
 * activation: LISTEN_PID is this process, LISTEN_FDS is 1, the socket is
 * fd 3), else the fcgi_listen setting, else fd 0 as spawn-fcgi and
 * mod_fcgid hand it over.  cfg.fcgi_threads
 * request threads share the socket; each has its own lazily opened
 * PostgreSQL connection.  SIGTERM or SIGINT: stop accepting, finish the
 * requests in flight, answer the parked long-polls, exit 0.
 *
 * libfcgi's own SIGTERM handling only takes effect at the next accepted
 * request, so the signals are blocked in every thread and taken by the
 * main thread with sigwait(); request threads wait in poll() on the
 * listening socket and a wake-up eventfd, and only call FCGX_Accept_r()
 * once a connection is ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "extern.h"

atomic_int shutting_down;

static int		 listen_fd;
static int		 wake_fd = -1;
static pthread_mutex_t	 accept_mu = PTHREAD_MUTEX_INITIALIZER;
static struct backends	 be;

const struct backends *
backends_conf(void)
{
	return &be;
}

/* ---- request counters for /metrics ---- */

#define NCOUNTERS 256
static struct {
	const char	*route;
	int		 status;
	unsigned long long n;
} counters[NCOUNTERS];
static pthread_mutex_t count_mu = PTHREAD_MUTEX_INITIALIZER;

void
count_request(const char *route, int status)
{
	size_t i;

	pthread_mutex_lock(&count_mu);
	for (i = 0; i < NCOUNTERS; i++) {
		if (counters[i].route == NULL) {
			counters[i].route = route;
			counters[i].status = status;
		}
		if (counters[i].route == route && counters[i].status == status) {
			counters[i].n++;
			break;
		}
	}
	pthread_mutex_unlock(&count_mu);
}

size_t
format_http_counters(struct buf *b)
{
	size_t i, n = 0;

	pthread_mutex_lock(&count_mu);
	for (i = 0; i < NCOUNTERS && counters[i].route != NULL; i++, n++)
		buf_printf(b, "clipmill_http_requests_total{route=\"%s\","
		    "status=\"%d\"} %llu\n", counters[i].route,
		    counters[i].status, counters[i].n);
	pthread_mutex_unlock(&count_mu);
	return n;
}

/* ---- the thread's database connection ---- */

PGconn *
req_db(struct req *r)
{
	struct worker *w = r->w;
	char err[512];

	/* A server restart leaves the socket at EOF; reading it now turns
	 * the connection bad instead of failing the request's first query. */
	if (w->db != NULL && (PQconsumeInput(w->db) == 0 ||
	    PQstatus(w->db) != CONNECTION_OK)) {
		PQfinish(w->db);
		w->db = NULL;
	}
	if (w->db == NULL) {
		if ((w->db = db_connect(err, sizeof(err))) == NULL) {
			log_ev(LOG_WARN, "db_down", "{siss}", "thread", w->n,
			    "error", err);
			respond_error(r, 503, NULL, "Retry-After: 5\r\n",
			    "The database is unavailable; try again in a few "
			    "seconds.");
			return NULL;
		}
		if (db_check_schema(w->db, err, sizeof(err)) == -1) {
			log_ev(LOG_ERROR, "db_schema", "{ss}", "error", err);
			PQfinish(w->db);
			w->db = NULL;
			respond_error(r, 503, NULL, "Retry-After: 30\r\n",
			    "The service is being upgraded; try again later.");
			return NULL;
		}
	}
	return w->db;
}

void
db_fail(struct req *r, const char *err)
{
	if (db_lost(r->w->db)) {
		PQfinish(r->w->db);
		r->w->db = NULL;
		log_ev(LOG_WARN, "db_lost", "{siss}", "thread", r->w->n,
		    "error", err);
		respond_error(r, 503, NULL, "Retry-After: 5\r\n",
		    "The database is unavailable; try again in a few seconds.");
		return;
	}
	if (db_timed_out(r->w->db)) {
		log_ev(LOG_WARN, "db_timeout", "{ssss}", "path", r->path,
		    "error", err);
		respond_error(r, 503, NULL, "Retry-After: 5\r\n",
		    "The database is busy; try again in a few seconds.");
		return;
	}
	log_ev(LOG_ERROR, "db_error", "{ssss}", "path", r->path, "error", err);
	respond_error(r, 500, NULL, NULL, "Something went wrong on our side; "
	    "it has been logged.");
}

/* ---- routing ---- */

static int
method_is(struct req *r, const char *m)
{
	return strcmp(r->method, m) == 0 ||
	    (strcmp(m, "GET") == 0 && strcmp(r->method, "HEAD") == 0);
}

static void
wrong_method(struct req *r, const char *allow)
{
	char h[64];

	snprintf(h, sizeof(h), "Allow: %s\r\n", allow);
	respond_error(r, 405, NULL, h, "This address does not take %s.",
	    r->method);
}

/* The routes open to everyone, GET (or HEAD) only: the editor's script
 * (fcgi/editor.c), the OpenAPI document (fcgi/openapi.c), /healthz and
 * /metrics (behind its own token), and the absent icon.  1 when R asks
 * for one of them, answered; else 0. */
static int
dispatch_static(struct req *r)
{
	if (strcmp(r->path, "/favicon.ico") == 0) {
		/* Browsers ask on every page: no icon, no login, asked once a
		 * day. */
		r->route = "favicon";
		respond(r, 204, NULL, "Cache-Control: public, max-age=86400\r\n",
		    "", 0);
		return 1;
	}
	if (strcmp(r->path, "/static/editor.js") == 0)
		r->route = "static";
	else if (strcmp(r->path, "/openapi.json") == 0)
		r->route = "openapi";
	else if (strcmp(r->path, "/healthz") == 0)
		r->route = "healthz";
	else if (strcmp(r->path, "/metrics") == 0)
		r->route = "metrics";
	else
		return 0;
	if (!method_is(r, "GET"))
		wrong_method(r, "GET");
	else if (strcmp(r->route, "static") == 0)
		route_editor_js(r);
	else if (strcmp(r->route, "openapi") == 0)
		route_openapi(r);
	else if (strcmp(r->route, "healthz") == 0)
		route_healthz(r);
	else
		route_metrics(r);
	return 1;
}

/* The routes of a clip's files (/clips/ID/...): 1 when R's path is one
 * of them, answered; else 0. */
static int
dispatch_clip(struct req *r)
{
	long long id;
	int thumb = 0, vtt = 0;

	if (path_match(r->path, "/clips/%/video", &id) ||
	    (thumb = path_match(r->path, "/clips/%/thumbnail", &id)))
		r->route = "clip_file";
	else if ((vtt = path_match(r->path, "/clips/%/subtitles.vtt", &id)) ||
	    path_match(r->path, "/clips/%/subtitles.srt", &id))
		r->route = "subtitles";
	else
		return 0;
	if (!method_is(r, "GET"))
		wrong_method(r, "GET");
	else if (strcmp(r->route, "subtitles") == 0)
		route_clip_subtitles(r, id, vtt);
	else
		route_clip_file(r, id, thumb);
	return 1;
}

/* The review routes (fcgi/review.c): 1 when R's path is one of them,
 * answered; else 0. */
static int
dispatch_review(struct req *r)
{
	long long id;

	if (path_match(r->path, "/clips/%/render", &id) ||
	    path_match(r->path, "/jobs/%/render", &id))
		r->route = strncmp(r->path, "/clips/", 7) == 0 ?
		    "clip_render" : "job_render";
	else if (path_match(r->path, "/clips/%", &id))
		r->route = "clip_patch";
	else
		return 0;
	if (strcmp(r->route, "clip_patch") == 0 && !method_is(r, "PATCH"))
		wrong_method(r, "PATCH");
	else if (strcmp(r->route, "clip_patch") == 0)
		route_clip_patch(r, id);
	else if (!method_is(r, "POST"))
		wrong_method(r, "POST");
	else if (strcmp(r->route, "clip_render") == 0)
		route_clip_render(r, id);
	else
		route_job_render(r, id);
	return 1;
}

static void
dispatch(struct req *r)
{
	long long id;
	int rc;

	/* Routes open to everyone. */
	if (dispatch_static(r))
		return;
	if (strcmp(r->path, "/login") == 0) {
		r->route = "login";
		if (method_is(r, "GET"))
			route_login_get(r);
		else if (method_is(r, "POST"))
			route_login_post(r);
		else
			wrong_method(r, "GET, POST");
		return;
	}

	if ((rc = auth_user(r)) == -1)
		return;
	if (rc == 1) {
		r->route = "unauthorized";
		auth_required(r);
		return;
	}

	if (strcmp(r->path, "/") == 0) {
		r->route = "form";
		if (method_is(r, "GET"))
			page_form(r);
		else
			wrong_method(r, "GET");
	} else if (strcmp(r->path, "/logout") == 0) {
		r->route = "logout";
		if (method_is(r, "POST"))
			route_logout(r);
		else
			wrong_method(r, "POST");
	} else if (strcmp(r->path, "/jobs") == 0) {
		r->route = "jobs";
		if (method_is(r, "POST")) {
			r->route = "submit";
			route_submit(r);
		} else if (method_is(r, "GET"))
			route_jobs(r);
		else
			wrong_method(r, "GET, POST");
	} else if (path_match(r->path, "/jobs/%", &id)) {
		r->route = "job";
		if (method_is(r, "GET"))
			route_job(r, id);
		else
			wrong_method(r, "GET");
	} else if (path_match(r->path, "/jobs/%/events", &id)) {
		r->route = "events";
		if (method_is(r, "GET"))
			route_events(r, id);
		else
			wrong_method(r, "GET");
	} else if (path_match(r->path, "/jobs/%/cancel", &id)) {
		r->route = "cancel";
		if (method_is(r, "POST"))
			route_cancel(r, id);
		else
			wrong_method(r, "POST");
	} else if (path_match(r->path, "/jobs/%/retry", &id)) {
		r->route = "retry";
		if (method_is(r, "POST"))
			route_retry(r, id);
		else
			wrong_method(r, "POST");
	} else if (strcmp(r->path, "/account") == 0) {
		r->route = "account";
		if (method_is(r, "GET"))
			route_account(r);
		else
			wrong_method(r, "GET");
	} else if (strcmp(r->path, "/account/webhook") == 0) {
		r->route = "account_webhook";
		if (method_is(r, "GET") || method_is(r, "PUT") ||
		    method_is(r, "DELETE") || method_is(r, "POST"))
			route_account_webhook(r);
		else
			wrong_method(r, "GET, POST, PUT, DELETE");
	} else if (path_match(r->path, "/jobs/%/transcript", &id)) {
		r->route = "transcript";
		if (method_is(r, "GET"))
			route_transcript(r, id);
		else
			wrong_method(r, "GET");
	} else if (!dispatch_clip(r) && !dispatch_review(r)) {
		r->route = "not_found";
		respond_error(r, 404, NULL, NULL, "There is nothing at %.200s.",
		    r->path);
	}
}

/* Fill R from the FastCGI parameters. */
static void
req_init(struct req *r, FCGX_Request *fr, struct worker *w)
{
	const char *uri, *accept, *q;
	size_t n;

	memset(r, 0, sizeof(*r));
	r->fr = fr;
	r->w = w;
	r->route = "other";
	if ((r->method = param(r, "REQUEST_METHOD")) == NULL)
		r->method = "GET";
	if ((uri = param(r, "REQUEST_URI")) == NULL &&
	    (uri = param(r, "DOCUMENT_URI")) == NULL)
		uri = "/";
	n = strcspn(uri, "?");
	if (n >= sizeof(r->path))
		n = sizeof(r->path) - 1;
	memcpy(r->path, uri, n);
	r->path[n] = '\0';
	if ((q = param(r, "QUERY_STRING")) == NULL)
		q = "";
	r->query = q;
	/* HTML for browsers (they ask for text/html); JSON for scripts,
	 * fetch() asking for JSON, and anything that does not say. */
	accept = param(r, "HTTP_ACCEPT");
	r->json = accept == NULL || strstr(accept, "application/json") != NULL ||
	    strstr(accept, "text/html") == NULL;
}

/* Accepting failed with errno E for want of descriptors or memory (a
 * pending connection stays pending, so poll() says readable at once):
 * wait a little instead of spinning, woken early by a shutdown.  Called
 * with accept_mu held, so the other request threads wait on the mutex
 * meanwhile.  Logged once per episode. */
static int accept_starved;	/* under accept_mu */

static void
accept_backoff(int e)
{
	struct pollfd pfd;

	if (!accept_starved)
		log_ev(LOG_WARN, "accept_failed", "{ssss}", "error", strerror(e),
		    "action", "waiting for descriptors to be freed");
	accept_starved = 1;
	pfd.fd = wake_fd;
	pfd.events = POLLIN;
	poll(&pfd, 1, 200);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pollfd pfd[2];
	FCGX_Request *fr;
	struct req r;
	long long t0;
	int rc;

	for (;;) {
		pthread_mutex_lock(&accept_mu);
		if (atomic_load(&shutting_down)) {
			pthread_mutex_unlock(&accept_mu);
			break;
		}
		pfd[0].fd = listen_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = wake_fd;
		pfd[1].events = POLLIN;
		rc = poll(pfd, 2, -1);
		if (rc < 0 || (pfd[1].revents & POLLIN) ||
		    atomic_load(&shutting_down)) {
			pthread_mutex_unlock(&accept_mu);
			if (rc < 0 && errno == EINTR)
				continue;
			break;
		}
		if ((fr = calloc(1, sizeof(*fr))) == NULL) {
			pthread_mutex_unlock(&accept_mu);
			sleep(1);
			continue;
		}
		FCGX_InitRequest(fr, listen_fd, 0);
		rc = FCGX_Accept_r(fr);	/* -errno on failure */
		if (rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS ||
		    rc == -ENOMEM)
			accept_backoff(-rc);
		else if (rc >= 0 && accept_starved) {
			accept_starved = 0;
			log_ev(LOG_INFO, "accept_recovered", NULL);
		}
		pthread_mutex_unlock(&accept_mu);
		if (rc < 0) {
			/* another process took the connection (EAGAIN), the
			 * peer went away during the handshake, or no
			 * descriptor was free (backed off above) */
			FCGX_Free(fr, 1);
			free(fr);
			continue;
		}
		t0 = now_ms();
		req_init(&r, fr, w);
		dispatch(&r);
		if (r.parked)
			continue;	/* the long-poll listener owns fr now */
		drain_body(&r);
		count_request(r.route, r.status);
		log_ev(LOG_INFO, "http", "{sssssssisIsI}", "method", r.method,
		    "path", r.path, "route", r.route, "status", r.status,
		    "user", (json_int_t)r.u.id, "ms", (json_int_t)(now_ms() - t0));
		FCGX_Finish_r(fr);
		free(fr);
	}
	if (w->db != NULL)
		PQfinish(w->db);
	w->db = NULL;
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: clipmill.fcgi [-c config] "
	    "[--listen unix:PATH|HOST:PORT]\n");
	exit(2);
}

/* Load the configuration, open the log, note the backends; 0, or -1
 * after saying why on stderr. */
static int
setup(const char *conf)
{
	char err[1024];

	log_set_program("clipmill.fcgi");
	if (config_load(conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "clipmill.fcgi: %s\n", err);
		return -1;
	}
	/* spawn-fcgi sends stderr to /dev/null: the log file is the way
	 * to see anything then. */
	if (log_init(cfg.log_level, cfg.log_file) == -1) {
		fprintf(stderr, "clipmill.fcgi: cannot open log file %s: %s\n",
		    cfg.log_file, strerror(errno));
		return -1;
	}
	jobspec_backends(&be);
	return 0;
}

/* A socket listening on SPEC (unix:PATH or HOST:PORT), made with
 * cfg.fcgi_socket_mode; its fd, or -1 after saying why on stderr.
 * *UNIX_PATH gets the socket file's path (allocated; the caller unlinks
 * and frees it), also when -1 comes after the socket was made. */
static int
open_socket(const char *spec, char **unix_path)
{
	const char *addr = spec;
	mode_t old;
	int fd;

	if (strncmp(addr, "unix:", 5) == 0) {
		addr += 5;
		if (*addr != '/') {
			fprintf(stderr, "clipmill.fcgi: --listen unix: "
			    "needs an absolute path\n");
			return -1;
		}
		unlink(addr);	/* a stale socket from a crash */
	} else if (strchr(addr, ':') == NULL) {
		fprintf(stderr, "clipmill.fcgi: --listen takes "
		    "unix:PATH or HOST:PORT, not \"%s\"\n", addr);
		return -1;
	}
	/* The socket gets its mode at creation: no window in which it is
	 * reachable with the umask's mode. */
	old = umask(0777 & ~(mode_t)cfg.fcgi_socket_mode);
	fd = FCGX_OpenSocket(addr, 1024);
	umask(old);
	if (fd < 0) {
		fprintf(stderr, "clipmill.fcgi: cannot listen on %s: %s\n",
		    spec, strerror(errno));
		return -1;
	}
	if (addr != spec && (*unix_path = strdup(addr)) != NULL &&
	    chmod(addr, (mode_t)cfg.fcgi_socket_mode) == -1) {
		fprintf(stderr, "clipmill.fcgi: chmod %s: %s\n", addr,
		    strerror(errno));
		return -1;
	}
	return fd;
}

/* The socket systemd passed (sd_listen_fds(3): LISTEN_PID names this
 * process, LISTEN_FDS counts the sockets from fd 3): 3; 0 when systemd
 * passed none; -1 after saying why on stderr.  The variables are removed,
 * so that no child takes them for its own. */
static int
systemd_listener(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long long p, n;
	struct stat st;

	if (pid == NULL || fds == NULL ||
	    parse_ll(pid, 1, 0x7fffffff, &p) == -1 || p != (long long)getpid())
		return 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (parse_ll(fds, 0, 0x7fffffff, &n) == -1 || n != 1) {
		fprintf(stderr, "clipmill.fcgi: systemd passed %s sockets; the "
		    "socket unit must have exactly one ListenStream=\n", fds);
		return -1;
	}
	if (fstat(3, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "clipmill.fcgi: systemd's fd 3 is not a "
		    "socket\n");
		return -1;
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	return 3;
}

/* The listening socket, non-blocking: systemd's fd SD when it is not 0,
 * else open_socket(SPEC), else fd 0 as spawn-fcgi hands it over.  The
 * fd, or -1. */
static int
open_listener(int sd, const char *spec, char **unix_path)
{
	struct stat st;
	int fd;

	if (sd > 0)
		fd = sd;
	else if (spec != NULL)
		fd = open_socket(spec, unix_path);
	else if (fstat(0, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "clipmill.fcgi: fd 0 is not a socket: "
		    "run under spawn-fcgi or give --listen\n");
		fd = -1;
	} else
		fd = 0;
	/* Non-blocking, so that a connection another process (spawn-fcgi
	 * -F N) took between poll() and accept() costs a loop, not a hang. */
	if (fd != -1)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Start N request threads, each with its own store; returns how many
 * started: N, or fewer after logging why. */
static int
start_workers(struct worker *workers, pthread_t *tids, int n)
{
	char err[1024];
	int i;

	for (i = 0; i < n; i++) {
		workers[i].n = i;
		if ((workers[i].store = store_open(err, sizeof(err))) == NULL) {
			fprintf(stderr, "clipmill.fcgi: %s\n", err);
			log_ev(LOG_ERROR, "store_open_failed", "{ss}", "error", err);
			return i;
		}
		if (pthread_create(&tids[i], NULL, worker_main, &workers[i]) != 0) {
			store_close(workers[i].store);
			return i;
		}
	}
	return n;
}

/* Stop: wake the request threads, wait for them to finish their requests,
 * close their stores, and answer the parked long-polls. */
static void
stop_workers(struct worker *workers, pthread_t *tids, int n)
{
	uint64_t one = 1;
	int i;

	atomic_store(&shutting_down, 1);
	if (write(wake_fd, &one, sizeof(one)) < 0)
		log_ev(LOG_WARN, "wake_failed", NULL);
	for (i = 0; i < n; i++) {
		pthread_join(tids[i], NULL);
		store_close(workers[i].store);
	}
	lp_stop();
	log_ev(LOG_INFO, "fcgi_stopped", NULL);
}

int
main(int argc, char **argv)
{
	const char *conf = NULL, *listen_spec = NULL;
	char err[1024], *unix_path = NULL;
	struct worker *workers = NULL;
	pthread_t *tids = NULL;
	sigset_t sigs;
	int i, sd, sig, nthreads, started, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_spec = argv[++i];
		else if (strncmp(argv[i], "--listen=", 9) == 0)
			listen_spec = argv[i] + 9;
		else
			usage();
	}
	if (setup(conf) == -1)
		return 1;
	/* --listen wins over systemd's socket, which wins over fcgi_listen
	 * (the setting then tells `clipmill doctor` where to knock). */
	sd = listen_spec == NULL ? systemd_listener() : 0;
	if (sd == -1)
		return 1;
	if (sd == 0 && listen_spec == NULL && *cfg.fcgi_listen != '\0')
		listen_spec = cfg.fcgi_listen;

	/* Signals: blocked here, so in every thread; taken by sigwait(). */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (FCGX_Init() != 0) {
		log_ev(LOG_ERROR, "fcgi_init_failed", NULL);
		return 1;
	}
	if ((listen_fd = open_listener(sd, listen_spec, &unix_path)) == -1 ||
	    auth_listener_check(listen_fd) == -1)
		goto out;
	if ((wake_fd = eventfd(0, EFD_CLOEXEC)) == -1) {
		log_ev(LOG_ERROR, "eventfd_failed", "{ss}", "error",
		    strerror(errno));
		goto out;
	}
	if (auth_init(err, sizeof(err)) == -1) {
		fprintf(stderr, "clipmill.fcgi: %s\n", err);
		log_ev(LOG_ERROR, "auth_init_failed", "{ss}", "error", err);
		goto out;
	}
	if (lp_start(err, sizeof(err)) == -1) {
		log_ev(LOG_ERROR, "longpoll_start_failed", "{ss}", "error", err);
		goto out;
	}
	nthreads = (int)cfg.fcgi_threads;
	workers = calloc((size_t)nthreads, sizeof(*workers));
	tids = calloc((size_t)nthreads, sizeof(*tids));
	if (workers == NULL || tids == NULL)
		goto out;
	if ((started = start_workers(workers, tids, nthreads)) == nthreads) {
		log_ev(LOG_INFO, "fcgi_started", "{sissss*}", "threads", nthreads,
		    "listen", sd > 0 ? "systemd" : listen_spec ? listen_spec :
		    "fd 0",
		    "store", cfg.store);
		do {
			if (sigwait(&sigs, &sig) != 0)
				sig = SIGTERM;
		} while (sig == SIGHUP);	/* no reload: restart instead */
		log_ev(LOG_INFO, "fcgi_stopping", "{si}", "signal", sig);
		rc = 0;
	}
	stop_workers(workers, tids, started);
out:
	if (unix_path != NULL)
		unlink(unix_path);
	free(unix_path);
	free(workers);
	free(tids);
	return rc;
}
