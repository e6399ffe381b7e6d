#!/usr/bin/env bash
# The fetch stage against a real nginx on 127.0.0.1 (and 127.0.0.2, and a
# second port, to prove a refused address is never contacted): direct
# media through libcurl, a page with a <video> through yt-dlp's generic
# extractor and the proxy it goes through, uploads, the probe's verdicts,
# the address policy for both, the size cap, a cancelled download, and
# done() in the database.
. "$(dirname "$0")/lib.sh"
newdb || exit 1
. "$(dirname "$0")/mediain_lib.sh"
W=$TMP/www
mkdir -p "$W/slow" "$TMP/nginx"

# --- test media, made from ../shared/testdata ---
ffmpeg -v error -i "$M/tears_of_steel_clip01_640x360.mp4" -i "$M/jfk.wav" \
    -map 0:v -map 1:a -c:v copy -c:a aac -b:a 64k -shortest "$W/clip.mp4" || exit 1
cp "$W/clip.mp4" "$W/slow/clip.mp4"
ffmpeg -v error -i "$W/clip.mp4" -c copy -metadata:s:v:0 rotate=90 "$W/rotated.mp4"
ffmpeg -v error -i "$M/jfk.wav" -c:a aac -b:a 64k -f mp4 "$W/audio.mp4"
cp "$M/intel_head-pose-face-detection-male.mp4" "$W/silent.mp4"
cp "$M/astronaut.png" "$W/still.mp4"
: >"$W/empty.mp4"
head -c 50000 /dev/urandom >"$W/garbage.mp4"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$W/big.mp4"
cat >"$W/page.html" <<'EOF'
<!DOCTYPE html><html><head><title>A talk</title></head>
<body><h1>A talk</h1><video controls><source src="clip.mp4" type="video/mp4"></video></body></html>
EOF
sed 's/clip.mp4/slow\/clip.mp4/' "$W/page.html" >"$W/slowpage.html"
sed 's/clip.mp4/big.mp4/' "$W/page.html" >"$W/bigpage.html"
echo '<!DOCTYPE html><html><body><p>No video here.</p></body></html>' >"$W/plain.html"
chmod -R a+rX "$W"

# --- nginx on two loopback addresses, each with its own access log ---
P=$(free_port)
P2=$(free_port)
# Pages whose video lies inside, for yt-dlp's proxy to refuse: a <video>
# on an internal address, one behind a redirect, one on another port, and
# a page that only yt-dlp is sent inside from (curl saw it at 127.0.0.1).
sed "s|clip.mp4|http://127.0.0.2:$P/clip.mp4|" "$W/page.html" >"$W/inside.html"
sed 's|clip.mp4|redir-inside|' "$W/page.html" >"$W/redirvideo.html"
sed "s|clip.mp4|http://127.0.0.1:$P2/clip.mp4|" "$W/page.html" >"$W/portpage.html"
cp "$W/page.html" "$W/uapage.html"
sed "s|clip.mp4|rtsp://127.0.0.1:$P2/live/clip|" "$W/page.html" >"$W/rtsppage.html"
chmod a+r "$W"/*.html
cat >"$TMP/nginx/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 64; }
http {
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	types { video/mp4 mp4; text/html html; image/png png; }
	log_format cm '\$remote_addr "\$request" \$status "\$http_user_agent" "\$http_cookie" "\$http_via"';
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$P;
		root $W;
		access_log $TMP/nginx/access1.log cm;
		location /slow/ { limit_rate 16k; }
		location = /redir-ok { return 302 /clip.mp4; }
		location = /redir-inside { return 302 http://127.0.0.2:$P/clip.mp4; }
		location = /redir-metadata { return 302 http://169.254.169.254/latest/meta-data/; }
		location = /redir-ftp { return 302 ftp://127.0.0.1/clip.mp4; }
		location = /redir-port { return 302 http://127.0.0.1:$P2/clip.mp4; }
		location = /loop { return 302 /loop; }
		location = /forbidden.mp4 { return 403; }
		location = /forbidden.html { return 403; }
		location = /uapage.html {
			if (\$http_user_agent !~ "^clipmill/") {
				return 302 http://127.0.0.2:$P/page.html;
			}
		}
	}
	server {
		listen 127.0.0.2:$P;
		root $W;
		access_log $TMP/nginx/access2.log;
	}
	server {
		listen 127.0.0.1:$P2;
		root $W;
		access_log $TMP/nginx/access3.log;
	}
}
EOF
nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" || { echo "not ok nginx did not start"; exit 1; }
at_exit 'kill $(cat "$TMP/nginx/nginx.pid") 2>/dev/null'
wait_for 5 curl -sf -o /dev/null "http://127.0.0.1:$P/page.html" || { echo "not ok nginx not answering"; exit 1; }
touch "$TMP/nginx/access2.log" "$TMP/nginx/access3.log"
U="http://127.0.0.1:$P"

# Tests reach 127.0.0.1 (and only that) through the allow list.
conf_set allow_private_addresses no
conf_set fetch_allow_cidrs 127.0.0.1/32
conf_set ytdlp_path /usr/bin/yt-dlp

n=0
# fetch KIND URL_OR_KEY: run the stage for a new job; the report goes to
# $TMP/out.json and the job id to $ID.
fetch() {
	n=$((n + 1)); ID=$((100 + n))
	local s="$TMP/scratch/$ID"; mkdir -p "$s"
	local job
	if [ "$1" = url ]; then
		job=$(jq -cn --argjson id $ID --arg u "$2" '{id:$id,source_kind:"url",source_url:$u,options:{}}')
	else
		job=$(jq -cn --argjson id $ID --arg k "$2" '{id:$id,source_kind:"upload",source_key:$k,options:{}}')
	fi
	mediain run fetch "$job" "$s" >"$TMP/out.json" 2>"$TMP/err.log"
	SCRATCH=$s
}
# refused NAME EXPECTED_RC MESSAGE_REGEX: the last fetch failed so, and
# left nothing behind (scratch download dir empty, nothing stored).
refused() {
	local rc err left
	rc=$(field .rc); err=$(field .err)
	left=$(find "$SCRATCH/dl" -type f 2>/dev/null | wc -l)
	if [ "$rc" = "$2" ] && grep -qE "$3" <<<"$err" && [ "$left" = 0 ] &&
	    [ ! -e "$TMP/store/jobs/$ID" ]; then
		ok "$1"
	else
		not_ok "$1 (rc=$rc, err=$err, files left=$left)"
	fi
}

# --- direct media through libcurl ---
fetch url "$U/clip.mp4"
check_eq "direct mp4 fetched" "ok" "$(field .rc)"
check_eq "stored as source.mp4" "jobs/$ID/source.mp4" "$(field .result.source_key)"
check "stored file equals the served one" cmp -s "$W/clip.mp4" "$TMP/store/jobs/$ID/source.mp4"
check_eq "probe: size" "640x360" "$(field '"\(.result.probe.width)x\(.result.probe.height)"')"
check_eq "probe: fps, codecs, audio" "24 h264 aac true" \
    "$(field '"\(.result.probe.fps) \(.result.probe.vcodec) \(.result.probe.acodec) \(.result.probe.has_audio)"')"
check "probe: duration about 10 s" awk -v d="$(field .result.probe.duration)" 'BEGIN { exit !(d > 9.9 && d < 10.2) }'
check "progress reported while downloading" grep -q '^progress ' "$TMP/err.log"
check_eq "yt-dlp not used for direct media" "0" "$(grep -c 'Python\|Mozilla' "$TMP/nginx/access1.log")"

fetch url "$U/redir-ok"
check_eq "redirect within the allowed address followed" "ok" "$(field .rc)"

fetch url "$U/rotated.mp4"
# ffprobe reports the display matrix's counter-clockwise angle; the probe
# gives the clockwise turn a player applies (as ffmpeg's autorotate does).
ccw=$(ffprobe -v error -select_streams v:0 -show_entries stream_side_data=rotation -of csv=p=0 "$W/rotated.mp4" | head -1)
check_eq "probe: rotation and displayed size" "$(( (360 - ${ccw:-0}) % 360 )) 360x640" \
    "$(field '"\(.result.probe.rotation) \(.result.probe.display_width)x\(.result.probe.display_height)"')"

fetch url "$U/silent.mp4"
check_eq "a video without sound is accepted" "ok false" "$(field '"\(.rc) \(.result.probe.has_audio)"')"

# --- a site page through yt-dlp's generic extractor ---
: >"$TMP/nginx/access1.log"
fetch url "$U/page.html"
check_eq "page with a <video> fetched through yt-dlp" "ok" "$(field .rc)"
check "yt-dlp downloaded the page's video" cmp -s "$W/clip.mp4" "$TMP/store/jobs/$ID/source.mp4"
check "yt-dlp fetched it from nginx" grep -q 'yt-dlp\|Python\|Mozilla' "$TMP/nginx/access1.log"
# libcurl asks first (no Via); yt-dlp's page and video requests come
# through the proxy, which adds "Via: 1.1 clipmill".
check_eq "curl's first look did not go through the proxy" "1" \
    "$(grep -c '"GET /page.html HTTP/1.1" 200 "clipmill/1 (+libcurl)" "-" "-"$' "$TMP/nginx/access1.log")"
check "yt-dlp fetched the page through the proxy" \
    grep -q '"GET /page.html HTTP/1.1" 200 "Mozilla.*"1.1 clipmill"$' "$TMP/nginx/access1.log"
check "yt-dlp fetched the video through the proxy" \
    grep -q '"GET /clip.mp4 HTTP/1.1" 20[06] "Mozilla.*"1.1 clipmill"$' "$TMP/nginx/access1.log"
check_eq "every yt-dlp request came through the proxy" "" \
    "$(grep 'Mozilla' "$TMP/nginx/access1.log" | grep -v '"1.1 clipmill"$')"
check "yt-dlp progress parsed" grep -qE '^progress (100|[1-9][0-9]?) downloading' "$TMP/err.log"

# The operator's cookies file reaches the site, and is not rewritten.
printf '# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tcm-cookie-42\n' >"$TMP/cookies.txt"
cp "$TMP/cookies.txt" "$TMP/cookies.orig"
conf_set ytdlp_cookies "$TMP/cookies.txt"
fetch url "$U/page.html"
check_eq "with a cookies file: fetched" "ok" "$(field .rc)"
check "the cookie was sent by yt-dlp" grep -q 'session=cm-cookie-42' "$TMP/nginx/access1.log"
check "the operator's cookies file is unchanged" cmp -s "$TMP/cookies.txt" "$TMP/cookies.orig"
conf_set ytdlp_cookies ""

# --- each bad input, its own message ---
fetch url "$U/plain.html"
refused "page without a video: unsupported" permanent 'not supported.*yt-dlp said: "ERROR: .*Unsupported URL'
fetch url "$U/forbidden.html"
refused "HTTP 403 reported as such" permanent 'HTTP 403'
fetch url "$U/empty.mp4"
refused "zero bytes refused" permanent 'empty \(zero bytes\)'
fetch url "$U/garbage.mp4"
refused "not media refused" permanent 'not a video file'
fetch url "$U/audio.mp4"
refused "audio only refused" permanent 'no video stream \(it is audio only\)'
fetch url "$U/still.mp4"
refused "still image refused" permanent 'still image'
fetch url "$U/nothing-here.mp4"
refused "missing file refused" permanent 'HTTP 404|not found'
fetch url "ftp://127.0.0.1/clip.mp4"
refused "ftp refused" permanent 'Only http and https'
fetch url "$U/redir-ftp"
refused "redirect to ftp refused" permanent 'other than http or https'
fetch url "$U/loop"
refused "redirect loop refused" permanent 'redirects too many times'
conf_set max_duration 5
fetch url "$U/clip.mp4"
refused "too long refused" permanent 'too long: 0 min 10 s, and the limit is 0 min 05 s'
conf_set max_duration 14400
conf_set max_width 320
conf_set max_height 240
fetch url "$U/clip.mp4"
refused "too large a resolution refused" permanent 'resolution is too large: 640x360'
conf_set max_width 3840
conf_set max_height 2160

# --- the address policy ---
fetch url "$U/redir-inside"
refused "redirect to a private address refused" permanent '127\.0\.0\.2 is on a private or local network'
fetch url "$U/redir-metadata"
refused "redirect to link-local metadata refused" permanent '169\.254\.169\.254'
fetch url "http://127.0.0.2:$P/clip.mp4"
refused "private address refused" permanent '127\.0\.0\.2'
fetch url "http://localhost:$P/clip.mp4"
check_eq "a name with several addresses reaches only the allowed one" "ok" "$(field .rc)"
check_eq "the refused address was never contacted" "0" "$(wc -l <"$TMP/nginx/access2.log")"
fetch url "http://127.0.0.2:$P/page.html"
refused "a site URL inside is refused before yt-dlp" permanent '127\.0\.0\.2'
# libcurl follows the port rule of yt-dlp's proxy: 80, 443, the URL's own
fetch url "$U/redir-port"
refused "libcurl: a redirect to another port refused" permanent \
    "^The address is not allowed: port $P2 cannot be used \(only 80, 443 and $P\)\.$"

# yt-dlp's own connections, held to the same policy by its proxy.
fetch url "$U/inside.html"
refused "yt-dlp: a <video> on an internal address refused" permanent \
    "^The video's address is not allowed: 127\.0\.0\.2 is on a private or local network\. yt-dlp said: \"ERROR: .*Refused by clipmill"
fetch url "$U/redirvideo.html"
refused "yt-dlp: a <video> redirecting inside refused" permanent \
    "^The video's address is not allowed: 127\.0\.0\.2 is on a private"
fetch url "$U/uapage.html"
refused "yt-dlp: a page redirecting only yt-dlp inside refused" permanent \
    "^The video's address is not allowed: 127\.0\.0\.2 is on a private"
check "yt-dlp was redirected (the refusal is the proxy's)" \
    grep -q '"GET /uapage.html HTTP/1.1" 302 "Mozilla' "$TMP/nginx/access1.log"
fetch url "$U/portpage.html"
refused "yt-dlp: a <video> on another port refused" permanent \
    "^The video's address is not allowed: port $P2 cannot be used \(only 80, 443 and $P\)"
# rtsp:// is played by mpv or mplayer, rtmp:// by rtmpdump or ffmpeg,
# straight past the proxy: such formats are never chosen.
fetch url "$U/rtsppage.html"
refused "yt-dlp: a video only over RTSP refused" permanent \
    "^The video is only offered over a protocol that cannot be fetched here"
check_eq "yt-dlp never reached the refused address" "0" "$(wc -l <"$TMP/nginx/access2.log")"
check_eq "yt-dlp never reached the refused port" "0" "$(wc -l <"$TMP/nginx/access3.log")"

# --- the proxy on its own ---
# proxy_start: run "mediain proxy $P" (it prints its URL, and runs until
# its stdin closes) with its stdin on fd 7; sets PX, PXPORT, PXAUTH, pxpid.
proxy_start() {
	rm -f "$TMP/px.in"
	mkfifo "$TMP/px.in"
	mediain proxy "$P" <"$TMP/px.in" >"$TMP/px.out" 2>"$TMP/px.err" &
	pxpid=$!
	exec 7>"$TMP/px.in"
	wait_for 5 test -s "$TMP/px.out"
	PX=$(head -1 "$TMP/px.out")
	PXPORT=${PX##*:}
	PXAUTH="Basic $(printf %s "${PX#http://}" | sed 's/@.*//' | base64 -w0)"
}
# pxget CURL_ARGS...: the status (of the CONNECT answer with -p), the
# body in $TMP/px.body
pxget() { curl -s -o "$TMP/px.body" -w '%{http_connect} %{http_code}' "$@"; }

# Without the test's allow list, a name is judged by its addresses.
sed '/^fetch_allow_cidrs/d' "$CLIPMILL_CONF" >"$TMP/strict.conf"
CLIPMILL_CONF=$TMP/strict.conf proxy_start
check_eq "proxy: a name resolving inside, 403" "000 403" \
    "$(pxget -x "$PX" "http://localhost:$P/clip.mp4")"
check_eq "proxy: the 403 names the name and the address" \
    "Refused by clipmill: localhost points to 127.0.0.1, on a private or local network" \
    "$(cat "$TMP/px.body")"
exec 7>&-
wait $pxpid

proxy_start
check_eq "proxy: plain http" "000 200" "$(pxget -x "$PX" "$U/clip.mp4")"
check "proxy: the body passed on unchanged" cmp -s "$W/clip.mp4" "$TMP/px.body"
check_eq "proxy: a CONNECT tunnel" "200 200" "$(pxget -p -x "$PX" "$U/clip.mp4")"
check "proxy: the tunnelled body unchanged" cmp -s "$W/clip.mp4" "$TMP/px.body"
check_eq "proxy: no credentials, 407" "000 407" "$(pxget -x "http://127.0.0.1:$PXPORT" "$U/clip.mp4")"
check_eq "proxy: a wrong token, 407" "000 407" \
    "$(pxget -x "http://clipmill:0123456789abcdef0123456789abcdef@127.0.0.1:$PXPORT" "$U/clip.mp4")"
check_eq "proxy: CONNECT without credentials, 407" "407 000" \
    "$(pxget -p -x "http://127.0.0.1:$PXPORT" "$U/clip.mp4")"
check_eq "proxy: an internal address, 403" "000 403" "$(pxget -x "$PX" "http://127.0.0.2:$P/clip.mp4")"
check_eq "proxy: the 403 says why" "Refused by clipmill: 127.0.0.2 is on a private or local network" \
    "$(cat "$TMP/px.body")"
check_eq "proxy: CONNECT to an internal address, 403" "403 000" \
    "$(pxget -p -x "$PX" "http://127.0.0.2:$P/clip.mp4")"
check_eq "proxy: another port, 403" "000 403" "$(pxget -x "$PX" "http://127.0.0.1:$P2/clip.mp4")"
check_eq "proxy: its own port, 403" "000 403" "$(pxget -x "$PX" "http://127.0.0.1:$PXPORT/")"
check_eq "proxy: an origin-form request, 400" "000 400" \
    "$(pxget -H "Proxy-Authorization: $PXAUTH" "http://127.0.0.1:$PXPORT/clip.mp4")"
check_eq "proxy: an https:// URL without CONNECT, 501" "000 501" \
    "$(pxget -H "Proxy-Authorization: $PXAUTH" --request-target "https://127.0.0.1:$P/clip.mp4" "http://127.0.0.1:$PXPORT/")"
check_eq "proxy: nothing reached the refused address and port" "0 0" \
    "$(wc -l <"$TMP/nginx/access2.log") $(wc -l <"$TMP/nginx/access3.log")"
check_eq "proxy: the ninth connection at once is turned away" "HTTP/1.1 503 Too many connections" \
    "$(python3 -c '
import socket, sys
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(8)]
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
print(s.recv(200).decode().split("\r\n")[0])' "$PXPORT")"
check_eq "proxy: free again once they close" "000 200" "$(pxget -x "$PX" "$U/clip.mp4")"
# Stopping it ends a download under way (slow/: 16 KB/s, 50 s in all).
curl -s -x "$PX" -o /dev/null "$U/slow/clip.mp4" 7>&- &
cpid=$!
sleep 1
start=$(date +%s%N)
exec 7>&-
wait $pxpid
wait $cpid
crc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "proxy: stopping it ends a running download (curl rc $crc, ${ms} ms)" \
    test "$crc" -ne 0 -a "$ms" -lt 3000
check_eq "proxy: the last refusal is handed back" \
    "refusal: port $PXPORT cannot be used (only 80, 443 and $P)" "$(tail -1 "$TMP/px.out")"
conf_set fetch_allow_cidrs ""
fetch url "$U/clip.mp4"
refused "loopback refused by default" permanent '127\.0\.0\.1 is on a private'
conf_set allow_private_addresses yes
fetch url "http://127.0.0.2:$P/clip.mp4"
check_eq "allow_private_addresses lets it through" "ok" "$(field .rc)"
conf_set allow_private_addresses no
conf_set fetch_allow_cidrs 127.0.0.1/32

# --- the size cap, both ways ---
conf_set max_download_mb 1
fetch url "$U/big.mp4"
refused "file over the cap refused (curl)" permanent 'too large'
fetch url "$U/bigpage.html"
refused "file over the cap refused (yt-dlp)" permanent 'too large'
conf_set max_download_mb 4096

# --- uploads ---
next=$((101 + n))
mkdir -p "$TMP/store/jobs/$next"
cp "$W/clip.mp4" "$TMP/store/jobs/$next/upload.mp4"
fetch upload "jobs/$next/upload.mp4"
check_eq "upload probed and stored" "ok jobs/$next/source.mp4" "$(field '"\(.rc) \(.result.source_key)"')"
fetch upload "jobs/77/upload.mp4"
check "missing upload refused" grep -q 'missing from the store' <<<"$(field .err)"

# --- a cancelled job stops a running download (curl, then yt-dlp) ---
for what in "slow/clip.mp4:curl" "slowpage.html:yt-dlp"; do
	path=${what%%:*}; how=${what#*:}
	rm -f "$TMP/cancel"
	n=$((n + 1)); ID=$((100 + n)); s="$TMP/scratch/$ID"; mkdir -p "$s"
	job=$(jq -cn --argjson id $ID --arg u "$U/$path" '{id:$id,source_kind:"url",source_url:$u}')
	start=$(date +%s)
	MEDIAIN_CANCEL_FILE="$TMP/cancel" mediain run fetch "$job" "$s" >"$TMP/out.json" 2>"$TMP/err.log" &
	pid=$!
	# Cancel once the download is under way.
	wait_for 30 grep -q '^progress [0-9]* downloading' "$TMP/err.log"
	sleep 1
	touch "$TMP/cancel"
	wait $pid
	secs=$(( $(date +%s) - start ))
	check_eq "cancel stops the $how download" "cancelled" "$(field .rc)"
	check "cancelled $how download stopped early (${secs}s, a full one takes ~50s)" test "$secs" -lt 30
	check_eq "nothing left after the cancelled $how download" "0" "$(find "$s/dl" -type f | wc -l)"
	check_eq "no $how process left behind" "" "$(ps -eo args= | grep -F -- "$s" | grep -v grep)"
done

# --- done(): the job row and the next task ---
uid=$(sql "INSERT INTO users (name, key_hash, key_prefix) VALUES ('u', 'h', 'p') RETURNING id")
jid=$(sql "INSERT INTO jobs (user_id, source_kind, source_url) VALUES ($uid, 'url', '$U/clip.mp4') RETURNING id")
fetch url "$U/clip.mp4"
mediain done fetch "$jid" "$(jq -c .result "$TMP/out.json")"
check_eq "done: source_key recorded" "jobs/$ID/source.mp4" "$(sql "SELECT source_key FROM jobs WHERE id = $jid")"
check_eq "done: probe recorded" "640 true" "$(sql "SELECT probe->>'width', probe->>'has_audio' FROM jobs WHERE id = $jid" | tr '|' ' ')"
check_eq "done: a pending transcribe task" "transcribe|pending" "$(sql "SELECT stage, state FROM tasks WHERE job_id = $jid")"
done_testing
