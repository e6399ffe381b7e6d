/*
 * The file-system store: KEY is a path below the store directory.  Puts
 * copy into a temporary file in the destination directory and rename it
 * into place, so a reader never sees half an object.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "util.h"

struct fstore {
	char	*dir;
	char	*public_url;
};

static int
path_of(struct store *s, const char *key, char *out, size_t len)
{
	struct fstore *fs = s->priv;

	return xsnprintf(out, len, "%s/%s", fs->dir, key);
}

/* Copy FROM to TO through a temporary file and rename; 0 or a store rc
 * (STORE_NOTFOUND when FROM is missing or not a regular file).  Nothing is
 * created, not even TO's directory, unless FROM can be read. */
static int
copy_atomic(const char *from, const char *to, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX], buf[1 << 16], *slash;
	int in = -1, out = -1, rc = STORE_ERR, e;
	ssize_t n, w, off;
	struct stat sb;

	if (xsnprintf(dir, sizeof(dir), "%s", to) == -1 ||
	    xsnprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", to) == -1) {
		seterr(err, errlen, "store path too long");
		return STORE_ERR;
	}
	if ((in = open(from, O_RDONLY | O_CLOEXEC)) == -1) {
		e = errno;
		seterr(err, errlen, "cannot read %s: %s", from, strerror(e));
		return e == ENOENT || e == ENOTDIR ? STORE_NOTFOUND : store_errno_rc(e);
	}
	/* a directory is where a prefix is, not an object */
	if (fstat(in, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		seterr(err, errlen, "cannot read %s: not a regular file", from);
		close(in);
		return STORE_NOTFOUND;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0755) == -1) {
			e = errno;
			seterr(err, errlen, "cannot create %s: %s", dir, strerror(e));
			rc = store_errno_rc(e);
			goto out;
		}
	}
	if ((out = mkostemp(tmp, O_CLOEXEC)) == -1) {
		e = errno;
		seterr(err, errlen, "cannot create %s: %s", tmp, strerror(e));
		rc = store_errno_rc(e);
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		for (off = 0; off < n; off += w)
			if ((w = write(out, buf + off, (size_t)(n - off))) < 0) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				goto werr;
			}
	if (n < 0) {
		e = errno;
		seterr(err, errlen, "cannot read %s: %s", from, strerror(e));
		rc = store_errno_rc(e);
		goto unlink;
	}
	if (fchmod(out, 0644) == -1 || fsync(out) == -1)
		goto werr;
	if (close(out) == -1) {
		out = -1;
		goto werr;
	}
	out = -1;
	if (rename(tmp, to) == -1)
		goto werr;
	rc = STORE_OK;
	goto out;
werr:
	e = errno;
	seterr(err, errlen, "cannot write %s: %s", to, strerror(e));
	rc = store_errno_rc(e);
unlink:
	unlink(tmp);
out:
	if (in != -1)
		close(in);
	if (out != -1) {
		close(out);
		unlink(tmp);
	}
	return rc;
}

static int
fs_put(struct store *s, const char *key, const char *path,
    const char *content_type, char *err, size_t errlen)
{
	char dst[PATH_MAX];

	int rc;

	(void)content_type;
	if (path_of(s, key, dst, sizeof(dst)) == -1) {
		seterr(err, errlen, "store path too long");
		return STORE_ERR;
	}
	/* NOTFOUND means "no such key": a missing local file is the
	 * caller's error, not the store's */
	if ((rc = copy_atomic(path, dst, err, errlen)) == STORE_NOTFOUND)
		rc = STORE_ERR;
	return rc;
}

static int
fs_get(struct store *s, const char *key, const char *path, char *err,
    size_t errlen)
{
	char src[PATH_MAX];
	int rc;

	if (path_of(s, key, src, sizeof(src)) == -1) {
		seterr(err, errlen, "store path too long");
		return STORE_ERR;
	}
	rc = copy_atomic(src, path, err, errlen);
	if (rc == STORE_NOTFOUND)
		seterr(err, errlen, "no object \"%s\" in the store", key);
	return rc;
}

static int
fs_stat(struct store *s, const char *key, struct store_stat *st, char *err,
    size_t errlen)
{
	char p[PATH_MAX];
	struct stat sb;

	if (path_of(s, key, p, sizeof(p)) == -1) {
		seterr(err, errlen, "store path too long");
		return STORE_ERR;
	}
	if (stat(p, &sb) == -1) {
		int e = errno;

		if (e == ENOENT || e == ENOTDIR)
			return STORE_NOTFOUND;
		seterr(err, errlen, "cannot stat %s: %s", p, strerror(e));
		return store_errno_rc(e);
	}
	if (!S_ISREG(sb.st_mode))
		return STORE_NOTFOUND;
	if (st != NULL) {
		st->size = (uint64_t)sb.st_size;
		st->mtime = (long long)sb.st_mtime;
	}
	return STORE_OK;
}

static int
fs_del(struct store *s, const char *key, char *err, size_t errlen)
{
	char p[PATH_MAX];

	if (path_of(s, key, p, sizeof(p)) == -1) {
		seterr(err, errlen, "store path too long");
		return STORE_ERR;
	}
	if (unlink(p) == -1) {
		int e = errno;

		/* EISDIR: the key names a prefix (a directory), no object */
		if (e == ENOENT || e == ENOTDIR || e == EISDIR)
			return STORE_NOTFOUND;
		seterr(err, errlen, "cannot delete %s: %s", p, strerror(e));
		return store_errno_rc(e);
	}
	return STORE_OK;
}

/* Remove a directory tree without following symbolic links. */
static int
rm_tree(int parent, const char *name)
{
	DIR *d;
	struct dirent *de;
	int fd, rc = 0;

	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	if ((fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_tree(dirfd(d), de->d_name) == -1)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		rc = -1;
	return rc;
}

static int
fs_del_prefix(struct store *s, const char *prefix, char *err, size_t errlen)
{
	char p[PATH_MAX];

	/* Prefixes end in '/': they name a directory of the store. */
	if (path_of(s, prefix, p, sizeof(p)) == -1) {
		seterr(err, errlen, "store path too long");
		return STORE_ERR;
	}
	p[strlen(p) - 1] = '\0';
	if (rm_tree(AT_FDCWD, p) == -1) {
		seterr(err, errlen, "cannot delete %s: %s", p, strerror(errno));
		return store_errno_rc(errno);
	}
	return STORE_OK;
}

static char *
fs_url(struct store *s, const char *key, long long expires, char *err,
    size_t errlen)
{
	struct fstore *fs = s->priv;
	char *u;
	size_t n = strlen(fs->public_url) + strlen(key) + 2;

	(void)expires;
	if ((u = malloc(n)) == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(u, n, "%s/%s", fs->public_url, key);
	return u;
}

static char *
fs_local_path(struct store *s, const char *key)
{
	char p[PATH_MAX];

	if (path_of(s, key, p, sizeof(p)) == -1)
		return NULL;
	return strdup(p);
}

static void
fs_close(struct store *s)
{
	struct fstore *fs = s->priv;

	free(fs->dir);
	free(fs->public_url);
	free(fs);
	free(s);
}

static const struct store_ops file_ops = {
	"file", fs_put, fs_get, fs_stat, fs_del, fs_del_prefix, fs_url,
	fs_local_path, fs_close, NULL
};

struct store *
store_file_open(const char *dir, const char *public_url, char *err,
    size_t errlen)
{
	struct store *s = NULL;
	struct fstore *fs = NULL;
	size_t n;

	if (dir == NULL || dir[0] != '/') {
		seterr(err, errlen, "store_dir must be an absolute path");
		return NULL;
	}
	if (mkdir_p(dir, 0755) == -1) {
		seterr(err, errlen, "cannot create store_dir %s: %s", dir,
		    strerror(errno));
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (fs = calloc(1, sizeof(*fs))) == NULL ||
	    (fs->dir = strdup(dir)) == NULL ||
	    (fs->public_url = strdup(public_url ? public_url : "")) == NULL) {
		seterr(err, errlen, "out of memory");
		if (fs != NULL) {
			free(fs->dir);
			free(fs);
		}
		free(s);
		return NULL;
	}
	/* no trailing slashes, so that joins give one '/' */
	while ((n = strlen(fs->dir)) > 1 && fs->dir[n - 1] == '/')
		fs->dir[n - 1] = '\0';
	while ((n = strlen(fs->public_url)) > 0 && fs->public_url[n - 1] == '/')
		fs->public_url[n - 1] = '\0';
	s->ops = &file_ops;
	s->priv = fs;
	return s;
}
