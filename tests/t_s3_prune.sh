#!/usr/bin/env bash
# Pruning with the S3 store: a pruned job's objects (jobs/{id}/ and
# clips/{id}/) are gone from s3rver, its rows too; kept jobs keep theirs,
# including a job whose id starts with the pruned one's (1 and 10).
. "$(dirname "$0")/lib.sh"
. "$CLIPMILL_TOP/contrib/s3rver.sh"
newdb || exit 1
s3_start "$TMP/s3" clips || exit 1
conf_set keep_completed 1
conf_set keep_failed 0
S=$CLIPMILL_TOP/build/tests/s3_store
P=$CLIPMILL_TOP/build/tests/s3_publish
echo data >"$TMP/f"

sql "INSERT INTO users (name, key_hash, key_prefix) VALUES ('pr', 'h', 'p')" >/dev/null
# jobs 1 (done long ago), 10 (done, newest), 2 (failed): keep_completed 1
# keeps job 10 only; keep_failed 0 prunes job 2
for spec in "1 done 3" "10 done 1" "2 failed 2"; do
	set -- $spec
	sql "INSERT INTO jobs (id, user_id, source_kind, state, finished_at)
	     SELECT $1, id, 'upload', '$2', now() - interval '$3 hours' FROM users" >/dev/null
	for k in "jobs/$1/source.mp4" "jobs/$1/render/5.mp4" "clips/$1/5.mp4" "clips/$1/5.jpg"; do
		$S put "$k" "$TMP/f" || exit 1
	done
done
sql "INSERT INTO clips (job_id, rank, start_s, end_s, state) VALUES (1, 1, 0, 5, 'ready')" >/dev/null

n=$($P prune 2>"$TMP/err")
check_eq "two jobs pruned" "2" "$n"
check_eq "their rows are gone" "10" "$(sql "SELECT string_agg(id::text, ',') FROM jobs")"
left() { find "$S3_DIR/data/clips/$1" -name '*._S3rver_object' 2>/dev/null | wc -l; }
check_eq "job 1's objects gone from s3rver (jobs/1/)" "0" "$(left jobs/1)"
check_eq "job 1's clips gone from s3rver (clips/1/)" "0" "$(left clips/1)"
check_eq "failed job 2's objects gone" "0" "$(( $(left jobs/2) + $(left clips/2) ))"
check_eq "kept job 10's four objects remain" "4" "$(( $(left jobs/10) + $(left clips/10) ))"
$S stat clips/1/5.mp4 2>/dev/null
check_eq "a pruned clip's key answers not found" "1" "$?"
check "prefix deletes were ListObjectsV2 + DELETE" \
    test "$(grep -c '"method": "DELETE"' "$S3_LOG")" -eq 8
check_eq "botocore confirms every signature" "" "$(s3_bad_sigs)"

# the store down: pruning fails and keeps the rows to try again
s3_stop
sql "UPDATE jobs SET finished_at = now() - interval '1 day' WHERE id = 10" >/dev/null
sql "INSERT INTO jobs (id, user_id, source_kind, state, finished_at)
     SELECT 11, id, 'upload', 'done', now() FROM users" >/dev/null
$P prune >/dev/null 2>"$TMP/err"
check_eq "store down: prune fails" "2" "$?"
check "store down: says why" grep -q 'did not answer' "$TMP/err"
check_eq "store down: rows kept for the next try" "10,11" "$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM jobs")"
done_testing
