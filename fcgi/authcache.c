/*
 * The lookups of who is asking (an API key's hash, a session id's hash, a
 * REMOTE_USER name), kept for auth_cache_ttl seconds so that a status read
 * costs no query for them.
 *
 * What keeps it honest: the long-poll listener (longpoll.c) LISTENs on
 * CHAN_AUTH too, which the triggers of sql/009_auth_notify.sql NOTIFY
 * with the user's id when that user is disabled, renamed, deleted or
 * given a new key, or one of its sessions ends or changes, from any
 * program; the user's entries go at once.  While that connection is down
 * nothing is kept (every request asks PostgreSQL), and on (re)connecting
 * everything kept is dropped.  A
 * lookup that raced with a notification is not kept: every drop bumps a
 * generation, and ac_put() stores only under the generation its caller
 * saw before asking PostgreSQL.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "extern.h"

#define AC_SLOTS	4096	/* direct-mapped: a collision replaces */

struct ac_entry {
	char		 kind;		/* 0: empty */
	char		 id[65];	/* hash hex, or the REMOTE_USER name */
	long long	 user;
	char		 name[65];
	long long	 until;		/* now_ms() deadline */
};

static struct {
	pthread_mutex_t	 mu;
	struct ac_entry	 e[AC_SLOTS];	/* under mu */
	unsigned long	 gen;		/* under mu; bumped at every drop */
	int		 live;		/* under mu: LISTENing now */
} ac = { .mu = PTHREAD_MUTEX_INITIALIZER };

static size_t
slot_of(int kind, const char *id)
{
	unsigned long h = 2166136261u ^ (unsigned char)kind;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % AC_SLOTS;
}

int
ac_get(int kind, const char *id, long long *user, char *name, size_t namelen,
    unsigned long *gen)
{
	struct ac_entry *e = &ac.e[slot_of(kind, id)];
	int hit = 0;

	*gen = 0;
	if (cfg.auth_cache_ttl == 0)
		return 0;
	pthread_mutex_lock(&ac.mu);
	if (ac.live) {
		*gen = ac.gen;
		if (e->kind == kind && strcmp(e->id, id) == 0 &&
		    e->until > now_ms()) {
			*user = e->user;
			snprintf(name, namelen, "%s", e->name);
			hit = 1;
		}
	}
	pthread_mutex_unlock(&ac.mu);
	return hit;
}

void
ac_put(int kind, const char *id, long long user, const char *name,
    long long live_s, unsigned long gen)
{
	struct ac_entry *e = &ac.e[slot_of(kind, id)];

	if (gen == 0 || live_s <= 0 || strlen(id) >= sizeof(e->id))
		return;
	if (live_s > cfg.auth_cache_ttl)
		live_s = cfg.auth_cache_ttl;
	pthread_mutex_lock(&ac.mu);
	if (ac.live && ac.gen == gen) {
		e->kind = (char)kind;
		snprintf(e->id, sizeof(e->id), "%s", id);
		e->user = user;
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->until = now_ms() + live_s * 1000;
	}
	pthread_mutex_unlock(&ac.mu);
}

/* Drop USER's entries (0: everyone's), and set whether we listen (LIVE
 * 0 or 1; -1 leaves it). */
static void
ac_drop(long long user, int live)
{
	size_t i;

	pthread_mutex_lock(&ac.mu);
	for (i = 0; i < AC_SLOTS; i++)
		if (user == 0 || ac.e[i].user == user)
			ac.e[i].kind = 0;
	/* 0 is "do not keep" for ac_put(): skip it */
	if (++ac.gen == 0)
		ac.gen = 1;
	if (live != -1)
		ac.live = live;
	pthread_mutex_unlock(&ac.mu);
}

void
ac_forget(long long user)
{
	ac_drop(user, -1);
}

void
ac_listening(int live)
{
	ac_drop(0, live);
}
