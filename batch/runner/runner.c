/*
 * The runner's main loop: win a concurrency slot per capped stage, claim,
 * run, record, and wait on LISTEN when there is nothing to do.
 *
 * Which stages run where: a stage with `isolated` set runs each task in a
 * forked child with resource limits (child.c); the others run
 * in-process, and those with `batch` > 1 claim and complete that many
 * tasks per statement (the test stage "noop" does; it is how the queue
 * reaches its throughput).  In-process stages must be short (under the
 * lease, or report progress, which heartbeats) and must not crash: a
 * crash there takes the runner with it (its tasks are rescued).
 *
 * The runner holds a session advisory lock named after itself for its
 * whole life (runner_sql.c), so when it dies its running tasks are
 * rescued at once by any other runner's rescue pass (every second while
 * it has nothing to do, and between tasks).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "runner.h"
#include "store.h"
#include "util.h"

#define RESCUE_EVERY_MS	1000	/* rescue pass and slot retry, at most */
#define MAX_BATCH	4096
#define DB_RETRIES	3	/* a deadlock or the like: try again */

volatile sig_atomic_t runner_stopping;

static void
on_term(int sig)
{
	(void)sig;
	runner_stopping = 1;
}

void
runner_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: poll() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Note a database error: log it, and remember when the connection is
 * gone (the caller then exits EXIT_DB).  Returns 1 when it is gone. */
static int
db_trouble(struct runner *r, const char *what, const char *err)
{
	if (db_lost(r->c)) {
		if (!r->lost_logged)
			log_ev(LOG_ERROR, "database_lost", "{ssss}", "during",
			    what, "error", err);
		r->db_lost = r->lost_logged = 1;
		return 1;
	}
	log_ev(LOG_WARN, "database_error", "{ssss}", "during", what, "error",
	    err);
	return 0;
}

/* Record OUT for task T (single-task stages); retried on passing errors. */
static void
record(struct runner *r, const struct stage *st, struct task *t,
    struct outcome *out)
{
	char err[1024];
	enum rq_state s = RQ_ERR;
	int i, permanent;
	const char *what = "complete";

	for (i = 0; i < DB_RETRIES && !r->db_lost; i++) {
		switch (out->kind) {
		case OUT_RESULT:
			if (out->rc == STAGE_OK) {
				what = "complete";
				s = rq_complete(r->c, &r->id, st, t, out->result,
				    out->ms, 1, err, sizeof(err));
				break;
			}
			if (out->rc == STAGE_CANCELLED && runner_stopping) {
				what = "hand_back";
				s = rq_hand_back(r->c, &r->id, t, err,
				    sizeof(err));
				break;
			}
			if (out->rc == STAGE_CANCELLED) {
				/* Stopped, but not for a cancelled job (that
				 * is OUT_CANCELLED): an attempt that failed. */
				what = "fail";
				s = rq_fail(r->c, &r->id, t, 0, "The step stopped "
				    "before it finished.", err, sizeof(err));
				break;
			}
			/* FALLTHROUGH */
		case OUT_FAILED:
			what = "fail";
			permanent = out->kind == OUT_RESULT &&
			    out->rc == STAGE_PERMANENT;
			s = rq_fail(r->c, &r->id, t, permanent,
			    out->err[0] ? out->err : NULL, err, sizeof(err));
			break;
		case OUT_CANCELLED:
			what = "cancel";
			s = rq_cancelled(r->c, &r->id, t, err, sizeof(err));
			break;
		case OUT_HAND_BACK:
			what = "hand_back";
			s = rq_hand_back(r->c, &r->id, t, err, sizeof(err));
			break;
		case OUT_LOST:
			log_ev(LOG_WARN, "task_lost", "{sIsssi}", "task", t->id,
			    "stage", t->stage, "attempt", t->attempts);
			return;
		case OUT_DB_LOST:
			r->db_lost = 1;
			return;
		}
		if (s != RQ_ERR)
			break;
		if (db_trouble(r, what, err))
			return;
		usleep(100000);
	}
	if (s == RQ_LOST) {
		/* Rescued while we worked, and maybe run again: the late
		 * result must not count. */
		log_ev(LOG_WARN, "late_result_discarded", "{sIsssiss}", "task",
		    t->id, "stage", t->stage, "attempt", t->attempts, "action",
		    what);
		return;
	}
	if (s == RQ_ERR && !r->db_lost && out->kind == OUT_RESULT &&
	    out->rc == STAGE_OK) {
		/* The result could not be recorded (a done() hook that keeps
		 * failing): a failed attempt, rather than a task left running
		 * until its lease runs out. */
		char msg[1024];

		log_ev(LOG_ERROR, "record_failed", "{sIssss}", "task", t->id,
		    "stage", t->stage, "error", err);
		seterr(msg, sizeof(msg), "The %s step's result could not be "
		    "recorded.", t->stage);
		s = rq_fail(r->c, &r->id, t, 0, msg, err, sizeof(err));
		if (s == RQ_ERR)
			db_trouble(r, "fail", err);
		return;
	}
	if (s == RQ_ERR)
		return;
	if (out->kind == OUT_RESULT && out->rc == STAGE_OK && s == RQ_MINE &&
	    st->committed != NULL)
		st->committed(r->store, t, out->result);
	if (out->kind == OUT_RESULT && out->rc == STAGE_OK)
		log_ev(LOG_INFO, "task_done", "{sIsIsssisIsIsI}", "task", t->id,
		    "job", t->job_id, "stage", t->stage, "attempt", t->attempts,
		    "ms", out->ms, "cpu_ms", out->cpu_ms, "peak_rss_kb",
		    (json_int_t)out->peak_rss_kb);
	else if (out->kind == OUT_RESULT || out->kind == OUT_FAILED)
		log_ev(LOG_WARN, "task_failed", "{sIsIsssisiss}", "task", t->id,
		    "job", t->job_id, "stage", t->stage, "attempt", t->attempts,
		    "permanent", out->kind == OUT_RESULT &&
		    out->rc == STAGE_PERMANENT, "error", out->err);
	else
		log_ev(LOG_INFO, out->kind == OUT_HAND_BACK ? "task_handed_back" :
		    "task_cancelled", "{sIsssi}", "task", t->id, "stage",
		    t->stage, "attempt", t->attempts);
}

/* Run one task of an in-process stage, without batching. */
static void
run_inproc(struct runner *r, const struct stage *st, struct task *t,
    const char *scratch, struct outcome *out)
{
	struct ctx_priv pv = { r, RQ_MINE };
	struct task_ctx ctx;
	long long start = now_ms();

	memset(&ctx, 0, sizeof(ctx));
	ctx.task = t;
	ctx.store = r->store;
	ctx.scratch = scratch;
	ctx.fd = -1;
	ctx.priv = &pv;
	out->kind = OUT_RESULT;
	out->cpu_ms = out->peak_rss_kb = -1;	/* the runner's own */
	out->rc = st->run(&ctx, &out->result, out->err, sizeof(out->err));
	out->ms = now_ms() - start;
	if (r->db_lost)
		out->kind = OUT_DB_LOST;
	else if (pv.state == RQ_LOST)
		out->kind = OUT_LOST;
	else if (pv.state == RQ_ENDED)
		out->kind = OUT_CANCELLED;
	else if (out->rc == STAGE_CANCELLED && runner_stopping)
		out->kind = OUT_HAND_BACK;
}

/* Run and record one claimed task of a single-task stage. */
static void
run_one(struct runner *r, const struct stage *st, struct task *t)
{
	struct outcome out;
	char scratch[4096] = "", err[512];
	int fd = -1;

	memset(&out, 0, sizeof(out));
	if (scratch_make(t, scratch, sizeof(scratch), &fd, err,
	    sizeof(err)) == -1) {
		/* The host's problem, not the task's: try again later. */
		log_ev(LOG_ERROR, "scratch_failed", "{ss}", "error", err);
		out.kind = OUT_FAILED;
		seterr(out.err, sizeof(out.err), "The %s step could not start "
		    "(no scratch space on the runner).", t->stage);
		scratch[0] = '\0';
	} else if (st->isolated)
		run_isolated(r, st, t, scratch, &out);
	else {
		log_ev(LOG_INFO, "task_started", "{sIsIsssi}", "task", t->id,
		    "job", t->job_id, "stage", t->stage, "attempt", t->attempts);
		run_inproc(r, st, t, scratch, &out);
	}
	record(r, st, t, &out);
	json_decref(out.result);
	scratch_remove(scratch, fd);
}

/* Run the N claimed tasks of a batch stage in-process and complete the
 * good ones with one statement; the others go one by one. */
static void
run_batch(struct runner *r, const struct stage *st, struct task **ts, int n)
{
	struct task *ok[MAX_BATCH];
	struct outcome out;
	char err[1024];
	int i, nok = 0, k = -1;

	for (i = 0; i < n; i++) {
		memset(&out, 0, sizeof(out));
		run_inproc(r, st, ts[i], NULL, &out);
		if (out.kind == OUT_RESULT && out.rc == STAGE_OK &&
		    st->done == NULL)
			ok[nok++] = ts[i];
		else
			record(r, st, ts[i], &out);
		json_decref(out.result);
		if (r->db_lost)
			return;
	}
	for (i = 0; i < DB_RETRIES && nok > 0; i++) {
		if ((k = rq_complete_batch(r->c, &r->id, ok, nok, err,
		    sizeof(err))) >= 0)
			break;
		if (db_trouble(r, "complete_batch", err))
			return;
		usleep(100000);
	}
	if (k >= 0 && k < nok)
		log_ev(LOG_WARN, "late_result_discarded", "{sssi}", "stage",
		    st->name, "tasks", nok - k);
}

/* Claim and run one round of STAGE; the number of tasks run, or -1 when
 * the database connection is gone. */
static int
claim_and_run(struct runner *r, const struct stage *st, long long left)
{
	struct task *ts[MAX_BATCH];
	char err[1024];
	int n, want, i, batch = !st->isolated && st->batch > 1;

	want = batch ? st->batch : 1;
	if (want > MAX_BATCH)
		want = MAX_BATCH;
	if (left > 0 && want > left)
		want = (int)left;
	n = rq_claim(r->c, &r->id, st->name, want, !batch, ts, err, sizeof(err));
	if (n < 0)
		return db_trouble(r, "claim", err) ? -1 : 0;
	if (n == 0)
		return 0;
	if (r->woken && r->wake_fd >= 0) {
		/* more may be due: the listener wakes the next runner */
		r->woken = 0;
		if (wake_send(r->wake_fd, "more", st->name) == -1) {
			close(r->wake_fd);
			r->wake_fd = -1;
		}
	}
	if (batch)
		run_batch(r, st, ts, n);
	else
		for (i = 0; i < n; i++)
			run_one(r, st, ts[i]);
	for (i = 0; i < n; i++)
		task_free(ts[i]);
	return r->db_lost ? -1 : n;
}

/*
 * Wait up to MS for a NOTIFY on CHAN_TASKS naming one of our stages.
 * Returns 1 when woken for our stages, 0 on timeout or signal, -1 when
 * the connection is gone.
 */
static int
wait_notify(struct runner *r, long long ms)
{
	struct pollfd pfd;
	PGnotify *nf;
	int i, ours = 0;

	for (;;) {
		if (PQconsumeInput(r->c) == 0)
			return -1;
		while ((nf = PQnotifies(r->c)) != NULL) {
			for (i = 0; i < r->o->nstages; i++)
				if (strcmp(nf->extra, r->o->stages[i]->name) == 0)
					ours = 1;
			PQfreemem(nf);
		}
		if (ours)
			return 1;
		if (ms <= 0 || runner_stopping)
			return 0;
		pfd.fd = PQsocket(r->c);
		pfd.events = POLLIN;
		if (pfd.fd < 0)
			return -1;
		long long t0 = now_ms();
		int pr = poll(&pfd, 1, (int)ms);
		if (pr == -1 && errno != EINTR)
			return -1;
		if (pr <= 0)
			return 0;
		ms -= now_ms() - t0;
	}
}

/* Connect, check the schema, open the store; an exit code. */
static int
open_runner(struct runner *r)
{
	char err[1024];

	if ((r->c = db_connect(err, sizeof(err))) == NULL) {
		log_ev(LOG_ERROR, "database_unreachable", "{ss}", "error", err);
		return EXIT_DB;
	}
	if (db_check_schema(r->c, err, sizeof(err)) == -1) {
		log_ev(LOG_ERROR, db_lost(r->c) ? "database_lost" : "schema_mismatch",
		    "{ss}", "error", err);
		return db_lost(r->c) ? EXIT_DB : EXIT_FAIL;
	}
	if ((r->store = store_open(err, sizeof(err))) == NULL) {
		log_ev(LOG_ERROR, "store_unavailable", "{ss}", "error", err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The main loop's state: which stages this runner may claim (a capped
 * stage needs a slot first), and its clocks. */
struct loop {
	const char	*names[MAX_RUN_STAGES];
	const char	*list;			/* "a,b" */
	int		 slot[MAX_RUN_STAGES];	/* -1: none held yet */
	int		 told_full[MAX_RUN_STAGES];
	long long	 done, last_work, last_rescue;
	int		 notified;
};

static int	take_slots(struct runner *, struct loop *);
static int	session_start(struct runner *);

/* The rescue pass, and a slot for each capped stage that has none yet.
 * -1 when the database is lost. */
static int
rescue_and_slots(struct runner *r, struct loop *l)
{
	char err[1024];

	if (rq_rescue(r->c, err, sizeof(err)) == -1 &&
	    db_trouble(r, "rescue", err))
		return -1;
	return take_slots(r, l);
}

/* A slot for each capped stage that has none yet; -1 when the database
 * is lost. */
static int
take_slots(struct runner *r, struct loop *l)
{
	const struct runner_opts *o = r->o;
	char err[1024];
	int i;

	/* a stage whose slots were all taken: try again */
	for (i = 0; i < o->nstages; i++) {
		if (l->slot[i] >= 0)
			continue;
		l->slot[i] = rq_take_slot(r->c, l->names[i], *o->stages[i]->cap,
		    err, sizeof(err));
		if (l->slot[i] == -1 && db_trouble(r, "slot", err))
			return -1;
		if (l->slot[i] >= 0) {
			log_ev(LOG_INFO, "slot_taken", "{sssisI}", "stage",
			    l->names[i], "slot", l->slot[i], "cap",
			    *o->stages[i]->cap);
			continue;
		}
		if (l->slot[i] == -2 && !l->told_full[i])
			log_ev(LOG_INFO, "slots_full", "{sssI}", "stage",
			    l->names[i], "cap", *o->stages[i]->cap);
		l->told_full[i] = 1;
		l->slot[i] = -1;
	}
	return r->db_lost ? -1 : 0;
}

/* One round of claims over the stages we hold a slot of; how many tasks
 * ran. */
static long long
claim_round(struct runner *r, struct loop *l)
{
	const struct runner_opts *o = r->o;
	long long did = 0, left;
	int i, n;

	for (i = 0; i < o->nstages && !runner_stopping; i++) {
		if (l->slot[i] < 0)
			continue;
		left = o->max_tasks > 0 ? o->max_tasks - l->done : 0;
		if ((n = claim_and_run(r, o->stages[i], left)) < 0)
			break;
		l->done += n;
		did += n;
		if (o->max_tasks > 0 && l->done >= o->max_tasks)
			break;
	}
	return did;
}

static void
listener_gone(struct runner *r)
{
	log_ev(LOG_WARN, "listener_gone", "{ssss}", "socket", cfg.wake_socket,
	    "hint", "this runner LISTENs on its own connection until it exits");
	close(r->wake_fd);
	r->wake_fd = -1;
}

/* Idle with a host listener: wait on it, connected for WAKE_LINGER_MS,
 * then without the connection (and with it the runner lock and the
 * slots: we hold no task) for the rest of WAIT ms, and connect again.
 * 0 to go on, -1 to stop. */
static int
wake_idle(struct runner *r, struct loop *l, long long wait)
{
	const struct runner_opts *o = r->o;
	char err[1024];
	long long warm = wait < WAKE_LINGER_MS ? wait : WAKE_LINGER_MS;
	int i, n;

	n = wake_wait(r->wake_fd, "warm", l->list, warm);
	if (n == -1) {
		listener_gone(r);
		if (db_cmd(r->c, err, sizeof(err), "LISTEN " CHAN_TASKS, 0,
		    NULL) == -1 && db_trouble(r, "listen", err))
			return -1;
		return 0;
	}
	if (n == 1 || runner_stopping || wait == warm) {
		r->woken = l->notified = n == 1;
		return 0;	/* still connected: claim */
	}
	PQfinish(r->c);
	r->c = NULL;
	for (i = 0; i < o->nstages; i++)
		if (o->stages[i]->cap != NULL)
			l->slot[i] = -1;
	if ((n = wake_wait(r->wake_fd, "wait", l->list, wait - warm)) == -1)
		listener_gone(r);
	r->woken = l->notified = n == 1;
	if (runner_stopping)
		return -1;
	if (n == 0 && now_ms() - l->last_work >= o->idle_exit * 1000) {
		log_ev(LOG_INFO, "idle_exit", "{sI}", "idle_s", o->idle_exit);
		return -1;
	}
	if ((r->c = db_connect(err, sizeof(err))) == NULL) {
		log_ev(LOG_ERROR, "database_unreachable", "{ss}", "error", err);
		r->db_lost = r->lost_logged = 1;
		return -1;
	}
	if (session_start(r) != EXIT_OK) {
		r->db_lost = r->lost_logged = 1;
		return -1;
	}
	return take_slots(r, l);
}

/* Idle: sleep until a NOTIFY for our stages, the next delayed task, the
 * next rescue pass, or the idle exit.  0 to go on, -1 to stop. */
static int
idle_wait(struct runner *r, struct loop *l)
{
	const struct runner_opts *o = r->o;
	char err[1024];
	const char *claimable[MAX_RUN_STAGES];
	long long now = now_ms(), wait;
	double due;
	int i, n;

	if (now - l->last_work >= o->idle_exit * 1000) {
		log_ev(LOG_INFO, "idle_exit", "{sI}", "idle_s", o->idle_exit);
		return -1;
	}
	/* with a host listener, it runs the rescue pass */
	wait = r->wake_fd >= 0 ? o->idle_exit * 1000 :
	    l->last_rescue + RESCUE_EVERY_MS - now;
	if (l->last_work + o->idle_exit * 1000 - now < wait)
		wait = l->last_work + o->idle_exit * 1000 - now;
	/* only the stages we may claim now: a capped stage's tasks wait for
	 * a slot, which the rescue pass tries again (asking for them here
	 * would find them due and never sleep) */
	for (i = n = 0; i < o->nstages; i++)
		if (l->slot[i] >= 0)
			claimable[n++] = l->names[i];
	due = n == 0 ? -1 : rq_next_due(r->c, claimable, n, err, sizeof(err));
	if (due < -1e8) {
		if (db_trouble(r, "next_due", err))
			return -1;
	} else if (due >= 0 && due * 1000 < wait)
		wait = (long long)(due * 1000) + 1;
	if (wait <= 0)
		return 0;
	if (r->wake_fd >= 0 && wait >= RESCUE_EVERY_MS)
		return wake_idle(r, l, wait);
	n = wait_notify(r, wait);
	l->notified = n == 1;
	if (n == -1) {
		db_trouble(r, "listen", PQerrorMessage(r->c));
		if (!r->db_lost) {
			/* not lost but unreadable: treat as lost; exit and
			 * let cron restart */
			log_ev(LOG_ERROR, "database_lost", "{ss}", "during",
			    "listen");
			r->db_lost = r->lost_logged = 1;
		}
		return -1;
	}
	return 0;
}

/* On a fresh connection: our session settings, the runner lock, and
 * LISTEN unless the host listener wakes us; an exit code. */
static int
session_start(struct runner *r)
{
	char err[1024];

	/* Claims, heartbeats and progress commit without waiting for the
	 * disk: a claim lost in a crash leaves the task pending (it runs
	 * again, as after any crash); outcomes are recorded durably
	 * (runner_sql.c).  This keeps insert-to-start fast with fsync on. */
	if (db_cmd(r->c, err, sizeof(err), "SET synchronous_commit = off", 0,
	    NULL) == -1 ||
	    rq_register(r->c, &r->id, err, sizeof(err)) == -1 ||
	    (r->wake_fd < 0 && db_cmd(r->c, err, sizeof(err),
	    "LISTEN " CHAN_TASKS, 0, NULL) == -1))
		return db_trouble(r, "start", err) ? EXIT_DB : EXIT_FAIL;
	return EXIT_OK;
}

/* Connect and get ready to claim; an exit code. */
static int
runner_start(struct runner *r, const char *names)
{
	char err[1024];
	int rc;

	if (sandbox_media_user(&r->media, err, sizeof(err)) == -1) {
		log_ev(LOG_ERROR, "config_invalid", "{ss}", "error", err);
		return EXIT_FAIL;
	}
	if (cfg.media_user[0] != '\0' && !r->media.on)
		log_ev(LOG_WARN, "media_user_ignored", "{ssss}", "user",
		    cfg.media_user, "why", "the runner is not root");
	else if (cfg.media_user[0] == '\0' && geteuid() == 0)
		log_ev(LOG_WARN, "media_children_as_root", "{ss}", "hint",
		    "set media_user to an unprivileged user");
	/* Other processes of our user (a media child) may not trace us or
	 * read our memory. */
	prctl(PR_SET_DUMPABLE, 0);
	if ((rc = open_runner(r)) != EXIT_OK)
		return rc;
	if (mkdir_p(cfg.scratch_dir, 0755) == -1) {
		log_ev(LOG_ERROR, "scratch_unavailable", "{ssss}", "dir",
		    cfg.scratch_dir, "error", strerror(errno));
		return EXIT_FAIL;
	}
	/* With a host listener (wake_socket), wait on it, disconnected,
	 * when idle; without one, LISTEN on our own connection. */
	r->wake_fd = *cfg.wake_socket != '\0' && !r->o->once ?
	    wake_connect() : -1;
	if ((rc = session_start(r)) != EXIT_OK)
		return rc;
	log_ev(LOG_INFO, "runner_started", "{sssssIsi}", "runner", r->id.name,
	    "stages", names, "idle_exit", r->o->idle_exit, "once", r->o->once);
	return EXIT_OK;
}

int
runner_main(const struct runner_opts *o)
{
	struct runner r;
	struct loop l;
	char names[1024] = "";
	long long did;
	int i, rc;

	memset(&r, 0, sizeof(r));
	memset(&l, 0, sizeof(l));
	r.o = o;
	r.wake_fd = -1;
	l.list = names;
	runner_signals();
	for (i = 0; i < o->nstages; i++) {
		l.names[i] = o->stages[i]->name;
		l.slot[i] = o->stages[i]->cap != NULL ? -1 : 0;
		if (i > 0)
			strncat(names, ",", sizeof(names) - strlen(names) - 1);
		strncat(names, o->stages[i]->name, sizeof(names) - strlen(names) - 1);
	}
	if ((rc = runner_start(&r, names)) != EXIT_OK)
		goto out;
	l.last_work = now_ms();
	while (!runner_stopping && !r.db_lost) {
		if (o->max_tasks > 0 && l.done >= o->max_tasks)
			break;
		/* Woken by a NOTIFY: claim first, rescue after. */
		if (!l.notified && now_ms() - l.last_rescue >= RESCUE_EVERY_MS) {
			l.last_rescue = now_ms();
			if (rescue_and_slots(&r, &l) == -1)
				break;
		}
		l.notified = 0;
		/* A runner must hold a slot of a capped stage to claim. */
		did = claim_round(&r, &l);
		if (r.db_lost)
			break;
		if (did > 0)
			l.last_work = now_ms();
		if (o->once)
			break;
		if (did == 0 && idle_wait(&r, &l) == -1)
			break;
	}
	if (r.db_lost && !r.lost_logged)
		/* noticed inside a task (heartbeat, progress) */
		db_trouble(&r, "task", PQerrorMessage(r.c));
	if (r.db_lost)
		rc = EXIT_DB;
	else if (runner_stopping)
		log_ev(LOG_INFO, "stopped", "{ss}", "signal", "SIGTERM");
	log_ev(rc == EXIT_OK ? LOG_INFO : LOG_ERROR, "runner_exit", "{sIsi}",
	    "tasks", l.done, "code", rc);
out:
	if (r.c != NULL)
		PQfinish(r.c);	/* drops the runner lock and the slots */
	if (r.wake_fd >= 0)
		close(r.wake_fd);
	store_close(r.store);
	return rc;
}

int
runner_maintenance(void)
{
	struct runner r;
	char err[1024];
	int rc, rescued, pruned;

	memset(&r, 0, sizeof(r));
	if ((rc = open_runner(&r)) != EXIT_OK)
		goto out;
	switch (rq_maintenance(r.c, r.store, &rescued, &pruned, err,
	    sizeof(err))) {
	case 0:
		log_ev(LOG_INFO, "maintenance_done", "{sisi}", "rescued", rescued,
		    "pruned", pruned);
		break;
	case -2:
		log_ev(LOG_INFO, "maintenance_skipped", "{ss}", "reason",
		    "another session is doing maintenance");
		break;
	default:
		log_ev(LOG_ERROR, db_lost(r.c) ? "database_lost" :
		    "maintenance_failed", "{ss}", "error", err);
		rc = db_lost(r.c) ? EXIT_DB : EXIT_FAIL;
		break;
	}
out:
	if (r.c != NULL)
		PQfinish(r.c);
	store_close(r.store);
	return rc;
}
