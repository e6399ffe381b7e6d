#!/usr/bin/env bash
# clipmill.fcgi keeps key and session lookups (auth_cache_ttl, here 300 s,
# so that nothing below can be the lifetime running out), and forgets them
# in every process within a second of `clipmill user disable`, `clipmill
# user rotate-key` and a logout: two clipmill.fcgi processes on one
# database, each behind its own nginx, both asked after each change.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
newdb || exit 1
conf_set auth_cache_ttl 300
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)
carol=$(clipmill user add carol)
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1
A=$BASE
# the second process, behind a second nginx
FCGI_SOCK="$TMP/fcgi2.sock"
clipmill.fcgi --listen "unix:$FCGI_SOCK" 2>>"$TMP/fcgi2.log" &
FCGI2_PID=$!
at_exit "kill $FCGI2_PID 2>/dev/null; wait $FCGI2_PID 2>/dev/null"
wait_for 10 test -S "$FCGI_SOCK" || { cat "$TMP/fcgi2.log"; exit 1; }
mkdir -p "$TMP/n2" && TMP_SAVE=$TMP && TMP="$TMP/n2" && start_nginx && TMP=$TMP_SAVE || exit 1
B=$BASE

# code BASE KEY: the status of GET /jobs with that key.
code() { curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/json' \
    -H "Authorization: Bearer $2" "$1/jobs"; }
# ccode BASE COOKIE: the same with a session cookie.
ccode() { curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/json' \
    -H "Cookie: $2" "$1/jobs"; }
# login KEY: a session cookie (name=value) from the login form on A.
login() {
	local jar="$TMP/jar.$RANDOM" tok
	BASE=$A tok=$(BASE=$A login_token "$jar")
	curl -s -o /dev/null -D - -b "$jar" -H 'Accept: text/html' \
	    --data-urlencode "key=$1" --data "csrf=$tok" "$A/login" |
	    tr -d '\r' | sed -n 's/^Set-Cookie: \(cm_session=[0-9a-f]*\);.*/\1/p'
}
both() { echo "$($1 "$A" "$2") $($1 "$B" "$2")"; }

# --- disable: the key and the live session, in both processes ---
ack=$(login "$alice")
check "alice has a session" grep -qE '^cm_session=[0-9a-f]{64}$' <<<"$ack"
# asked twice: the second answer comes from what was kept
both code "$alice" >/dev/null; both ccode "$ack" >/dev/null
check_eq "before: alice's key works in both processes" "200 200" "$(both code "$alice")"
check_eq "before: alice's session works in both processes" "200 200" "$(both ccode "$ack")"
clipmill user disable alice >/dev/null
sleep 1
check_eq "disable: alice's key is refused in both within a second" "401 401" "$(both code "$alice")"
check_eq "disable: alice's session is refused in both within a second" "401 401" "$(both ccode "$ack")"
clipmill user enable alice >/dev/null
sleep 1
check_eq "enable: alice's key works again" "200 200" "$(both code "$alice")"

# --- rotate-key: the old key refused, the new one taken ---
both code "$bob" >/dev/null
check_eq "before: bob's key works in both" "200 200" "$(both code "$bob")"
new=$(clipmill user rotate-key bob)
sleep 1
check_eq "rotate-key: the old key is refused in both within a second" "401 401" "$(both code "$bob")"
check_eq "rotate-key: the new key works in both" "200 200" "$(both code "$new")"

# --- logout in one process ends the session in the other too ---
cck=$(login "$carol")
both ccode "$cck" >/dev/null
check_eq "before: carol's session works in both" "200 200" "$(both ccode "$cck")"
csrf=$(curl -s -H 'Accept: text/html' -H "Cookie: $cck" "$A/" |
    grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"//')
check_eq "logout on A" 303 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' \
    -H "Cookie: $cck" --data "csrf=$csrf" "$A/logout")"
check_eq "logout: A refuses the cookie at once" 401 "$(ccode "$A" "$cck")"
sleep 1
check_eq "logout: both refuse the cookie within a second" "401 401" "$(both ccode "$cck")"
check_eq "carol's key still works" "200 200" "$(both code "$carol")"

# --- a session ended in the table by hand (any SQL) is refused too ---
cck=$(login "$carol")
both ccode "$cck" >/dev/null
sql "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = 'carol')" >/dev/null
sleep 1
check_eq "a session deleted by SQL is refused in both within a second" "401 401" "$(both ccode "$cck")"
done_testing
