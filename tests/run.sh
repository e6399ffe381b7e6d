#!/usr/bin/env bash
# Run every test: the unit programs (build/tests/*) and the integration
# scripts (tests/t_*.sh), against one private PostgreSQL cluster started
# here and stopped at the end.  Each test prints TAP-style lines ("ok NAME",
# "not ok NAME"); a test that prints none counts once, by its exit status
# (77 means skipped, and with CI=true a failure: make check installs every
# dependency first).  Ends with "N passed, N failed".
#
#   tests/run.sh [PATTERN...]     only tests whose file name contains PATTERN
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

T=$(mktemp -d /tmp/clipmill-test.XXXXXX)
chmod 755 "$T"
export CLIPMILL_TEST_TMP="$T"
export CLIPMILL_TOP="$top"
export CLIPMILL_BUILD="$top/build"
export CLIPMILL_TESTDATA="$top/../shared/testdata/media"
export PATH="$top/build:$PATH"
mkdir -p "$T/logs"

cleanup() {
	sh "$top/contrib/pg.sh" stop "$T/pg" >/dev/null 2>&1
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! PG_FSYNC=off sh contrib/pg.sh start "$T/pg" >"$T/pg.dsn"; then
	echo "could not start the private PostgreSQL cluster" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
export CLIPMILL_TEST_PGHOST="$T/pg"

tests=()
for f in build/tests/* tests/t_*.sh; do
	[ -f "$f" ] || continue
	case "$f" in *.sh) ;; *) [ -x "$f" ] || continue ;; esac
	if [ $# -gt 0 ]; then
		m=0
		for p in "$@"; do case "$f" in *"$p"*) m=1 ;; esac; done
		[ $m = 1 ] || continue
	fi
	tests+=("$f")
done

passed=0 failed=0 skipped=0
failures=()
for f in "${tests[@]}"; do
	name=$(basename "$f")
	log="$T/logs/$name.log"
	start=$(date +%s)
	case "$f" in
	*.sh) timeout -k 10 "${TEST_TIMEOUT:-900}" bash "$f" >"$log" 2>&1 ;;
	*) timeout -k 10 "${TEST_TIMEOUT:-900}" "$f" >"$log" 2>&1 ;;
	esac
	rc=$?
	secs=$(( $(date +%s) - start ))
	np=$(grep -c '^ok ' "$log" 2>/dev/null)
	nf=$(grep -c '^not ok ' "$log" 2>/dev/null)
	if [ ! -f "$log" ]; then
		# Its log is gone (someone removed the run's directory):
		# nothing says it passed.
		np=0 nf=1
		echo "not ok $name: its log $log is missing" >&2
	elif [ "$np" -eq 0 ] && [ "$nf" -eq 0 ]; then
		case $rc in
		0) np=1 ;;
		# make check installs every dependency first: in CI a
		# skipped test is a hole nobody would see, so it fails
		77) if [ "${CI:-}" = true ]; then
			nf=1
			echo "not ok $name: skipped in CI: $(tail -1 "$log")" >&2
		    else
			skipped=$((skipped + 1))
		    fi ;;
		*) nf=1 ;;
		esac
	elif [ $rc -ne 0 ] && [ "$nf" -eq 0 ]; then
		nf=1	# it died after its last report
	fi
	passed=$((passed + np))
	failed=$((failed + nf))
	if [ "$nf" -gt 0 ]; then
		printf '%-34s FAIL (%d ok, %d failed, exit %d, %ds)\n' "$name" "$np" "$nf" "$rc" "$secs"
		grep -E '^not ok ' "$log" 2>/dev/null | sed 's/^/    /'
		echo "    --- last lines of $name ---"
		tail -25 "$log" 2>/dev/null | sed 's/^/    | /'
		failures+=("$name")
	else
		printf '%-34s ok (%d, %ds)\n' "$name" "$np" "$secs"
	fi
done

echo
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
