# Helpers shared by the media-in tests (t_fetch.sh, t_transcribe*.sh) and
# contrib/bench/transcribe; sourced after tests/lib.sh (or with $TMP and
# $CLIPMILL_TOP set).
M=${CLIPMILL_TESTDATA:-$CLIPMILL_TOP/../shared/testdata/media}
LIBRI=$M/librivox_sense_and_sensibility_01_austen_64kb-0870

# The stage driver (tests/unit/mediain.c).
mediain() { "$CLIPMILL_TOP/build/tests/mediain" "$@"; }
# field JQ: a value from the last run's report.
field() { jq -r "$1" "$TMP/out.json"; }

# transcribe ID FILE [OPTIONS_JSON]: store FILE as job ID's source and run
# the transcribe stage; report in $TMP/out.json, stderr in $TMP/err.log.
transcribe() {
	local ext=${2##*.} s="$TMP/scratch/$1"
	mkdir -p "$TMP/store/jobs/$1" "$s"
	cp "$2" "$TMP/store/jobs/$1/source.$ext"
	mediain run transcribe "{\"id\":$1,\"source_key\":\"jobs/$1/source.$ext\",\"options\":${3:-{\}}}" \
	    "$s" >"$TMP/out.json" 2>"$TMP/err.log"
}

# speech_wav OUT: JFK, LibriVox 0870 and 0880 one after the other with a
# 0.7 s pause after them (21.8 s, 16 kHz mono), to be looped.
speech_wav() {
	ffmpeg -v error -y -i "$M/jfk.wav" -i "$LIBRI.wav" \
	    -i "$M/librivox_sense_and_sensibility_01_austen_64kb-0880.wav" \
	    -filter_complex '[0][1][2]concat=n=3:v=0:a=1,apad=pad_dur=0.7[a]' \
	    -map '[a]' -ar 16000 -ac 1 "$1"
}

# score TRANSCRIPT REF.txt [REF.words.json]: prints "WER MEDIAN_START_ERR
# MATCHED"; words are aligned by edit distance after normalising case,
# punctuation and "mr" -> "mister".
score() {
	python3 - "$@" <<'EOF'
import json, re, statistics, sys
def norm(w):
    w = re.sub(r"[^a-z']", "", w.lower())
    return {"mr": "mister", "mrs": "missus"}.get(w, w)
tr = json.load(open(sys.argv[1]))
hyp = [(norm(w["word"]), w["start"]) for s in tr["segments"] for w in s["words"]]
hyp = [h for h in hyp if h[0]]
ref = [norm(w) for w in open(sys.argv[2]).read().split()]
ref = [r for r in ref if r]
times = None
if len(sys.argv) > 3:
    al = json.load(open(sys.argv[3]))
    times = [(re.sub(r"\(\d+\)$", "", w["t"]), w["b"]) for w in al["w"]
             if not w["t"].startswith("<")]
    assert [t for t, _ in times] == ref, "alignment and text disagree"
n, m = len(ref), len(hyp)
d = [[0] * (m + 1) for _ in range(n + 1)]
for i in range(n + 1): d[i][0] = i
for j in range(m + 1): d[0][j] = j
for i in range(1, n + 1):
    for j in range(1, m + 1):
        d[i][j] = min(d[i-1][j] + 1, d[i][j-1] + 1,
                      d[i-1][j-1] + (ref[i-1] != hyp[j-1][0]))
errs, i, j = [], n, m
while i > 0 and j > 0:
    if d[i][j] == d[i-1][j-1] + (ref[i-1] != hyp[j-1][0]):
        if ref[i-1] == hyp[j-1][0] and times:
            errs.append(abs(times[i-1][1] - hyp[j-1][1]))
        i, j = i - 1, j - 1
    elif d[i][j] == d[i-1][j] + 1: i -= 1
    else: j -= 1
med = statistics.median(errs) if errs else 9.99
print(f"{d[n][m] / n:.3f} {med:.3f} {len(errs)}")
EOF
}

# speech_text N: the text of N loops of speech_wav's recording.
speech_text() {
	local i
	for i in $(seq "$1"); do
		cat "$M/jfk.txt" "$LIBRI.txt" "$M/librivox_sense_and_sensibility_01_austen_64kb-0880.txt"
	done
}
