# The composite videos of the face and framing tests (tests/t_faces.sh)
# and of contrib/bench/framing, built from the test media with ffmpeg, and
# the referee that measures a stored framing against the detector's boxes.
# Needs CLIPMILL_TOP and CLIPMILL_TESTDATA (lib.sh sets both).
FACE_DUR=6	# seconds of the still-picture videos
FACE_SDUR=10	# seconds of the talking ones (the talk's first 10 s)
FACE_VIDEOS="roll pair small turned noface wide speaker turns onetalks"

# face_dur NAME: the video's length in seconds.
face_dur() {
	case $1 in speaker|turns|onetalks) echo $FACE_SDUR ;; *) echo $FACE_DUR ;; esac
}

# _fv OUT DUR SIZE INPUTS FILTER: OUT, DUR s of SIZE at 25 fps; the
# backdrop is input 0, the pictures are inputs 1.., FILTER ends in [v];
# with $_fv_talk set, the talk's sound too.
_fv() {
	local out=$1 dur=$2 size=$3 inputs=$4 filter=$5 n
	n=$(($(grep -o -- '-i ' <<<"$inputs" | wc -l) + 1))
	# shellcheck disable=SC2086
	nice -n 10 ffmpeg -v error -y -f lavfi -i "color=c=0x203040:s=$size:r=25:d=$dur" \
	    $inputs ${_fv_talk:+-i "$_fv_talk"} -filter_complex "$filter" -map "[v]" \
	    ${_fv_talk:+-map $n:a -c:a aac} -c:v libx264 -preset ultrafast -g 50 \
	    -t "$dur" "$out"
}

# _mouth LABEL WHEN: a filter chain on the astronaut's 512 px portrait (an
# RGBA input) that opens her mouth while WHEN (an expression of t) is 1:
# the lower face slides down by up to 30 px over a dark mouth, at 1.3 and
# 2.1 Hz; ends in [LABEL].
_mouth() {
	echo "format=rgba,split[$1a][$1b];[$1a]drawbox=x=203:y=146:w=44:h=34:color=0x401818:t=fill[$1m];[$1b]crop=512:366:0:146[$1c];[$1m][$1c]overlay=x=0:y='146+30*($2)*(0.5*abs(sin(2*PI*1.3*t))+0.5*abs(sin(2*PI*2.1*t)))'[$1]"
}

# face_video NAME DIR: DIR/NAME.mp4, 1280x720 unless said.
#   roll      a face rolled 30 degrees, drifting right
#   pair      two people side by side, heads tilted towards each other
#   small     the portrait 160 px high, its face about 30 px, moving
#   turned    the portrait in perspective (a head turned about 45 degrees;
#             testdata has no profile picture)
#   noface    a moving test pattern with a box over it
#   wide      480x204 (2.35:1), one face: a 9:16 crop would be 114x204
#   speaker   a large still face, and a small one (about 60 px) that talks
#   turns     two side by side who talk in turn (0-5 s, then 5-10 s)
#   onetalks  two side by side, only the right (smaller) one talks
# The talking ones carry the LibriVox talk (speech 0-7.1 s, 8.3-11.3 s);
# DIR/talk/ gets its loudness.json and transcript.json.
face_video() {
	local name=$1 dir=$2 d A G _fv_talk=
	A=$CLIPMILL_TESTDATA/astronaut.png
	G=$CLIPMILL_TESTDATA/grace_hopper_h96919k.jpg
	d=$(face_dur "$name")
	case $name in speaker|turns|onetalks)
		if [ ! -f "$dir/talk/talk.wav" ]; then
			mkdir -p "$dir/talk"
			python3 "$CLIPMILL_TOP/tests/mediaout_fixture.py" \
			    "$CLIPMILL_TESTDATA" "$dir/talk" 1 >/dev/null || return 1
		fi
		_fv_talk=$dir/talk/talk.wav ;;
	esac
	case $name in
	roll) _fv "$dir/$name.mp4" "$d" 1280x720 "-loop 1 -i $A" \
	    "[1]scale=420:420,rotate=30*PI/180:c=none:ow=520:oh=520,format=yuva420p[f];[0][f]overlay=x='200+20*t':y=100:shortest=1,format=yuv420p[v]" ;;
	pair) _fv "$dir/$name.mp4" "$d" 1280x720 "-loop 1 -i $A -loop 1 -i $G" \
	    "[1]scale=520:520,rotate=-20*PI/180:c=none:ow=600:oh=600,format=yuva420p[a];[2]scale=420:545,rotate=20*PI/180:c=none:ow=560:oh=620,format=yuva420p[b];[0][a]overlay=20:80:shortest=1[t];[t][b]overlay=700:60:shortest=1,format=yuv420p[v]" ;;
	small) _fv "$dir/$name.mp4" "$d" 1280x720 "-loop 1 -i $A" \
	    "[1]scale=160:160,format=yuva420p[f];[0][f]overlay=x='300+40*t':y=420:shortest=1,format=yuv420p[v]" ;;
	turned) _fv "$dir/$name.mp4" "$d" 1280x720 "-loop 1 -i $A" \
	    "[1]scale=480:480,perspective=x0=0:y0=0:x1=W*0.55:y1=H*0.12:x2=0:y2=H:x3=W*0.55:y3=H*0.88:sense=destination,format=yuva420p[f];[0][f]overlay=x='300+20*t':y=120:shortest=1,format=yuv420p[v]" ;;
	noface) nice -n 10 ffmpeg -v error -y -f lavfi -i "testsrc2=s=1280x720:r=25:d=$d" \
	    -vf "drawbox=x='100+40*t':y=200:w=300:h=300:color=orange:t=fill" \
	    -c:v libx264 -preset ultrafast -g 50 "$dir/$name.mp4" ;;
	wide) _fv "$dir/$name.mp4" "$d" 480x204 "-loop 1 -i $A" \
	    "[1]scale=180:180,format=yuva420p[f];[0][f]overlay=x='150+5*t':y=12:shortest=1,format=yuv420p[v]" ;;
	speaker) _fv "$dir/$name.mp4" "$d" 1280x720 "-loop 1 -i $G -loop 1 -i $A" \
	    "[1]scale=540:700,format=yuva420p[big];[2]$(_mouth sp 1);[sp]scale=300:300,format=yuva420p[small];[0][big]overlay=40:10:shortest=1[t];[t][small]overlay=900:300:shortest=1,format=yuv420p[v]" ;;
	turns) _fv "$dir/$name.mp4" "$d" 1280x720 "-loop 1 -i $A -loop 1 -i $A" \
	    "[1]$(_mouth l 'lt(t,5)');[l]scale=400:400,format=yuva420p[ls];[2]$(_mouth r 'gte(t,5)');[r]scale=400:400,format=yuva420p[rs];[0][ls]overlay=100:160:shortest=1[t];[t][rs]overlay=780:160:shortest=1,format=yuv420p[v]" ;;
	onetalks) _fv "$dir/$name.mp4" "$d" 1280x720 "-loop 1 -i $A -loop 1 -i $A" \
	    "[1]scale=460:460,format=yuva420p[ls];[2]$(_mouth r 1);[r]scale=400:400,format=yuva420p[rs];[0][ls]overlay=60:130:shortest=1[t];[t][rs]overlay=780:160:shortest=1,format=yuv420p[v]" ;;
	*) echo "face_video: no video $name" >&2; return 1 ;;
	esac
}

# face_subject NAME: the face the clip should show ("smallest", "largest",
# "left", "right"), or "-" when there is none.
face_subject() {
	case $1 in speaker) echo smallest ;; onetalks) echo right ;;
	noface) echo - ;; *) echo largest ;; esac
}

# face_held CROP.json KP PANE WHICH: the percentage of the detector's
# samples ("t x y w h ..." per face, as `mediaout detect ... kp` prints
# them) in which face WHICH (smallest, largest, left or right) lies wholly
# inside pane PANE's window of the stored framing (a version 1 path is
# one pane; a fit shows the whole picture).
face_held() {
	python3 - "$@" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
which = sys.argv[4]
fit = c.get("layout") == "fit"
if not fit:
    c = c["panes"][int(sys.argv[3])] if "panes" in c else c
faces = {}
for line in open(sys.argv[2]):
    f = line.split()
    if f[1] != "-":
        faces.setdefault(float(f[0]), []).append([int(v) for v in f[1:5]])
key = {"smallest": lambda b: b[2], "largest": lambda b: -b[2],
       "left": lambda b: b[0], "right": lambda b: -b[0]}[which]
ok = 0
for t, bs in faces.items():
    x, y, w, h = min(bs, key=key)
    if fit:
        ok += 1
        continue
    pts = c["points"]
    p = max((p for p in pts if p[0] <= t + 1e-6), key=lambda p: p[0], default=pts[0])
    if p[1] <= x - w / 2 and x + w / 2 <= p[1] + c["crop_w"] and \
       p[2] <= y - h / 2 and y + h / 2 <= p[2] + c["crop_h"]:
        ok += 1
print(ok * 100 // max(len(faces), 1))
PY
}
