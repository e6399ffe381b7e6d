#!/usr/bin/env bash
# Every libFuzzer harness (tests/fuzz/*.c, built by `make fuzz-build` with
# clang, ASan and UBSan) over its seed corpus, tests/fuzz/corpus/NAME/:
# the real-looking inputs and the regression inputs of every crash that
# fuzzing found and that was fixed.  One line per harness.
source "$(dirname "$0")/lib.sh"
top=$CLIPMILL_TOP

if ! make -s -C "$top" fuzz-build >"$TMP/build.log" 2>&1; then
	not_ok "the harnesses build (make fuzz-build)"
	tail -30 "$TMP/build.log"
	exit 1
fi
for src in "$top"/tests/fuzz/*.c; do
	h=$(basename "$src" .c)
	corpus=$top/tests/fuzz/corpus/$h
	n=$(ls "$corpus" 2>/dev/null | wc -l)
	if [ "$n" -eq 0 ]; then
		not_ok "fuzz $h: no seed corpus in tests/fuzz/corpus/$h"
		continue
	fi
	# -runs=0: each input of the corpus once, no mutation
	if "$top/build/fuzz/fuzz/$h" -runs=0 -rss_limit_mb=2048 -timeout=60 \
	    -artifact_prefix="$TMP/$h-" \
	    "$corpus" >"$TMP/$h.log" 2>&1; then
		ok "fuzz $h: $n inputs"
	else
		not_ok "fuzz $h: an input of its corpus fails"
		grep -E 'ERROR|runtime error|Test unit written|SUMMARY' \
		    "$TMP/$h.log" | head -8 | sed 's/^/#   /'
	fi
done
done_testing
