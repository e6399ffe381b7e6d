/* Retention: which ended jobs (and jobs left awaiting review) to delete,
 * and deleting them with their stored artifacts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "keys.h"
#include "queue.h"
#include "session.h"
#include "store.h"
#include "util.h"

int
queue_prune(PGconn *c, struct store *st, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[3];
	char prefix[64];
	PGresult *r;
	long long id;
	int i, n = 0, rc;

	if (session_sweep(c, err, errlen) == -1)	/* expired sessions */
		return -1;
	p[0] = db_param_ll(&dp, cfg.keep_completed);
	p[1] = db_param_ll(&dp, cfg.keep_failed);
	p[2] = db_param_ll(&dp, cfg.retention_days);
	/* Rank each user's ended jobs newest first within their outcome; a
	 * job goes when it is past its outcome's count or past the age
	 * limit.  The counts are per user, so that one user's burst of jobs
	 * never pushes out another user's clips. */
	r = db_exec(c, err, errlen,
	    "SELECT id FROM ("
	    " SELECT id, finished_at, row_number() OVER (PARTITION BY user_id,"
	    "  state IN ('done', 'partial') ORDER BY finished_at DESC, id DESC) AS n,"
	    "  state IN ('done', 'partial') AS good FROM jobs"
	    " WHERE state IN ('done', 'partial', 'failed', 'cancelled')) j "
	    "WHERE (good AND n > $1::int) OR (NOT good AND n > $2::int)"
	    " OR ($3::int > 0 AND finished_at < now() - make_interval(days => $3::int)) "
	    /* a job left awaiting review: by the age of its last change */
	    "UNION SELECT id FROM jobs WHERE state = 'awaiting_review'"
	    " AND $3::int > 0 AND updated_at < now() - make_interval(days => $3::int) "
	    "ORDER BY id LIMIT 1000", 3, p);
	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		const char *jp[1];

		if (parse_ll(PQgetvalue(r, i, 0), 1, INT64_MAX, &id) == -1)
			continue;
		if (st != NULL) {
			key_job_prefix(prefix, sizeof(prefix), id);
			rc = store_delete_prefix(st, prefix, err, errlen);
			if (rc == STORE_OK || rc == STORE_NOTFOUND) {
				key_clips_prefix(prefix, sizeof(prefix), id);
				rc = store_delete_prefix(st, prefix, err, errlen);
			}
			if (rc != STORE_OK && rc != STORE_NOTFOUND) {
				PQclear(r);
				return -1;
			}
		}
		jp[0] = PQgetvalue(r, i, 0);
		/* tasks, clips and events go with the job (ON DELETE CASCADE) */
		if (db_cmd(c, err, errlen, "DELETE FROM jobs WHERE id = $1", 1,
		    jp) == -1) {
			PQclear(r);
			return -1;
		}
		n++;
	}
	PQclear(r);
	return n;
}
