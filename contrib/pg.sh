#!/bin/sh
# A private PostgreSQL cluster in DIR, listening only on a unix socket in
# DIR, run as the "postgres" user (PostgreSQL refuses root).
#
#   pg.sh start DIR     initdb if needed, start, print a connection string
#   pg.sh stop DIR      stop it (fast shutdown), by the postmaster's PID
#   pg.sh dsn DIR       print the connection string
set -eu

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: pg.sh start|stop|dsn DIR" >&2; exit 2; }
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
[ -x "$bindir/initdb" ] || bindir=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
port=${PGPORT_PRIVATE:-5432}

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

dsn() {
	echo "host=$dir port=$port user=postgres dbname=${3:-postgres}"
}

case "$cmd" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres "$dir"
		if ! runuser -u postgres -- test -w "$dir"; then
			echo "pg.sh: user postgres cannot reach $dir: every directory above it must be searchable (chmod o+x)" >&2
			exit 1
		fi
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust \
		    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2; exit 1; }
	fi
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
	    -o "-c listen_addresses='' -c unix_socket_directories='$dir' -p $port -c fsync=${PG_FSYNC:-on} -c max_connections=${PG_MAX_CONNECTIONS:-200} -c shared_buffers=128MB" \
	    start >/dev/null || { tail -20 "$dir/postgres.log" >&2; exit 1; }
	dsn
	;;
stop)
	[ -f "$dir/data/postmaster.pid" ] || exit 0
	pid=$(head -1 "$dir/data/postmaster.pid")
	as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || {
		kill -TERM "$pid" 2>/dev/null || true; }
	;;
dsn)
	dir=$(cd "$dir" && pwd)
	dsn
	;;
*)
	echo "usage: pg.sh start|stop|dsn DIR" >&2
	exit 2
	;;
esac
