# Shared machinery of the queue benchmarks (contrib/bench/queue,
# contrib/bench/fleet), sourced by them: a private PostgreSQL cluster with
# commit timestamps, a migrated database "bench" with one user, a
# clipmill.conf with the test stages, and the cluster's CPU and memory
# read from /proc.
#
#   bench_setup          after setting $top; makes $T, starts the cluster
#                        (fsync on, max_connections $PG_MAX_CONNECTIONS),
#                        exports CLIPMILL_DATABASE_URL and CLIPMILL_CONF
#   sql STATEMENT        run one statement, unaligned output
#   pg_ticks             CPU ticks the cluster has used so far
#   pg_backends_pss_kb   "COUNT SUM": Pss (kB) of the backends whose
#                        application_name is clipmill-batch
#   bench_host_line      the machine, its load and the date
#
# Processes a bench starts go into the array pids; bench_cleanup (run at
# exit) kills those by PID, stops the cluster and removes $T.
pids=()
bench_cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	sh "$top/contrib/pg.sh" stop "$T/pg" >/dev/null 2>&1 || true
	rm -rf "$T"
}

bench_setup() {
	export PATH="$top/build:$PATH"
	T=$(mktemp -d /tmp/clipmill-bench.XXXXXX)
	chmod 755 "$T"
	trap bench_cleanup EXIT
	PG_FSYNC=on sh "$top/contrib/pg.sh" start "$T/pg" >/dev/null
	# commit timestamps let latency be measured from the inserting commit
	psql -qX "host=$T/pg user=postgres dbname=postgres" -c "ALTER SYSTEM SET track_commit_timestamp = on"
	sh "$top/contrib/pg.sh" stop "$T/pg" >/dev/null
	PG_FSYNC=on sh "$top/contrib/pg.sh" start "$T/pg" >/dev/null
	psql -qX "host=$T/pg user=postgres dbname=postgres" -c "CREATE DATABASE bench"
	export CLIPMILL_DATABASE_URL="host=$T/pg user=postgres dbname=bench"
	export CLIPMILL_CONF="$T/clipmill.conf"
	mkdir -p "$T/store" "$T/scratch"
	cat >"$CLIPMILL_CONF" <<CONF
store_dir = $T/store
scratch_dir = $T/scratch
test_stages = yes
log_level = warn
CONF
	clipmill migrate >/dev/null
	sql "INSERT INTO users (name, key_hash, key_prefix) VALUES ('bench', 'h', 'p')" >/dev/null
	pgbin=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
}

sql() { psql -qXAt -v ON_ERROR_STOP=1 "$CLIPMILL_DATABASE_URL" -c "$1"; }

# CPU time (ticks) used so far by the cluster: the postmaster, its live
# children, and the children it has reaped
pg_ticks() {
	local pm p tot=0 f
	pm=$(head -1 "$T/pg/data/postmaster.pid")
	for p in $pm $(pgrep -P "$pm"); do
		f=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		set -- $f
		tot=$((tot + ${12} + ${13} + ${14} + ${15}))
	done
	echo "$tot"
}

pg_backends_pss_kb() {
	local p n=0 kb=0 v
	for p in $(sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'clipmill-batch'"); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		[ -n "$v" ] || continue
		n=$((n + 1)); kb=$((kb + v))
	done
	echo "$n $kb"
}

bench_host_line() {
	echo "host: $(uname -n), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
}

# wake_probes COUNT GAP: insert COUNT noop tasks into the first job, one a
# transaction with its NOTIFY, GAP seconds apart.  The inserts commit
# asynchronously, so that the figure is the queue's (NOTIFY, wake-up,
# claim), not the disk's: a durable insert adds one fsync before its
# NOTIFY goes out.
wake_probes() {
	local i
	for ((i = 0; i < $1; i++)); do
		echo "WITH t AS (INSERT INTO tasks (job_id, stage, payload) SELECT min(id), 'noop', json_build_object('xid', txid_current() % 4294967296) FROM jobs RETURNING 1) SELECT pg_notify('clipmill_tasks', 'noop') FROM t;"
		echo "SELECT pg_sleep($2);"
	done >"$T/lat.sql"
	PGOPTIONS="-c synchronous_commit=off" psql -qXAt "$CLIPMILL_DATABASE_URL" -f "$T/lat.sql" >/dev/null
}

# wake_latency [WHERE]: "p50 p99 p50(stmt)" in ms of the probes' tasks
# (those with an xid in their payload): from the inserting transaction's
# commit (track_commit_timestamp) to the start of the claim statement that
# took it, database clock; the last from the insert statement's start.
wake_latency() {
	sql "SELECT coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY d))::numeric, 2) || ' ' || round((percentile_cont(0.99) WITHIN GROUP (ORDER BY d))::numeric, 2) || ' ' || round((percentile_cont(0.5) WITHIN GROUP (ORDER BY s))::numeric, 2), '- - -') FROM (SELECT extract(epoch FROM started_at - pg_xact_commit_timestamp((payload->>'xid')::text::xid)) * 1000 AS d, extract(epoch FROM started_at - created_at) * 1000 AS s FROM tasks WHERE payload ? 'xid' AND started_at IS NOT NULL ${1:+AND $1}) x"
}
