#!/usr/bin/env bash
# The web front behind real nginx and PostgreSQL: the JSON API, the HTML
# form (urlencoded and multipart with a real video), accounts (401, 404,
# CSRF 403), limits (413 leaving nothing behind, 429), field errors (400
# naming the field), clip files through X-Accel-Redirect, metrics, and a
# clean SIGTERM shutdown.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set upload_max_mb 1
conf_set user_max_jobs 100
conf_set user_submits_per_minute 100
conf_set fcgi_threads 4
MTOKEN="mt-$RANDOM$RANDOM$RANDOM"
conf_set metrics_token "$MTOKEN"
VIDEO="$CLIPMILL_TESTDATA/tears_of_steel_clip01_640x360.mp4"
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
# nginx lets 3 MB through so that clipmill.fcgi's own 1 MB cap is tested
start_nginx 3m || exit 1

# --- keys ---
out=$(api GET /jobs "")
check_eq "no key: 401" 401 "$(status_of "$out")"
check "no key: says a key is required" grep -q 'API key is required' <<<"$out"
out=$(api GET /jobs "cm_0000")
check_eq "wrong key: 401" 401 "$(status_of "$out")"
out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' "$BASE/jobs")
check_eq "browser without session goes to login" "303 $BASE/login" "$out"

# --- JSON API ---
opts='{"url":"https://example.com/talk.mp4","clips":4,"min_len":15,"max_len":45,"aspects":["9:16","1:1"],"captions":false,"caption_style":"bold","language":"en"}'
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d "$opts" -D "$TMP/h")
check_eq "JSON submit: 201" 201 "$(status_of "$out")"
j1=$(jget "$(body_of "$out")" 'j["id"]')
check "JSON submit: Location" grep -qi "^Location: /jobs/$j1" "$TMP/h"
check_eq "JSON submit: job pending" pending "$(jget "$(body_of "$out")" 'j["state"]')"
check_eq "JSON submit: options as the contract says" t "$(sql "SELECT options = '{\"clips\":4,\"min_len\":15,\"max_len\":45,\"aspects\":[\"9:16\",\"1:1\"],\"captions\":false,\"caption_style\":\"bold\",\"layout\":\"auto\",\"transcribe_backend\":\"pocketsphinx\",\"select_backend\":\"heuristic\",\"language\":\"en\"}'::jsonb FROM jobs WHERE id = $j1")"
check_eq "JSON submit: a fetch task and a submitted event" "fetch|submitted" "$(sql "SELECT (SELECT stage FROM tasks WHERE job_id = $j1) || '|' || (SELECT kind FROM events WHERE job_id = $j1)")"
out=$(api GET "/jobs/$j1" "$alice")
check_eq "GET job: 200" 200 "$(status_of "$out")"
check_eq "GET job: stage listed" fetch "$(jget "$(body_of "$out")" 'j["stages"][0]["stage"]')"
sql "UPDATE tasks SET state = 'running', progress = 40, message = 'downloading: 40%' WHERE job_id = $j1" >/dev/null
check_eq "GET job: a running stage's progress and message" "40 downloading: 40%" \
    "$(jget "$(body_of "$(api GET "/jobs/$j1" "$alice")")" 'str(j["stages"][0]["pct"]) + " " + str(j["stages"][0]["message"])')"
sql "UPDATE tasks SET state = 'done', progress = 100 WHERE job_id = $j1" >/dev/null
check_eq "GET job: a finished stage at 100% without its stale message" "100 None" \
    "$(jget "$(body_of "$(api GET "/jobs/$j1" "$alice")")" 'str(j["stages"][0]["pct"]) + " " + str(j["stages"][0]["message"])')"
sql "UPDATE tasks SET state = 'pending', progress = 0, message = NULL WHERE job_id = $j1" >/dev/null
out=$(api GET /jobs "$alice")
check_eq "GET jobs: lists the job" "$j1" "$(jget "$(body_of "$out")" 'j["jobs"][0]["id"]')"

# --- other users ---
check_eq "bob: alice's job is 404" 404 "$(status_of "$(api GET "/jobs/$j1" "$bob")")"
check_eq "bob: alice's events are 404" 404 "$(status_of "$(api GET "/jobs/$j1/events?timeout=0" "$bob")")"
check_eq "bob: cancel alice's job is 404" 404 "$(status_of "$(api POST "/jobs/$j1/cancel" "$bob")")"
check_eq "bob: job list empty" 0 "$(jget "$(body_of "$(api GET /jobs "$bob")")" 'len(j["jobs"])')"

# --- field errors ---
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v","clips":11}')
check_eq "clips=11: 400" 400 "$(status_of "$out")"
check_eq "clips=11: names the field" clips "$(jget "$(body_of "$out")" 'j["field"]')"
check "clips=11: says the range" grep -q 'from 1 to 10' <<<"$out"
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v","clips":3.7}')
check_eq "clips=3.7: echoed as written" 'clips: must be a whole number from 1 to 10, not "3.7"' "$(jget "$(body_of "$out")" 'j["error"]')"
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v",')
check_eq "bad JSON: 400" 400 "$(status_of "$out")"
check "bad JSON: says so" grep -q 'not valid JSON' <<<"$out"
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"ftp://x.org/v"}')
check_eq "bad url: names the field" url "$(jget "$(body_of "$out")" 'j["field"]')"
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v","aspects":["16:9"]}')
check_eq "bad aspect: names the field" aspects "$(jget "$(body_of "$out")" 'j["field"]')"
out=$(api POST /jobs "$alice" -H 'Content-Type: multipart/form-data; boundary=XX' --data-binary $'--XX\r\nContent-Disposition: form-data; name="url"\r\n\r\nhttps://x.org/v')
check_eq "malformed multipart: 400" 400 "$(status_of "$out")"
check "malformed multipart: says what" grep -q 'closing boundary' <<<"$out"
out=$(api POST /jobs "$alice" -H 'Content-Type: text/plain' -d 'hello')
check_eq "unknown body type: 415" 415 "$(status_of "$out")"
# bytes that are not UTF-8, in every kind of body: 400 naming the field
is400() { [ "$(status_of "$1")" = 400 ] && grep -q "\"error\":\"$2" <<<"$1"; }
out=$(api POST /jobs "$alice" -H 'Content-Type: application/x-www-form-urlencoded' -d 'url=https%3A%2F%2Fx.org%2F%FF')
check_eq "urlencoded url not UTF-8: 400" 400 "$(status_of "$out")"
check "urlencoded url not UTF-8: names the field" grep -q '"error":"url: is not valid UTF-8 text"' <<<"$out"
out=$(api POST /jobs "$alice" -H 'Content-Type: application/x-www-form-urlencoded' -d 'url=https%3A%2F%2Fx.org%2Fv&caption_style=b%C3')
check "urlencoded caption_style not UTF-8: 400 naming it" is400 "$out" 'caption_style: is not valid UTF-8 text'
out=$(api POST /jobs "$alice" -H 'Content-Type: multipart/form-data; boundary=XX' --data-binary $'--XX\r\nContent-Disposition: form-data; name="url"\r\n\r\nhttps://x.org/\xe9\r\n--XX--\r\n')
check "multipart url not UTF-8: 400 naming it" is400 "$out" 'url: is not valid UTF-8 text'
out=$(api POST /jobs "$alice" -H 'Content-Type: multipart/form-data; boundary=XX' --data-binary $'--XX\r\nContent-Disposition: form-data; name="file"; filename="\xff.mp4"\r\n\r\nx\r\n--XX--\r\n')
check "multipart file name not UTF-8: 400 naming it" is400 "$out" 'file: the file name is not valid UTF-8 text'
# a UTF-8 value echoed cut short (40 bytes) ends inside a character
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v","language":"aéééééééééééééééééééééééé"}')
check_eq "long language: 400" 400 "$(status_of "$out")"
check_eq "long language: names the field" language "$(jget "$(body_of "$out")" 'j["field"]')"
check_eq "no job from any of them" 1 "$(sql "SELECT count(*) FROM jobs WHERE user_id = (SELECT id FROM users WHERE name = 'alice')")"

# --- browser: login, form, CSRF ---
jar="$TMP/cookies"
ltok=$(login_token "$jar")
check "login page carries a CSRF token" test ${#ltok} -eq 64
check "login nonce cookie is HttpOnly, SameSite=Strict, for /login only" \
    grep -qE '^#HttpOnly_127\.0\.0\.1.*/login.*cm_login' "$jar"
out=$(curl -s -o "$TMP/login.html" -w '%{http_code}' -H 'Accept: text/html' --data-urlencode "key=$alice" "$BASE/login")
check_eq "login without the form's token: 403 (login CSRF)" 403 "$out"
out=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -H 'Accept: text/html' --data-urlencode "key=$alice" --data "csrf=$(printf '0%.0s' $(seq 64))" "$BASE/login")
check_eq "login with a forged token: 403" 403 "$out"
out=$(curl -s -o "$TMP/login.html" -w '%{http_code}' -b "$jar" -H 'Accept: text/html' --data-urlencode "key=wrong" --data "csrf=$ltok" "$BASE/login")
check_eq "login with a wrong key: 401" 401 "$out"
check "login with a wrong key: says so" grep -q 'That key is not valid' "$TMP/login.html"
out=$(curl -s -o /dev/null -D "$TMP/h" -w '%{http_code}' -b "$jar" -c "$jar" -H 'Accept: text/html' --data-urlencode "key=$alice" --data "csrf=$ltok" "$BASE/login")
check_eq "login: 303" 303 "$out"
check "login: cookie is HttpOnly and SameSite=Lax" grep -qiE '^Set-Cookie: cm_session=[0-9a-f]{64}; Path=/; Max-Age=[0-9]+; HttpOnly; SameSite=Lax' "$TMP/h"
curl -s -b "$jar" -H 'Accept: text/html' "$BASE/" >"$TMP/form.html"
csrf=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$TMP/form.html" | head -1 | sed 's/.*value="//; s/"//')
check_eq "form: the caption styles of the job table, its default chosen" \
    '<select name="caption_style"><option value="classic">classic</option><option value="bold" selected>bold</option><option value="minimal">minimal</option></select>' \
    "$(perl -ne 'print $1 if /(<select name="caption_style">.*?<\/select>)/' "$TMP/form.html")"
check "form page carries a CSRF token" test ${#csrf} -eq 64
check "form page offers the aspects" grep -q 'value="4:5"' "$TMP/form.html"
out=$(curl -s -o "$TMP/r.html" -w '%{http_code}' -b "$jar" -H 'Accept: text/html' --data "url=https%3A%2F%2Fexample.com%2Fa.mp4&clips=2" "$BASE/jobs")
check_eq "form POST without CSRF: 403" 403 "$out"
check "403 names the csrf field" grep -q 'csrf: ' "$TMP/r.html"
# The token with its last character changed (to another one, whatever it is).
case $csrf in *0) bad="${csrf%?}1" ;; *) bad="${csrf%?}0" ;; esac
out=$(curl -s -o "$TMP/r.html" -w '%{http_code}' -b "$jar" -H 'Accept: text/html' --data "csrf=$bad&url=https%3A%2F%2Fexample.com%2Fa.mp4" "$BASE/jobs")
check_eq "form POST with a wrong CSRF token: 403" 403 "$out"
out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b "$jar" -H 'Accept: text/html' \
    --data "csrf=$csrf&url=https%3A%2F%2Fexample.com%2Fa.mp4&clips=2&aspects=4%3A5&captions=off&caption_style=minimal" "$BASE/jobs")
j2=$(sed 's|.*/jobs/||' <<<"$out")
check_eq "urlencoded form: 303 to the job page" "303 $BASE/jobs/$j2" "$out"
check_eq "urlencoded form: options" '2|["4:5"]|false|minimal' "$(sql "SELECT options->>'clips' || '|' || (options->'aspects')::text || '|' || (options->>'captions') || '|' || (options->>'caption_style') FROM jobs WHERE id = $j2")"
out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b "$jar" -H 'Accept: text/html' \
    -F "csrf=$csrf" -F "clips=1" -F "file=@$VIDEO;type=video/mp4" "$BASE/jobs")
j3=$(sed 's|.*/jobs/||' <<<"$out")
check_eq "multipart form: 303 to the job page" "303 $BASE/jobs/$j3" "$out"
check_eq "multipart form: an upload job" "upload|jobs/$j3/upload.mp4" "$(sql "SELECT source_kind || '|' || source_key FROM jobs WHERE id = $j3")"
check "multipart form: the stored file is the video, byte for byte" cmp -s "$VIDEO" "$TMP/store/jobs/$j3/upload.mp4"
check_eq "multipart form: no temporary file left" "" "$(ls "$TMP/scratch" | grep upload)"
curl -s -b "$jar" -H 'Accept: text/html' "$BASE/jobs/$j3" >"$TMP/job.html"
check "job page: progress bar for fetch" grep -q 'data-stage="fetch"' "$TMP/job.html"
check "job page: event log" grep -q 'submitted' "$TMP/job.html"
check "job page: cancel form with CSRF" grep -q "action=\"/jobs/$j3/cancel\"><input type=\"hidden\" name=\"csrf\" value=\"$csrf\"" "$TMP/job.html"

# --- upload over the cap ---
head -c $((1024 * 1024 + 300000)) /dev/zero >"$TMP/big.mp4"
njobs=$(sql "SELECT count(*) FROM jobs")
nstore=$(find "$TMP/store" -type f | wc -l)
out=$(curl -s -o "$TMP/r.json" -w '%{http_code}' -H 'Accept: application/json' -H "Authorization: Bearer $alice" -F "file=@$TMP/big.mp4" "$BASE/jobs")
check_eq "upload over the cap: 413" 413 "$out"
check "413 names the file field" grep -q '"field":"file"' "$TMP/r.json"
check_eq "413: no job row" "$njobs" "$(sql "SELECT count(*) FROM jobs")"
check_eq "413: nothing new in the store" "$nstore" "$(find "$TMP/store" -type f | wc -l)"
check_eq "413: no temporary file left" "" "$(ls "$TMP/scratch" | grep upload)"
head -c $((4 * 1024 * 1024)) /dev/zero >"$TMP/huge.mp4"
# (curl sends "Expect: 100-continue", so nginx refuses before the body)
out=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $alice" -H 'Expect: 100-continue' -F "file=@$TMP/huge.mp4" "$BASE/jobs")
check_eq "body over nginx's cap: 413 from nginx" 413 "$out"

# --- cancel and retry ---
out=$(api POST "/jobs/$j1/cancel" "$alice")
check_eq "cancel: 200" 200 "$(status_of "$out")"
check_eq "cancel: job cancelled" cancelled "$(sql "SELECT state FROM jobs WHERE id = $j1")"
out=$(api POST "/jobs/$j1/cancel" "$alice")
check_eq "cancel twice: 409" 409 "$(status_of "$out")"
check "409 says why" grep -q 'already ended' <<<"$out"
out=$(api POST "/jobs/$j1/retry" "$alice")
check_eq "retry: 200" 200 "$(status_of "$out")"
check_eq "retry: task pending again" pending "$(sql "SELECT state FROM tasks WHERE job_id = $j1")"
out=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -H 'Accept: text/html' -X POST "$BASE/jobs/$j2/cancel")
check_eq "HTML cancel without CSRF: 403" 403 "$out"
out=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -H 'Accept: text/html' --data "csrf=$csrf" "$BASE/jobs/$j2/cancel")
check_eq "HTML cancel with CSRF: 303" 303 "$out"

# --- clip files through X-Accel-Redirect ---
mkdir -p "$TMP/store/clips/$j3"
cp "$VIDEO" "$TMP/store/clips/$j3/1.mp4"
cid=$(sql "INSERT INTO clips (job_id, rank, start_s, end_s, state, video_key, video_url) VALUES ($j3, 1, 0, 10, 'ready', 'clips/$j3/1.mp4', '/files/clips/$j3/1.mp4') RETURNING id")
curl -s -o "$TMP/clip.mp4" -D "$TMP/h" -H "Authorization: Bearer $alice" "$BASE/clips/$cid/video"
check "clip video: nginx sends the stored bytes" cmp -s "$VIDEO" "$TMP/clip.mp4"
check "clip video: as video/mp4" grep -qi '^Content-Type: video/mp4' "$TMP/h"
check_eq "clip video: bob gets 404" 404 "$(status_of "$(api GET "/clips/$cid/video" "$bob")")"
check_eq "clip thumbnail not there: 404" 404 "$(status_of "$(api GET "/clips/$cid/thumbnail" "$alice")")"
check_eq "internal location not reachable directly" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/_clipmill_files/clips/$j3/1.mp4")"

# --- metrics and health ---
# /metrics wants its token even from loopback (behind nginx every
# client's REMOTE_ADDR is 127.0.0.1)
check_eq "metrics without the token, from loopback: 401" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/metrics")"
check "metrics 401 names the scheme" grep -qi '^WWW-Authenticate: Bearer' \
    <(curl -s -D - -o /dev/null "$BASE/metrics" | tr -d '\r')
check_eq "metrics with a wrong token: 401" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer x$MTOKEN" "$BASE/metrics")"
check_eq "metrics with a forged loopback address: 401" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 127.0.0.1' "$BASE/metrics")"
curl -s -H "Authorization: Bearer $MTOKEN" "$BASE/metrics" >"$TMP/metrics"
check "metrics: jobs by state" grep -q '^clipmill_jobs{state="cancelled"} 1$' "$TMP/metrics"
check "metrics: queue depth" grep -q '^clipmill_tasks{stage="fetch",state="pending"} [0-9]' "$TMP/metrics"
check "metrics: requests by route and status" grep -q '^clipmill_http_requests_total{route="submit",status="413"} 1$' "$TMP/metrics"
check_eq "healthz" ok "$(jget "$(curl -s "$BASE/healthz")" 'j["status"]')"
check_eq "POST /healthz: 405, Allow: GET" "405 GET" \
    "$(curl -s -o /dev/null -D - -X POST "$BASE/healthz" | tr -d '\r' | awk '/^HTTP/ {c=$2} /^Allow:/ {a=$2} END {print c, a}')"
check_eq "DELETE /metrics, even with the token: 405" 405 \
    "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $MTOKEN" "$BASE/metrics")"
check "log lines are JSON events" python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/fcgi.jsonl"
check "log has the http events" grep -q '"event":"http"' "$TMP/fcgi.jsonl"

# --- the web and the CLI read one job table: same values in, same verdict ---
carol=$(clipmill user add carol)
long="https://x.org/$(head -c 2040 /dev/zero | tr '\0' a)"	# 2054 characters
for c in "clips 1 ok" "clips 10 ok" "clips 0 no" "clips 11 no" "clips 2.5 no" \
    "min_len 1 ok" "min_len 3600 no" "min_len 3601 no" "min_len 15.5 no" \
    "max_len 3600 ok" "max_len 0 no" "max_len 3601 no" "max_len x no"; do
	set -- $c
	web=$(status_of "$(api POST /jobs "$carol" --data-urlencode "url=https://x.org/v" --data-urlencode "$1=$2")")
	clipmill submit --user carol "--${1/_/-}" "$2" https://x.org/v >/dev/null 2>&1
	cli=$?
	want="201 0"; [ "$3" = no ] && want="400 2"
	check_eq "$1=$2: web and CLI agree" "$want" "$web $cli"
done
for u in "HTTPS://x.org/v ok" "ftp://x.org/v no" "https:// no" "https://x.org/a%20b no" "$long no"; do
	set -- $u
	url=$(printf '%b' "${1//%/\\x}")
	web=$(status_of "$(api POST /jobs "$carol" --data-urlencode "url=$url")")
	clipmill submit --user carol "$url" >/dev/null 2>&1
	cli=$?
	want="201 0"; [ "$2" = no ] && want="400 2"
	check_eq "url ${1:0:30}: web and CLI agree" "$want" "$web $cli"
done

# --- limits: submissions per minute, concurrent jobs ---
stop_fcgi
conf_set user_submits_per_minute 2
start_fcgi
# at most 2 submissions a minute: the third attempt is refused whatever
# the earlier ones in this test left in the window
for i in 1 2 3; do
	out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v"}' -D "$TMP/h")
	[ "$(status_of "$out")" = 429 ] && break
done
check_eq "over the submission rate: 429" 429 "$(status_of "$out")"
check "429 has Retry-After" grep -qiE '^Retry-After: [0-9]+' "$TMP/h"
check "429 says the limit" grep -q 'the limit is 2' <<<"$out"
stop_fcgi
conf_set user_submits_per_minute 100
conf_set user_max_jobs 1
start_fcgi
out=$(api POST /jobs "$bob" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v"}')
check_eq "bob's first job: 201" 201 "$(status_of "$out")"
out=$(api POST /jobs "$bob" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v"}')
check_eq "bob's second concurrent job: 429" 429 "$(status_of "$out")"

# --- SIGTERM while idle: exits at once, cleanly ---
t0=$(date +%s%N)
kill -TERM "$FCGI_PID"; wait "$FCGI_PID"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "SIGTERM: exit status 0" 0 "$rc"
check "SIGTERM while idle: gone within 2 s (${ms} ms)" test "$ms" -lt 2000
check "SIGTERM: socket removed" test ! -e "$FCGI_SOCK"
check "SIGTERM: logged" grep -q '"event":"fcgi_stopped"' "$TMP/fcgi.jsonl"

# --- no metrics_token: /metrics is off, for loopback clients too ---
conf_set metrics_token '""'
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
out=$(api GET /metrics "")
check_eq "metrics without a token set: 403" 403 "$(status_of "$out")"
check "metrics 403 says why" grep -q 'no metrics_token' <<<"$(body_of "$out")"
stop_fcgi
done_testing
