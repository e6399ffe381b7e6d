#!/usr/bin/env bash
# Browser sessions are kept by the server: after logout the same cookie is
# refused and cannot submit a job; `clipmill user disable` and `clipmill
# user rotate-key` end a user's live sessions (and rotate-key refuses the
# old key at once); an expired session is refused and swept; the form
# token is bound to its session.  The secret directory must be the
# service user's and closed to others, or clipmill.fcgi refuses to start.
# Over https the cookies carry the __Host- prefix (and Secure), over
# plain http neither.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set user_max_jobs 100
conf_set user_submits_per_minute 100
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1

# login KEY [CURL ARGS...]: log in through the form (its nonce cookie and
# token first); prints the Set-Cookie line of the session cookie.
login() {
	local key=$1 jar="$TMP/jar.$RANDOM" tok; shift
	tok=$(login_token "$jar")
	curl -s -o /dev/null -D - -b "$jar" -H 'Accept: text/html' \
	    --data-urlencode "key=$key" --data "csrf=$tok" "$@" "$BASE/login" |
	    tr -d '\r' | grep -i '^Set-Cookie: [^=]*cm_session='
}
# value_of SET-COOKIE-LINE: the cookie's value.
value_of() { sed 's/^[^:]*: [^=]*=\([^;]*\).*/\1/' <<<"$1"; }
# home COOKIE [CURL ARGS...]: the status and redirect of the form page.
home() {
	local ck=$1; shift
	curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' \
	    -H "Cookie: $ck" "$@" "$BASE/"
}
# csrf_of COOKIE: the form page's CSRF token for that session.
csrf_of() {
	curl -s -H 'Accept: text/html' -H "Cookie: $1" "$BASE/" |
	    grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"//'
}
# submit COOKIE CSRF: post the form; its status and redirect.
submit() {
	curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' \
	    -H "Cookie: $1" --data "csrf=$2&url=https%3A%2F%2Fexample.com%2Fa.mp4&clips=1" "$BASE/jobs"
}
njobs() { sql "SELECT count(*) FROM jobs"; }
# settled EXPECTED CMD...: CMD's output once it is EXPECTED, asking again
# for at most a second: clipmill.fcgi keeps lookups (auth_cache_ttl) and
# forgets them when the NOTIFY of a change from another program arrives.
settled() {
	local want=$1 out end=$(( $(date +%s%N) / 1000000 + 1000 )); shift
	while out=$("$@"); [ "$out" != "$want" ] &&
	    [ $(( $(date +%s%N) / 1000000 )) -lt $end ]; do sleep 0.05; done
	echo "$out"
}
LOGIN="303 $BASE/login"

# --- a session over plain http ---
set_cookie=$(login "$alice")
check "http: the cookie is a 64-digit random id, plain name, no Secure" \
    grep -qE '^Set-Cookie: cm_session=[0-9a-f]{64}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax$' <<<"$set_cookie"
sid=$(value_of "$set_cookie")
ck="cm_session=$sid"
check_eq "only the id's SHA-256 is stored, with its user and expiry" "1|alice|t" \
    "$(sql "SELECT count(*), min(u.name), bool_and(s.expires_at > now() + interval '29 days') FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = '$(printf %s "$sid" | sha256sum | cut -d' ' -f1)'")"
check_eq "the raw id is stored nowhere" 0 "$(sql "SELECT count(*) FROM sessions WHERE id_hash = '$sid'")"
check_eq "the session opens the form" "200 " "$(home "$ck")"
csrf=$(csrf_of "$ck")
out=$(submit "$ck" "$csrf")
check "the session submits a job" grep -qE "^303 $BASE/jobs/[0-9]+$" <<<"$out"

sql "UPDATE sessions SET last_seen = now() - interval '1 hour'" >/dev/null
seen() { home "$ck" >/dev/null; sql "SELECT last_seen > now() - interval '30 minutes' FROM sessions"; }
check_eq "a request records when the session was last seen" t "$(settled t seen)"

# The form token is bound to its session: a second session of the same
# user does not accept the first one's.
sid2=$(value_of "$(login "$alice")")
check_eq "a second session's token differs" 1 "$([ "$(csrf_of "cm_session=$sid2")" != "$csrf" ] && echo 1)"
check_eq "the first session's token is refused with the second's cookie (403)" 403 \
    "$(submit "cm_session=$sid2" "$csrf" | cut -d' ' -f1)"

# --- logout ends the session in the table, not only in the browser ---
out=$(curl -s -o /dev/null -D "$TMP/h" -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' \
    -H "Cookie: $ck" --data "csrf=$csrf" "$BASE/logout")
check_eq "logout: 303 to the login page" "$LOGIN" "$out"
check "logout: the browser's cookie is cleared" grep -qi '^Set-Cookie: cm_session=; Path=/; Max-Age=0' "$TMP/h"
check_eq "logout: the session's row is gone, the other session stays" 1 \
    "$(sql "SELECT count(*) FROM sessions")"
n=$(njobs)
check_eq "after logout the same cookie is sent to the login page" "$LOGIN" "$(home "$ck")"
check_eq "after logout the same cookie gets 401 from the API" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/json' -H "Cookie: $ck" "$BASE/jobs")"
check_eq "after logout the same cookie and token cannot submit a job" "$LOGIN" "$(submit "$ck" "$csrf")"
check_eq "after logout: no job was made" "$n" "$(njobs)"
check_eq "the other session still works" "200 " "$(home "cm_session=$sid2")"

# --- clipmill user disable ends live sessions ---
check_eq "disable: output" "user alice disabled" "$(clipmill user disable alice)"
check_eq "disable: the live session is refused within a second" "$LOGIN" \
    "$(settled "$LOGIN" home "cm_session=$sid2")"
check_eq "disable: alice's sessions are gone from the table" 0 \
    "$(sql "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = 'alice'")"
clipmill user enable alice >/dev/null
check_eq "enable: the ended session stays ended" "$LOGIN" "$(home "cm_session=$sid2")"
check_eq "enable: alice can log in again" 1 "$(login "$alice" | grep -c cm_session)"

# --- clipmill user rotate-key ---
bsid=$(value_of "$(login "$bob")")
check_eq "bob's session works" "200 " "$(home "cm_session=$bsid")"
new=$(clipmill user rotate-key bob)
check "rotate-key prints a new key" grep -qE '^cm_[0-9a-f]{48}$' <<<"$new"
check_eq "rotate-key: a different key" 1 "$([ "$new" != "$bob" ] && echo 1)"
oldkey() { status_of "$(api GET /jobs "$bob")"; }
check_eq "rotate-key: the old key is refused within a second (401)" 401 "$(settled 401 oldkey)"
check_eq "rotate-key: the new key works (200)" 200 "$(status_of "$(api GET /jobs "$new")")"
check_eq "rotate-key: bob's session is refused" "$LOGIN" "$(settled "$LOGIN" home "cm_session=$bsid")"
check_eq "rotate-key: no session of bob is left" 0 \
    "$(sql "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = 'bob'")"
check_eq "rotate-key: the old key cannot log in" "" "$(login "$bob")"
check_eq "rotate-key: the new key logs in" 1 "$(login "$new" | grep -c cm_session)"
check_eq "rotate-key: key_prefix follows the new key" "${new:0:10}" "$(sql "SELECT key_prefix FROM users WHERE name = 'bob'")"
clipmill user rotate-key nobody 2>"$TMP/err"
check_eq "rotate-key of an unknown user: exit 1" 1 "$?"
check "rotate-key of an unknown user: says so" grep -q 'no user named "nobody"' "$TMP/err"

# A login racing with a rotate-key makes no session: the rotation's
# transaction is held open here (the key changed, the sessions deleted)
# while a login with the old key, which found the user before, waits to
# create its session; when the rotation commits, the login is refused.
carl=$(clipmill user add carl)
coproc HOLD { psql -qXAt "$CLIPMILL_DATABASE_URL" 2>&1; }
at_exit "kill $HOLD_PID 2>/dev/null"
echo "BEGIN; UPDATE users SET key_hash = md5(key_hash), key_prefix = 'cm_rotated' WHERE name = 'carl';
DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = 'carl'); SELECT 'held';" >&"${HOLD[1]}"
read -r -t 60 held <&"${HOLD[0]}"
check_eq "race: the rotation's transaction is open" held "$held"
login "$carl" >"$TMP/race.out" &
lpid=$!
waiting() { [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO sessions%'")" = 1 ]; }
check "race: the login waits for the rotation" wait_for 60 waiting
echo "COMMIT; SELECT 'done';" >&"${HOLD[1]}"
read -r -t 60 held <&"${HOLD[0]}"
wait $lpid
check_eq "race: the login with the old key gets no session cookie" "" "$(cat "$TMP/race.out")"
check_eq "race: carl has no session" 0 \
    "$(sql "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = 'carl'")"

# --- expiry ---
esid=$(value_of "$(login "$alice")")
check_eq "a fresh session works" "200 " "$(home "cm_session=$esid")"
ehash=$(printf %s "$esid" | sha256sum | cut -d' ' -f1)
sql "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id_hash = '$ehash'" >/dev/null
check_eq "an expired session is refused" "$LOGIN" "$(home "cm_session=$esid")"
check_eq "the expired row is still there until swept" 1 "$(sql "SELECT count(*) FROM sessions WHERE id_hash = '$ehash'")"
clipmill prune >/dev/null
check_eq "clipmill prune sweeps expired sessions" 0 "$(sql "SELECT count(*) FROM sessions WHERE id_hash = '$ehash'")"
check "and leaves live ones" test "$(sql "SELECT count(*) FROM sessions WHERE expires_at > now()")" -gt 0
esid=$(value_of "$(login "$alice")")
sql "UPDATE sessions SET expires_at = now() - interval '1 second'" >/dev/null
login "$new" >/dev/null
check_eq "a login sweeps the expired sessions too" 0 "$(sql "SELECT count(*) FROM sessions WHERE expires_at <= now()")"

# --- https: the __Host- prefix and Secure ---
XFP=(-H 'X-Forwarded-Proto: https')
curl -s -D "$TMP/h" -o "$TMP/login.html" -H 'Accept: text/html' "${XFP[@]}" "$BASE/login"
check "https: the login nonce cookie is __Host-, Path=/, Secure" \
    grep -qiE '^Set-Cookie: __Host-cm_login=[0-9a-f]{32}; Path=/; HttpOnly; SameSite=Strict; Secure' "$TMP/h"
nonce=$(tr -d '\r' <"$TMP/h" | sed -n 's/^Set-Cookie: __Host-cm_login=\([0-9a-f]*\);.*/\1/p')
tok=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$TMP/login.html" | sed 's/.*value="//; s/"//')
curl -s -o /dev/null -D "$TMP/h" -H 'Accept: text/html' "${XFP[@]}" -H "Cookie: __Host-cm_login=$nonce" \
    --data-urlencode "key=$alice" --data "csrf=$tok" "$BASE/login"
check "https: the session cookie is __Host-, Path=/, Secure" \
    grep -qiE '^Set-Cookie: __Host-cm_session=[0-9a-f]{64}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure' "$TMP/h"
hsid=$(tr -d '\r' <"$TMP/h" | sed -n 's/^Set-Cookie: __Host-cm_session=\([0-9a-f]*\);.*/\1/p')
check_eq "https: the __Host- cookie opens the form" "200 " "$(home "__Host-cm_session=$hsid" "${XFP[@]}")"
check_eq "https: the same id under the plain name is refused" "$LOGIN" "$(home "cm_session=$hsid" "${XFP[@]}")"
check_eq "http: the __Host- name is not read" "$LOGIN" "$(home "__Host-cm_session=$hsid")"
hcsrf=$(curl -s -H 'Accept: text/html' "${XFP[@]}" -H "Cookie: __Host-cm_session=$hsid" "$BASE/" |
    grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"//')
check "https: the form carries a token" test ${#hcsrf} -eq 64
curl -s -o /dev/null -D "$TMP/h" -H 'Accept: text/html' "${XFP[@]}" -H "Cookie: __Host-cm_session=$hsid" \
    --data "csrf=$hcsrf" "$BASE/logout"
check "https: logout clears the __Host- cookie" grep -qi '^Set-Cookie: __Host-cm_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure' "$TMP/h"
check_eq "https: after logout the cookie is refused" "$LOGIN" "$(home "__Host-cm_session=$hsid" "${XFP[@]}")"
curl -s -D - -o /dev/null -H 'Accept: text/html' "$BASE/login" | tr -d '\r' >"$TMP/h"
check "http: the login nonce cookie has no prefix and no Secure" \
    grep -qiE '^Set-Cookie: cm_login=[0-9a-f]{32}; Path=/login; HttpOnly; SameSite=Strict$' "$TMP/h"
stop_fcgi

# --- the secret directory ---
check_eq "the default secret is no longer under /var/tmp" "/var/lib/clipmill/secret/session_secret" \
    "$(CLIPMILL_CONF=/dev/null clipmill config | sed -n 's/^session_secret_file *= *//p' | tr -d '"')"
check_eq "the test's secret directory was made 0700" 700 "$(stat -c %a "$TMP/secret")"
check_eq "the secret file is 0600" 600 "$(stat -c %a "$TMP/secret/session_secret")"
# refused DIR: clipmill.fcgi with its secret in DIR exits 1 without serving
refused() {
	conf_set session_secret_file "$1/session_secret"
	rm -f "$TMP/r.sock"
	timeout 60 clipmill.fcgi --listen "unix:$TMP/r.sock" 2>"$TMP/r.err"
}
mkdir -m 755 "$TMP/open"
refused "$TMP/open"
check_eq "secret directory 0755: refuses to start" 1 "$?"
check "secret directory 0755: names the directory and its mode" \
    grep -q "the secret directory $TMP/open has mode 0755, open to other users; make it 0700" "$TMP/r.err"
check "secret directory 0755: no secret written there" test ! -e "$TMP/open/session_secret"
check "secret directory 0755: no socket left behind" test ! -e "$TMP/r.sock"
mkdir -m 700 "$TMP/foreign"
chown nobody "$TMP/foreign"
refused "$TMP/foreign"
check_eq "secret directory of another user: refuses to start" 1 "$?"
check "secret directory of another user: names the directory and its owner" \
    grep -q "the secret directory $TMP/foreign belongs to nobody, not to $(id -un)" "$TMP/r.err"
check "and says so in its log" grep -q '"event":"auth_init_failed"' "$TMP/fcgi.jsonl"
mkdir -m 700 "$TMP/readable"
(umask 022; printf '%064d\n' 0 >"$TMP/readable/session_secret")
refused "$TMP/readable"
check_eq "a secret file others can read: refuses to start" 1 "$?"
check "a secret file others can read: says so" grep -q "the secret file $TMP/readable/session_secret has mode 0644" "$TMP/r.err"
conf_set session_secret_file "$TMP/secret/session_secret"
start_fcgi
check_eq "the right directory: it serves again" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")"
done_testing
