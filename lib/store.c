/* Store front: key checks, then the configured backend. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "store.h"
#include "util.h"

int
store_errno_rc(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EIO:
	case EINTR:
	case EAGAIN:
		return STORE_AGAIN;
	default:
		return STORE_ERR;
	}
}

static int
key_chars_ok(const char *k, size_t n)
{
	size_t i;

	if (n == 0 || n > 512 || k[0] == '/')
		return 0;
	for (i = 0; i < n; i++) {
		char ch = k[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-' || ch == '/'))
			return 0;
		if (ch == '/' && i + 1 < n && k[i + 1] == '/')
			return 0;
		/* no "." or ".." path component */
		if (ch == '.' && (i == 0 || k[i - 1] == '/')) {
			size_t j = i;
			while (j < n && k[j] == '.')
				j++;
			if (j == n || k[j] == '/')
				return 0;
		}
	}
	return 1;
}

int
store_key_valid(const char *key)
{
	size_t n;

	if (key == NULL)
		return 0;
	n = strlen(key);
	return key_chars_ok(key, n) && key[n - 1] != '/';
}

int
store_prefix_valid(const char *prefix)
{
	size_t n;

	if (prefix == NULL)
		return 0;
	n = strlen(prefix);
	return key_chars_ok(prefix, n) && prefix[n - 1] == '/';
}

struct store *
store_open(char *err, size_t errlen)
{
	if (strcmp(cfg.store, "s3") == 0)
		return store_s3_open(err, errlen);
	return store_file_open(cfg.store_dir, cfg.store_public_url, err, errlen);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

#define CHECK_KEY(k) do {						\
	if (!store_key_valid(k)) {					\
		seterr(err, errlen, "invalid store key \"%.80s\"",		\
		    (k) ? (k) : "(null)");					\
		return STORE_ERR;					\
	}								\
} while (0)

int
store_put(struct store *s, const char *key, const char *path,
    const char *content_type, char *err, size_t errlen)
{
	CHECK_KEY(key);
	return s->ops->put(s, key, path, content_type, err, errlen);
}

int
store_get(struct store *s, const char *key, const char *path, char *err,
    size_t errlen)
{
	CHECK_KEY(key);
	return s->ops->get(s, key, path, err, errlen);
}

int
store_stat(struct store *s, const char *key, struct store_stat *st,
    char *err, size_t errlen)
{
	CHECK_KEY(key);
	return s->ops->stat(s, key, st, err, errlen);
}

int
store_delete(struct store *s, const char *key, char *err, size_t errlen)
{
	CHECK_KEY(key);
	return s->ops->del(s, key, err, errlen);
}

int
store_delete_prefix(struct store *s, const char *prefix, char *err,
    size_t errlen)
{
	if (!store_prefix_valid(prefix)) {
		seterr(err, errlen, "invalid store prefix \"%.80s\"",
		    prefix ? prefix : "(null)");
		return STORE_ERR;
	}
	return s->ops->del_prefix(s, prefix, err, errlen);
}

char *
store_url(struct store *s, const char *key, long long expires, char *err,
    size_t errlen)
{
	if (!store_key_valid(key)) {
		seterr(err, errlen, "invalid store key \"%.80s\"",
		    key ? key : "(null)");
		return NULL;
	}
	return s->ops->url(s, key, expires, err, errlen);
}

int
store_url_lasts(struct store *s)
{
	return s->ops->url_expires == NULL || !s->ops->url_expires(s);
}

char *
store_local_path(struct store *s, const char *key)
{
	if (!store_key_valid(key) || s->ops->local_path == NULL)
		return NULL;
	return s->ops->local_path(s, key);
}
