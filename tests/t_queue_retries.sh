#!/usr/bin/env bash
# Semantics 4: retries.  A transient failure retries with exponential
# backoff and jitter (retry_base 0.4 s here: the delay before attempt k+1
# is in [0.4, 0.8) * 2^(k-1) s: doubling, plus up to as much again); a permanent failure fails the job at once
# with its message; exhausted attempts fail the job with the last error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1
conf_set retry_base 0.4

ok_job=$(qjob); qtasks "$ok_job" fail_transient 1 '{"succeed_on":3}'
ok_task=$(sql "SELECT max(id) FROM tasks")
ex_job=$(qjob); qtasks "$ex_job" fail_transient 1 '{}'
ex_task=$(sql "SELECT max(id) FROM tasks")
pm_job=$(qjob); qtasks "$pm_job" fail_permanent 1 '{"msg":"This file is not a video."}'
pm_task=$(sql "SELECT max(id) FROM tasks")
qtasks "$pm_job" hang 1	# a later step of that job, still pending
qrun r --stage fail_transient,fail_permanent --idle-exit 2
qwait r 60
check_eq "runner exits 0" 0 "$QRC"

check_eq "transient: succeeded on attempt 3" "done|3" "$(sql "SELECT state, attempts FROM tasks WHERE id = $ok_task")"
check_eq "its job is done" done "$(sql "SELECT state FROM jobs WHERE id = $ok_job")"
d=$(sql "SELECT string_agg((data->>'delay_s'), ' ' ORDER BY seq) FROM events WHERE job_id = $ok_job AND kind = 'retry'")
read -r d1 d2 <<<"$d"
echo "# backoff delays: $d1 $d2"
check "first delay in [0.4, 0.8)" awk -v d="$d1" 'BEGIN { exit !(d >= 0.4 && d < 0.8) }'
check "second delay in [0.8, 1.6)" awk -v d="$d2" 'BEGIN { exit !(d >= 0.8 && d < 1.6) }'
# the runner really waited: next start minus previous end, from the
# executions log (ms), at least the recorded delay
gaps=$(awk -v t="$ok_task" '$2 == t { if (e) printf "%d ", $5 - e; e = $6 }' "$CLIPMILL_TEST_LOG")
read -r g1 g2 <<<"$gaps"
echo "# gaps between attempts: $g1 $g2 ms"
check "waited the first delay" awk -v g="$g1" -v d="$d1" 'BEGIN { exit !(g >= d * 1000 - 20 && g < d * 1000 + 1500) }'
check "waited the second delay" awk -v g="$g2" -v d="$d2" 'BEGIN { exit !(g >= d * 1000 - 20 && g < d * 1000 + 1500) }'
check "the delays differ from one run to the next (jitter)" \
    test "$(sql "SELECT count(DISTINCT data->>'delay_s') FROM events WHERE kind = 'retry'")" -ge 3

check_eq "exhausted: failed after 3 attempts" "failed|3" "$(sql "SELECT state, attempts FROM tasks WHERE id = $ex_task")"
check_eq "its job failed with the last error" "failed|Test failure on attempt 3 (transient)." \
    "$(sql "SELECT state, error FROM jobs WHERE id = $ex_job")"
check_eq "permanent: failed at once" "failed|1" "$(sql "SELECT state, attempts FROM tasks WHERE id = $pm_task")"
check_eq "its job failed with the message" "failed|This file is not a video." \
    "$(sql "SELECT state, error FROM jobs WHERE id = $pm_job")"
check_eq "the job's pending step was cancelled" cancelled \
    "$(sql "SELECT state FROM tasks WHERE job_id = $pm_job AND stage = 'hang'")"
check_eq "failed events name the error" "This file is not a video." \
    "$(sql "SELECT data->>'error' FROM events WHERE job_id = $pm_job AND kind = 'failed'")"
check_eq "executions: 3 + 3 + 1" 7 "$(wc -l <"$CLIPMILL_TEST_LOG")"

done_testing
