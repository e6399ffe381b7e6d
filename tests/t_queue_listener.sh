#!/usr/bin/env bash
# The host listener (wake_socket, clipmill-batch --listen): idle runners
# hold no database connection, so the host costs PostgreSQL one
# connection however many runners wait; a new task still wakes one and
# runs; a runner killed mid-task loses nothing (the listener's rescue
# pass); when the listener dies, its runners LISTEN on their own again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1
conf_set wake_socket "$TMP/wake.sock"

# connections of clipmill-batch to this test's database
conns() {
	sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'clipmill-batch'"
}
conns_at_most() { [ "$(conns)" -le "$1" ]; }

qrun lst --listen
check "the listener starts" wait_for 10 grep -q '"listener_started"' "$TMP/lst.log"
qrun lst2 --listen
qwait lst2 10
check_eq "a second listener on the same socket leaves at once, status 0" 0 "$QRC"

for i in 1 2 3 4 5 6 7 8; do qrun "idle$i" --stage noop --idle-exit 60; done
qrun s1 --stage sleep --idle-exit 60
qrun s2 --stage sleep --idle-exit 60
check "ten runners started" wait_for 20 bash -c "[ \$(cat $TMP/idle*.log $TMP/s?.log | grep -c '\"runner_started\"') -eq 10 ]"
check "ten idle runners and the listener: one connection" wait_for 20 conns_at_most 1
check_eq "no runner fell back to its own LISTEN" 0 "$(cat "$TMP"/idle*.log "$TMP"/s?.log | grep -c wake_socket_unavailable)"

job=$(qjob)
qtasks "$job" noop 20
check "a NOTIFY wakes them: 20 tasks done" wait_for 20 bash -c "[ \$(psql -qXAt '$CLIPMILL_DATABASE_URL' -c \"SELECT count(*) FROM tasks WHERE stage = 'noop' AND state = 'done'\") -eq 20 ]"
check "idle again: back to one connection" wait_for 20 conns_at_most 1

# kill -9 of the runner working on a task: its lock went with its
# connection; the listener's rescue pass hands the task to the other one
job=$(qjob)
qtasks "$job" sleep 1 '{"first_ms":60000,"ms":300}'
task=$(sql "SELECT max(id) FROM tasks")
check "a sleep runner took the task" wait_for 20 state_is tasks "$task" running
holder=$(sql "SELECT split_part(runner, ':', 2) FROM tasks WHERE id = $task")
other=$(qpid s1); [ "$holder" = "$other" ] && other=$(qpid s2)
check "the holder is one of ours" bash -c "[ '$holder' = '$(qpid s1)' ] || [ '$holder' = '$(qpid s2)' ]"
kill -9 "$holder"
check "the task is rescued and done" wait_for 30 state_is tasks "$task" done
check_eq "the attempt was counted" 2 "$(sql "SELECT attempts FROM tasks WHERE id = $task")"
check_eq "the other runner ran it" "$other" "$(sql "SELECT result->>'runner_pid' FROM tasks WHERE id = $task")"
check "the listener rescued it" grep -q '"event":"task_rescued".*"runner_gone":true' "$TMP/lst.log"
check_eq "the job is done" done "$(sql "SELECT state FROM jobs WHERE id = $job")"

# the listener dies: its runners go back to their own LISTEN
kill -9 "$(qpid lst)"
job=$(qjob)
qtasks "$job" noop 5
check "tasks still run without the listener" wait_for 20 bash -c "[ \$(psql -qXAt '$CLIPMILL_DATABASE_URL' -c \"SELECT count(*) FROM tasks WHERE job_id = $job AND state = 'done'\") -eq 5 ]"
check "the runners said so" grep -q '"event":"listener_gone"' "$TMP/idle1.log"
check "they hold their own connections again" wait_for 20 bash -c "[ \$(psql -qXAt '$CLIPMILL_DATABASE_URL' -c \"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'clipmill-batch'\") -ge 9 ]"
for i in 1 2 3 4 5 6 7 8; do kill -TERM "$(qpid "idle$i")"; done
kill -TERM "$(qpid s1)" "$(qpid s2)" 2>/dev/null
qwait idle1 20
check_eq "a runner stops on SIGTERM with status 0" 0 "$QRC"
done_testing
