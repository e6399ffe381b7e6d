#!/usr/bin/env bash
# Per-user accounting on every path of the web front: a retry obeys the
# submission limits and a bounded number of retries per job; a render that
# reopens a job awaiting review (or finished) counts as an unfinished job; concurrent
# uploads per user are bounded (429 with Retry-After before the body is
# read); long-poll waiters have a per-user and a global cap (429 with
# Retry-After); a long-poll on a finished job answers at once with its
# final state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set fcgi_threads 4
conf_set upload_max_mb 4
conf_set user_max_jobs 2
conf_set user_submits_per_minute 100
conf_set user_retries_per_job 2
conf_set user_max_uploads 2
conf_set user_max_longpolls 2
conf_set metrics_token accounting-metrics
conf_set longpoll_max_waiters 3
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)
carol=$(clipmill user add carol)
dave=$(clipmill user add dave)
erin=$(clipmill user add erin)
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1

submit() { api POST /jobs "$1" -H 'Content-Type: application/json' -d '{"url":"https://x.org/v"}'; }
idof() { jget "$(body_of "$1")" 'j["id"]'; }

# --- retry: the job limits, and a bounded number of retries ---
j1=$(idof "$(submit "$alice")")
j2=$(idof "$(submit "$alice")")
check_eq "alice at her 2 unfinished jobs: a third is refused" 429 "$(status_of "$(submit "$alice")")"
check_eq "cancel job 1" 200 "$(status_of "$(api POST "/jobs/$j1/cancel" "$alice")")"
j3=$(idof "$(submit "$alice")")
check_eq "cancel job 3" 200 "$(status_of "$(api POST "/jobs/$j3/cancel" "$alice")")"
# alice has job 2 unfinished; retrying 1 makes two; retrying 3 would be three
check_eq "retry within the limit: 200" 200 "$(status_of "$(api POST "/jobs/$j1/retry" "$alice")")"
out=$(api POST "/jobs/$j3/retry" "$alice" -D "$TMP/h")
check_eq "retry beyond user_max_jobs: 429" 429 "$(status_of "$out")"
check "retry 429 has Retry-After" grep -qiE '^Retry-After: [0-9]+' "$TMP/h"
check_eq "retry 429 says why" "You have 2 jobs in progress; the limit is 2.  Wait for one to finish or cancel one." \
    "$(jget "$(body_of "$out")" 'j["error"]')"
check_eq "refused retry: job 3 stays cancelled" cancelled "$(sql "SELECT state FROM jobs WHERE id = $j3")"
# submit, cancel, retry in a loop: the retries of one job run out
api POST "/jobs/$j1/cancel" "$alice" >/dev/null
check_eq "second retry of job 1: 200" 200 "$(status_of "$(api POST "/jobs/$j1/retry" "$alice")")"
api POST "/jobs/$j1/cancel" "$alice" >/dev/null
out=$(api POST "/jobs/$j1/retry" "$alice")
check_eq "third retry of job 1 (user_retries_per_job 2): 409" 409 "$(status_of "$out")"
check_eq "409 says the retries are used up" "Job $j1 has been retried 2 times, the most allowed (2).  Submit the video again as a new job." \
    "$(jget "$(body_of "$out")" 'j["error"]')"
check_eq "refused retry: job 1 stays cancelled" cancelled "$(sql "SELECT state FROM jobs WHERE id = $j1")"
# the operator may still retry it
check "clipmill retry is the operator's: not bound" clipmill retry "$j1"
# --- a render reopens a job: it obeys the unfinished-jobs limit ---
e1=$(idof "$(submit "$erin")")
e2=$(idof "$(submit "$erin")")
er=$(sql "INSERT INTO jobs (user_id, source_kind, source_url, state)
    SELECT id, 'url', 'https://x.org/r', 'awaiting_review' FROM users WHERE name = 'erin' RETURNING id" | head -1)
sql "INSERT INTO clips (job_id, rank, start_s, end_s, title, state) VALUES ($er, 1, 0, 20, 'A', 'candidate')" >/dev/null
out=$(api POST "/jobs/$er/render" "$erin")
check_eq "erin at her 2 unfinished jobs: rendering a job awaiting review is refused" 429 "$(status_of "$out")"
check_eq "it says why" "You have 2 jobs in progress; the limit is 2.  Wait for one to finish or cancel one." \
    "$(jget "$(body_of "$out")" 'j["error"]')"
check_eq "the job still awaits review, its clip a candidate" "awaiting_review candidate" \
    "$(sql "SELECT j.state || ' ' || c.state FROM jobs j JOIN clips c ON c.job_id = j.id WHERE j.id = $er")"
check_eq "alice rendering erin's job: 404" 404 "$(status_of "$(api POST "/jobs/$er/render" "$alice")")"
check_eq "cancel one of erin's" 200 "$(status_of "$(api POST "/jobs/$e1/cancel" "$erin")")"
check_eq "then the render is accepted" 202 "$(status_of "$(api POST "/jobs/$er/render" "$erin")")"
check_eq "and the job is running" running "$(sql "SELECT state FROM jobs WHERE id = $er")"
check_eq "a third submission is now refused" 429 "$(status_of "$(submit "$erin")")"
: "$e2"
# a retry counts in the submission rate
stop_fcgi
conf_set user_submits_per_minute 3
conf_set user_max_jobs 100
conf_set user_retries_per_job 10
start_fcgi
bj=$(idof "$(submit "$bob")")
api POST "/jobs/$bj/cancel" "$bob" >/dev/null
check_eq "bob's retry (2nd action this minute): 200" 200 "$(status_of "$(api POST "/jobs/$bj/retry" "$bob")")"
api POST "/jobs/$bj/cancel" "$bob" >/dev/null
check_eq "bob's second retry (3rd): 200" 200 "$(status_of "$(api POST "/jobs/$bj/retry" "$bob")")"
api POST "/jobs/$bj/cancel" "$bob" >/dev/null
out=$(api POST "/jobs/$bj/retry" "$bob" -D "$TMP/h")
check_eq "a retry beyond user_submits_per_minute: 429" 429 "$(status_of "$out")"
check "rate 429 has Retry-After" grep -qiE '^Retry-After: [0-9]+' "$TMP/h"
check "rate 429 counts the retries" grep -q 'submitted or retried 3 jobs in the last minute; the limit is 3' <<<"$out"
stop_fcgi
conf_set user_submits_per_minute 100
start_fcgi

# --- concurrent uploads: 2 stream, a third is refused before its body ---
out=$(SCRATCH="$TMP/scratch" python3 "$CLIPMILL_TOP/tests/fcgi_client.py" uploads "$FCGI_SOCK" "$carol" 2 1 2>&1)
echo "$out" | sed 's/^/# /'
check_eq "two uploads streaming: two files in scratch" "scratch 2" "$(sed -n 1p <<<"$out")"
check_eq "a third upload: 429 with Retry-After and a reason" \
    "extra 429 30 You have 2 uploads in progress; the limit is 2.  Wait for one to finish and send this one again." \
    "$(grep '^extra' <<<"$out")"
check_eq "the two held uploads complete" "held 201 held 201" "$(grep '^held' <<<"$out" | xargs)"
check_eq "after they finished, an upload is taken again" "after 201" "$(grep '^after' <<<"$out")"
check_eq "carol's jobs: the three accepted uploads" 3 "$(sql "SELECT count(*) FROM jobs j JOIN users u ON u.id = j.user_id WHERE u.name = 'carol'")"
out=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $carol" -H 'Accept: text/html' -F "file=@$CLIPMILL_TESTDATA/tears_of_steel_clip01_640x360.mp4" "$BASE/jobs")
check_eq "an upload through nginx with slots free: 303" 303 "$out"

# --- long-poll: a finished job answers at once, with its final state ---
# (a job that has ended has no more events; waiting would only time out)
seq=$(sql "SELECT last_seq FROM jobs WHERE id = $j3")
out=$(api GET "/jobs/$j3/events?after=$seq&timeout=10" "$alice")
check_eq "long-poll on a cancelled job: 200" 200 "$(status_of "$out")"
check_eq "long-poll on a cancelled job: no events, next unchanged, the final state" \
    "0 $seq cancelled" "$(jget "$(body_of "$out")" 'str(len(j["events"])) + " " + str(j["next"]) + " " + j.get("state", "none")')"
sql "UPDATE jobs SET state = 'done', finished_at = now() WHERE id = $j1" >/dev/null
seq=$(sql "SELECT last_seq FROM jobs WHERE id = $j1")
out=$(api GET "/jobs/$j1/events?after=$seq&timeout=10" "$alice")
check_eq "long-poll on a done job: its state" "done" "$(jget "$(body_of "$out")" 'j.get("state", "none")')"
# a live job's wait that times out says the state too
seq=$(sql "SELECT last_seq FROM jobs WHERE id = $j2")
out=$(api GET "/jobs/$j2/events?after=$seq&timeout=1" "$alice")
check_eq "long-poll timing out on a pending job: its state" "0 pending" \
    "$(jget "$(body_of "$out")" 'str(len(j["events"])) + " " + j.get("state", "none")')"

# --- long-poll caps: 2 waiters per user, 3 in all ---
waiting() { curl -s -H 'Authorization: Bearer accounting-metrics' "$BASE/metrics" | sed -n 's/^clipmill_longpoll_waiting //p'; }
nwait() { [ "$(waiting)" = "$1" ]; }
dj=$(idof "$(submit "$dave")")
pids=()
for i in 1 2; do
	curl -s -o /dev/null --max-time 30 -H "Authorization: Bearer $alice" "$BASE/jobs/$j2/events?after=$seq&timeout=25" &
	pids+=($!)
done
check "alice's 2 waiters parked" wait_for 10 nwait 2
# refused NAME KEY PATH MESSAGE: a long-poll answered 429 with
# Retry-After and MESSAGE
refused() {
	local out
	out=$(api GET "$3" "$2" -D "$TMP/h")
	check_eq "$1: 429" 429 "$(status_of "$out")"
	check "$1: Retry-After" grep -qiE '^Retry-After: [0-9]+' "$TMP/h"
	check_eq "$1: says why" "$4" "$(jget "$(body_of "$out")" 'j["error"]')"
}
refused "alice's third waiter" "$alice" "/jobs/$j2/events?after=$seq&timeout=25" \
    "You have 2 progress requests waiting; the limit is 2.  Close a page or try again in a few seconds."
dseq=$(sql "SELECT last_seq FROM jobs WHERE id = $dj")
curl -s -o /dev/null --max-time 30 -H "Authorization: Bearer $dave" "$BASE/jobs/$dj/events?after=$dseq&timeout=25" &
pids+=($!)
check "dave's waiter parked: 3 in all" wait_for 10 nwait 3
refused "dave's second waiter, over the global cap" "$dave" "/jobs/$dj/events?after=$dseq&timeout=25" \
    "The server is holding as many progress requests as it can (3); try again in a few seconds."
out=$(api GET "/jobs/$dj/events?after=0&timeout=25" "$dave")
check_eq "with events to give, no wait and no cap: 200" 200 "$(status_of "$out")"
kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
check "the clients gone: nobody waiting" wait_for 10 nwait 0
out=$(api GET "/jobs/$j2/events?after=$seq&timeout=1" "$alice")
check_eq "after they left, alice may wait again" "200 pending" "$(status_of "$out") $(jget "$(body_of "$out")" 'j.get("state", "none")')"

done_testing
