#!/usr/bin/env bash
# Long talks: the clips come from all of the talk, not its first minutes.
# The heuristic, on a talk of 25 minutes (the test speech repeated, with
# its exact word times), and on one of halting speech, a pause after every
# word, where clips may be up to five minutes long: every word opens and
# closes a window, so there are more than a million of them (the scorer
# used to keep only the first 200,000, from the first minutes).  The LLM,
# asked chunk by chunk: every chunk's clips count, not the first 256.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
mo_transcript "$TMP/m" 113 || exit 1
mkdir -p "$TMP/h"
python3 - "$TMP/h" <<'PY' || exit 1
import json, sys
words = "the river ran past our house and we would watch the boats go by".split()
segs, t, n, dur = [], 0.0, 0, 1500
while t + 8 * 0.95 < dur:
    ws = []
    for k in range(8):
        w = words[n % len(words)] + ("." if k == 7 else "")
        ws.append({"word": w, "start": round(t, 3), "end": round(t + 0.4, 3), "confidence": 0.9})
        t += 0.95
        n += 1
    segs.append({"start": ws[0]["start"], "end": ws[-1]["end"],
                 "text": " ".join(w["word"] for w in ws), "words": ws})
json.dump({"version": 1, "duration": dur, "no_audio": False, "segments": segs},
          open(sys.argv[1] + "/transcript.json", "w"))
db = [-20.0 if (i * 0.1) % 0.95 < 0.4 else -60.0 for i in range(dur * 10)]
json.dump({"interval": 0.1, "dbfs": db}, open(sys.argv[1] + "/loudness.json", "w"))
PY

# spread JOB DURATION: clips, thirds of the talk with a clip, clips in its
# last third, and the first and last clip's start in minutes
spread() {
	sql "SELECT count(*), count(DISTINCT floor(start_s * 3 / $2)),
	    count(*) FILTER (WHERE start_s >= $2 * 2 / 3),
	    floor(min(start_s) / 60), floor(max(start_s) / 60) FROM clips WHERE job_id = $1"
}

for c in "m 25 30" "h 20 300"; do
	set -- $c
	dur=$(python3 -c "import json; print(json.load(open('$TMP/$1/transcript.json'))['duration'])")
	what="$(( dur / 60 )) minutes, $2-$3 s clips"
	job=$(mo_job "$TMP/$1" "{\"clips\":10,\"min_len\":$2,\"max_len\":$3}")
	t=$(mo_add_task "$job" select)
	check "$what: select runs" mo_stage "$t"
	s=$(spread "$job" "$dur")
	check "$what: ten clips from every third of the talk ($s)" python3 -c "
c, thirds, last, lo, hi = map(float, '$s'.split('|'))
assert c == 10 and thirds == 3 and last >= 2 and hi - lo >= $dur / 60 * 2 / 3"
	check_eq "$what: every clip in range, none overlapping" "10|0" \
	    "$(sql "SELECT count(*) FILTER (WHERE end_s - start_s BETWEEN $2 AND $3),
	    (SELECT count(*) FROM clips a JOIN clips b ON a.id < b.id AND a.job_id = b.job_id
	    AND a.start_s < b.end_s AND b.start_s < a.end_s WHERE a.job_id = $job)
	    FROM clips WHERE job_id = $job")"
done

# The LLM, asked chunk by chunk, answers a hundred clips each time, the
# later the better: the best clip comes from a late chunk (the clips of
# the chunks after the first 256 clips used to be dropped).
mo_transcript "$TMP/l" 4 || exit 1
port=$(free_port)
python3 "$CLIPMILL_TOP/tests/fake_llm.py" "$port" "$TMP/llm.log" &
at_exit "kill $!"
wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" ||
    { not_ok "fake server up"; exit 1; }
conf_set llm_base_url "http://127.0.0.1:$port/many/v1"
conf_set llm_chunk_chars 200
job=$(mo_job "$TMP/l" '{"clips":2,"min_len":8,"max_len":12,"select_backend":"llm"}')
t=$(mo_add_task "$job" select)
check "LLM, a hundred clips a chunk: select runs" mo_stage "$t"
n=$(grep -c many "$TMP/llm.log")
best=$(sql "SELECT substr(title, 7) FROM clips WHERE job_id = $job AND rank = 1 AND backend = 'llm'")
check "LLM, a hundred clips a chunk: the best from a late chunk (chunk ${best:-none} of $n)" \
    test "$n" -ge 6 -a "${best:-0}" -gt $((n / 2))
done_testing
