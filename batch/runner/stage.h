/*
 * The pipeline's stages.  A stage's run() does the work of one task,
 * usually in a forked child with resource limits (runner.c); it never
 * touches the database.  It reports progress and user-visible events
 * through its task_ctx, leaves big outputs in the store, and returns a small
 * JSON result.  The runner then calls the stage's done() in the completing
 * transaction, which records the result and inserts the next tasks.
 */
#ifndef CLIPMILL_STAGE_H
#define CLIPMILL_STAGE_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "queue.h"
#include "store.h"

enum stage_rc {
	STAGE_OK = 0,
	STAGE_TRANSIENT,	/* retry with backoff: network, 5xx, timeouts */
	STAGE_PERMANENT,	/* fail the job (or the clip) now: bad input */
	STAGE_CANCELLED		/* the job was cancelled */
};

struct task_ctx {
	const struct task *task;
	struct store	*store;
	const char	*scratch;	/* empty private directory, removed after;
					   the child's working directory; NULL
					   for batch stages */
	/* runner's private state */
	int		 fd;		/* pipe to the parent, or -1 in-process */
	void		*priv;
	long long	 last_report_ms;
};

/* Report progress 0..100 with a short message.  Returns 1 when the task
 * must stop (its job was cancelled, or the runner is shutting down), else
 * 0: return STAGE_CANCELLED then.  Reports are debounced to a few per
 * second (each written one is an event and a NOTIFY); a child that does
 * not stop within 2 s of the cancellation is killed. */
int	task_progress(struct task_ctx *, int pct, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Record a user-visible event (a fallback, a skipped step).  DATA is not
 * stolen and may be NULL; MSG is a sentence for the user. */
void	task_event(struct task_ctx *, const char *kind, const char *msg,
	    json_t *data);

/* A report on one output of a task that makes several (render: one per
 * aspect), for the stage's output() hook: DATA (not stolen) is recorded
 * at once, in a transaction of its own, while the task goes on. */
void	task_output(struct task_ctx *, json_t *data);

/* In an isolated child: process group PGID (its leader our child) is
 * to be killed with us; 0 when it is gone.  A no-op in-process. */
void	task_group(struct task_ctx *, pid_t pgid);

struct stage {
	const char	*name;
	int		 isolated;	/* 1: forked child with rlimits */
	int		 test_only;	/* only when cfg.test_stages is set */
	int		 batch;		/* tasks claimed at once (in-process only;
					   > 1: claimed, run and completed that
					   many at a time, without per-task
					   events; with a done(), one by one) */
	const long long	*cap;		/* concurrency cap across hosts, or NULL:
					   point at cfg.cap_<stage> */
	/* Do the work.  *RESULT (new reference) may be left NULL. ERR gets a
	 * sentence for the user on failure. */
	enum stage_rc	(*run)(struct task_ctx *, json_t **result,
			    char *err, size_t errlen);
	/* In the completing transaction: record RESULT, insert next tasks.
	 * NULL: the stage chains to nothing. 0 or -1. */
	int		(*done)(PGconn *, const struct task *, json_t *result,
			    char *err, size_t errlen);
	/* After that transaction committed, in the runner: remove what the
	 * recorded result made obsolete.  Best effort (a failure is logged;
	 * pruning the job removes its files later).  May be NULL. */
	void		(*committed)(struct store *, const struct task *,
			    json_t *result);
	/* While the task runs, in a transaction of its own with the task
	 * still held and its job live: record what task_output() reported
	 * (an output written, failed, or its progress).  May be NULL. */
	int		(*output)(PGconn *, const struct task *, json_t *data,
			    char *err, size_t errlen);
};

/*
 * The store, as a stage uses it (stage_io.c), with one failure policy: a
 * store that is down or slow (STORE_AGAIN) is STAGE_TRANSIENT; a missing
 * object, an invalid key and a store that refuses (STORE_NOTFOUND,
 * STORE_ERR) are STAGE_PERMANENT.
 */

/* The stage rc for a store rc (STORE_OK is STAGE_OK). */
enum stage_rc stage_store_rc(int store_rc);

/* Store the local file PATH at KEY.  The stage rc; ERR on failure. */
enum stage_rc stage_put(struct task_ctx *, const char *key, const char *path,
	    const char *content_type, char *err, size_t errlen);

/* A local path for store object KEY: the store's own file when it has a
 * readable one (no copy), else a copy downloaded to the scratch directory
 * as NAME.  STAGE_OK with *PATH allocated (caller frees), else the rc
 * with *PATH NULL and ERR a sentence. */
enum stage_rc stage_input(struct task_ctx *, const char *key, const char *name,
	    char **path, char *err, size_t errlen);

/* The JSON object stored at KEY (at most 64 MB), got as stage_input()
 * gets it.  STAGE_OK with *OBJ a new reference, else the rc with *OBJ
 * NULL and ERR; a file that is not a JSON object is STAGE_PERMANENT. */
enum stage_rc stage_input_json(struct task_ctx *, const char *key,
	    const char *name, json_t **obj, char *err, size_t errlen);

/* The registry (stages.c). NULL when unknown, or test-only and
 * test stages are off. */
const struct stage *stage_find(const char *name);
extern const struct stage *const all_stages[];

#endif
