#!/usr/bin/env bash
# A real job end to end in the browser (Debian's chromium, playwright-core):
# upload a talking-head video through the form behind real nginx, runners
# carry it through every stage, the page shows live progress and the clip
# plays from the gallery.  Screenshot: build/test-artifacts/web_e2e.png.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
need_browser
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set clip_min 6
conf_set clip_max 10
conf_set retry_base 0.2
mo_media "$TMP/m" 2 face || { not_ok "test video built"; exit 1; }
alice=$(clipmill user add alice)
start_fcgi || exit 1
start_nginx || exit 1
SHOT="$CLIPMILL_TOP/build/test-artifacts/web_e2e.png"
rm -f "$SHOT"

# Runners the way cron starts them, again and again until the test ends.
(
	while :; do
		nice -n 5 clipmill-batch --stage fetch,transcribe,select,frame,render,publish \
		    --idle-exit 2 2>>"$TMP/runner.log"
		sleep 0.2
	done
) &
loop=$!
at_exit "kill $loop 2>/dev/null; pkill -TERM -P $loop 2>/dev/null; wait $loop 2>/dev/null"

node "$CLIPMILL_TOP/tests/browser/e2e.js" "$BASE" "$alice" "$TMP/m/talk.mp4" "$SHOT"
rc=$?
job=$(sql 'SELECT max(id) FROM jobs')
check_eq "the job is done in the database" "done" "$(sql "SELECT state FROM jobs WHERE id = ${job:-0}")"
check_eq "one clip: its final event says so in the singular" "The clip is ready." \
    "$(sql "SELECT data->>'msg' FROM events WHERE job_id = ${job:-0} AND kind = 'done'")"
check_eq "the job names the uploaded file" "talk.mp4" "$(sql "SELECT source_name FROM jobs WHERE id = ${job:-0}")"
[ $rc -eq 0 ] || { sql "SELECT stage, state, attempts, error FROM tasks WHERE job_id = ${job:-0}"; tail -5 "$TMP/runner.log"; }
done_testing
