#!/usr/bin/env bash
# The whole pipeline through the real runner: a talking-head video is
# uploaded with `clipmill submit --file`, and runners started the way cron
# starts them carry it through fetch, transcribe (pocketsphinx), select,
# frame, render and publish until its clips are ready.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
conf_set retry_base 0.2
conf_set clip_min 6
conf_set clip_max 12

# ~24 s: the astronaut's face sweeping across 1280x720, LibriVox speech under it.
mo_media "$TMP/m" 3 face || { not_ok "test video built"; exit 1; }
clipmill user add alice >/dev/null
job=$(clipmill submit --user alice --clips 2 --min-len 6 --max-len 12 --file "$TMP/m/talk.mp4")
check "submit prints a job id" grep -qE '^[0-9]+$' <<<"$job"

# One runner per stage group, as the crontab does; they exit when idle.
stages=fetch,transcribe,select,frame,render,publish
for i in 1 2; do
	nice -n 5 clipmill-batch --stage "$stages" --idle-exit 4 2>"$TMP/runner$i.log" &
	pids+=($!)
done
at_exit "kill ${pids[*]} 2>/dev/null"
state=""
for _ in $(seq 1 600); do
	state=$(sql "SELECT state FROM jobs WHERE id = $job")
	case "$state" in done|partial|failed|cancelled) break ;; esac
	sleep 0.5
done
check_eq "job ends done" "done" "$state"
[ "$state" = done ] || { sql "SELECT stage, state, attempts, error FROM tasks WHERE job_id = $job"; tail -20 "$TMP"/runner*.log; }
wait "${pids[@]}"

check_eq "two clips ready" "2" "$(sql "SELECT count(*) FROM clips WHERE job_id = $job AND state = 'ready'")"
check_eq "every stage ran once per job or clip" "fetch 1|transcribe 1|select 1|frame 1|render 2|publish 2" \
    "$(sql "SELECT string_agg(stage || ' ' || n, '|' ORDER BY min) FROM (SELECT stage, count(*) n, min(id) FROM tasks WHERE job_id = $job AND state = 'done' GROUP BY stage) s")"
words=$(sql "SELECT (result->>'words')::int FROM tasks WHERE job_id = $job AND stage = 'transcribe'")
check "transcript has words ($words)" test "${words:-0}" -gt 10
check_eq "the source is kept in the store" "jobs/$job/source.mp4" "$(sql "SELECT source_key FROM jobs WHERE id = $job")"
check "the source file is in the store" test -s "$TMP/store/jobs/$job/source.mp4"
check_eq "the upload it was copied from is removed" "" "$(ls "$TMP/store/jobs/$job" | grep '^upload')"

while IFS='|' read -r id s e key q; do
	f="$TMP/store/$key"
	check "clip $id file exists" test -s "$f"
	info=$(ffprobe -v error -show_entries stream=codec_type,codec_name,width,height -of csv=p=0 "$f" | sort | tr '\n' ' ')
	check_eq "clip $id is 1080x1920 H.264 + AAC" "aac,audio h264,video,1080,1920 " "$info"
	dur=$(ffprobe -v error -select_streams v -show_entries stream=duration -of csv=p=0 "$f")
	check "clip $id lasts its range ($dur vs $s-$e) within a frame" \
	    python3 -c "import sys; sys.exit(abs($dur - ($e - $s)) > 0.041)"
	check "clip $id within the requested length" python3 -c "import sys; sys.exit(not 6 - 0.05 <= $e - $s <= 12 + 0.05)"
	fic=$(jq -r '.face_in_crop // empty' <<<"$q" 2>/dev/null || python3 -c "import json,sys; print(json.loads(sys.argv[1]).get('face_in_crop',''))" "$q")
	check "clip $id face inside the crop ($fic)" python3 -c "import sys; sys.exit(not float('${fic:-0}') >= 0.95)"
done < <(sql "SELECT id, start_s, end_s, video_key, quality FROM clips WHERE job_id = $job ORDER BY rank")

# The runners' logs say what each render cost.
check "task_done of a render has its CPU time and peak memory" bash -c \
    "cat '$TMP'/runner*.log | jq -e -s '[.[] | select(.event == \"task_done\" and .stage == \"render\")] | length == 2 and all(.cpu_ms > 100 and .peak_rss_kb > 20000)'"

ev=$(sql "SELECT string_agg(DISTINCT kind, ' ' ORDER BY kind) FROM events WHERE job_id = $job")
for k in submitted stage_started progress stage_done clip_ready done; do
	check "event $k recorded" grep -qw "$k" <<<"$ev"
done
# Stages repeat themselves ("transcribing: 1 of 2 parts" every second);
# the log keeps a report only when it says something new.
check_eq "no repeated progress events" "0" "$(sql "SELECT count(*) FROM (SELECT data, lag(data) OVER (PARTITION BY stage ORDER BY seq) AS prev FROM events WHERE job_id = $job AND kind = 'progress' AND stage IN ('fetch', 'transcribe', 'select', 'frame')) e WHERE data = prev")"
check_eq "no failure events" "0" "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind IN ('failed', 'retry', 'clip_failed')")"
check_eq "last event says done, and which clips" "done|All 2 clips are ready.|$(sql "SELECT json_agg(id ORDER BY rank) FROM clips WHERE job_id = $job")|[]" \
    "$(sql "SELECT kind, data->>'msg', data->'ready_clips', data->'failed_clips' FROM events WHERE job_id = $job ORDER BY seq DESC LIMIT 1")"
done_testing
