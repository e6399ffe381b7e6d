/*
 * Containment of a media child (child.c): what a forked task child keeps
 * of the runner, decided per stage and task.  Untrusted media is decoded
 * there, so a decoder bug must find nothing worth stealing:
 *
 *  - no database connection: the inherited socket is pointed at
 *    /dev/null and the connection freed (libpq wipes the password), and
 *    database_url, the key file names and secret environment variables
 *    are wiped; API key files are opened only by the stages that call
 *    that API;
 *  - when the runner runs as root and media_user is set, the child runs
 *    as that user (its groups from /etc/group), owning only its scratch
 *    directory;
 *  - a seccomp filter: never ptrace or another process's memory, never
 *    io_uring; and for a task that needs no network (probe of an upload,
 *    pocketsphinx, the heuristic selection, frame, render, with the file
 *    store) no socket of any family and no execve.
 *
 * What needs the network: every stage with the S3 store (its inputs and
 * outputs go through S3), fetch of a URL (libcurl, and yt-dlp which is
 * executed), transcribe with the OpenAI backend, select with the LLM, and
 * webhook (libcurl).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "config.h"
#include "log.h"
#include "runner.h"
#include "util.h"

/* Environment variables that may hold a secret of the runner's. */
static const char *const secret_env[] = {
	"CLIPMILL_DATABASE_URL", "DATABASE_URL", "PGPASSWORD", "PGPASSFILE",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"OPENAI_API_KEY", NULL
};

static const char *
job_option(const struct task *t, const char *key, const char *def)
{
	const char *v = json_string_value(json_object_get(json_object_get(
	    t->job, "options"), key));

	return v != NULL && *v != '\0' ? v : def;
}

int
sandbox_needs(const char *stage, const struct task *t)
{
	const char *kind;
	int needs = 0;

	if (strcmp(cfg.store, "s3") == 0)
		needs |= SB_NET;
	if (strcmp(stage, "fetch") == 0) {
		kind = json_string_value(json_object_get(t->job, "source_kind"));
		if (kind == NULL || strcmp(kind, "upload") != 0)
			needs |= SB_NET | SB_EXEC;
	} else if (strcmp(stage, "transcribe") == 0) {
		if (strcmp(job_option(t, "transcribe_backend",
		    cfg.transcribe_backend), "openai") == 0)
			needs |= SB_NET | SB_OPENAI;
	} else if (strcmp(stage, "select") == 0) {
		if (strcmp(job_option(t, "select_backend", cfg.select_backend),
		    "llm") == 0)
			needs |= SB_NET | SB_LLM;
	} else if (strcmp(stage, "webhook") == 0)
		needs |= SB_NET;	/* POSTs to the user's webhook */
	return needs;
}

/* Overwrite the string *S and leave it empty. */
static void
wipe(char **s)
{
	char *e;

	if (*s == NULL)
		return;
	explicit_bzero(*s, strlen(*s));
	if ((e = strdup("")) != NULL) {
		free(*s);
		*s = e;
	}
}

/* Keep a key file only when the stage calls its API.  Under another
 * user the file may not be readable (and a file reopened through
 * /dev/fd is checked again): its bytes are copied now into an anonymous
 * memory file, which the stage reads as /dev/fd/N.  0 or -1 with ERR. */
static int
keep_key_file(char **file, int keep, int reopen, char *err, size_t errlen)
{
	char path[64], *p, *key;
	size_t n;
	int fd;

	if (!keep || **file == '\0') {
		wipe(file);
		return 0;
	}
	if (!reopen)
		return 0;
	if ((key = read_small_file(*file, 4096, 0)) == NULL) {
		seterr(err, errlen, "cannot read %s: %s", *file, strerror(errno));
		return -1;
	}
	n = strlen(key);
	fd = memfd_create("clipmill-key", MFD_CLOEXEC);
	if (fd == -1 || write(fd, key, n) != (ssize_t)n) {
		seterr(err, errlen, "cannot hand over %s: %s", *file,
		    strerror(errno));
		explicit_bzero(key, n);
		free(key);
		if (fd != -1)
			close(fd);
		return -1;
	}
	explicit_bzero(key, n);
	free(key);
	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	if ((p = strdup(path)) == NULL) {
		close(fd);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	free(*file);
	*file = p;
	return 0;
}

/* Drop the database connection and the secrets the task does not need. */
static int
forget(struct runner *r, int needs, int reopen, char *err, size_t errlen)
{
	size_t i;
	char *v;
	int fd;

	if (r->c != NULL) {
		/* PQfinish() would say goodbye on the runner's own session:
		 * point the socket at /dev/null first. */
		if ((fd = open("/dev/null", O_RDWR)) != -1 && PQsocket(r->c) >= 0) {
			dup2(fd, PQsocket(r->c));
			close(fd);
		}
		PQfinish(r->c);
		r->c = NULL;
	}
	wipe(&cfg.database_url);
	wipe(&cfg.s3_access_key_file);
	wipe(&cfg.s3_secret_key_file);
	if (!(needs & SB_EXEC))
		wipe(&cfg.ytdlp_cookies);
	for (i = 0; secret_env[i] != NULL; i++)
		if ((v = getenv(secret_env[i])) != NULL) {
			explicit_bzero(v, strlen(v));
			unsetenv(secret_env[i]);
		}
	if (keep_key_file(&cfg.openai_key_file, needs & SB_OPENAI, reopen, err,
	    errlen) == -1 || keep_key_file(&cfg.llm_key_file, needs & SB_LLM,
	    reopen, err, errlen) == -1)
		return -1;
	return 0;
}

int
sandbox_media_user(struct media_user *mu, char *err, size_t errlen)
{
	struct passwd *pw;
	struct stat sb;

	memset(mu, 0, sizeof(*mu));
	if (cfg.media_user[0] == '\0' || geteuid() != 0)
		return 0;
	errno = 0;
	if ((pw = getpwnam(cfg.media_user)) == NULL) {
		seterr(err, errlen, "media_user \"%s\" is not a user on this "
		    "host", cfg.media_user);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		seterr(err, errlen, "media_user \"%s\" must not be root or in "
		    "group root", cfg.media_user);
		return -1;
	}
	mu->on = 1;
	mu->uid = pw->pw_uid;
	mu->gid = pw->pw_gid;
	snprintf(mu->name, sizeof(mu->name), "%s", pw->pw_name);
	/* The children write the file store themselves. */
	if (strcmp(cfg.store, "file") == 0 && stat(cfg.store_dir, &sb) == 0 &&
	    sb.st_uid != mu->uid && !(sb.st_gid == mu->gid &&
	    (sb.st_mode & S_IWGRP)) && !(sb.st_mode & S_IWOTH))
		log_ev(LOG_WARN, "media_user_cannot_write_store", "{ssss}",
		    "user", mu->name, "store_dir", cfg.store_dir);
	return 0;
}

/* Become MU, owning SCRATCH (our working directory already).  0 or -1. */
static int
become(const struct media_user *mu, const char *scratch, char *err,
    size_t errlen)
{
	pid_t parent = getppid();

	if (chown(scratch, mu->uid, mu->gid) == -1 ||
	    initgroups(mu->name, mu->gid) == -1 || setgid(mu->gid) == -1 ||
	    setuid(mu->uid) == -1) {
		seterr(err, errlen, "cannot become %s: %s", mu->name,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || getuid() != mu->uid || geteuid() != mu->uid) {
		seterr(err, errlen, "still root after becoming %s", mu->name);
		return -1;
	}
	/* A change of user clears the parent-death signal: set it again,
	 * so that the child still dies with a killed runner. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent) {
		seterr(err, errlen, "the runner is gone");
		return -1;
	}
	return 0;
}

/* Load the filter: always without ptrace and io_uring; without sockets
 * and execve unless NEEDS say so.  0 or -1. */
static int
filter(int needs, char *err, size_t errlen)
{
	static const int always[] = { SCMP_SYS(ptrace),
	    SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	    SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
	    SCMP_SYS(io_uring_register) };
	static const int offline[] = { SCMP_SYS(socket), SCMP_SYS(socketpair),
	    SCMP_SYS(execve), SCMP_SYS(execveat) };
	scmp_filter_ctx f;
	size_t i;
	int rc = -1;

	if ((f = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		seterr(err, errlen, "seccomp_init failed");
		return -1;
	}
	for (i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), always[i], 0) < 0)
			goto out;
	for (i = 0; !(needs & (SB_NET | SB_EXEC)) &&
	    i < sizeof(offline) / sizeof(offline[0]); i++)
		if (seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), offline[i],
		    0) < 0)
			goto out;
	rc = seccomp_load(f) < 0 ? -1 : 0;
out:
	if (rc == -1)
		seterr(err, errlen, "cannot load the seccomp filter");
	seccomp_release(f);
	return rc;
}

int
sandbox_enter(struct runner *r, const char *stage, const struct task *t,
    const char *scratch, char *err, size_t errlen)
{
	int needs = sandbox_needs(stage, t);

	if (forget(r, needs, r->media.on, err, errlen) == -1)
		return -1;
	if (r->media.on && become(&r->media, scratch, err, errlen) == -1)
		return -1;
	return filter(needs, err, errlen);
}
