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
