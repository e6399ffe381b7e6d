/* clipmill stats and prune: the queue's health, and retention. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "queue.h"
#include "store.h"
#include "util.h"

int
cli_stats(int argc, char **argv)
{
	static const char *const job_hdr[] = { "JOBS", "PENDING", "RUNNING",
	    "DONE", "PARTIAL", "FAILED", "CANCELLED" };
	static const char *const task_hdr[] = { "STAGE", "PENDING", "RUNNING",
	    "DONE", "FAILED", "CANCELLED", "P50_S", "P95_S", "FAILED_1H",
	    "RETRIES_1H" };
	char err[512];
	PGresult *r;
	PGconn *c;
	int rc = CLI_FAIL;

	(void)argv;
	if (argc != 1)
		return cli_usage("stats", "stats takes no arguments");
	if ((c = cli_connect()) == NULL)
		return CLI_FAIL;
	r = db_exec(c, err, sizeof(err),
	    "SELECT 'all',"
	    " count(*) FILTER (WHERE state = 'pending'),"
	    " count(*) FILTER (WHERE state = 'running'),"
	    " count(*) FILTER (WHERE state = 'done'),"
	    " count(*) FILTER (WHERE state = 'partial'),"
	    " count(*) FILTER (WHERE state = 'failed'),"
	    " count(*) FILTER (WHERE state = 'cancelled') FROM jobs", 0, NULL);
	if (r == NULL) {
		cli_fail("%s", err);
		goto out;
	}
	cli_table(stdout, r, job_hdr, 20);
	PQclear(r);
	/* Depth by state over all tasks; durations and failures over the
	 * last hour by the database clock.  A duration is one attempt's run,
	 * started_at to finished_at, of tasks that ended done or failed.
	 * Retries come from the "retry" events the runner records. */
	r = db_exec(c, err, sizeof(err),
	    "WITH t AS (SELECT stage, state, extract(epoch FROM finished_at -"
	    "   started_at) AS secs, finished_at > now() - interval '1 hour'"
	    "   AS recent FROM tasks),"
	    " rt AS (SELECT stage, count(*) AS n FROM events WHERE kind = 'retry'"
	    "   AND ts > now() - interval '1 hour' AND stage IS NOT NULL"
	    "   GROUP BY stage),"
	    " s AS (SELECT stage,"
	    "   count(*) FILTER (WHERE state = 'pending') AS pending,"
	    "   count(*) FILTER (WHERE state = 'running') AS running,"
	    "   count(*) FILTER (WHERE state = 'done') AS done,"
	    "   count(*) FILTER (WHERE state = 'failed') AS failed,"
	    "   count(*) FILTER (WHERE state = 'cancelled') AS cancelled,"
	    "   percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) FILTER (WHERE"
	    "    recent AND secs IS NOT NULL AND state IN ('done', 'failed'))"
	    "    AS p50,"
	    "   percentile_cont(0.95) WITHIN GROUP (ORDER BY secs) FILTER (WHERE"
	    "    recent AND secs IS NOT NULL AND state IN ('done', 'failed'))"
	    "    AS p95,"
	    "   count(*) FILTER (WHERE recent AND state = 'failed') AS failed_1h"
	    "  FROM t GROUP BY stage) "
	    "SELECT coalesce(s.stage, rt.stage), coalesce(pending, 0),"
	    " coalesce(running, 0), coalesce(done, 0), coalesce(failed, 0),"
	    " coalesce(cancelled, 0), to_char(p50, 'FM999999990.00'),"
	    " to_char(p95, 'FM999999990.00'), coalesce(failed_1h, 0),"
	    " coalesce(rt.n, 0) "
	    "FROM s FULL JOIN rt ON rt.stage = s.stage "
	    "ORDER BY array_position(ARRAY['fetch', 'transcribe', 'select',"
	    " 'frame', 'render', 'publish'], coalesce(s.stage, rt.stage)),"
	    " coalesce(s.stage, rt.stage)", 0, NULL);
	if (r == NULL) {
		cli_fail("%s", err);
		goto out;
	}
	printf("\n");
	if (PQntuples(r) == 0)
		printf("no tasks\n");
	else
		cli_table(stdout, r, task_hdr, 40);
	PQclear(r);
	rc = CLI_OK;
out:
	PQfinish(c);
	return rc;
}

int
cli_prune(int argc, char **argv)
{
	char err[512];
	struct store *st;
	PGconn *c;
	int n, total = 0;

	(void)argv;
	if (argc != 1)
		return cli_usage("prune", "prune takes no arguments");
	if ((st = store_open(err, sizeof(err))) == NULL)
		return cli_fail("%s", err);
	if ((c = cli_connect()) == NULL) {
		store_close(st);
		return CLI_FAIL;
	}
	/* queue_prune takes a bounded batch per call: go on until done */
	while ((n = queue_prune(c, st, err, sizeof(err))) > 0)
		total += n;
	PQfinish(c);
	store_close(st);
	if (n < 0)
		return cli_fail("pruning stopped after %d job%s: %s", total,
		    total == 1 ? "" : "s", err);
	printf("%d job%s pruned\n", total, total == 1 ? "" : "s");
	return CLI_OK;
}
