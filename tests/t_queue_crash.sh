#!/usr/bin/env bash
# Semantics 3: crash recovery.  kill -9 of a runner mid-task: its session
# lock is gone, so another runner rescues the task at once and completes
# it within 5 s, the attempt counted.  The first attempts run long, so
# that a loaded machine cannot finish them before the kill or the stop.  A hung runner (SIGSTOP) loses its
# task once the heartbeat lease (2 s here) expires, and its late result,
# after SIGCONT, is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1

running_by() {  # TASK PID: the task is running under runner PID
	[ "$(sql "SELECT runner FROM tasks WHERE id = $1 AND state = 'running'")" = "$(hostname):$2" ]
}

# --- kill -9 ---
job=$(qjob)
qtasks "$job" sleep 1 '{"first_ms":60000,"ms":1500,"steps":15}'
task=$(sql "SELECT max(id) FROM tasks")
qrun a --stage sleep --idle-exit 20
check "runner A took the task" wait_for 10 running_by "$task" "$(qpid a)"
child=$(grep -o '"child":[0-9]*' "$TMP/a.log" | head -1 | cut -d: -f2)
qrun b --stage sleep --idle-exit 3
wait_for 10 grep -q runner_started "$TMP/b.log"
sleep 0.3
t0=$(ms_now)
kill -9 "$(qpid a)"
check "B completes the task" wait_for 10 state_is tasks "$task" done
t1=$(ms_now)
echo "# rescued and completed $((t1 - t0)) ms after kill -9"
check "completed within 5 s of the kill" test $((t1 - t0)) -lt 5000
check_eq "the attempt was counted" 2 "$(sql "SELECT attempts FROM tasks WHERE id = $task")"
check_eq "B ran it" "$(qpid b)" "$(sql "SELECT result->>'runner_pid' FROM tasks WHERE id = $task")"
check "A's child died with A" wait_for 3 bash -c "! kill -0 $child 2>/dev/null"
check "rescue logged" grep -q '"event":"task_rescued".*"runner_gone":true' "$TMP/b.log"
check_eq "the job is done" done "$(sql "SELECT state FROM jobs WHERE id = $job")"
qwait b 20
check_eq "B exits 0" 0 "$QRC"

# --- SIGSTOP: lease expiry, late result refused ---
job=$(qjob)
qtasks "$job" sleep 1 '{"first_ms":2500,"ms":1200,"steps":4}'
task=$(sql "SELECT max(id) FROM tasks")
qrun c --stage sleep --idle-exit 30
check "runner C took the task" wait_for 10 running_by "$task" "$(qpid c)"
qrun d --stage sleep --idle-exit 4
wait_for 10 grep -q runner_started "$TMP/d.log"
kill -STOP "$(qpid c)"
t0=$(ms_now)
check "D takes the task over" wait_for 10 running_by "$task" "$(qpid d)"
t1=$(ms_now)
echo "# taken over $((t1 - t0)) ms after SIGSTOP (lease 2 s, heartbeat every 0.67 s)"
check "not before the lease expired" test $((t1 - t0)) -ge 1200
check "D completes it" wait_for 10 state_is tasks "$task" done
kill -CONT "$(qpid c)"
check "C's late result is refused" wait_for 10 grep -q '"event":"late_result_discarded".*"task":'"$task" "$TMP/c.log"
check_eq "the task stays D's, attempt 2" "$(qpid d)|2|done" \
    "$(sql "SELECT result->>'runner_pid', attempts, state FROM tasks WHERE id = $task")"
check "rescue logged with the heartbeat reason" grep -q '"event":"task_rescued".*"runner_gone":false' "$TMP/d.log"
check_eq "one stage_done event only" 1 "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'stage_done'")"
kill -TERM "$(qpid c)"
qwait c 20
check_eq "C exits 0 after SIGTERM" 0 "$QRC"
qwait d 20
done_testing
