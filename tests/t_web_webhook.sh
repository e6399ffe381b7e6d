#!/usr/bin/env bash
# The webhook as a user sets it in the browser: the account page refuses a
# private address beside the field, keeps a receiver's address and shows
# its secret once; a job of that user that ends is delivered to the
# receiver, signed with the secret the page showed.  Screenshots:
# build/test-artifacts/web_account-{390,1280}.png.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
need_browser
newdb || exit 1
conf_set test_stages yes
conf_set fetch_allow_cidrs 127.0.0.1/32
conf_set idle_exit 2
alice=$(clipmill user add alice)
start_fcgi || exit 1
start_nginx || exit 1

python3 "$CLIPMILL_TOP/tests/webhook_receiver.py" "$TMP/port" "$TMP/recv.log" &
at_exit "kill $! 2>/dev/null"
wait_for 20 test -s "$TMP/port" || { not_ok "receiver started"; exit 1; }
hook="http://127.0.0.1:$(cat "$TMP/port")/ok"
: >"$TMP/recv.log"

node "$CLIPMILL_TOP/tests/browser/webhook.js" "$BASE" "$alice" "$hook" \
    "$CLIPMILL_TOP/build/test-artifacts/web_account" >"$TMP/node.out" 2>&1
check_eq "the browser checks ran" 0 $?
grep -v '^secret ' "$TMP/node.out"
secret=$(sed -n 's/^secret //p' "$TMP/node.out")
check_eq "the address the page kept" "$hook" "$(sql "SELECT webhook_url FROM users WHERE name = 'alice'")"

# A job of alice's ends (a test stage stands for the pipeline).
job=$(sql "INSERT INTO jobs (user_id, source_kind, source_url) SELECT id, 'url',
     'http://127.0.0.1/x' FROM users WHERE name = 'alice' RETURNING id" | head -1)
sql "INSERT INTO tasks (job_id, stage) VALUES ($job, 'noop');
     SELECT pg_notify('clipmill_tasks', 'noop')" >/dev/null
clipmill-batch --stage noop,webhook --idle-exit 3 >"$TMP/runner.out" 2>"$TMP/runner.log"
check_eq "the job ended" done "$(sql "SELECT state FROM jobs WHERE id = $job")"
check_eq "one delivery reached the receiver" 1 "$(grep -c '"/ok"' "$TMP/recv.log")"
check_eq "it verifies with the secret the page showed" "valid job.done" \
    "$(grep '"/ok"' "$TMP/recv.log" | python3 "$CLIPMILL_TOP/tests/webhook_verify.py" "$secret")"

# A script's POST acts as PUT (or DELETE with "remove"), in JSON.
out=$(api POST /account/webhook "$alice" -d "url=$hook")
check_eq "a script's POST sets it, answered in JSON" "200|$hook|64" \
    "$(status_of "$out")|$(jget "$(body_of "$out")" 'j["url"] + "|" + str(len(j["secret"]))')"
out=$(api POST /account/webhook "$alice" -d remove=1)
check_eq "a script's POST with remove removes it" "200|None" "$(status_of "$out")|$(jget "$(body_of "$out")" 'j["url"]')"
done_testing
