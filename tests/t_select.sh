#!/usr/bin/env bash
# The heuristic scorer on a transcript with known words: deterministic,
# clips on sentence boundaries, within the length range, not overlapping,
# with titles and reasons; no speech or no transcript: evenly spaced clips
# without captions, with an event.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
mo_transcript "$TMP/m" 3 || exit 1
opts='{"clips":3,"min_len":8,"max_len":16}'

job=$(mo_job "$TMP/m" "$opts")
t=$(mo_add_task "$job" select)
check "select runs" mo_stage "$t"
t2=$(mo_add_task "$job" select)
mo_task_json "$t2" >"$TMP/t2.json"
"$MO" run select "$TMP/t2.json" >"$TMP/again.json" 2>/dev/null
check "deterministic: the same clips twice" cmp -s "$TMP/result-$t.json" "$TMP/again.json"
check "three clips on sentence boundaries, in range, apart" python3 -c "
import json
tr = json.load(open('$TMP/m/transcript.json'))
starts = {round(max(0, s['start'] - 0.2), 3) for s in tr['segments']}
ends = {round(s['end'] + 0.3, 3) for s in tr['segments']}
cl = json.load(open('$TMP/result-$t.json'))['clips']
assert len(cl) == 3, cl
for c in cl:
    assert round(c['start'], 3) in starts, ('start', c)
    assert round(c['end'], 3) in ends, ('end', c)
    assert 8 <= c['end'] - c['start'] <= 16, c
    assert c['title'] and c['reason'] and 0 <= c['score'] <= 100, c
cl.sort(key=lambda c: c['start'])
for a, b in zip(cl, cl[1:]):
    assert a['end'] <= b['start'], (a, b)"
check_eq "rows carry rank, title, reason, backend" "3" "$(sql "SELECT count(*) FROM clips WHERE job_id = $job
    AND backend = 'heuristic' AND title <> '' AND reason <> '' AND rank BETWEEN 1 AND 3")"
check_eq "title from the clip's most informative sentence, whole words" \
    "Mister john dashwood had then leisure to consider how much" \
    "$(sql "SELECT title FROM clips WHERE job_id = $job AND rank = 1")"
check_eq "titles at most 60 characters; reasons quote the pace they name" "3" \
    "$(sql "SELECT count(*) FROM clips WHERE job_id = $job AND length(title) <= 60
    AND reason ~ '(slow|calm|engaging|fast) pace \([0-9.]+ words/s\)'")"
check_eq "frame payload asks for captions" "true" \
    "$(sql "SELECT payload->>'captions' FROM tasks WHERE job_id = $job AND stage = 'frame'")"

# No speech: the transcriber found no audio.
mkdir -p "$TMP/quiet"
echo '{"version":1,"duration":90,"no_audio":true,"segments":[]}' >"$TMP/quiet/transcript.json"
job=$(mo_job "$TMP/quiet" "$opts")
t=$(mo_add_task "$job" select)
check "no speech: select runs" mo_stage "$t"
check_eq "no speech: three evenly spaced clips" "even|3" \
    "$(sql "SELECT min(backend), count(*) FROM clips WHERE job_id = $job")"
check_eq "no speech: 16 s clips centred in thirds of the video" "7-23 37-53 67-83" \
    "$(sql "SELECT string_agg(start_s || '-' || end_s, ' ' ORDER BY start_s) FROM clips WHERE job_id = $job")"
check_eq "no speech: no captions" "false" \
    "$(sql "SELECT payload->>'captions' FROM tasks WHERE job_id = $job AND stage = 'frame'")"
check_eq "no speech: event" "1" "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'fallback'
    AND data->>'msg' LIKE 'No speech was found%'")"

# No transcript at all: the probe's duration is used.
mkdir -p "$TMP/none"
job=$(mo_job "$TMP/none" "$opts")
sql "UPDATE jobs SET probe = '{\"duration\": 60}' WHERE id = $job" >/dev/null
t=$(mo_add_task "$job" select)
check "no transcript: select runs" mo_stage "$t"
check_eq "no transcript: evenly spaced clips inside the video" "3|t" \
    "$(sql "SELECT count(*), bool_and(end_s <= 60 AND start_s >= 0) FROM clips WHERE job_id = $job")"
check_eq "no transcript: event" "1" "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'fallback'")"

# Bad options are refused with a sentence.
job=$(mo_job "$TMP/m" '{"clips":3,"min_len":30,"max_len":10}')
t=$(mo_add_task "$job" select)
mo_task_json "$t" >"$TMP/bad.json"
"$MO" run select "$TMP/bad.json" >/dev/null 2>"$TMP/bad.log"; rc=$?
check_eq "min_len > max_len: permanent failure" "1" "$rc"
check "min_len > max_len: a sentence" grep -q "shortest no longer than the longest" "$TMP/bad.log"
done_testing
