#!/usr/bin/env bash
# One decode for every aspect: a job asking for 9:16, 1:1 and 4:5 of its
# clip gets one render task for the segment, run by the real runner; the
# source is decoded once, each output is published while the task still
# runs, each reports its own progress, and each has its size and the
# clip's duration.  An output that fails on its own fails only its clip.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
conf_set x264_preset ultrafast
conf_set retry_base 0.2

mo_media "$TMP/m" 2 face || { not_ok "test video built"; exit 1; }
opts='{"clips":1,"min_len":8,"max_len":12,"aspects":["9:16","1:1","4:5"],"caption_style":"bold"}'

# prepare JOB: select and frame through the test driver, as in t_render.
prepare() {
	local t
	t=$(mo_add_task "$1" select)
	mo_stage "$t" || return 1
	t=$(sql "SELECT id FROM tasks WHERE job_id = $1 AND stage = 'frame'")
	mo_stage "$t"
}

# runner: render and publish through the runner until the queue is idle.
runner() {
	clipmill-batch --stage render,publish --idle-exit 3 2>>"$TMP/runner.log"
}

job=$(mo_job "$TMP/m" "$opts")
check "select and frame run" prepare "$job"
check_eq "three clip rows of one segment" "3|1" \
    "$(sql "SELECT count(*), count(DISTINCT (start_s, end_s)) FROM clips WHERE job_id = $job")"
check_eq "one render task with three outputs" "1|3" \
    "$(sql "SELECT count(*), max(jsonb_array_length(payload->'outputs')) FROM tasks WHERE job_id = $job AND stage = 'render'")"
check_eq "its clip is its first output's" "1" \
    "$(sql "SELECT count(*) FROM tasks WHERE job_id = $job AND stage = 'render' AND clip_id = (payload->'outputs'->0->>'clip_id')::bigint")"

runner
check_eq "job ends done" "done" "$(sql "SELECT state FROM jobs WHERE id = $job")"
check_eq "three clips ready" "3" "$(sql "SELECT count(*) FROM clips WHERE job_id = $job AND state = 'ready'")"
check_eq "the source decoded once for the three outputs" "1 3" \
    "$(jq -s -r '[.[] | select(.event == "render_decode")] | "\(length) \(.[0].outputs)"' "$TMP/runner.log")"
check_eq "each output published before the render task ended" "3" \
    "$(sql "SELECT count(*) FROM tasks p, tasks r WHERE p.job_id = $job AND r.job_id = $job
        AND p.stage = 'publish' AND r.stage = 'render' AND p.created_at < r.finished_at")"
while IFS='|' read -r id aspect s e key; do
	case $aspect in
	9:16) want="1080 1920" ;; 1:1) want="1080 1080" ;; 4:5) want="1080 1350" ;;
	esac
	f="$TMP/store/$key"
	check_eq "clip $id ($aspect) is H.264 $want + AAC" "h264 $want aac" \
	    "$(mo_probe "$f" v:0 codec_name) $(mo_probe "$f" v:0 width) $(mo_probe "$f" v:0 height) $(mo_probe "$f" a:0 codec_name)"
	check_eq "clip $id row says $want" "$want" "$(sql "SELECT width || ' ' || height FROM clips WHERE id = $id")"
	dur=$(mo_probe "$f" v:0 duration)
	check "clip $id ($aspect) lasts its range ($dur s for $s-$e) within a frame" within "$dur" "$e - $s" 0.041
	check "clip $id ($aspect) reported its own progress" test "$(sql "SELECT count(*) FROM events
	    WHERE job_id = $job AND kind = 'progress' AND stage = 'render' AND (data->>'clip')::bigint = $id")" -ge 1
done < <(sql "SELECT id, aspect, start_s, end_s, video_key FROM clips WHERE job_id = $job ORDER BY aspect")
check_eq "no failure events" "0" "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind IN ('failed', 'retry', 'clip_failed')")"

# One output that cannot be stored (a directory where its file goes)
# fails its clip; the two others are published.
job=$(mo_job "$TMP/m" "$opts")
check "select and frame run (second job)" prepare "$job"
bad=$(sql "SELECT id FROM clips WHERE job_id = $job AND aspect = '1:1'")
mkdir -p "$TMP/store/jobs/$job/render/$bad.mp4/taken"
runner
check_eq "second job ends partial" "partial" "$(sql "SELECT state FROM jobs WHERE id = $job")"
check_eq "the 1:1 clip failed, the others ready" "1:1 failed|4:5 ready|9:16 ready" \
    "$(sql "SELECT string_agg(aspect || ' ' || state, '|' ORDER BY aspect) FROM clips WHERE job_id = $job")"
check "the failed clip says why" test -n "$(sql "SELECT error FROM clips WHERE id = $bad")"
check_eq "one clip_failed event, for that clip" "$bad" \
    "$(sql "SELECT string_agg(data->>'clip', ',') FROM events WHERE job_id = $job AND kind = 'clip_failed'")"
check_eq "the render task itself is done, not retried" "done|1" \
    "$(sql "SELECT state, attempts FROM tasks WHERE job_id = $job AND stage = 'render'")"

# Memory: three outputs encoded at once at the shipped preset (veryfast)
# hold their encoders' frames side by side; together they stay within a
# stage's 300 MB (449 MB before the encoders held fewer frames each).
conf_set x264_preset veryfast
job=$(mo_job "$TMP/m" '{"clips":1,"min_len":4,"max_len":6,"aspects":["9:16","1:1","4:5"]}')
check "select and frame run (veryfast job)" prepare "$job"
: >"$TMP/runner.log"
runner
check_eq "veryfast job ends done" "done" "$(sql "SELECT state FROM jobs WHERE id = $job")"
rss=$(jq -s -r "[.[] | select(.event == \"task_done\" and .stage == \"render\" and .job == $job)] | .[0].peak_rss_kb" "$TMP/runner.log")
check "three veryfast outputs at once peak under 300 MB ($rss KB)" test "$rss" -lt 307200
done_testing
