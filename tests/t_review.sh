#!/usr/bin/env bash
# Review before render (issue 13), through the JSON API behind nginx with
# runners carrying a real upload through every stage: a job submitted
# with review stops awaiting_review with more candidates than it asked
# for (the long-poll answers at once, the webhook job.awaiting_review is
# delivered, signed); a word corrected, the end moved (snapped to a word),
# a word removed; two candidates rendered, the others left candidates, the
# job done; the clip's SRT and VTT carry the correction and not the
# removed word; a ready clip rendered again with another caption style
# keeps serving its old file until the new one is published, which gets a
# new store key while the old file is deleted.  Refusals: another user's
# clip and job 404 on every route, a browser session without its CSRF
# token 403, bad fields 400 naming the field, an edit while rendering 409.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
conf_set log_file "$TMP/clipmill.jsonl"
conf_set clip_min 5
conf_set clip_max 8
conf_set retry_base 0.2
conf_set fetch_allow_cidrs 127.0.0.1/32
mo_media "$TMP/m" 4 face || { not_ok "test video built"; exit 1; }
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)

python3 "$CLIPMILL_TOP/tests/webhook_receiver.py" "$TMP/port" "$TMP/recv.log" &
at_exit "kill $! 2>/dev/null"
wait_for 20 test -s "$TMP/port" || { not_ok "receiver started"; exit 1; }
secret=$(clipmill user webhook alice "http://127.0.0.1:$(cat "$TMP/port")/ok")

start_fcgi || exit 1
start_nginx || exit 1
# Runners the way cron starts them, again and again until the test ends.
(
	while :; do
		nice -n 5 clipmill-batch --stage fetch,transcribe,select,frame,render,publish,webhook \
		    --idle-exit 2 2>>"$TMP/runner.log"
		sleep 0.2
	done
) &
loop=$!
at_exit "kill $loop 2>/dev/null; pkill -TERM -P $loop 2>/dev/null; wait $loop 2>/dev/null"

# j JSON EXPR: jget on the body of an api answer
j() { jget "$(body_of "$1")" "$2"; }
job_is() { [ "$(sql "SELECT state FROM jobs WHERE id = $job")" = "$1" ]; }
field_of() { j "$1" "j.get('field')"; }
# patch KEY CLIP JSON: PATCH a clip with a JSON body
patch() { api PATCH "/clips/$2" "$1" -H 'Content-Type: application/json' -d "$3"; }

# --- submit with review: candidates, awaiting_review ---------------------------
out=$(api POST /jobs "$alice" -F "file=@$TMP/m/talk.mp4" -F clips=2 -F review=on)
check_eq "submitted with review: 201" 201 "$(status_of "$out")"
job=$(j "$out" "j['id']")
wait_for 900 job_is awaiting_review
check_eq "the job awaits review" awaiting_review "$(sql "SELECT state FROM jobs WHERE id = $job")"
out=$(api GET "/jobs/$job" "$alice")
check_eq "four candidates for the two clips asked (min(2 x 2, 2 + 5))" "4 candidate" \
    "$(j "$out" "len(j['clips']), ' '.join(sorted(set(c['state'] for c in j['clips'])))" | tr -d '(),'"'")"
check_eq "each framed, with its edits, layout and caption style" "True {} auto bold" \
    "$(j "$out" "all(c['quality'] for c in j['clips']), j['clips'][0]['edits'], j['clips'][0]['layout'], j['clips'][0]['caption_style']" | tr -d '(),'"'")"
check_eq "the event says how many wait" 4 \
    "$(sql "SELECT data->>'candidates' FROM events WHERE job_id = $job AND kind = 'awaiting_review'")"
check_eq "the job has not ended" "" "$(sql "SELECT finished_at FROM jobs WHERE id = $job")"
seq=$(j "$out" "j['last_seq']")
out=$(curl -s --max-time 40 -H "Authorization: Bearer $alice" -H 'Accept: application/json' \
    "$BASE/jobs/$job/events?after=$seq&timeout=60")
check_eq "a long-poll on a job awaiting review answers at once, with its state" awaiting_review \
    "$(jget "$out" "j.get('state')" 2>/dev/null)"
recv() { grep "\"$1\"" "$TMP/recv.log" 2>/dev/null | head -1; }
wait_for 120 test -n "$(recv job.awaiting_review)"
check_eq "the webhook job.awaiting_review is delivered, signed" "valid job.awaiting_review" \
    "$(recv job.awaiting_review | python3 "$CLIPMILL_TOP/tests/webhook_verify.py" "$secret")"

# --- the transcript, and an edit -----------------------------------------------
tr=$(body_of "$(api GET "/jobs/$job/transcript" "$alice")")
out=$(api GET "/jobs/$job" "$alice")
read -r a b <<<"$(j "$out" "' '.join(str(c['id']) for c in sorted(j['clips'], key=lambda c: c['rank'])[:2])")"
others=$(j "$out" "' '.join(str(c['id']) for c in sorted(j['clips'], key=lambda c: c['rank'])[2:])")
clip=$(j "$out" "json.dumps([c for c in j['clips'] if c['id'] == $a][0])")
# The plan over A's words (transcript_span's rule): correct the second,
# remove a word whose text is nowhere else in the clip, move the end one
# second earlier (snapped to the end of the last word starting before it).
plan=$(python3 - "$tr" "$clip" <<'PY'
import json, sys, re
t = json.loads(sys.argv[1])["words"]; c = json.loads(sys.argv[2])
norm = lambda s: re.sub(r"[^a-z']", "", s.lower())
end = c["end"] - 1.0
inside = [i for i, w in enumerate(t) if w["start"] >= c["start"]
          and w["end"] <= end + 0.5 and w["start"] < end]
snapped = [w for w in t if w["start"] < end][-1]["end"]
inside = [i for i in inside if t[i]["start"] < snapped]
texts = [norm(t[i]["text"]) for i in inside]
rm = [i for i in inside[2:] if texts.count(norm(t[i]["text"])) == 1 and len(norm(t[i]["text"])) > 2][0]
print(inside[1], rm, norm(t[rm]["text"]), end, snapped, inside[-1] + 50)
PY
)
read -r fix rm rmtext newend snapped outside <<<"$plan"
out=$(patch "$alice" "$a" "{\"words\": {\"$fix\": \"ZEBRAFISH\"}, \"removed\": [$rm], \"end\": $newend}")
check_eq "PATCH a correction, a removed word and the end: 200" 200 "$(status_of "$out")"
check_eq "the clip answered keeps the correction and the removed word" "ZEBRAFISH [$rm]" \
    "$(j "$out" "j['edits']['words']['$fix'], j['edits']['removed']" | tr -d "(),'")"
check "the end is snapped to the end of a word" \
    python3 -c "import sys; sys.exit(abs($(j "$out" "j['end']") - $snapped) > 0.002)"
check_eq "an event says what changed" "$a end,words,removed" \
    "$(sql "SELECT data->>'clip', (SELECT string_agg(x, ',') FROM jsonb_array_elements_text(data->'fields') x) FROM events WHERE job_id = $job AND kind = 'clip_edited'" | tr '|' ' ')"
check_eq "the job document shows it (its last_seq moved)" "ZEBRAFISH" \
    "$(j "$(api GET "/jobs/$job" "$alice")" "[c for c in j['clips'] if c['id'] == $a][0]['edits']['words']['$fix']")"

# --- refusals: 400 naming the field ---------------------------------------------
for case in 'start|{"start": -5}' 'end|{"end": 999999}' 'end|{"end": "soon"}' \
    'title|{"title": ""}' "title|{\"title\": \"$(printf 'x%.0s' $(seq 101))\"}" \
    'words|{"words": {"999999": "x"}}' "words|{\"words\": {\"$outside\": \"x\"}}" \
    "words|{\"words\": {\"$fix\": \"   \"}}" 'removed|{"removed": [999999]}' \
    'removed|{"removed": "3"}' 'aspect|{"aspect": "2:3"}' 'layout|{"layout": "grid"}' \
    'caption_style|{"caption_style": "loud"}'; do
	f=${case%%|*}; body=${case#*|}
	out=$(patch "$alice" "$a" "$body")
	check_eq "bad $f ($body): 400 naming $f" "400 $f" "$(status_of "$out") $(field_of "$out")"
done
check_eq "nothing of those was kept" 1 "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'clip_edited'")"

# --- refusals: another user's clip and job, CSRF --------------------------------
missing=$(j "$(patch "$alice" 999999 '{"title": "x"}')" "j['message']")
out=$(patch "$bob" "$a" '{"title": "Mine now"}')
check_eq "bob's PATCH of alice's clip: 404, as for no clip" "404 You have no clip $a." \
    "$(status_of "$out") $(j "$out" "j['message']")"
check_eq "the same sentence as a missing clip" "You have no clip 999999." "$missing"
out=$(api POST "/clips/$a/render" "$bob")
check_eq "bob's render of alice's clip: 404" 404 "$(status_of "$out")"
out=$(api POST "/jobs/$job/render" "$bob" -H 'Content-Type: application/json' -d "{\"clips\": [$a]}")
check_eq "bob's render of alice's job: 404" 404 "$(status_of "$out")"
jar="$TMP/cookies"
ltok=$(login_token "$jar")
curl -s -o /dev/null -b "$jar" -c "$jar" -H 'Accept: text/html' --data-urlencode "key=$alice" \
    --data "csrf=$ltok" "$BASE/login"
csrf=$(curl -s -b "$jar" -H 'Accept: text/html' "$BASE/" | grep -o 'name="csrf" value="[0-9a-f]*"' |
    head -1 | sed 's/.*value="//; s/"//')
out=$(api PATCH "/clips/$a" "" -b "$jar" -H 'Content-Type: application/json' -d '{"title": "From the page"}')
check_eq "a browser session without its CSRF token: 403" "403 csrf" "$(status_of "$out") $(field_of "$out")"
out=$(api POST "/jobs/$job/render" "" -b "$jar" -d "clip=$a")
check_eq "the same for render" 403 "$(status_of "$out")"
out=$(api PATCH "/clips/$a" "" -b "$jar" -H 'Content-Type: application/json' \
    -d "{\"title\": \"From the page\", \"csrf\": \"$csrf\"}")
check_eq "with its token: 200" "200 From the page" "$(status_of "$out") $(j "$out" "j['title']")"

# --- render two candidates ------------------------------------------------------
out=$(api POST "/jobs/$job/render" "$alice" -H 'Content-Type: application/json' -d "{\"clips\": [$a, $b]}")
check_eq "POST /jobs/{id}/render: 202 with the clips" "202 $a $b" \
    "$(status_of "$out") $(j "$out" "' '.join(map(str, j['clips']))")"
check_eq "the job runs again" running "$(sql "SELECT state FROM jobs WHERE id = $job")"
out=$(patch "$alice" "$a" '{"title": "Too late"}')
check_eq "PATCH while it renders: 409" 409 "$(status_of "$out")"
check "saying so" grep -q "is being rendered" <<<"$out"
out=$(api POST "/clips/$a/render" "$alice")
check_eq "render it again while it renders: 409" 409 "$(status_of "$out")"
wait_for 900 job_is done
check_eq "the two are ready, the others still candidates, the job done" "ready ready done" \
    "$(sql "SELECT string_agg(state, ' ' ORDER BY rank) FROM clips WHERE id IN ($a, $b)") $(sql "SELECT state FROM jobs WHERE id = $job")"
check_eq "the others are candidates" "$(wc -w <<<"$others")" \
    "$(sql "SELECT count(*) FROM clips WHERE job_id = $job AND state = 'candidate'")"
check_eq "its final event counts the two" "2 2" \
    "$(sql "SELECT data->>'clips', data->>'ready' FROM events WHERE job_id = $job AND kind = 'done' ORDER BY seq DESC LIMIT 1" | tr '|' ' ')"

# --- the subtitles use the edits ------------------------------------------------
for ext in srt vtt; do
	curl -s -H "Authorization: Bearer $alice" "$BASE/clips/$a/subtitles.$ext" >"$TMP/a.$ext"
	check "the $ext has the corrected word" grep -q ZEBRAFISH "$TMP/a.$ext"
	check "the $ext leaves out the removed word ($rmtext)" bash -c \
	    "! tr -cs \"A-Za-z'\" '\n' <'$TMP/a.$ext' | tr A-Z a-z | grep -qx \"$rmtext\""
done

# --- re-render a ready clip with another caption style --------------------------
oldkey=$(sql "SELECT video_key FROM clips WHERE id = $a")
out=$(patch "$alice" "$a" '{"caption_style": "minimal"}')
check_eq "a ready clip takes an edit" "200 minimal" "$(status_of "$out") $(j "$out" "j['caption_style']")"
out=$(api POST "/clips/$a/render" "$alice")
check_eq "POST /clips/{id}/render: 202" "202 [$a]" "$(status_of "$out") $(j "$out" "j['clips']")"
check_eq "the job reopens" "running " "$(sql "SELECT state, finished_at FROM jobs WHERE id = $job" | tr '|' ' ')"
check_eq "while it renders, the old video is still served" 200 \
    "$(curl -s -o "$TMP/old.mp4" -w '%{http_code}' -H "Authorization: Bearer $alice" "$BASE/clips/$a/video")"
check_eq "and still listed" "/clips/$a/video" \
    "$(j "$(api GET "/jobs/$job" "$alice")" "[c for c in j['clips'] if c['id'] == $a][0]['video']")"
check "it is the old file" cmp -s "$TMP/old.mp4" "$TMP/store/$oldkey"
wait_for 900 job_is done
newkey=$(sql "SELECT video_key FROM clips WHERE id = $a")
check_eq "ready again" ready "$(sql "SELECT state FROM clips WHERE id = $a")"
check "with a new store key" test -n "$newkey" -a "$newkey" != "$oldkey"
check "the old file is deleted" test ! -e "$TMP/store/$oldkey"
check_eq "the new video is served" 200 \
    "$(curl -s -o "$TMP/new.mp4" -w '%{http_code}' -H "Authorization: Bearer $alice" "$BASE/clips/$a/video")"
check "and differs from the old one" bash -c "! cmp -s '$TMP/old.mp4' '$TMP/new.mp4'"
check_eq "the other clip was left alone" ready "$(sql "SELECT state FROM clips WHERE id = $b")"

if [ "$_fails" -gt 0 ]; then
	sql "SELECT stage, state, attempts, error FROM tasks WHERE job_id = $job ORDER BY id"
	tail -20 "$TMP/runner.log"
fi
done_testing
