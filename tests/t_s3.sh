#!/usr/bin/env bash
# The S3 store against a real s3rver on 127.0.0.1: round trips (small and
# 20 MB multipart), stat, delete, prefix delete with continuation, public
# and presigned URLs; every request's SigV4 signature and payload hash
# recomputed by botocore (s3rver itself checks V2 only); then the errors a
# user meets: wrong secret, unknown key id, missing bucket, a multipart
# upload that fails (aborted, nothing left behind), a full local disk, a
# stopped server.
. "$(dirname "$0")/lib.sh"
. "$CLIPMILL_TOP/contrib/s3rver.sh"
newdb || exit 1
s3_start "$TMP/s3" clips || exit 1
conf_set s3_multipart_threshold_mb 5
conf_set s3_part_size_mb 5
S=$CLIPMILL_TOP/build/tests/s3_store
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

# count_log JQ-ish filter: requests in the log matching METHOD and a path regex
count_req() {
	python3 - "$S3_LOG" "$1" "$2" <<'PY'
import json, re, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r['method'] == sys.argv[2] and re.search(sys.argv[3], r['path']):
        n += 1
print(n)
PY
}

# --- round trips ---------------------------------------------------------
printf 'hello, clipmill\n' >"$TMP/small"
$S put jobs/1/small.txt "$TMP/small" text/plain 2>"$TMP/err"
check_eq "small put" "0" "$?"
check_eq "small put is one plain PUT" "1" "$(count_req PUT '^/clips/jobs/1/small.txt$')"
check_eq "stat gives the size" "16" "$($S stat jobs/1/small.txt | cut -d' ' -f1)"
$S get jobs/1/small.txt "$TMP/small.out" 2>"$TMP/err"
check_eq "small get" "0" "$?"
check "small round trip is byte-exact" cmp -s "$TMP/small" "$TMP/small.out"
check_eq "stored in s3rver's bucket" "hello, clipmill" \
    "$(curl -s "http://127.0.0.1:$S3_UP/clips/jobs/1/small.txt")"

head -c 20971520 /dev/urandom >"$TMP/big"
$S put jobs/1/big.bin "$TMP/big" video/mp4 2>"$TMP/err"
check_eq "20 MB put" "0" "$?"
check_eq "multipart: one initiate" "1" "$(count_req POST 'big.bin\?uploads=$')"
check_eq "multipart: four 5 MiB parts" "4" "$(count_req PUT 'big.bin\?partNumber=[1-4]&uploadId=')"
check_eq "multipart: one complete" "1" "$(count_req POST 'big.bin\?uploadId=')"
check_eq "20 MB stat" "20971520" "$($S stat jobs/1/big.bin | cut -d' ' -f1)"
$S get jobs/1/big.bin "$TMP/big.out" 2>"$TMP/err"
check_eq "20 MB get" "0" "$?"
check "20 MB round trip is byte-exact" cmp -s "$TMP/big" "$TMP/big.out"
check_eq "no temporary file left beside the download" "" \
    "$(ls "$TMP" | grep '\.part\.' || true)"

$S stat jobs/1/nothing 2>"$TMP/err"
check_eq "stat of a missing key: not found" "1" "$?"
$S get jobs/1/nothing "$TMP/nothing" 2>"$TMP/err"
check_eq "get of a missing key: not found" "1" "$?"
check "failed get leaves no file" test ! -e "$TMP/nothing"
$S del jobs/1/small.txt && $S stat jobs/1/small.txt 2>/dev/null
check_eq "deleted key is gone" "1" "$?"

# prefix delete, listing two keys per page so continuation tokens are used
for i in 1 2 3 4 5; do $S put "jobs/2/k$i" "$TMP/small" || break; done
$S put jobs/20/keep "$TMP/small"
echo "LISTPAGE 2" >"$S3_FAULTS"
$S delprefix jobs/2/ 2>"$TMP/err"
check_eq "prefix delete" "0" "$?"
: >"$S3_FAULTS"
check "prefix delete followed continuation tokens" \
    test "$(count_req GET 'list-type=2.*continuation-token=|continuation-token=.*list-type=2')" -ge 1
left=0
for i in 1 2 3 4 5; do $S stat "jobs/2/k$i" >/dev/null 2>&1 && left=$((left + 1)); done
check_eq "every key under the prefix deleted" "0" "$left"
$S stat jobs/20/keep >/dev/null
check_eq "a key outside the prefix (jobs/20/) kept" "0" "$?"

# --- URLs ----------------------------------------------------------------
u=$($S url jobs/1/big.bin 300)
check "presigned URL is signed for 300 s" grep -q 'X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=' <<<"$u"
curl -sf -o "$TMP/viaurl" "$u"
check "presigned URL downloads the object" cmp -s "$TMP/big" "$TMP/viaurl"
check_eq "presigned URL's signature confirmed by botocore" "1" \
    "$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if (lambda r: r["auth"]=="query" and r["sig_ok"])(json.loads(l))))' "$S3_LOG")"
# the published AWS example in tests/unit/s3_sigv4.c, recomputed by botocore
want=$(grep -o 'aeeed9bb[0-9a-f]*' "$CLIPMILL_TOP/tests/unit/s3_sigv4.c" | head -1)
got=$(python3 - <<'PY'
import datetime, botocore.auth
from botocore.credentials import Credentials
from botocore.awsrequest import AWSRequest
botocore.auth.get_current_datetime = lambda *a, **k: datetime.datetime(2013, 5, 24)
r = AWSRequest(method='GET', url='https://examplebucket.s3.amazonaws.com/test.txt')
botocore.auth.S3SigV4QueryAuth(Credentials('AKIAIOSFODNN7EXAMPLE',
    'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'), 's3', 'us-east-1', 86400).add_auth(r)
print(r.url.rsplit('X-Amz-Signature=', 1)[1])
PY
)
check_eq "unit test's AWS example signature agrees with botocore" "$want" "$got"
conf_set s3_public_url "https://media.example.org/c/"
check_eq "public base URL" "https://media.example.org/c/clips/9/1.mp4" "$($S url clips/9/1.mp4)"
conf_set s3_public_url ""

# virtual-hosted addressing: BUCKET.s3.localhost (curl resolves *.localhost
# to loopback itself)
conf_set s3_path_style no
conf_set s3_endpoint "http://s3.localhost:$S3_PORT"
$S put jobs/3/v.txt "$TMP/small" && $S get jobs/3/v.txt "$TMP/v.out"
check_eq "virtual-hosted round trip" "0" "$?"
check_eq "virtual-hosted requests go to the bucket's host name" "2" \
    "$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["host"].startswith("clips.s3.localhost:")))' "$S3_LOG")"
conf_set s3_path_style yes
conf_set s3_endpoint "http://127.0.0.1:$S3_PORT"

# keys from the environment when no key files are configured
conf_set s3_access_key_file ""
conf_set s3_secret_key_file ""
AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET $S put jobs/3/env.txt "$TMP/small"
check_eq "keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY" "0" "$?"
$S put jobs/3/env.txt "$TMP/small" 2>"$TMP/err"
check "no keys anywhere: a sentence saying where to put them" \
    grep -q 's3_access_key_file or the environment variable AWS_ACCESS_KEY_ID' "$TMP/err"
conf_set s3_access_key_file "$S3_DIR/access_key"
conf_set s3_secret_key_file "$S3_DIR/secret_key"

# --- every request so far: signature and payload hash recomputed --------
n=$(wc -l <"$S3_LOG")
check "requests were recorded" test "$n" -ge 25
bad=$(s3_bad_sigs)
check_eq "botocore confirms every signature and x-amz-content-sha256" "" "$bad"
check_eq "payload hashes are real, never UNSIGNED-PAYLOAD" "0" \
    "$(grep -c 'UNSIGNED' "$S3_LOG" || true)"

# --- errors ----------------------------------------------------------------
printf 'WRONG%s\n' "$S3_SECRET" >"$TMP/wrong_secret"
conf_set s3_secret_key_file "$TMP/wrong_secret"
$S put jobs/4/a "$TMP/small" 2>"$TMP/err"
check_eq "wrong secret: permanent error" "2" "$?"
check "wrong secret: says the credentials were refused" \
    grep -q 'refused the credentials (SignatureDoesNotMatch)' "$TMP/err"
conf_set s3_secret_key_file "$S3_DIR/secret_key"
printf 'AKNOSUCHKEY\n' >"$TMP/wrong_access"
conf_set s3_access_key_file "$TMP/wrong_access"
$S get jobs/1/big.bin "$TMP/x" 2>"$TMP/err"
check_eq "unknown key id: permanent error" "2" "$?"
check "unknown key id: s3rver's InvalidAccessKeyId in the sentence" \
    grep -q 'refused the credentials (InvalidAccessKeyId)' "$TMP/err"
check "unknown key id: the sentence does not name the key (users may see it)" \
    bash -c "! grep -v '^{' '$TMP/err' | grep -q AKNOSUCHKEY"
check "unknown key id: the log does, for the operator" \
    grep -q '"event":"s3_refused".*"access_key_id":"AKNOSUCHKEY"' "$TMP/err"
conf_set s3_access_key_file "$S3_DIR/access_key"

conf_set s3_bucket nosuchbucket
$S put jobs/4/a "$TMP/small" 2>"$TMP/err"
check_eq "missing bucket on put: permanent error" "2" "$?"
check "missing bucket: says so" grep -q 'the S3 bucket "nosuchbucket" does not exist' "$TMP/err"
$S stat jobs/4/a 2>"$TMP/err"
check_eq "missing bucket on stat: an error, not 'no such key'" "2" "$?"
conf_set s3_bucket clips

# a multipart upload whose part 2 keeps failing: retried, then aborted
echo "PUT partNumber=2 500" >"$S3_FAULTS"
: >"$S3_LOG"
$S put jobs/5/big.bin "$TMP/big" 2>"$TMP/err"
check_eq "failing multipart upload: transient error" "3" "$?"
: >"$S3_FAULTS"
check_eq "the failing part was tried 3 times" "3" "$(count_req PUT 'partNumber=2&')"
check_eq "the upload was aborted" "1" "$(count_req DELETE 'big.bin\?uploadId=')"
check_eq "no multipart upload left in s3rver" "" \
    "$(find "$S3_DIR/data" -path '*uploads*' -type f)"
$S stat jobs/5/big.bin 2>/dev/null
check_eq "no object from the failed upload" "1" "$?"
check_eq "abort signed correctly too" "" "$(s3_bad_sigs)"

# a full local disk while downloading: transient, no partial file
mkdir -p "$TMP/tiny"
if mount -t tmpfs -o size=1m tmpfs "$TMP/tiny" 2>/dev/null; then
	at_exit "umount '$TMP/tiny'"
	$S get jobs/1/big.bin "$TMP/tiny/big" 2>"$TMP/err"
	check_eq "disk full on download: transient error" "3" "$?"
	check "disk full: says so" grep -q 'No space left on device' "$TMP/err"
	check_eq "disk full: no partial file left" "" "$(ls -A "$TMP/tiny")"
else
	echo "ok disk full on download # skip: cannot mount a tmpfs here"
fi

# the server stopped: transient, with a sentence
s3_stop
$S put jobs/6/a "$TMP/small" 2>"$TMP/err"
check_eq "stopped server: transient error" "3" "$?"
check "stopped server: says the endpoint did not answer" \
    grep -q "the S3 endpoint did not answer" "$TMP/err"
check "stopped server: the sentence does not name the endpoint" \
    bash -c "! grep -v '^{' '$TMP/err' | grep -q '127.0.0.1:$S3_PORT'"
check "stopped server: the log does" \
    grep -q "\"event\":\"s3_unreachable\".*\"endpoint\":\"http://127.0.0.1:$S3_PORT\"" "$TMP/err"
$S stat jobs/1/big.bin 2>"$TMP/err"
check_eq "stopped server on stat: transient too" "3" "$?"
done_testing
