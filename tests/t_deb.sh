#!/usr/bin/env bash
# The Debian package from build to purge: `make deb`, lintian, `dpkg -i`
# on this machine, the units pass `systemd-analyze verify`, the runners
# idle quietly until database_url is set, then, configured against the
# test PostgreSQL, clipmill.fcgi started the way systemd starts it
# (systemd-socket-activate, as the user clipmill) behind nginx with the
# shipped example, `clipmill doctor` all ok, one job from submission to a
# clip served by nginx with the installed programs only, and `dpkg
# --purge` leaves nothing behind.  A trap purges on any failure.
#
# It installs into /usr: other tests run build/'s programs (tests/lib.sh
# puts build/ first in PATH, and the installed ones read
# /etc/clipmill/clipmill.conf, the build's /usr/local/etc), and two runs of
# this test wait for each other.  Skipped when not root, or when a
# clipmill package or user is there already (it is not ours to remove).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
top=$CLIPMILL_TOP

if [ "$(id -u)" -ne 0 ] || ! command -v dpkg-buildpackage >/dev/null ||
    ! command -v lintian >/dev/null || ! command -v systemd-socket-activate >/dev/null; then
	echo "needs root, dpkg-dev, debhelper, lintian and systemd's tools (make deps)"
	exit 77
fi
exec 9>/run/lock/clipmill-t_deb.lock
flock 9
if dpkg -s clipmill >/dev/null 2>&1 || getent passwd clipmill >/dev/null ||
    getent group clipmill >/dev/null; then
	echo "a clipmill package, user or group is already on this machine"
	exit 77
fi
# The installed programs read only the package's configuration.
unset CLIPMILL_CONF CLIPMILL_DATABASE_URL DATABASE_URL
as_clipmill=(setpriv --reuid=clipmill --regid=clipmill --init-groups)

# ---- build and lint ----
make -s -C "$top" deb B="$TMP/b" >"$TMP/make.log" 2>&1
check_eq "make deb succeeds" 0 "$?"
deb=$(ls "$TMP"/b/deb/clipmill_*_amd64.deb 2>/dev/null | head -1)
check "make deb leaves clipmill_VERSION_amd64.deb" test -f "$deb"
[ -f "$deb" ] || { tail -30 "$TMP/make.log"; exit 1; }
lintian --fail-on error,warning "$deb" >"$TMP/lintian.log" 2>&1
check_eq "lintian: no error and no warning that is not overridden" 0 "$?"
grep -E '^[EW]: ' "$TMP/lintian.log" | sed 's/^/# /'

# ---- install ----
dpkg -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' >"$TMP/files"
at_exit "dpkg --purge clipmill >/dev/null 2>&1"
dpkg -i "$deb" >"$TMP/dpkg.log" 2>&1
check_eq "dpkg -i succeeds" 0 "$?"
check "the user clipmill is a system user" test "$(id -u clipmill 2>/dev/null || echo 65536)" -lt 1000
for p in /usr/bin/clipmill /usr/bin/clipmill-batch /usr/sbin/clipmill.fcgi; do
	check "$p installed" test -x "$p"
done
check_eq "the configuration is root:clipmill 0640" "root:clipmill 640" \
    "$(stat -c '%U:%G %a' /etc/clipmill/clipmill.conf)"
check "the configuration is a conffile" grep -qx " */etc/clipmill/clipmill.conf [0-9a-f]*" \
    <<<"$(dpkg-query -W -f '${Conffiles}\n' clipmill)"
check_eq "state, store, scratch and logs belong to clipmill" \
    "clipmill:clipmill 755 clipmill:www-data 2750 clipmill:clipmill 750 clipmill:adm 2750" \
    "$(stat -c '%U:%G %a' /var/lib/clipmill /var/lib/clipmill/store /var/cache/clipmill /var/log/clipmill | tr '\n' ' ' | sed 's/ $//')"
check "face models in /usr/share/clipmill/blazeface" test -s /usr/share/clipmill/blazeface/face_detection_back_256x256_barracuda.onnx
check "the nginx and Apache examples, not enabled" bash -c \
    'test -f /usr/share/doc/clipmill/examples/nginx.conf && test -f /usr/share/doc/clipmill/examples/apache.conf &&
     ! grep -rlq clipmill /etc/nginx/sites-enabled /etc/apache2/sites-enabled 2>/dev/null'
check "man 1 clipmill installed" test -f /usr/share/man/man1/clipmill.1.gz
for u in clipmill-fcgi.socket clipmill-fcgi.service; do
	systemd-analyze verify "/lib/systemd/system/$u" >"$TMP/verify.log" 2>&1
	check_eq "systemd-analyze verify $u" 0 "$?"
	sed 's/^/# /' "$TMP/verify.log"
done
check "the socket is enabled (sockets.target wants it)" test -L /etc/systemd/system/sockets.target.wants/clipmill-fcgi.socket
check "the service is sandboxed" bash -c 'for d in ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes "ReadWritePaths=/var/lib/clipmill /var/cache/clipmill /var/log/clipmill" User=clipmill; do
    grep -qx "$d" /lib/systemd/system/clipmill-fcgi.service || exit 1; done'
# /etc/cron.d/clipmill runs the crontab's commands, as clipmill.
ours=$(sed -n 's/^\([^#A-Z][^\t]*\)\tclipmill\ttest -x \/usr\/bin\/clipmill-batch && /\1\t/p' /etc/cron.d/clipmill)
theirs=$(grep -E '^[*0-9]' "$top/crontab")
check_eq "cron.d has the crontab's lines, run as clipmill" "$theirs" "$ours"
check "logrotate accepts its file" logrotate -d /etc/logrotate.d/clipmill

# Until database_url is set a runner exits 0 at once, with one log line.
"${as_clipmill[@]}" /usr/bin/clipmill-batch --stage fetch
check_eq "unconfigured runner exits 0" 0 "$?"
check_eq "unconfigured runner: one not_configured line in the log" 1 \
    "$(grep -c '"event":"not_configured"' /var/log/clipmill/clipmill.log)"

# ---- configure against the test PostgreSQL ----
db="t_deb_$$_$RANDOM"
psql -qX "host=$CLIPMILL_TEST_PGHOST user=postgres dbname=postgres" -c "CREATE DATABASE $db" >/dev/null
at_exit "psql -qX 'host=$CLIPMILL_TEST_PGHOST user=postgres dbname=postgres' -c 'DROP DATABASE IF EXISTS $db WITH (FORCE)' >/dev/null 2>&1"
url="host=$CLIPMILL_TEST_PGHOST user=postgres dbname=$db"
sock=$TMP/fcgi.sock
sed -i -e "s|^database_url = \"\"$|database_url = \"$url\"|" \
    -e "s|^fcgi_listen = .*|fcgi_listen = unix:$sock|" /etc/clipmill/clipmill.conf
printf '%s\n' "clip_min = 6" "clip_max = 10" "retry_base = 0.2" >>/etc/clipmill/clipmill.conf
"${as_clipmill[@]}" /usr/bin/clipmill migrate >"$TMP/migrate.log" 2>&1
check_eq "clipmill migrate as clipmill" 0 "$?"
alice=$(/usr/bin/clipmill user add alice)

# clipmill.fcgi the way systemd starts it: the socket made first, passed
# as fd 3, the program run as clipmill.
systemd-socket-activate -l "$sock" \
    setpriv --reuid=clipmill --regid=clipmill --init-groups /usr/sbin/clipmill.fcgi \
    2>>"$TMP/fcgi.err" &
fcgi=$!
at_exit "kill $fcgi 2>/dev/null; wait $fcgi 2>/dev/null"
wait_for 10 test -S "$sock"
chmod 666 "$sock"	# SocketMode=0660 with the web server's group, here
port=$(free_port)
CLIPMILL_NGINX_SNIPPET=/usr/share/doc/clipmill/examples/nginx.conf \
    sh "$top/contrib/nginx-conf.sh" "$TMP/nginx" "$port" "$sock" /var/lib/clipmill/store 2049m \
    >"$TMP/nginx.conf"
nginx -c "$TMP/nginx.conf" -g 'daemon off;' 2>>"$TMP/nginx.err" &
nginx=$!
at_exit "kill -QUIT $nginx 2>/dev/null; wait $nginx 2>/dev/null"
BASE="http://127.0.0.1:$port"
wait_for 20 curl -sf -o /dev/null "$BASE/healthz"
check_eq "nginx (the shipped example) -> socket-activated clipmill.fcgi: /healthz 200" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")"
check "clipmill.fcgi took systemd's socket" grep -q '"event":"fcgi_started".*"listen":"systemd"' /var/log/clipmill/clipmill.log

# A runner the way cron starts it (as clipmill, from /etc/cron.d).
"${as_clipmill[@]}" /usr/bin/clipmill-batch --stage fetch,transcribe,select,frame,render,publish \
    --idle-exit 600 2>>"$TMP/runner.err" &
runner=$!
at_exit "kill $runner 2>/dev/null; wait $runner 2>/dev/null"
out=$("${as_clipmill[@]}" /usr/bin/clipmill doctor --min-free 10 2>&1)
check_eq "clipmill doctor as clipmill: all ok" 0 "$?"
check_eq "clipmill doctor: no FAIL line" "" "$(grep '^FAIL' <<<"$out")"
echo "$out" | sed 's/^/# /'

# ---- one job, submission to published clip ----
mo_media "$TMP/m" 2 face || { not_ok "test video built"; exit 1; }
chmod 644 "$TMP/m/talk.mp4"
job=$("${as_clipmill[@]}" /usr/bin/clipmill submit --user alice --clips 1 --min-len 6 --max-len 10 \
    --file "$TMP/m/talk.mp4")
check "submit prints a job id" grep -qE '^[0-9]+$' <<<"$job"
state=""
for _ in $(seq 1 900); do
	state=$(psql -qXAt "$url" -c "SELECT state FROM jobs WHERE id = ${job:-0}")
	case "$state" in done|partial|failed|cancelled) break ;; esac
	sleep 0.5
done
check_eq "the job ends done" done "$state"
[ "$state" = done ] || { psql -qXAt "$url" -c "SELECT stage, state, error FROM tasks WHERE job_id = ${job:-0}"; tail -5 "$TMP/runner.err" /var/log/clipmill/clipmill.log; }
cid=$(psql -qXAt "$url" -c "SELECT id FROM clips WHERE job_id = ${job:-0} AND state = 'ready' LIMIT 1")
code=$(curl -s -o "$TMP/clip.mp4" -w '%{http_code} %{content_type}' -H "Authorization: Bearer $alice" \
    "$BASE/clips/${cid:-0}/video")
check_eq "nginx serves the published clip" "200 video/mp4" "$code"
check_eq "the clip is 1080x1920 H.264" "h264,1080,1920" \
    "$(ffprobe -v error -select_streams v -show_entries stream=codec_name,width,height -of csv=p=0 "$TMP/clip.mp4" 2>/dev/null)"
check "the store's files belong to clipmill" test -z "$(find /var/lib/clipmill/store ! -user clipmill)"

# ---- purge ----
kill "$runner" "$fcgi" 2>/dev/null; wait "$runner" "$fcgi" 2>/dev/null
kill -QUIT "$nginx" 2>/dev/null; wait "$nginx" 2>/dev/null
wait_for 30 test -z "$(pgrep -u clipmill)" || ps -u clipmill -o pid,args | sed 's/^/# still running: /'
dpkg --purge clipmill >"$TMP/purge.log" 2>&1
check_eq "dpkg --purge succeeds" 0 "$?"
sed 's/^/# /' "$TMP/purge.log"
left=$(while read -r f; do [ -e "$f" ] && echo "$f"; done <"$TMP/files")
check_eq "no file the package installed remains" "" "$left"
check_eq "state, scratch, logs and /etc/clipmill are gone" "" \
    "$(ls -d /etc/clipmill /var/lib/clipmill /var/cache/clipmill /var/log/clipmill 2>/dev/null)"
check_eq "no systemd link or state is left" "" \
    "$(find /etc/systemd /var/lib/systemd -name '*clipmill*' 2>/dev/null)"
check_eq "the user and group clipmill are gone" "" "$(getent passwd clipmill; getent group clipmill)"
check "the database is the operator's: still there" psql -qXAt "$url" -c "SELECT 1"
done_testing
