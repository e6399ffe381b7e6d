/*
 * Isolation: one task of an isolated stage runs in a forked child, in its
 * own process group, with RLIMIT_AS/RLIMIT_CPU/RLIMIT_FSIZE from
 * cfg.child_* and a wall-clock timeout (cfg.task_timeout).  Fork first:
 * the child initialises any threaded library itself.  The child never
 * touches the database: it closes the connection and is contained before
 * the stage runs (sandbox.c), and talks to the parent through a pipe, one
 * JSON object per line:
 *
 *   {"t":"p","pct":N,"msg":"..."}                     progress
 *   {"t":"e","kind":"...","msg":"...","data":{...}}   event
 *   {"t":"g","pgid":N}                                a process group it
 *                                                     started (0: gone)
 *   {"t":"o","data":{...}}                            one of its outputs
 *                                                     (task_output()),
 *                                                     recorded at once
 *   {"t":"r","rc":N,"err":"...","result":{...}}       the result, last
 *
 * The parent heartbeats, writes progress (debounced) and events to the
 * database, stops the child when its job ends, the task is taken from it
 * or its own connection breaks (the lease lock goes with it, and the task
 * may run elsewhere), enforces the timeout, reaps, kills what is left of
 * the child's process groups, and turns a signal into a sentence.
 *
 * task_progress() and task_event() are here too: in the child they write
 * to the pipe; with fd == -1 (in-process stages) they write to the
 * database through the runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "runner.h"
#include "util.h"

#define DEBOUNCE_MS	250		/* at most 4 progress writes a second */
#define KILL_GRACE_MS	2000		/* SIGTERM to SIGKILL when cancelling */
#define MAX_LINE	(256 * 1024)	/* one message from the child */

#if defined(__SANITIZE_ADDRESS__)
#define NO_AS_LIMIT 1	/* ASan reserves terabytes of address space */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_AS_LIMIT 1
#endif
#endif

/* In the child: set by SIGTERM (the parent is cancelling the task). */
static volatile sig_atomic_t child_stop;

static void
on_child_term(int sig)
{
	(void)sig;
	child_stop = 1;
}

/* Write all of the N bytes at P to FD; 0 or -1. */
static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
send_obj(int fd, json_t *o)
{
	char *s;

	if (o == NULL)
		return;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return;
	/* jansson escapes newlines inside strings: one object, one line */
	if (write_all(fd, s, strlen(s)) == 0)
		write_all(fd, "\n", 1);
	free(s);
}

int
task_progress(struct task_ctx *ctx, int pct, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	long long now;
	struct ctx_priv *pv;
	char err[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx->fd >= 0) {
		/* The parent debounces; a full pipe slows a chatty stage. */
		send_obj(ctx->fd, json_pack("{sssiss}", "t", "p", "pct", pct,
		    "msg", msg));
		return child_stop ? 1 : 0;
	}
	pv = ctx->priv;
	if (pv == NULL)
		return 0;
	if (runner_stopping)
		return 1;
	now = now_ms();
	if (ctx->last_report_ms != 0 && now - ctx->last_report_ms < DEBOUNCE_MS)
		return 0;
	ctx->last_report_ms = now;
	pv->state = rq_progress(pv->r->c, &pv->r->id, ctx->task, pct, msg, err,
	    sizeof(err));
	if (pv->state == RQ_ERR) {
		log_ev(LOG_WARN, "progress_failed", "{sIss}", "task",
		    ctx->task->id, "error", err);
		if (db_lost(pv->r->c)) {
			pv->r->db_lost = 1;
			return 1;
		}
		return 0;
	}
	return pv->state == RQ_MINE ? 0 : 1;
}

void
task_event(struct task_ctx *ctx, const char *kind, const char *msg,
    json_t *data)
{
	struct ctx_priv *pv;
	char err[512];

	if (ctx->fd >= 0) {
		send_obj(ctx->fd, json_pack("{ssssss*sO*}", "t", "e", "kind", kind,
		    "msg", msg, "data", data));
		return;
	}
	if ((pv = ctx->priv) == NULL)
		return;
	if (rq_task_event(pv->r->c, ctx->task, kind, msg, data, err,
	    sizeof(err)) == -1)
		log_ev(LOG_WARN, "event_failed", "{sIss}", "task", ctx->task->id,
		    "error", err);
}

void
task_output(struct task_ctx *ctx, json_t *data)
{
	const struct stage *st = stage_find(ctx->task->stage);
	struct ctx_priv *pv;
	char err[512];

	if (ctx->fd >= 0) {
		send_obj(ctx->fd, json_pack("{sssO}", "t", "o", "data", data));
		return;
	}
	if ((pv = ctx->priv) == NULL)
		return;
	if (rq_output(pv->r->c, &pv->r->id, st, ctx->task, data, err,
	    sizeof(err)) == RQ_ERR)
		log_ev(LOG_WARN, "output_failed", "{sIss}", "task", ctx->task->id,
		    "error", err);
}

static void
set_limit(int res, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { soft, hard };

	setrlimit(res, &rl);
}

/*
 * The seconds of wall and CPU time task T's child may use: task_timeout
 * and child_cpu_s, each plus the length of the job's source (from its
 * probe; 0 before the fetch has probed it), so that a long source is
 * given the time its length needs (transcribing four hours takes about an
 * hour of CPU time here) and a short one keeps the limits as set.
 */
static long long
source_s(const struct task *t)
{
	double d = json_number_value(json_object_get(json_object_get(t->job,
	    "probe"), "duration"));

	return d > 0 && d < 1e7 ? (long long)ceil(d) : 0;
}

static long long
task_wall_s(const struct task *t)
{
	return cfg.task_timeout + source_s(t);
}

static long long
task_cpu_s(const struct task *t)
{
	return cfg.child_cpu_s + source_s(t);
}

/* The child: limits, then the stage's run(), then the result line. */
static void __attribute__((noreturn))
child_main(struct runner *r, const struct stage *st, struct task *t,
    const char *scratch, int fd, pid_t parent)
{
	struct task_ctx ctx;
	struct sigaction sa;
	char err[1024] = "";
	json_t *result = NULL;
	enum stage_rc rc;

	setpgid(0, 0);
	/* If the runner dies (kill -9), the task dies with it and its
	 * scratch lock is released for the sweeper. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
#ifndef NO_AS_LIMIT
	set_limit(RLIMIT_AS, (rlim_t)cfg.child_mem_mb << 20,
	    (rlim_t)cfg.child_mem_mb << 20);
#endif
	/* CPU: SIGXCPU at the soft limit, SIGKILL 5 s later. */
	set_limit(RLIMIT_CPU, (rlim_t)task_cpu_s(t), (rlim_t)task_cpu_s(t) + 5);
	set_limit(RLIMIT_FSIZE, (rlim_t)cfg.child_fsize_mb << 20,
	    (rlim_t)cfg.child_fsize_mb << 20);
	set_limit(RLIMIT_CORE, 0, 0);
	if (chdir(scratch) == -1)
		_exit(1);
	if (sandbox_enter(r, st->name, t, scratch, err, sizeof(err)) == -1) {
		/* The host's problem: logged for the operator, retried. */
		log_ev(LOG_ERROR, "sandbox_failed", "{sIssss}", "task", t->id,
		    "stage", t->stage, "error", err);
		seterr(err, sizeof(err), "The %s step could not be isolated "
		    "on the runner.", t->stage);
		send_obj(fd, json_pack("{sssiss}", "t", "r", "rc",
		    (int)STAGE_TRANSIENT, "err", err));
		_exit(0);
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.task = t;
	ctx.store = r->store;
	ctx.scratch = scratch;
	ctx.fd = fd;
	rc = st->run(&ctx, &result, err, sizeof(err));
	if (rc == STAGE_OK && result != NULL && !json_is_object(result)) {
		json_decref(result);
		result = json_pack("{ss}", "error", "the stage's result was "
		    "not an object");
		rc = STAGE_TRANSIENT;
		snprintf(err, sizeof(err), "The %s step returned an unreadable "
		    "result.", t->stage);
	}
	send_obj(fd, json_pack("{sssiss*so*}", "t", "r", "rc", (int)rc, "err",
	    err[0] ? err : NULL, "result", result));
	_exit(0);
}

/* A sentence for a child that ended without a result. */
static void
describe_status(const struct task *t, int status, char *err, size_t errlen)
{
	const char *stage = t->stage;
	int sig;

	if (WIFEXITED(status)) {
		seterr(err, errlen, "The %s step stopped unexpectedly (exit "
		    "status %d) without a result.", stage, WEXITSTATUS(status));
		return;
	}
	if (!WIFSIGNALED(status)) {
		seterr(err, errlen, "The %s step ended without a result.", stage);
		return;
	}
	sig = WTERMSIG(status);
	switch (sig) {
	case SIGXCPU:
		seterr(err, errlen, "The %s step used more than %lld s of CPU "
		    "time and was stopped.", stage, task_cpu_s(t));
		break;
	case SIGXFSZ:
		seterr(err, errlen, "The %s step tried to write a file larger "
		    "than %lld MB and was stopped.", stage, cfg.child_fsize_mb);
		break;
	case SIGKILL:
		seterr(err, errlen, "The %s step was killed (SIGKILL), perhaps "
		    "for using too much memory or CPU time.", stage);
		break;
	default:
		seterr(err, errlen, "The %s step crashed (%s).", stage,
		    strsignal(sig));
		break;
	}
}

/* Why the parent stopped a child (NONE: it ran to its end). */
enum stop_why { NONE, R_LOST, R_DB, R_ENDED, R_TIMEOUT, R_HAND_BACK };

/* The parent's watch over one child. */
struct watch {
	struct runner	*r;
	struct task	*t;
	pid_t		 pid;
	int		 fd;		/* the pipe from the child */
	struct buf	 in;		/* what it sent, not yet a whole line */
	char		 msg[256];	/* its last progress message */
	long long	 start, deadline, next_hb, hb_every, last_flush;
	long long	 term_at;	/* runner stopping: hand back then */
	long long	 kill_at;	/* cancelled: SIGKILL then */
	int		 status, eof, reaped, have_pct, pct, have_result;
	pid_t		 sub;		/* a process group of its own (yt-dlp) */
	enum stop_why	 why;
};

/* Signal the child's process group and the one it started (yt-dlp). */
static void
kill_group(struct watch *w, int sig)
{
	if (kill(-w->pid, sig) == -1)
		kill(w->pid, sig);
	if (w->sub > 0 && sig == SIGKILL)
		kill(-w->sub, sig);
}

/* PGID when it names a process group led by a child of PID (what a task
 * child may ask the runner to kill with it), else 0. */
static pid_t
own_group(pid_t pid, long long pgid)
{
	char path[64], stat[512], *p;
	long long ppid, pgrp;
	FILE *f;
	size_t n;

	if (pgid <= 1 || pgid > INT32_MAX)
		return 0;
	snprintf(path, sizeof(path), "/proc/%lld/stat", pgid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	/* "pid (comm) state ppid pgrp ...": comm may hold anything */
	if ((p = strrchr(stat, ')')) == NULL ||
	    sscanf(p + 1, " %*c %lld %lld", &ppid, &pgrp) != 2)
		return 0;
	return ppid == pid && pgrp == pgid ? (pid_t)pgid : 0;
}

/* Parse one line from the child; the result goes to OUT. */
static void
child_line(struct watch *w, const char *line, struct outcome *out)
{
	struct runner *r = w->r;
	struct task *t = w->t;
	json_t *o, *v;
	const char *type, *s, *kind;
	char err[512];
	long long rc;

	if ((o = json_loads(line, 0, NULL)) == NULL || !json_is_object(o) ||
	    (type = json_string_value(json_object_get(o, "t"))) == NULL) {
		log_ev(LOG_WARN, "child_bad_message", "{sI}", "task", t->id);
		json_decref(o);
		return;
	}
	if (strcmp(type, "p") == 0) {
		v = json_object_get(o, "pct");
		w->pct = json_is_integer(v) ? (int)json_integer_value(v) : 0;
		s = json_string_value(json_object_get(o, "msg"));
		snprintf(w->msg, sizeof(w->msg), "%s", s ? s : "");
		w->have_pct = 1;
	} else if (strcmp(type, "e") == 0) {
		kind = json_string_value(json_object_get(o, "kind"));
		if (kind != NULL && rq_task_event(r->c, t, kind,
		    json_string_value(json_object_get(o, "msg")),
		    json_object_get(o, "data"), err, sizeof(err)) == -1)
			log_ev(LOG_WARN, "event_failed", "{sIss}", "task", t->id,
			    "error", err);
	} else if (strcmp(type, "r") == 0) {
		v = json_object_get(o, "rc");
		rc = json_is_integer(v) ? json_integer_value(v) : -1;
		if (rc < STAGE_OK || rc > STAGE_CANCELLED)
			rc = STAGE_TRANSIENT;
		out->rc = (enum stage_rc)rc;
		s = json_string_value(json_object_get(o, "err"));
		snprintf(out->err, sizeof(out->err), "%s", s ? s : "");
		v = json_object_get(o, "result");
		json_decref(out->result);
		out->result = json_is_object(v) ? json_incref(v) : NULL;
		w->have_result = 1;
	} else if (strcmp(type, "o") == 0) {
		/* Not after the task was taken from us or its job ended:
		 * rq_output() checks both. */
		if (w->why == NONE && rq_output(r->c, &r->id,
		    stage_find(t->stage), t, json_object_get(o, "data"), err,
		    sizeof(err)) == RQ_ERR)
			log_ev(LOG_WARN, "output_failed", "{sIss}", "task", t->id,
			    "error", err);
	} else if (strcmp(type, "g") == 0) {
		v = json_object_get(o, "pgid");
		w->sub = json_is_integer(v) ? own_group(w->pid,
		    json_integer_value(v)) : 0;
	}
	json_decref(o);
}

/* Read what the child sent into IN: 1 when something was read, 0 when
 * nothing is there now (EOF sets *EOF), -1 past the size cap. */
static int
read_child(int fd, struct buf *in, int *eof)
{
	char chunk[8192];
	ssize_t n;

	n = read(fd, chunk, sizeof(chunk));
	if (n == 0)
		*eof = 1;
	if (n <= 0)
		return 0;
	return buf_add(in, chunk, (size_t)n) == -1 ? -1 : 1;
}

/* Handle every complete line in IN (when USE is set), keep the rest. */
static void
child_lines(struct watch *w, int use, struct outcome *out)
{
	struct buf *in = &w->in;
	char *nl;
	size_t used;

	while (in->len > 0 && (nl = memchr(in->data, '\n', in->len)) != NULL) {
		*nl = '\0';
		if (use)
			child_line(w, in->data, out);
		used = (size_t)(nl - in->data) + 1;
		memmove(in->data, nl + 1, in->len - used);
		in->len -= used;
	}
}

void
child_feed(struct runner *r, struct task *t, struct buf *in,
    struct outcome *out)
{
	struct watch w;

	memset(&w, 0, sizeof(w));
	w.r = r;
	w.t = t;
	w.pid = -1;		/* no child: a process group is never taken */
	w.in = *in;
	child_lines(&w, 1, out);
	*in = w.in;
}

/* Fork the child for task T of stage ST, W->pid and W->fd its end of
 * the pipe.  0, or -1 with OUT failed. */
static int
child_start(struct watch *w, const struct stage *st, const char *scratch,
    struct outcome *out)
{
	int fds[2];
	pid_t parent = getpid();

	if (pipe2(fds, O_CLOEXEC) == -1) {
		out->kind = OUT_FAILED;
		seterr(out->err, sizeof(out->err), "The %s step could not "
		    "start (pipe: %s).", w->t->stage, strerror(errno));
		return -1;
	}
	w->start = now_ms();
	if ((w->pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		out->kind = OUT_FAILED;
		seterr(out->err, sizeof(out->err), "The %s step could not "
		    "start (fork: %s).", w->t->stage, strerror(errno));
		return -1;
	}
	if (w->pid == 0) {
		close(fds[0]);
		child_main(w->r, st, w->t, scratch, fds[1], parent);
	}
	close(fds[1]);
	w->fd = fds[0];
	fcntl(w->fd, F_SETFL, O_NONBLOCK);
	setpgid(w->pid, w->pid);	/* both sides: no race with kill(-pid) */
	log_ev(LOG_INFO, "task_started", "{sIsIsssisi}", "task", w->t->id,
	    "job", w->t->job_id, "stage", w->t->stage, "attempt",
	    w->t->attempts, "child", (int)w->pid);
	return 0;
}

/* How long (ms) the parent may sleep at NOW before something is due. */
static long long
watch_wait(const struct watch *w, long long now)
{
	long long wait = w->next_hb - now;

	if (w->deadline - now < wait)
		wait = w->deadline - now;
	if (w->have_pct && w->last_flush + DEBOUNCE_MS - now < wait)
		wait = w->last_flush + DEBOUNCE_MS - now;
	if (w->term_at && w->term_at - now < wait)
		wait = w->term_at - now;
	if (w->kill_at && w->kill_at - now < wait)
		wait = w->kill_at - now;
	if (w->eof && wait > 50)
		wait = 50;	/* waiting for the exit only */
	return wait < 0 ? 0 : wait;
}

/* Wait up to WAIT ms for the child's output, read it, reap the child
 * once it exits; its lines go to OUT. */
static void
watch_io(struct watch *w, long long wait, struct outcome *out)
{
	struct pollfd pfd[2] = { { w->eof ? -1 : w->fd, POLLIN, 0 },
	    { w->why == R_DB ? -1 : PQsocket(w->r->c), POLLIN, 0 } };
	struct rusage ru;

	if (poll(pfd, 2, (int)wait) > 0 && pfd[0].revents != 0 &&
	    read_child(w->fd, &w->in, &w->eof) == -1) {
		/* A message too big to be one: a broken child. */
		kill_group(w, SIGKILL);
		w->eof = 1;
	}
	/* The connection broke (a NOTIFY is kept for later): the runner's
	 * lock went with it, the task may be rescued and run again, so this
	 * child must not go on. */
	if (pfd[1].revents != 0 && w->why == NONE &&
	    (PQconsumeInput(w->r->c) == 0 || db_lost(w->r->c))) {
		log_ev(LOG_ERROR, "database_lost", "{sssIss}", "during", "task",
		    "task", w->t->id, "error", PQerrorMessage(w->r->c));
		w->r->db_lost = w->r->lost_logged = 1;
		w->why = R_DB;
		kill_group(w, SIGKILL);
	}
	if (!w->reaped && wait4(w->pid, &w->status, WNOHANG, &ru) == w->pid) {
		w->reaped = 1;
		out->cpu_ms = (long long)(ru.ru_utime.tv_sec +
		    ru.ru_stime.tv_sec) * 1000 + (ru.ru_utime.tv_usec +
		    ru.ru_stime.tv_usec) / 1000;
		out->peak_rss_kb = ru.ru_maxrss;
		/* Take what is left; a grandchild that still holds the pipe
		 * open is of no interest. */
		while (!w->eof && read_child(w->fd, &w->in, &w->eof) == 1)
			;
		w->eof = 1;
	}
	child_lines(w, w->why == NONE || w->why == R_ENDED, out);
}

/* Tell the database at NOW: progress (debounced) or a heartbeat when one
 * is due, and act on its answer (the task lost, the job ended). */
static void
watch_report(struct watch *w, long long now)
{
	struct runner *r = w->r;
	enum rq_state s = RQ_MINE;
	char err[512];

	/* Once the result is in, the completing UPDATE is the check. */
	if (w->why == NONE && w->have_pct && !w->have_result &&
	    now - w->last_flush >= DEBOUNCE_MS) {
		w->have_pct = 0;
		w->last_flush = now;
		w->next_hb = now + w->hb_every;
		s = rq_progress(r->c, &r->id, w->t, w->pct, w->msg, err,
		    sizeof(err));
	} else if (w->why == NONE && now >= w->next_hb && !w->reaped &&
	    !w->have_result) {
		w->next_hb = now + w->hb_every;
		s = rq_heartbeat(r->c, &r->id, w->t, err, sizeof(err));
	}
	if (s == RQ_ERR) {
		log_ev(LOG_WARN, "heartbeat_failed", "{sIss}", "task",
		    w->t->id, "error", err);
		if (db_lost(r->c)) {
			w->why = R_DB;
			kill_group(w, SIGKILL);
		}
	} else if (s == RQ_LOST) {
		w->why = R_LOST;
		kill_group(w, SIGKILL);
	} else if (s == RQ_ENDED) {
		/* The job was cancelled: ask the stage to stop, then make
		 * sure. */
		w->why = R_ENDED;
		kill_group(w, SIGTERM);
		w->kill_at = now + KILL_GRACE_MS;
	}
}

/* The clocks at NOW: the timeout, the hand-back at shutdown, the kill
 * after a cancel's grace. */
static void
watch_clocks(struct watch *w, long long now)
{
	if (w->why == NONE && now >= w->deadline && !w->reaped) {
		w->why = R_TIMEOUT;
		kill_group(w, SIGKILL);
	}
	if (w->why == NONE && w->term_at && now >= w->term_at && !w->reaped) {
		w->why = R_HAND_BACK;
		kill_group(w, SIGKILL);
	}
	if (w->kill_at && now >= w->kill_at && !w->reaped) {
		kill_group(w, SIGKILL);
		w->kill_at = 0;
	}
}

/* What the watch came to, into OUT. */
static void
watch_outcome(const struct watch *w, struct outcome *out)
{
	switch (w->why) {
	case R_LOST:
		out->kind = OUT_LOST;
		return;
	case R_DB:
		out->kind = OUT_DB_LOST;
		return;
	case R_ENDED:
		out->kind = OUT_CANCELLED;
		return;
	case R_HAND_BACK:
		out->kind = OUT_HAND_BACK;
		return;
	case R_TIMEOUT:
		out->kind = OUT_FAILED;
		seterr(out->err, sizeof(out->err), "The %s step took longer "
		    "than %lld s and was stopped.", w->t->stage,
		    task_wall_s(w->t));
		return;
	case NONE:
		break;
	}
	if (w->have_result) {
		out->kind = OUT_RESULT;
		return;
	}
	out->kind = OUT_FAILED;
	describe_status(w->t, w->status, out->err, sizeof(out->err));
}

void
run_isolated(struct runner *r, const struct stage *st, struct task *t,
    const char *scratch, struct outcome *out)
{
	struct watch w;
	long long now;

	memset(out, 0, sizeof(*out));
	out->cpu_ms = out->peak_rss_kb = -1;
	memset(&w, 0, sizeof(w));
	w.r = r;
	w.t = t;
	w.why = NONE;
	if (child_start(&w, st, scratch, out) == -1)
		return;
	buf_init(&w.in, MAX_LINE);
	w.deadline = w.start + task_wall_s(t) * 1000;
	w.hb_every = cfg.lease * 1000 / 3;
	if (w.hb_every < 200)
		w.hb_every = 200;
	if (w.hb_every > 10000)
		w.hb_every = 10000;
	w.next_hb = w.start + w.hb_every;
	while (!(w.eof && w.reaped)) {
		now = now_ms();
		if (runner_stopping && w.term_at == 0) {
			w.term_at = now + cfg.term_grace * 1000;
			log_ev(LOG_INFO, "term_waiting", "{sIsI}", "task", t->id,
			    "grace_s", cfg.term_grace);
		}
		watch_io(&w, watch_wait(&w, now), out);
		now = now_ms();
		watch_report(&w, now);
		watch_clocks(&w, now);
	}
	/* Leave nothing of the task's process group behind. */
	kill(-w.pid, SIGKILL);
	if (w.sub > 0)
		kill(-w.sub, SIGKILL);
	close(w.fd);
	buf_free(&w.in);
	out->ms = now_ms() - w.start;
	watch_outcome(&w, out);
}
