/*
 * The host's wake-up service (wake_socket in clipmill.conf): one
 * `clipmill-batch --listen` per host holds the host's only LISTEN
 * connection and runs the rescue pass every second; the host's runners
 * hold a database connection only while they claim and work, and wait
 * for work on the socket, disconnected.  So PostgreSQL's connections
 * grow with hosts and busy runners, not with idle runners (SCALING.md).
 *
 * The protocol is lines on a Unix stream socket:
 *   runner -> listener   "warm STAGE[,STAGE...]"  idle, still connected
 *                        "wait STAGE[,STAGE...]"  idle, disconnected
 *                        "work -"                 not waiting any more
 *                        "more STAGE[,STAGE...]"  woken, and found work:
 *                                                 wake the next one
 *   listener -> runner   "wake STAGE"             a task of STAGE is due
 * An idle runner stays connected for WAKE_LINGER_MS first ("warm"), so
 * that a steady trickle of tasks reuses connected runners and pays no
 * connection set-up.  A NOTIFY wakes ONE waiting runner of its stage (a
 * warm one if there is one, else the one waiting longest); a runner that claims work passes the wake-up on, so a burst
 * of tasks wakes the runners one after the other while each claims, and
 * one task costs one connection per host, not one per runner.  Every
 * second the listener also wakes a runner of each stage that has due
 * tasks and waiting runners: a wake-up lost with a runner that died,
 * and retries that fall due, are picked up within a second.
 *
 * The guarantees stay those of the runner: a runner holds its session
 * lock (the lease) whenever it holds a task, and when the listener is
 * gone its runners go back to LISTENing on their own connections.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "runner.h"
#include "util.h"

#define MAX_CLIENTS	1024
#define LINE_MAX_LEN	1024
#define TICK_MS		1000	/* rescue pass and due check */

struct client {
	int		 fd;
	int		 waiting;
	int		 warm;		/* waiting still connected */
	long long	 since;		/* order of waiting: oldest first */
	char		 stages[LINE_MAX_LEN];	/* ",a,b," */
	char		 in[LINE_MAX_LEN];
	size_t		 inlen;
};

struct listener {
	PGconn		*c;
	int		 lfd;
	struct client	 cl[MAX_CLIENTS];
	int		 ncl;
	long long	 seq;
};

static int
wake_addr(struct sockaddr_un *sa, char *err, size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(cfg.wake_socket) >= sizeof(sa->sun_path)) {
		seterr(err, errlen, "wake_socket \"%s\" is too long for a Unix "
		    "socket path (at most %zu bytes)", cfg.wake_socket,
		    sizeof(sa->sun_path) - 1);
		return -1;
	}
	memcpy(sa->sun_path, cfg.wake_socket, strlen(cfg.wake_socket));
	return 0;
}

/* Write all of S to FD (a blocking socket); 0 or -1. */
static int
write_line(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;
	ssize_t w;

	while (off < n) {
		w = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Runner side. */

int
wake_connect(void)
{
	struct sockaddr_un sa;
	char err[256];
	int fd;

	if (wake_addr(&sa, err, sizeof(err)) == -1) {
		log_ev(LOG_WARN, "wake_socket_unusable", "{ss}", "error", err);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		log_ev(LOG_WARN, "wake_socket_unavailable", "{ssssss}", "socket",
		    cfg.wake_socket, "error", strerror(errno), "hint",
		    "is clipmill-batch --listen running? This runner LISTENs "
		    "on its own connection instead");
		close(fd);
		return -1;
	}
	return fd;
}

int
wake_send(int fd, const char *verb, const char *stages)
{
	char line[LINE_MAX_LEN];

	if (xsnprintf(line, sizeof(line), "%s %s\n", verb, stages) == -1)
		return -1;
	return write_line(fd, line);
}

int
wake_wait(int fd, const char *verb, const char *stages, long long ms)
{
	struct pollfd pfd;
	char buf[LINE_MAX_LEN];
	long long t0;
	ssize_t n;
	int pr, woken = 0;

	if (wake_send(fd, verb, stages) == -1)
		return -1;
	while (!woken) {
		if (ms <= 0 || runner_stopping)
			/* not waiting any more: wake another one */
			return wake_send(fd, "work", "-") == -1 ? -1 : 0;
		pfd.fd = fd;
		pfd.events = POLLIN;
		t0 = now_ms();
		pr = poll(&pfd, 1, (int)ms);
		if (pr == -1 && errno != EINTR)
			return -1;
		if (pr <= 0) {
			ms = pr == 0 ? 0 : ms - (now_ms() - t0);
			continue;
		}
		/* Lines are short and the listener sends one per wait:
		 * whatever is there is a wake-up. */
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n > 0 && memmem(buf, (size_t)n, "wake ", 5) != NULL)
			woken = 1;
		ms -= now_ms() - t0;
	}
	return 1;
}

/* Listener side. */

/* Whom to wake first: a runner still connected (the one that went idle
 * last, so that the others cool down and disconnect), else the one
 * waiting longest. */
static int
better(const struct client *a, const struct client *b)
{
	if (a->warm != b->warm)
		return a->warm;
	return a->warm ? a->since > b->since : a->since < b->since;
}

/* Wake the best waiting runner for STAGE; 1 when one was woken. */
static int
wake_one(struct listener *l, const char *stage)
{
	char key[80], line[96];
	int i, best;

	if (xsnprintf(key, sizeof(key), ",%s,", stage) == -1)
		return 0;
	snprintf(line, sizeof(line), "wake %s\n", stage);
	for (;;) {
		best = -1;
		for (i = 0; i < l->ncl; i++)
			if (l->cl[i].waiting && strstr(l->cl[i].stages, key) &&
			    (best == -1 || better(&l->cl[i], &l->cl[best])))
				best = i;
		if (best == -1)
			return 0;
		l->cl[best].waiting = 0;
		if (write_line(l->cl[best].fd, line) == 0)
			return 1;
		/* gone: its EOF is read later; try the next one */
	}
}

/* Wake one runner for each stage in LIST ("a,b"). */
static void
wake_list(struct listener *l, const char *list)
{
	char s[LINE_MAX_LEN], *p, *save = NULL;

	snprintf(s, sizeof(s), "%s", list);
	for (p = strtok_r(s, ",", &save); p != NULL; p = strtok_r(NULL, ",",
	    &save))
		wake_one(l, p);
}

static void
client_line(struct listener *l, struct client *c, char *line)
{
	if (strncmp(line, "wait ", 5) == 0 || strncmp(line, "warm ", 5) == 0) {
		snprintf(c->stages, sizeof(c->stages), ",%s,", line + 5);
		c->waiting = 1;
		c->warm = line[1] == 'a' && line[2] == 'r';
		c->since = ++l->seq;
	} else if (strncmp(line, "more ", 5) == 0)
		wake_list(l, line + 5);
	else if (strncmp(line, "work ", 5) == 0)
		c->waiting = 0;
}

/* Read what client I sent; -1 when it is gone. */
static int
client_read(struct listener *l, int i)
{
	struct client *c = &l->cl[i];
	char *nl;
	ssize_t n;

	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen,
	    MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	while ((nl = strchr(c->in, '\n')) != NULL) {
		*nl = '\0';
		client_line(l, c, c->in);
		c->inlen -= (size_t)(nl + 1 - c->in);
		memmove(c->in, nl + 1, c->inlen + 1);
	}
	if (c->inlen == sizeof(c->in) - 1)
		return -1;	/* not our protocol */
	return 0;
}

/* The stages runners wait for, as a text array literal; 0 when none. */
static int
waited_stages(struct listener *l, struct buf *arr)
{
	char s[LINE_MAX_LEN], *p, *save = NULL;
	int i, n = 0;

	buf_addstr(arr, "{");
	for (i = 0; i < l->ncl; i++) {
		if (!l->cl[i].waiting)
			continue;
		snprintf(s, sizeof(s), "%s", l->cl[i].stages);
		for (p = strtok_r(s, ",", &save); p != NULL;
		    p = strtok_r(NULL, ",", &save))
			buf_printf(arr, "%s\"%s\"", n++ > 0 ? "," : "", p);
	}
	buf_addstr(arr, "}");
	return n;
}

/* Every second: the rescue pass, then a wake-up for each waited-for stage
 * with due tasks.  -1 when the database is lost. */
static int
tick(struct listener *l)
{
	struct buf arr;
	const char *p[1];
	char err[1024];
	PGresult *r;
	int i;

	if (rq_rescue(l->c, err, sizeof(err)) == -1) {
		if (db_lost(l->c))
			return -1;
		log_ev(LOG_WARN, "database_error", "{ssss}", "during", "rescue",
		    "error", err);
	}
	buf_init(&arr, 65536);
	if (waited_stages(l, &arr) == 0 || buf_failed(&arr)) {
		buf_free(&arr);
		return 0;
	}
	p[0] = arr.data;
	r = db_exec(l->c, err, sizeof(err),
	    "SELECT s FROM unnest($1::text[]) s WHERE EXISTS (SELECT 1 FROM "
	    "tasks WHERE state = 'pending' AND stage = s AND run_after <= now())"
	    " GROUP BY s", 1, p);
	buf_free(&arr);
	if (r == NULL) {
		if (db_lost(l->c))
			return -1;
		log_ev(LOG_WARN, "database_error", "{ssss}", "during", "due",
		    "error", err);
		return 0;
	}
	for (i = 0; i < PQntuples(r); i++)
		wake_one(l, PQgetvalue(r, i, 0));
	PQclear(r);
	return 0;
}

/* NOTIFYs that arrived: wake one runner per stage named.  -1: lost. */
static int
notifies(struct listener *l)
{
	PGnotify *nf;

	if (PQconsumeInput(l->c) == 0)
		return -1;
	while ((nf = PQnotifies(l->c)) != NULL) {
		wake_one(l, nf->extra);
		PQfreemem(nf);
	}
	return 0;
}

static void
accept_client(struct listener *l)
{
	int fd;

	if ((fd = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return;
	if (l->ncl == MAX_CLIENTS) {
		/* it falls back to its own LISTEN */
		close(fd);
		return;
	}
	memset(&l->cl[l->ncl], 0, sizeof(l->cl[0]));
	l->cl[l->ncl++].fd = fd;
}

/* The poll loop; returns an exit code. */
static int
listen_loop(struct listener *l)
{
	static struct pollfd pfd[MAX_CLIENTS + 2];
	long long next = 0, now;
	int i, n;

	while (!runner_stopping) {
		if ((now = now_ms()) >= next) {
			if (tick(l) == -1)
				return EXIT_DB;
			next = now + TICK_MS;
		}
		pfd[0].fd = PQsocket(l->c);
		pfd[0].events = POLLIN;
		pfd[1].fd = l->lfd;
		pfd[1].events = POLLIN;
		for (i = 0; i < l->ncl; i++) {
			pfd[i + 2].fd = l->cl[i].fd;
			pfd[i + 2].events = POLLIN;
		}
		n = poll(pfd, (nfds_t)l->ncl + 2, (int)(next - now));
		if (n == -1 && errno != EINTR)
			return EXIT_FAIL;
		if (n <= 0)
			continue;
		if ((pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) &&
		    notifies(l) == -1)
			return EXIT_DB;
		/* clients before new ones: indexes match pfd */
		for (i = l->ncl - 1; i >= 0; i--) {
			if (!(pfd[i + 2].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			if (client_read(l, i) == -1) {
				close(l->cl[i].fd);
				l->cl[i] = l->cl[--l->ncl];
			}
		}
		if (pfd[1].revents & POLLIN)
			accept_client(l);
	}
	return EXIT_OK;
}

/* Bind the socket, under a lock file so one listener runs per socket.
 * The socket's fd, -2 when another listener holds the lock, -1. */
static int
bind_socket(int *lockfd, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	char lockpath[sizeof(sa.sun_path) + 8];
	mode_t old;
	int fd;

	if (wake_addr(&sa, err, errlen) == -1)
		return -1;
	snprintf(lockpath, sizeof(lockpath), "%s.lock", cfg.wake_socket);
	if ((*lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		seterr(err, errlen, "cannot open %s: %s", lockpath,
		    strerror(errno));
		return -1;
	}
	if (flock(*lockfd, LOCK_EX | LOCK_NB) == -1)
		return errno == EWOULDBLOCK ? -2 : -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		seterr(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(cfg.wake_socket);	/* a dead listener's */
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fd, 128) == -1) {
		umask(old);
		seterr(err, errlen, "cannot listen on %s: %s", cfg.wake_socket,
		    strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

int
runner_listen(void)
{
	static struct listener l;
	char err[1024];
	int lockfd = -1, rc = EXIT_OK;

	if (*cfg.wake_socket == '\0') {
		log_ev(LOG_INFO, "listener_not_configured", "{ss}", "reason",
		    "wake_socket is empty: each runner LISTENs on its own "
		    "connection");
		return EXIT_OK;
	}
	runner_signals();
	if ((l.lfd = bind_socket(&lockfd, err, sizeof(err))) == -2) {
		/* cron starts one every minute: the running one stays */
		close(lockfd);
		return EXIT_OK;
	}
	if (l.lfd == -1) {
		log_ev(LOG_ERROR, "wake_socket_unusable", "{ss}", "error", err);
		rc = EXIT_FAIL;
		goto out;
	}
	if ((l.c = db_connect(err, sizeof(err))) == NULL) {
		log_ev(LOG_ERROR, "database_unreachable", "{ss}", "error", err);
		rc = EXIT_DB;
		goto out;
	}
	if (db_check_schema(l.c, err, sizeof(err)) == -1 ||
	    db_cmd(l.c, err, sizeof(err), "LISTEN " CHAN_TASKS, 0, NULL) == -1) {
		log_ev(LOG_ERROR, db_lost(l.c) ? "database_lost" :
		    "schema_mismatch", "{ss}", "error", err);
		rc = db_lost(l.c) ? EXIT_DB : EXIT_FAIL;
		goto out;
	}
	log_ev(LOG_INFO, "listener_started", "{ss}", "socket", cfg.wake_socket);
	rc = listen_loop(&l);
	if (rc == EXIT_DB)
		log_ev(LOG_ERROR, "database_lost", "{ssss}", "during", "listen",
		    "error", PQerrorMessage(l.c));
	log_ev(rc == EXIT_OK ? LOG_INFO : LOG_ERROR, "listener_exit", "{si}",
	    "code", rc);
out:
	/* Our runners see EOF and LISTEN on their own connections. */
	if (l.lfd >= 0) {
		unlink(cfg.wake_socket);
		close(l.lfd);
	}
	while (l.ncl > 0)
		close(l.cl[--l.ncl].fd);
	if (l.c != NULL)
		PQfinish(l.c);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}
