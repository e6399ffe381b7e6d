/*
 * Per-task scratch directories under cfg.scratch_dir, named
 * task-ID-ATTEMPT-PID, held with flock(2) while a task uses them (the
 * child inherits the lock), removed after.  The sweeper removes the ones
 * left behind by runners that died: unlocked and older than 30 minutes.
 * It also removes the upload.XXXXXX files clipmill.fcgi streams uploads
 * into (in the same scratch_dir) when one is left behind by a request
 * that died: untouched for UPLOAD_SWEEP_AGE, long after any upload has
 * been received and stored.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "runner.h"
#include "util.h"

#define SWEEP_AGE	(30 * 60)	/* seconds */
/* An upload's file is written as it arrives, then read while it is put
 * in the store (a 2 GB upload to a slow S3 can take most of an hour). */
#define UPLOAD_SWEEP_AGE (2 * 60 * 60)

int
scratch_make(const struct task *t, char *path, size_t pathlen, int *fd,
    char *err, size_t errlen)
{
	*fd = -1;
	if (mkdir_p(cfg.scratch_dir, 0755) == -1) {
		seterr(err, errlen, "cannot create the scratch directory %s: %s",
		    cfg.scratch_dir, strerror(errno));
		return -1;
	}
	if (xsnprintf(path, pathlen, "%s/task-%lld-%d-%ld", cfg.scratch_dir,
	    t->id, t->attempts, (long)getpid()) == -1) {
		seterr(err, errlen, "scratch path too long");
		return -1;
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if ((*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    flock(*fd, LOCK_EX | LOCK_NB) == -1) {
		seterr(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		if (*fd != -1)
			close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(p) == -1 && errno != ENOENT)
		log_ev(LOG_WARN, "scratch_remove_failed", "{ssss}", "path", p,
		    "error", strerror(errno));
	return 0;
}

static void
rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
scratch_remove(const char *path, int fd)
{
	if (path != NULL && *path != '\0')
		rm_tree(path);
	if (fd != -1)
		close(fd);	/* drops the lock */
}

/* Remove PATH when it is an upload's file left behind: 1 when removed. */
static int
sweep_upload(const char *path, time_t now)
{
	struct stat sb;

	if (lstat(path, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_mtime > now - UPLOAD_SWEEP_AGE)
		return 0;
	if (unlink(path) == -1) {
		if (errno != ENOENT)
			log_ev(LOG_WARN, "scratch_remove_failed", "{ssss}",
			    "path", path, "error", strerror(errno));
		return 0;
	}
	log_ev(LOG_INFO, "upload_swept", "{sssI}", "path", path, "bytes",
	    (json_int_t)sb.st_size);
	return 1;
}

int
runner_sweep(void)
{
	char path[4096];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	time_t now = time(NULL);
	int fd, removed = 0, busy = 0, uploads = 0;

	if ((d = opendir(cfg.scratch_dir)) == NULL) {
		if (errno == ENOENT) {
			log_ev(LOG_INFO, "sweep_done", "{sisisi}", "removed", 0,
			    "in_use", 0, "uploads", 0);
			return EXIT_OK;
		}
		log_ev(LOG_ERROR, "sweep_failed", "{ssss}", "dir",
		    cfg.scratch_dir, "error", strerror(errno));
		return EXIT_FAIL;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "task-", 5) != 0 &&
		    strncmp(de->d_name, "upload.", 7) != 0)
			continue;
		if (xsnprintf(path, sizeof(path), "%s/%s", cfg.scratch_dir,
		    de->d_name) == -1)
			continue;
		if (de->d_name[0] == 'u') {
			uploads += sweep_upload(path, now);
			continue;
		}
		if (lstat(path, &sb) == -1 || !S_ISDIR(sb.st_mode) ||
		    sb.st_mtime > now - SWEEP_AGE)
			continue;
		if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1)
			continue;
		/* A task still holds it: its runner (or child) is alive. */
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			busy++;
			close(fd);
			continue;
		}
		rm_tree(path);
		close(fd);
		removed++;
		log_ev(LOG_INFO, "scratch_swept", "{ss}", "path", path);
	}
	closedir(d);
	log_ev(LOG_INFO, "sweep_done", "{sisisi}", "removed", removed, "in_use",
	    busy, "uploads", uploads);
	return EXIT_OK;
}
