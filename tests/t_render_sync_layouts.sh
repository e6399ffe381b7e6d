#!/usr/bin/env bash
# Lip sync in the split and fit layouts, which draw other pictures from the
# same decoded frames: a one-minute clip from a 29.97 fps Matroska source
# (1/1000 time base, where one frame is not a whole number of ticks) ends
# with its picture and its sound less than one frame apart and lasts the
# clip within one frame, as t_render_sync.sh checks for the track layout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
conf_set x264_preset ultrafast
conf_set x264_crf 51

mkdir -p "$TMP/store/jobs/1/crop"
src="$TMP/store/jobs/1/source.mkv"
mo_sync_source 30000/1001 mkv "$src" || { not_ok "29.97 fps source built"; exit 1; }
echo '{"version": 2, "layout": "fit", "reason": "", "panes": []}' >"$TMP/store/jobs/1/crop/fit.json"
# Two panes of the half's aspect (2:1 at 1:1), one on each side.
python3 -c '
import json
pane = lambda x: {"src_w": 320, "src_h": 180, "crop_w": 160, "crop_h": 80,
                  "points": [[0, x, 50, 0, x + 80, 90]]}
print(json.dumps({"version": 2, "layout": "split", "reason": "",
                  "panes": [pane(0), pane(160)]}))' >"$TMP/store/jobs/1/crop/split.json"
clip=0
for layout in split fit; do
	clip=$((clip + 1))
	if ! ends=$(mo_sync_render "$clip" jobs/1/source.mkv "jobs/1/crop/$layout.json"); then
		not_ok "$layout: clip rendered"
		continue
	fi
	check_eq "$layout: rendered as $layout" "$layout" "$(jq -r .outputs[0].layout "$TMP/result-$clip.json")"
	read -r vend aend fps <<<"$ends"
	check "$layout: video and audio end together (video $vend s, audio $aend s, frame rate $fps)" \
	    within "$vend" "$aend" "1 / $fps - 0.000002"
	check "$layout: the clip lasts one minute within a frame (video ends at $vend s)" \
	    within "$vend" 60 "1 / $fps + 0.000002"
done
done_testing
