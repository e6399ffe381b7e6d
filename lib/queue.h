/*
 * The job queue in PostgreSQL: jobs, tasks, clips and events (sql/).  All of
 * the queue's SQL lives in queue.c.  Functions taking a PGconn and not
 * saying otherwise run their own transaction; those marked "in the
 * caller's transaction" must be called between BEGIN and COMMIT.
 *
 * NOTIFY channels: "clipmill_events" (payload: job id) after events are
 * added; "clipmill_tasks" (payload: stage name) after tasks become pending.
 */
#ifndef CLIPMILL_QUEUE_H
#define CLIPMILL_QUEUE_H

#include <stddef.h>
#include <jansson.h>
#include <libpq-fe.h>

struct store;

#define CHAN_EVENTS "clipmill_events"
#define CHAN_TASKS  "clipmill_tasks"
/* A user's job list changed (sql/010_doc_notify.sql): the user's id. */
#define CHAN_USER_JOBS "clipmill_user_jobs"

/* A claimed task, as the runner and the stages see it. */
struct task {
	long long	 id;
	long long	 job_id;
	long long	 clip_id;	/* 0 for job-level stages */
	char		 stage[32];
	int		 attempts;	/* this attempt's number, from 1 */
	int		 max_attempts;
	json_t		*payload;	/* the task's payload object */
	json_t		*job;		/* {"id","user_id","source_kind","source_url",
					   "source_key","options":{},"probe":{}} */
};

void	task_free(struct task *);

/*
 * Create a job and its first task (stage "fetch", or FIRST_STAGE when not
 * NULL), with a "submitted" event, in one transaction.  JOB_ID may be a
 * value taken earlier from queue_reserve_job_id() (uploads are stored
 * under jobs/{id}/ before the row exists), or 0.  Returns the job id or -1.
 */
long long queue_submit(PGconn *, long long job_id, long long user_id,
	    const char *source_kind, const char *source_url,
	    const char *source_key, const char *source_name, json_t *options,
	    const char *first_stage, char *err, size_t errlen);
long long queue_reserve_job_id(PGconn *, char *err, size_t errlen);

/* In the caller's transaction: add a pending task; 0 or -1.  The caller
 * sends NOTIFY CHAN_TASKS (queue_notify_stage) once per stage per commit. */
int	queue_add_task(PGconn *, long long job_id, long long clip_id,
	    const char *stage, json_t *payload, char *err, size_t errlen);
int	queue_notify_stage(PGconn *, const char *stage, char *err, size_t errlen);

/* In the caller's transaction: append an event to the job's log (seq is
 * per job, gap-free) and NOTIFY CHAN_EVENTS with the job id.  DATA may be
 * NULL; it is not stolen.  Returns the new seq or -1. */
long long queue_event(PGconn *, long long job_id, const char *kind,
	    const char *stage, json_t *data, char *err, size_t errlen);

/* Cancel a job: pending tasks become cancelled (not webhook deliveries of
 * events already past), running ones stop at their next progress report.  USER_ID 0 means any owner.  Returns 0, 1 when no
 * such job (or not that user's, or already ended), -1 on error. */
int	queue_cancel_job(PGconn *, long long job_id, long long user_id,
	    char *err, size_t errlen);

/* Retry a failed, cancelled or partial job: its failed and cancelled tasks
 * (not webhook deliveries given up) go back to pending with fresh attempts.  Same returns as cancel. */
int	queue_retry_job(PGconn *, long long job_id, long long user_id,
	    char *err, size_t errlen);

#endif

/* Delete ended jobs beyond retention (the newest cfg.keep_completed done or
 * partial jobs and cfg.keep_failed failed or cancelled jobs are kept, and
 * none older than cfg.retention_days days when that is nonzero), with their
 * tasks, clips, events and stored artifacts (jobs/{id}/ and clips/{id}/).
 * Objects are deleted before rows, so a failure leaves rows to try again.
 * Returns the number of jobs pruned, or -1. */
int	queue_prune(PGconn *, struct store *, char *err, size_t errlen);
