# Helpers for the select/frame/render tests (t_select*, t_frame*,
# t_render*), sourced after lib.sh.  Stages run through the test driver
# build/tests/mediaout: run() in-process, then done() in a transaction of
# the test database, so rows and next tasks are real.
MO="$CLIPMILL_TOP/build/tests/mediaout"
export MEDIAOUT_EVENTS="$TMP/events.jsonl"

# mo_media DIR PERIODS [face|noface|portrait|small]: talk.mp4 (1280x720,
# 25 fps, H.264 + AAC) with the astronaut's face sweeping left to right at
# 18 px/s, the LibriVox speech under it, and its transcript.json and
# loudness.json.  portrait: 720x1280, a larger face sweeping down at 18 px/s
# instead; small: a wide shot, the face about 45 px tall, at 30 px/s.
mo_media() {
	local dir=$1 periods=$2 kind=${3:-face} dur size face at
	mkdir -p "$dir"
	dur=$(python3 "$CLIPMILL_TOP/tests/mediaout_fixture.py" \
	    "$CLIPMILL_TESTDATA" "$dir" "$periods") || return 1
	case $kind in
	face) size=1280x720 face=480 at="x='40+18*t':y=120" ;;
	portrait) size=720x1280 face=600 at="x=60:y='40+18*t'" ;;
	# a wide shot: the speaker's face about 45 px tall
	small) size=1280x720 face=200 at="x='200+30*t':y=380" ;;
	esac
	if [ "$kind" != noface ]; then
		nice -n 10 ffmpeg -v error -y -f lavfi \
		    -i "color=c=0x203040:s=$size:r=25:d=$dur" \
		    -loop 1 -i "$CLIPMILL_TESTDATA/astronaut.png" -i "$dir/talk.wav" \
		    -filter_complex "[1]scale=$face:$face,format=yuva420p[f];[0][f]overlay=$at:shortest=1,format=yuv420p[v]" \
		    -map "[v]" -map 2:a -c:v libx264 -preset ultrafast -g 50 \
		    -c:a aac -t "$dur" "$dir/talk.mp4"
	else
		# A moving box and no face at all.
		nice -n 10 ffmpeg -v error -y -f lavfi \
		    -i "color=c=0x203040:s=1280x720:r=25:d=$dur" -i "$dir/talk.wav" \
		    -vf "drawbox=x='100+20*t':y=200:w=200:h=200:color=orange:t=fill" \
		    -c:v libx264 -preset ultrafast -g 50 -c:a aac -t "$dur" \
		    "$dir/talk.mp4"
	fi
}

# mo_transcript DIR PERIODS: only the transcript and loudness.
mo_transcript() {
	mkdir -p "$1"
	python3 "$CLIPMILL_TOP/tests/mediaout_fixture.py" "$CLIPMILL_TESTDATA" "$1" "$2" >/dev/null
}

# mo_job DIR OPTIONS_JSON: a user and a job whose source, transcript and
# loudness are in the store; prints the job id.
mo_job() {
	local dir=$1 opts=$2 uid id
	uid=$(sql "INSERT INTO users (name, key_hash, key_prefix) VALUES
	    ('u$RANDOM$RANDOM', md5(random()::text), 'cm_') RETURNING id") || return 1
	id=$(sql "INSERT INTO jobs (user_id, source_kind, options, probe)
	    VALUES ($uid, 'upload', '$opts', '{\"duration\": 1}') RETURNING id") || return 1
	mkdir -p "$TMP/store/jobs/$id"
	[ ! -f "$dir/talk.mp4" ] || cp "$dir/talk.mp4" "$TMP/store/jobs/$id/source.mp4"
	[ ! -f "$dir/transcript.json" ] || cp "$dir/transcript.json" "$TMP/store/jobs/$id/"
	[ ! -f "$dir/loudness.json" ] || cp "$dir/loudness.json" "$TMP/store/jobs/$id/"
	sql "UPDATE jobs SET source_key = 'jobs/$id/source.mp4' WHERE id = $id" >/dev/null
	echo "$id"
}

# mo_task_json TASK_ID: the task as a runner would hand it to run().
mo_task_json() {
	sql "SELECT json_build_object('id', t.id, 'job_id', t.job_id,
	    'clip_id', coalesce(t.clip_id, 0), 'payload', t.payload,
	    'job', json_build_object('id', j.id, 'user_id', j.user_id,
	    'source_kind', j.source_kind, 'source_key', j.source_key,
	    'options', j.options, 'probe', j.probe))
	    FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.id = $1"
}

# mo_stage TASK_ID: run the task's stage and record it as done, with its
# events; the result is left in $TMP/result-TASK_ID.json.  0 or 1.
mo_stage() {
	local t=$1 stage
	stage=$(sql "SELECT stage FROM tasks WHERE id = $t")
	mo_task_json "$t" >"$TMP/task-$t.json"
	: >"$MEDIAOUT_EVENTS"
	"$MO" run "$stage" "$TMP/task-$t.json" >"$TMP/result-$t.json" 2>"$TMP/stage-$t.log" ||
	    { cat "$TMP/stage-$t.log" >&2; return 1; }
	"$MO" done "$stage" "$TMP/task-$t.json" "$TMP/result-$t.json" "$MEDIAOUT_EVENTS" ||
	    return 1
	sql "UPDATE tasks SET state = 'done', result = '$(cat "$TMP/result-$t.json")'::jsonb
	    WHERE id = $t" >/dev/null
}

# mo_add_task JOB STAGE [PAYLOAD]: a pending task; prints its id.
mo_add_task() {
	local payload=${3:-'{}'}
	sql "INSERT INTO tasks (job_id, stage, payload) VALUES ($1, '$2',
	    '$payload') RETURNING id"
}

# mo_faces VIDEO: "FOUND SAMPLED", how many of its frames sampled at 4 a
# second the detector finds a face in (as the render tests count them).
mo_faces() {
	"$MO" detect "$1" 4 >"$1.faces" || return 1
	echo "$(grep -vc ' - ' "$1.faces") $(wc -l <"$1.faces")"
}

# mo_probe FILE ENTRY: one ffprobe value, e.g. mo_probe f.mp4 v:0 width
mo_probe() {
	ffprobe -v error -select_streams "$2" -show_entries "stream=$3" \
	    -of default=nw=1:nk=1 "$1"
}

# within A B TOL: |A - B| <= TOL
within() { python3 -c "import sys; sys.exit(0 if abs($1 - ($2)) <= $3 + 1e-9 else 1)"; }

# For the lip-sync tests (t_render_sync*).
# mo_sync_source RATE CONTAINER OUT: 62 s of the head-pose video (looped, at RATE
# fps, 320x180) with JFK's speech looped under it; Matroska as H.264 + AAC,
# WebM as VP8 + Opus.
mo_sync_source() {
	local codecs
	case $2 in
	mkv) codecs="-c:v libx264 -preset ultrafast -g 48 -c:a aac" ;;
	webm) codecs="-c:v libvpx -deadline realtime -cpu-used 8 -b:v 200k -g 48 -c:a libopus" ;;
	esac
	# shellcheck disable=SC2086
	nice -n 10 ffmpeg -v error -y -stream_loop -1 \
	    -i "$CLIPMILL_TESTDATA/intel_head-pose-face-detection-male.mp4" \
	    -stream_loop -1 -i "$CLIPMILL_TESTDATA/jfk.wav" \
	    -map 0:v -map 1:a -vf "fps=$1,scale=320:180,format=yuv420p" \
	    -ar 48000 -t 62 $codecs "$3"
}

# mo_ends CLIP: "VIDEO_END AUDIO_END FPS" in seconds, the latest end
# (pts + duration) of a packet of each stream, and the video's frame rate.
mo_ends() {
	ffprobe -v error -show_packets -show_streams -of json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
end = {}
for p in d["packets"]:
    e = float(p["pts_time"]) + float(p.get("duration_time", 0))
    k = p["stream_index"]
    end[k] = max(end.get(k, e), e)
v = [s for s in d["streams"] if s["codec_type"] == "video"][0]
a = [s for s in d["streams"] if s["codec_type"] == "audio"][0]
n, m = map(int, v["r_frame_rate"].split("/"))
print("%.6f %.6f %.6f" % (end[v["index"]], end[a["index"]], n / m))'
}

# mo_sync_render CLIP SOURCE_KEY [CROP_KEY]: render the one-minute 1:1 clip
# from 1 s of SOURCE_KEY in job 1 (framed by CROP_KEY when given) as clip
# CLIP (the result in $TMP/result-CLIP.json): the render seeks, as it does
# for a clip in the middle of a video.  Prints mo_ends of the clip; 1 when
# it could not be rendered.
mo_sync_render() {
	local crop="" out="$TMP/store/jobs/1/render/$1.mp4"
	[ -z "${3:-}" ] || crop=", \"crop_key\": \"$3\""
	cat >"$TMP/task-$1.json" <<JSON
{"id": $1, "job_id": 1, "clip_id": $1,
 "payload": {"start": 1.0, "end": 61.0, "aspect": "1:1", "captions": false$crop},
 "job": {"id": 1, "user_id": 1, "source_kind": "upload",
  "source_key": "$2", "options": {}, "probe": {}}}
JSON
	if ! "$MO" run render "$TMP/task-$1.json" >"$TMP/result-$1.json" \
	    2>"$TMP/render-$1.log" || [ ! -s "$out" ]; then
		cat "$TMP/render-$1.log" >&2
		return 1
	fi
	mo_ends "$out"
}
