#!/usr/bin/env bash
# Semantics 2: a stage's concurrency cap holds across processes.  Six
# runners of the stage "capped" (cap_test = 2) whose tasks sleep: never
# more than two tasks run at once, yet two do, and every task ends.  A
# runner left without a slot sleeps while due tasks wait for one (it used
# to ask for the next due task every millisecond).
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

# two runners hold the slots with long tasks; a third, with due tasks
# waiting, has none
job2=$(qjob)
qtasks "$job2" capped 6 '{"ms":3000,"steps":3}'
qrun h1 --stage capped --idle-exit 2
qrun h2 --stage capped --idle-exit 2
wait_for 20 bash -c "[ \$(cat $TMP/h?.log | grep -c '\"event\":\"slot_taken\"') -eq 2 ]"
qrun w --stage capped --idle-exit 30
sleep 0.5
# its wake-ups: each sleep it takes (on the NOTIFY, or a query's answer)
# is a voluntary context switch
wakes() { awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$(qpid w)/status"; }
w0=$(wakes)
sleep 3
w1=$(wakes)
echo "# the slotless runner's wake-ups over 3 s: $((w1 - w0))"
check "a runner without a slot sleeps (under 100 wake-ups in 3 s)" test $((w1 - w0)) -lt 100
check "due tasks waited meanwhile" test "$(sql "SELECT count(*) FROM tasks WHERE job_id = $job2 AND state = 'pending'")" -gt 0
check "it found the slots full" grep -q '"event":"slots_full"' "$TMP/w.log"
kill -TERM "$(qpid w)"
qwait w 10
for h in h1 h2; do qwait $h 90; done
check_eq "the long tasks all ran" 6 "$(sql "SELECT count(*) FROM tasks WHERE state = 'done' AND job_id = $job2")"
done_testing
