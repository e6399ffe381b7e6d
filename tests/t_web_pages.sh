#!/usr/bin/env bash
# What a user reads on the job page and in the job's JSON, with the job's
# tasks and clips set the way the runners leave them: the overall bar and
# the time left, per-clip stages counted over every clip, a failed stage
# red with its reason, clip cards with their place in the source, render
# progress, framing figures with a visible warning and the score's parts;
# the uploaded file's own name in the jobs list; a refused browser submit
# answered with the form again, the message beside the field.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
newdb || exit 1
conf_set user_max_jobs 100
conf_set user_submits_per_minute 100
VIDEO="$CLIPMILL_TESTDATA/tears_of_steel_clip01_640x360.mp4"
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1

# --- a running job: fetch to frame done, 3 clips, one rendering ---
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://example.com/talk.mp4","clips":3}')
job=$(jget "$(body_of "$out")" 'j["id"]')
sql "UPDATE jobs SET state = 'running', created_at = now() - interval '100 seconds' WHERE id = $job;
UPDATE tasks SET state = 'done', progress = 100 WHERE job_id = $job;
INSERT INTO tasks (job_id, stage, state, progress) VALUES
    ($job, 'transcribe', 'done', 100), ($job, 'select', 'done', 100), ($job, 'frame', 'done', 100);
INSERT INTO clips (job_id, rank, start_s, end_s, score, title, reason, quality, score_parts) VALUES
    ($job, 1, 10, 45, 72, 'First clip', 'A hook.', '{\"layout\":\"track\",\"layout_reason\":\"One person speaks.\",\"face_in_picture\":0.62,\"reversals_per_s\":0.05,\"upscale\":1.8,\"asr_confidence\":0.81,\"warning\":\"The face is in the picture in only 62% of the clip.\"}',
     '[{\"what\":\"speech\",\"points\":30,\"max\":35},{\"what\":\"pauses\",\"points\":-3,\"max\":-30}]'),
    ($job, 2, 70, 95, 60, 'Second', 'Calm.', NULL, NULL),
    ($job, 3, 3700, 3730, 50, 'Third', 'Late.', NULL, NULL);
INSERT INTO tasks (job_id, clip_id, stage, state, progress)
    SELECT $job, id, 'render', CASE rank WHEN 1 THEN 'running' ELSE 'done' END,
        CASE rank WHEN 1 THEN 40 ELSE 100 END FROM clips WHERE job_id = $job;
INSERT INTO tasks (job_id, clip_id, stage, state, progress)
    SELECT $job, id, 'publish', 'done', 100 FROM clips WHERE job_id = $job AND rank = 2;
UPDATE clips SET state = 'rendered' WHERE job_id = $job AND rank = 3" >/dev/null

j=$(body_of "$(api GET /jobs/$job "$alice")")
check_eq "publish counts every clip: 1 of 3 published is 33%" 33 \
    "$(jget "$j" '[s["pct"] for s in j["stages"] if s["stage"]=="publish"][0]')"
check_eq "render over 3 clips: 80%" 80 \
    "$(jget "$j" '[s["pct"] for s in j["stages"] if s["stage"]=="render"][0]')"
# fetch 10 + transcribe 30 + select 5 + frame 15 + render .8*35 + publish .33*5
check_eq "overall progress weighs the stages" 89 "$(jget "$j" 'j["progress"]["pct"]')"
rem=$(jget "$j" 'j["progress"]["remaining_s"]')
check "time left from the pace so far (100 s for 89%: about 12 s)" test "$rem" -ge 10 -a "$rem" -le 16
check_eq "clip JSON carries the framing figures" "track 0.62" \
    "$(jget "$j" 'j["clips"][0]["quality"]["layout"]+" "+str(j["clips"][0]["quality"]["face_in_picture"])')"
check_eq "clip JSON carries the render task" "running 40" \
    "$(jget "$j" 'j["clips"][0]["render"]["state"]+" "+str(j["clips"][0]["render"]["pct"])')"

curl -s -H 'Accept: text/html' -H "Authorization: Bearer $alice" "$BASE/jobs/$job" >"$TMP/job.html"
card1=$(python3 - "$TMP/job.html" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
m = re.search(r'<div class="clip" id="clip-\d+"[^>]*>.*?(?=<div class="clip" id=|</div>\n<h3>Events)', h, re.S)
print(m.group(0) if m else "")
PY
)
check "card: place in the source" grep -q '0:10&ndash;0:45 of the source (35 s)' <<<"$card1"
check "card: a clip being rendered says so, with its bar" grep -q 'rendering 40%<div class="bar" data-pct="40">' <<<"$card1"
check "card: framing figures" grep -q 'Layout track &middot; face in picture 62% &middot; 0.05 camera reversals/s &middot; upscaled 1.8&times; &middot; words recognised with 81% confidence' <<<"$card1"
check "card: the warning is on the card" grep -q '<p class="warn" role="note">&#9888; The face is in the picture in only 62% of the clip.</p>' <<<"$card1"
check "card: the score and its parts" grep -q '<summary>Score 72 of 100</summary><ul><li>speech: 30 of 35</li><li>pauses: -3 (up to -30)</li></ul>' <<<"$card1"
check "card: hours in the source" grep -q '1:01:40&ndash;1:02:10 of the source (30 s)' "$TMP/job.html"
check "card: a rendered clip is being published" grep -q 'class="cstate">publishing' "$TMP/job.html"
check "page: overall bar and time left" grep -qE '<div id="overall"><div class="bar" data-pct="89">.*<p>89% &middot; about [0-9]+ s left</p>' "$TMP/job.html"
check "page: no 16em bars (they overflow a phone)" bash -c '! grep -q "min-width:16em" "$1"' - "$TMP/job.html"

# --- a failed fetch: red, at its last figure, with the reason ---
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://example.com/bad.mp4"}')
bad=$(jget "$(body_of "$out")" 'j["id"]')
sql "UPDATE tasks SET state = 'failed', progress = 95, message = 'checking the video', error = 'This is not a video file.' WHERE job_id = $bad;
UPDATE jobs SET state = 'failed', error = 'This is not a video file.', finished_at = now() WHERE id = $bad" >/dev/null
curl -s -H 'Accept: text/html' -H "Authorization: Bearer $alice" "$BASE/jobs/$bad" >"$TMP/bad.html"
check "failed stage: a red bar" grep -q '<div class="bar failed" data-stage="fetch" data-pct="95">' "$TMP/bad.html"
check "failed stage: says it failed, and why" grep -q 'failed at 95% This is not a video file.' "$TMP/bad.html"
check "failed job: no time left, how long it ran" grep -qE '<p>[0-9]+% &middot; failed after [0-9]+ s</p>' "$TMP/bad.html"
check "failed job: no 'checking the video' in green" bash -c '! grep -q "95% checking the video" "$1"' - "$TMP/bad.html"

# --- the jobs list names an upload by its file name ---
cp "$VIDEO" "$TMP/My talk.mp4"
out=$(api POST /jobs "$alice" -F "file=@$TMP/My talk.mp4;type=video/mp4" -F clips=1)
up=$(jget "$(body_of "$out")" 'j["id"]')
check_eq "job JSON: the upload's name" "My talk.mp4" "$(jget "$(body_of "$(api GET /jobs/$up "$alice")")" 'j["source_name"]')"
check_eq "jobs JSON: source is the file's name" "My talk.mp4" \
    "$(jget "$(body_of "$(api GET /jobs "$alice")")" '[x["source"] for x in j["jobs"] if x["id"]=='$up'][0]')"
curl -s -H 'Accept: text/html' -H "Authorization: Bearer $alice" "$BASE/jobs" >"$TMP/jobs.html"
check "jobs page: the file's name" grep -q '<td class="src">My talk.mp4</td>' "$TMP/jobs.html"
check "jobs page: no store keys" bash -c '! grep -q "jobs/[0-9]*/upload" "$1"' - "$TMP/jobs.html"
check "bob does not see alice's job" bash -c '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $1" "$2/jobs/$3")" = 404 ]' - "$bob" "$BASE" "$job"

# --- a refused browser submit: the form again, the error beside the field ---
jar="$TMP/cookies"
ltok=$(login_token "$jar")
curl -s -o /dev/null -b "$jar" -c "$jar" -H 'Accept: text/html' --data-urlencode "key=$alice" --data "csrf=$ltok" "$BASE/login"
csrf=$(curl -s -b "$jar" -H 'Accept: text/html' "$BASE/" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"//')
out=$(curl -s -o "$TMP/form.html" -w '%{http_code}' -b "$jar" -H 'Accept: text/html' \
    --data "csrf=$csrf&url=https%3A%2F%2Fexample.com%2Fa.mp4&clips=99&caption_style=minimal&aspects=1%3A1" "$BASE/jobs")
check_eq "bad clips: 400" 400 "$out"
check "bad clips: the form again" grep -q 'id="submit-form"' "$TMP/form.html"
check "bad clips: the message beside the field" grep -qE '<input type="number" name="clips" min="1" max="[0-9]+" value="99"></label><p class="field-error" id="error-clips" role="alert">must be' "$TMP/form.html"
check "bad clips: the URL kept" grep -q 'value="https://example.com/a.mp4"' "$TMP/form.html"
check "bad clips: the choices kept" grep -q '<option value="minimal" selected>' "$TMP/form.html"
check "bad clips: the aspect kept, the default unchecked" bash -c 'grep -q "value=\"1:1\" checked" "$1" && ! grep -q "value=\"9:16\" checked" "$1"' - "$TMP/form.html"
out=$(curl -s -o "$TMP/form2.html" -w '%{http_code}' -b "$jar" -H 'Accept: text/html' --data "csrf=$csrf" "$BASE/jobs")
check_eq "empty submit: 400" 400 "$out"
check "empty submit: the form, saying what is missing" bash -c 'grep -q "id=\"submit-form\"" "$1" && grep -q "id=\"form-error\"" "$1"' - "$TMP/form2.html"
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://example.com/a.mp4","clips":99}')
check_eq "the API still answers JSON" "400 clips" "$(status_of "$out") $(jget "$(body_of "$out")" 'j["field"]')"
out=$(curl -s -o "$TMP/csrf.html" -w '%{http_code}' -b "$jar" -H 'Accept: text/html' --data "csrf=bad&clips=99" "$BASE/jobs")
check "a bad CSRF token is a 403 page, not the form" bash -c '[ "$1" = 403 ] && ! grep -q "id=\"submit-form\"" "$2"' - "$out" "$TMP/csrf.html"
done_testing
