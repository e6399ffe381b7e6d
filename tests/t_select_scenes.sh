#!/usr/bin/env bash
# No speech: clips start at the video's scene changes.  A silent video of
# five shots with hard cuts at known times (a test pattern, a pan over a
# portrait, a zooming fractal, a pan over another portrait, colour bars
# with a moving box) gets clips that start within one sampling interval
# (0.25 s) after a cut, with reasons that say so; one continuous shot gets
# evenly spaced clips.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
D=$CLIPMILL_TESTDATA
cuts="13.00 27.52 41.00 58.32"
opts='{"clips":3,"min_len":8,"max_len":12}'

mkdir -p "$TMP/shots" "$TMP/one"
nice -n 10 ffmpeg -v error -y \
    -f lavfi -i testsrc2=s=1280x720:r=25:d=13 \
    -loop 1 -framerate 25 -t 14.52 -i "$D/astronaut.png" \
    -f lavfi -t 13.48 -i mandelbrot=s=1280x720:r=25:end_scale=0.1 \
    -loop 1 -framerate 25 -t 17.32 -i "$D/grace_hopper_h96919k.jpg" \
    -f lavfi -i smptehdbars=s=1280x720:r=25:d=13.68 \
    -filter_complex "[0]setsar=1,format=yuv420p[a];
      [1]scale=1280:1280,crop=1280:720:0:'20*t',setsar=1,format=yuv420p[b];
      [2]trim=duration=13.48,setsar=1,format=yuv420p[c];
      [3]scale=1280:-2,crop=1280:720:0:'30+10*t',setsar=1,format=yuv420p[d];
      [4]drawbox=x='100+40*t':y=300:w=120:h=120:color=white:t=fill,setsar=1,format=yuv420p[e];
      [a][b][c][d][e]concat=n=5:v=1:a=0[v]" \
    -map "[v]" -c:v libx264 -preset ultrafast -g 250 "$TMP/shots/talk.mp4" ||
    { not_ok "five-shot video built"; exit 1; }
check_eq "the test video has no audio and lasts 72 s" "video 72.000000" \
    "$(ffprobe -v error -show_entries stream=codec_type:format=duration -of csv=p=0 "$TMP/shots/talk.mp4" | xargs)"
nice -n 10 ffmpeg -v error -y -f lavfi -i testsrc2=s=1280x720:r=25:d=40 \
    -vf "drawbox=x='100+20*t':y=200:w=200:h=200:color=orange:t=fill,format=yuv420p" \
    -c:v libx264 -preset ultrafast -g 250 "$TMP/one/talk.mp4" ||
    { not_ok "one-shot video built"; exit 1; }
echo '{"version":1,"duration":72,"no_audio":true,"segments":[]}' >"$TMP/shots/transcript.json"
echo '{"version":1,"duration":40,"no_audio":true,"segments":[]}' >"$TMP/one/transcript.json"

"$MO" scenes "$TMP/shots/talk.mp4" >"$TMP/scan.txt"
check_eq "the scan finds the four cuts and no others" "4" "$(grep -c '^cut ' "$TMP/scan.txt")"
check "each cut found within one sampling interval after the real one" python3 -c "
cuts = [$(echo $cuts | tr ' ' ',')]
found = [float(l.split()[1]) for l in open('$TMP/scan.txt') if l.startswith('cut ')]
assert len(found) == len(cuts), found
for c, f in zip(cuts, found):
    assert 0 <= f - c <= 0.25 + 1e-6, (c, f)"

job=$(mo_job "$TMP/shots" "$opts")
t=$(mo_add_task "$job" select)
check "scenes: select runs" mo_stage "$t"
check_eq "scenes: three clips chosen at scene changes" "scenes|3" \
    "$(sql "SELECT min(backend), count(*) FROM clips WHERE job_id = $job")"
sql "SELECT start_s, end_s, reason, title FROM clips WHERE job_id = $job ORDER BY rank" >"$TMP/clips.txt"
check "scenes: each clip starts within 0.25 s after its own cut, in range, apart, and says so" python3 -c "
cuts = [$(echo $cuts | tr ' ' ',')]
rows = [l.rstrip('\n').split('|') for l in open('$TMP/clips.txt')]
used = set()
for s, e, reason, title in rows:
    s, e = float(s), float(e)
    c = [c for c in cuts if 0 <= s - c <= 0.25 + 1e-6]
    assert len(c) == 1 and c[0] not in used, (s, cuts)
    used.add(c[0])
    at = '%d:%02d' % (int(s) // 60, int(s) % 60)
    assert reason == 'Starts at a scene change at %s.' % at, reason
    assert title == 'Scene at %s' % at, title
    assert 8 - 1e-6 <= e - s <= 12 + 1e-6 and e <= 72, (s, e)
rows.sort(key=lambda r: float(r[0]))
for a, b in zip(rows, rows[1:]):
    assert float(a[1]) <= float(b[0]), (a, b)"
check "scenes: ranked by score" test "$(sql "SELECT string_agg(score::text, ' ' ORDER BY rank) FROM clips WHERE job_id = $job")" = \
    "$(sql "SELECT string_agg(score::text, ' ' ORDER BY score DESC) FROM clips WHERE job_id = $job")"
check_eq "scenes: no captions" "false" \
    "$(sql "SELECT payload->>'captions' FROM tasks WHERE job_id = $job AND stage = 'frame'")"
check_eq "scenes: the event says clips start at scene changes, and how many" "1" \
    "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'fallback'
    AND data->>'msg' = 'No speech was found, so clips start at scene changes and have no captions.'
    AND data->>'scene_changes' = '4'")"

job=$(mo_job "$TMP/one" "$opts")
t=$(mo_add_task "$job" select)
check "one shot: select runs" mo_stage "$t"
check_eq "one shot: three evenly spaced clips that say why" \
    "even|3|Evenly spaced: no speech and no scene changes." \
    "$(sql "SELECT min(backend), count(*), min(reason) FROM clips WHERE job_id = $job")"
check_eq "one shot: clips centred in thirds of the video" "0.667-12.667 14-26 27.333-39.333" \
    "$(sql "SELECT string_agg(start_s || '-' || end_s, ' ' ORDER BY start_s) FROM clips WHERE job_id = $job")"
check_eq "one shot: the event says there are no scene changes" "1" \
    "$(sql "SELECT count(*) FROM events WHERE job_id = $job AND kind = 'fallback'
    AND data->>'msg' LIKE 'No speech was found and the video has no scene changes%'")"
done_testing
