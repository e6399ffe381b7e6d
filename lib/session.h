/*
 * Browser sessions kept by the server (sql/002_sessions.sql).  The cookie
 * carries a random id of SESSION_ID_LEN hex digits; the table holds only
 * its SHA-256, so a copy of the table logs nobody in.  A session ends on
 * logout, when its user is disabled or given a new key, and when it
 * expires: an expired row is refused at once and deleted by
 * session_sweep() (at login, and by `clipmill prune` and the runners'
 * maintenance through queue_prune()).  All of the sessions' SQL is here.
 */
#ifndef CLIPMILL_SESSION_H
#define CLIPMILL_SESSION_H

#include <stddef.h>
#include <libpq-fe.h>

#define SESSION_ID_LEN	64
#define SESSION_DAYS	30
/* NOTIFY'd with a user's id when the user is disabled, given a new key,
 * renamed or deleted, or one of its sessions ends (sql/009_auth_notify.sql):
 * whoever keeps lookups forgets that user's. */
#define CHAN_AUTH	"clipmill_auth"

/* 1 when ID has the form of a session id (SESSION_ID_LEN lower-case hex
 * digits): anything else is refused without a query. */
int	session_id_valid(const char *id);

/* Start a session of SESSION_DAYS for USER, provided USER is still
 * enabled and still has the key whose hash is KEY_HASH (so that a login
 * racing with `clipmill user rotate-key` or `disable` makes none); its
 * new id into ID.  0, 1 when the user no longer matches, -1 with ERR. */
int	session_create(PGconn *, long long user, const char *key_hash,
	    char id[SESSION_ID_LEN + 1], char *err, size_t errlen);

/* The user of the live session ID: 0 with *USER and NAME (NAMELEN bytes),
 * 1 when there is none (unknown, ended, expired, or its user disabled),
 * -1 with ERR.  Records when it was last seen, to the nearest few
 * minutes.  *LIVE_S (may be NULL) gets how many seconds the answer holds
 * at most: until the session expires or its last_seen is due again. */
int	session_lookup(PGconn *, const char *id, long long *user, char *name,
	    size_t namelen, long long *live_s, char *err, size_t errlen);

/* End the session ID: the number ended (0 or 1), or -1 with ERR. */
long long session_end(PGconn *, const char *id, char *err, size_t errlen);

/* End every session of USER, in the caller's transaction when there is
 * one: the number ended, or -1 with ERR. */
long long session_end_user(PGconn *, long long user, char *err,
	    size_t errlen);

/* Delete the expired sessions: the number deleted, or -1 with ERR. */
long long session_sweep(PGconn *, char *err, size_t errlen);

#endif
