#!/usr/bin/env bash
# The fetch stage's probe on uploads a user might really send, each built
# here with ffmpeg: a still picture saved as a one-frame MP4 (refused when
# shorter than the shortest clip asked for, not made into a 0.04 s clip);
# MP4s that were cut short, whose index (moov) is missing, cut in its
# middle, or whole but naming media past the end of the file (each
# reported as incomplete or damaged, not as "not a video file").  Nothing
# of a refused upload becomes a source.
. "$(dirname "$0")/lib.sh"
newdb || exit 1
. "$(dirname "$0")/mediain_lib.sh"
W=$TMP/media
mkdir -p "$W"

ffmpeg -v error -loop 1 -i "$M/astronaut.png" -frames:v 1 -c:v libx264 \
    -pix_fmt yuv420p "$W/one_frame.mp4" || exit 1
# 10 s of video and audio; the muxer writes the index (moov) last
ffmpeg -v error -i "$M/tears_of_steel_clip01_640x360.mp4" -i "$M/jfk.wav" \
    -map 0:v -map 1:a -c:v copy -c:a aac -b:a 64k -shortest "$W/clip.mp4" || exit 1
# the same with the index first ("faststart")
ffmpeg -v error -i "$W/clip.mp4" -c copy -movflags +faststart "$W/fast.mp4" || exit 1
# moov START SIZE of an MP4's index box
moov() {
	python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
i = 0
while i + 8 <= len(d):
    size, kind = struct.unpack(">I4s", d[i:i + 8])
    if kind == b"moov":
        print(i, size)
        break
    i += size
EOF
}
read -r ms msz < <(moov "$W/clip.mp4")
read -r fs fsz < <(moov "$W/fast.mp4")
size=$(stat -c %s "$W/clip.mp4")
check "the plain MP4 keeps its index last" test "$ms" -gt $((size / 2))
check "the faststart MP4 keeps its index first" test "$fs" -lt 100
head -c $((size / 2)) "$W/clip.mp4" >"$W/half.mp4"		# an upload cut in half
head -c "$ms" "$W/clip.mp4" >"$W/no_moov.mp4"			# everything but the index
head -c $((fs + 8)) "$W/fast.mp4" >"$W/moov_header.mp4"	# the index's header only
head -c $((fs + fsz / 2)) "$W/fast.mp4" >"$W/moov_cut.mp4"	# the index cut in its middle
head -c $((size / 2)) "$W/fast.mp4" >"$W/fast_half.mp4"	# whole index, half the media

n=0
# upload FILE OPTIONS_JSON: run fetch on FILE as a new job's upload
upload() {
	n=$((n + 1)); ID=$((100 + n))
	local s="$TMP/scratch/$ID"
	mkdir -p "$s" "$TMP/store/jobs/$ID"
	cp "$1" "$TMP/store/jobs/$ID/upload.mp4"
	mediain run fetch "$(jq -cn --argjson id $ID --argjson o "$2" \
	    '{id:$id,source_kind:"upload",source_key:"jobs/\($id)/upload.mp4",options:$o}')" \
	    "$s" >"$TMP/out.json" 2>"$TMP/err.log"
}
# refused NAME MESSAGE: the last upload failed for good with MESSAGE
# (a fixed string), and no source was stored
refused() {
	local rc err
	rc=$(field .rc); err=$(field .err)
	if [ "$rc" = permanent ] && grep -qF "$2" <<<"$err" &&
	    ! ls "$TMP/store/jobs/$ID"/source.* >/dev/null 2>&1; then
		ok "$1"
		echo "# $err"
	else
		not_ok "$1 (rc=$rc, err=$err)"
	fi
}
cut="The file looks like an MP4 whose index is missing: it is incomplete or damaged (was the upload or download cut short?)"

upload "$W/one_frame.mp4" '{"min_len":15,"max_len":30}'
refused "a one-frame video is refused" "The video lasts only 0.04 s, less than the shortest clip asked for (15 s), so no clip can be cut from it (it looks like a single picture saved as a video)."
upload "$W/clip.mp4" '{"min_len":15,"max_len":30}'
refused "a 10 s video is refused for 15 s clips" "The video lasts only 10."
upload "$W/clip.mp4" '{"min_len":8,"max_len":30}'
check_eq "a 10 s video is accepted for 8 s clips" "ok jobs/$ID/source.mp4" "$(field '"\(.rc) \(.result.source_key)"')"
upload "$W/fast.mp4" '{"min_len":8,"max_len":30}'
check_eq "a whole faststart MP4 is accepted" "ok" "$(field .rc)"

upload "$W/half.mp4" '{"min_len":8,"max_len":30}'
refused "an MP4 cut in half (index lost): incomplete, not 'not a video'" "$cut"
upload "$W/no_moov.mp4" '{"min_len":8,"max_len":30}'
refused "an MP4 without its index: incomplete" "$cut"
upload "$W/moov_header.mp4" '{"min_len":8,"max_len":30}'
refused "an MP4 whose index stops at its header: incomplete" "$cut"
upload "$W/moov_cut.mp4" '{"min_len":8,"max_len":30}'
refused "an MP4 whose index is cut in its middle: incomplete or damaged" "it is incomplete or damaged (was the upload or download cut short?)"
upload "$W/fast_half.mp4" '{"min_len":8,"max_len":30}'
refused "a faststart MP4 cut in half: its index names missing media" "The file looks like an MP4 that ends early (its index names media the file does not hold): it is incomplete or damaged"
done_testing
