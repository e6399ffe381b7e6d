/*
 * The runner (clipmill-batch): claims tasks of its stages and runs them,
 * isolated stages in a forked child with resource limits (child.c),
 * the others in-process (runner.c).  Per-task scratch directories and the
 * sweeper are in scratch.c.
 */
#ifndef CLIPMILL_RUNNER_H
#define CLIPMILL_RUNNER_H

#include <signal.h>
#include <sys/types.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "queue.h"
#include "runner_sql.h"
#include "stage.h"

/* Exit codes of clipmill-batch (also in its usage text and man page). */
#define EXIT_OK		0	/* finished: idle, --max-tasks, --once, SIGTERM */
#define EXIT_FAIL	1	/* could not work: configuration, schema, store,
				   scratch directory, maintenance failed */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_DB		3	/* database unreachable, or lost while running */

#define MAX_RUN_STAGES	32

struct runner_opts {
	const struct stage *stages[MAX_RUN_STAGES];
	int		 nstages;
	long long	 max_tasks;	/* 0: no limit */
	long long	 idle_exit;	/* seconds without work before exiting */
	int		 once;		/* one claim round, then exit */
};

/* media_user, looked up once (sandbox.c); ON only when the runner is
 * root and the option is set. */
struct media_user {
	int		 on;
	uid_t		 uid;
	gid_t		 gid;
	char		 name[64];
};

/* The running runner, as its helpers see it. */
struct runner {
	PGconn		*c;
	struct runner_id id;
	struct store	*store;
	const struct runner_opts *o;
	int		 db_lost;	/* the connection broke: exit EXIT_DB */
	int		 lost_logged;	/* "database_lost" has been logged */
	struct media_user media;	/* whom media children run as */
	int		 wake_fd;	/* the host listener (wake.c), or -1 */
	int		 woken;		/* by it: pass the wake-up on */
};

/* Set by SIGTERM/SIGINT: stop claiming, finish or hand back, exit 0. */
extern volatile sig_atomic_t runner_stopping;

/* What one attempt came to. */
enum outcome_kind {
	OUT_RESULT,	/* the stage returned RC (with RESULT or ERR) */
	OUT_FAILED,	/* crashed, limit, timeout: transient, ERR says why */
	OUT_CANCELLED,	/* its job ended while it ran */
	OUT_HAND_BACK,	/* the runner is stopping: back to pending */
	OUT_LOST,	/* no longer ours (rescued): say nothing */
	OUT_DB_LOST	/* the database connection broke */
};

struct outcome {
	enum outcome_kind kind;
	enum stage_rc	 rc;
	json_t		*result;	/* owned */
	char		 err[1024];
	long long	 ms;
	/* Of an isolated stage's child, from wait4(): CPU time (user and
	 * system) and the peak RSS of its largest process; -1: unknown. */
	long long	 cpu_ms;
	long		 peak_rss_kb;
};

/* Run clipmill-batch's main loop; returns the exit code. */
int	runner_main(const struct runner_opts *);
/* clipmill-batch --maintenance and --sweep; exit codes. */
int	runner_maintenance(void);
int	runner_sweep(void);

/* Catch SIGTERM and SIGINT (runner_stopping), ignore SIGPIPE. */
void	runner_signals(void);

/* wake.c: clipmill-batch --listen, the host's wake-up service; an exit
 * code. */
int	runner_listen(void);
/* Connect to cfg.wake_socket: the fd, or -1 (logged; the runner then
 * LISTENs on its own connection). */
int	wake_connect(void);
/* Send "VERB STAGES" to the listener; 0/-1. */
int	wake_send(int fd, const char *verb, const char *stages);
/* Say VERB ("warm": idle and connected, "wait": idle and disconnected)
 * and wait up to MS for a wake-up for STAGES ("a,b"): 1 when woken, 0 on
 * timeout or signal, -1 when the listener is gone. */
int	wake_wait(int fd, const char *verb, const char *stages, long long ms);
/* How long an idle runner stays connected before it disconnects. */
#define WAKE_LINGER_MS	2000

/* child.c: run one task of an isolated stage in a forked child. */
void	run_isolated(struct runner *, const struct stage *, struct task *,
	    const char *scratch, struct outcome *);

/* sandbox.c: what a task child needs beyond its scratch directory. */
#define SB_NET		0x01	/* sockets: S3, URLs, remote APIs */
#define SB_EXEC		0x02	/* execve: yt-dlp */
#define SB_OPENAI	0x04	/* openai_key_file */
#define SB_LLM		0x08	/* llm_key_file */

/* The SB_* flags task T of STAGE needs. */
int	sandbox_needs(const char *stage, const struct task *t);
/* Look up cfg.media_user into MU (left off when the runner is not
 * root).  0, or -1 with ERR: an unknown user, or root. */
int	sandbox_media_user(struct media_user *mu, char *err, size_t errlen);
/* In the child, after its limits and chdir(SCRATCH): drop the database
 * connection and unneeded secrets, become the media user, load the
 * seccomp filter.  0, or -1 with ERR (then the task must not run). */
int	sandbox_enter(struct runner *, const char *stage, const struct task *t,
	    const char *scratch, char *err, size_t errlen);

/* child.c: handle every complete line of a child's messages in IN, as the
 * runner does while task T's child runs (progress, events to the database
 * through R->c, the result into OUT), and keep the rest.  Exposed for the
 * fuzz harness (tests/fuzz/child_msg.c). */
struct buf;
void	child_feed(struct runner *r, struct task *t, struct buf *in,
	    struct outcome *out);

/* scratch.c: a fresh scratch directory for task T, locked with
 * flock(2) through *FD while in use; 0 or -1 with ERR. */
int	scratch_make(const struct task *, char *path, size_t pathlen, int *fd,
	    char *err, size_t errlen);
/* Remove it and drop the lock. */
void	scratch_remove(const char *path, int fd);

/* Private state behind task_ctx.priv for in-process stages. */
struct ctx_priv {
	struct runner	*r;
	enum rq_state	 state;		/* last answer from the database */
};

#endif
