/*
 * The artifact store: large data (media, transcripts, crop paths, renders)
 * lives here under keys such as "jobs/42/source.mp4"; database rows hold
 * keys, never blobs.  Backends: a local directory (store_file.c) and
 * S3-compatible object storage (store_s3.c).  Every call returns one of
 * enum store_rc and fills ERR with a sentence on failure.
 */
#ifndef CLIPMILL_STORE_H
#define CLIPMILL_STORE_H

#include <stddef.h>
#include <stdint.h>

enum store_rc {
	STORE_OK = 0,
	STORE_NOTFOUND = 1,	/* no such key */
	STORE_ERR = -1,		/* permanent: bad key, bad credentials, no bucket */
	STORE_AGAIN = -2	/* transient: server down, timeout; retry later */
};

struct store_stat {
	uint64_t	size;
	long long	mtime;	/* seconds since the epoch */
};

struct store;

struct store_ops {
	const char *name;
	int	(*put)(struct store *, const char *key, const char *path,
		    const char *content_type, char *err, size_t errlen);
	int	(*get)(struct store *, const char *key, const char *path,
		    char *err, size_t errlen);
	int	(*stat)(struct store *, const char *key, struct store_stat *,
		    char *err, size_t errlen);
	int	(*del)(struct store *, const char *key, char *err, size_t errlen);
	int	(*del_prefix)(struct store *, const char *prefix, char *err,
		    size_t errlen);
	/* Allocated URL (caller frees), or NULL with ERR. */
	char	*(*url)(struct store *, const char *key, long long expires,
		    char *err, size_t errlen);
	/* Local path of the object when the backend has one (caller frees),
	 * else NULL.  Used by the web front for X-Accel-Redirect. */
	char	*(*local_path)(struct store *, const char *key);
	void	(*close)(struct store *);
	/* 1 when url() gives addresses that expire (presigned), else 0;
	 * NULL: they never expire. */
	int	(*url_expires)(struct store *);
};

struct store {
	const struct store_ops *ops;
	void *priv;
};

/* Open the backend named by cfg.store; NULL with ERR on failure. */
struct store *store_open(char *err, size_t errlen);
void	store_close(struct store *);

/* A key is 1..512 bytes of [A-Za-z0-9._/-], no leading '/', no "..",
 * no "//", no trailing '/'.  1 when valid. */
int	store_key_valid(const char *key);
/* Same rules for a prefix, which must end in '/'. */
int	store_prefix_valid(const char *prefix);

int	store_put(struct store *, const char *key, const char *path,
	    const char *content_type, char *err, size_t errlen);
int	store_get(struct store *, const char *key, const char *path,
	    char *err, size_t errlen);
int	store_stat(struct store *, const char *key, struct store_stat *,
	    char *err, size_t errlen);
int	store_delete(struct store *, const char *key, char *err, size_t errlen);
int	store_delete_prefix(struct store *, const char *prefix, char *err,
	    size_t errlen);
char	*store_url(struct store *, const char *key, long long expires,
	    char *err, size_t errlen);
char	*store_local_path(struct store *, const char *key);
/* 1 when store_url's addresses stay valid (a public base URL), 0 when
 * they expire (presigned): such a URL is made when it is handed out,
 * never kept. */
int	store_url_lasts(struct store *);

/* The store rc for a failed system call's errno, the one rule of every
 * backend: trouble on our side that may clear up (a full disk or quota,
 * an I/O error, an interrupted or would-block call) is STORE_AGAIN;
 * anything else (permissions, a bad path) is STORE_ERR. */
int	store_errno_rc(int e);

/* Backends. */
struct store *store_file_open(const char *dir, const char *public_url,
	    char *err, size_t errlen);
struct store *store_s3_open(char *err, size_t errlen);

#endif
