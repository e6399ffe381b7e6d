#!/usr/bin/env bash
# Every face found (issue 12): composite 1280x720 videos built from the
# test media, each run through the frame stage (mediaout run frame) and its
# detector (mediaout detect), asserting what a user would see in the clip:
# a face rolled 30 degrees, two tilted faces side by side, a face about 30
# px tall, a face turned away from the camera, and no face at all.
# testdata has no profile picture: the turned face is the astronaut's
# portrait in perspective (one side pushed back, as a head turned about 45
# degrees), and the head-pose video's own turns.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
T=$CLIPMILL_TESTDATA
A=$T/astronaut.png
G=$T/grace_hopper_h96919k.jpg
DUR=6

# video NAME INPUTS FILTER: $TMP/NAME.mp4, DUR s of 1280x720 at 25 fps; the
# backdrop is input 0, the pictures are inputs 1.., FILTER ends in [v].
video() {
	local name=$1 inputs=$2 filter=$3
	# shellcheck disable=SC2086
	nice -n 10 ffmpeg -v error -y -f lavfi -i "color=c=0x203040:s=1280x720:r=25:d=$DUR" \
	    $inputs -filter_complex "$filter" -map "[v]" -c:v libx264 -preset ultrafast \
	    -g 50 -t $DUR "$TMP/$name.mp4"
}

# frame NAME: run the frame stage on the whole video for a 9:16 clip; the
# crop path is left in $TMP/NAME.crop.json, the quality printed as JSON.
frame() {
	local d=$TMP/$1 job=$RANDOM
	mkdir -p "$TMP/store/jobs/$job"
	cp "$TMP/$1.mp4" "$TMP/store/jobs/$job/source.mp4"
	cat >"$d.task.json" <<JSON
{"id":1,"job_id":$job,"clip_id":0,"job":{"id":$job,"source_key":"jobs/$job/source.mp4","options":{}},
 "payload":{"clips":[{"id":$job,"rank":1,"start":0,"end":$((DUR - 1)).8,"aspect":"9:16"}]}}
JSON
	"$MO" run frame "$d.task.json" >"$d.result.json" 2>"$d.log" || { cat "$d.log" >&2; return 1; }
	cp "$TMP/store/jobs/$job/crop/$job.json" "$d.crop.json"
	jq -c '.clips[0].quality' "$d.result.json"
}

# pct EXPR QUALITY: the quality's EXPR (jq), a share, as a whole percentage.
pct() { jq -r "($1) * 100 | floor" <<<"$2"; }

# inside NAME [tiled]: the percentage of samples (4 a second) whose largest
# face box lies wholly inside the clip's crop window at that time, and
# how many samples found a face, as "PCT FOUND SAMPLED".
inside() {
	"$MO" detect "$TMP/$1.mp4" 4 ${2:-} >"$TMP/$1.faces" || return 1
	python3 - "$TMP/$1.crop.json" "$TMP/$1.faces" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
pts = c["points"]
found = ok = n = 0
for line in open(sys.argv[2]):
    t, x, y, w, h, k = line.split()
    n += 1
    if x == "-":
        continue
    found += 1
    t, x, y, w, h = float(t), int(x), int(y), int(w), int(h)
    p = max((p for p in pts if p[0] <= t + 1e-6), key=lambda p: p[0], default=pts[0])
    if p[1] <= x - w / 2 and x + w / 2 <= p[1] + c["crop_w"] and \
       p[2] <= y - h / 2 and y + h / 2 <= p[2] + c["crop_h"]:
        ok += 1
print(ok * 100 // max(found, 1), found, n)
PY
}

# followed NAME LABEL PCT [tiled]: the frame stage finds a face in at least
# PCT% of its samples of NAME, and its crop holds the face box whole.
followed() {
	local q in found n
	q=$(frame "$1") || { not_ok "$2: frame stage runs"; return; }
	echo "# $2: $q"
	check "$2: a face in >= $3% of the frame stage's samples" \
	    test "$(pct '.face_samples / .samples' "$q")" -ge "$3"
	read -r in found n < <(inside "$1" ${4:+"$4"})
	check "$2: the face box inside the crop in >= 95% of $found samples ($in%)" \
	    test "$in" -ge 95
	check "$2: the detector sees a face in >= $3% of $n samples ($found)" \
	    test $((found * 100)) -ge $((n * $3))
}

# --- a face rolled 30 degrees, drifting right ---
video roll "-loop 1 -i $A" \
    "[1]scale=420:420,rotate=30*PI/180:c=none:ow=520:oh=520,format=yuva420p[f];[0][f]overlay=x='200+20*t':y=100:shortest=1,format=yuv420p[v]"
followed roll "rolled 30 degrees" 90

# --- two people side by side, heads tilted towards each other ---
video pair "-loop 1 -i $A -loop 1 -i $G" \
    "[1]scale=520:520,rotate=-20*PI/180:c=none:ow=600:oh=600,format=yuva420p[a];[2]scale=420:545,rotate=20*PI/180:c=none:ow=560:oh=620,format=yuva420p[b];[0][a]overlay=20:80:shortest=1[t];[t][b]overlay=700:60:shortest=1,format=yuv420p[v]"
# The subject (the larger face, hers) is followed and framed whole ...
followed pair "two tilted faces" 90
# ... and the detector sees both faces, and no third.
n=$(wc -l <"$TMP/pair.faces")
both=$(awk '$6 >= 2' "$TMP/pair.faces" | wc -l)
check "two tilted faces: both found in >= 90% of $n samples ($both)" \
    test $((both * 100)) -ge $((n * 90))
check_eq "two tilted faces: no third face" 0 "$(awk '$6 > 2' "$TMP/pair.faces" | wc -l)"

# --- a small face: the portrait 160 px high, its face about 30 px ---
video small "-loop 1 -i $A" \
    "[1]scale=160:160,format=yuva420p[f];[0][f]overlay=x='300+40*t':y=420:shortest=1,format=yuv420p[v]"
"$MO" detect "$TMP/small.mp4" 4 tiled >"$TMP/small.faces"
h=$(awk '$6 > 0 { s += $5; n++ } END { print n ? int(s / n) : 0 }' "$TMP/small.faces")
check "small face: under 40 px tall in 720p (${h} px)" test "$h" -gt 0 -a "$h" -lt 40
followed small "small face" 90 tiled

# --- a face turned away: the portrait in perspective ---
video turned "-loop 1 -i $A" \
    "[1]scale=480:480,perspective=x0=0:y0=0:x1=W*0.55:y1=H*0.12:x2=0:y2=H:x3=W*0.55:y3=H*0.88:sense=destination,format=yuva420p[f];[0][f]overlay=x='300+20*t':y=120:shortest=1,format=yuv420p[v]"
followed turned "turned face" 80
# The head-pose video (480x270): a real head turning left and right.
cp "$T/intel_head-pose-face-detection-male.mp4" "$TMP/headpose.mp4"
"$MO" detect "$TMP/headpose.mp4" 4 >"$TMP/headpose.faces"
n=$(wc -l <"$TMP/headpose.faces")
found=$(awk '$6 > 0' "$TMP/headpose.faces" | wc -l)
check "head turning: a face in >= 90% of $n samples ($found)" \
    test $((found * 100)) -ge $((n * 90))

# --- no face: a moving test pattern with a box over it ---
nice -n 10 ffmpeg -v error -y -f lavfi -i "testsrc2=s=1280x720:r=25:d=$DUR" \
    -vf "drawbox=x='100+40*t':y=200:w=300:h=300:color=orange:t=fill" \
    -c:v libx264 -preset ultrafast -g 50 "$TMP/noface.mp4"
q=$(frame noface) || not_ok "no face: frame stage runs"
echo "# no face: $q"
check "no face: none found, centre crop" jq -e \
    '.face_samples == 0 and .centre_crop == true and .face_in_crop == null' <<<"$q"
"$MO" detect "$TMP/noface.mp4" 4 tiled >"$TMP/noface.faces"
check_eq "no face: the detector finds none, even in squares" 0 \
    "$(awk '$6 > 0' "$TMP/noface.faces" | wc -l)"
done_testing
