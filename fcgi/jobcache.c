/*
 * Job documents (the JSON of GET /jobs/ID, and the page) and job lists
 * (the rows of GET /jobs) kept per process, so that a status read of
 * something that has not changed costs no query at all.
 *
 * What keeps them honest: the queue's statements and the triggers of
 * sql/010_doc_notify.sql NOTIFY a job's id on CHAN_EVENTS whenever
 * anything its document shows changes (a task's state by hand, with no
 * event, is the one change left to the job's next NOTIFY), and a user's
 * id on CHAN_USER_JOBS whenever anything the user's list shows does, from
 * any program; the long-poll listener counts both per
 * bucket (longpoll.c: lp_doc_gen(), lp_user_gen()).  A job's tag (jobs.c:
 * every row its document shows) is kept with the count its caller read
 * before asking PostgreSQL, and trusted while the count is the same: a
 * change committed after that look sends its NOTIFY later and moves the
 * count.  While a NOTIFY waits unread on the listener's connection, or
 * the listener is not listening, the count is 0 and nothing is trusted
 * (every read asks PostgreSQL); a reconnection moves every count.  The
 * routes that change a job move its counts at once (lp_touch()), so this
 * process never shows its own change late; another process shows it once
 * PostgreSQL has delivered the NOTIFY (a millisecond or so after the
 * commit).
 *
 * A document, and its page as one session saw it, are kept under the
 * job's tag and elapsed seconds, and served only to the user they were
 * built for (a page only under the same ETag, which holds the session's
 * form token), so a kept answer is never another user's.  A running
 * job's elapsed seconds move with the clock, so its document is built
 * again at most once a second.  job_cache_entries slots in each table,
 * direct-mapped; a body over JC_MAX_BODY bytes is not kept.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "extern.h"

#define JC_MAX_BODY	(1024 * 1024)
#define JC_KEY_LEN	128

struct jc_entry {
	long long	 job, user;
	char		 tag[JOB_TAG_LEN + 1];
	/* the tag as trusted until GEN moves (0: not trusted) */
	unsigned long	 gen;
	double		 secs;		/* elapsed at T0, unrounded */
	long long	 t0;		/* now_ms() of the look */
	int		 finished;	/* elapsed no longer moves */
	/* the document [0] and its page [1] as KEY (the page's ETag and
	 * the way its user logged in) saw it, of TAG at ELAPSED seconds */
	struct jc_body {
		long long	 elapsed;
		char		 key[JC_KEY_LEN];
		char		*s;	/* NULL: none */
		size_t		 len;
	}		 b[2];
};

/* A page of a user's list, as long as GEN (lp_user_gen()) stays. */
struct lc_entry {
	long long	 user, page;
	unsigned long	 gen;
	int		 more;
	char		*rows;
};

static pthread_mutex_t	 jc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct jc_entry	*jc;		/* under jc_mu; made at first use */
static struct lc_entry	*lc;
static size_t		 jc_n;

/* The slot of KEY in the lists' table when LIST, else the documents'
 * (both made at first use); NULL when keeping is off or there is no
 * memory for them.  Under jc_mu. */
static void *
slot(int list, unsigned long long key)
{
	if (jc == NULL && cfg.job_cache_entries > 0) {
		jc_n = (size_t)cfg.job_cache_entries;
		jc = calloc(jc_n, sizeof(*jc));
		lc = calloc(jc_n, sizeof(*lc));
		if (jc == NULL || lc == NULL) {
			free(jc);
			free(lc);
			jc = NULL;
			lc = NULL;
			return NULL;
		}
	}
	if (jc == NULL)
		return NULL;
	if (list)
		return &lc[key % jc_n];
	return &jc[key % jc_n];
}

static char *
dup_len(const char *s, size_t len)
{
	char *d;

	if ((d = malloc(len + 1)) != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

int
jc_tag(long long job, long long user, unsigned long gen,
    char tag[JOB_TAG_LEN + 1], long long *elapsed)
{
	struct jc_entry *e;
	int hit = 0;

	if (gen == 0)
		return 0;
	pthread_mutex_lock(&jc_mu);
	if ((e = slot(0, job)) != NULL && e->gen == gen && e->job == job &&
	    e->user == user) {
		memcpy(tag, e->tag, sizeof(e->tag));
		*elapsed = e->finished ? llround(e->secs) :
		    llround(e->secs + (double)(now_ms() - e->t0) / 1000);
		hit = 1;
	}
	pthread_mutex_unlock(&jc_mu);
	return hit;
}

/* Make E JOB's of USER at TAG, dropping a document of anything else. */
static void
jc_claim(struct jc_entry *e, long long job, long long user, const char *tag)
{
	if (e->job == job && e->user == user && strcmp(e->tag, tag) == 0)
		return;
	free(e->b[0].s);
	free(e->b[1].s);
	memset(e->b, 0, sizeof(e->b));
	e->gen = 0;
	e->job = job;
	e->user = user;
	snprintf(e->tag, sizeof(e->tag), "%s", tag);
}

void
jc_tag_put(long long job, long long user, unsigned long gen, const char *tag,
    double secs, int finished)
{
	struct jc_entry *e;

	if (gen == 0 || strlen(tag) > JOB_TAG_LEN)
		return;
	pthread_mutex_lock(&jc_mu);
	if ((e = slot(0, job)) != NULL) {
		jc_claim(e, job, user, tag);
		e->gen = gen;
		e->secs = secs;
		e->t0 = now_ms();
		e->finished = finished;
	}
	pthread_mutex_unlock(&jc_mu);
}

char *
jc_get(long long job, long long user, const char *tag, long long elapsed,
    const char *key, size_t *len)
{
	struct jc_entry *e;
	struct jc_body *b;
	char *s = NULL;

	pthread_mutex_lock(&jc_mu);
	if ((e = slot(0, job)) != NULL && e->job == job && e->user == user &&
	    strcmp(e->tag, tag) == 0) {
		b = &e->b[key != NULL];
		if (b->s != NULL && b->elapsed == elapsed &&
		    strcmp(b->key, key ? key : "") == 0 &&
		    (s = dup_len(b->s, b->len)) != NULL)
			*len = b->len;
	}
	pthread_mutex_unlock(&jc_mu);
	return s;
}

void
jc_put(long long job, long long user, const char *tag, long long elapsed,
    const char *key, const char *body, size_t len)
{
	struct jc_entry *e;
	struct jc_body *b;
	char *s;

	if (len > JC_MAX_BODY || strlen(tag) > JOB_TAG_LEN ||
	    (key != NULL && strlen(key) >= JC_KEY_LEN) ||
	    (s = dup_len(body, len)) == NULL)
		return;
	pthread_mutex_lock(&jc_mu);
	if ((e = slot(0, job)) != NULL) {
		jc_claim(e, job, user, tag);
		b = &e->b[key != NULL];
		free(b->s);
		b->elapsed = elapsed;
		snprintf(b->key, sizeof(b->key), "%s", key ? key : "");
		b->s = s;
		b->len = len;
		s = NULL;
	}
	pthread_mutex_unlock(&jc_mu);
	free(s);
}

char *
lc_get(long long user, long long page, unsigned long gen, int *more)
{
	struct lc_entry *e;
	char *s = NULL;

	if (gen == 0)
		return NULL;
	pthread_mutex_lock(&jc_mu);
	/* pages of one user spread over the slots next to each other */
	if ((e = slot(1, (unsigned long long)user * 16 + (unsigned long long)page)) != NULL && e->rows != NULL &&
	    e->user == user && e->page == page && e->gen == gen &&
	    (s = strdup(e->rows)) != NULL)
		*more = e->more;
	pthread_mutex_unlock(&jc_mu);
	return s;
}

void
lc_put(long long user, long long page, unsigned long gen, const char *rows,
    int more)
{
	struct lc_entry *e;
	char *s;
	size_t len = strlen(rows);

	if (gen == 0 || len > JC_MAX_BODY || (s = dup_len(rows, len)) == NULL)
		return;
	pthread_mutex_lock(&jc_mu);
	if ((e = slot(1, (unsigned long long)user * 16 + (unsigned long long)page)) != NULL) {
		free(e->rows);
		e->user = user;
		e->page = page;
		e->gen = gen;
		e->more = more;
		e->rows = s;
		s = NULL;
	}
	pthread_mutex_unlock(&jc_mu);
	free(s);
}
