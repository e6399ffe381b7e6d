#!/usr/bin/env bash
# The tree's structure holds: dependencies point down (lib/ knows nothing
# above it; fcgi/ and batch/ know nothing of each other), both in the
# include graph and in the link (no object of lib/ needs a symbol that only
# batch/ or fcgi/ defines), and no function is longer than 120 lines.
set -u
top=${CLIPMILL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
b=${CLIPMILL_BUILD:-$top/build}
cd "$top"

out=$(python3 tests/layout.py "$top")
if [ -z "$out" ]; then
	echo "ok include graph: lib/ from lib/ only, fcgi/ and batch/ apart"
else
	echo "not ok include graph"; printf '%s\n' "$out" | sed 's/^/#   /'
fi

# The link: what lib's objects leave undefined is defined by lib itself or
# by a system library, never by the archives above it.
defined() { nm --defined-only -g "$@" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u; }
missing=$(comm -12 <(nm -u "$b/libclipmill.a" 2>/dev/null | awk '{ print $2 }' | sort -u) \
    <(defined "$b"/libfcgi_front.a "$b"/librunner.a "$b"/libstages.a "$b"/libmedia.a "$b"/libcli.a))
if [ -f "$b/libclipmill.a" ] && [ -z "$missing" ]; then
	echo "ok lib/ calls nothing defined in batch/ or fcgi/"
else
	echo "not ok lib/ calls up: ${missing:-no build/libclipmill.a}" | tr '\n' ' '; echo
fi
front=$(comm -12 <(nm -u "$b/libfcgi_front.a" "$b/fcgi/main.o" 2>/dev/null | awk '{ print $2 }' | sort -u) \
    <(defined "$b"/librunner.a "$b"/libstages.a "$b"/libmedia.a "$b"/libcli.a))
if [ -z "$front" ]; then
	echo "ok fcgi/ calls nothing defined in batch/"
else
	echo "not ok fcgi/ calls into batch/: $front" | tr '\n' ' '; echo
fi

out=$(python3 tests/funclen.py)
if [ -z "$out" ]; then
	echo "ok no function over 120 lines"
else
	echo "not ok functions over 120 lines"; printf '%s\n' "$out" | sed 's/^/#   /'
fi
