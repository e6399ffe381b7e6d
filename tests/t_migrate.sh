#!/usr/bin/env bash
# Migrations: applied in order, safe to run twice, a newer database refused;
# users get API keys stored only as hashes.
. "$(dirname "$0")/lib.sh"
newdb || exit 1

# The newest migration in sql/ is the version a migrated database is at.
v=$(ls "$CLIPMILL_TOP"/sql/[0-9]*.sql | sed 's|.*/0*\([0-9]*\)_[^/]*$|\1|' | sort -n | tail -1)
out=$(clipmill migrate)
check_eq "second migrate applies nothing" "0 migrations applied; schema is at version $v" "$out"
check_eq "schema version recorded" "$v" "$(sql 'SELECT max(version) FROM schema_migrations')"

key=$(clipmill user add alice)
check "user add prints a key" grep -qE '^cm_[0-9a-f]{48}$' <<<"$key"
check_eq "key stored only as its hash" "$(printf %s "$key" | sha256sum | cut -d' ' -f1)" \
    "$(sql "SELECT key_hash FROM users WHERE name = 'alice'")"
check_eq "raw key not in the database" "0" "$(sql "SELECT count(*) FROM users WHERE key_hash = '$key' OR key_prefix = '$key'")"
clipmill user add alice 2>"$TMP/err"; rc=$?
check_eq "duplicate user refused" "1" "$rc"
check "duplicate user message" grep -q 'already exists' "$TMP/err"
clipmill user add 'bad name!' 2>"$TMP/err"; rc=$?
check_eq "bad user name refused" "1" "$rc"

sql "INSERT INTO schema_migrations (version, name) VALUES (999, 'future')"
clipmill migrate 2>"$TMP/err"; rc=$?
check_eq "newer database refused by migrate" "1" "$rc"
check "newer database message" grep -q 'newer than this clipmill' "$TMP/err"
clipmill user list >/dev/null 2>&1
clipmill user add bob 2>"$TMP/err"; rc=$?
check_eq "commands refuse a newer schema" "1" "$rc"

echo "bogus_option = 1" >>"$CLIPMILL_CONF"
clipmill migrate 2>"$TMP/err"; rc=$?
check_eq "bad config exits 1" "1" "$rc"
check "config error names file and line" grep -qE "clipmill.conf:[0-9]+: unknown option \"bogus_option\"" "$TMP/err"
done_testing
