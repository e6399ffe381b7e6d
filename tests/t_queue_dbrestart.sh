#!/usr/bin/env bash
# Semantics 11: the database restarts in the middle of a load.  Runners
# exit non-zero (3) with a clear log line; the next runs plus the rescue
# pass finish every task, and nothing is lost.  This test restarts a
# cluster of its own, not the shared one.
unset CLIPMILL_TEST_PGHOST
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1

job=$(qjob)
qtasks "$job" sleep 30 '{"ms":300,"steps":3}'
qtasks "$job" noop 3000
for i in 1 2 3; do qrun r$i --stage sleep,noop --idle-exit 5; done
# some of the load is done, some is running
wait_for 20 bash -c "[ \$(cat $CLIPMILL_TEST_LOG | grep -c '^sleep') -ge 3 ]"
sh "$CLIPMILL_TOP/contrib/pg.sh" stop "$_own_pg" >/dev/null
for i in 1 2 3; do
	qwait r$i 20
	check_eq "runner $i exits 3" 3 "$QRC"
	check "runner $i says why" grep -q '"level":"error".*"event":"database_lost".*"error":"' "$TMP/r$i.log"
done
sh "$CLIPMILL_TOP/contrib/pg.sh" start "$_own_pg" >/dev/null
before=$(sql "SELECT count(*) FROM tasks WHERE state = 'done'")
echo "# done before the restart: $before of 3030; running: $(sql "SELECT count(*) FROM tasks WHERE state = 'running'")"
check "the restart came mid-load" test "$before" -lt 3030
# the next cron runs
for i in 4 5; do qrun r$i --stage sleep,noop --idle-exit 2; done
for i in 4 5; do qwait r$i 60; check_eq "runner $i exits 0" 0 "$QRC"; done
check_eq "every task done" "3030|0" "$(sql "SELECT count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state <> 'done') FROM tasks")"
check_eq "every task executed" 3030 "$(awk '{print $2}' "$CLIPMILL_TEST_LOG" | sort -u | wc -l)"
check_eq "the job is done" done "$(sql "SELECT state FROM jobs WHERE id = $job")"
done_testing
