#!/usr/bin/env bash
# clipmill-batch's command line: usage errors exit 2 with a sentence,
# unknown and test-only stages are refused, exit codes as documented.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
newdb || exit 1

run() { clipmill-batch "$@" >"$TMP/out" 2>"$TMP/err"; echo $?; }
check_eq "no arguments: usage, 2" 2 "$(run)"
check "says what is missing" grep -q 'say which stages to run with --stage' "$TMP/err"
check_eq "--help: 0" 0 "$(run --help)"
check "usage documents the exit codes" grep -q '3 database unreachable or lost while running' "$TMP/out"
conf_set test_stages yes
check_eq "unknown stage: 2" 2 "$(run --stage noop,bogus)"
conf_set test_stages no
check "names the stage" grep -q 'unknown stage "bogus"; known stages:' "$TMP/err"
check_eq "test stage in a normal configuration: 2" 2 "$(run --stage sleep)"
check "says it is for tests" grep -q 'stage "sleep" is for tests only; set test_stages = yes' "$TMP/err"
check "test stages are not listed" bash -c "! clipmill-batch --list-stages | grep -q '^sleep'"
check_eq "bad number: 2" 2 "$(run --stage noop --max-tasks 0)"
check "says the range" grep -q -- '--max-tasks must be a whole number from 1' "$TMP/err"
check_eq "modes go alone: 2" 2 "$(run --sweep --maintenance)"
check_eq "--once with --sweep: 2" 2 "$(run --sweep --once)"
conf_set test_stages yes
check "test stages listed when enabled" bash -c "clipmill-batch --list-stages | grep -q '^sleep	isolated	test'"
check_eq "--once with nothing to do: 0" 0 "$(run --stage noop --once)"
j=$(sql "INSERT INTO users (name, key_hash, key_prefix) VALUES ('t', 'h', 'p'); SELECT 1" >/dev/null; qjob)
qtasks "$j" noop 5
check_eq "--max-tasks 2: 0" 0 "$(run --stage noop --max-tasks 2)"
check_eq "ran exactly 2" 2 "$(sql "SELECT count(*) FROM tasks WHERE state = 'done'")"
echo "bogus = 1" >>"$CLIPMILL_CONF"
check_eq "bad configuration: 1" 1 "$(run --stage noop)"
check "config error names file and line" grep -qE 'clipmill.conf:[0-9]+: unknown option "bogus"' "$TMP/err"
sed -i '/^bogus/d' "$CLIPMILL_CONF"
check_eq "database unreachable: 3" 3 "$(CLIPMILL_DATABASE_URL="host=$TMP/nowhere dbname=x" run --stage noop)"
check "says so" grep -q '"event":"database_unreachable"' "$TMP/err"
done_testing
