#!/usr/bin/env bash
# select -> frame -> render on a composite video (a face sweeping across a
# 1280x720 frame, LibriVox speech with known word times): two 9:16 clips,
# H.264 + AAC at 1080x1920, exact durations, audio and video starting
# together, the face in frame, captions burned only where words are spoken.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
conf_set x264_preset ultrafast

mo_media "$TMP/m" 2 face || { not_ok "test video built"; exit 1; }
job=$(mo_job "$TMP/m" '{"clips":2,"min_len":8,"max_len":12,"aspects":["9:16"],"caption_style":"bold"}')

t=$(mo_add_task "$job" select)
check "select stage runs" mo_stage "$t"
check_eq "two clips chosen" "2" "$(sql "SELECT count(*) FROM clips WHERE job_id = $job")"
check_eq "chosen by the heuristic" "heuristic" \
    "$(sql "SELECT DISTINCT backend FROM clips WHERE job_id = $job")"
check_eq "one frame task" "1" "$(sql "SELECT count(*) FROM tasks WHERE job_id = $job AND stage = 'frame'")"

t=$(sql "SELECT id FROM tasks WHERE job_id = $job AND stage = 'frame'")
check "frame stage runs" mo_stage "$t"
check_eq "a crop path per clip" "2" "$(ls "$TMP/store/jobs/$job/crop/" | grep -c '\.json$')"
check "crop paths stay inside the source frame" \
    python3 "$CLIPMILL_TOP/tests/mediaout_check.py" crops "$TMP/store/jobs/$job/crop/"*.json
check_eq "quality stored: face in crop >= 95% for both" "2" \
    "$(sql "SELECT count(*) FROM clips WHERE job_id = $job AND (quality->>'face_in_crop')::float >= 0.95 AND (quality->>'reversals_per_s')::float < 0.2")"
check_eq "no face fallback" "0" "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'fallback'")"
check_eq "one render task per clip" "2" \
    "$(sql "SELECT count(*) FROM tasks WHERE job_id = $job AND stage = 'render' AND clip_id IS NOT NULL")"

for t in $(sql "SELECT id FROM tasks WHERE job_id = $job AND stage = 'render' ORDER BY id"); do
	check "render task $t runs" mo_stage "$t"
done
check_eq "clips rendered with size and keys" "2" "$(sql "SELECT count(*) FROM clips WHERE job_id = $job
    AND state = 'rendered' AND width = 1080 AND height = 1920 AND video_key IS NOT NULL
    AND thumb_key IS NOT NULL AND duration_s > 0")"
check_eq "a publish task per clip" "2" "$(sql "SELECT count(*) FROM tasks WHERE job_id = $job AND stage = 'publish'")"

first=""
while IFS='|' read -r id s e; do
	f="$TMP/store/jobs/$job/render/$id.mp4"
	[ -n "$first" ] || first="$id|$s|$e"
	read -r vc w h ac ddur adiff sar < <(python3 "$CLIPMILL_TOP/tests/mediaout_check.py" probe "$f" "$s" "$e")
	check_eq "clip $id is H.264 1080x1920 + AAC, SAR 1" "h264 1080 1920 aac 1:1" "$vc $w $h $ac $sar"
	check "clip $id lasts its clip within one frame (off by $ddur s)" within "$ddur" 0 0.04
	check "clip $id audio and video start together ($adiff s)" within "$adiff" 0 0.039
	check "clip $id thumbnail is a JPEG" sh -c "file -b '$TMP/store/jobs/$job/render/$id.jpg' | grep -q JPEG"
	read -r nf n < <(mo_faces "$f")
	check "clip $id: face in frame in >= 95% of $n sampled output frames ($nf)" \
	    test $((nf * 100)) -ge $((n * 95))
done < <(sql "SELECT id, start_s, end_s FROM clips WHERE job_id = $job ORDER BY rank")

# Captions: the same clip rendered without them, compared where a word is
# spoken and where nobody speaks.
IFS='|' read -r id s e <<<"$first"
rt=$(sql "SELECT id FROM tasks WHERE job_id = $job AND stage = 'render' AND clip_id = $id")
mo_task_json "$rt" | python3 -c '
import json, sys
t = json.load(sys.stdin); t["clip_id"] = 900000 + t["clip_id"]
t["payload"]["outputs"][0]["clip_id"] = t["clip_id"]
t["payload"]["captions"] = False; print(json.dumps(t))' >"$TMP/nocap.json"
"$MO" run render "$TMP/nocap.json" >"$TMP/nocap-result.json" 2>"$TMP/nocap.log"
check "render without captions" test -s "$TMP/store/jobs/$job/render/$((900000 + id)).mp4"
read -r tw ts < <(python3 "$CLIPMILL_TOP/tests/mediaout_check.py" times "$TMP/m/transcript.json" "$s" "$e")
a="$TMP/store/jobs/$job/render/$id.mp4"
b="$TMP/store/jobs/$job/render/$((900000 + id)).mp4"
dw=$(python3 "$CLIPMILL_TOP/tests/mediaout_check.py" band "$a" "$b" "$tw")
check "captions burned at a spoken word (t=$tw, $dw% of the band differs)" within "$dw" 50 49
# Where the captions are (bold preset): large letters, below the face the
# detector finds in the uncaptioned clip, inside the safe area (the bottom
# 15% and the right 12% clear).
read -r ct cb cl cr < <(python3 "$CLIPMILL_TOP/tests/mediaout_check.py" capbox "$a" "$b" "$tw")
"$MO" detect "$b" 4 >"$b.faces"
read -r ft fb < <(python3 "$CLIPMILL_TOP/tests/mediaout_check.py" face "$b.faces" "$tw")
check "bold captions are large (rows $ct..$cb, at least 4% of the height)" \
    test $((cb - ct)) -ge 77
check "captions clear of the face (face rows $ft..$fb, captions $ct..$cb)" \
    test "$fb" -ge 0 -a \( "$ct" -gt "$fb" -o "$cb" -lt "$ft" \)
check "captions inside the safe area (rows $ct..$cb, columns $cl..$cr)" \
    test "$cb" -le 1632 -a "$cr" -le 950 -a "$ct" -ge 192 -a "$cl" -ge 0
if [ "$ts" != "-1.000" ]; then
	dsil=$(python3 "$CLIPMILL_TOP/tests/mediaout_check.py" band "$a" "$b" "$ts")
	check "caption area empty in a pause (t=$ts, $dsil% differs)" within "$dsil" 0 0.05
else
	not_ok "the clip has a pause to check"
fi
done_testing
