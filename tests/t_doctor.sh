#!/usr/bin/env bash
# clipmill doctor against the build tree: every check ok on a working
# set-up (database, store, scratch, models, yt-dlp, FastCGI socket,
# runners, an OpenAI-compatible endpoint), then each failure it reports,
# with exit status 1 and the line that says what to do.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
newdb || exit 1
conf_set log_file "$TMP/clipmill.log"
start_fcgi || { not_ok "clipmill.fcgi started"; exit 1; }
conf_set fcgi_listen "unix:$FCGI_SOCK"

# An OpenAI-compatible endpoint: GET /v1/models answers 200 with the key.
port=$(free_port)
echo "sk-doctor" >"$TMP/llm.key"
python3 - "$port" >"$TMP/llm.log" 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/v1/models" and self.headers.get("Authorization") == "Bearer sk-doctor"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"data":[]}')
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
llm=$!
at_exit "kill $llm 2>/dev/null; wait $llm 2>/dev/null"
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$port/v1/models"
conf_set select_backend llm
conf_set llm_base_url "http://127.0.0.1:$port/v1"
conf_set llm_key_file "$TMP/llm.key"

# A runner idling connected, as cron's are.
clipmill-batch --stage fetch --idle-exit 600 2>>"$TMP/runner.log" &
runner=$!
at_exit "kill $runner 2>/dev/null; wait $runner 2>/dev/null"
wait_for 10 test "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'clipmill-batch'")" -gt 0

# doctor ARGS...: its output in $out, its exit status in $rc.
doctor() { out=$(clipmill doctor --min-free 10 "$@" 2>&1); rc=$?; }

doctor
check_eq "all ok: exit 0" 0 "$rc"
[ "$rc" -eq 0 ] || echo "$out" | sed 's/^/# /'
for c in config database store scratch "face models" "speech model" yt-dlp fastcgi runners llm; do
	check "all ok: $c is ok" grep -q "^ok   $c: " <<<"$out"
done
check "the schema version is named" grep -q "^ok   database: connected; the schema is at version [0-9]" <<<"$out"
check "yt-dlp's version is printed" grep -qE "^ok   yt-dlp: /usr/bin/yt-dlp version [0-9]" <<<"$out"
check "the face models' digests are printed" grep -qE "^ok   face models: .*sha256 [0-9a-f]{12}, .*sha256 [0-9a-f]{12}$" <<<"$out"
check "openai is skipped, not used" grep -q "^skip openai: transcribe_backend is not openai" <<<"$out"
check_eq "the probe object is gone from the store" "" "$(ls "$TMP/store")"

# expect_fail NAME CHECK PATTERN: the last doctor run exited 1 and its
# CHECK line is a FAIL matching PATTERN.
expect_fail() {
	check_eq "$1: exit 1" 1 "$rc"
	check "$1: says what to do" grep -qE "^FAIL $2: .*$3" <<<"$out"
	[ "$rc" -eq 1 ] && grep -qE "^FAIL $2: .*$3" <<<"$out" || echo "$out" | sed 's/^/# /'
}

# The database is down (nothing listens where database_url points).
CLIPMILL_DATABASE_URL="host=$TMP/nopg user=postgres dbname=x" doctor
expect_fail "database down" database "is PostgreSQL running, and is database_url right\?"
check "database down: runners skipped" grep -q "^skip runners: " <<<"$out"

# A migration is pending: a database with no schema yet.
fresh="t_doctor_fresh_$$"
psql -qX "host=$CLIPMILL_TEST_PGHOST user=postgres dbname=postgres" -c "CREATE DATABASE $fresh" >/dev/null
at_exit "psql -qX 'host=$CLIPMILL_TEST_PGHOST user=postgres dbname=postgres' -c 'DROP DATABASE IF EXISTS $fresh WITH (FORCE)' >/dev/null 2>&1"
CLIPMILL_DATABASE_URL="host=$CLIPMILL_TEST_PGHOST user=postgres dbname=$fresh" doctor
expect_fail "migration pending" database "clipmill migrate"

# The store is not writable by the user doctor runs as.
# The program is copied where nobody can reach it: the checkout may sit in
# a directory only root may enter (mktemp -d makes one).
chmod 755 "$TMP/store"
install -D -m 755 "$CLIPMILL_BUILD/clipmill" "$TMP/nobody/clipmill"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env CLIPMILL_CONF="$CLIPMILL_CONF" \
    CLIPMILL_DATABASE_URL="$CLIPMILL_DATABASE_URL" PATH="$TMP/nobody:$PATH" clipmill doctor --min-free 10 2>&1)
rc=$?
expect_fail "store not writable" store "cannot put a probe object.*must be writable by this user"

# A model is missing.
cp "$CLIPMILL_CONF" "$TMP/good.conf"
conf_set face_model_dir "$TMP/nomodels"
conf_set pocketsphinx_model_dir "$TMP/nospeech"
doctor
expect_fail "face model missing" "face models" "face_detection_back_256x256_barracuda.onnx: No such file.*install the face models"
expect_fail "speech model missing" "speech model" "en-us/mdef: No such file.*pocketsphinx-en-us"
cp "$TMP/good.conf" "$CLIPMILL_CONF"

conf_set ytdlp_path "$TMP/no-yt-dlp"
doctor
expect_fail "yt-dlp missing" yt-dlp "no-yt-dlp: No such file.*install the Debian package yt-dlp"
cp "$TMP/good.conf" "$CLIPMILL_CONF"

echo "sk-wrong" >"$TMP/llm.key"
doctor
expect_fail "endpoint refuses the key" llm "answered HTTP 401"
echo "sk-doctor" >"$TMP/llm.key"

conf_set scratch_dir "$TMP/noscratch"
doctor
expect_fail "scratch missing" scratch "noscratch: No such file"
cp "$TMP/good.conf" "$CLIPMILL_CONF"
doctor --min-free 1000000000
expect_fail "scratch too full" scratch "MB free, under 1000000000 MB"

printf 'lease = soon\n' >"$TMP/bad.conf"
out=$(clipmill -c "$TMP/bad.conf" doctor 2>&1); rc=$?
expect_fail "configuration does not parse" config "bad.conf:1: lease must be a whole number"

stop_fcgi
doctor
expect_fail "FastCGI socket gone" fastcgi "fcgi.sock: cannot connect.*is clipmill.fcgi"

kill "$runner"; wait "$runner" 2>/dev/null
doctor
expect_fail "no runner seen" runners "none connected, and no task worked on in the last 5 minutes"
done_testing
