#!/usr/bin/env bash
# trust_remote_user: the web server authenticates (nginx auth_basic here)
# and passes REMOTE_USER; clipmill maps it to an existing user, asks for
# the CSRF token on state changes (the browser sends basic credentials on
# its own, like a cookie), and ignores REMOTE_USER when the setting is off.
# Behind the shipped nginx config without auth_basic, a client's own Basic
# header ($remote_user, unchecked) names nobody; and clipmill.fcgi will
# not trust REMOTE_USER on a TCP listener unless told its peer is trusted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set trust_remote_user yes
clipmill user add carol >/dev/null
{
	echo "carol:$(openssl passwd -apr1 carolpw)"
	echo "dave:$(openssl passwd -apr1 davepw)"
} >"$TMP/htpasswd"
start_fcgi || exit 1
c() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }

# The shipped config as it is: nginx authenticates no one here, but
# fills $remote_user from whatever Basic header a client sends.
start_nginx || exit 1
check_eq "forged Basic header, no auth_basic: not carol (401)" 401 \
    "$(c -u carol:x -H 'Accept: application/json' "$BASE/jobs")"
check_eq "forged Basic header, no auth_basic: a browser goes to the login page" \
    "303 /login" "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -u carol:x -H 'Accept: text/html' "$BASE/" | sed 's|http://[^/]*||')"
check_eq "forged Basic header: no form for carol" "" \
    "$(curl -s -u carol:x -H 'Accept: text/html' "$BASE/" | grep -o 'name="csrf" value="[0-9a-f]*"')"

# A location that authenticates sets REMOTE_USER again, as the comment
# in etc/nginx.conf shows.
NGINX_LOCATION_EXTRA="auth_basic \"clipmill\"; auth_basic_user_file $TMP/htpasswd; fastcgi_param REMOTE_USER \$remote_user;"
start_nginx || exit 1
check_eq "no credentials: nginx asks (401)" 401 "$(c -H 'Accept: application/json' "$BASE/jobs")"
check_eq "carol through the web server: 200" 200 "$(c -u carol:carolpw -H 'Accept: application/json' "$BASE/jobs")"
check_eq "dave passes the web server but is no clipmill user: 401" 401 "$(c -u dave:davepw -H 'Accept: application/json' "$BASE/jobs")"
check_eq "carol's POST without CSRF token: 403" 403 "$(c -u carol:carolpw -H 'Accept: application/json' -H 'Content-Type: application/json' -d '{"url":"https://x.org/v"}' "$BASE/jobs")"
csrf=$(curl -s -u carol:carolpw -H 'Accept: text/html' "$BASE/" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"//')
check "form for carol carries a CSRF token" test ${#csrf} -eq 64
check_eq "carol's form POST with the token: 303" 303 "$(c -u carol:carolpw -H 'Accept: text/html' --data "csrf=$csrf&url=https%3A%2F%2Fx.org%2Fv" "$BASE/jobs")"
check_eq "the job is carol's" carol "$(sql "SELECT u.name FROM jobs j JOIN users u ON u.id = j.user_id")"
stop_fcgi
conf_set trust_remote_user no
start_fcgi || exit 1
check_eq "trust_remote_user off: REMOTE_USER ignored (401)" 401 "$(c -u carol:carolpw -H 'Accept: application/json' "$BASE/jobs")"
stop_fcgi

# On TCP, whoever connects speaks FastCGI and names the user.
conf_set trust_remote_user yes
port=$(free_port)
timeout 10 clipmill.fcgi --listen "127.0.0.1:$port" 2>"$TMP/tcp.err"
check_eq "trust_remote_user on a TCP listener: refused to start" 1 "$?"
check "it says why" grep -q "trust_remote_user = yes on a TCP listener" "$TMP/tcp.err"
check "and in its log" grep -q '"event":"remote_user_on_tcp"' "$TMP/fcgi.jsonl"
conf_set trust_remote_user_tcp yes
clipmill.fcgi --listen "127.0.0.1:$port" 2>>"$TMP/tcp.err" &
tpid=$!
at_exit "kill $tpid 2>/dev/null; wait $tpid 2>/dev/null"
check "trust_remote_user_tcp = yes: it starts on TCP" wait_for 10 bash -c "echo >/dev/tcp/127.0.0.1/$port"
kill "$tpid"; wait "$tpid"
check_eq "and stops cleanly" 0 "$?"
done_testing
