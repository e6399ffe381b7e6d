#!/usr/bin/env bash
# Semantics 9: maintenance under pg_try_advisory_xact_lock (one session
# at a time): rescue of running tasks whose runner is gone or silent, and
# pruning of ended jobs beyond retention with their events and stored
# artifacts.  Also the scratch sweeper (clipmill-batch --sweep).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1
conf_set keep_completed 2
conf_set keep_failed 1
conf_set retention_days 0
conf_set lease 6
MAINT_LOCK=7164903486720158061

# ended jobs, oldest first, each with an artifact and an event
mk_ended() {	# STATE AGE_MIN: prints the job id
	local j; j=$(qjob "$1")
	sql "UPDATE jobs SET finished_at = now() - interval '$2 minutes' WHERE id = $j;
	     INSERT INTO events (job_id, seq, kind) VALUES ($j, 1, 'done')" >/dev/null
	mkdir -p "$TMP/store/jobs/$j" && echo x >"$TMP/store/jobs/$j/source.mp4"
	echo "$j"
}
d1=$(mk_ended done 50); d2=$(mk_ended partial 40); d3=$(mk_ended done 30); d4=$(mk_ended done 20)
f1=$(mk_ended failed 50); f2=$(mk_ended cancelled 10)
live=$(qjob running)
# running tasks: one whose runner lock is held by nobody; one held by a
# live session with a fresh heartbeat; one held but silent past the lease
sql "INSERT INTO tasks (job_id, stage, state, attempts, runner, runner_lock, heartbeat_at)
     VALUES ($live, 'sleep', 'running', 1, 'gone:1', 4242, now()),
            ($live, 'sleep', 'running', 1, 'alive:2', 4343, now()),
            ($live, 'sleep', 'running', 1, 'silent:3', 4343, now() - interval '10 seconds')" >/dev/null
psql -qXAt "$CLIPMILL_DATABASE_URL" -c "SELECT pg_advisory_lock(4343)" -c "SELECT pg_sleep(8)" >/dev/null &
holder=$!
at_exit "kill $holder 2>/dev/null"

# another session holds the maintenance lock: this run must skip
psql -qXAt "$CLIPMILL_DATABASE_URL" -c "BEGIN" -c "SELECT pg_advisory_xact_lock($MAINT_LOCK)" -c "SELECT pg_sleep(2)" -c "COMMIT" >/dev/null &
mlock=$!
sleep 0.7
clipmill-batch --maintenance 2>"$TMP/m1.log"; rc=$?
check_eq "skipped run exits 0" 0 "$rc"
check "it says it skipped" grep -q '"event":"maintenance_skipped"' "$TMP/m1.log"
check_eq "nothing pruned while skipped" 6 "$(sql "SELECT count(*) FROM jobs WHERE finished_at IS NOT NULL")"
check_eq "nothing rescued while skipped" 3 "$(sql "SELECT count(*) FROM tasks WHERE state = 'running'")"
wait "$mlock"

clipmill-batch --maintenance 2>"$TMP/m2.log"; rc=$?
check_eq "maintenance exits 0" 0 "$rc"
check "it reports counts" grep -q '"event":"maintenance_done".*"rescued":2,"pruned":3' "$TMP/m2.log"
check_eq "newest 2 completed and newest 1 failed kept" "$d3 $d4 $f2 $live" \
    "$(sql "SELECT id FROM jobs ORDER BY id" | paste -sd' ')"
check_eq "pruned jobs' events gone" 0 "$(sql "SELECT count(*) FROM events WHERE job_id IN ($d1, $d2, $f1)")"
check "pruned jobs' artifacts gone" test ! -e "$TMP/store/jobs/$d1/source.mp4" -a ! -e "$TMP/store/jobs/$d2" -a ! -e "$TMP/store/jobs/$f1"
check "kept jobs' artifacts kept" test -e "$TMP/store/jobs/$d3/source.mp4" -a -e "$TMP/store/jobs/$f2/source.mp4"
check_eq "rescued: the dead runner's and the silent runner's tasks, attempts counted" \
    "gone:1 pending 1|alive:2 running 1|silent:3 pending 1" \
    "$(sql "SELECT t.r || ' ' || state || ' ' || attempts FROM (SELECT id, CASE id % 3 WHEN 1 THEN 'gone:1' WHEN 2 THEN 'alive:2' ELSE 'silent:3' END r, state, attempts FROM tasks WHERE job_id = $live) t ORDER BY id" | paste -sd'|')"
check_eq "retry events say why" 2 "$(sql "SELECT count(*) FROM events WHERE job_id = $live AND kind = 'retry' AND data->>'error' LIKE 'The runner working on this step stopped%'")"

# --- the sweeper: a killed task's scratch goes, a running task's stays ---
job=$(qjob)
qtasks "$job" hang 1 '{"mode":"sleep"}'
qrun k --stage hang --idle-exit 30
wait_for 10 bash -c "ls -d $TMP/scratch/task-* >/dev/null 2>&1"
killed=$(ls -d "$TMP"/scratch/task-*)
kill -9 "$(qpid k)"
qtasks "$(qjob)" hang 1 '{"mode":"sleep"}'
qrun l --stage hang --idle-exit 30
wait_for 10 bash -c "[ \$(ls -d $TMP/scratch/task-* | wc -l) -ge 2 ]"
sleep 0.5
busy=$(ls -d "$TMP"/scratch/task-* | grep -v "^$killed\$" | head -1)
touch -d '31 minutes ago' "$killed" "$busy"
mkdir -p "$TMP/scratch/task-9-1-1" && touch -d '10 minutes ago' "$TMP/scratch/task-9-1-1"
clipmill-batch --sweep 2>"$TMP/sweep.log"; rc=$?
check_eq "sweep exits 0" 0 "$rc"
check "the killed task's scratch is removed" test ! -e "$killed"
check "the running task's scratch survives" test -d "$busy"
check "a recent one survives" test -d "$TMP/scratch/task-9-1-1"
check "sweep reports counts" grep -q '"event":"sweep_done".*"removed":1,"in_use":1' "$TMP/sweep.log"
kill -TERM "$(qpid l)"
qwait l 10
check "a finished task's scratch is removed by its runner" test ! -e "$busy"
done_testing
