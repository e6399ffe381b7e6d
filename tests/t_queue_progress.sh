#!/usr/bin/env bash
# Semantics 8: progress.  A task reports 0-100 and a message; each report
# that is written appends a "progress" event and sends NOTIFY on
# clipmill_events carrying only the job id; reports are debounced to at
# most four a second per task.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1

job=$(qjob)
# 150 reports in 1.5 s: one every 10 ms
qtasks "$job" sleep 1 '{"ms":1500,"steps":150}'
task=$(sql "SELECT max(id) FROM tasks")
# a listener: psql prints notifications after each command
psql -qXAt "$CLIPMILL_DATABASE_URL" -c "LISTEN clipmill_events" -c "SELECT pg_sleep(5)" >"$TMP/listen.out" 2>&1 &
lpid=$!
at_exit "kill $lpid 2>/dev/null"
sleep 0.5
qrun r --stage sleep --idle-exit 1
qwait r 30
check_eq "runner exits 0" 0 "$QRC"
wait "$lpid"

n=$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'progress'")
echo "# progress events for 150 reports over 1.5 s: $n"
check "reports were written" test "$n" -ge 3
check "debounced to at most 4 a second" test "$n" -le 8
check_eq "percentages only grow" "" \
    "$(sql "SELECT 1 FROM (SELECT (data->>'pct')::int p, lag((data->>'pct')::int) OVER (ORDER BY seq) q FROM events WHERE job_id = $job AND kind = 'progress') x WHERE p <= q")"
check "events carry stage, pct and msg" test "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'progress' AND data->>'stage' = 'sleep' AND (data->>'pct')::int BETWEEN 0 AND 100 AND data->>'msg' LIKE 'step % of 150'")" -eq "$n"
check_eq "the task ends at 100" "done|100" "$(sql "SELECT state, progress FROM tasks WHERE id = $task")"
nn=$(grep -c 'Asynchronous notification "clipmill_events"' "$TMP/listen.out")
echo "# notifications received: $nn"
check "one NOTIFY per written report (and per other event)" test "$nn" -ge "$n"
check_eq "NOTIFY payloads are only the job id" "$job" \
    "$(grep -o 'with payload "[^"]*"' "$TMP/listen.out" | sort -u | sed 's/with payload "\(.*\)"/\1/' | paste -sd' ')"
done_testing
