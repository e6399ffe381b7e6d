#!/usr/bin/env bash
# Semantics 2: a stage's concurrency cap holds across processes.  Six
# runners of the stage "capped" (cap_test = 2) whose tasks sleep: never
# more than two tasks run at once, yet two do, and every task ends.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1
conf_set cap_test 2

job=$(qjob)
qtasks "$job" capped 12 '{"ms":300,"steps":3}'
for i in 1 2 3 4 5 6; do qrun r$i --stage capped --idle-exit 2; done
for i in 1 2 3 4 5 6; do qwait r$i 60; check_eq "runner $i exits 0" 0 "$QRC"; done

check_eq "all 12 tasks done" 12 "$(sql "SELECT count(*) FROM tasks WHERE state = 'done'")"
check_eq "each ran once" 12 "$(awk '{print $2}' "$CLIPMILL_TEST_LOG" | sort -u | wc -l)"
ov=$(max_overlap capped)
echo "# most tasks running at once: $ov"
check_eq "never more than 2 at once, and 2 did run together" 2 "$ov"
check_eq "only two runners won a slot and ran tasks" 2 "$(awk '{print $4}' "$CLIPMILL_TEST_LOG" | sort -u | wc -l)"
check_eq "slots taken: 2" 2 "$(cat "$TMP"/r?.log | grep -c '"event":"slot_taken"')"
done_testing
