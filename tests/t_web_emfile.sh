#!/usr/bin/env bash
# Out of descriptors: clipmill.fcgi runs with a low open-file limit and
# more long-poll clients come than it has descriptors for.  accept()
# then fails with EMFILE; the request threads must back off (little CPU
# while starved, logged once) and the process must answer again once the
# waiters are gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
command -v prlimit >/dev/null || { echo "prlimit missing"; exit 77; }
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set fcgi_threads 2
# the caps would stop the clients before the descriptors run out
conf_set user_max_longpolls 1000
conf_set longpoll_max_waiters 1000
alice=$(clipmill user add alice)
NOFILE=48
FCGI_SOCK="$TMP/fcgi.sock"
prlimit --nofile=$NOFILE:$NOFILE "$CLIPMILL_TOP/build/clipmill.fcgi" --listen "unix:$FCGI_SOCK" 2>>"$TMP/fcgi.log" &
FCGI_PID=$!
at_exit "kill $FCGI_PID 2>/dev/null; wait $FCGI_PID 2>/dev/null"
wait_for 10 test -S "$FCGI_SOCK" || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1
job=$(jget "$(body_of "$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v"}')")" 'j["id"]')
seq=$(sql "SELECT last_seq FROM jobs WHERE id = $job")

# cpu: the process's user + system time, in clock ticks
cpu() { awk '{ print $14 + $15 }' "/proc/$FCGI_PID/stat"; }
nfd() { ls "/proc/$FCGI_PID/fd" | wc -l; }
full() { [ "$(nfd)" -ge "$NOFILE" ]; }

pids=()
for i in $(seq 1 $((NOFILE + 10))); do
	curl -s -o /dev/null --max-time 60 -H "Authorization: Bearer $alice" \
	    "$BASE/jobs/$job/events?after=$seq&timeout=6" &
	pids+=($!)
done
check "the waiters use up every descriptor ($NOFILE)" wait_for 30 full
sleep 0.5
c0=$(cpu); sleep 2; c1=$(cpu)
# a spinning accept loop burns up to 200 ticks in 2 s (about 50 on a
# loaded machine); backing off, next to none
check "starved of descriptors: little CPU ($((c1 - c0)) ticks in 2 s)" test $((c1 - c0)) -lt 20
check "the failure is logged" grep -q '"event":"accept_failed".*Too many open files' "$TMP/fcgi.jsonl"
n=$(grep -c '"event":"accept_failed"' "$TMP/fcgi.jsonl")
check "logged once per episode, not per attempt ($n)" test "$n" -lt 10
wait "${pids[@]}"
out=$(curl -s -w ' %{http_code}' "$BASE/healthz")
check_eq "after the waiters left: the process answers" "ok 200" "$(jget "${out% *}" 'j["status"]') ${out##* }"
check_eq "the job answers too" 200 "$(status_of "$(api GET "/jobs/$job" "$alice")")"
check "the recovery is logged" grep -q '"event":"accept_recovered"' "$TMP/fcgi.jsonl"
check "clipmill.fcgi still running" kill -0 "$FCGI_PID"
done_testing
