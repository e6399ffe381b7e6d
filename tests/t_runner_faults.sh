#!/usr/bin/env bash
# Faults around a task child (batch/runner/child.c):
#  - a runner whose database connection drops loses its lease lock, and
#    another runner may rescue and run the task again: the old child must
#    stop at once, so its side effects never happen twice;
#  - yt-dlp runs in a process group of its own: when the task child is
#    killed (SIGKILL), yt-dlp and what it started go with it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1

# --- the runner's connection is terminated while its child runs ---
# A long lease: heartbeats are 10 s apart, so only watching the
# connection itself can notice the loss before the child finishes.
conf_set lease 30
job=$(qjob)
qtasks "$job" sleep 1 '{"first_ms":8000,"ms":50,"steps":1}'
qrun r1 --stage sleep --once
wait_for 30 grep -q '"task_started"' "$TMP/r1.log"
child=$(sed -n 's/.*"task_started".*"child":\([0-9]*\).*/\1/p' "$TMP/r1.log" | head -1)
check "the task child runs" kill -0 "$child"
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()" >/dev/null
qwait r1 60
check_eq "the runner exits: database lost" 3 "$QRC"
check "the runner says why, naming the task" \
    grep -q '"level":"error".*"event":"database_lost".*"during":"task".*"error":"' "$TMP/r1.log"
check "the task child is gone with the connection" bash -c "! kill -0 $child 2>/dev/null"
# another runner rescues the task (the old lock is gone) and runs it
conf_set lease 2
qrun r2 --stage sleep --idle-exit 2
qwait r2 60
check_eq "the rescued task is done" done "$(sql "SELECT state FROM tasks WHERE job_id = $job")"
check_eq "its side effect happened once (the first attempt never finished)" \
    "1" "$(grep -c '^sleep ' "$CLIPMILL_TEST_LOG")"
check_eq "by the second attempt" "2" "$(awk '$1 == "sleep" { print $3 }' "$CLIPMILL_TEST_LOG")"

# --- yt-dlp dies with a task child killed by SIGKILL ---
W="$TMP/www"; mkdir -p "$W"
echo '<html><body>no video here</body></html>' >"$W/page.html"
P=$(free_port)
(cd "$W" && exec python3 -m http.server --bind 127.0.0.1 "$P") >/dev/null 2>&1 &
at_exit "kill $! 2>/dev/null"
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$P/page.html" || not_ok "page server"
# A yt-dlp that starts a helper in its group (as it starts ffmpeg), then
# waits; it sees neither our environment nor our directory, so the pids
# go to fixed paths.
cat >"$TMP/yt-dlp" <<SH
#!/bin/sh
ls -l /proc/\$\$/fd/ >"$TMP/ytdlp.fds"
sleep 600 &
echo \$! >"$TMP/helper.pid"
echo \$\$ >"$TMP/ytdlp.pid"
exec sleep 601
SH
chmod 755 "$TMP/yt-dlp"
conf_set ytdlp_path "$TMP/yt-dlp"
conf_set fetch_allow_cidrs 127.0.0.1/32
conf_set lease 30
# the log file: created 0640, and not inherited by yt-dlp
conf_set log_file "$TMP/runner.jsonl"
job=$(sql "INSERT INTO jobs (user_id, source_kind, source_url, state)
     SELECT id, 'url', 'http://127.0.0.1:$P/page.html', 'pending' FROM users LIMIT 1 RETURNING id" | head -1)
qtasks "$job" fetch 1 '{}' 1
qrun r3 --stage fetch --once
wait_for 60 test -s "$TMP/ytdlp.pid" -a -s "$TMP/helper.pid"
ytdlp=$(cat "$TMP/ytdlp.pid"); helper=$(cat "$TMP/helper.pid")
child=$(sed -n 's/.*"task_started".*"child":\([0-9]*\).*/\1/p' "$TMP/runner.jsonl" | head -1)
check "yt-dlp runs" kill -0 "$ytdlp"
check "yt-dlp is in a process group of its own" \
    test "$(ps -o pgid= -p "$ytdlp" | tr -d ' ')" != "$(ps -o pgid= -p "$child" | tr -d ' ')"
kill -9 "$child"
qwait r3 60
check_eq "the runner carries on and exits 0" 0 "$QRC"
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status"; }
check "yt-dlp is gone with the killed child" wait_for 10 gone "$ytdlp"
check "and so is what yt-dlp started" wait_for 10 gone "$helper"
kill -9 "$ytdlp" "$helper" 2>/dev/null
check_eq "the log file is created 0640" 640 "$(stat -c %a "$TMP/runner.jsonl")"
check "yt-dlp did not inherit the log file" bash -c "! grep -q runner.jsonl '$TMP/ytdlp.fds'"
check "(yt-dlp's descriptors were listed)" grep -q 'pipe:' "$TMP/ytdlp.fds"
check "the attempt failed with a sentence" grep -q 'killed (SIGKILL)' \
    <<<"$(sql "SELECT error FROM tasks WHERE job_id = $job")"
done_testing
