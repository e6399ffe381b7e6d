#!/usr/bin/env bash
# Clip addresses, as a user meets them behind nginx: the URLs a
# "clip_ready" event gives serve the clip and its thumbnail; published
# keys carry an unguessable token (nothing at clips/{job}/{clip}.mp4, and
# the thumbnail's token is not the clip's); one Cache-Control header on a
# download; /favicon.ico without a login.  With S3 and presigned URLs the
# address is made when the clip is asked for, so a clip still plays after
# s3_presign_expires; with s3_public_url the row keeps the public URL,
# token and all.  Migration 4 rewrites older events and drops stored
# presigned URLs; a clip published before the token still plays.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
. "$CLIPMILL_TOP/contrib/s3rver.sh"
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
P=$CLIPMILL_TOP/build/tests/s3_publish
VID=$CLIPMILL_TESTDATA/intel_head-pose-face-detection-male.mp4
JPG=$CLIPMILL_TESTDATA/grace_hopper_h96919k.jpg
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)
job=$(sql "INSERT INTO jobs (user_id, source_kind, source_url, state)
    SELECT id, 'url', 'http://127.0.0.1/x', 'running' FROM users
    WHERE name = 'alice' RETURNING id" | head -1)
# newclip JOB RANK: a clip row as render's done() leaves it
newclip() {
	sql "INSERT INTO clips (job_id, rank, start_s, end_s, state)
	     VALUES ($1, $2, 0, 10, 'rendered') RETURNING id" | head -1
}
# rendered JOB CLIP: render's outputs in the file store
rendered() {
	mkdir -p "$TMP/store/jobs/$1/render"
	cp "$VID" "$TMP/store/jobs/$1/render/$2.mp4"
	cp "$JPG" "$TMP/store/jobs/$1/render/$2.jpg"
}
# event_url CLIP FIELD: the URL the clip's clip_ready event gives
event_url() {
	sql "SELECT data->>'$2' FROM events WHERE kind = 'clip_ready'
	     AND (data->>'clip')::bigint = $1"
}
# get PATH OUT: GET as alice, following redirects; prints the status
get() {
	curl -s -L -o "$2" -D "$TMP/h" -w '%{http_code}' \
	    -H "Authorization: Bearer $alice" "$BASE$1"
}
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1

# --- a file store behind nginx (X-Accel-Redirect) ---------------------------
c1=$(newclip "$job" 1)
rendered "$job" "$c1"
$P run "$job" "$c1" 1 3 >"$TMP/out" 2>"$TMP/err"
check_eq "publish succeeds" 0 "$?"
vkey=$(sql "SELECT video_key FROM clips WHERE id = $c1")
tkey=$(sql "SELECT thumb_key FROM clips WHERE id = $c1")
check "the clip's key carries a token" grep -Eq "^clips/$job/$c1-[0-9a-f]{32}\.mp4$" <<<"$vkey"
check "the thumbnail's key carries a token" grep -Eq "^clips/$job/$c1-[0-9a-f]{32}\.jpg$" <<<"$tkey"
check "the thumbnail's token is not the clip's" test "${vkey%.mp4}" != "${tkey%.jpg}"
check "nothing at the guessable key" test ! -e "$TMP/store/clips/$job/$c1.mp4"
check "the render copies are gone once recorded" test ! -e "$TMP/store/jobs/$job/render/$c1.mp4"
vurl=$(event_url "$c1" video_url)
turl=$(event_url "$c1" thumb_url)
check_eq "the event gives the clip's address" "/clips/$c1/video" "$vurl"
check_eq "the event gives the thumbnail's address" "/clips/$c1/thumbnail" "$turl"
check_eq "the event's clip URL answers 200" 200 "$(get "$vurl" "$TMP/v.mp4")"
check "and serves the clip" cmp -s "$VID" "$TMP/v.mp4"
check_eq "a download has one Cache-Control header" 1 "$(grep -ci '^Cache-Control:' "$TMP/h")"
check "and it keeps the clip private" grep -qi '^Cache-Control: private' "$TMP/h"
check_eq "the event's thumbnail URL answers 200" 200 "$(get "$turl" "$TMP/t.jpg")"
check "and serves the thumbnail" cmp -s "$JPG" "$TMP/t.jpg"
check_eq "bob gets 404 for alice's clip" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $bob" "$BASE$vurl")"
out=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/favicon.ico")
check_eq "/favicon.ico without a login: 204, not 401" 204 "$out"

# a clip published before the token (its row holds the old key)
mkdir -p "$TMP/store/clips/$job"
cp "$VID" "$TMP/store/clips/$job/9.mp4"
old=$(sql "INSERT INTO clips (job_id, rank, start_s, end_s, state, video_key, video_url)
    VALUES ($job, 9, 0, 10, 'ready', 'clips/$job/9.mp4', '/files/clips/$job/9.mp4') RETURNING id" | head -1)
check_eq "a clip published before the token still plays" 200 "$(get "/clips/$old/video" "$TMP/o.mp4")"
check "with its bytes" cmp -s "$VID" "$TMP/o.mp4"
check_eq "and one Cache-Control header" 1 "$(grep -ci '^Cache-Control:' "$TMP/h")"

# --- migration 4: older events and stored presigned URLs -------------------
sql "INSERT INTO events (job_id, seq, kind, stage, data) VALUES ($job, 900,
    'clip_ready', 'publish', '{\"clip\": $old, \"video_url\": \"/files/clips/$job/9.mp4\",
    \"thumb_url\": null, \"msg\": \"A clip is ready.\"}')" >/dev/null
sql "UPDATE clips SET video_url = 'http://s3/clips/x.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab'
    WHERE id = $old" >/dev/null
# Run it again as `clipmill migrate` ran it (later migrations may follow it).
psql -qXAt -v ON_ERROR_STOP=1 "$CLIPMILL_DATABASE_URL" -1 \
    -f "$CLIPMILL_TOP/sql/004_clip_urls.sql" >/dev/null
check_eq "migration 4 rewrites an older event's URL to one that works" \
    "/clips/$old/video|" "$(sql "SELECT data->>'video_url', data->>'thumb_url' FROM events WHERE job_id = $job AND seq = 900")"
check_eq "the rewritten URL answers 200" 200 "$(get "$(event_url "$old" video_url)" "$TMP/o2.mp4")"
check_eq "migration 4 drops a stored presigned URL" "" \
    "$(sql "SELECT video_url FROM clips WHERE id = $old")"

# --- S3, presigned: made when the clip is asked for -------------------------
stop_fcgi
s3_start "$TMP/s3" clips || exit 1
S=$CLIPMILL_TOP/build/tests/s3_store
conf_set s3_presign_expires 2
c2=$(newclip "$job" 2)
$S put "jobs/$job/render/$c2.mp4" "$VID" video/mp4 &&
    $S put "jobs/$job/render/$c2.jpg" "$JPG" image/jpeg || exit 1
$P run "$job" "$c2" 1 3 >"$TMP/out" 2>"$TMP/err"
check_eq "S3: publish succeeds" 0 "$?"
check "S3: the key carries a token" grep -Eq "^clips/$job/$c2-[0-9a-f]{32}\.mp4$" \
    <<<"$(sql "SELECT video_key FROM clips WHERE id = $c2")"
check_eq "S3: no presigned URL is kept in the row" "|" \
    "$(sql "SELECT video_url, thumb_url FROM clips WHERE id = $c2")"
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
sleep 3		# longer than s3_presign_expires: a URL made at publish is dead
out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' \
    -H "Authorization: Bearer $alice" "$BASE$(event_url "$c2" video_url)")
check "S3: the event's URL redirects to a presigned one" \
    grep -Eq "^302 http://127.0.0.1:$S3_PORT/clips/clips/$job/$c2-[0-9a-f]{32}\.mp4\?X-Amz-" <<<"$out"
check_eq "S3: after s3_presign_expires the clip still plays" 200 \
    "$(get "$(event_url "$c2" video_url)" "$TMP/v2.mp4")"
check "S3: with its bytes" cmp -s "$VID" "$TMP/v2.mp4"
check_eq "S3: the thumbnail too" 200 "$(get "$(event_url "$c2" thumb_url)" "$TMP/t2.jpg")"
check "S3: with its bytes" cmp -s "$JPG" "$TMP/t2.jpg"

# --- S3 behind a public base URL: the row keeps the lasting URL -------------
conf_set s3_public_url "http://127.0.0.1:$S3_UP/clips/"
c3=$(newclip "$job" 3)
$S put "jobs/$job/render/$c3.mp4" "$VID" video/mp4 &&
    $S put "jobs/$job/render/$c3.jpg" "$JPG" image/jpeg || exit 1
$P run "$job" "$c3" 1 3 >"$TMP/out" 2>"$TMP/err"
pub=$(sql "SELECT video_url FROM clips WHERE id = $c3")
check "public URL: under the base, with the token" \
    grep -Eq "^http://127.0.0.1:$S3_UP/clips/clips/$job/$c3-[0-9a-f]{32}\.mp4$" <<<"$pub"
check "public URL: serves the clip" cmp -s "$VID" <(curl -sf "$pub")
check_eq "public URL: the sequential address is not there" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$S3_UP/clips/clips/$job/$c3.mp4")"
check_eq "botocore confirms every request's signature" "" "$(s3_bad_sigs)"
done_testing
