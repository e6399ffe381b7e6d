#!/usr/bin/env bash
# The LLM scorer against a fake OpenAI-compatible server on 127.0.0.1: a
# good answer is used (every chunk's clips considered, validated, snapped
# to words); malformed JSON, out-of-range times, a 500 and a timeout fall
# back to the heuristic with an event.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
mo_transcript "$TMP/m" 2 || exit 1
port=$(free_port)
python3 "$CLIPMILL_TOP/tests/fake_llm.py" "$port" "$TMP/llm.log" &
pid=$!
at_exit "kill $pid"
wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" ||
    { not_ok "fake server up"; exit 1; }
echo "sk-test-key" >"$TMP/key"
conf_set llm_key_file "$TMP/key"
conf_set llm_timeout 2
conf_set llm_model test-model
# Small chunks: the two-minute fixture is sent in four requests.
conf_set llm_chunk_chars 200
opts='{"clips":2,"min_len":8,"max_len":12,"select_backend":"llm"}'

conf_set llm_base_url "http://127.0.0.1:$port/good/v1"
job=$(mo_job "$TMP/m" "$opts")
t=$(mo_add_task "$job" select)
check "good answer: select runs" mo_stage "$t"
check_eq "good answer: four chunk requests" "4" "$(grep -c good "$TMP/llm.log")"
check "request asks for a json_schema answer with the key" python3 -c "
import json, sys
r = [json.loads(l) for l in open('$TMP/llm.log')][0]
b = r['body']
assert r['auth'] == 'Bearer sk-test-key', r['auth']
assert b['model'] == 'test-model'
assert b['response_format']['type'] == 'json_schema'
s = b['response_format']['json_schema']['schema']['properties']['clips']['items']
assert set(s['required']) == {'start', 'end', 'score', 'title', 'reason'}
assert '[0.20-6.79]' in b['messages'][1]['content']"
check_eq "LLM clips stored" "llm llm" "$(sql "SELECT string_agg(backend, ' ') FROM clips WHERE job_id = $job")"
check_eq "best clip comes from a later chunk (third request)" "1|Chunk 3|70" \
    "$(sql "SELECT rank, title, score FROM clips WHERE job_id = $job ORDER BY rank LIMIT 1")"
check "LLM clips snapped to words and within range" python3 -c "
import json
tr = json.load(open('$TMP/m/transcript.json'))
ws = [w for s in tr['segments'] for w in s['words']]
starts = {round(max(0, w['start'] - 0.2), 3) for w in ws}
ends = {round(w['end'] + 0.3, 3) for w in ws}
cl = json.load(open('$TMP/result-$t.json'))['clips']
assert len(cl) == 2, cl
for c in cl:
    assert round(c['start'], 3) in starts and round(c['end'], 3) in ends, c
    assert 8 <= c['end'] - c['start'] <= 12, c
assert cl[0]['end'] <= cl[1]['start'] or cl[1]['end'] <= cl[0]['start']"
sql "SELECT data FROM events WHERE job_id = $job"; check_eq "good answer: no fallback" "0" "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'fallback'")"

for mode in malformed outofrange 500 timeout; do
	conf_set llm_base_url "http://127.0.0.1:$port/$mode/v1"
	job=$(mo_job "$TMP/m" "$opts")
	t=$(mo_add_task "$job" select)
	check "$mode: select still succeeds" mo_stage "$t"
	check_eq "$mode: heuristic clips" "heuristic heuristic" \
	    "$(sql "SELECT string_agg(backend, ' ') FROM clips WHERE job_id = $job")"
	check_eq "$mode: fallback event" "1" "$(sql "SELECT count(*) FROM events WHERE job_id = $job
	    AND kind = 'fallback' AND data->>'msg' LIKE 'The language model could not choose clips%'")"
	check_eq "$mode: frame task added" "1" "$(sql "SELECT count(*) FROM tasks WHERE job_id = $job AND stage = 'frame'")"
done
done_testing
