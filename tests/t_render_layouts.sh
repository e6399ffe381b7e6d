#!/usr/bin/env bash
# The render follows every layout of the framing the frame stage stores.
# split: two people side by side (the astronaut and Grace Hopper, swaying)
# become two stacked halves, each showing its own whole face where the
# pane's window puts it, with the captions between the halves and clear
# of both faces.  fit: a 2.35:1 film shows whole at the output's width
# (the picture matches ffmpeg's scaling of the source) over a blurred,
# darker copy of itself, captions in the band below the picture.  Every
# aspect (9:16, 1:1, 4:5) gets its size.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
conf_set x264_preset ultrafast
CHECK="$CLIPMILL_TOP/tests/mediaout_check.py"

mo_transcript "$TMP/m" 1 || { not_ok "test speech built"; exit 1; }
D=$CLIPMILL_TESTDATA
# Two faces side by side, each swaying 30 px either way; their centres
# are at x = 295 + 30 sin t, y = 259 and x = 990 - 30 sin t, y = 295.
nice -n 10 ffmpeg -v error -y -f lavfi -i "color=c=0x304050:s=1280x720:r=25:d=12" \
    -loop 1 -i "$D/astronaut.png" -loop 1 -i "$D/grace_hopper_h96919k.jpg" \
    -i "$TMP/m/talk.wav" -filter_complex \
    "[1]scale=400:400[a];[2]scale=380:493[b];[0][a]overlay=x='120+30*sin(t)':y=160:shortest=1[v1];[v1][b]overlay=x='800-30*sin(t)':y=120:shortest=1,format=yuv420p[v]" \
    -map "[v]" -map 3:a -c:v libx264 -preset ultrafast -g 50 -c:a aac -t 12 "$TMP/m/talk.mp4" ||
    { not_ok "two-face video built"; exit 1; }
job=$(mo_job "$TMP/m" '{"caption_style":"bold"}')
cp "$TMP/m/talk.mp4" "$TMP/store/jobs/$job/two.mp4"
cp "$TMP/m/talk.mp4" "$TMP/two.mp4"
# A 2.35:1 film, 640x272, with the same speech.
nice -n 10 ffmpeg -v error -y -stream_loop -1 -i "$D/tears_of_steel_clip01_640x360.mp4" \
    -i "$TMP/m/talk.wav" -map 0:v -map 1:a -vf "crop=640:272,fps=25,format=yuv420p" \
    -c:v libx264 -preset ultrafast -g 50 -c:a aac -t 12 "$TMP/store/jobs/$job/wide.mp4" ||
    { not_ok "wide video built"; exit 1; }
mkdir -p "$TMP/store/jobs/$job/crop"

# split_json OUT_H: a split framing for an output OUT_H rows tall: each
# pane a window of its half's aspect, 360 px wide, following one face
# (the face a little above the window's middle), sampled 5 times a second.
split_json() {
	python3 - "$1" <<'PY'
import json, math, sys
out_h = int(sys.argv[1]); half = (out_h // 2) & ~1
cw = 360; ch = round(cw * half / 1080) & ~1
def pane(fx, fy):
    pts = []
    for i in range(61):
        t = i * 0.2 + 1.0
        x, y = fx(t), fy
        pts.append([round(i * 0.2, 3), int(x - cw / 2), int(y - ch * 0.45), 0,
                    round(x, 1), round(y, 1)])
    return {"version": 1, "src_w": 1280, "src_h": 720, "crop_w": cw,
            "crop_h": ch, "has_face": True, "face_samples": 61,
            "face_in_crop": 1.0, "reversals_per_s": 0.0, "points": pts}
print(json.dumps({"version": 2, "layout": "split", "reason": "two people speak",
                  "panes": [pane(lambda t: 295 + 30 * math.sin(t), 259),
                            pane(lambda t: 990 - 30 * math.sin(t), 295)]}))
PY
}

# render NAME SOURCE CROP ASPECT CAPTIONS: the render stage on the clip from
# 1 s to 9 s of SOURCE (a file of the job) framed by CROP (a key of the job
# or "none"); the clip is $TMP/store/jobs/$job/render/NAME.mp4 and the
# result $TMP/NAME.json.
clipno=0
render() {
	local crop="" f
	clipno=$((clipno + 1))
	[ "$3" = none ] || crop="\"crop_key\": \"jobs/$job/crop/$3\","
	cat >"$TMP/task-$1.json" <<JSON
{"id": $clipno, "job_id": $job, "clip_id": $clipno,
 "payload": {"start": 1.0, "end": 9.0, "aspect": "$4", $crop "captions": $5},
 "job": {"id": $job, "user_id": 1, "source_kind": "upload",
  "source_key": "jobs/$job/$2", "options": {"caption_style": "bold"}, "probe": {}}}
JSON
	: >"$MEDIAOUT_EVENTS"
	"$MO" run render "$TMP/task-$1.json" >"$TMP/$1.json" 2>"$TMP/$1.log" ||
	    { cat "$TMP/$1.log" >&2; return 1; }
	f="$TMP/store/jobs/$job/render/$clipno.mp4"
	mv "$f" "$TMP/$1.mp4"
}

# halves CLIP HALF_H FACE_Y: the faces the detector finds in the top and the
# bottom half (HALF_H rows each) sampled 4 times a second: prints, per
# half, how many samples have a face whole inside the half, centred
# within 60 px of (540, FACE_Y), and how many were sampled.
halves() {
	local h
	for h in top bottom; do
		local y=0
		[ $h = top ] || y="ih-$2"
		nice -n 10 ffmpeg -v error -y -i "$1" -vf "crop=1080:$2:0:$y" \
		    -c:v libx264 -preset ultrafast -an "$1.$h.mp4" &&
		    "$MO" detect "$1.$h.mp4" 4 >"$1.$h.faces" || return 1
		awk -v hh="$2" -v fy="$3" '$2 != "-" {
			l = $2 - $4 / 2; r = $2 + $4 / 2; t = $3 - $5 / 2; b = $3 + $5 / 2
			if (l >= 0 && r <= 1080 && t >= 0 && b <= hh &&
			    ($2 - 540) ^ 2 + ($3 - fy) ^ 2 <= 3600) n++ }
			END { printf "%d %d ", n, NR }' "$1.$h.faces"
	done
	echo
}

# ---- split, 9:16 ----
split_json 1920 >"$TMP/store/jobs/$job/crop/split-916.json"
check "split 9:16 renders" render split two.mp4 split-916.json 9:16 true
check_eq "the result says split" "split" "$(jq -r .outputs[0].layout "$TMP/split.json")"
read -r vc w h ac ddur adiff sar < <(python3 "$CHECK" probe "$TMP/split.mp4" 1 9)
check_eq "split clip is H.264 1080x1920 + AAC" "h264 1080 1920 aac" "$vc $w $h $ac"
check "split: audio and video start together ($adiff s)" within "$adiff" 0 0.039
# The pane's window is 3x smaller than its half: the face centre, 0.45 of
# the window down, lands at row 0.45 * 960 = 432 of each half.
read -r tn tall bn ball < <(halves "$TMP/split.mp4" 960 432)
check "split: the top half shows a whole face where its pane puts it in >= 95% of $tall samples ($tn)" \
    test $((tn * 100)) -ge $((tall * 95)) -a "$tall" -ge 30
check "split: the bottom half shows a whole face where its pane puts it in >= 95% of $ball samples ($bn)" \
    test $((bn * 100)) -ge $((ball * 95)) -a "$ball" -ge 30
check "split 9:16 without captions renders" render split-nocap two.mp4 split-916.json 9:16 false
# Each half is its own pane's window, scaled: the top one the
# astronaut's, the bottom one Hopper's (a point of the path every 0.2 s).
for ct in 2.0 5.0; do
	read -r x1 x2 < <(python3 -c "import math; t = $ct + 1
print(int(295 + 30 * math.sin(t) - 180) & ~1, int(990 - 30 * math.sin(t) - 180) & ~1)")
	p1=$(python3 "$CHECK" pane "$TMP/split-nocap.mp4" "$TMP/two.mp4" "$ct" 1 0 960 "$x1" 114 360 320)
	p2=$(python3 "$CHECK" pane "$TMP/split-nocap.mp4" "$TMP/two.mp4" "$ct" 1 960 960 "$x2" 150 360 320)
	check "split t=$ct: the top half is the astronaut's window (PSNR $p1 dB)" \
	    python3 -c "import sys; sys.exit($p1 < 30)"
	check "split t=$ct: the bottom half is Hopper's window (PSNR $p2 dB)" \
	    python3 -c "import sys; sys.exit($p2 < 30)"
done

# Captions between the halves, clear of both faces: against the same clip
# rendered without them, at a spoken word.
read -r tw ts < <(python3 "$CHECK" times "$TMP/m/transcript.json" 1 9)
read -r ct cb cl cr < <(python3 "$CHECK" capbox "$TMP/split.mp4" "$TMP/split-nocap.mp4" "$tw")
halves "$TMP/split-nocap.mp4" 960 432 >/dev/null
read -r t1 b1 < <(python3 "$CHECK" face "$TMP/split-nocap.mp4.top.faces" "$tw")
read -r t2 b2 < <(python3 "$CHECK" face "$TMP/split-nocap.mp4.bottom.faces" "$tw")
check "split: captions burned (rows $ct..$cb)" test "$ct" -ge 0
check "split: captions around the middle, between the faces (top face rows $t1..$b1, bottom face rows $((t2 + 960))..$((b2 + 960)), captions $ct..$cb)" \
    test "$t1" -ge 0 -a "$t2" -ge 0 -a "$ct" -gt "$b1" -a "$cb" -lt $((t2 + 960)) -a "$ct" -lt 960 -a "$cb" -gt 860
check "split: captions inside the safe area (columns $cl..$cr)" test "$cr" -le 950 -a "$cb" -le 1632

# ---- fit, 9:16 ----
echo '{"version": 2, "layout": "fit", "reason": "a wide film", "panes": []}' \
    >"$TMP/store/jobs/$job/crop/fit.json"
check "fit 9:16 renders" render fit wide.mp4 fit.json 9:16 true
check_eq "the result says fit" "fit" "$(jq -r .outputs[0].layout "$TMP/fit.json")"
read -r vc w h ac ddur adiff sar < <(python3 "$CHECK" probe "$TMP/fit.mp4" 1 9)
check_eq "fit clip is H.264 1080x1920 + AAC" "h264 1080 1920 aac" "$vc $w $h $ac"
check "fit: the clip lasts its 8 s within one frame (off by $ddur s)" within "$ddur" 0 0.04
check "fit 9:16 without captions renders" render fit-nocap wide.mp4 fit.json 9:16 false
# 640x272 at 1080 wide: 459 rows, 460 even, from row 730.
for t in 1.02 4.02 6.52; do
	read -r psnr bm sm bg sg < <(python3 "$CHECK" fit "$TMP/fit-nocap.mp4" \
	    "$TMP/store/jobs/$job/wide.mp4" "$t" 1 730 460)
	check "fit t=$t: the picture is the source scaled (PSNR $psnr dB against ffmpeg's)" \
	    python3 -c "import sys; sys.exit($psnr < 30)"
	check "fit t=$t: the bands are darker than the source they come from (mean $bm, source $sm)" \
	    python3 -c "import sys; sys.exit(not $bm < 0.75 * $sm)"
	check "fit t=$t: the bands are blurred (mean gradient $bg, source $sg)" \
	    python3 -c "import sys; sys.exit(not $bg < 0.25 * $sg)"
done
read -r ct cb cl cr < <(python3 "$CHECK" capbox "$TMP/fit.mp4" "$TMP/fit-nocap.mp4" "$tw")
check "fit: captions in the band below the picture (rows $ct..$cb, picture 730..1190)" \
    test "$ct" -ge 1190 -a "$cb" -le 1632 -a "$cr" -le 950

# ---- every aspect: sizes and, for split, a face in each half ----
for a in 1:1 4:5; do
	[ "$a" = 1:1 ] && oh=1080 || oh=1350
	half=$(( (oh / 2) & ~1 ))
	split_json "$oh" >"$TMP/store/jobs/$job/crop/split-$oh.json"
	check "split $a renders" render "split-$oh" two.mp4 "split-$oh.json" "$a" false
	check_eq "split $a: 1080x$oh" "1080 $oh" "$(mo_probe "$TMP/split-$oh.mp4" v:0 width) $(mo_probe "$TMP/split-$oh.mp4" v:0 height)"
	read -r tn tall bn ball < <(halves "$TMP/split-$oh.mp4" "$half" $((half * 45 / 100)))
	check "split $a: a whole face in each half ($tn/$tall top, $bn/$ball bottom)" \
	    test $((tn * 100)) -ge $((tall * 95)) -a $((bn * 100)) -ge $((ball * 95)) -a "$tall" -ge 30
	check "fit $a renders" render "fit-$oh" wide.mp4 fit.json "$a" false
	check_eq "fit $a: 1080x$oh" "1080 $oh" "$(mo_probe "$TMP/fit-$oh.mp4" v:0 width) $(mo_probe "$TMP/fit-$oh.mp4" v:0 height)"
done

# A framing planned on another size of picture: centre-cropped, and said.
check "a split planned on another source renders" render other wide.mp4 split-916.json 9:16 false
check_eq "...as a centred track" "track" "$(jq -r .outputs[0].layout "$TMP/other.json")"
check "...and the user is told" grep -q "planned on a picture of another size" "$MEDIAOUT_EVENTS"
# To look at them: KEEP_CLIPS=DIR keeps the clips there.
[ -z "${KEEP_CLIPS:-}" ] || cp "$TMP"/*.mp4 "$KEEP_CLIPS"/
done_testing
