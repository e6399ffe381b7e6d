#!/usr/bin/env bash
# The transcribe stage's OpenAI-compatible backend against a fake server on
# 127.0.0.1 (tests/fake_openai.py) speaking the same wire format: the
# multipart request, FLAC chunks under the upload limit with re-based
# times, retries on 429 (honouring Retry-After), 500, a slow answer and a
# malformed body, and the fallback to the offline recogniser.
. "$(dirname "$0")/lib.sh"
newdb || exit 1
. "$(dirname "$0")/mediain_lib.sh"

# server SCRIPT_LINES...: (re)start the fake with this behaviour script.
SRV=""
server() {
	[ -z "$SRV" ] || { kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; }
	printf '%s\n' "$@" >"$TMP/script"
	: >"$TMP/requests.log"
	P=$(free_port)
	python3 "$CLIPMILL_TOP/tests/fake_openai.py" "$P" "$TMP/script" "$TMP/requests.log" &
	SRV=$!
	wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $P))" ||
	    { echo "not ok fake server did not start"; exit 1; }
	conf_set openai_base_url "http://127.0.0.1:$P/v1/"
}
at_exit '[ -z "$SRV" ] || kill "$SRV" 2>/dev/null'

OA='{"transcribe_backend":"openai"}'
req() { jq -sr "$1" "$TMP/requests.log"; }

echo sk-test-0123456789 >"$TMP/key"
chmod 600 "$TMP/key"
conf_set openai_key_file "$TMP/key"
conf_set transcribe_model whisper-1
conf_set transcribe_language en
# 1 MB: about 31 s of 16 kHz audio per chunk, so 70 s go up in 3 chunks.
conf_set transcribe_upload_mb 1
conf_set transcribe_timeout 3

speech_wav "$TMP/speech.wav"
ffmpeg -v error -stream_loop -1 -i "$TMP/speech.wav" -t 70 -c:a aac -b:a 64k "$TMP/talk.m4a"

# --- retries: 429 with Retry-After, 500, a malformed body, a slow answer ---
server "429 2" "500" "ok" "bad" "ok" "slow 6" "ok"
transcribe 1 "$TMP/talk.m4a" "$OA"
T=$TMP/store/jobs/1/transcript.json
check_eq "transcribed through the service" "ok openai whisper-1" \
    "$(field '"\(.rc) \(.result.backend) \(.result.model)"')"
check_eq "seven requests: three chunks and four retries" "7" "$(req length)"
check "Retry-After: 2 honoured before the retry" \
    test "$(req '(.[1].t - .[0].t) * 1000 | floor')" -ge 2000
check "a 500 retried after a backoff" test "$(req '(.[2].t - .[1].t) * 1000 | floor')" -ge 900
check_eq "a malformed body retried" "bad ok" "$(req '"\(.[3].step) \(.[4].step)"')"
check_eq "a slow answer past the timeout retried" "slow 6 ok" "$(req '"\(.[5].step) \(.[6].step)"')"
check_eq "POST to {base_url}/audio/transcriptions" "/v1/audio/transcriptions" "$(req '[.[].path] | unique | join(",")')"
check_eq "bearer key from the key file" "Bearer sk-test-0123456789" "$(req '[.[].auth] | unique | join(",")')"
check_eq "multipart fields" '{"language":["en"],"model":["whisper-1"],"response_format":["verbose_json"],"timestamp_granularities[]":["word","segment"]}' \
    "$(req '.[0].fields | to_entries | sort_by(.key) | from_entries' | jq -c .)"
check_eq "audio sent as FLAC" "audio/flac" "$(req '[.[].audio_type] | unique | join(",")')"
check "every upload under the 1 MB limit" test "$(req '[.[].bytes] | max')" -lt 1048576
check "the chunks cover the whole 70 s" \
    jq -se '[.[] | select(.step == "ok") | .duration] | add | (. > 69.9 and . < 70.2)' "$TMP/requests.log"
# Word i of a chunk is at i+0.1 s from the chunk's start: every word must
# sit at the sum of the earlier chunks' durations plus that.
check "word times re-based per chunk" python3 - "$TMP/requests.log" "$T" <<'EOF'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
durs = [r["duration"] for r in reqs if r["step"] == "ok"]
want, off = [], 0.0
for d in durs:
    want += [round(off + i + 0.1, 3) for i in range(int(d))]
    off += d
got = [w["start"] for s in json.load(open(sys.argv[2]))["segments"] for w in s["words"]]
ok = len(got) == len(want) and all(abs(a - b) < 0.002 for a, b in zip(got, want))
print(f"# {len(got)} words, chunk durations {durs}")
sys.exit(0 if ok else 1)
EOF
check "segments end at the service's sentence ends" jq -e \
    '[.segments[].text | endswith(".")] | all' "$T"
check "confidence from avg_logprob" jq -e \
    '.result.mean_confidence > 0.77 and .result.mean_confidence < 0.79' "$TMP/out.json"
check_eq "no fallback when the service answers" "0" "$(field '.events | length')"
check_eq "no upload files left" "0" "$(find "$TMP/scratch/1" -name '*.flac' | wc -l)"

# --- the service keeps failing: the offline recogniser takes over ---
conf_set transcribe_retries 2
server "500"
transcribe 2 "$M/librivox_sense_and_sensibility_01_austen_64kb-0870.wav" "$OA"
check_eq "after the retries, fallback to pocketsphinx" "ok pocketsphinx" "$(field '"\(.rc) \(.result.backend)"')"
check_eq "retries counted" "2" "$(req length)"
check "fallback event names the failure" jq -e \
    '.events[0].kind == "fallback" and (.events[0].msg | test("HTTP 500")) and (.events[0].msg | test("offline"))' "$TMP/out.json"
check "fallback transcript has words" jq -e '.result.words > 10' "$TMP/out.json"

# --- a refused key: no retries; the service's words (which may quote
# the key) go to the log, the event says what happened ---
server "401"
transcribe 3 "$M/librivox_sense_and_sensibility_01_austen_64kb-0880.wav" "$OA"
check_eq "401 not retried" "1" "$(req length)"
check "401 said in the event" jq -e \
    '.rc == "ok" and (.events[0].msg | test("HTTP 401"))' "$TMP/out.json"
check "401: the service's words are not in the event" jq -e \
    '.events[0].msg | test("Incorrect API key") | not' "$TMP/out.json"
check "401: they are in the log" grep -q '"event":"asr_refused".*Incorrect API key' "$TMP/err.log"

# --- an unreadable key file: fallback without a request ---
conf_set openai_key_file "$TMP/missing-key"
server "ok"
transcribe 4 "$M/librivox_sense_and_sensibility_01_austen_64kb-0880.wav" "$OA"
check_eq "missing key file: no request sent" "0" "$(req length)"
check "missing key file: said in the event" jq -e \
    '.rc == "ok" and (.events[0].msg | test("key file"))' "$TMP/out.json"
done_testing
