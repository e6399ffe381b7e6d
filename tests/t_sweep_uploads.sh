#!/usr/bin/env bash
# The sweeper (clipmill-batch --sweep, from cron every 30 minutes) removes
# the upload.XXXXXX files clipmill.fcgi streams uploads into when a
# request died and left one in scratch_dir: untouched for two hours.  A
# recent one (an upload still arriving or being stored) stays, and so does
# anything else in the directory.
. "$(dirname "$0")/lib.sh"
newdb || exit 1
S=$TMP/scratch
head -c 300000 /dev/urandom >"$S/upload.Ab3xQz"	# a request killed mid-upload
touch -d '3 hours ago' "$S/upload.Ab3xQz"
head -c 1000 /dev/urandom >"$S/upload.Rc7pLm"	# one still arriving
touch -d '10 minutes ago' "$S/upload.Rc7pLm"
echo keep >"$S/notes.txt"
touch -d '3 hours ago' "$S/notes.txt"
mkdir "$S/upload.dir"
touch -d '3 hours ago' "$S/upload.dir"
clipmill-batch --sweep 2>"$TMP/sweep.log"
check_eq "sweep exits 0" 0 "$?"
check "an upload left behind three hours ago is removed" test ! -e "$S/upload.Ab3xQz"
check "an upload written 10 minutes ago stays" test -f "$S/upload.Rc7pLm"
check "other files stay" test -f "$S/notes.txt"
check "a directory named upload.* stays" test -d "$S/upload.dir"
check "the log names the removed upload and its size" \
    grep -q "\"event\":\"upload_swept\".*\"path\":\"$S/upload.Ab3xQz\",\"bytes\":300000" "$TMP/sweep.log"
check "sweep_done counts it" grep -q '"event":"sweep_done".*"uploads":1' "$TMP/sweep.log"
done_testing
