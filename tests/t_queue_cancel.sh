#!/usr/bin/env bash
# Semantics 6: cancellation.  Cancelling a job cancels its pending tasks;
# a running task stops at its next progress report; the runner carries on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1

cancel_job() {
	# `clipmill cancel` (queue_cancel_job) when this build has it; else
	# the same statements it runs
	if clipmill 2>&1 | grep -q '^ *cancel '; then
		clipmill cancel "$1"
	else
		sql "BEGIN;
		     UPDATE jobs SET state = 'cancelled', finished_at = now(), error = 'Cancelled.' WHERE id = $1;
		     UPDATE tasks SET state = 'cancelled', finished_at = now() WHERE job_id = $1 AND state = 'pending';
		     COMMIT" >/dev/null
	fi
}

job=$(qjob)
qtasks "$job" sleep 1 '{"ms":8000,"steps":80}'
task=$(sql "SELECT max(id) FROM tasks")
qtasks "$job" hang 1		# pending, never claimed here
# deliveries of events that already happened: one waiting, one given up
sql "INSERT INTO tasks (job_id, stage, state, payload) VALUES
     ($job, 'webhook', 'pending', '{\"type\":\"clip.ready\"}'),
     ($job, 'webhook', 'failed', '{\"type\":\"clip.ready\"}')" >/dev/null
other=$(qjob)
qtasks "$other" sleep 1 '{"ms":200,"steps":2}'
qrun r --stage sleep --idle-exit 2
progressed() { [ "$(sql "SELECT progress FROM tasks WHERE id = $task")" -gt 0 ]; }
check "the task reports progress" wait_for 10 progressed
child=$(grep -o '"child":[0-9]*' "$TMP/r.log" | head -1 | cut -d: -f2)
t0=$(ms_now)
cancel_job "$job"
check "the running task is cancelled" wait_for 5 state_is tasks "$task" cancelled
t1=$(ms_now)
echo "# stopped $((t1 - t0)) ms after the cancel"
check "stopped within 3 s (at its next progress report)" test $((t1 - t0)) -lt 3000
check "its child process is gone" wait_for 3 bash -c "! kill -0 $child 2>/dev/null"
check_eq "the pending task is cancelled" cancelled "$(sql "SELECT state FROM tasks WHERE job_id = $job AND stage = 'hang'")"
check_eq "the job stays cancelled" cancelled "$(sql "SELECT state FROM jobs WHERE id = $job")"
check "the runner carries on with other work" wait_for 10 state_is tasks "$(sql "SELECT max(id) FROM tasks WHERE job_id = $other")" done
check_eq "the cancelled task never finished its work" "" "$(awk -v t="$task" '$2 == t' "$CLIPMILL_TEST_LOG")"
check "the runner logged it" grep -q '"event":"task_cancelled".*"task":'"$task" "$TMP/r.log"
qwait r 30
check_eq "runner exits 0" 0 "$QRC"
check_eq "a waiting webhook delivery is not cancelled with the job" pending \
    "$(sql "SELECT state FROM tasks WHERE job_id = $job AND stage = 'webhook' AND attempts = 0 AND state <> 'failed'")"

# Retrying the job runs its cancelled stages again, never a delivery
# that was given up (the receiver would get an old event again).
clipmill retry "$job" >/dev/null
check_eq "retry: the cancelled tasks are pending again" "hang:pending|sleep:pending" \
    "$(sql "SELECT string_agg(stage || ':' || state, '|' ORDER BY stage) FROM tasks WHERE job_id = $job AND stage <> 'webhook'")"
check_eq "retry: the given-up delivery stays failed" "failed|pending" \
    "$(sql "SELECT string_agg(state, '|' ORDER BY state) FROM tasks WHERE job_id = $job AND stage = 'webhook'")"
done_testing
