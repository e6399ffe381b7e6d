#!/bin/sh
# Print a whole nginx config around the server block of etc/nginx.conf,
# with its own temp, log and pid paths under DIR, for `make run` and the
# tests (CLIPMILL_NGINX_SNIPPET: another copy of it, such as the one a
# package installed):
#   nginx-conf.sh DIR PORT FCGI_SOCKET STORE_DIR BODY_MAX > nginx.conf
set -eu
[ $# -eq 5 ] || { echo "usage: nginx-conf.sh DIR PORT FCGI_SOCKET STORE_DIR BODY_MAX" >&2; exit 2; }
d=$1 port=$2 sock=$3 store=$4 body=$5
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$d"
# As root the workers stay root, so they can reach a 0660 socket and the
# store; otherwise they run as the invoking user anyway.
[ "$(id -u)" -eq 0 ] && echo "user root;"
cat <<CONF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 16384; }
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
    "${CLIPMILL_NGINX_SNIPPET:-$top/etc/nginx.conf}"
echo "}"
