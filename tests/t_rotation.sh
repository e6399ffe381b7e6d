#!/usr/bin/env bash
# Sources with rotation metadata (a phone held upright records landscape
# pictures and a display matrix): the frame and render stages see them as
# a player shows them.  Each quarter turn decodes to the picture ffmpeg's
# own autorotate shows; a portrait phone video is analysed upright, its
# face found and followed, and its clips come out 1080x1920 and 1080x1080
# with no rotation left in the file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
conf_set x264_preset ultrafast

# turned UPRIGHT.mp4 R OUT.mp4: OUT stores UPRIGHT's pictures turned back
# by R degrees, with the metadata that tells players to turn them R
# degrees clockwise.  Debian's ffmpeg 5.1 writes a "rotate" tag of N as a
# display matrix of N degrees counter-clockwise, so R is tagged 360 - R;
# the probe checks below say what was really written.
turned() {
	local vf
	case $2 in
	90) vf=transpose=cclock ;;
	180) vf=hflip,vflip ;;
	270) vf=transpose=clock ;;
	esac
	nice -n 10 ffmpeg -v error -y -i "$1" -vf "$vf" -c:v libx264 -preset ultrafast \
	    -g 50 -c:a copy "$TMP/coded.mp4" &&
	ffmpeg -v error -y -i "$TMP/coded.mp4" -c copy \
	    -metadata:s:v:0 rotate=$(( (360 - $2) % 360 )) "$3"
}
# mad A B: mean absolute difference of two grey images of the same size
mad() {
	python3 -c "
import sys
a, b = open('$1', 'rb').read(), open('$2', 'rb').read()
if len(a) != len(b) or not a: print(999); sys.exit()
print('%.2f' % (sum(abs(x - y) for x, y in zip(a, b)) / len(a)))"
}
# ffgray VIDEO: the picture at 2 s as ffmpeg (autorotating) shows it, 64x36
ffgray() {
	ffmpeg -v error -ss 2 -i "$1" -frames:v 1 -vf scale=64:36:flags=area \
	    -pix_fmt gray -f rawvideo -
}

# --- every quarter turn decodes upright ---
mkdir -p "$TMP/q"
nice -n 10 ffmpeg -v error -y -f lavfi -i "color=c=0x203040:s=1280x720:r=25:d=3" \
    -loop 1 -i "$CLIPMILL_TESTDATA/astronaut.png" \
    -filter_complex "[1]scale=480:480[f];[0][f]overlay=x='40+18*t':y=120:shortest=1,format=yuv420p[v]" \
    -map "[v]" -c:v libx264 -preset ultrafast -g 50 -t 3 "$TMP/q/up.mp4" ||
    { not_ok "upright test video built"; exit 1; }
ffgray "$TMP/q/up.mp4" >"$TMP/q/up.gray"
for r in 90 180 270; do
	turned "$TMP/q/up.mp4" $r "$TMP/q/r$r.mp4" || { not_ok "video turned $r built"; continue; }
	check_eq "turn $r: probe reads the rotation and the displayed size" "$r 1280x720" \
	    "$("$MO" probe "$TMP/q/r$r.mp4" | jq -r '"\(.rotation) \(.display_width)x\(.display_height)"')"
	ffgray "$TMP/q/r$r.mp4" >"$TMP/q/r$r.ff"
	d=$(mad "$TMP/q/r$r.ff" "$TMP/q/up.gray")
	check "turn $r: ffmpeg's autorotate shows it upright (MAD $d)" within "$d" 0 3
	"$MO" gray "$TMP/q/r$r.mp4" 2 64 36 >"$TMP/q/r$r.ours"
	d=$(mad "$TMP/q/r$r.ours" "$TMP/q/r$r.ff")
	check "turn $r: decoded upright, as ffmpeg shows it (MAD $d)" within "$d" 0 3
done

# 4:2:2 chroma cannot be turned a quarter as it is: converted, then turned.
nice -n 10 ffmpeg -v error -y -i "$TMP/q/up.mp4" -vf transpose=cclock,format=yuv422p \
    -c:v libx264 -preset ultrafast -g 50 "$TMP/coded.mp4" &&
    ffmpeg -v error -y -i "$TMP/coded.mp4" -c copy -metadata:s:v:0 rotate=270 "$TMP/q/r422.mp4"
check_eq "4:2:2 turned 90: coded as yuv422p" "yuv422p" \
    "$(ffprobe -v error -select_streams v -show_entries stream=pix_fmt -of default=nw=1:nk=1 "$TMP/q/r422.mp4")"
"$MO" gray "$TMP/q/r422.mp4" 2 64 36 >"$TMP/q/r422.ours"
d=$(mad "$TMP/q/r422.ours" "$TMP/q/up.gray")
check "4:2:2 turned 90: decoded upright (MAD $d)" within "$d" 0 3

# --- a portrait phone video: 1280x720 pictures turned 90 degrees ---
mo_media "$TMP/m" 2 portrait || { not_ok "portrait test video built"; exit 1; }
turned "$TMP/m/talk.mp4" 90 "$TMP/m/phone.mp4" || { not_ok "phone video built"; exit 1; }
mv "$TMP/m/phone.mp4" "$TMP/m/talk.mp4"
check_eq "phone video: coded 1280x720, rotation 90, shown 720x1280" "1280x720 90 720x1280" \
    "$("$MO" probe "$TMP/m/talk.mp4" | jq -r '"\(.width)x\(.height) \(.rotation) \(.display_width)x\(.display_height)"')"
job=$(mo_job "$TMP/m" '{"clips":1,"min_len":8,"max_len":12,"aspects":["9:16","1:1"]}')
t=$(mo_add_task "$job" select)
check "select stage runs" mo_stage "$t"
t=$(sql "SELECT id FROM tasks WHERE job_id = $job AND stage = 'frame'")
check "frame stage runs" mo_stage "$t"
check_eq "crop paths planned on the displayed 720x1280 picture" "720x1280 720x1280" \
    "$(for f in "$TMP/store/jobs/$job/crop/"*.json; do jq -r '.panes[0] | "\(.src_w)x\(.src_h)"' "$f"; done | xargs)"
check "crop paths stay inside the displayed frame" \
    python3 "$CLIPMILL_TOP/tests/mediaout_check.py" crops "$TMP/store/jobs/$job/crop/"*.json
check_eq "the face is found upright and kept in the crop (>= 95%) for both aspects" "2" \
    "$(sql "SELECT count(*) FROM clips WHERE job_id = $job AND (quality->>'face_in_crop')::float >= 0.95")"
check_eq "no centre-crop fallback" "0" "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'fallback'")"
for t in $(sql "SELECT id FROM tasks WHERE job_id = $job AND stage = 'render' ORDER BY id"); do
	check "render task $t runs" mo_stage "$t"
done
while IFS='|' read -r id aspect s e; do
	f="$TMP/store/jobs/$job/render/$id.mp4"
	case $aspect in 9:16) size="1080 1920" ;; *) size="1080 1080" ;; esac
	read -r vc w h ac ddur adiff sar < <(python3 "$CLIPMILL_TOP/tests/mediaout_check.py" probe "$f" "$s" "$e")
	check_eq "$aspect clip is H.264 $size + AAC" "h264 $size aac" "$vc $w $h $ac"
	check "$aspect clip lasts its clip within one frame (off by $ddur s)" within "$ddur" 0 0.04
	check_eq "$aspect clip carries no rotation (no display matrix, no rotate tag)" "[] null" \
	    "$(ffprobe -v error -select_streams v:0 -show_entries stream_side_data:stream_tags \
	    -of json "$f" | jq -r '.streams[0] | "\([.side_data_list // [] | .[].side_data_type]) \(.tags.rotate)"')"
	read -r nf n < <(mo_faces "$f")
	check "$aspect clip: face upright in frame in >= 95% of $n sampled output frames ($nf)" \
	    test $((nf * 100)) -ge $((n * 95))
done < <(sql "SELECT id, aspect, start_s, end_s FROM clips WHERE job_id = $job ORDER BY aspect DESC")
done_testing
