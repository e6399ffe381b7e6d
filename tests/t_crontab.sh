#!/usr/bin/env bash
# The crontab at the top of the tree: every command in it runs, exactly as
# written, with PATH pointing at build/ and CLIPMILL_CONF at a test
# configuration (idle_exit = 1), and succeeds.  Lines for pipeline stages
# this build does not have yet are reported as skipped.
. "$(dirname "$0")/lib.sh"
newdb || exit 1
conf_set idle_exit 1
ct="$CLIPMILL_TOP/crontab"
known=$(clipmill-batch --list-stages | cut -f1)

n=0 stages=""
env_path=""
while IFS= read -r line; do
	case "$line" in ''|'#'*) continue ;; esac
	if [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
		# cron's environment lines; PATH gets build/ first
		name=${line%%=*} value=${line#*=}
		if [ "$name" = PATH ]; then env_path=$value; else export "$name=$value"; fi
		continue
	fi
	read -r m h dom mon dow cmd <<<"$line"
	n=$((n + 1))
	check "line $n has a valid schedule" bash -c '
	    for f in "$@"; do [[ "$f" =~ ^(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?)*$ ]] || exit 1; done' _ "$m" "$h" "$dom" "$mon" "$dow"
	stage=$(sed -n 's/.*--stage \([a-z_,]*\).*/\1/p' <<<"$cmd")
	stages="$stages $stage"
	if [ -n "$stage" ] && ! grep -qx "$stage" <<<"$known"; then
		echo "ok $n: $cmd # skip stage \"$stage\" is not in this build"
		continue
	fi
	PATH="$CLIPMILL_TOP/build:$env_path" sh -c "$cmd" >"$TMP/out.$n" 2>"$TMP/err.$n"
	rc=$?
	check_eq "$n: $cmd" 0 "$rc"
	[ "$rc" = 0 ] || tail -3 "$TMP/err.$n"
done <"$ct"
check "the crontab has commands" test "$n" -ge 8
for s in fetch transcribe select frame render publish; do
	check "a line for stage $s" grep -qw "$s" <<<"$stages"
done
check "maintenance runs from cron" grep -q -- '--maintenance' "$ct"
check "the sweeper runs from cron" grep -q -- '--sweep' "$ct"
check "the sweeper runs every 30 minutes" grep -qE '^\*/30 .*--sweep' "$ct"
done_testing
