#!/usr/bin/env bash
# publish against s3rver: a rendered clip and thumbnail move to
# clips/{job}/{clip}-{token}.mp4|.jpg, the render keys go, the clip row
# becomes 'ready' (a presigned URL is not kept: the web front makes one
# when the clip is asked for; a public base URL is) and a "clip_ready"
# event.  A store that keeps failing: transient errors with
# a sentence, the render kept for the retry, and an alert on the last
# attempt.  With the runner (clipmill-batch) in the tree: the whole path,
# retries with backoff, then the clip failed, a "clip_failed" event, and
# the job ending "partial" with the ready and the failed clip.
. "$(dirname "$0")/lib.sh"
. "$CLIPMILL_TOP/contrib/s3rver.sh"
newdb || exit 1
s3_start "$TMP/s3" clips || exit 1
P=$CLIPMILL_TOP/build/tests/s3_publish
S=$CLIPMILL_TOP/build/tests/s3_store
VID=$CLIPMILL_TESTDATA/intel_head-pose-face-detection-male.mp4
JPG=$CLIPMILL_TESTDATA/grace_hopper_h96919k.jpg

sql "INSERT INTO users (name, key_hash, key_prefix) VALUES ('pub', 'h', 'p')" >/dev/null
job=$(sql "INSERT INTO jobs (user_id, source_kind, source_url, state)
    SELECT id, 'url', 'http://127.0.0.1/x', 'running' FROM users RETURNING id" | head -1)
# clip rows as render's done() leaves them
newclip() {
	sql "INSERT INTO clips (job_id, rank, start_s, end_s, state, video_key, thumb_key)
	     VALUES ($1, $2, 0, 10, 'rendered', 'jobs/$1/render/x.mp4', 'jobs/$1/render/x.jpg')
	     RETURNING id" | head -1
}
render() {	# JOB CLIP: the render stage's outputs, in the store
	$S put "jobs/$1/render/$2.mp4" "$VID" video/mp4 &&
	    $S put "jobs/$1/render/$2.jpg" "$JPG" image/jpeg
}
c1=$(newclip "$job" 1)
c2=$(newclip "$job" 2)
c3=$(newclip "$job" 3)
render "$job" "$c1" && render "$job" "$c2" && render "$job" "$c3" || exit 1

# --- a clip published with presigned URLs ---------------------------------
$P run "$job" "$c1" 1 3 >"$TMP/out" 2>"$TMP/err"
check_eq "publish succeeds" "0" "$?"
check "clip is ready with its final keys" grep -Eq "^ready\|clips/$job/$c1-[0-9a-f]{32}\.mp4\|clips/$job/$c1-[0-9a-f]{32}\.jpg\|t$" \
    <<<"$(sql "SELECT state, video_key, thumb_key, ready_at IS NOT NULL FROM clips WHERE id = $c1")"
check_eq "a clip_ready event for the clip" "1" \
    "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'clip_ready' AND stage = 'publish' AND (data->>'clip')::bigint = $c1")"
$S stat "jobs/$job/render/$c1.mp4" >/dev/null 2>&1
check_eq "render video key deleted" "1" "$?"
$S stat "jobs/$job/render/$c1.jpg" >/dev/null 2>&1
check_eq "render thumbnail key deleted" "1" "$?"
check_eq "no presigned URL kept in the row (it would expire)" "|" \
    "$(sql "SELECT video_url, thumb_url FROM clips WHERE id = $c1")"
vurl=$($S url "$(sql "SELECT video_key FROM clips WHERE id = $c1")")
turl=$($S url "$(sql "SELECT thumb_key FROM clips WHERE id = $c1")")
check "video URL is presigned" grep -Eq "^http://127.0.0.1:$S3_PORT/clips/clips/$job/$c1-[0-9a-f]{32}\.mp4\?X-Amz-Algorithm=AWS4-HMAC-SHA256&" <<<"$vurl"
curl -sf -o "$TMP/v1.mp4" "$vurl"
check "the video URL serves the rendered clip" cmp -s "$VID" "$TMP/v1.mp4"
check_eq "and it is a playable H.264 video" "h264" \
    "$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 "$TMP/v1.mp4")"
curl -sf -o "$TMP/t1.jpg" "$turl"
check "the thumbnail URL serves the thumbnail" cmp -s "$JPG" "$TMP/t1.jpg"
check_eq "botocore confirms every request's signature" "" "$(s3_bad_sigs)"

# --- a public base URL ----------------------------------------------------
# s3rver serves anonymous GETs, like a public R2 bucket behind its URL
conf_set s3_public_url "http://127.0.0.1:$S3_UP/clips/"
$P run "$job" "$c2" 1 3 >"$TMP/out" 2>"$TMP/err"
check_eq "publish with a public base URL" "0" "$?"
check "URL under the public base" grep -Eq "^http://127.0.0.1:$S3_UP/clips/clips/$job/$c2-[0-9a-f]{32}\.mp4$" \
    <<<"$(sql "SELECT video_url FROM clips WHERE id = $c2")"
curl -sf -o "$TMP/v2.mp4" "$(sql "SELECT video_url FROM clips WHERE id = $c2")"
check "the public URL serves the clip" cmp -s "$VID" "$TMP/v2.mp4"
conf_set s3_public_url ""

# --- the store fails: transient, render kept, alert on the last attempt ---
echo "PUT /clips/clips/ 500" >"$S3_FAULTS"
$P run "$job" "$c3" 1 3 >"$TMP/out" 2>"$TMP/err"
check_eq "upload failure is transient" "3" "$?"
check "with a sentence saying it will be retried" grep -Eq "cannot store \"clips/$job/$c3-[0-9a-f]{32}\.mp4\" in S3: the S3 server had a problem \(HTTP 500.*will be tried again" "$TMP/err"
check "no alert before the last attempt" bash -c "! grep -q '\"alert\":true' '$TMP/err'"
$S stat "jobs/$job/render/$c3.mp4" >/dev/null
check_eq "the render is kept for the retry" "0" "$?"
check_eq "the clip is not ready" "rendered" "$(sql "SELECT state FROM clips WHERE id = $c3")"
$P run "$job" "$c3" 3 3 >"$TMP/out" 2>"$TMP/err"
check_eq "last attempt: still transient (the runner then fails the clip)" "3" "$?"
check "last attempt raises the alert log line" grep -q '"event":"publish_failed".*"alert":true' "$TMP/err"
: >"$S3_FAULTS"
$P run "$job" "$c3" 2 3 >"$TMP/out" 2>"$TMP/err"
check_eq "once the store is back, the clip publishes" "ready" \
    "$(sql "SELECT state FROM clips WHERE id = $c3")"

# a permanent store error (credentials) fails at once, with the alert
c4=$(newclip "$job" 4)
render "$job" "$c4"
printf 'AKWRONG\n' >"$TMP/wrong"
conf_set s3_access_key_file "$TMP/wrong"
$P run "$job" "$c4" 1 3 >"$TMP/out" 2>"$TMP/err"
check_eq "refused credentials: permanent" "2" "$?"
check "refused credentials: alert at once" grep -q '"event":"publish_failed".*"alert":true' "$TMP/err"
conf_set s3_access_key_file "$S3_DIR/access_key"

# --- the runner's path, when the runner is in this tree --------------------
if clipmill-batch --list-stages 2>/dev/null | grep -q '^publish\b'; then
	conf_set retry_base 0.2
	conf_set idle_exit 3
	job2=$(sql "INSERT INTO jobs (user_id, source_kind, source_url, state)
	    SELECT id, 'url', 'http://127.0.0.1/y', 'running' FROM users RETURNING id" | head -1)
	d1=$(newclip "$job2" 1)
	d2=$(newclip "$job2" 2)
	render "$job2" "$d1" && render "$job2" "$d2" || exit 1
	# only clip d2's uploads fail, every time
	echo "PUT /clips/clips/$job2/$d2- 503" >"$S3_FAULTS"
	sql "INSERT INTO tasks (job_id, clip_id, stage, max_attempts)
	     VALUES ($job2, $d1, 'publish', 3), ($job2, $d2, 'publish', 3)" >/dev/null
	timeout 120 clipmill-batch --stage publish >"$TMP/runner.out" 2>"$TMP/runner.log"
	: >"$S3_FAULTS"
	check_eq "runner: one clip ready, one failed" "ready|failed" \
	    "$(sql "SELECT string_agg(state, '|' ORDER BY rank) FROM clips WHERE job_id = $job2")"
	check_eq "runner: the failing upload was tried 3 times" "3" \
	    "$(sql "SELECT attempts FROM tasks WHERE clip_id = $d2")"
	check_eq "runner: 2 retry events, then clip_failed" "2|1" \
	    "$(sql "SELECT count(*) FILTER (WHERE kind = 'retry'), count(*) FILTER (WHERE kind = 'clip_failed') FROM events WHERE job_id = $job2")"
	check "runner: the alert is in the runner's log" grep -q '"event":"publish_failed".*"alert":true' "$TMP/runner.log"
	check_eq "runner: the job ends partial" "partial" "$(sql "SELECT state FROM jobs WHERE id = $job2")"
	$S stat "jobs/$job2/render/$d1.mp4" >/dev/null 2>&1
	check_eq "runner: the ready clip's render is deleted once recorded" "1" "$?"
	check_eq "runner: the ready clip's key has its token" "1" \
	    "$(sql "SELECT count(*) FROM clips WHERE id = $d1 AND video_key ~ '^clips/$job2/$d1-[0-9a-f]{32}[.]mp4$'")"
	check_eq "metric: clip_failed events of publish" "1" \
	    "$(sql "SELECT count(*) FROM events WHERE kind = 'clip_failed' AND stage = 'publish'")"

	# refused credentials: what users see (task, clip and job errors,
	# events) names neither the access key id nor the endpoint; the
	# runner's log does, for the operator
	job3=$(sql "INSERT INTO jobs (user_id, source_kind, source_url, state)
	    SELECT id, 'url', 'http://127.0.0.1/z', 'running' FROM users RETURNING id" | head -1)
	e1=$(newclip "$job3" 1)
	render "$job3" "$e1" || exit 1
	printf 'AKSECRETKEYID42\n' >"$TMP/wrong"
	conf_set s3_access_key_file "$TMP/wrong"
	sql "INSERT INTO tasks (job_id, clip_id, stage, max_attempts)
	     VALUES ($job3, $e1, 'publish', 3)" >/dev/null
	timeout 120 clipmill-batch --stage publish >"$TMP/runner3.out" 2>"$TMP/runner3.log"
	conf_set s3_access_key_file "$S3_DIR/access_key"
	seen=$(sql "SELECT concat_ws(' ', (SELECT string_agg(coalesce(error, ''), ' ') FROM tasks WHERE job_id = $job3),
	    (SELECT string_agg(coalesce(error, ''), ' ') FROM clips WHERE job_id = $job3),
	    (SELECT coalesce(error, '') FROM jobs WHERE id = $job3),
	    (SELECT string_agg(coalesce(data::text, ''), ' ') FROM events WHERE job_id = $job3))")
	check "runner: the refused publish failed with a sentence" \
	    grep -q 'refused the credentials (InvalidAccessKeyId)' <<<"$seen"
	check "runner: users are not shown the access key id" \
	    bash -c "! grep -q AKSECRETKEYID42 <<<\"\$1\"" _ "$seen"
	check "runner: users are not shown the S3 endpoint" \
	    bash -c "! grep -q '127.0.0.1:$S3_PORT' <<<\"\$1\"" _ "$seen"
	check "runner: the operator's log names both" \
	    grep -q "\"endpoint\":\"http://127.0.0.1:$S3_PORT\".*\"access_key_id\":\"AKSECRETKEYID42\"" "$TMP/runner3.log"
else
	echo "# the runner is not in this tree: the runner's path is not exercised"
fi
done_testing
