#!/usr/bin/env bash
# The manual pages: clean under `mandoc -Tlint`, and complete: every CLI
# command and option in clipmill(1), every runner option in
# clipmill-batch(8), every configuration option in clipmill.conf(5), whose
# option list is generated from etc/clipmill.conf and must be up to date.
. "$(dirname "$0")/lib.sh"
cd "$CLIPMILL_TOP" || exit 1
export CLIPMILL_CONF=/dev/null

for p in batch/cli/clipmill.1 batch/runner/clipmill-batch.8 etc/clipmill.conf.5; do
	check "$p exists" test -s "$p"
done
# Every page in the tree, as `make install` finds them.  "referenced manual
# not found" only says the page is not installed on this machine yet, and
# "outdated mandoc.db" that this machine's man index is older than a
# package it has (spawn-fcgi(1)): neither is about our pages.
for p in */*.[158]; do
	lint=$(mandoc -Tlint "$p" 2>&1 | grep -v -e 'STYLE: referenced manual not found' \
	    -e 'outdated mandoc.db lacks')
	check_eq "mandoc -Tlint $p is clean" "" "$lint"
	[ -z "$lint" ] || echo "$lint" | sed 's/^/# /'
done

check "clipmill.conf.5 is generated from the current etc/clipmill.conf" \
    python3 contrib/conf2mdoc.py --check etc/clipmill.conf etc/clipmill.conf.5
missing=""
for k in $(clipmill config | cut -d' ' -f1); do
	grep -qE "^\.It Cm (.* )?$k( |$)|^\.Cm $k No" etc/clipmill.conf.5 || missing="$missing $k"
done
check_eq "clipmill.conf.5 describes every option" "" "$missing"

# clipmill(1): each command of the usage text has its .It Cm entry, and
# each --option of the usage text is described.
missing=""
while read -r c sub; do
	case "$sub" in add*|list*|disable*|enable*) c="$c ${sub%% *}" ;; esac
	if ! grep -qE "^\.It Cm $c( |$)" batch/cli/clipmill.1 &&
	    ! grep -A1 -E '^\.It Xo' batch/cli/clipmill.1 | grep -qE "^\.Cm $c$"; then
		missing="$missing [$c]"
	fi
done < <(clipmill -h | sed -n 's/^  \([a-z][a-z-]*\)\( [a-z]*\)\?.*/\1\2/p')
check_eq "clipmill.1 has every command of the usage text" "" "$missing"
missing=""
for o in $(clipmill -h | grep -oE -- '--[a-z-]+' | sort -u); do
	grep -qE "Fl \\\\${o#-}( |$)" batch/cli/clipmill.1 || missing="$missing $o"
done
check_eq "clipmill.1 describes every option of the usage text" "" "$missing"
check "clipmill.1 lists exit statuses 0, 1 and 2" \
    bash -c "sed -n '/^\.Sh EXIT STATUS/,/^\.Sh/p' batch/cli/clipmill.1 | grep -c '^\.It [012]$' | grep -qx 3"

# clipmill-batch(8) against the runner's own usage text.
if usage=$(clipmill-batch -h 2>&1); then
	missing=""
	for o in $(grep -oE -- '--[a-z-]+' <<<"$usage" | sort -u); do
		grep -qE "Fl \\\\${o#-}( |$)" batch/runner/clipmill-batch.8 || missing="$missing $o"
	done
	check_eq "clipmill-batch.8 describes every option of the runner's usage" "" "$missing"
else
	echo "# clipmill-batch -h failed: its options are not checked"
fi
check "clipmill-batch.8 lists exit statuses 0 to 3" \
    bash -c "sed -n '/^\.Sh EXIT STATUS/,/^\.Sh/p' batch/runner/clipmill-batch.8 | grep -c '^\.It [0123]$' | grep -qx 4"
done_testing
