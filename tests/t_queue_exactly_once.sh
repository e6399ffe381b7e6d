#!/usr/bin/env bash
# Semantics 1: exactly once under contention.  Four runners, started first
# and idle, wake on one NOTIFY and drain 20,000 tasks of the in-process
# batch stage "noop"; every task must have run exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1

jobs=()
for j in 1 2 3 4 5 6 7 8 9 10; do jobs+=("$(qjob)"); done
for i in 1 2 3 4; do qrun r$i --stage noop --idle-exit 4; done
# wait until all four listen
wait_for 20 bash -c "[ \$(grep -l runner_started $TMP/r?.log 2>/dev/null | wc -l) -eq 4 ]"
# 20,000 tasks over ten jobs, inserted and announced in one transaction
sql "WITH t AS (INSERT INTO tasks (job_id, stage)
     SELECT j, 'noop' FROM unnest(ARRAY[$(IFS=,; echo "${jobs[*]}")]::bigint[]) j,
     generate_series(1, 2000) RETURNING 1)
     SELECT pg_notify('clipmill_tasks', 'noop') FROM (SELECT count(*) FROM t) c" >/dev/null
for i in 1 2 3 4; do qwait r$i 120; check_eq "runner $i exits 0 when idle" 0 "$QRC"; done

check_eq "20000 executions recorded" 20000 "$(wc -l <"$CLIPMILL_TEST_LOG")"
check_eq "20000 distinct tasks executed" 20000 "$(awk '{print $2}' "$CLIPMILL_TEST_LOG" | sort -u | wc -l)"
check_eq "no task executed twice" "" "$(awk '{print $2}' "$CLIPMILL_TEST_LOG" | sort | uniq -d | head -3)"
check_eq "every task done once in the database" "20000|20000|1" \
    "$(sql "SELECT count(*) FILTER (WHERE state = 'done'), count(DISTINCT id), max(attempts) FROM tasks")"
check_eq "executions match the task ids" 0 \
    "$(sql "SELECT count(*) FROM tasks" >/dev/null; comm -3 <(awk '{print $2}' "$CLIPMILL_TEST_LOG" | sort) <(sql 'SELECT id FROM tasks' | sort) | wc -l)"
nr=$(awk '{print $4}' "$CLIPMILL_TEST_LOG" | sort -u | wc -l)
echo "# runners that executed tasks: $nr"
check "more than one runner took part" test "$nr" -ge 2
check_eq "all ten jobs done" 10 "$(sql "SELECT count(*) FROM jobs WHERE state = 'done' AND finished_at IS NOT NULL")"
done_testing
