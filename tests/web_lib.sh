# Helpers for the web tests (tests/t_web_*.sh): clipmill.fcgi, nginx and
# Apache on loopback, generated configs, curl wrappers.  Sourced after
# tests/lib.sh and newdb.

# gen_nginx_conf OUT PORT SOCKET STORE_DIR BODY_MAX: a whole nginx config
# around the server block of etc/nginx.conf, everything under $TMP.
gen_nginx_conf() {
	local out=$1 port=$2 sock=$3 store=$4 body=$5 d="$TMP/nginx"
	mkdir -p "$d"
	{
		[ "$(id -u)" -eq 0 ] && echo "user root;"
		cat <<CONF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
	include /etc/nginx/mime.types;
	access_log $d/access.log;
	client_body_temp_path $d/body;
	fastcgi_temp_path $d/fastcgi;
	proxy_temp_path $d/proxy;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
CONF
		sed -e "s|unix:/run/clipmill/fcgi.sock;|unix:$sock;|" \
		    -e "s|listen 127.0.0.1:8080;|listen 127.0.0.1:$port;|" \
		    -e "s|client_max_body_size 2049m;|client_max_body_size $body;|" \
		    -e "s|alias /var/lib/clipmill/store/;|alias $store/;|" \
		    -e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
		    "$CLIPMILL_TOP/etc/nginx.conf"
		echo "}"
	} >"$out"
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
	gen_nginx_conf "$TMP/nginx.conf" "$NGINX_PORT" "$FCGI_SOCK" "$TMP/store" "$body"
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
