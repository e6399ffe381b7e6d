#!/usr/bin/env bash
# Review before render in the browser (Debian's chromium, playwright-core)
# with real runners behind real nginx: submit with "review", correct a word
# and move an end in the job page's editor, render one clip, find the
# correction in its subtitles; render it again with another caption style;
# "Render all" renders the candidate left.
# Screenshots: build/test-artifacts/web_review-*.png.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
browser_e2e_setup
ART="$CLIPMILL_TOP/build/test-artifacts"
rm -f "$ART"/web_review-*.png

node "$CLIPMILL_TOP/tests/browser/review.js" "$BASE" "$alice" "$TMP/m/talk.mp4" "$ART"
rc=$?
job=$(sql 'SELECT max(id) FROM jobs')
check_eq "in the database: the job done, every clip ready" "done 0" \
    "$(sql "SELECT state FROM jobs WHERE id = ${job:-0}") $(sql "SELECT count(*) FROM clips WHERE job_id = ${job:-0} AND state <> 'ready'")"
[ $rc -eq 0 ] || { sql "SELECT stage, state, attempts, error FROM tasks WHERE job_id = ${job:-0}"; tail -5 "$TMP/runner.log"; }
done_testing
