/* Small helpers every part uses: bounded buffers, checked number parsing. */
#ifndef CLIPMILL_UTIL_H
#define CLIPMILL_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growing byte buffer with a hard maximum size.  Failure is sticky: an
 * append that would pass the maximum (or finds no memory) leaves the
 * buffer as it was and marks it failed, and every later append fails too,
 * so a caller may append several parts and check only the last append
 * (or buf_failed()) to know that all of them are there.
 */
struct buf {
	char	*data;	/* always NUL-terminated when len > 0 or after buf_add */
	size_t	 len;
	size_t	 cap;
	size_t	 max;	/* 0: no limit beyond SIZE_MAX/2 */
	int	 failed;	/* an append has failed: all later ones fail */
};

void	buf_init(struct buf *b, size_t max);
void	buf_free(struct buf *b);
/* Empty the buffer and forget a failure, keeping its memory and maximum. */
void	buf_reset(struct buf *b);
/* True when an append has failed since buf_init() or buf_reset(). */
int	buf_failed(const struct buf *b);
/* Append; returns 0, or -1 (contents unchanged, the buffer marked failed)
 * past the maximum, on ENOMEM, or when an earlier append failed. */
int	buf_add(struct buf *b, const void *p, size_t n);
int	buf_addstr(struct buf *b, const char *s);
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Parse a whole string as a number within [min,max]; 0 or -1. */
int	parse_ll(const char *s, long long min, long long max, long long *out);
int	parse_double(const char *s, double min, double max, double *out);

/* snprintf that returns -1 on truncation or error, 0 otherwise. */
int	xsnprintf(char *dst, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Error message helper for the (char *err, size_t errlen) convention. */
void	seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* The length of the longest prefix of S (N bytes) that is well-formed
 * UTF-8 (RFC 3629); N when all of S is.  Text from the network passes
 * this before it reaches PostgreSQL or a JSON answer. */
size_t	utf8_valid_prefix(const char *s, size_t n);
/* Replace, in place, each byte of S that is not part of a well-formed
 * UTF-8 sequence with '?' (a message that echoes a value cut short). */
void	utf8_scrub(char *s);

/* Milliseconds from a monotonic clock. */
long long now_ms(void);

/* Read a small file (at most MAX bytes) whole; returns malloc'd, NUL
 * terminated text (caller frees) or NULL with errno set. Trailing
 * newlines are stripped when STRIP is set. */
char	*read_small_file(const char *path, size_t max, int strip);

/* mkdir -p with MODE; 0 or -1 (errno). */
int	mkdir_p(const char *path, int mode);

/* Lowercase hex SHA-256 of DATA into OUT[65]. */
void	sha256_hex(const void *data, size_t len, char out[65]);

/* Fill BUF with N random bytes from getrandom(2); 0 or -1. */
int	random_bytes(void *buf, size_t n);

/* The last component of a path ("a/b\\c.mp4" is "c.mp4": browsers on
 * some systems send the whole path of an uploaded file). */
const char *path_base(const char *);

#endif
