#!/usr/bin/env bash
# The same front behind Apache with mod_proxy_fcgi (private config from
# etc/apache.conf, on a free loopback port): key auth through CGIPassAuth,
# login and a multipart form submission with a real video, a long-poll,
# and clip files: an ownership check, then an X-Sendfile header that
# mod_xsendfile answers from the store directory, which is not served
# otherwise.  With trust_remote_user, a client's own Basic header (CGIPassAuth
# passes it on) names nobody: Apache sets REMOTE_USER only after it
# authenticated someone itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set file_delivery x-sendfile
VIDEO="$CLIPMILL_TESTDATA/tears_of_steel_clip01_640x360.mp4"
alice=$(clipmill user add alice)
FPORT=$(free_port)
clipmill.fcgi --listen "127.0.0.1:$FPORT" 2>>"$TMP/fcgi.log" &
FCGI_PID=$!
at_exit "kill $FCGI_PID 2>/dev/null; wait $FCGI_PID 2>/dev/null"
wait_for 10 bash -c "echo >/dev/tcp/127.0.0.1/$FPORT" || exit 1

APORT=$(free_port)
A="$TMP/apache"
mkdir -p "$A"
M=/usr/lib/apache2/modules
{
	cat <<CONF
ServerRoot $A
ServerName 127.0.0.1
Listen 127.0.0.1:$APORT
PidFile $A/httpd.pid
DefaultRuntimeDir $A
Mutex file:$A default
ErrorLog $A/error.log
LogLevel warn
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule proxy_module $M/mod_proxy.so
LoadModule proxy_fcgi_module $M/mod_proxy_fcgi.so
LoadModule xsendfile_module $M/mod_xsendfile.so
LoadModule mime_module $M/mod_mime.so
TypesConfig /etc/mime.types
CONF
	[ "$(id -u)" -eq 0 ] && printf 'User www-data\nGroup www-data\n'
	sed -e "s|/var/lib/clipmill/store/|$TMP/store/|g" \
	    -e "s|fcgi://127.0.0.1:9000/|fcgi://127.0.0.1:$FPORT/|" \
	    -e "s|LimitRequestBody 2148532224|LimitRequestBody $((3 * 1024 * 1024))|" \
	    -e 's|[[:space:]]*# @[A-Z_]*@$||' \
	    "$CLIPMILL_TOP/etc/apache.conf"
} >"$A/httpd.conf"
apache2 -t -f "$A/httpd.conf" >"$A/t.out" 2>&1 || { cat "$A/t.out"; exit 1; }
apache2 -f "$A/httpd.conf" -DFOREGROUND 2>>"$A/stderr" &
APID=$!
at_exit "kill -TERM $APID 2>/dev/null; wait $APID 2>/dev/null"
BASE="http://127.0.0.1:$APORT"
check "Apache starts" wait_for 10 curl -s -o /dev/null "$BASE/healthz"

check_eq "Apache: healthz" ok "$(jget "$(curl -s "$BASE/healthz")" 'j["status"]')"
check_eq "Apache: no key 401" 401 "$(status_of "$(api GET /jobs "")")"
out=$(api POST /jobs "$alice" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v","clips":2}')
check_eq "Apache: key passed through, JSON submit 201" 201 "$(status_of "$out")"
j1=$(jget "$(body_of "$out")" 'j["id"]')

jar="$TMP/cookies"
ltok=$(login_token "$jar")
out=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" -H 'Accept: text/html' --data-urlencode "key=$alice" --data "csrf=$ltok" "$BASE/login")
check_eq "Apache: login 303" 303 "$out"
csrf=$(curl -s -b "$jar" -H 'Accept: text/html' "$BASE/" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"//')
check "Apache: form with CSRF token" test ${#csrf} -eq 64
out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b "$jar" -H 'Accept: text/html' \
    -F "csrf=$csrf" -F "clips=1" -F "file=@$VIDEO;type=video/mp4" "$BASE/jobs")
j2=$(sed 's|.*/jobs/||' <<<"$out")
check_eq "Apache: multipart form 303 to the job" "303 $BASE/jobs/$j2" "$out"
check "Apache: the upload stored byte for byte" cmp -s "$VIDEO" "$TMP/store/jobs/$j2/upload.mp4"
out=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -H 'Accept: text/html' -F "clips=1" -F "file=@$VIDEO" "$BASE/jobs")
check_eq "Apache: form without CSRF 403" 403 "$out"

api GET "/jobs/$j1/events?after=1&timeout=10" "$alice" >"$TMP/lp" &
cpid=$!
sleep 0.7
sql "WITH j AS (UPDATE jobs SET last_seq = last_seq + 1 WHERE id = $j1 RETURNING id, last_seq)
     INSERT INTO events (job_id, seq, kind) SELECT id, last_seq, 'progress' FROM j
     RETURNING pg_notify('clipmill_events', $j1::text)" >/dev/null
wait $cpid
check_eq "Apache: long-poll answered with the event" "progress 2" "$(jget "$(body_of "$(cat "$TMP/lp")")" 'j["events"][0]["kind"] + " " + str(j["next"])')"

mkdir -p "$TMP/store/clips/$j2"
cp "$VIDEO" "$TMP/store/clips/$j2/1.mp4"
cid=$(sql "INSERT INTO clips (job_id, rank, start_s, end_s, state, video_key) VALUES ($j2, 1, 0, 10, 'ready', 'clips/$j2/1.mp4') RETURNING id")
curl -s -D "$TMP/h" -o "$TMP/clip.mp4" -H "Authorization: Bearer $alice" "$BASE/clips/$cid/video"
check_eq "Apache: clip video 200, video/mp4" "200 video/mp4" \
    "$(awk 'NR == 1 { s = $2 } tolower($1) == "content-type:" { t = $2 } END { print s, t }' "$TMP/h" | tr -d '\r')"
check "Apache: clip bytes sent by Apache from the store" cmp -s "$VIDEO" "$TMP/clip.mp4"
check_eq "Apache: the local path is not shown" "0" "$(grep -ci 'x-sendfile' "$TMP/h")"
check_eq "Apache: one Cache-Control, private" "Cache-Control: private, no-cache" \
    "$(grep -i '^Cache-Control:' "$TMP/h" | tr -d '\r')"
check_eq "Apache: /favicon.ico without a login, 204" 204 "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/favicon.ico")"
out=$(curl -s -o "$TMP/part" -w '%{http_code}' -r 1000-1999 -H "Authorization: Bearer $alice" "$BASE/clips/$cid/video")
check_eq "Apache: a range of the clip, 206" 206 "$out"
check "Apache: the range's bytes" cmp -s "$TMP/part" <(tail -c +1001 "$VIDEO" | head -c 1000)
check_eq "Apache: the store is not served, even to the clip's owner" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $alice" "$BASE/files/clips/$j2/1.mp4")"
check_eq "Apache: other user's clip 404" 404 "$(status_of "$(api GET "/clips/$cid/video" "$(clipmill user add bob)")")"

# trust_remote_user behind the shipped config, which authenticates no one:
# a forged Basic header (and a Remote-User header) must not make alice.
# The listener is TCP here, so the operator says the port is private.
kill "$FCGI_PID"; wait "$FCGI_PID"
conf_set trust_remote_user yes
conf_set trust_remote_user_tcp yes
clipmill.fcgi --listen "127.0.0.1:$FPORT" 2>>"$TMP/fcgi.log" &
FCGI_PID=$!
at_exit "kill $FCGI_PID 2>/dev/null; wait $FCGI_PID 2>/dev/null"
wait_for 10 bash -c "echo >/dev/tcp/127.0.0.1/$FPORT" || exit 1
check_eq "Apache: forged Basic header is not alice (401)" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -u alice:x -H 'Accept: application/json' "$BASE/jobs")"
check_eq "Apache: forged Basic and Remote-User headers: a browser goes to the login page" "303 /login" \
    "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -u alice:x -H 'Remote-User: alice' -H 'Accept: text/html' "$BASE/" | sed 's|http://[^/]*||')"
check_eq "Apache: the key still works" 200 "$(status_of "$(api GET /jobs "$alice")")"
done_testing
