#!/usr/bin/env bash
# contrib/deps.sh: with everything installed it exits 0 quickly, twice in a
# row, and calls neither apt-get nor npm; with a package missing it
# installs exactly that package (and stops the service Debian starts), and
# as a normal user it says what is missing instead.  apt-get, npm and
# service are replaced by recorders in PATH: nothing is installed here.
. "$(dirname "$0")/lib.sh"
deps=$CLIPMILL_TOP/contrib/deps.sh
shims=$TMP/shims
calls=$TMP/calls
mkdir -p "$shims"
for c in apt-get apt npm service; do
	cat >"$shims/$c" <<SH
#!/bin/sh
echo "$c \$*" >>"$calls"
exit 0
SH
done
# dpkg-query answers for real, except for the packages in FAKE_MISSING.
real_dpkg_query=$(command -v dpkg-query)
cat >"$shims/dpkg-query" <<SH
#!/bin/bash
args=()
for a in "\$@"; do
	case " \${FAKE_MISSING:-} " in *" \$a "*) continue ;; esac
	args+=("\$a")
done
exec "$real_dpkg_query" "\${args[@]}"
SH
chmod 755 "$shims" "$shims"/*
: >"$calls"
chmod 666 "$calls"

# The packages deps.sh wants, and whether this machine has them all.
pkgs=$(sed -n '/^PKGS="/,/"$/p' "$deps" | tr -d '"' | sed 's/^PKGS=//')
check "deps.sh lists packages" test -n "$pkgs"
missing=""
for p in $pkgs; do
	dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing="$missing $p"
done
want_npm=0
if [ -f "$CLIPMILL_TOP/contrib/package.json" ] && [ ! -d "$CLIPMILL_TOP/contrib/node_modules" ]; then
	want_npm=1
fi

if [ -n "$missing" ]; then
	echo "# not installed here:$missing; the all-installed checks are skipped"
else
	for run in 1 2; do
		: >"$calls"
		start=$(date +%s%N)
		PATH="$shims:$PATH" sh "$deps" >"$TMP/out" 2>&1
		rc=$?
		ms=$(( ($(date +%s%N) - start) / 1000000 ))
		check_eq "run $run: exits 0 with everything installed" 0 "$rc"
		check "run $run: takes under 5 s (${ms} ms)" test "$ms" -lt 5000
		check_eq "run $run: no apt-get call" "" "$(grep '^apt' "$calls")"
		[ $want_npm = 1 ] && [ $run = 1 ] ||
			check_eq "run $run: no npm call" "" "$(grep '^npm' "$calls")"
		check_eq "run $run: no service touched" "" "$(grep '^service' "$calls")"
		check_eq "run $run: prints nothing" "" "$(cat "$TMP/out")"
	done
fi

# One package missing: exactly that one is installed, non-interactively.
: >"$calls"
FAKE_MISSING=wrk PATH="$shims:$PATH" sh "$deps" >"$TMP/out" 2>&1
check_eq "a missing package: exit 0" 0 "$?"
check_eq "a missing package: apt-get install names exactly it" \
    "apt-get install -y -qq --no-install-recommends wrk" "$(grep '^apt-get install' "$calls")"
check_eq "a missing package: no service touched" "" "$(grep '^service' "$calls")"
check "a missing package: says what it installs" grep -q 'installing wrk' "$TMP/out"

# Two missing, one of them a service Debian starts on install: it is stopped.
: >"$calls"
FAKE_MISSING="nginx mandoc" PATH="$shims:$PATH" sh "$deps" >"$TMP/out" 2>&1
check_eq "a missing service: exit 0" 0 "$?"
check_eq "a missing service: both installed in one call" \
    "apt-get install -y -qq --no-install-recommends nginx mandoc" "$(grep '^apt-get install' "$calls")"
check_eq "a missing service: the system nginx is stopped again" "service nginx stop" "$(grep '^service' "$calls")"

# As a normal user it cannot install: it says what is missing and fails.
if [ "$(id -u)" -eq 0 ] && runuser -u nobody -- test -r "$deps"; then
	: >"$calls"
	FAKE_MISSING=wrk runuser -u nobody -- env PATH="$shims:$PATH" FAKE_MISSING=wrk \
	    sh "$deps" >"$TMP/out" 2>&1
	check_eq "not root: exit 1" 1 "$?"
	check "not root: names the missing package" grep -q 'missing Debian packages: wrk' "$TMP/out"
	check "not root: says to run make deps as root" grep -q "as root" "$TMP/out"
	check_eq "not root: no apt-get call" "" "$(grep '^apt' "$calls")"
fi
done_testing
