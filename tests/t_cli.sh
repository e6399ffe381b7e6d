#!/usr/bin/env bash
# The clipmill CLI on a real database: every command's output and exit
# status, bad arguments (exit 2), failures (exit 1 and one sentence), stats
# figures on rows with known durations, prune's retention with the store.
. "$(dirname "$0")/lib.sh"
newdb || exit 1

# run NAME EXPECTED_RC CMD...: run CMD, keep stdout in $out and stderr in
# $errout, check the exit status.
run() {
	local n=$1 want=$2; shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	out=$(cat "$TMP/out")
	errout=$(cat "$TMP/err")
	check_eq "$n: exit $want" "$want" "$rc"
}
# one_sentence: stderr is exactly one "clipmill: ..." line
one_line() { [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q '^clipmill: ' "$TMP/err"; }

# --- usage ---
run "no command" 2 clipmill
check "no command prints usage" grep -q '^usage: clipmill' "$TMP/err"
run "-h" 0 clipmill -h
check "-h lists every command" bash -c 'for c in migrate "user add" "user list" "user disable" "user enable" "user rotate-key" "user webhook" submit jobs "job ID" "retry ID" "cancel ID" stats prune config doctor; do grep -q "  $c" "$1" || exit 1; done' - "$TMP/out"
check "-h: a URL option takes a URL" grep -q -- "--webhook-url URL$" "$TMP/out"
run "unknown command" 2 clipmill frobnicate
check "unknown command named" grep -q 'unknown command "frobnicate"' "$TMP/err"

# --- users ---
run "user add" 0 clipmill user add alice
check "user add prints a key" grep -qE '^cm_[0-9a-f]{48}$' <<<"$out"
clipmill user add bob >/dev/null
run "user disable" 0 clipmill user disable bob
check_eq "user disable output" "user bob disabled" "$out"
check_eq "user disabled in the table" "t" "$(sql "SELECT disabled FROM users WHERE name = 'bob'")"
run "user disable unknown" 1 clipmill user disable nobody
check "user disable unknown message" one_line
check "user disable unknown names the user" grep -q 'no user named "nobody"' "$TMP/err"
run "user list" 0 clipmill user list
check "user list header" grep -qE '^ID +NAME +KEY +STATE +JOBS' <<<"$out"
check "user list shows bob disabled" grep -qE '^2 +bob +cm_[0-9a-f]{7} +disabled' <<<"$out"
check "user list shows alice active" grep -qE '^1 +alice +cm_[0-9a-f]{7} +active' <<<"$out"
clipmill user add carl >/dev/null && clipmill user disable carl >/dev/null
run "user enable" 0 clipmill user enable carl
check_eq "user enable output" "user carl enabled" "$out"
check_eq "user enabled in the table" "f" "$(sql "SELECT disabled FROM users WHERE name = 'carl'")"
run "user without subcommand" 2 clipmill user
run "user bad subcommand" 2 clipmill user frob x

# --- submit ---
run "submit url" 0 clipmill submit --user alice --clips 2 --min-len 15 \
    --max-len 45 --aspect 1:1 --aspect 9:16 --aspect 1:1 --no-captions \
    https://example.com/talk.mp4
check "submit prints the job id" grep -qE '^[0-9]+$' <<<"$out"
j1=$out
check_eq "submit: job row" "url|https://example.com/talk.mp4|pending|alice" \
    "$(sql "SELECT source_kind, source_url, j.state, u.name FROM jobs j JOIN users u ON u.id = user_id WHERE j.id = $j1")"
check_eq "submit: options (aspects in the table's order)" '{"clips": 2, "aspects": ["9:16", "1:1"], "max_len": 45, "min_len": 15, "captions": false}' \
    "$(sql "SELECT jsonb_build_object('clips', options->'clips', 'aspects', options->'aspects', 'min_len', (options->>'min_len')::float8, 'max_len', (options->>'max_len')::float8, 'captions', options->'captions') FROM jobs WHERE id = $j1")"
check_eq "submit: first task is fetch" "fetch|pending" "$(sql "SELECT stage, state FROM tasks WHERE job_id = $j1")"
check_eq "submit: submitted event" "submitted" "$(sql "SELECT kind FROM events WHERE job_id = $j1")"

run "submit defaults" 0 clipmill submit --user alice http://127.0.0.1:9/v.mp4
j2=$out
check_eq "submit defaults from the configuration" '3|["9:16"]|20|60|true' \
    "$(sql "SELECT options->'clips', options->'aspects', (options->>'min_len')::float8, (options->>'max_len')::float8, options->'captions' FROM jobs WHERE id = $j2")"

head -c 5000 /dev/urandom >"$TMP/My Talk.MKV"
run "submit file" 0 clipmill submit --user alice --caption-style bold --file "$TMP/My Talk.MKV"
j3=$out
check_eq "submit file: source key" "upload|jobs/$j3/upload.mkv" "$(sql "SELECT source_kind, source_key FROM jobs WHERE id = $j3")"
check "submit file: stored byte for byte" cmp "$TMP/My Talk.MKV" "$TMP/store/jobs/$j3/upload.mkv"
check_eq "submit file: caption style" '"bold"' "$(sql "SELECT options->'caption_style' FROM jobs WHERE id = $j3")"

njobs=$(sql "SELECT count(*) FROM jobs")
for bad in "--clips 0" "--clips 11" "--clips x" "--min-len 0" "--max-len 4000" \
    "--min-len 50 --max-len 40" "--aspect 16:9" "--caption-style loud" \
    "--language english" "--transcribe whisper" "--select random" "--bogus" \
    "--min-len 15.5" "--clips 2.5" "--captions maybe" "--first-stage test_noop"; do
	# shellcheck disable=SC2086
	run "submit $bad" 2 clipmill submit --user alice $bad https://example.com/v
	check "submit $bad: says why" grep -q '^clipmill: ' "$TMP/err"
done
run "submit min > max message" 2 clipmill submit --user alice --min-len 50 --max-len 40 https://example.com/v
check "submit min > max names the options" grep -q -- '--min-len must not be longer than --max-len (40 s)' "$TMP/err"
run "submit without user" 2 clipmill submit https://example.com/v
check "submit without user says so" grep -q 'needs --user' "$TMP/err"
run "submit without source" 2 clipmill submit --user alice
run "submit url and file" 2 clipmill submit --user alice --file "$TMP/My Talk.MKV" https://example.com/v
run "submit ftp url" 2 clipmill submit --user alice ftp://example.com/v
run "submit url with space" 2 clipmill submit --user alice "https://example.com/a b"
run "submit two urls" 2 clipmill submit --user alice https://a.example/ https://b.example/
run "submit unknown user" 1 clipmill submit --user carol https://example.com/v
check "submit unknown user message" grep -q 'no user named "carol"' "$TMP/err"
run "submit disabled user" 1 clipmill submit --user bob https://example.com/v
check "submit disabled user message" grep -q 'user "bob" is disabled' "$TMP/err"
head -c 100 /dev/zero >"$TMP/x.exe"
run "submit --file x.exe" 2 clipmill submit --user alice --file "$TMP/x.exe"
check "submit --file x.exe: says why" grep -q -- '--file ".*x.exe" is not a video or audio file this service takes (mp4, mov, m4v, webm, mkv, avi, mpg, mpeg, ts, flv, ogv, m4a, mp3, wav, ogg, opus, flac)' "$TMP/err"
run "submit --aspects (the field's name)" 0 clipmill submit --user alice --aspects 4:5 --captions off --transcribe-backend pocketsphinx --select-backend heuristic https://example.com/v
check_eq "submit --aspects: options" '["4:5"]|false|pocketsphinx|heuristic' \
    "$(sql "SELECT (options->'aspects')::text || '|' || (options->>'captions') || '|' || (options->>'transcribe_backend') || '|' || (options->>'select_backend') FROM jobs WHERE id = $out")"
sql "DELETE FROM jobs WHERE id = $out"
run "submit --transcribe openai without a key" 2 clipmill submit --user alice --transcribe openai https://example.com/v
check "submit openai without a key: says so" grep -q 'openai transcription is not configured' "$TMP/err"
run "submit missing file" 1 clipmill submit --user alice --file "$TMP/nope.mp4"
check "submit missing file message" one_line
check_eq "no job from any refused submit" "$njobs" "$(sql "SELECT count(*) FROM jobs")"
check_eq "no upload left by a refused submit" "1" "$(find "$TMP/store/jobs" -type f | wc -l)"

# --- jobs ---
run "jobs" 0 clipmill jobs
check_eq "jobs lists every job, newest first" "$j3 $j2 $j1" "$(tail -n +2 "$TMP/out" | awk '{print $1}' | xargs)"
check "jobs header" grep -qE '^ID +USER +STATE +CLIPS +CREATED' <<<"$out"
run "jobs --limit 1" 0 clipmill jobs --limit 1
check_eq "jobs --limit 1 shows the newest" "$j3" "$(tail -n +2 "$TMP/out" | awk '{print $1}' | xargs)"
sql "UPDATE jobs SET state = 'failed', error = 'The video could not be downloaded.', finished_at = now() WHERE id = $j2"
run "jobs --state failed" 0 clipmill jobs --state failed
check_eq "jobs --state failed shows only the failed job" "$j2" "$(tail -n +2 "$TMP/out" | awk '{print $1}' | xargs)"
check "jobs shows the error" grep -q 'could not be downloaded' "$TMP/out"
run "jobs --state done (none)" 0 clipmill jobs --state done
check_eq "jobs --state done: only the header" "1" "$(wc -l <"$TMP/out")"
run "jobs --user alice" 0 clipmill jobs --user alice --state pending
check_eq "jobs --user and --state together" "$j3 $j1" "$(tail -n +2 "$TMP/out" | awk '{print $1}' | xargs)"
run "jobs --user bob" 0 clipmill jobs --user bob
check_eq "jobs of a user with none" "1" "$(wc -l <"$TMP/out")"
run "jobs --user unknown" 1 clipmill jobs --user nobody
check "jobs --user unknown message" one_line
run "jobs --state bogus" 2 clipmill jobs --state bogus
check "jobs --state bogus lists the states" grep -q 'pending, running, done, partial, failed or cancelled' "$TMP/err"
run "jobs --limit 0" 2 clipmill jobs --limit 0
run "jobs --limit x" 2 clipmill jobs --limit x
run "jobs extra argument" 2 clipmill jobs extra

# --- job ID ---
sql "UPDATE tasks SET state = 'running', attempts = 2, runner = 'host1:42:1', progress = 40, message = 'downloading', started_at = now() WHERE job_id = $j1"
k=$(sql "INSERT INTO clips (job_id, rank, aspect, start_s, end_s, score, title) VALUES ($j1, 1, '9:16', 12.5, 40.25, 0.875, 'The best part') RETURNING id")
sql "UPDATE clips SET video_key = 'clips/' || id || '/v-abc.mp4' WHERE id = $k" >/dev/null
run "job" 0 clipmill job "$j1"
check "job shows the state" grep -qE '^state +pending$' "$TMP/out"
check "job shows the source" grep -qE '^source +url https://example.com/talk.mp4$' "$TMP/out"
check "job: a clip kept with no URL shows its store key" grep -qE "^$k +1 +9:16 .* clips/$k/v-abc\.mp4 " "$TMP/out"
check "job: task with stage, state, attempts, runner, progress" \
    grep -qE '^[0-9]+ +fetch +- +running +2/3 +40% downloading +host1:42:1 ' "$TMP/out"
check "job: clip row" grep -qE "^$k +1 +9:16 +12.50 +40.25 +0.875 +pending +The best part" "$TMP/out"
check "job: events" grep -qE '^1 +[0-9-]+ [0-9:]+ +submitted ' "$TMP/out"
check "job: section counts" bash -c "grep -qx 'tasks (1)' '$TMP/out' && grep -qx 'clips (1)' '$TMP/out' && grep -qx 'events (1)' '$TMP/out'"
run "job unknown" 1 clipmill job 999999
check_eq "job unknown message" "clipmill: no job 999999" "$errout"
run "job not a number" 2 clipmill job abc
run "job negative" 2 clipmill job -5
run "job no id" 2 clipmill job

# --- cancel and retry ---
sql "UPDATE tasks SET state = 'pending', runner = NULL WHERE job_id = $j1"
run "cancel" 0 clipmill cancel "$j1"
check_eq "cancel output" "job $j1 cancelled" "$out"
check_eq "cancel: job and task cancelled" "cancelled|cancelled" "$(sql "SELECT j.state, t.state FROM jobs j JOIN tasks t ON t.job_id = j.id WHERE j.id = $j1")"
check_eq "cancel: event" "cancelled" "$(sql "SELECT kind FROM events WHERE job_id = $j1 ORDER BY seq DESC LIMIT 1")"
run "cancel again" 1 clipmill cancel "$j1"
check "cancel again says it ended" grep -q "has already ended (cancelled)" "$TMP/err"
run "cancel unknown" 1 clipmill cancel 999999
check_eq "cancel unknown message" "clipmill: no job 999999" "$errout"
run "cancel bad id" 2 clipmill cancel 1x
run "retry pending job" 1 clipmill retry "$j3"
check "retry pending job says why" grep -q "only failed, cancelled or partial jobs can be retried" "$TMP/err"
run "retry" 0 clipmill retry "$j1"
check_eq "retry output" "job $j1 will be retried" "$out"
check_eq "retry: task pending with fresh attempts" "running|pending|0" "$(sql "SELECT j.state, t.state, t.attempts FROM jobs j JOIN tasks t ON t.job_id = j.id WHERE j.id = $j1")"
run "retry unknown" 1 clipmill retry 999999
check_eq "retry unknown message" "clipmill: no job 999999" "$errout"
run "retry no id" 2 clipmill retry

# --- stats on seeded rows with known durations ---
sql "DELETE FROM tasks; DELETE FROM events WHERE kind = 'retry'"
# render: 20 done tasks of 1..20 s in the last hour, one of 1000 s two hours
# ago (outside the window); 2 failed in the last hour, 1 failed earlier;
# 4 pending, 1 running; 3 retry events in the last hour, 1 earlier.
sql "INSERT INTO tasks (job_id, stage, state, started_at, finished_at)
     SELECT $j3, 'render', 'done', now() - interval '30 minutes' - s * interval '1 second',
            now() - interval '30 minutes' FROM generate_series(1, 20) s;
     INSERT INTO tasks (job_id, stage, state, started_at, finished_at) VALUES
       ($j3, 'render', 'done', now() - interval '2 hours' - interval '1000 seconds', now() - interval '2 hours'),
       ($j3, 'render', 'failed', now() - interval '10 minutes' - interval '5 seconds', now() - interval '10 minutes'),
       ($j3, 'render', 'failed', now() - interval '5 minutes' - interval '5 seconds', now() - interval '5 minutes'),
       ($j3, 'render', 'failed', now() - interval '3 hours', now() - interval '3 hours'),
       ($j3, 'render', 'running', now(), NULL);
     INSERT INTO tasks (job_id, stage) SELECT $j3, 'render' FROM generate_series(1, 4);
     INSERT INTO tasks (job_id, stage, state, started_at, finished_at) VALUES
       ($j3, 'fetch', 'done', now() - interval '62 seconds', now() - interval '60 seconds'),
       ($j3, 'fetch', 'done', now() - interval '64 seconds', now() - interval '60 seconds');
     INSERT INTO tasks (job_id, stage, state) VALUES ($j3, 'publish', 'cancelled');
     INSERT INTO events (job_id, seq, kind, stage, ts) VALUES
       ($j3, 100, 'retry', 'render', now() - interval '1 minute'),
       ($j3, 101, 'retry', 'render', now() - interval '2 minutes'),
       ($j3, 102, 'retry', 'render', now() - interval '3 minutes'),
       ($j3, 103, 'retry', 'render', now() - interval '2 hours'),
       ($j3, 104, 'retry', 'select', now() - interval '4 minutes')"
run "stats" 0 clipmill stats
# the 20 done (1..20 s) and 2 failed (5 s) tasks of the last hour:
# p50 of {1..20, 5, 5} = 9.5, p95 = 18.95 (linear interpolation)
check_eq "stats: render row" "render 4 1 21 3 0 9.50 18.95 2 3" \
    "$(awk '$1 == "render"' "$TMP/out" | xargs)"
check_eq "stats: fetch row" "fetch 0 0 2 0 0 3.00 3.90 0 0" \
    "$(awk '$1 == "fetch"' "$TMP/out" | xargs)"
check_eq "stats: publish row (no durations)" "publish 0 0 0 0 1 - - 0 0" \
    "$(awk '$1 == "publish"' "$TMP/out" | xargs)"
check_eq "stats: a stage with only retries" "select 0 0 0 0 0 - - 0 1" \
    "$(awk '$1 == "select"' "$TMP/out" | xargs)"
check_eq "stats: stages in pipeline order" "fetch select render publish" \
    "$(awk '$1 ~ /^(fetch|transcribe|select|frame|render|publish)$/ {print $1}' "$TMP/out" | xargs)"
check_eq "stats: jobs by state" "all 1 1 0 0 1 0" "$(awk '$1 == "all"' "$TMP/out" | xargs)"
run "stats with an argument" 2 clipmill stats now

# --- prune: retention by outcome count and age, with the store ---
sql "DELETE FROM jobs"
conf_set keep_completed 2
conf_set keep_failed 1
conf_set retention_days 0
uid=$(sql "SELECT id FROM users WHERE name = 'alice'")
# ids 1001..1005 done (finished 5..1 hours ago, 1005 newest), 1006..1008
# failed (1008 newest), 1009 partial (newest of all good), 1010 running.
sql "INSERT INTO jobs (id, user_id, state, source_kind, finished_at)
     SELECT 1000 + i, $uid, 'done', 'url', now() - (6 - i) * interval '1 hour' FROM generate_series(1, 5) i;
     INSERT INTO jobs (id, user_id, state, source_kind, finished_at)
     SELECT 1005 + i, $uid, 'failed', 'url', now() - (4 - i) * interval '1 hour' FROM generate_series(1, 3) i;
     INSERT INTO jobs (id, user_id, state, source_kind, finished_at) VALUES
       (1009, $uid, 'partial', 'url', now()), (1010, $uid, 'running', 'url', NULL)"
for id in $(seq 1001 1010); do
	mkdir -p "$TMP/store/jobs/$id/render" "$TMP/store/clips/$id"
	echo x >"$TMP/store/jobs/$id/render/1.mp4"
	echo x >"$TMP/store/clips/$id/1.mp4"
done
sql "INSERT INTO events (job_id, seq, kind) SELECT id, 1, 'submitted' FROM jobs"
run "prune" 0 clipmill prune
check_eq "prune output" "6 jobs pruned" "$out"
check_eq "prune keeps the newest 2 completed, 1 failed and the running job" \
    "1005 1008 1009 1010" "$(sql "SELECT id FROM jobs ORDER BY id" | xargs)"
check_eq "prune removes the pruned jobs' events" "4" "$(sql "SELECT count(*) FROM events")"
check_eq "prune removes the pruned jobs' store directories" "1005 1008 1009 1010" \
    "$(ls "$TMP/store/jobs" | grep '^10' | sort | xargs)"
check_eq "prune removes the pruned jobs' published clips" "1005 1008 1009 1010" \
    "$(ls "$TMP/store/clips" | sort | xargs)"
run "prune again" 0 clipmill prune
check_eq "prune again prunes nothing" "0 jobs pruned" "$out"
conf_set retention_days 1
sql "UPDATE jobs SET finished_at = now() - interval '2 days' WHERE id = 1008"
run "prune by age" 0 clipmill prune
check_eq "prune by age output" "1 job pruned" "$out"
check_eq "prune by age removes the old job" "1005 1009 1010" "$(sql "SELECT id FROM jobs ORDER BY id" | xargs)"
check "prune by age removes its files" test ! -e "$TMP/store/jobs/1008"
run "prune with an argument" 2 clipmill prune all

# --- config ---
conf_set clip_max 90
run "config" 0 clipmill config
check "config shows a set value" grep -qx 'clip_max = 90' "$TMP/out"
check "config shows a default" grep -qx 'x264_preset = "veryfast"' "$TMP/out"
check "config shows the environment's database_url" grep -qF "database_url = \"$CLIPMILL_DATABASE_URL\"" "$TMP/out"
printf 'clip_max = 75\n' >"$TMP/other.conf"
run "config -c" 0 clipmill -c "$TMP/other.conf" config
check "-c names the file read instead of CLIPMILL_CONF" grep -qx 'clip_max = 75' "$TMP/out"
run "config -c missing file" 1 clipmill -c "$TMP/none.conf" config
check "config -c missing file message" one_line

# --- submit's options are the API's fields, and the man pages list them ---
# The options `clipmill -h` lists (from the job table), as field names.
run "-h for the options" 0 clipmill -h
flags=$(sed -n 's/^ \{20,\}--\([a-z-]*\) .*/\1/p' "$TMP/out" | grep -v '^no-captions$')
fields=$(tr '-' '_' <<<"$flags" | sort)
check "submit lists its options" test "$(wc -l <<<"$fields")" -ge 10
# the API's submission fields but the source (an argument or --file), the
# test hook (a configuration's) and the browser's csrf
api=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("\n".join(sorted(set(d["components"]["schemas"]["JobSubmission"]["properties"]) - {"url", "csrf", "first_stage"})))' \
    "$CLIPMILL_TOP/fcgi/openapi.json")
check_eq "submit's options are the API's field names, - for _" "$api" "$fields"
missing=""
for f in $flags; do grep -qE "^\.It (.* )?Fl \\\\-$f( |\$)" "$CLIPMILL_TOP/batch/cli/clipmill.1" || missing="$missing --$f"; done
check_eq "clipmill(1) describes every submit option" "" "$missing"
missing=""
sub=$(sed -n '/^\.Ss Submission fields/,/^\.Ss /p' "$CLIPMILL_TOP/fcgi/clipmill.fcgi.8")
for f in $fields first_stage url; do grep -qE "^\.It Cm (.* , )?$f( |\$)" <<<"$sub" || missing="$missing $f"; done
check_eq "clipmill.fcgi(8) lists every submission field" "" "$missing"
run "a refused submit's usage lists the options" 2 clipmill submit --user alice --clips 0 https://example.com/v
check "a refused submit's usage lists every option" bash -c 'for f in $2; do grep -q "^  --$f " "$1" || exit 1; done' - "$TMP/err" "$flags"
check "a URL option is shown as URL" grep -q '^  --webhook-url URL$' "$TMP/err"

# --- failures that are not the user's arguments ---
CLIPMILL_DATABASE_URL="host=$TMP/nowhere dbname=x" run "no database" 1 clipmill jobs
check "no database: one sentence" one_line
check "no database: says so" grep -q 'cannot connect to the database' "$TMP/err"
done_testing
