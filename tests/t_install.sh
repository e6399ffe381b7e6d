#!/usr/bin/env bash
# `make install` honours DESTDIR and PREFIX: programs, configuration,
# crontab, shipped examples and man pages land where they should, nothing
# outside DESTDIR, and an operator's configuration is never overwritten.
. "$(dirname "$0")/lib.sh"
top=$CLIPMILL_TOP

# A test must not rebuild the tree under the other tests (a changed PREFIX
# or a missing SANITIZE=1 would): `-o all` installs the programs as built.
root=$TMP/root
make -s -C "$top" -o all install DESTDIR="$root" >"$TMP/make.log" 2>&1
rc=$?
check_eq "make install DESTDIR=... succeeds" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TMP/make.log"
p=$root/usr/local
for f in bin/clipmill bin/clipmill-batch; do
	check "$f installed executable" test -x "$p/$f"
done
if ls "$top"/fcgi/*.c >/dev/null 2>&1; then
	check "bin/clipmill.fcgi installed executable" test -x "$p/bin/clipmill.fcgi"
fi
check "etc/clipmill.conf installed" cmp -s "$top/etc/clipmill.conf" "$p/etc/clipmill.conf"
check_eq "etc/clipmill.conf not readable by other users (it holds database_url)" \
    "640" "$(stat -c %a "$p/etc/clipmill.conf")"
check "a pristine copy in share/clipmill" cmp -s "$top/etc/clipmill.conf" "$p/share/clipmill/clipmill.conf"
if [ -e "$top/crontab" ]; then
	check "crontab installed in share/clipmill" cmp -s "$top/crontab" "$p/share/clipmill/crontab"
else
	echo "# no crontab in the tree yet"
fi
for m in man1/clipmill.1 man8/clipmill-batch.8 man5/clipmill.conf.5; do
	check "$m installed" test -s "$p/share/man/$m"
done
n_pages=$(cd "$top" && find fcgi etc batch -name '*.[158]' | wc -l)
check_eq "every man page of the tree installed" "$n_pages" \
    "$(find "$p/share/man" -type f | wc -l)"
check_eq "no man page in share/clipmill" "" "$(find "$p/share/clipmill" -name '*.[158]')"
check_eq "nothing outside PREFIX" "" "$(find "$root" -type f ! -path "$p/*")"
check "the installed clipmill is the one built" cmp -s "$top/build/clipmill" "$p/bin/clipmill"
# PREFIX reaches the configuration path compiled into the programs.
make -n -C "$top" install PREFIX=/opt/cm >"$TMP/make-n.log" 2>&1
check "PREFIX=/opt/cm rebuilds config.o for /opt/cm/etc" \
    grep -qE "SYSCONFDIR='\"/opt/cm/etc\"'.* -o build/lib/config.o" "$TMP/make-n.log"
check "the installed man page renders" bash -c "mandoc -Tascii '$p/share/man/man1/clipmill.1' | grep -q 'clipmill submit'"

# An operator's configuration survives a reinstall.
echo "lease = 5" >"$p/etc/clipmill.conf"
make -s -C "$top" -o all install DESTDIR="$root" >"$TMP/make.log" 2>&1
check_eq "reinstall keeps the operator's clipmill.conf" "lease = 5" "$(cat "$p/etc/clipmill.conf")"
check "reinstall refreshes the pristine copy" cmp -s "$top/etc/clipmill.conf" "$p/share/clipmill/clipmill.conf"

# Another PREFIX and split directories.
root2=$TMP/root2
make -s -C "$top" -o all install DESTDIR="$root2" PREFIX=/opt/cm \
    MANDIR=/usr/share/man >"$TMP/make.log" 2>&1
rc=$?
check_eq "make install PREFIX=/opt/cm MANDIR=... succeeds" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TMP/make.log"
check "PREFIX: programs in /opt/cm/bin" test -x "$root2/opt/cm/bin/clipmill-batch"
check "PREFIX: configuration in /opt/cm/etc" test -f "$root2/opt/cm/etc/clipmill.conf"
check "PREFIX: shared files in /opt/cm/share/clipmill" test -f "$root2/opt/cm/share/clipmill/clipmill.conf"
check "MANDIR: man pages in /usr/share/man" test -f "$root2/usr/share/man/man8/clipmill-batch.8"
check_eq "PREFIX: nothing under /usr/local" "" "$(find "$root2" -path '*/usr/local*')"
done_testing
