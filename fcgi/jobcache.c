/*
 * Job documents (the JSON of GET /jobs/ID) kept per process, so that a
 * status read whose job has not changed costs one small query (the job's
 * tag: jobs.c) and no document built in PostgreSQL.
 *
 * An entry is served only to the user it was built for and only while the
 * job's tag (every row the document shows: the job's own, its tasks, its
 * clips; last_seq for its events) and its elapsed seconds are what they
 * were when it was built, so a kept document is never another user's and
 * never older than the rows.  job_cache_entries slots, direct-mapped by
 * job id; a document over JC_MAX_BODY bytes is not kept.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "extern.h"

#define JC_MAX_BODY	(1024 * 1024)

struct jc_entry {
	long long	 job, user, elapsed;
	char		 tag[JOB_TAG_LEN + 1];
	char		*body;		/* NUL-terminated; NULL: empty */
	size_t		 len;
};

static pthread_mutex_t	 jc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct jc_entry	*jc;		/* under jc_mu; made at first use */
static size_t		 jc_n;

static struct jc_entry *
jc_slot(long long job)
{
	if (jc == NULL && cfg.job_cache_entries > 0) {
		jc_n = (size_t)cfg.job_cache_entries;
		if ((jc = calloc(jc_n, sizeof(*jc))) == NULL)
			return NULL;
	}
	return jc == NULL ? NULL : &jc[(unsigned long long)job % jc_n];
}

char *
jc_get(long long job, long long user, const char *tag, long long elapsed,
    size_t *len)
{
	struct jc_entry *e;
	char *s = NULL;

	pthread_mutex_lock(&jc_mu);
	if ((e = jc_slot(job)) != NULL && e->body != NULL && e->job == job &&
	    e->user == user && e->elapsed == elapsed &&
	    strcmp(e->tag, tag) == 0 && (s = malloc(e->len + 1)) != NULL) {
		memcpy(s, e->body, e->len + 1);
		*len = e->len;
	}
	pthread_mutex_unlock(&jc_mu);
	return s;
}

void
jc_put(long long job, long long user, const char *tag, long long elapsed,
    const char *body, size_t len)
{
	struct jc_entry *e;
	char *s;
	size_t tlen = strlen(tag);

	if (len > JC_MAX_BODY || tlen > JOB_TAG_LEN ||
	    (s = malloc(len + 1)) == NULL)
		return;
	memcpy(s, body, len);
	s[len] = '\0';
	pthread_mutex_lock(&jc_mu);
	if ((e = jc_slot(job)) != NULL) {
		free(e->body);
		e->job = job;
		e->user = user;
		e->elapsed = elapsed;
		memcpy(e->tag, tag, tlen + 1);	/* length checked above */
		e->body = s;
		e->len = len;
		s = NULL;
	}
	pthread_mutex_unlock(&jc_mu);
	free(s);
}
