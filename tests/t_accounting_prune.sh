#!/usr/bin/env bash
# Pruning counts per user: keep_completed and keep_failed keep each user's
# newest jobs, so one user's burst of jobs never deletes another user's
# clips (rows and stored files).  A job left awaiting review goes after
# retention_days without a change, whatever the counts.
. "$(dirname "$0")/lib.sh"
newdb || exit 1
conf_set keep_completed 2
conf_set keep_failed 1
conf_set retention_days 0
alice=$(sql "INSERT INTO users (name, key_hash, key_prefix) VALUES ('alice', 'ha', 'pa') RETURNING id")
bob=$(sql "INSERT INTO users (name, key_hash, key_prefix) VALUES ('bob', 'hb', 'pb') RETURNING id")

# bob: one done job (the oldest of all) and one failed job, each with a
# published clip.  alice, later: a burst of 6 done and 3 failed jobs.
sql "INSERT INTO jobs (id, user_id, state, source_kind, finished_at) VALUES
       (100, $bob, 'done', 'url', now() - interval '10 hours'),
       (101, $bob, 'failed', 'url', now() - interval '9 hours');
     INSERT INTO jobs (id, user_id, state, source_kind, finished_at)
     SELECT 200 + i, $alice, 'done', 'url', now() - (7 - i) * interval '1 minute'
     FROM generate_series(1, 6) i;
     INSERT INTO jobs (id, user_id, state, source_kind, finished_at)
     SELECT 300 + i, $alice, 'failed', 'url', now() - (4 - i) * interval '1 minute'
     FROM generate_series(1, 3) i;
     INSERT INTO clips (job_id, rank, start_s, end_s, state, video_key)
     SELECT id, 1, 0, 10, 'ready', 'clips/' || id || '/1.mp4' FROM jobs" >/dev/null
for id in $(sql "SELECT id FROM jobs"); do
	mkdir -p "$TMP/store/clips/$id" && echo x >"$TMP/store/clips/$id/1.mp4"
done

out=$(clipmill prune 2>&1); rc=$?
check_eq "prune exits 0" 0 "$rc"
check_eq "alice's 4 older done and 2 older failed jobs pruned" "6 jobs pruned" "$out"
check_eq "bob's jobs kept" "100 101" "$(sql "SELECT id FROM jobs WHERE user_id = $bob ORDER BY id" | xargs)"
check_eq "bob's clip rows kept" 2 "$(sql "SELECT count(*) FROM clips c JOIN jobs j ON j.id = c.job_id WHERE j.user_id = $bob")"
check "bob's clip files kept" test -f "$TMP/store/clips/100/1.mp4" -a -f "$TMP/store/clips/101/1.mp4"
check_eq "alice keeps her newest 2 done and newest failed job" "205 206 303" \
    "$(sql "SELECT id FROM jobs WHERE user_id = $alice ORDER BY id" | xargs)"
check "alice's pruned clip files gone" test ! -e "$TMP/store/clips/201/1.mp4" -a ! -e "$TMP/store/clips/301/1.mp4"

# awaiting review: an abandoned one (40 days without a change) and a
# recent one; the counts never take them, the age limit takes the old one
conf_set retention_days 30
sql "INSERT INTO jobs (id, user_id, state, source_kind, updated_at) VALUES
       (400, $bob, 'awaiting_review', 'url', now() - interval '40 days'),
       (401, $bob, 'awaiting_review', 'url', now() - interval '2 days')" >/dev/null
mkdir -p "$TMP/store/jobs/400" && echo x >"$TMP/store/jobs/400/source.mp4"
out=$(clipmill prune 2>&1)
check_eq "one job pruned" "1 job pruned" "$out"
check_eq "the review abandoned 40 days ago is gone, the recent one stays" "401" \
    "$(sql "SELECT id FROM jobs WHERE state = 'awaiting_review'" | xargs)"
check "its source file is gone" test ! -e "$TMP/store/jobs/400/source.mp4"
check_eq "the ended jobs within 30 days stay" "100 101 205 206 303" \
    "$(sql "SELECT id FROM jobs WHERE state <> 'awaiting_review' ORDER BY id" | xargs)"
done_testing
