#!/usr/bin/env bash
# Semantics 7: isolation.  Each task of an isolated stage runs in a forked
# child with RLIMIT_AS, RLIMIT_CPU and RLIMIT_FSIZE (child_mem_mb,
# child_cpu_s, child_fsize_mb) and a wall-clock timeout (task_timeout).  A
# child that crashes or passes a limit fails that attempt with a clear
# sentence, and the runner carries on.  A job's source adds its length to
# the wall and CPU limits (a long source needs the time).  (In-process stages: noop, fanout;
# every other stage, test or pipeline, is isolated; see --list-stages.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1
# Under AddressSanitizer (make SANITIZE=1) the crash must reach the runner
# as the signal it is, not as ASan's report and exit status 1.
sanitized && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
conf_set child_cpu_s 1
conf_set child_fsize_mb 1
# The runner itself maps ~250 MB (FFmpeg, OpenCV, libass, pocketsphinx
# libraries), all of which counts against RLIMIT_AS in the child.
conf_set child_mem_mb 768
conf_set task_timeout 60

add() {	# JOB-VAR STAGE PAYLOAD: one single-attempt task in a job of its own
	local j; j=$(qjob); qtasks "$j" "$2" 1 "$3" 1
	printf -v "$1" %s "$(sql "SELECT max(id) FROM tasks")"
}
add segv crash '{}'
add cpu hang '{"mode":"spin"}'
add fsize hang '{"mode":"write"}'
add mem hang '{"mode":"alloc","mb":2048}'
add after sleep '{"ms":50,"steps":1}'
add small hang '{"mode":"alloc","mb":16}'
# two runners share the slow ones (timeout, CPU limit)
qrun r1 --stage crash,hang,sleep --idle-exit 1
qrun r2 --stage crash,hang,sleep --idle-exit 1
qwait r1 60
check_eq "runner 1 carried on and exits 0" 0 "$QRC"
qwait r2 60
check_eq "runner 2 carried on and exits 0" 0 "$QRC"
# the wall-clock timeout, alone (a CPU-bound child on a loaded machine
# needs a long wall time to reach its CPU limit)
add wall hang '{"mode":"sleep"}'
# a job whose source lasts 3 s: 2 + 3 s of wall time
add longer hang '{"mode":"sleep"}'
sql "UPDATE jobs SET probe = '{\"duration\": 2.4}' WHERE id = (SELECT job_id FROM tasks WHERE id = $longer)" >/dev/null
conf_set task_timeout 2
qrun r3 --stage hang --idle-exit 1
qwait r3 60
check_eq "runner 3 exits 0" 0 "$QRC"

err() { sql "SELECT state || ': ' || coalesce(error, '') FROM tasks WHERE id = $1"; }
check_eq "segfault" "failed: The crash step crashed (Segmentation fault)." "$(err "$segv")"
check_eq "CPU limit" "failed: The hang step used more than 1 s of CPU time and was stopped." "$(err "$cpu")"
check_eq "file size limit" "failed: The hang step tried to write a file larger than 1 MB and was stopped." "$(err "$fsize")"
if sanitized; then
	# ASan reserves terabytes of address space: the runner sets no
	# RLIMIT_AS in such a build (batch/runner/child.c), so there is no
	# limit to hit.
	ok "address space limit # skip: no RLIMIT_AS under AddressSanitizer"
else
	check_eq "address space limit" "failed: Could not allocate 2048 MB (out of memory)." "$(err "$mem")"
fi
check_eq "wall-clock timeout" "failed: The hang step took longer than 2 s and was stopped." "$(err "$wall")"
check_eq "with a 2.4 s source: 2 + 3 s" "failed: The hang step took longer than 5 s and was stopped." "$(err "$longer")"
check_eq "a task after them all runs" "done: " "$(err "$after")"
check_eq "an allocation within the limit works" "done: " "$(err "$small")"
check_eq "each failure failed its job with the sentence" 6 \
    "$(sql "SELECT count(*) FROM jobs WHERE state = 'failed' AND error LIKE '%.'")"
alive=0
for c in $(cat "$TMP"/r?.log | grep -o '"child":[0-9]*' | cut -d: -f2); do
	kill -0 "$c" 2>/dev/null && alive=$((alive + 1))
done
check_eq "no child is left behind" 0 "$alive"
check_eq "in-process stages" "fanout noop" \
    "$(clipmill-batch --list-stages | awk '$2 ~ /in-process/ {print $1}' | sort | paste -sd' ')"
done_testing
