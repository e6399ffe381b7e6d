#!/usr/bin/env bash
# Semantics 5: chaining.  Completing a task inserts the next stage's tasks
# in the same transaction (fan-out: one per clip); the job ends only when
# all of its per-clip tasks have ended (fan-in), partial success recorded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1

partial=$(qjob); qtasks "$partial" fanout 1 '{"n":4,"fail":[2],"ms":150}'
allok=$(qjob); qtasks "$allok" fanout 1 '{"n":3,"ms":100}'
nonok=$(qjob); qtasks "$nonok" fanout 1 '{"n":2,"fail":[1,2]}'
# a done() hook that fails: nothing of it is kept, the attempt fails
broken=$(qjob); qtasks "$broken" fanout 1 '{"n":2,"done_fails":true}' 2
# two runners take the per-clip tasks, so fan-in happens concurrently
qrun a --stage fanout,fanwork --idle-exit 2
qrun b --stage fanwork --idle-exit 3
qwait a 60; check_eq "runner a exits 0" 0 "$QRC"
qwait b 60; check_eq "runner b exits 0" 0 "$QRC"

check_eq "a failing done() fails the attempt, and keeps nothing" "failed|2|The fanout step's result could not be recorded.|0|0" \
    "$(sql "SELECT t.state, t.attempts, j.error, (SELECT count(*) FROM clips WHERE job_id = j.id), (SELECT count(*) FROM tasks WHERE job_id = j.id AND stage = 'fanwork') FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.id = $broken")"
check_eq "fan-out: one task per clip" "4|3|2" \
    "$(sql "SELECT string_agg(n::text, '|' ORDER BY job_id) FROM (SELECT job_id, count(*) n FROM tasks WHERE stage = 'fanwork' GROUP BY job_id) x")"
check_eq "each per-clip task names its clip" 0 \
    "$(sql "SELECT count(*) FROM tasks t LEFT JOIN clips c ON c.id = t.clip_id WHERE t.stage = 'fanwork' AND (c.id IS NULL OR c.job_id <> t.job_id)")"
check_eq "next tasks inserted in the completing transaction" 0 \
    "$(sql "SELECT count(*) FROM tasks w JOIN tasks f ON f.job_id = w.job_id AND f.stage = 'fanout' WHERE w.stage = 'fanwork' AND w.created_at <> f.finished_at")"
check_eq "partial success recorded" "partial" "$(sql "SELECT state FROM jobs WHERE id = $partial")"
check_eq "its clips: 3 ready, 1 failed" "failed:1 ready:3" \
    "$(sql "SELECT string_agg(state || ':' || n, ' ' ORDER BY state) FROM (SELECT state, count(*) n FROM clips WHERE job_id = $partial GROUP BY state) x")"
check_eq "the failed clip says why" "Test clip $(sql "SELECT id FROM clips WHERE job_id = $partial AND rank = 2") could not be made (permanent)." \
    "$(sql "SELECT error FROM clips WHERE job_id = $partial AND rank = 2")"
check_eq "all clips ready: done" done "$(sql "SELECT state FROM jobs WHERE id = $allok")"
check_eq "no clip made: failed" "failed|No clip could be made." "$(sql "SELECT state, error FROM jobs WHERE id = $nonok")"
check_eq "fan-in: each job ended after its last task" 0 \
    "$(sql "SELECT count(*) FROM jobs j WHERE finished_at IS NULL OR finished_at < (SELECT max(finished_at) FROM tasks WHERE job_id = j.id)")"
check_eq "one final event per job" "1|1|1" \
    "$(sql "SELECT string_agg(n::text, '|' ORDER BY job_id) FROM (SELECT job_id, count(*) n FROM events WHERE kind IN ('done', 'failed') AND stage IS NULL GROUP BY job_id) x")"
check_eq "partial job's final event says which clips" \
    "partial|4|3|3 of 4 clips are ready; the others failed.|$(sql "SELECT json_agg(id ORDER BY rank) FILTER (WHERE rank <> 2) FROM clips WHERE job_id = $partial")|$(sql "SELECT json_agg(id) FROM clips WHERE job_id = $partial AND rank = 2")" \
    "$(sql "SELECT data->>'state', data->>'clips', data->>'ready', data->>'msg', data->'ready_clips', data->'failed_clips' FROM events WHERE job_id = $partial AND kind = 'done'")"
check "a fallback event from the stage reached the job" test "$(sql "SELECT count(*) FROM events WHERE kind = 'fallback' AND job_id IN ($partial, $allok, $nonok)")" -eq 3
check_eq "event sequence numbers have no gaps" 0 \
    "$(sql "SELECT count(*) FROM jobs j WHERE last_seq <> (SELECT count(*) FROM events WHERE job_id = j.id)")"
done_testing
