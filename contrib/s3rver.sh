# Private S3 for tests: sourced by tests/t_s3*.sh, t_publish*.sh and
# t_scaleout.sh after tests/lib.sh.
#
#   s3_start DIR [BUCKET]   start s3rver (contrib/s3rver.js) on a free
#                           loopback port with its data in DIR/data, and in
#                           front of it the SigV4-checking recorder
#                           (contrib/s3proxy.py); point the test's config at
#                           the recorder.  Sets S3_PORT (the endpoint's
#                           port), S3_UP (s3rver's own), S3_PID, S3_PROXY_PID,
#                           S3_DIR, S3_LOG (one JSON line per request),
#                           S3_FAULTS (see s3proxy.py), S3_ACCESS, S3_SECRET.
#   s3_stop                 stop both, by PID.
#   s3_bad_sigs             print the logged requests whose signature or
#                           payload hash botocore did not confirm.

s3_start() {
	S3_DIR=$1
	S3_BUCKET=${2:-clips}
	local top=${CLIPMILL_TOP:?} i
	mkdir -p "$S3_DIR/data"
	if [ ! -f "$top/contrib/node_modules/s3rver/package.json" ]; then
		echo "s3rver is not installed: run 'make deps' (npm install in contrib/)" >&2
		return 1
	fi
	S3_ACCESS=AKCLIPMILLTEST$RANDOM
	S3_SECRET=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
	printf '%s\n' "$S3_ACCESS" >"$S3_DIR/access_key"
	printf '%s\n' "$S3_SECRET" >"$S3_DIR/secret_key"
	chmod 600 "$S3_DIR/access_key" "$S3_DIR/secret_key"
	S3_LOG=$S3_DIR/requests.log
	S3_FAULTS=$S3_DIR/faults
	: >"$S3_LOG"
	: >"$S3_FAULTS"
	S3_UP=$(free_port)
	# s3rver makes ListObjectsV2 continuation tokens with DES, which
	# Node 20's OpenSSL 3 only offers through its legacy provider
	node --openssl-legacy-provider "$top/contrib/s3rver.js" "$S3_DIR/data" "$S3_UP" "$S3_BUCKET" \
	    "$S3_ACCESS" "$S3_SECRET" >"$S3_DIR/s3rver.log" 2>&1 &
	S3_PID=$!
	at_exit "kill $S3_PID 2>/dev/null; wait $S3_PID 2>/dev/null"
	S3_PORT=$(free_port)
	python3 "$top/contrib/s3proxy.py" "$S3_PORT" "$S3_UP" "$S3_LOG" \
	    "$S3_ACCESS:$S3_SECRET" "$S3_FAULTS" >"$S3_DIR/proxy.log" 2>&1 &
	S3_PROXY_PID=$!
	at_exit "kill $S3_PROXY_PID 2>/dev/null; wait $S3_PROXY_PID 2>/dev/null"
	if ! wait_for 30 curl -sf -o /dev/null "http://127.0.0.1:$S3_UP/$S3_BUCKET/" ||
	    ! wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"; then
		echo "s3rver or its proxy did not start:" >&2
		cat "$S3_DIR/s3rver.log" "$S3_DIR/proxy.log" >&2
		return 1
	fi
	: >"$S3_LOG"	# forget the readiness probes
	conf_set store s3
	conf_set s3_endpoint "http://127.0.0.1:$S3_PORT"
	conf_set s3_bucket "$S3_BUCKET"
	conf_set s3_region us-east-1
	conf_set s3_access_key_file "$S3_DIR/access_key"
	conf_set s3_secret_key_file "$S3_DIR/secret_key"
}

s3_stop() {
	kill "$S3_PROXY_PID" "$S3_PID" 2>/dev/null
	wait "$S3_PROXY_PID" "$S3_PID" 2>/dev/null
	return 0
}

s3_bad_sigs() {
	python3 - "$S3_LOG" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r['auth'] == 'none' or not (r['sig_ok'] and r['payload_ok']):
        print(line.strip())
PY
}
