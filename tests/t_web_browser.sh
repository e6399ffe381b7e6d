#!/usr/bin/env bash
# Browser test in Debian's chromium driven by playwright-core: log in,
# submit the form with a real video, see the progress bar move and the job
# reach its end, keep a screenshot (build/test-artifacts/web_browser.png).
# The runner is not in this tree yet, so this script moves the job along
# the way the queue does (task progress, events with NOTIFY, final state).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
need_browser
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
alice=$(clipmill user add alice)
start_fcgi || exit 1
start_nginx || exit 1
VIDEO="$CLIPMILL_TESTDATA/intel_head-pose-face-detection-male.mp4"
SHOT="$CLIPMILL_TOP/build/test-artifacts/web_browser.png"
rm -f "$SHOT"

node "$CLIPMILL_TOP/tests/browser/submit.js" "$BASE" "$alice" "$VIDEO" "$SHOT" >"$TMP/node.out" 2>&1 &
npid=$!
at_exit "kill $npid 2>/dev/null"

has_job() { [ -n "$(sql 'SELECT id FROM jobs LIMIT 1')" ] || ! kill -0 $npid; }
if wait_for 90 has_job && kill -0 $npid; then
	job=$(sql 'SELECT id FROM jobs LIMIT 1')
	sleep 2		# the page is loaded and long-polling
	event() {
		sql "WITH j AS (UPDATE jobs SET last_seq = last_seq + 1, updated_at = now() WHERE id = $job RETURNING id, last_seq)
		     INSERT INTO events (job_id, seq, kind, stage, data) SELECT id, last_seq, '$1', 'fetch', '$2' FROM j
		     RETURNING pg_notify('clipmill_events', $job::text)" >/dev/null
	}
	sql "UPDATE tasks SET state = 'running', started_at = now() WHERE job_id = $job; UPDATE jobs SET state = 'running' WHERE id = $job" >/dev/null
	for pct in 20 45 70 90; do
		sql "UPDATE tasks SET progress = $pct, message = 'copying $pct%' WHERE job_id = $job" >/dev/null
		event progress "{\"stage\":\"fetch\",\"pct\":$pct,\"msg\":\"copying\"}"
		sleep 1.5
	done
	sql "UPDATE tasks SET state = 'done', progress = 100, finished_at = now() WHERE job_id = $job;
	     UPDATE jobs SET state = 'done', finished_at = now() WHERE id = $job" >/dev/null
	event done '{}'
fi
wait $npid
cat "$TMP/node.out"
check_eq "the uploaded file is in the store" 0 "$(cmp -s "$VIDEO" "$TMP/store/jobs/${job:-0}/upload.mp4"; echo $?)"
done_testing
