/*
 * Long-poll: one listener thread per process holds every waiting
 * GET /jobs/{id}/events request.  A request thread that finds no events
 * hands its FCGX_Request over (lp_park) and goes back to accepting; the
 * listener keeps the parked requests in a hash by job and a heap by
 * deadline, watches each one's connection for the client going away
 * (epoll), LISTENs on CHAN_EVENTS on a connection of its own (and on
 * CHAN_USER_JOBS and CHAN_AUTH for the kept documents and lookups: one
 * LISTEN connection a process), and answers
 * a job's waiters after a NOTIFY for it (one query per job on a second
 * connection, so the LISTEN connection never waits behind a query) or
 * when their time is up.  A waiting request costs its FCGX_Request and
 * buffers, not a thread and not a database connection.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "queue.h"
#include "session.h"
#include "extern.h"

#define NBUCKETS	4096
#define MAX_EVENTS	500	/* per answer; the client asks again */

/*
 * NOTIFYs seen, counted per bucket of jobs, so that a request parked
 * after its look at the events needs no second look (a query) when no
 * NOTIFY for its bucket came since it read the count: an event committed
 * after the look sends its NOTIFY later, and that finds the waiter.
 * Read by the request threads (lp_gen), written by the listener; a
 * reconnection bumps them all, and while not listening there is no count
 * (0: always look again).  The kept job documents (jobcache.c) are
 * served while their job's count stays what it was before they were
 * read; the kept job lists while their user's count (ugen, NOTIFYs on
 * CHAN_USER_JOBS) does.
 */
static atomic_ulong	 ngen[NBUCKETS];
static atomic_ulong	 ugen[NBUCKETS];
static atomic_int	 nlive;
static atomic_int	 lfd = -1;	/* the LISTEN connection's socket */

struct parked {
	FCGX_Request	*fr;
	unsigned long	 gen;		/* lp_gen() before the look; 0: none */
	long long	 job, user, after, deadline, t0;
	char		 state[24];	/* the job's, when parked */
	size_t		 hidx;		/* position in the heap */
	struct parked	*next, *prev;	/* bucket list, or the incoming list */
};

/* Waiters per user, for user_max_longpolls (under lp.mu). */
#define NUSERBUCKETS	256
struct ucount {
	long long	 user;
	long long	 n;
	struct ucount	*next;
};

/* The listener's state.  The request threads reach it only through
 * lp_park() and lp_waiting(), under mu; the rest is the listener
 * thread's own. */
static struct {
	pthread_t	 tid;
	int		 started;
	int		 efd, ep;	/* wake-up eventfd, epoll set */
	pthread_mutex_t	 mu;
	struct parked	*incoming;	/* under mu */
	int		 stopping;	/* under mu */
	size_t		 nwaiting;	/* under mu, for /metrics */
	struct ucount	*users[NUSERBUCKETS];	/* under mu */

	/* listener-only */
	struct parked	*buckets[NBUCKETS];
	struct parked	**heap;		/* by deadline */
	size_t		 hlen, hcap;
	PGconn		*lconn, *qconn;	/* LISTEN, and queries */
	long long	 next_connect;
	char		 tag_efd, tag_pg;	/* epoll tags: efd, lconn */
} lp = { .efd = -1, .ep = -1, .mu = PTHREAD_MUTEX_INITIALIZER };

int
lp_job_ended(const char *state)
{
	/* awaiting_review is a resting state: nothing comes until the user
	 * acts, so a long-poll answers at once there too */
	return strcmp(state, "done") == 0 || strcmp(state, "partial") == 0 ||
	    strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0 ||
	    strcmp(state, "awaiting_review") == 0;
}

/* USER's waiter count (under lp.mu); created at 0 when CREATE, else NULL
 * when USER has none. */
static struct ucount *
ucount(long long user, int create)
{
	struct ucount **b = &lp.users[(unsigned long long)user % NUSERBUCKETS];
	struct ucount *u;

	for (u = *b; u != NULL; u = u->next)
		if (u->user == user)
			return u;
	if (!create || (u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->user = user;
	u->next = *b;
	*b = u;
	return u;
}

/* One waiter of USER fewer (under lp.mu). */
static void
ucount_drop(long long user)
{
	struct ucount **b = &lp.users[(unsigned long long)user % NUSERBUCKETS];
	struct ucount *u;

	for (; (u = *b) != NULL; b = &u->next)
		if (u->user == user) {
			if (--u->n <= 0) {
				*b = u->next;
				free(u);
			}
			return;
		}
}

unsigned long
lp_gen(long long job)
{
	if (!atomic_load(&nlive))
		return 0;
	return atomic_load(&ngen[(unsigned long long)job % NBUCKETS]) + 1;
}

/* 1 when a NOTIFY may have reached the LISTEN connection that the
 * listener has not counted yet: the kept documents wait for it. */
static int
notify_pending(void)
{
	struct pollfd pfd;

	pfd.fd = atomic_load(&lfd);
	pfd.events = POLLIN;
	return pfd.fd < 0 || poll(&pfd, 1, 0) != 0;
}

unsigned long
lp_doc_gen(long long job)
{
	return notify_pending() ? 0 : lp_gen(job);
}

unsigned long
lp_user_gen(long long user)
{
	if (!atomic_load(&nlive) || notify_pending())
		return 0;
	return atomic_load(&ugen[(unsigned long long)user % NBUCKETS]) + 1;
}

void
lp_touch(long long job, long long user)
{
	if (job > 0)
		atomic_fetch_add(&ngen[(unsigned long long)job % NBUCKETS], 1);
	if (user > 0)
		atomic_fetch_add(&ugen[(unsigned long long)user % NBUCKETS], 1);
}

/* 1 when a NOTIFY for P's bucket may have come since its look. */
static int
missed_notify(const struct parked *p)
{
	return p->gen == 0 || !atomic_load(&nlive) || p->gen !=
	    atomic_load(&ngen[(unsigned long long)p->job % NBUCKETS]) + 1;
}

size_t
lp_waiting(void)
{
	size_t n;

	pthread_mutex_lock(&lp.mu);
	n = lp.nwaiting;
	pthread_mutex_unlock(&lp.mu);
	return n;
}

PGresult *
lp_query(PGconn *c, long long job, long long user, long long after,
    char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[4];

	p[0] = db_param_ll(&dp, job);
	p[1] = db_param_ll(&dp, user);
	p[2] = db_param_ll(&dp, after);
	p[3] = db_param_ll(&dp, MAX_EVENTS);
	/* One row per event after AFTER (or one row of NULLs when none);
	 * no row when there is no such job of USER's (0: anyone's). */
	return db_exec_prepared(c, err, errlen, "lp_query",
	    "SELECT j.state, e.seq, json_build_object('seq', e.seq, 'ts', e.ts,"
	    " 'kind', e.kind, 'stage', e.stage, 'data', e.data)::text "
	    "FROM jobs j LEFT JOIN LATERAL (SELECT * FROM events"
	    "  WHERE job_id = j.id AND seq > $3 ORDER BY seq LIMIT $4) e ON true "
	    "WHERE j.id = $1 AND ($2::bigint = 0 OR j.user_id = $2) "
	    "ORDER BY e.seq", 4, p);
}

char *
lp_body(PGresult *r, long long after, const char *state)
{
	struct buf b;
	long long seq, next = after;
	int i, first = 1;
	char *s;

	buf_init(&b, 0);
	buf_addstr(&b, "{\"events\":[");
	for (i = 0; r != NULL && i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, 1) ||
		    parse_ll(PQgetvalue(r, i, 1), 0, INT64_MAX, &seq) == -1 ||
		    seq <= after)
			continue;
		if (!first)
			buf_addstr(&b, ",");
		first = 0;
		buf_addstr(&b, PQgetvalue(r, i, 2));
		next = seq;
	}
	buf_printf(&b, "],\"next\":%lld", next);
	if (state != NULL) {
		buf_addstr(&b, ",\"state\":\"");
		buf_addstr(&b, state);	/* a CHECKed word from the schema */
		buf_addstr(&b, "\"");
	}
	if (buf_addstr(&b, "}") == -1) {
		buf_free(&b);
		return NULL;
	}
	s = b.data;
	return s;
}

/* ---- heap by deadline ---- */

static void
hswap(size_t a, size_t b)
{
	struct parked *t = lp.heap[a];

	lp.heap[a] = lp.heap[b];
	lp.heap[b] = t;
	lp.heap[a]->hidx = a;
	lp.heap[b]->hidx = b;
}

static void
hup(size_t i)
{
	while (i > 0 && lp.heap[(i - 1) / 2]->deadline > lp.heap[i]->deadline) {
		hswap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
hdown(size_t i)
{
	size_t l, s;

	for (;;) {
		l = 2 * i + 1;
		s = i;
		if (l < lp.hlen && lp.heap[l]->deadline < lp.heap[s]->deadline)
			s = l;
		if (l + 1 < lp.hlen &&
		    lp.heap[l + 1]->deadline < lp.heap[s]->deadline)
			s = l + 1;
		if (s == i)
			return;
		hswap(i, s);
		i = s;
	}
}

static int
hpush(struct parked *p)
{
	if (lp.hlen == lp.hcap) {
		size_t ncap = lp.hcap ? lp.hcap * 2 : 1024;
		struct parked **nh = realloc(lp.heap, ncap * sizeof(*nh));
		if (nh == NULL)
			return -1;
		lp.heap = nh;
		lp.hcap = ncap;
	}
	lp.heap[lp.hlen] = p;
	p->hidx = lp.hlen++;
	hup(p->hidx);
	return 0;
}

static void
hremove(struct parked *p)
{
	size_t i = p->hidx;

	if (i >= lp.hlen || lp.heap[i] != p)
		return;
	hswap(i, --lp.hlen);
	if (i < lp.hlen) {
		hup(i);
		hdown(lp.heap[i]->hidx);
	}
}

/* ---- waiters ---- */

static void
unlink_waiter(struct parked *p)
{
	struct parked **b = &lp.buckets[(unsigned long long)p->job % NBUCKETS];

	if (p->prev)
		p->prev->next = p->next;
	else
		*b = p->next;
	if (p->next)
		p->next->prev = p->prev;
	hremove(p);
	epoll_ctl(lp.ep, EPOLL_CTL_DEL, p->fr->ipcFd, NULL);
	pthread_mutex_lock(&lp.mu);
	lp.nwaiting--;
	ucount_drop(p->user);
	pthread_mutex_unlock(&lp.mu);
}

/* Answer P with BODY and forget it. */
static void
answer(struct parked *p, const char *body, const char *why)
{
	FCGX_Stream *o = p->fr->out;
	size_t len = strlen(body);

	char h[256];
	int n;

	unlink_waiter(p);
	n = snprintf(h, sizeof(h), "Status: 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nCache-Control: "
	    "no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n", len);
	FCGX_PutStr(h, n, o);
	FCGX_PutStr(body, (int)len, o);
	FCGX_Finish_r(p->fr);
	count_request("events", 200);
	log_ev(LOG_DEBUG, "longpoll_answer", "{sIsssIsI}", "job",
	    (json_int_t)p->job, "why", why, "waited_ms",
	    (json_int_t)(now_ms() - p->t0), "after", (json_int_t)p->after);
	free(p->fr);
	free(p);
}

/* The client went away while waiting: drop it without a word. */
static void
abandon(struct parked *p)
{
	unlink_waiter(p);
	/* Nothing is written to a closed connection; the close is plain
	 * (no lingering read), and the request's memory goes with it. */
	p->fr->detached = 1;
	FCGX_Free(p->fr, 1);
	count_request("events_abandoned", 499);
	free(p->fr);
	free(p);
}

/* Nothing new for P: its answer says the job's state when it was parked
 * (none when the job is gone). */
static void
answer_timeout(struct parked *p, const char *why)
{
	char body[128];

	if (p->state[0] != '\0' && strcmp(why, "gone") != 0)
		snprintf(body, sizeof(body), "{\"events\":[],\"next\":%lld,"
		    "\"state\":\"%s\"}", p->after, p->state);
	else
		snprintf(body, sizeof(body), "{\"events\":[],\"next\":%lld}",
		    p->after);
	answer(p, body, why);
}

/* Every count moves: whatever a request read before is stale. */
static void
ngen_bump_all(void)
{
	size_t i;

	for (i = 0; i < NBUCKETS; i++) {
		atomic_fetch_add(&ngen[i], 1);
		atomic_fetch_add(&ugen[i], 1);
	}
}

static int
listen_connect(void)
{
	char err[512];
	struct epoll_event ev;

	if (lp.next_connect > now_ms())
		return -1;
	lp.next_connect = now_ms() + 1000;
	if ((lp.lconn = db_connect(err, sizeof(err))) == NULL) {
		log_ev(LOG_WARN, "listen_connect_failed", "{ss}", "error", err);
		return -1;
	}
	if (db_cmd(lp.lconn, err, sizeof(err), "LISTEN " CHAN_EVENTS, 0,
	    NULL) == -1 || db_cmd(lp.lconn, err, sizeof(err),
	    "LISTEN " CHAN_USER_JOBS, 0, NULL) == -1 || db_cmd(lp.lconn, err,
	    sizeof(err), "LISTEN " CHAN_AUTH, 0, NULL) == -1) {
		log_ev(LOG_WARN, "listen_failed", "{ss}", "error", err);
		PQfinish(lp.lconn);
		lp.lconn = NULL;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &lp.tag_pg;
	epoll_ctl(lp.ep, EPOLL_CTL_ADD, PQsocket(lp.lconn), &ev);
	ngen_bump_all();
	atomic_store(&lfd, PQsocket(lp.lconn));
	atomic_store(&nlive, 1);
	/* what changed while we were deaf is unknown */
	ac_listening(1);
	log_ev(LOG_INFO, "listening", "{ss}", "channel", CHAN_EVENTS);
	return 0;
}

static void
listen_drop(void)
{
	if (lp.lconn == NULL)
		return;
	atomic_store(&nlive, 0);
	atomic_store(&lfd, -1);
	ac_listening(0);
	ngen_bump_all();
	epoll_ctl(lp.ep, EPOLL_CTL_DEL, PQsocket(lp.lconn), NULL);
	PQfinish(lp.lconn);
	lp.lconn = NULL;
	log_ev(LOG_WARN, "listen_lost", NULL);
}

/* Answer JOB's waiters that have events now. */
static void
dispatch_job(long long job)
{
	struct parked *p, *nx;
	long long after = -1, last = -1;
	char err[512], *body;
	PGresult *r;
	const char *state;

	for (p = lp.buckets[(unsigned long long)job % NBUCKETS]; p; p = p->next)
		if (p->job == job && (after < 0 || p->after < after))
			after = p->after;
	if (after < 0)
		return;
	if (lp.qconn != NULL && PQstatus(lp.qconn) != CONNECTION_OK) {
		PQfinish(lp.qconn);
		lp.qconn = NULL;
	}
	if (lp.qconn == NULL &&
	    (lp.qconn = db_connect(err, sizeof(err))) == NULL)
		return;		/* they wait on, and time out if it lasts */
	if ((r = lp_query(lp.qconn, job, 0, after, err, sizeof(err))) == NULL) {
		log_ev(LOG_WARN, "longpoll_query_failed", "{ss}", "error", err);
		return;
	}
	if (PQntuples(r) > 0 && !PQgetisnull(r, PQntuples(r) - 1, 1))
		parse_ll(PQgetvalue(r, PQntuples(r) - 1, 1), 0, INT64_MAX, &last);
	state = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : NULL;
	for (p = lp.buckets[(unsigned long long)job % NBUCKETS]; p; p = nx) {
		nx = p->next;
		if (p->job != job)
			continue;
		if (PQntuples(r) == 0) {	/* the job was deleted */
			answer_timeout(p, "gone");
			continue;
		}
		if (last <= p->after)
			continue;
		if ((body = lp_body(r, p->after, state)) == NULL)
			continue;
		answer(p, body, "notify");
		free(body);
	}
	PQclear(r);
}

/* A small set of job ids to look at after this round. */
struct jobset {
	long long	*v;
	size_t		 n, cap;
};

static void
jobset_add(struct jobset *s, long long job)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == job)
			return;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		long long *nv = realloc(s->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = job;
}

static int
has_waiters(long long job)
{
	struct parked *p;

	for (p = lp.buckets[(unsigned long long)job % NBUCKETS]; p; p = p->next)
		if (p->job == job)
			return 1;
	return 0;
}

/* Count the NOTIFYs that came: a job's (CHAN_EVENTS) moves its count and
 * puts it in TODO when it has waiters; a user's list (CHAN_USER_JOBS)
 * moves the user's count; a user's lookups (CHAN_AUTH) are forgotten. */
static void
take_notifies(struct jobset *todo)
{
	PGnotify *nt;
	long long id;
	int ok;

	while ((nt = PQnotifies(lp.lconn)) != NULL) {
		ok = parse_ll(nt->extra, 1, INT64_MAX, &id) == 0;
		if (strcmp(nt->relname, CHAN_AUTH) == 0)
			ac_forget(ok ? id : 0);	/* unreadable: everyone */
		else if (ok && strcmp(nt->relname, CHAN_USER_JOBS) == 0)
			lp_touch(0, id);
		else if (ok) {
			lp_touch(id, 0);
			if (has_waiters(id))
				jobset_add(todo, id);
		}
		PQfreemem(nt);
	}
}

static void *
listener_main(void *arg)
{
	struct epoll_event evs[256], ev;
	struct jobset todo = { NULL, 0, 0 };
	struct parked *in, *p;
	long long now;
	int i, n, timeout, stop = 0;
	size_t k;
	uint64_t v;

	(void)arg;
	while (!stop) {
		if (lp.lconn == NULL && listen_connect() == 0) {
			/* Notifications may have been missed while down. */
			for (k = 0; k < NBUCKETS; k++)
				for (p = lp.buckets[k]; p; p = p->next)
					jobset_add(&todo, p->job);
		}
		now = now_ms();
		timeout = -1;
		if (lp.hlen > 0)
			timeout = lp.heap[0]->deadline > now ?
			    (int)(lp.heap[0]->deadline - now) : 0;
		if (lp.lconn == NULL && (timeout < 0 || timeout > 1000))
			timeout = 1000;
		if (todo.n > 0)
			timeout = 0;
		n = epoll_wait(lp.ep, evs, 256, timeout);
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &lp.tag_efd) {
				if (read(lp.efd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					log_ev(LOG_WARN, "eventfd_read", NULL);
				pthread_mutex_lock(&lp.mu);
				in = lp.incoming;
				lp.incoming = NULL;
				stop = lp.stopping;
				pthread_mutex_unlock(&lp.mu);
				while (in != NULL) {
					p = in;
					in = in->next;
					k = (unsigned long long)p->job % NBUCKETS;
					p->prev = NULL;
					p->next = lp.buckets[k];
					if (lp.buckets[k])
						lp.buckets[k]->prev = p;
					lp.buckets[k] = p;
					if (hpush(p) == -1)
						p->deadline = 0;
					memset(&ev, 0, sizeof(ev));
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.ptr = p;
					epoll_ctl(lp.ep, EPOLL_CTL_ADD,
					    p->fr->ipcFd, &ev);
					/* An event may have come between the
					 * request thread's look and now: if
					 * its NOTIFY is not still to come,
					 * look again. */
					if (missed_notify(p))
						jobset_add(&todo, p->job);
				}
			} else if (evs[i].data.ptr == &lp.tag_pg) {
				if (lp.lconn == NULL)
					continue;
				if (PQconsumeInput(lp.lconn) == 0 ||
				    PQstatus(lp.lconn) != CONNECTION_OK) {
					listen_drop();
					continue;
				}
				take_notifies(&todo);
			} else {
				/* readable or hung up: the client has gone
				 * (its request was read in full before
				 * parking) */
				abandon(evs[i].data.ptr);
			}
		}
		for (k = 0; k < todo.n; k++)
			dispatch_job(todo.v[k]);
		todo.n = 0;
		now = now_ms();
		while (lp.hlen > 0 && lp.heap[0]->deadline <= now)
			answer_timeout(lp.heap[0], "timeout");
	}
	/* Shutting down: everyone gets what there is (nothing new), and
	 * asks again of the next process. */
	while (lp.hlen > 0)
		answer_timeout(lp.heap[0], "shutdown");
	free(todo.v);
	ac_listening(0);
	if (lp.lconn)
		PQfinish(lp.lconn);
	if (lp.qconn)
		PQfinish(lp.qconn);
	lp.lconn = lp.qconn = NULL;
	return NULL;
}

int
lp_park(struct req *r, long long job, long long user, long long after,
    long long timeout_ms, const char *state, unsigned long gen)
{
	struct parked *p;
	struct ucount *u;
	uint64_t one = 1;
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->fr = r->fr;
	p->gen = gen;
	p->job = job;
	p->user = user;
	p->after = after;
	p->t0 = now_ms();
	p->deadline = p->t0 + timeout_ms;
	if (state != NULL)
		snprintf(p->state, sizeof(p->state), "%s", state);
	pthread_mutex_lock(&lp.mu);
	/* Each waiter holds a descriptor: the caps keep a few users (or
	 * many) from using up the process's. */
	if (lp.stopping)
		rc = -1;
	else if (lp.nwaiting >= (size_t)cfg.longpoll_max_waiters)
		rc = LP_ALL_FULL;
	else if ((u = ucount(user, 1)) == NULL)
		rc = -1;
	else if (u->n >= cfg.user_max_longpolls)
		rc = LP_USER_FULL;
	else
		rc = 0;
	if (rc != 0) {
		pthread_mutex_unlock(&lp.mu);
		free(p);
		return rc;
	}
	u->n++;
	p->next = lp.incoming;
	lp.incoming = p;
	lp.nwaiting++;
	pthread_mutex_unlock(&lp.mu);
	if (write(lp.efd, &one, sizeof(one)) < 0)
		log_ev(LOG_WARN, "eventfd_write", NULL);
	return 0;
}

int
lp_start(char *err, size_t errlen)
{
	struct epoll_event ev;

	if ((lp.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (lp.ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		seterr(err, errlen, "cannot set up the long-poll listener: %s",
		    strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &lp.tag_efd;
	epoll_ctl(lp.ep, EPOLL_CTL_ADD, lp.efd, &ev);
	if (pthread_create(&lp.tid, NULL, listener_main, NULL) != 0) {
		seterr(err, errlen, "cannot start the long-poll listener");
		return -1;
	}
	lp.started = 1;
	return 0;
}

void
lp_stop(void)
{
	uint64_t one = 1;

	if (!lp.started)
		return;
	pthread_mutex_lock(&lp.mu);
	lp.stopping = 1;
	pthread_mutex_unlock(&lp.mu);
	if (write(lp.efd, &one, sizeof(one)) < 0)
		log_ev(LOG_WARN, "eventfd_write", NULL);
	pthread_join(lp.tid, NULL);
	lp.started = 0;
}
