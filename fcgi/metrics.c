/*
 * /healthz (is the database reachable?) and /metrics (Prometheus text):
 * jobs by state, tasks by stage and state, task durations per stage as a
 * histogram, failures per stage, waiting long-polls, HTTP requests by
 * route and status.  /metrics answers only a client that shows
 * cfg.metrics_token (Authorization: Bearer): behind a local reverse
 * proxy every client's REMOTE_ADDR is loopback, so the address proves
 * nothing.  Without a token set, /metrics is off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config.h"
#include "db.h"
#include "extern.h"

void
route_healthz(struct req *r)
{
	char err[512];
	PGconn *c;

	r->json = 1;
	if ((c = req_db(r)) == NULL)
		return;
	if (db_cmd(c, err, sizeof(err), "SELECT 1", 0, NULL) == -1) {
		db_fail(r, err);
		return;
	}
	respond_json(r, 200, json_pack("{sssI}", "status", "ok",
	    "waiting_longpolls", (json_int_t)lp_waiting()), NULL);
}

/* 0 when R shows the metrics token; else the status to answer: 403
 * when no token is set (metrics are off), 401 when it is missing or
 * wrong. */
static int
refusal(struct req *r)
{
	const char *h;
	size_t n = strlen(cfg.metrics_token);

	if (n == 0)
		return 403;
	if ((h = param(r, "HTTP_AUTHORIZATION")) != NULL &&
	    strncasecmp(h, "Bearer ", 7) == 0 && strlen(h + 7) == n &&
	    CRYPTO_memcmp(h + 7, cfg.metrics_token, n) == 0)
		return 0;
	return 401;
}

static const double buckets[] = { 1, 5, 15, 60, 300, 900, 3600 };

void
route_metrics(struct req *r)
{
	char err[512];
	struct buf b;
	PGresult *res = NULL;
	PGconn *c;
	int i;
	size_t k;

	r->json = 0;
	switch (refusal(r)) {
	case 0:
		break;
	case 403:
		r->json = 1;
		respond_error(r, 403, NULL, NULL, "Metrics are off: the operator "
		    "has set no metrics_token.");
		return;
	default:
		r->json = 1;
		respond_error(r, 401, NULL, "WWW-Authenticate: Bearer "
		    "realm=\"clipmill metrics\"\r\n", "Metrics need the metrics "
		    "token (Authorization: Bearer).");
		return;
	}
	if ((c = req_db(r)) == NULL)
		return;
	buf_init(&b, 0);
	buf_addstr(&b, "# HELP clipmill_jobs Jobs by state.\n"
	    "# TYPE clipmill_jobs gauge\n");
	if ((res = db_exec(c, err, sizeof(err), "SELECT s, (SELECT count(*) "
	    "FROM jobs WHERE state = s) FROM unnest(ARRAY['pending','running',"
	    "'awaiting_review',"
	    "'done','partial','failed','cancelled']) s", 0, NULL)) == NULL)
		goto fail;
	for (i = 0; i < PQntuples(res); i++)
		buf_printf(&b, "clipmill_jobs{state=\"%s\"} %s\n",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	PQclear(res);

	buf_addstr(&b, "# HELP clipmill_tasks Tasks by stage and state "
	    "(pending = queue depth).\n# TYPE clipmill_tasks gauge\n");
	if ((res = db_exec(c, err, sizeof(err), "SELECT stage, state, count(*) "
	    "FROM tasks GROUP BY 1, 2 ORDER BY 1, 2", 0, NULL)) == NULL)
		goto fail;
	for (i = 0; i < PQntuples(res); i++)
		buf_printf(&b, "clipmill_tasks{stage=\"%s\",state=\"%s\"} %s\n",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2));
	PQclear(res);

	buf_addstr(&b, "# HELP clipmill_task_failures_total Failed tasks per "
	    "stage (kept rows).\n# TYPE clipmill_task_failures_total counter\n");
	if ((res = db_exec(c, err, sizeof(err), "SELECT stage, count(*) FROM "
	    "tasks WHERE state = 'failed' GROUP BY 1 ORDER BY 1", 0, NULL)) == NULL)
		goto fail;
	for (i = 0; i < PQntuples(res); i++)
		buf_printf(&b, "clipmill_task_failures_total{stage=\"%s\"} %s\n",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	PQclear(res);

	buf_addstr(&b, "# HELP clipmill_task_duration_seconds Run time of "
	    "finished tasks per stage.\n"
	    "# TYPE clipmill_task_duration_seconds histogram\n");
	if ((res = db_exec(c, err, sizeof(err),
	    "SELECT stage, count(*) FILTER (WHERE d <= 1),"
	    " count(*) FILTER (WHERE d <= 5), count(*) FILTER (WHERE d <= 15),"
	    " count(*) FILTER (WHERE d <= 60), count(*) FILTER (WHERE d <= 300),"
	    " count(*) FILTER (WHERE d <= 900), count(*) FILTER (WHERE d <= 3600),"
	    " count(*), coalesce(sum(d), 0) FROM (SELECT stage, extract(epoch FROM"
	    " finished_at - started_at) AS d FROM tasks WHERE state = 'done'"
	    " AND started_at IS NOT NULL AND finished_at IS NOT NULL) t"
	    " GROUP BY stage ORDER BY stage", 0, NULL)) == NULL)
		goto fail;
	for (i = 0; i < PQntuples(res); i++) {
		const char *st = PQgetvalue(res, i, 0);
		for (k = 0; k < sizeof(buckets) / sizeof(buckets[0]); k++)
			buf_printf(&b, "clipmill_task_duration_seconds_bucket{"
			    "stage=\"%s\",le=\"%g\"} %s\n", st, buckets[k],
			    PQgetvalue(res, i, 1 + (int)k));
		buf_printf(&b, "clipmill_task_duration_seconds_bucket{stage=\"%s\","
		    "le=\"+Inf\"} %s\n", st, PQgetvalue(res, i, 8));
		buf_printf(&b, "clipmill_task_duration_seconds_sum{stage=\"%s\"} "
		    "%s\n", st, PQgetvalue(res, i, 9));
		buf_printf(&b, "clipmill_task_duration_seconds_count{stage=\"%s\"} "
		    "%s\n", st, PQgetvalue(res, i, 8));
	}
	PQclear(res);
	res = NULL;

	buf_printf(&b, "# HELP clipmill_longpoll_waiting Long-poll requests "
	    "waiting now.\n# TYPE clipmill_longpoll_waiting gauge\n"
	    "clipmill_longpoll_waiting %zu\n", lp_waiting());
	buf_addstr(&b, "# HELP clipmill_http_requests_total HTTP requests by "
	    "route and status.\n# TYPE clipmill_http_requests_total counter\n");
	format_http_counters(&b);
	respond(r, 200, "text/plain; version=0.0.4", NULL, b.data, b.len);
	buf_free(&b);
	return;
fail:
	buf_free(&b);
	db_fail(r, err);
}
