# Helpers for the web tests (tests/t_web_*.sh): clipmill.fcgi, nginx and
# Apache on loopback, generated configs, curl wrappers.  Sourced after
# tests/lib.sh and newdb.

# own_pg: a cluster of the test's own in $PGDIR, for tests that stop and
# start PostgreSQL; later newdb calls use it.
own_pg() {
	PGDIR="$TMP/pgown"
	PG_FSYNC=off sh "$CLIPMILL_TOP/contrib/pg.sh" start "$PGDIR" >/dev/null || return 1
	at_exit "sh '$CLIPMILL_TOP/contrib/pg.sh' stop '$PGDIR' >/dev/null 2>&1"
	CLIPMILL_TEST_PGHOST=$PGDIR
}

# need_browser: skip the test (exit 77) unless node, playwright-core and
# Debian's chromium are installed.
need_browser() {
	if [ ! -d "$CLIPMILL_TOP/contrib/node_modules/playwright-core" ] ||
	    [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null; then
		echo "playwright-core or chromium missing (make deps)"; exit 77
	fi
}

# start_fcgi [ARGS...]: clipmill.fcgi on $TMP/fcgi.sock; sets FCGI_PID.
start_fcgi() {
	FCGI_SOCK="$TMP/fcgi.sock"
	clipmill.fcgi --listen "unix:$FCGI_SOCK" "$@" 2>>"$TMP/fcgi.log" &
	FCGI_PID=$!
	at_exit "kill $FCGI_PID 2>/dev/null; wait $FCGI_PID 2>/dev/null"
	wait_for 10 test -S "$FCGI_SOCK"
}

stop_fcgi() {
	kill -TERM "$FCGI_PID" 2>/dev/null
	wait "$FCGI_PID" 2>/dev/null
}

# start_nginx: nginx on a free port in front of $FCGI_SOCK; sets BASE.
start_nginx() {
	local body=${1:-$(( $(conf_get upload_max_mb 2048) + 1 ))m}
	NGINX_PORT=$(free_port)
	# NGINX_LOCATION_EXTRA: directives added to the main location
	sh "$CLIPMILL_TOP/contrib/nginx-conf.sh" "$TMP/nginx" "$NGINX_PORT" "$FCGI_SOCK" \
	    "$TMP/store" "$body" |
	    awk -v extra="${NGINX_LOCATION_EXTRA:-}" '{ print } /fastcgi_pass clipmill_fcgi;/ && extra != "" { print "\t\t" extra }' \
	    >"$TMP/nginx.conf"
	nginx -t -q -c "$TMP/nginx.conf" 2>"$TMP/nginx.t" || { cat "$TMP/nginx.t"; return 1; }
	nginx -c "$TMP/nginx.conf" -g 'daemon off;' 2>>"$TMP/nginx.err" &
	NGINX_PID=$!
	at_exit "kill -QUIT $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null"
	BASE="http://127.0.0.1:$NGINX_PORT"
	wait_for 10 curl -s -o /dev/null "$BASE/healthz"
}

# conf_get KEY DEFAULT: the value set in the test's config, or DEFAULT.
conf_get() {
	local v
	v=$(sed -n "s/^$1 *= *//p" "$CLIPMILL_CONF" | tail -1)
	echo "${v:-$2}"
}

# api METHOD PATH KEY [CURL ARGS...]: JSON API call; prints the body,
# then the status on the last line.
api() {
	local m=$1 p=$2 k=$3; shift 3
	curl -s -X "$m" -H "Accept: application/json" ${k:+-H "Authorization: Bearer $k"} \
	    -w '\n%{http_code}' "$@" "$BASE$p"
}
# status_of OUTPUT: the last line; body_of OUTPUT: the rest.
status_of() { tail -n1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
# jget JSON EXPR: a value from JSON with a python expression on j.
jget() { python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"; }

# login_token JAR: load the login page with cookie jar JAR (which keeps its
# nonce cookie) and print the form's CSRF token.
login_token() {
	curl -s -c "$1" -b "$1" -H 'Accept: text/html' "$BASE/login" |
	    grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"//'
}

# browser_e2e_setup: for a browser test with real runners (exits 77
# without chromium and playwright-core): a database, short clips, the
# talking-head video $TMP/m/talk.mp4 (mediaout_lib.sh), user $alice,
# clipmill.fcgi behind nginx, and runners started the way cron starts
# them, again and again until the test ends.
browser_e2e_setup() {
	need_browser
	newdb || exit 1
	conf_set log_file "$TMP/fcgi.jsonl"
	conf_set clip_min 6
	conf_set clip_max 10
	conf_set retry_base 0.2
	mo_media "$TMP/m" 2 face || { not_ok "test video built"; exit 1; }
	alice=$(clipmill user add alice)
	start_fcgi || exit 1
	start_nginx || exit 1
	(
		while :; do
			nice -n 5 clipmill-batch --stage fetch,transcribe,select,frame,render,publish \
			    --idle-exit 2 2>>"$TMP/runner.log"
			sleep 0.2
		done
	) &
	runners=$!
	at_exit "kill $runners 2>/dev/null; pkill -TERM -P $runners 2>/dev/null; wait $runners 2>/dev/null"
}
