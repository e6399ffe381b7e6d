#!/usr/bin/env bash
# Semantics 12: SIGTERM.  The runner stops claiming, lets its task finish
# within term_grace or hands it back to pending (the attempt not
# counted), and exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1
conf_set term_grace 3

running() { state_is tasks "$1" running; }

# a short task finishes within the grace period; nothing more is claimed
job=$(qjob)
qtasks "$job" sleep 1 '{"ms":1000,"steps":10}'
t1=$(sql "SELECT max(id) FROM tasks")
qtasks "$job" sleep 1 '{"ms":100,"steps":1}'
t2=$(sql "SELECT max(id) FROM tasks")
qrun a --stage sleep --idle-exit 10
check "task running" wait_for 10 running "$t1"
kill -TERM "$(qpid a)"
qwait a 10
check_eq "runner exits 0" 0 "$QRC"
check_eq "its task finished" "done|1" "$(sql "SELECT state, attempts FROM tasks WHERE id = $t1")"
check_eq "no new task was claimed" "pending|0" "$(sql "SELECT state, attempts FROM tasks WHERE id = $t2")"

# a long task is handed back after term_grace (3 s)
job=$(qjob)
qtasks "$job" sleep 1 '{"ms":20000,"steps":200}'
t3=$(sql "SELECT max(id) FROM tasks")
qrun b --stage sleep --idle-exit 10 --max-tasks 2	# takes t2 first, then t3
check "long task running" wait_for 15 running "$t3"
child=$(grep -o '"child":[0-9]*' "$TMP/b.log" | tail -1 | cut -d: -f2)
s0=$(ms_now)
kill -TERM "$(qpid b)"
qwait b 15
el=$(( $(ms_now) - s0 ))
echo "# exited $el ms after SIGTERM"
check_eq "runner exits 0" 0 "$QRC"
check "after about the grace period" test "$el" -ge 2500 -a "$el" -le 6000
check_eq "the task is pending again, attempt not counted" "pending|0|" \
    "$(sql "SELECT state, attempts, runner FROM tasks WHERE id = $t3")"
check "its child is gone" bash -c "! kill -0 $child 2>/dev/null"
check "handed back logged" grep -q '"event":"task_handed_back"' "$TMP/b.log"

# an idle runner exits at once
qrun c --stage noop --idle-exit 30
wait_for 10 grep -q runner_started "$TMP/c.log"
s0=$(ms_now)
kill -TERM "$(qpid c)"
qwait c 10
check_eq "idle runner exits 0" 0 "$QRC"
check "at once" test $(( $(ms_now) - s0 )) -lt 1500
done_testing
