# Helpers for the queue tests (tests/t_queue_*.sh), sourced after lib.sh.
#
# qsetup: a fresh database with test stages on, small lease and backoff,
#   a user, and $CLIPMILL_TEST_LOG (one line per stage execution, see
#   batch/stages/test.c).
# qjob [STATE]: insert a job, print its id.
# qtasks JOB STAGE N [PAYLOAD [MAX_ATTEMPTS]]: insert N pending tasks and
#   NOTIFY once.
# qrun NAME ARGS...: start clipmill-batch ARGS in the background, logging
#   to $TMP/NAME.log; its PID goes to $TMP/NAME.pid; killed at exit.
# qwait NAME [SECONDS]: wait for runner NAME to exit (run it in the main
#   shell, not in $(...)); its exit code goes to $QRC (124 when it was
#   still running after SECONDS, then it is killed).
qsetup() {
	newdb || return 1
	conf_set test_stages yes
	conf_set lease 2
	conf_set retry_base 0.2
	conf_set idle_exit 2
	conf_set term_grace 2
	export CLIPMILL_TEST_LOG="$TMP/exec.log"
	: >"$CLIPMILL_TEST_LOG"
	sql "INSERT INTO users (name, key_hash, key_prefix) VALUES ('t', 'h', 'p')" >/dev/null
}

qjob() {
	sql "INSERT INTO jobs (user_id, source_kind, source_url, state)
	     SELECT id, 'url', 'http://127.0.0.1/x', '${1:-pending}' FROM users LIMIT 1 RETURNING id" | head -1
}

qtasks() {
	local job=$1 stage=$2 n=$3 payload=${4:-'{}'} max=${5:-3}
	sql "WITH t AS (INSERT INTO tasks (job_id, stage, payload, max_attempts)
	     SELECT $job, '$stage', '$payload'::jsonb, $max FROM generate_series(1, $n) RETURNING 1)
	     SELECT pg_notify('clipmill_tasks', '$stage') FROM (SELECT count(*) FROM t) c" >/dev/null
}

qrun() {
	local name=$1; shift
	clipmill-batch "$@" >"$TMP/$name.out" 2>"$TMP/$name.log" &
	echo $! >"$TMP/$name.pid"
	at_exit "kill -9 $! 2>/dev/null"
}

qpid() { cat "$TMP/$1.pid"; }

qwait() {
	local pid
	pid=$(qpid "$1")
	if ! wait_for "${2:-30}" bash -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status"; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		QRC=124
		return
	fi
	wait "$pid"
	QRC=$?
}

# ms_now: wall clock in milliseconds.
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

# max_overlap STAGE: the largest number of executions of STAGE in the
# test log that ran at the same moment.
max_overlap() {
	awk -v s="$1" '$1 == s { print $5, 1; print $6, -1 }' "$CLIPMILL_TEST_LOG" |
	    sort -k1,1n -k2,2n | awk '{ c += $2; if (c > m) m = c } END { print m + 0 }'
}

# state_is TABLE ID STATE: the row's state is STATE now (for wait_for).
state_is() { [ "$(sql "SELECT state FROM $1 WHERE id = $2")" = "$3" ]; }
