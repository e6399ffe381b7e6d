#!/usr/bin/env bash
# Faults during a submission, on a cluster of this test's own (it is
# stopped here): a full scratch disk under an upload answers 507 and
# leaves nothing behind; PostgreSQL stopping between the body and the
# insert answers 503 and touches no freed memory (clipmill.fcgi runs under
# valgrind when there is one); a lock held elsewhere (the user's submission
# lock, a table) answers 503 with Retry-After within db_lock_timeout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
own_pg || exit 1
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set fcgi_threads 2
alice=$(clipmill user add alice)

# Under valgrind, when there is one, to see use of freed memory (a
# SANITIZE=1 build has AddressSanitizer for that, and cannot run under
# valgrind: there ASan aborts the process on such a use).
VG=()
if ! sanitized && command -v valgrind >/dev/null; then
	VG=(valgrind -q --log-file="$TMP/vg.log" --error-limit=no)
fi
FCGI_SOCK="$TMP/fcgi.sock"
"${VG[@]}" "$CLIPMILL_TOP/build/clipmill.fcgi" --listen "unix:$FCGI_SOCK" \
    2>>"$TMP/fcgi.log" &
FCGI_PID=$!
at_exit "kill $FCGI_PID 2>/dev/null; wait $FCGI_PID 2>/dev/null"
wait_for 60 test -S "$FCGI_SOCK" || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1
wait_for 60 curl -sf -o /dev/null "$BASE/healthz"

# --- a full disk under an upload: 507 ---
if mount -t tmpfs -o size=64k tmpfs "$TMP/scratch" 2>/dev/null; then
	at_exit "umount '$TMP/scratch' 2>/dev/null"
	head -c 300000 /dev/urandom >"$TMP/v.mp4"
	out=$(api POST /jobs "$alice" -F "file=@$TMP/v.mp4;type=video/mp4")
	check_eq "full scratch disk: 507" 507 "$(status_of "$out")"
	check_eq "full scratch disk: says so" 'file: there is no room on the server to store the upload; try again later' \
	    "$(jget "$(body_of "$out")" 'j["error"]')"
	check_eq "full scratch disk: no temporary file left" "" "$(ls "$TMP/scratch")"
	check_eq "full scratch disk: no job" 0 "$(sql "SELECT count(*) FROM jobs")"
	umount "$TMP/scratch"
else
	echo "ok # SKIP full disk: cannot mount a small tmpfs here"
fi

# --- PostgreSQL stops between the body and the insert ---
# A lock on tasks, held elsewhere, stops the submission at its insert:
# the body is read, the user's lock taken and the limits checked by then.
psql -qX "$CLIPMILL_DATABASE_URL" -c "BEGIN; LOCK TABLE tasks; SELECT pg_sleep(120)" \
    >/dev/null 2>&1 &
lockpid=$!
at_exit "kill $lockpid 2>/dev/null"
# table_locked TABLE: another session holds TABLE's exclusive lock.
table_locked() { [ "$(sql "SELECT count(*) FROM pg_locks WHERE relation = '$1'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ]; }
check "mid-submit: tasks is locked elsewhere" wait_for 10 table_locked tasks
waiting() { [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO tasks%'")" = 1 ]; }
api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v"}' >"$TMP/mid" &
cpid=$!
check "mid-submit: the insert waits on the lock" wait_for 30 waiting
sh "$CLIPMILL_TOP/contrib/pg.sh" stop "$PGDIR" >/dev/null
wait $cpid
check_eq "mid-submit stop: 503" 503 "$(status_of "$(cat "$TMP/mid")")"
check "mid-submit stop: says the database is unavailable" grep -q 'database is unavailable' "$TMP/mid"
PG_FSYNC=off sh "$CLIPMILL_TOP/contrib/pg.sh" start "$PGDIR" >/dev/null
ok201() { [ "$(status_of "$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/w"}')")" = 201 ]; }
check "PostgreSQL back: submit works again" wait_for 30 ok201
check_eq "PostgreSQL back: one job, the second one" "1 https://x.org/w" "$(sql "SELECT count(*) || ' ' || max(source_url) FROM jobs")"
if [ ${#VG[@]} -gt 0 ]; then
	check "mid-submit stop: no use of freed memory" eval "! grep -q 'Invalid read\|Invalid write' '$TMP/vg.log'"
	grep -A12 'Invalid' "$TMP/vg.log" | head -30
else
	check "mid-submit stop: clipmill.fcgi still running (no AddressSanitizer abort)" kill -0 "$FCGI_PID"
fi

# --- a database that makes requests wait: 503 within db_lock_timeout ---
# unlock: end the session that holds the lock (a backend asleep does not
# notice that its psql is gone)
unlock() {
	sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
	wait $lockpid 2>/dev/null
}
kill "$FCGI_PID"; wait "$FCGI_PID" 2>/dev/null
conf_set db_lock_timeout 1
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
uid=$(sql "SELECT id FROM users WHERE name = 'alice'")
# another submission of alice's holds her submission lock
psql -qX "$CLIPMILL_DATABASE_URL" -c "SELECT pg_advisory_lock(1668180333, $uid), pg_sleep(60)" \
    >/dev/null 2>&1 &
lockpid=$!
at_exit "kill $lockpid 2>/dev/null"
held() { [ "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ]; }
check "alice's submission lock is held elsewhere" wait_for 10 held
t0=$(date +%s%N)
out=$(api POST /jobs "$alice" -m 20 -D "$TMP/h" -H 'Content-Type: application/json' -d '{"url":"https://x.org/locked"}')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "submission lock held: 503" 503 "$(status_of "$out")"
check "submission lock held: answered within db_lock_timeout (${ms} ms)" test "$ms" -lt 4000
check "submission lock held: Retry-After" grep -qiE '^Retry-After: [0-9]+' "$TMP/h"
check "submission lock held: says why" grep -q 'Another submission of yours' <<<"$out"
check_eq "submission lock held: no job" 0 "$(sql "SELECT count(*) FROM jobs WHERE source_url = 'https://x.org/locked'")"
unlock
# a table locked by a long transaction
psql -qX "$CLIPMILL_DATABASE_URL" -c "BEGIN; LOCK TABLE jobs; SELECT pg_sleep(60)" >/dev/null 2>&1 &
lockpid=$!
at_exit "kill $lockpid 2>/dev/null"
check "the jobs table is locked elsewhere" wait_for 10 table_locked jobs
t0=$(date +%s%N)
out=$(api GET /jobs "$alice" -m 20 -D "$TMP/h")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "table locked: 503" 503 "$(status_of "$out")"
check "table locked: answered within db_lock_timeout (${ms} ms)" test "$ms" -lt 4000
check "table locked: Retry-After" grep -qiE '^Retry-After: [0-9]+' "$TMP/h"
check "table locked: says the database is busy" grep -q 'database is busy' <<<"$out"
unlock
check_eq "lock gone: 200 again" 200 "$(status_of "$(api GET /jobs "$alice")")"
done_testing
