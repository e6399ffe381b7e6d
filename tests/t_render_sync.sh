#!/usr/bin/env bash
# Lip sync: a one-minute clip rendered from Matroska and WebM sources (a
# 1/1000 time base, where one frame is not a whole number of ticks) at 24,
# 25, 29.97 and 30 fps ends with its picture and its sound together: the
# last video and audio packets end less than one frame apart, and the
# video lasts the clip within one frame.  A render that stamps frames with
# a rounded frame duration drifts by up to half a second here.  (The split
# and fit layouts: t_render_sync_layouts.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
newdb || exit 1
conf_set x264_preset ultrafast
# Eight one-minute renders: the cheapest encoding and the smallest
# output (1:1) do, since timing is what is tested, not the picture.
conf_set x264_crf 51

mkdir -p "$TMP/store/jobs/1"
clip=0
for rate in 24 25 30000/1001 30; do
	for ext in mkv webm; do
		name="$(python3 -c "print('%g' % round($rate, 2))").$ext"
		clip=$((clip + 1))
		src="$TMP/store/jobs/1/source-$clip.$ext"
		mo_sync_source "$rate" "$ext" "$src" || { not_ok "source $name built"; continue; }
		if ! ends=$(mo_sync_render "$clip" "jobs/1/source-$clip.$ext"); then
			not_ok "$name: clip rendered"
			continue
		fi
		read -r vend aend fps <<<"$ends"
		frame=$(python3 -c "print('%.6f' % (1 / $fps))")
		check "$name: video and audio end together (video $vend s, audio $aend s, one frame $frame s)" \
		    within "$vend" "$aend" "$frame - 0.000002"
		# (ffprobe gives times to the microsecond)
		check "$name: the clip lasts one minute within a frame (video ends at $vend s)" \
		    within "$vend" 60 "$frame + 0.000002"
		check_eq "$name: frame rate kept" "$(python3 -c "print('%.3f' % ($rate))")" \
		    "$(python3 -c "print('%.3f' % $fps)")"
		rm -f "$src"
	done
done
done_testing
