#!/usr/bin/env bash
# Subtitles and the transcript, as a user fetches them behind nginx: a
# ready clip's SubRip and WebVTT files (their types, a download's file
# name, cues in clip time of the words inside the clip only, a sentence's
# end closing a cue, & and < escaped in WebVTT), the job's words with
# times and confidence; 404 with a sentence for another user's clip or
# job, for a clip not ready and for a job not yet transcribed.  The job
# is set up as the pipeline leaves it: a transcript in the store and a
# ready clip row.  Then the same from an S3 store.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
. "$CLIPMILL_TOP/contrib/s3rver.sh"
newdb || exit 1
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)
# newjob STATE: a job of alice's
newjob() {
	sql "INSERT INTO jobs (user_id, source_kind, source_url, state)
	    SELECT id, 'url', 'http://127.0.0.1/x', '$1' FROM users
	    WHERE name = 'alice' RETURNING id" | head -1
}
job=$(newjob running)
fresh=$(newjob running)
# The clip is 100..110 s of the source: "Before." and "after." lie outside.
cat >"$TMP/transcript.json" <<'JSON'
{"version": 1, "backend": "pocketsphinx", "model": "en-us", "language": "en",
 "duration": 120, "no_audio": false, "segments": [
 {"start": 95, "end": 95.5, "text": "Before.", "words": [
  {"word": "Before.", "start": 95, "end": 95.5, "confidence": 0.9}]},
 {"start": 100.2, "end": 109, "text": "...", "words": [
  {"word": "Hello", "start": 100.2, "end": 100.6, "confidence": 0.95},
  {"word": "world.", "start": 100.7, "end": 101.1, "confidence": 0.5},
  {"word": "Fish", "start": 102, "end": 102.3, "confidence": 1},
  {"word": "&", "start": 102.3, "end": 102.4, "confidence": 1},
  {"word": "<chips>", "start": 102.4, "end": 102.9, "confidence": 1},
  {"word": "café.", "start": 103, "end": 103.5, "confidence": 0.8},
  {"word": "Last", "start": 108, "end": 108.4, "confidence": 1},
  {"word": "one.", "start": 108.5, "end": 109, "confidence": 1}]},
 {"start": 111, "end": 111.5, "text": "after.", "words": [
  {"word": "after.", "start": 111, "end": 111.5, "confidence": 1}]}]}
JSON
mkdir -p "$TMP/store/jobs/$job"
cp "$TMP/transcript.json" "$TMP/store/jobs/$job/transcript.json"
clip=$(sql "INSERT INTO clips (job_id, rank, start_s, end_s, state, video_key)
    VALUES ($job, 1, 100, 110, 'ready', 'clips/$job/1-x.mp4') RETURNING id" | head -1)
busy=$(sql "INSERT INTO clips (job_id, rank, start_s, end_s, state)
    VALUES ($job, 2, 50, 60, 'rendering') RETURNING id" | head -1)
# get KEY PATH OUT: GET as KEY's user; prints the status
get() {
	curl -s -o "$3" -D "$TMP/h" -w '%{http_code}' \
	    -H "Authorization: Bearer $1" "$BASE$2"
}
header() { sed -n "s/^$1: *//Ip" "$TMP/h" | tr -d '\r'; }
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1

# --- SubRip ------------------------------------------------------------------
check_eq "the SRT answers 200" 200 "$(get "$alice" "/clips/$clip/subtitles.srt" "$TMP/c.srt")"
check_eq "as application/x-subrip" "application/x-subrip" "$(header Content-Type)"
check_eq "as a download named after the clip" "attachment; filename=\"clip-$clip.srt\"" \
    "$(header Content-Disposition)"
check_eq "three cues, one a sentence, none outside the clip" 3 "$(grep -c -- ' --> ' "$TMP/c.srt")"
check_eq "the first cue: number, times in clip time, text" \
    "1|00:00:00,200 --> 00:00:01,100|Hello world." "$(head -3 "$TMP/c.srt" | paste -sd'|')"
check "the second keeps & and < as they are, and UTF-8" grep -qx 'Fish & <chips> café\.' "$TMP/c.srt"
check "the last cue ends with its last word" grep -qx '00:00:08,000 --> 00:00:09,000' "$TMP/c.srt"
check "no word from outside the clip" bash -c "! grep -Eq 'Before|after' '$TMP/c.srt'"

# --- WebVTT ------------------------------------------------------------------
check_eq "the VTT answers 200" 200 "$(get "$alice" "/clips/$clip/subtitles.vtt" "$TMP/c.vtt")"
check_eq "as text/vtt in UTF-8" "text/vtt; charset=utf-8" "$(header Content-Type)"
check_eq "as a download named after the clip" "attachment; filename=\"clip-$clip.vtt\"" \
    "$(header Content-Disposition)"
check_eq "it starts with the WEBVTT header" "WEBVTT" "$(head -1 "$TMP/c.vtt")"
check_eq "the first cue, with a point before the milliseconds" \
    "1|00:00:00.200 --> 00:00:01.100|Hello world." "$(sed -n 3,5p "$TMP/c.vtt" | paste -sd'|')"
check "& and < escaped" grep -qx 'Fish &amp; &lt;chips&gt; café\.' "$TMP/c.vtt"
check_eq "three cues" 3 "$(grep -c -- ' --> ' "$TMP/c.vtt")"

# --- the transcript ----------------------------------------------------------
out=$(api GET "/jobs/$job/transcript" "$alice")
check_eq "the transcript answers 200" 200 "$(status_of "$out")"
check_eq "with every word of the job and the language" "10 en" \
    "$(jget "$(body_of "$out")" "len(j['words']), j['language']")"
check_eq "each word's text, start, end and confidence" "world. 100.7 101.1 0.5" \
    "$(jget "$(body_of "$out")" "' '.join(str(j['words'][2][k]) for k in ('text', 'start', 'end', 'confidence'))")"

# --- the clip card links both files ------------------------------------------
curl -s -H 'Accept: text/html' -H "Authorization: Bearer $alice" "$BASE/jobs/$job" >"$TMP/page.html"
check "the clip card links the SRT" grep -q "href=\"/clips/$clip/subtitles.srt\" download>SRT<" "$TMP/page.html"
check "and the WebVTT" grep -q "href=\"/clips/$clip/subtitles.vtt\" download>WebVTT<" "$TMP/page.html"
check "not for a clip still rendering" bash -c "! grep -q '/clips/$busy/subtitles' '$TMP/page.html'"

# --- refusals -----------------------------------------------------------------
check_eq "bob gets 404 for alice's SRT" 404 "$(get "$bob" "/clips/$clip/subtitles.srt" "$TMP/b")"
check "with a sentence" grep -q "You have no clip $clip\." "$TMP/b"
check_eq "bob gets 404 for alice's VTT" 404 "$(get "$bob" "/clips/$clip/subtitles.vtt" "$TMP/b")"
out=$(api GET "/jobs/$job/transcript" "$bob")
check_eq "bob gets 404 for alice's transcript" 404 "$(status_of "$out")"
check_eq "a clip still rendering: 404" 404 "$(get "$alice" "/clips/$busy/subtitles.srt" "$TMP/b")"
check "saying it is not ready" grep -q "Clip $busy is not ready yet (rendering)\." "$TMP/b"
out=$(api GET "/jobs/$fresh/transcript" "$alice")
check_eq "a job not yet transcribed: 404" 404 "$(status_of "$out")"
check "saying so" grep -q "Job $fresh has no transcript yet (running)\." <<<"$out"
out=$(api POST "/jobs/$job/transcript" "$alice")
check_eq "POST to the transcript: 405" 405 "$(status_of "$out")"
out=$(api POST "/clips/$clip/subtitles.vtt" "$alice")
check_eq "POST to the subtitles: 405" 405 "$(status_of "$out")"

# --- an S3 store: the transcript is fetched to scratch_dir --------------------
stop_fcgi
s3_start "$TMP/s3" clips || exit 1
"$CLIPMILL_TOP/build/tests/s3_store" put "jobs/$job/transcript.json" \
    "$TMP/transcript.json" application/json || exit 1
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
check_eq "S3: the SRT answers 200" 200 "$(get "$alice" "/clips/$clip/subtitles.srt" "$TMP/s.srt")"
check "S3: the same subtitles" cmp -s "$TMP/c.srt" "$TMP/s.srt"
check_eq "S3: no copy is left in scratch_dir" "" "$(ls "$TMP/scratch")"
done_testing
