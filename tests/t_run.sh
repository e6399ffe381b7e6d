#!/usr/bin/env bash
# `make run` (contrib/run.sh): everything starts, the app answers on its
# port with a login key that works, a job submitted there is carried out
# by the runner loop, and Ctrl-C (SIGINT) stops every process it started.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
RUN_VAR="$TMP/var" RUN_PORT=$port setsid bash "$CLIPMILL_TOP/contrib/run.sh" >"$TMP/run.out" 2>&1 &
pid=$!
at_exit "kill -INT -$pid 2>/dev/null"
base="http://127.0.0.1:$port"
check "the app answers on its port" wait_for 60 curl -sf -o /dev/null "$base/healthz"
# It prints the key and the URL once everything answers.
check "a login key is printed" wait_for 30 grep -q 'log in with the key: *cm_' "$TMP/run.out"
key=$(grep -o 'cm_[0-9a-f]*' "$TMP/run.out" | head -1)
check "the URL is printed" grep -q "http://127.0.0.1:$port/" "$TMP/run.out"
check_eq "a browser is sent to the login page" "303 $base/login" \
    "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' "$base/")"
check_eq "the key is accepted" "200" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" -H 'Accept: application/json' "$base/jobs")"
# A video without sound: the pipeline runs end to end quickly (no speech,
# so clips are placed evenly) under the loop's runners.
ffmpeg -v error -f lavfi -i testsrc2=s=640x360:r=25:d=25 -c:v libx264 -preset ultrafast "$TMP/v.mp4"
id=$(curl -s -H "Authorization: Bearer $key" -H 'Accept: application/json' \
    -F file=@"$TMP/v.mp4" -F clips=1 -F min_len=5 -F max_len=10 "$base/jobs" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
job_state() {
	curl -s -H "Authorization: Bearer $key" -H 'Accept: application/json' "$base/jobs/$id" |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'
}
job_ended() { case "$(job_state)" in done|partial|failed|cancelled) return 0 ;; esac; return 1; }
check "the submitted job ends" wait_for 300 job_ended
check_eq "the job is done" "done" "$(job_state)"
pids=$(ps -o pid= -g "$pid" | tr -d ' ' | tr '\n' ' ')
kill -INT -- -"$pid"
check "Ctrl-C stops it" wait_for 30 bash -c "! kill -0 $pid 2>/dev/null"
left=0
for p in $pids; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
check_eq "no process of it is left" 0 "$left"
check "PostgreSQL stopped" test ! -e "$TMP/var/pg/data/postmaster.pid"
done_testing
