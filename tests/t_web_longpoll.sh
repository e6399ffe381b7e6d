#!/usr/bin/env bash
# Long-poll through real nginx: answers at once when events exist; when it
# waits, answers within 100 ms of an event being added; times out cleanly;
# a client that disconnects while waiting leaves nothing behind; waiting
# requests hold no request thread (more waiters than threads, and the
# process still answers other requests).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set fcgi_threads 2
conf_set metrics_token longpoll-metrics
# one user holds 20 waiters below (t_web_accounting tests the caps)
conf_set user_max_longpolls 50
alice=$(clipmill user add alice)
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1
job=$(jget "$(body_of "$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v"}')")" 'j["id"]')

# add_event JOB KIND: what queue_event does, in one transaction.
add_event() {
	sql "WITH j AS (UPDATE jobs SET last_seq = last_seq + 1, updated_at = now() WHERE id = $1 RETURNING id, last_seq)
	     INSERT INTO events (job_id, seq, kind, stage, data) SELECT id, last_seq, '$2', 'fetch', '{\"pct\":50}' FROM j
	     RETURNING pg_notify('clipmill_events', $1::text)" >/dev/null
}

t0=$(date +%s%N)
out=$(api GET "/jobs/$job/events?after=0&timeout=20" "$alice")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "events exist: 200" 200 "$(status_of "$out")"
check_eq "events exist: the submitted event, next=1" "submitted 1" "$(jget "$(body_of "$out")" 'j["events"][0]["kind"] + " " + str(j["next"])')"
check "events exist: answered at once (${ms} ms)" test "$ms" -lt 1000

t0=$(date +%s%N)
out=$(api GET "/jobs/$job/events?after=1&timeout=1" "$alice")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "timeout: 200 with no events, next unchanged" "0 1" "$(jget "$(body_of "$out")" 'str(len(j["events"])) + " " + str(j["next"])')"
check "timeout: after about 1 s (${ms} ms)" test "$ms" -ge 900 -a "$ms" -lt 3000

# Latency: a client waits, an event is committed, the answer arrives.
cat >"$TMP/lat.py" <<'PY'
import http.client, subprocess, sys, threading, time
port, key, job, dsn, after = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
got = {}
def wait():
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    c.request("GET", "/jobs/%s/events?after=%d&timeout=20" % (job, after),
              headers={"Authorization": "Bearer " + key, "Accept": "application/json"})
    r = c.getresponse(); body = r.read()
    got["t"] = time.monotonic(); got["body"] = body
t = threading.Thread(target=wait); t.start()
time.sleep(0.7)   # it is parked by now
sql = ("WITH j AS (UPDATE jobs SET last_seq = last_seq + 1 WHERE id = %s RETURNING id, last_seq) "
       "INSERT INTO events (job_id, seq, kind) SELECT id, last_seq, 'progress' FROM j "
       "RETURNING pg_notify('clipmill_events', %s::text)") % (job, job)
p = subprocess.Popen(["psql", "-qXAt", dsn], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
# psql is started and connected first; the commit happens when it reads the line
time.sleep(0.3)
t_commit0 = time.monotonic()
p.communicate((sql + ";\n").encode())
t_commit1 = time.monotonic()
t.join()
# the commit happened between t_commit0 and t_commit1: count from the end,
# and report the window too
print("%d %d %s" % ((got["t"] - t_commit1) * 1000, (t_commit1 - t_commit0) * 1000, got["body"].decode()))
PY
read -r lat win body < <(python3 "$TMP/lat.py" "$NGINX_PORT" "$alice" "$job" "$CLIPMILL_DATABASE_URL" 1)
check_eq "notify: the new event delivered" "progress 2" "$(jget "$body" 'j["events"][0]["kind"] + " " + str(j["next"])')"
check "notify: answered within 100 ms of the commit (${lat} ms after psql returned, commit window ${win} ms)" test "$lat" -lt 100

# Disconnects: clients that give up while waiting leave nothing behind.
# A first round opens what the request threads open once (each thread's
# database connection, made when it first serves); the descriptors are
# counted around the second, so only what a round leaks shows.
give_up() {
	pids=()
	for i in 1 2 3 4 5 6 7 8; do
		curl -s -o /dev/null --max-time 3 -H "Authorization: Bearer $alice" "$BASE/jobs/$job/events?after=2&timeout=30" &
		pids+=($!)
	done
}
give_up
api GET "/jobs/$job" "$alice" >/dev/null
wait "${pids[@]}"
waiting() { curl -s -H 'Authorization: Bearer longpoll-metrics' "$BASE/metrics" | sed -n 's/^clipmill_longpoll_waiting //p'; }
none() { [ "$(waiting)" = 0 ]; }
wait_for 5 none
fds0=$(ls /proc/$FCGI_PID/fd | wc -l)
give_up
waiting() { curl -s -H 'Authorization: Bearer longpoll-metrics' "$BASE/metrics" | sed -n 's/^clipmill_longpoll_waiting //p'; }
eight() { [ "$(waiting)" = 8 ]; }
check "8 waiters parked with 2 request threads" wait_for 2 eight
out=$(api GET "/jobs/$job" "$alice")
check_eq "other requests still served while 8 wait" 200 "$(status_of "$out")"
wait "${pids[@]}"
none() { [ "$(waiting)" = 0 ]; }
check "after the clients left: nobody waiting" wait_for 2 none
fds1=$(ls /proc/$FCGI_PID/fd | wc -l)
check_eq "after the clients left: no descriptors left open" "$fds0" "$fds1"
check "abandoned requests counted" grep -q 'route="events_abandoned",status="499"} 16' <(curl -s -H 'Authorization: Bearer longpoll-metrics' "$BASE/metrics")

# Many waiters on one job all get the event.
pids=()
for i in $(seq 1 20); do
	api GET "/jobs/$job/events?after=2&timeout=20" "$alice" >"$TMP/w$i" &
	pids+=($!)
done
sleep 1
add_event "$job" progress
wait "${pids[@]}"
n=0
for i in $(seq 1 20); do [ "$(jget "$(body_of "$(cat "$TMP/w$i")")" 'j["next"]')" = 3 ] && n=$((n + 1)); done
check_eq "20 waiters on one job: all answered with the event" 20 "$n"

# Shutdown answers parked requests at once.
api GET "/jobs/$job/events?after=3&timeout=30" "$alice" >"$TMP/sd" &
cpid=$!
sleep 0.5
t0=$(date +%s%N)
kill -TERM "$FCGI_PID"; wait "$FCGI_PID"; rc=$?
wait $cpid
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "SIGTERM with a parked request: exit 0" 0 "$rc"
check "SIGTERM: the parked request answered (${ms} ms)" test "$ms" -lt 2000
check_eq "SIGTERM: parked request got an empty answer" '200 0' "$(status_of "$(cat "$TMP/sd")") $(jget "$(body_of "$(cat "$TMP/sd")")" 'len(j["events"])')"
done_testing
