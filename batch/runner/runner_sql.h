/*
 * The runner's side of the queue (runner_sql.c): claim, heartbeat,
 * progress, complete, fail, hand back, rescue and maintenance.  Every
 * statement that writes a claimed task matches its id AND runner AND
 * attempt AND state = 'running', so the late result of a task that was
 * rescued and claimed again is refused, never recorded.
 *
 * Functions return 0 (or a count) on success and -1 with ERR on a database
 * error; the caller tells a lost connection from other errors with
 * db_lost().  Each runs its own transaction unless it says otherwise.
 */
#ifndef CLIPMILL_RUNNER_SQL_H
#define CLIPMILL_RUNNER_SQL_H

#include <stddef.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "queue.h"

struct stage;
struct store;

/* Who holds a task: "host:pid" plus the key of the session advisory lock
 * the runner holds for its whole life (tasks.runner_lock). */
struct runner_id {
	char		 name[96];
	long long	 lock;
};

/* Advisory lock key (bigint form) under which maintenance runs. */
#define MAINT_LOCK "7164903486720158061"

/* Take a fresh session advisory lock for this runner and fill ID.  0/-1. */
int	rq_register(PGconn *, struct runner_id *, char *err, size_t errlen);

/* Try to win one of CAP concurrency slots of STAGE (session advisory lock
 * on (hash(stage), slot)).  Returns the slot number, -2 when all are
 * taken, -1 on error.  The slot is held until the session ends. */
int	rq_take_slot(PGconn *, const char *stage, long long cap, char *err,
	    size_t errlen);

/*
 * Claim up to N due pending tasks of STAGE in one statement (committed at
 * once).  The job becomes 'running' if it was pending.  With EVENTS (only
 * when N is 1), a "stage_started" event is added too.  Fills OUT[0..] with
 * allocated tasks (caller task_free()s them); returns how many, or -1.
 */
int	rq_claim(PGconn *, const struct runner_id *, const char *stage, int n,
	    int events, struct task **out, char *err, size_t errlen);

/* Seconds until the next pending task of one of STAGES is due: 0 when one
 * is due now, a negative number when there is none, -1e9 on error. */
double	rq_next_due(PGconn *, const char *const *stages, int nstages,
	    char *err, size_t errlen);

/* Outcomes of the calls that touch one claimed task. */
enum rq_state {
	RQ_ERR = -1,
	RQ_MINE = 0,	/* still ours, job live */
	RQ_LOST = 1,	/* no longer ours: rescued, reclaimed or ended */
	RQ_ENDED = 2	/* still ours but its job has ended (cancelled) */
};

/* Heartbeat: the task's heartbeat_at = now() (database clock). */
enum rq_state rq_heartbeat(PGconn *, const struct runner_id *,
	    const struct task *, char *err, size_t errlen);

/* Record progress (task row, a "progress" event, NOTIFY with the job id)
 * and heartbeat.  MSG may be NULL. */
enum rq_state rq_progress(PGconn *, const struct runner_id *,
	    const struct task *, int pct, const char *msg, char *err,
	    size_t errlen);

/* A user-visible event for the task's job: DATA (not stolen, may be NULL)
 * plus "msg".  0/-1. */
int	rq_task_event(PGconn *, const struct task *, const char *kind,
	    const char *msg, json_t *data, char *err, size_t errlen);

/* What a running task reported about one of its outputs (DATA, for
 * ST's output() hook), recorded in a transaction of its own when the
 * task is still ours and its job live: RQ_MINE, RQ_LOST, RQ_ENDED (not
 * recorded), RQ_ERR. */
enum rq_state rq_output(PGconn *, const struct runner_id *,
	    const struct stage *, const struct task *, json_t *data,
	    char *err, size_t errlen);

/* Complete a task: mark it done, run the stage's done() hook (which adds
 * the next tasks), add a "stage_done" event when EVENTS, and settle the
 * job when none of its tasks is left, all in one transaction.  RQ_MINE on
 * success, RQ_LOST when the result was refused (not ours any more),
 * RQ_ENDED when the job had ended (the task is marked cancelled). */
enum rq_state rq_complete(PGconn *, const struct runner_id *,
	    const struct stage *, const struct task *, json_t *result,
	    long long ms, int events, char *err, size_t errlen);

/* Complete N tasks of a batch stage (no per-task events, no done() hook)
 * in one transaction; returns how many were still ours, or -1. */
int	rq_complete_batch(PGconn *, const struct runner_id *,
	    struct task *const *tasks, int n, char *err, size_t errlen);

/* A failed attempt.  TRANSIENT with attempts left: back to pending after
 * an exponential backoff with jitter (cfg.retry_base), "retry" event.
 * PERMANENT, or no attempts left: the task fails; a job-level task fails
 * its job with MSG, a per-clip task fails its clip (and the clips its
 * payload lists as "outputs" that are still pending), then the job
 * settles. */
enum rq_state rq_fail(PGconn *, const struct runner_id *, const struct task *,
	    int permanent, const char *msg, char *err, size_t errlen);

/* The task stopped because its job was cancelled: mark it cancelled. */
enum rq_state rq_cancelled(PGconn *, const struct runner_id *,
	    const struct task *, char *err, size_t errlen);

/* Shutting down (SIGTERM): hand the task back to pending, due now, without
 * counting the attempt. */
enum rq_state rq_hand_back(PGconn *, const struct runner_id *,
	    const struct task *, char *err, size_t errlen);

/* Backoff before attempt ATTEMPTS+1, in seconds: d = base * 2^(attempts-1)
 * plus a uniformly random jitter in [0, d), so retries of tasks that
 * failed together spread out and the first retry waits at least BASE. */
double	rq_backoff(double base, int attempts);

/*
 * Rescue, under pg_try_advisory_xact_lock(MAINT_LOCK): running tasks
 * whose runner's session lock is gone, or whose heartbeat is older than
 * cfg.lease (database clock), go back to pending (attempt counted), or
 * fail when they have used all their attempts; live jobs with no task
 * left are settled.  Returns the number of tasks rescued, -2 when another
 * session holds the maintenance lock, -1 on error.
 */
int	rq_rescue(PGconn *, char *err, size_t errlen);

/* Maintenance (cron): rescue, then queue_prune(), under the same lock.
 * *RESCUED and *PRUNED get the counts.  0, -2 when skipped, -1. */
int	rq_maintenance(PGconn *, struct store *, int *rescued, int *pruned,
	    char *err, size_t errlen);

/* In the caller's transaction, with the job row locked: when job JOB_ID
 * is live and none of its tasks is pending or running, end it: done when
 * it has no clips or all are ready, partial when some are, failed when
 * none are.  0/-1. */
int	rq_settle_job(PGconn *, long long job_id, char *err, size_t errlen);

#endif
