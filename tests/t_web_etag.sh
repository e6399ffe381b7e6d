#!/usr/bin/env bash
# GET /jobs/ID answers with a weak ETag that stays while nothing the job
# shows changes and changes with an event, a task's progress, a clip or
# the job's state; If-None-Match with it gets 304 and no body; another
# user's job is 404 even with the right ETag; after any change, by any
# program, the next GET shows it (the document each process keeps is never
# stale: sql/010's triggers NOTIFY), while a task's heartbeat alone changes
# nothing.  GET /jobs (kept per process too) shows a job made, finished or
# deleted by another program at once, and never another user's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
newdb || exit 1
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1

out=$(api POST /jobs "$alice" --data 'url=https://example.com/a.mp4&clips=1')
check_eq "a job is submitted" 201 "$(status_of "$out")"
id=$(jget "$(body_of "$out")" 'j["id"]')

# get KEY [ACCEPT [IF-NONE-MATCH]]: "STATUS ETAG BYTES" of GET /jobs/ID;
# the body in $TMP/body.
get() {
	local etag
	curl -s -o "$TMP/body" -D "$TMP/head" -w '%{http_code} %{size_download}' \
	    -H "Accept: ${2:-application/json}" -H "Authorization: Bearer $1" \
	    ${3:+-H "If-None-Match: $3"} "$BASE/jobs/$id" >"$TMP/code"
	etag=$(tr -d '\r' <"$TMP/head" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
	read -r code bytes <"$TMP/code"
	echo "$code ${etag:--} $bytes"
}
field() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$TMP/body"; }
event() {
	sql "WITH j AS (UPDATE jobs SET last_seq = last_seq + 1, updated_at = now() WHERE id = $id
	    RETURNING id, last_seq) INSERT INTO events (job_id, seq, kind) SELECT id, last_seq, '$1' FROM j" >/dev/null
}

read -r c1 e1 _ <<<"$(get "$alice")"
read -r c2 e2 _ <<<"$(get "$alice")"
check_eq "200 with an ETag" 200 "$c1"
check "the ETag is weak and quoted" grep -qE '^W/"[^"]+"$' <<<"$e1"
check_eq "the same ETag twice while nothing changes" "$e1" "$e2"
check "it may be kept for this user only, asked again each time" \
    grep -qi '^Cache-Control: private, no-cache' "$TMP/head"
read -r c b <<<"$(get "$alice" application/json "$e1" | cut -d' ' -f1,3)"
check_eq "If-None-Match with it: 304" 304 "$c"
check_eq "the 304 carries no body" 0 "$b"
check_eq "a list of tags with it: 304" 304 "$(get "$alice" application/json "\"x\", $e1" | cut -d' ' -f1)"
check_eq "If-None-Match with another tag: 200" 200 "$(get "$alice" application/json '"other"' | cut -d' ' -f1)"
check_eq "bob asking for alice's job with its ETag: 404, never 304" 404 \
    "$(get "$bob" application/json "$e1" | cut -d' ' -f1)"
check_eq "bob asking with If-None-Match: * : 404" 404 "$(get "$bob" application/json '*' | cut -d' ' -f1)"

# an event: a new ETag, and the document shows it
seq0=$(sql "SELECT last_seq FROM jobs WHERE id = $id")
event note
read -r c e3 _ <<<"$(get "$alice" application/json "$e1")"
check_eq "after an event the old ETag gets 200" 200 "$c"
check "after an event a new ETag" test "$e3" != "$e1"
check_eq "the document shows the new event" "$((seq0 + 1)) note" "$(field 'j["last_seq"], j["events"][-1]["kind"]' | tr -d '(),'"'")"
check_eq "the new ETag twice: 304" 304 "$(get "$alice" application/json "$e3" | cut -d' ' -f1)"

# a task's progress, written without an event: still seen at once
sql "UPDATE tasks SET state = 'running', progress = 40 WHERE job_id = $id" >/dev/null
read -r c e4 _ <<<"$(get "$alice" application/json "$e3")"
check_eq "after a task's progress the old ETag gets 200" 200 "$c"
check_eq "the document shows the stage at 40%" "40 1" "$(field '"%d %d" % (j["stages"][0]["pct"], j["stages"][0]["running"])')"

# a clip row, written without an event
sql "INSERT INTO clips (job_id, rank, start_s, end_s, title) VALUES ($id, 1, 0, 30, 'First')" >/dev/null
read -r c e5 _ <<<"$(get "$alice" application/json "$e4")"
check_eq "after a new clip the old ETag gets 200" 200 "$c"
check_eq "the document shows the clip" "First" "$(field 'j["clips"][0]["title"]')"
sql "UPDATE clips SET title = 'Second' WHERE job_id = $id" >/dev/null
check_eq "an edited clip is shown at once" "Second" "$(get "$alice" >/dev/null; field 'j["clips"][0]["title"]')"

# the state: cancelled by the operator
clipmill cancel "$id" >/dev/null
read -r c e6 _ <<<"$(get "$alice" application/json "$e5")"
check_eq "after a cancel the old ETag gets 200" 200 "$c"
check_eq "the next GET shows the job cancelled" cancelled "$(field 'j["state"]')"

# the page: an ETag of its own, 304 too
read -r c h1 _ <<<"$(get "$alice" text/html)"
check_eq "the page: 200 with an ETag" 200 "$c"
check "the page's ETag differs from the JSON's" test "$h1" != "$e6"
check "the page shows the job" grep -q "cancelled" "$TMP/body"
read -r c _ b <<<"$(get "$alice" text/html "$h1")"
check_eq "the page with If-None-Match: 304, no body" "304 0" "$c $b"
event note
check_eq "the page after an event: 200" 200 "$(get "$alice" text/html "$h1" | cut -d' ' -f1)"

# a task's heartbeat shows nowhere: the same ETag
read -r _ e7 _ <<<"$(get "$alice")"
sql "UPDATE tasks SET heartbeat_at = now(), runner = 'elsewhere:1:1' WHERE job_id = $id" >/dev/null
check_eq "a heartbeat alone keeps the ETag: 304" 304 "$(get "$alice" application/json "$e7" | cut -d' ' -f1)"
sql "UPDATE tasks SET message = 'half way' WHERE job_id = $id" >/dev/null
check_eq "a task's message is seen at once" "half way" "$(get "$alice" >/dev/null; field 'j["stages"][0]["message"]')"

# the list: what another program does is seen at once, per user
list() {	# KEY: the list's "id:state:clips_ready" words, newest first
	curl -s -H 'Accept: application/json' -H "Authorization: Bearer $1" "$BASE/jobs" |
	    python3 -c 'import json,sys; print(" ".join("%d:%s:%d" % (j["id"], j["state"], j["clips_ready"]) for j in json.load(sys.stdin)["jobs"]))'
}
check_eq "alice's list" "$id:cancelled:0" "$(list "$alice")"
check_eq "alice's list again (kept)" "$id:cancelled:0" "$(list "$alice")"
check_eq "bob's list is empty" "" "$(list "$bob")"
uid=$(sql "SELECT id FROM users WHERE name = 'alice'")
id2=$(sql "INSERT INTO jobs (user_id, source_kind, source_url) VALUES ($uid, 'url', 'https://example.com/b.mp4') RETURNING id" | head -1)
check_eq "a job made by another program is listed at once" "$id2:pending:0 $id:cancelled:0" "$(list "$alice")"
check_eq "and not in bob's list" "" "$(list "$bob")"
sql "UPDATE clips SET state = 'ready' WHERE job_id = $id" >/dev/null
check_eq "a clip made ready is counted at once" "$id2:pending:0 $id:cancelled:1" "$(list "$alice")"
sql "UPDATE jobs SET state = 'failed', error = 'Gone.' WHERE id = $id2" >/dev/null
check_eq "a job's new state is listed at once" "$id2:failed:0 $id:cancelled:1" "$(list "$alice")"
curl -s -H "Accept: text/html" -H "Authorization: Bearer $alice" "$BASE/jobs" >"$TMP/list.html"
check "the list's page shows both jobs" grep -q "#$id2.*failed" "$TMP/list.html"
sql "DELETE FROM jobs WHERE id = $id2" >/dev/null
check_eq "a deleted job leaves the list at once" "$id:cancelled:1" "$(list "$alice")"
get "$alice" >/dev/null
sql "DELETE FROM jobs WHERE id = $id" >/dev/null
check_eq "a deleted job is 404 at once" 404 "$(get "$alice" | cut -d' ' -f1)"
done_testing
