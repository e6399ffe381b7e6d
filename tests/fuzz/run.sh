#!/bin/sh
# Run each libFuzzer harness in turn (one at a time, in one process) for
# SECONDS seconds over its corpus, and print one line per harness: the
# executions, the coverage (edges) and features it reached, and the
# crashes it found; then a total.  A crash leaves its input as
# build/fuzz/crashes/HARNESS/crash-*; minimise it into
# tests/fuzz/corpus/HARNESS/ as a regression input once fixed.
#
#   sh tests/fuzz/run.sh BINDIR SECONDS NAME...
set -u
bin=$1 secs=$2
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$top/build/fuzz/work
texecs=0 tcrash=0 fails=""
printf '%-12s %12s %8s %8s %8s %7s\n' harness execs cov ft corpus crashes
for h in "$@"; do
	out=$work/$h
	mkdir -p "$out/corpus" "$top/build/fuzz/crashes/$h"
	touch "$out/start"
	dict=""
	[ -f "$top/tests/fuzz/$h.dict" ] && dict="-dict=$top/tests/fuzz/$h.dict"
	# new inputs go to the work corpus; the seed corpus is read only
	"$bin/$h" -max_total_time="$secs" \
	    -print_final_stats=1 -rss_limit_mb=2048 -timeout=25 \
	    -artifact_prefix="$top/build/fuzz/crashes/$h/" $dict \
	    "$out/corpus" "$top/tests/fuzz/corpus/$h" >"$out/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$out/log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	crashes=$(find "$top/build/fuzz/crashes/$h" -type f -newer "$out/start" | wc -l)
	[ $rc -eq 0 ] || [ "$crashes" -gt 0 ] || crashes=1
	printf '%-12s %12s %8s %8s %8s %7s\n' "$h" "${execs:-0}" "${cov:-?}" \
	    "${ft:-?}" "${corp:-?}" "$crashes"
	texecs=$((texecs + ${execs:-0}))
	tcrash=$((tcrash + crashes))
	[ "$crashes" -eq 0 ] || fails="$fails $h"
done
printf '%-12s %12s %8s %8s %8s %7s\n' total "$texecs" "" "" "" "$tcrash"
[ -z "$fails" ] || echo "crashes in:$fails (inputs under build/fuzz/crashes/, logs under build/fuzz/work/)"
[ "$tcrash" -eq 0 ]
