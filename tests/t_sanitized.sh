#!/usr/bin/env bash
# The unit tests and the web tests again, on the tree built with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer (`make fuzz-build`, in
# build/fuzz; every UBSan report is fatal there, and LeakSanitizer checks
# each program's exit).  They run from a shadow of the checkout whose
# build/ is build/fuzz, so that each finds the sanitized programs where
# it looks for them.  One line per test: ok, or not ok with its last lines.
source "$(dirname "$0")/lib.sh"
top=$CLIPMILL_TOP
# Every unit test, and the web tests that fit two minutes: the API, the
# malformed and hostile requests, REMOTE_USER (t_web_longpoll and
# t_web_pgdown take a minute more; t_web_e2e and t_web_browser run the
# whole pipeline or a browser, ten minutes and more under the sanitizers).
# SAN_TESTS="name ..." runs those instead.
SAN_WEB="t_web_api.sh t_web_faults.sh t_web_remote_user.sh"

if ! make -s -C "$top" fuzz-build >"$TMP/build.log" 2>&1; then
	not_ok "the sanitized tree builds (make fuzz-build)"
	tail -30 "$TMP/build.log"
	exit 1
fi
ok "the sanitized tree builds (make fuzz-build)"
if [ -z "${SAN_TESTS:-}" ]; then
	SAN_TESTS=$(cd "$top/build/fuzz/tests" &&
	    find . -maxdepth 1 -type f -perm -u+x -printf '%f\n' | sort)
	SAN_TESTS="$SAN_TESTS $SAN_WEB"
fi

# The shadow: every entry of the checkout but build/, which is build/fuzz;
# ../shared beside it as beside the checkout.
root=$TMP/root
mkdir -p "$root/clipmill"
for e in "$top"/* "$top"/.[!.]*; do
	[ -e "$e" ] || continue
	case ${e##*/} in build|.git) continue ;; esac
	ln -s "$e" "$root/clipmill/${e##*/}"
done
ln -s "$top/build/fuzz" "$root/clipmill/build"
[ -e "$top/../shared" ] && ln -s "$(cd "$top/../shared" && pwd)" "$root/shared"
sroot=$root/clipmill

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
for t in $SAN_TESTS; do
	log=$TMP/$t.log
	start=$(date +%s)
	case $t in
	*.sh) (export CLIPMILL_TOP=$sroot CLIPMILL_BUILD=$sroot/build \
	    PATH="$sroot/build:$PATH"; bash "$sroot/tests/$t") >"$log" 2>&1 ;;
	*) (export CLIPMILL_TOP=$sroot CLIPMILL_BUILD=$sroot/build \
	    PATH="$sroot/build:$PATH"; cd "$sroot" && "build/tests/$t") \
	    >"$log" 2>&1 ;;
	esac
	rc=$?
	secs=$(( $(date +%s) - start ))
	np=$(grep -c '^ok ' "$log")
	nf=$(grep -c '^not ok ' "$log")
	if [ $rc -eq 0 ] && [ "$nf" -eq 0 ] &&
	    ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
		ok "sanitized: $t ($np checks, ${secs}s)"
	else
		not_ok "sanitized: $t (exit $rc, $nf of $((np + nf)) checks failed)"
		grep -E '^not ok |ERROR: |runtime error:' "$log" | head -10 | sed 's/^/#   /'
		tail -15 "$log" | sed 's/^/#   | /'
	fi
done
done_testing
