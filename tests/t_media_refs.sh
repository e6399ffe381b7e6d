#!/usr/bin/env bash
# Uploads that name other files: an HLS playlist, an ffconcat list and a
# DASH manifest, each uploaded as "x.mp4" with `clipmill submit --file`
# and each pointing by absolute path at another user's source in the
# store.  Each is refused at fetch with a sentence saying what it is, the
# job fails at once (no retry), and nothing of the other user's video
# reaches any output: no clip rows, no stored source, render or clip.
. "$(dirname "$0")/lib.sh"
newdb || exit 1
M=$CLIPMILL_TESTDATA
conf_set retry_base 0.2
conf_set clip_min 3
conf_set clip_max 6

clipmill user add bob >/dev/null
clipmill user add alice >/dev/null

# bob's private video, fetched into the store as the first job.
ffmpeg -v error -i "$M/tears_of_steel_clip01_640x360.mp4" -i "$M/jfk.wav" \
    -map 0:v -map 1:a -c:v copy -c:a aac -b:a 64k -shortest "$TMP/private.mp4" || exit 1
first=$(clipmill submit --user bob --clips 1 --file "$TMP/private.mp4")
clipmill-batch --stage fetch --idle-exit 2 2>"$TMP/runner0.log"
secret="$TMP/store/$(sql "SELECT source_key FROM jobs WHERE id = $first")"
check "bob's source is in the store" cmp -s "$TMP/private.mp4" "$secret"
# The rest of bob's job is not this test's business.
clipmill cancel "$first" >/dev/null

# alice's hostile files, all named .mp4, all pointing at bob's source.
mkdir -p "$TMP/up"
cat >"$TMP/up/hls.mp4" <<EOF
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:10
#EXT-X-MEDIA-SEQUENCE:0
#EXTINF:10.0,
$secret
#EXT-X-ENDLIST
EOF
cat >"$TMP/up/concat.mp4" <<EOF
ffconcat version 1.0
file $secret
EOF
cat >"$TMP/up/dash.mp4" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static" mediaPresentationDuration="PT10S" minBufferTime="PT1S">
 <Period>
  <AdaptationSet mimeType="video/mp4">
   <Representation id="v" bandwidth="500000" width="640" height="360" codecs="avc1.64001e">
    <BaseURL>file://$secret</BaseURL>
   </Representation>
  </AdaptationSet>
 </Period>
</MPD>
EOF
# Each really names bob's file to libavformat when nothing stops it
# (ffprobe opens the HLS and DASH ones; concat's own safe mode refuses
# absolute paths, which the refusal below must not depend on).
check "the HLS playlist reaches bob's video through plain ffprobe" \
    test "$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$TMP/up/hls.mp4" | head -1)" = 640
check "the DASH manifest reaches bob's video through plain ffprobe" \
    test "$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$TMP/up/dash.mp4" | head -1)" = 640

declare -A jobs
for k in hls concat dash; do
	jobs[$k]=$(clipmill submit --user alice --clips 2 --file "$TMP/up/$k.mp4")
done

stages=fetch,transcribe,select,frame,render,publish
clipmill-batch --stage "$stages" --idle-exit 3 2>"$TMP/runner1.log"

for k in hls concat dash; do
	id=${jobs[$k]}
	check_eq "$k: the job failed" "failed" "$(sql "SELECT state FROM jobs WHERE id = $id")"
	err=$(sql "SELECT error FROM jobs WHERE id = $id")
	check "$k: the user is told it is a playlist or reference file ($err)" \
	    grep -qF "The file is a playlist or reference file ($k), not a video; only plain video files are accepted." <<<"$err"
	check_eq "$k: refused at fetch, once, permanently" "fetch failed 1" \
	    "$(sql "SELECT string_agg(stage || ' ' || state || ' ' || attempts, ',') FROM tasks WHERE job_id = $id")"
	check_eq "$k: no clip rows" "0" "$(sql "SELECT count(*) FROM clips WHERE job_id = $id")"
	check_eq "$k: no probe recorded" "" "$(sql "SELECT probe FROM jobs WHERE id = $id")"
	check_eq "$k: nothing stored but the upload itself" "" \
	    "$(find "$TMP/store/jobs/$id" -type f ! -name 'upload*' 2>/dev/null)"
	check "$k: the upload is alice's bytes, unchanged" \
	    cmp -s "$TMP/up/$k.mp4" "$(find "$TMP/store/jobs/$id" -type f -name 'upload*' | head -1)"
	check "$k: no clips published" test ! -e "$TMP/store/clips/$id"
done
check_eq "no task ran but the fetches" "0" \
    "$(sql "SELECT count(*) FROM tasks WHERE stage <> 'fetch' AND state NOT IN ('pending', 'cancelled')")"
check "bob's source is untouched" cmp -s "$TMP/private.mp4" "$secret"
done_testing
