#!/usr/bin/env bash
# PostgreSQL goes away and comes back: requests get 503 with Retry-After
# while it is down, the process recovers by itself (request threads and the
# long-poll listener), and clipmill.fcgi also runs under spawn-fcgi (socket
# on fd 0) with its log in the log file (spawn-fcgi discards stderr).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
# A cluster of this test's own: it is stopped and started here.
own_pg || exit 1
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set fcgi_threads 2
alice=$(clipmill user add alice)

# spawn-fcgi hands over the socket as fd 0 and discards stderr
FCGI_SOCK="$TMP/fcgi.sock"
spawn-fcgi -s "$FCGI_SOCK" -M 0600 -P "$TMP/spawn.pid" -- "$CLIPMILL_TOP/build/clipmill.fcgi" >/dev/null 2>&1
FCGI_PID=$(cat "$TMP/spawn.pid")
at_exit "kill $FCGI_PID 2>/dev/null"
start_nginx || exit 1
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v"}')
check_eq "under spawn-fcgi: submit works" 201 "$(status_of "$out")"
job=$(jget "$(body_of "$out")" 'j["id"]')
check "under spawn-fcgi: log file written" grep -q '"event":"fcgi_started".*"listen":"fd 0"' "$TMP/fcgi.jsonl"

sh "$CLIPMILL_TOP/contrib/pg.sh" stop "$PGDIR" >/dev/null
out=$(api GET "/jobs/$job" "$alice" -D "$TMP/h")
check_eq "PostgreSQL down: 503" 503 "$(status_of "$out")"
check "PostgreSQL down: Retry-After" grep -qiE '^Retry-After: [0-9]+' "$TMP/h"
check "PostgreSQL down: says so" grep -q 'database is unavailable' <<<"$out"
check_eq "PostgreSQL down: healthz 503" 503 "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")"
check_eq "PostgreSQL down: again 503 (no crash)" 503 "$(status_of "$(api GET /jobs "$alice")")"
check "process still running" kill -0 "$FCGI_PID"

PG_FSYNC=off sh "$CLIPMILL_TOP/contrib/pg.sh" start "$PGDIR" >/dev/null
ok200() { [ "$(status_of "$(api GET "/jobs/$job" "$alice")")" = 200 ]; }
check "PostgreSQL back: recovers by itself" wait_for 20 ok200
# every request thread reconnects, not just one
n=0; for i in 1 2 3 4 5 6; do ok200 && n=$((n + 1)); done
check_eq "PostgreSQL back: every request 200" 6 "$n"
# the listener reconnects too: a long-poll is woken by a NOTIFY again
sleep 1.2	# the listener retries once a second
api GET "/jobs/$job/events?after=1&timeout=15" "$alice" >"$TMP/lp" &
cpid=$!
sleep 0.7
t0=$(date +%s%N)
sql "WITH j AS (UPDATE jobs SET last_seq = last_seq + 1 WHERE id = $job RETURNING id, last_seq)
     INSERT INTO events (job_id, seq, kind) SELECT id, last_seq, 'progress' FROM j
     RETURNING pg_notify('clipmill_events', $job::text)" >/dev/null
wait $cpid
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "PostgreSQL back: long-poll woken by the event" 2 "$(jget "$(body_of "$(cat "$TMP/lp")")" 'j["next"]')"
check "PostgreSQL back: woken promptly (${ms} ms)" test "$ms" -lt 3000
check "the loss and the recovery are logged" grep -q '"event":"listening"' "$TMP/fcgi.jsonl"
kill -TERM "$FCGI_PID"
check "spawn-fcgi child stops on SIGTERM" wait_for 5 eval "! kill -0 $FCGI_PID"
done_testing
