#!/usr/bin/env bash
# Semantics 10: wake-up.  An idle runner LISTENs and starts a newly
# inserted task within 50 ms (insert to claim, by the database clock);
# after idle_exit seconds without work it exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1

job=$(qjob)
qrun r --stage noop --idle-exit 3
wait_for 10 grep -q runner_started "$TMP/r.log"
sleep 0.3
# one task at a time, each in its own transaction with its NOTIFY, from
# one session (a fresh connection's first statement spends tens of ms
# loading catalogs: the inserter's cost, not the queue's); created_at is
# taken at the end of the insert, just before its commit
for i in $(seq 1 9); do
	echo "WITH t AS (INSERT INTO tasks (job_id, stage, created_at) VALUES ($job, 'noop', clock_timestamp()) RETURNING 1) SELECT pg_notify('clipmill_tasks', 'noop') FROM t;"
	echo "SELECT pg_sleep(0.2);"
done | psql -qXAt "$CLIPMILL_DATABASE_URL" >/dev/null
lat=$(sql "SELECT round(extract(epoch FROM started_at - created_at) * 1000)::int FROM tasks ORDER BY id" | paste -sd' ')
echo "# insert-to-start latencies (ms): $lat"
med=$(tr ' ' '\n' <<<"$lat" | sort -n | sed -n 5p)
check_eq "all nine ran" 9 "$(sql "SELECT count(*) FROM tasks WHERE state = 'done'")"
check "median insert-to-start under 50 ms (it was $med ms)" test "$med" -lt 50
qwait r 20
check_eq "idle runner exits 0" 0 "$QRC"
# from the last task's end (database clock) to the runner's idle_exit
# log line (same host clock)
tlast=$(sql "SELECT (extract(epoch FROM max(finished_at)) * 1000)::bigint FROM tasks")
texit=$(date -d "$(grep -o '"ts":"[^"]*","level":"info","prog":"clipmill-batch","event":"idle_exit"' "$TMP/r.log" | cut -d'"' -f4)" +%s%3N)
t=$((texit - tlast))
echo "# exited $t ms after the last task"
check "after idle_exit (3 s) without work" test "$t" -ge 2990 -a "$t" -le 4500
check "logged why" grep -q '"event":"idle_exit"' "$TMP/r.log"
done_testing
