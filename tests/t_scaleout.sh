#!/usr/bin/env bash
# Scale-out: two runner "hosts" share one PostgreSQL and one S3 (s3rver).
# Each host is a network namespace of its own with its own host name (so
# its runner id, "hostA:PID"), its own loopback and its own scratch
# directory.  Like real hosts, they reach the shared services only from
# outside: PostgreSQL through its unix socket, S3 through a unix-socket
# bridge (contrib/s3bridge.py) onto the namespace's own 127.0.0.1, at the
# same endpoint URL everywhere.  Without namespaces (not root), the hosts
# are separate host names (UTS namespaces) or at least separate runner
# processes and scratch directories, and the test says so.
#
# What runs, when every stage is in the tree: the real pipeline on a
# short video, its stages split over the two hosts, then on one host.
# Until then:
# - a publish job: four clips whose render outputs host A put into S3 (as
#   the render stage would), published by both hosts' runners: artifacts
#   made on one host, moved on another, through the store;
# - a job of the queue's test stages (test_stages = yes): "fanout" makes
#   three clips and one "fanwork" task each.
# The same work then runs on one host alone, and must end with the same
# clips: states, ranks, final keys' contents.
. "$(dirname "$0")/lib.sh"
. "$CLIPMILL_TOP/contrib/s3rver.sh"

if ! clipmill-batch --list-stages 2>/dev/null | grep -q '^publish\b'; then
	echo "the runner (clipmill-batch --stage) is not in this tree" >&2
	exit 77
fi
newdb || exit 1
s3_start "$TMP/s3" clips || exit 1
conf_set test_stages yes
conf_set retry_base 0.2
conf_set idle_exit 5
conf_set lease 10
S=$CLIPMILL_TOP/build/tests/s3_store
BRIDGE=$CLIPMILL_TOP/contrib/s3bridge.py
# every publish PUT takes 0.2 s more: the work has to spread over hosts
echo "DELAY PUT /clips/clips/ 0.2" >"$S3_FAULTS"

# --- the hosts -----------------------------------------------------------
mode=netns
ns_prefix="cm$$"
if ! ip netns add "${ns_prefix}A" 2>/dev/null; then
	mode=uts
	unshare --uts true 2>/dev/null || mode=plain
else
	ip netns del "${ns_prefix}A"
fi
echo "# hosts are: $mode"
if [ "$mode" = netns ]; then
	python3 "$BRIDGE" listen-unix "$TMP/s3.sock" "$S3_PORT" >"$TMP/bridge.log" 2>&1 &
	bpid=$!
	at_exit "kill $bpid"
	wait_for 10 test -S "$TMP/s3.sock" || { echo "bridge did not start" >&2; exit 1; }
fi
for h in A B; do
	cp "$CLIPMILL_CONF" "$TMP/host$h.conf"
	mkdir -p "$TMP/scratch$h"
	sed -i "/^scratch_dir *=/d" "$TMP/host$h.conf"
	echo "scratch_dir = $TMP/scratch$h" >>"$TMP/host$h.conf"
	if [ "$mode" = netns ]; then
		ip netns add "${ns_prefix}$h" || exit 1
		at_exit "ip netns del ${ns_prefix}$h"
		ip netns exec "${ns_prefix}$h" ip link set lo up
		ip netns exec "${ns_prefix}$h" python3 "$BRIDGE" listen-tcp "$S3_PORT" \
		    "$TMP/s3.sock" >"$TMP/bridge$h.log" 2>&1 &
		at_exit "kill $!"
	fi
done
# on_host H CMD...: run CMD as host H (its namespace and host name, its
# configuration).  In a background subshell, ( ON_HOST_EXEC=1 on_host ...
# ) & makes $! CMD's own PID, to stop it by.
on_host() {
	local h=$1
	shift
	local -a pre=(env "CLIPMILL_CONF=$TMP/host$h.conf")
	case $mode in
	netns) pre+=(ip netns exec "${ns_prefix}$h" unshare --uts -- \
	    sh -c 'hostname "$0"; exec "$@"' "host$h") ;;
	uts) pre+=(unshare --uts -- sh -c 'hostname "$0"; exec "$@"' "host$h") ;;
	esac
	${ON_HOST_EXEC:+exec} "${pre[@]}" "$@"
}
if [ "$mode" = netns ]; then
	for h in A B; do
		wait_for 10 on_host "$h" curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" ||
		    { echo "host $h cannot reach S3" >&2; exit 1; }
	done
	if on_host A curl -s -m 2 -o /dev/null "http://127.0.0.1:$S3_UP/" 2>/dev/null; then
		not_ok "host A has a loopback of its own (it reached s3rver's port directly)"
	else
		ok "host A has a loopback of its own (s3rver's port is not on it)"
	fi
fi

# --- the real pipeline, when every stage is in the tree ----------------------
# Host A runs fetch, transcribe, frame and publish; host B select and
# render: every artifact a stage needs was made on the other host, and
# reaches it only through S3.  Then host A alone runs the same job.
pipeline=yes
for st in fetch transcribe select frame render publish; do
	clipmill-batch --list-stages 2>/dev/null | grep -q "^$st\b" || pipeline=no
done
if [ "$pipeline" = yes ]; then
	M=$CLIPMILL_TESTDATA
	# 11 s: a face moving on screen, JFK's voice under it
	nice -n 10 ffmpeg -v error -stream_loop -1 \
	    -i "$M/intel_head-pose-face-detection-male.mp4" -i "$M/jfk.wav" \
	    -shortest -map 0:v -map 1:a -c:v libx264 -preset ultrafast -c:a aac \
	    "$TMP/src.mp4" || exit 1
	clipmill user add so >/dev/null || exit 1
	# run_pipeline NAME HOST:STAGES...: submit the source from the first
	# host, run each host's runner until the job ends, stop them by PID;
	# prints the job id
	run_pipeline() {
		local name=$1 job spec h st pids=() i=0 rc
		shift
		job=$(on_host A clipmill submit --user so --clips 2 --min-len 3 \
		    --max-len 6 --file "$TMP/src.mp4") || return 1
		for spec in "$@"; do
			h=${spec%%:*}
			st=${spec#*:}
			(ON_HOST_EXEC=1 on_host "$h" nice -n 10 clipmill-batch \
			    --stage "$st" --idle-exit 3600 >/dev/null \
			    2>"$TMP/$name$h.log") &
			pids+=($!)
			at_exit "kill -9 $! 2>/dev/null"
		done
		wait_for 600 bash -c "sql \"SELECT state FROM jobs WHERE id = $job\" |
		    grep -Eq '^(done|partial|failed)$'" ||
		    echo "# job $job did not end in 600 s" >&2
		for i in "${pids[@]}"; do kill -TERM "$i"; done
		for i in "${pids[@]}"; do
			wait "$i"
			rc=$?
			[ "$rc" -eq 0 ] || echo "runner $i exited $rc" >>"$TMP/runner_rc"
		done
		echo "$job"
	}
	export -f sql
	# what a user sees of a job's clips
	clips_of() {
		sql "SELECT rank, aspect, state, round(start_s::numeric, 2),
		    round(end_s::numeric, 2), width, height, round(duration_s::numeric, 1)
		    FROM clips WHERE job_id = $1 ORDER BY rank, aspect"
	}
	: >"$S3_LOG"
	j2=$(run_pipeline two "A:fetch,transcribe,frame,publish" "B:select,render")
	check_eq "two hosts: both runners stopped cleanly by SIGTERM" "" "$(cat "$TMP/runner_rc" 2>/dev/null)"
	check_eq "two hosts: the job ends done" "done" "$(sql "SELECT state FROM jobs WHERE id = $j2")"
	check_eq "two hosts: task rows show which host ran each stage" \
	    "fetch hostA,transcribe hostA,select hostB,frame hostA,render hostB,publish hostA" \
	    "$(sql "SELECT string_agg(DISTINCT stage || ' ' || split_part(runner, ':', 1), ','
	        ORDER BY stage || ' ' || split_part(runner, ':', 1)) FROM tasks WHERE job_id = $j2" |
	        tr ',' '\n' | awk '{o[$1]=$0} END {split("fetch transcribe select frame render publish", s, " ");
	        for (i = 1; i <= 6; i++) printf "%s%s", (i > 1 ? "," : ""), o[s[i]]}')"
	two=$(clips_of "$j2")
	check "two hosts: clips made" test -n "$two"
	check_eq "two hosts: every clip ready, 1080x1920" "" \
	    "$(grep -v '|ready|.*|1080|1920|' <<<"$two")"
	id=$(sql "SELECT id FROM clips WHERE job_id = $j2 ORDER BY rank LIMIT 1")
	curl -sf -o "$TMP/c.mp4" "$("$S" url "$(sql "SELECT video_key FROM clips WHERE id = $id")")"
	check_eq "two hosts: the clip's URL serves a 1080x1920 video" "1080x1920" \
	    "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$TMP/c.mp4")"
	check_eq "two hosts: no intermediate render left in S3" "0" \
	    "$(find "$S3_DIR/data/clips/jobs/$j2/render" -name '*._S3rver_object' 2>/dev/null | wc -l)"
	check_eq "botocore confirms every S3 request of both hosts" "" "$(s3_bad_sigs)"
	j1=$(run_pipeline one "A:fetch,transcribe,select,frame,render,publish")
	check_eq "one host: the runner stopped cleanly" "" "$(cat "$TMP/runner_rc" 2>/dev/null)"
	check_eq "one host: the job ends done" "done" "$(sql "SELECT state FROM jobs WHERE id = $j1")"
	check_eq "one host: only host A" "hostA" "$(sql "SELECT string_agg(DISTINCT split_part(runner, ':', 1), ',') FROM tasks WHERE job_id = $j1")"
	check_eq "the same clips on one host as on two" "$two" "$(clips_of "$j1")"
	done_testing
	exit
fi
echo "# the media stages are not in this tree: running the publish and test stages"

# --- the work (publish and the queue's test stages) -------------------------
sql "INSERT INTO users (name, key_hash, key_prefix) VALUES ('so', 'h', 'p')" >/dev/null
# make_work: a publish job (clips rendered on host A) and a fanout job,
# without tasks yet; prints "PUBJOB FANJOB".
make_work() {
	local pj fj r c
	pj=$(sql "INSERT INTO jobs (user_id, source_kind, source_url, state)
	    SELECT id, 'url', 'http://127.0.0.1/p', 'running' FROM users RETURNING id" | head -1)
	for r in 1 2 3 4; do
		c=$(sql "INSERT INTO clips (job_id, rank, start_s, end_s, state)
		    VALUES ($pj, $r, $r, $r + 10, 'rendered') RETURNING id" | head -1)
		printf 'clip of rank %s\n' "$r" >"$TMP/render$r.mp4"
		printf 'thumbnail of rank %s\n' "$r" >"$TMP/render$r.jpg"
		on_host A "$S" put "jobs/$pj/render/$c.mp4" "$TMP/render$r.mp4" video/mp4 &&
		    on_host A "$S" put "jobs/$pj/render/$c.jpg" "$TMP/render$r.jpg" image/jpeg ||
		    return 1
	done
	fj=$(sql "INSERT INTO jobs (user_id, source_kind, source_url, state)
	    SELECT id, 'url', 'http://127.0.0.1/f', 'pending' FROM users RETURNING id" | head -1)
	echo "$pj $fj"
}
# enqueue PUBJOB FANJOB: their tasks, with one NOTIFY per stage, once the
# runners listen
enqueue() {
	local pj=$1 fj=$2
	sql "WITH t AS (INSERT INTO tasks (job_id, clip_id, stage, max_attempts)
	     SELECT $pj, id, 'publish', 3 FROM clips WHERE job_id = $pj RETURNING 1)
	     SELECT pg_notify('clipmill_tasks', 'publish') FROM (SELECT count(*) FROM t) c" >/dev/null
	sql "INSERT INTO tasks (job_id, stage, payload) VALUES ($fj, 'fanout', '{\"n\":3}');
	     SELECT pg_notify('clipmill_tasks', 'fanout')" >/dev/null
}
# start_runner H NAME: host H's runner for every stage of the work; its
# PID goes to $TMP/NAME.pid, its exit status to $TMP/NAME.rc
start_runner() {
	(
		(ON_HOST_EXEC=1 on_host "$1" clipmill-batch \
		    --stage publish,fanout,fanwork --idle-exit 5 \
		    >"$TMP/$2.out" 2>"$TMP/$2.log") &
		echo $! >"$TMP/$2.pid"
		wait $!
		echo $? >"$TMP/$2.rc"
	) &
	wait_for 10 test -s "$TMP/$2.pid"
	at_exit "kill -9 $(cat "$TMP/$2.pid") 2>/dev/null"
}
wait_runner() {	# NAME: its exit status (124 if it had to be killed)
	if ! wait_for 120 test -s "$TMP/$1.rc"; then
		kill -9 "$(cat "$TMP/$1.pid")"
		echo 124
		return
	fi
	cat "$TMP/$1.rc"
}
# outcome JOB: what a user sees of a job: its state, then per clip its
# rank, state and the published contents
outcome() {
	local line id rank st vk tk
	sql "SELECT state FROM jobs WHERE id = $1"
	sql "SELECT id, rank, state, coalesce(video_key, ''), coalesce(thumb_key, '')
	     FROM clips WHERE job_id = $1 ORDER BY rank, id" |
	while IFS='|' read -r id rank st vk tk; do
		case $vk in
		clips/*) printf '%s %s %s %s\n' "$rank" "$st" \
		    "$(curl -sf "$("$S" url "$vk")" | sha256sum | cut -c1-16)" \
		    "$(curl -sf "$("$S" url "$tk")" | sha256sum | cut -c1-16)" ;;
		*) printf '%s %s\n' "$rank" "$st" ;;
		esac
	done
}

# --- two hosts -------------------------------------------------------------
read -r pj fj <<<"$(make_work)"
[ -n "$fj" ] || { echo "could not set up the work" >&2; exit 1; }
read -r pj1 fj1 <<<"$(make_work)"	# for the single host, later
[ -n "$fj1" ] || { echo "could not set up the work" >&2; exit 1; }
: >"$S3_LOG"	# from here on, only the runners' requests
start_runner A ra
start_runner B rb
wait_for 20 bash -c "[ \$(grep -l runner_started $TMP/ra.log $TMP/rb.log 2>/dev/null | wc -l) -eq 2 ]" ||
    { echo "runners did not start" >&2; cat "$TMP/ra.log" "$TMP/rb.log" >&2; exit 1; }
enqueue "$pj" "$fj"
check_eq "host A's runner exits when idle" 0 "$(wait_runner ra)"
check_eq "host B's runner exits when idle" 0 "$(wait_runner rb)"

hosts() { sql "SELECT string_agg(DISTINCT split_part(runner, ':', 1), ',' ORDER BY split_part(runner, ':', 1)) FROM tasks WHERE job_id = $1"; }
if [ "$mode" = plain ]; then
	check_eq "publish tasks ran in both runners" 2 \
	    "$(sql "SELECT count(DISTINCT runner) FROM tasks WHERE job_id = $pj")"
else
	check_eq "publish job: task rows show both hosts" "hostA,hostB" "$(hosts "$pj")"
	check_eq "fanout job: task rows show both hosts" "hostA,hostB" "$(hosts "$fj")"
fi
check_eq "every task done" "0" \
    "$(sql "SELECT count(*) FROM tasks WHERE job_id IN ($pj, $fj) AND state <> 'done'")"
two_pub=$(outcome "$pj")
two_fan=$(outcome "$fj")
check_eq "publish job done, four clips ready" "done 4" \
    "$(head -1 <<<"$two_pub") $(grep -c ' ready ' <<<"$two_pub")"
check "each published clip is its own render" \
    test "$(sed -n 2p <<<"$two_pub" | cut -d' ' -f3)" = "$(sha256sum <"$TMP/render1.mp4" | cut -c1-16)"
check_eq "render keys all moved" "0" \
    "$(find "$S3_DIR/data/clips/jobs/$pj" -name '*._S3rver_object' 2>/dev/null | wc -l)"
check_eq "fanout job done, three clips ready" "done 3" \
    "$(head -1 <<<"$two_fan") $(grep -c ' ready' <<<"$two_fan")"
sa=$(find "$TMP/scratchA" -mindepth 1 -maxdepth 1 | wc -l)
sb=$(find "$TMP/scratchB" -mindepth 1 -maxdepth 1 | wc -l)
check_eq "each host's scratch directory is left empty" "0 0" "$sa $sb"
check_eq "botocore confirms every S3 request of both hosts" "" "$(s3_bad_sigs)"

# --- one host ----------------------------------------------------------------
start_runner A r1
wait_for 20 grep -q runner_started "$TMP/r1.log"
enqueue "$pj1" "$fj1"
check_eq "the single host's runner exits when idle" 0 "$(wait_runner r1)"
[ "$mode" = plain ] || check_eq "one host: only host A" "hostA" "$(hosts "$pj1")"
check_eq "same publish outcome on one host as on two" "$two_pub" "$(outcome "$pj1")"
check_eq "same fanout outcome on one host as on two" "$two_fan" "$(outcome "$fj1")"
done_testing
