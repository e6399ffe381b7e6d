#!/usr/bin/env bash
# Webhooks: `clipmill user webhook` sets a URL (held to the address policy)
# and prints the secret once; a job that ends is POSTed as job.done or
# job.failed, signed with that secret, through "webhook" tasks retried
# with backoff after a 5xx and after a timeout, given up after
# max_attempts with an event; a private address is refused at delivery.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
. "$(dirname "$0")/web_lib.sh"
qsetup || exit 1
conf_set fetch_allow_cidrs 127.0.0.1/32
conf_set webhook_timeout 5
conf_set max_attempts 3

python3 "$CLIPMILL_TOP/tests/webhook_receiver.py" "$TMP/port" "$TMP/recv.log" &
at_exit "kill $! 2>/dev/null"
wait_for 20 test -s "$TMP/port" || { not_ok "receiver started"; exit 1; }
port=$(cat "$TMP/port")
: >"$TMP/recv.log"

# --- set time: the address policy and the URL's form ---
clipmill user webhook t http://10.0.0.1/hook 2>"$TMP/err"; rc=$?
check_eq "a private address is refused" 1 "$rc"
check "the refusal names the address" grep -q "leads to 10.0.0.1, a private or local address" "$TMP/err"
clipmill user webhook t http://169.254.169.254/latest 2>"$TMP/err"
check "the metadata address is refused" grep -q "169.254.169.254, a private" "$TMP/err"
clipmill user webhook t ftp://example/x 2>"$TMP/err"
check "an ftp URL is refused" grep -q "must start with http:// or https://" "$TMP/err"
check_eq "nothing was kept" "" "$(sql "SELECT webhook_url FROM users WHERE name = 't'")"
secret=$(clipmill user webhook t "http://127.0.0.1:$port/ok")
check "the secret is 64 hex digits, printed once" grep -Eqx '[0-9a-f]{64}' <<<"$secret"

# hook PATH: point t's webhook at the receiver's PATH (the secret stays)
hook() { sql "UPDATE users SET webhook_url = '$1' WHERE name = 't'" >/dev/null; }
# runjobs: run the test stages and the deliveries until idle
runjobs() {
	qrun r --stage noop,fail_permanent,webhook --idle-exit 3
	qwait r 120
}
recv() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] == sys.argv[2]: print(l, end="")' "$TMP/recv.log" "$1"; }

# --- job.done and job.failed, signed ---
ok_job=$(qjob); qtasks "$ok_job" noop 1
bad_job=$(qjob); qtasks "$bad_job" fail_permanent 1 '{"msg":"Not a video."}'
runjobs
check_eq "the jobs ended" "done|failed" "$(sql "SELECT string_agg(state, '|' ORDER BY id) FROM jobs WHERE id IN ($ok_job, $bad_job)")"
check_eq "two deliveries" 2 "$(recv /ok | wc -l)"
check_eq "job.done verifies with the secret" "valid job.done" \
    "$(recv /ok | grep '\"job.done' | python3 "$CLIPMILL_TOP/tests/webhook_verify.py" "$secret")"
check_eq "job.failed verifies with the secret" "valid job.failed" \
    "$(recv /ok | grep '\"job.failed' | python3 "$CLIPMILL_TOP/tests/webhook_verify.py" "$secret")"
check_eq "a wrong secret does not verify" "INVALID job.done" \
    "$(recv /ok | grep '\"job.done' | python3 "$CLIPMILL_TOP/tests/webhook_verify.py" "0$secret")"
check_eq "the body names the job and its event" "$ok_job|$ok_job-$(sql "SELECT seq FROM events WHERE job_id = $ok_job AND kind = 'done'")|done" \
    "$(recv /ok | grep '\"job.done' | python3 -c 'import json,sys; b=json.loads(json.loads(sys.stdin.read())["body"]); print("%s|%s|%s" % (b["job"], b["id"], b["data"]["state"]))')"
check_eq "the failure says why" "Not a video." \
    "$(recv /ok | grep '\"job.failed' | python3 -c 'import json,sys; b=json.loads(json.loads(sys.stdin.read())["body"]); print(b["data"]["error"])')"
check_eq "each delivery is an event on its job" "1|1" \
    "$(sql "SELECT string_agg(n::text, '|' ORDER BY job_id) FROM (SELECT job_id, count(*) n FROM events WHERE kind = 'webhook_delivered' AND job_id IN ($ok_job, $bad_job) GROUP BY job_id) x")"

# --- retries: after a 500, after a timeout ---
hook "http://127.0.0.1:$port/flaky"
j=$(qjob); qtasks "$j" noop 1
runjobs
check_eq "a 500 is retried, then delivered" "2|1|The webhook receiver answered 500." \
    "$(sql "SELECT (SELECT attempts FROM tasks WHERE job_id = $j AND stage = 'webhook'), count(*), max(data->>'error') FROM events WHERE job_id = $j AND kind = 'retry'")"
check_eq "delivered on attempt 2" "2|200" \
    "$(sql "SELECT data->>'attempt', data->>'status' FROM events WHERE job_id = $j AND kind = 'webhook_delivered'")"
check_eq "the receiver saw two attempts" 2 "$(recv /flaky | wc -l)"

hook "http://127.0.0.1:$port/slow"
j=$(qjob); qtasks "$j" noop 1
runjobs
check_eq "a timeout is retried, then delivered" "The webhook receiver did not answer within 5 s.|done" \
    "$(sql "SELECT max(data->>'error') FILTER (WHERE kind = 'retry'), max(t.state) FROM events e, tasks t WHERE e.job_id = $j AND t.job_id = $j AND t.stage = 'webhook'")"

# --- giving up: the job stays done ---
hook "http://127.0.0.1:$port/down"
j=$(qjob); qtasks "$j" noop 1
runjobs
check_eq "given up after max attempts" "failed|3" \
    "$(sql "SELECT state, attempts FROM tasks WHERE job_id = $j AND stage = 'webhook'")"
check_eq "an event says so" "Gave up delivering the webhook job.done after 3 attempts: The webhook receiver answered 500." \
    "$(sql "SELECT data->>'msg' FROM events WHERE job_id = $j AND kind = 'webhook_failed'")"
check_eq "the job is still done" done "$(sql "SELECT state FROM jobs WHERE id = $j")"

# --- delivery time: a private address is refused when it is connected to ---
hook "http://10.0.0.1:9/hook"
j=$(qjob); qtasks "$j" noop 1
runjobs
check_eq "a private address is refused at delivery, at once" "failed|1" \
    "$(sql "SELECT state, attempts FROM tasks WHERE job_id = $j AND stage = 'webhook'")"
check "the event names the address" grep -q "leads to 10.0.0.1" <<<"$(sql "SELECT data->>'msg' FROM events WHERE job_id = $j AND kind = 'webhook_failed'")"

# --- clip.ready, from the real publish stage, then job.done ---
hook "http://127.0.0.1:$port/clips"
j=$(sql "INSERT INTO jobs (user_id, source_kind, source_url, state) SELECT id, 'url', 'http://127.0.0.1/x', 'running' FROM users WHERE name = 't' RETURNING id" | head -1)
c=$(sql "INSERT INTO clips (job_id, rank, start_s, end_s, state) VALUES ($j, 1, 0, 10, 'rendered') RETURNING id" | head -1)
mkdir -p "$TMP/store/jobs/$j/render"
cp "$CLIPMILL_TESTDATA/intel_head-pose-face-detection-male.mp4" "$TMP/store/jobs/$j/render/$c.mp4"
cp "$CLIPMILL_TESTDATA/grace_hopper_h96919k.jpg" "$TMP/store/jobs/$j/render/$c.jpg"
sql "INSERT INTO tasks (job_id, clip_id, stage) VALUES ($j, $c, 'publish')" >/dev/null
qrun r --stage publish,webhook --idle-exit 3
qwait r 120
check_eq "the clip was published, the job done" "ready|done" "$(sql "SELECT c.state, j.state FROM clips c JOIN jobs j ON j.id = c.job_id WHERE c.id = $c")"
check_eq "clip.ready then job.done, both signed" "valid clip.ready|valid job.done" \
    "$(recv /clips | while IFS= read -r l; do python3 "$CLIPMILL_TOP/tests/webhook_verify.py" "$secret" <<<"$l"; done | sort | paste -sd'|')"
check_eq "clip.ready names the clip and its video URL, as its clip_ready event does" "$c|/clips/$c/video" \
    "$(recv /clips | grep '\"clip.ready' | python3 -c 'import json,sys; b=json.loads(json.loads(sys.stdin.read())["body"]); print("%s|%s" % (b["data"]["clip"], b["data"]["video_url"]))')"

# --- a job's own webhook_url, signed with the user's secret ---
j=$(clipmill submit --user t --first-stage test_noop --webhook-url "http://127.0.0.1:$port/perjob" http://127.0.0.1/x.mp4)
check_eq "submit keeps the job's webhook_url" "http://127.0.0.1:$port/perjob" "$(sql "SELECT options->>'webhook_url' FROM jobs WHERE id = $j")"
# the test stage noop stands in for the pipeline
sql "UPDATE tasks SET stage = 'noop' WHERE job_id = $j" >/dev/null
runjobs
check_eq "a job's webhook_url takes the place of the user's" "valid job.done|$j|1" \
    "$(recv /perjob | python3 "$CLIPMILL_TOP/tests/webhook_verify.py" "$secret")|$(recv /perjob | python3 -c 'import json,sys; print(json.loads(json.loads(sys.stdin.read())["body"])["job"])')|$(recv /clips | wc -l | awk '{print $1 / 2}')"
out=$(clipmill submit --user t --first-stage test_noop --webhook-url ftp://x http://127.0.0.1/x.mp4 2>&1)
check "a bad job webhook_url is refused, naming the option" grep -q -- "--webhook-url" <<<"$out"

# --- the JSON API: /account/webhook, each user's own ---
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1
out=$(api GET /account/webhook "")
check_eq "no key: 401" 401 "$(status_of "$out")"
out=$(api GET /account/webhook "$alice")
check_eq "none set: url null" '200|None' "$(status_of "$out")|$(jget "$(body_of "$out")" 'j["url"]')"
out=$(api PUT /account/webhook "$alice" -H 'Content-Type: application/json' --data '{"url":"ftp://127.0.0.1/x"}')
check_eq "a bad URL: 400 naming the field" '400|url' "$(status_of "$out")|$(jget "$(body_of "$out")" 'j["field"]')"
check "it says what is wrong" grep -q 'must start with http:// or https://' <<<"$out"
for a in 10.0.0.1 169.254.169.254 '[::1]'; do
	out=$(api PUT /account/webhook "$alice" -H 'Content-Type: application/json' --data "{\"url\":\"http://$a/hook\"}")
	check_eq "API: a private address ($a): 400 naming the field" '400|url' "$(status_of "$out")|$(jget "$(body_of "$out")" 'j["field"]')"
	check "API: it says the address may not be reached ($a)" grep -q 'a private or local address' <<<"$out"
done
check_eq "API: no webhook kept from the refused URLs" '' "$(sql "SELECT coalesce(webhook_url, '') FROM users WHERE name = 'alice'")"
out=$(api PUT /account/webhook "$alice" -H 'Content-Type: application/json' --data '{}')
check_eq "no URL: 400 naming the field" '400|url' "$(status_of "$out")|$(jget "$(body_of "$out")" 'j["field"]')"
out=$(api PUT /account/webhook "$alice" -H 'Content-Type: application/json' --data "{\"url\":\"http://127.0.0.1:$port/alice\"}")
asecret=$(jget "$(body_of "$out")" 'j["secret"]')
check_eq "set: 200 with the URL" "200|http://127.0.0.1:$port/alice" "$(status_of "$out")|$(jget "$(body_of "$out")" 'j["url"]')"
check "set: the secret, once" grep -Eqx '[0-9a-f]{64}' <<<"$asecret"
out=$(api GET /account/webhook "$alice")
check_eq "read back without the secret" "200|http://127.0.0.1:$port/alice|False" \
    "$(status_of "$out")|$(jget "$(body_of "$out")" 'j["url"] + "|" + str("secret" in j)')"
out=$(api GET /account/webhook "$bob")
check_eq "another user sees only their own (none)" '200|None' "$(status_of "$out")|$(jget "$(body_of "$out")" 'j["url"]')"
out=$(api PUT /account/webhook "$bob" --data-urlencode "url=http://127.0.0.1:$port/bob")
check_eq "another user sets only their own" "200|http://127.0.0.1:$port/alice|http://127.0.0.1:$port/bob" \
    "$(status_of "$out")|$(sql "SELECT string_agg(webhook_url, '|' ORDER BY name) FROM users WHERE name IN ('alice', 'bob')")"
out=$(api DELETE /account/webhook "$bob")
check_eq "delete: only one's own" "200|http://127.0.0.1:$port/alice|" \
    "$(status_of "$out")|$(sql "SELECT string_agg(coalesce(webhook_url, ''), '|' ORDER BY name) FROM users WHERE name IN ('alice', 'bob')")"
# a browser session must carry the CSRF token
jar="$TMP/cookies"
ltok=$(login_token "$jar")
curl -s -o /dev/null -b "$jar" -c "$jar" -H 'Accept: text/html' --data-urlencode "key=$alice" --data "csrf=$ltok" "$BASE/login"
out=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -X PUT -H 'Accept: application/json' --data-urlencode "url=http://127.0.0.1:$port/evil" "$BASE/account/webhook")
check_eq "a session without the CSRF token: 403, nothing changed" "403|http://127.0.0.1:$port/alice" \
    "$out|$(sql "SELECT webhook_url FROM users WHERE name = 'alice'")"
# the secret the API gave signs alice's deliveries
j=$(sql "INSERT INTO jobs (user_id, source_kind, source_url) SELECT id, 'url', 'http://127.0.0.1/x' FROM users WHERE name = 'alice' RETURNING id" | head -1)
qtasks "$j" noop 1
runjobs
check_eq "a delivery to the URL set through the API verifies with its secret" "valid job.done" \
    "$(recv /alice | python3 "$CLIPMILL_TOP/tests/webhook_verify.py" "$asecret")"

# --- removed: no more deliveries ---
check_eq "removal" "webhook of t removed" "$(clipmill user webhook t --remove)"
j=$(sql "INSERT INTO jobs (user_id, source_kind, source_url) SELECT id, 'url', 'http://127.0.0.1/x' FROM users WHERE name = 't' RETURNING id" | head -1)
qtasks "$j" noop 1
runjobs
check_eq "no delivery without a webhook" 0 "$(sql "SELECT count(*) FROM tasks WHERE job_id = $j AND stage = 'webhook'")"
done_testing
