#!/usr/bin/env bash
# Containment of hostile media (batch/runner/sandbox.c): a task child that
# decodes media holds no database connection and no secret, runs as
# media_user when the runner is root, and in a stage that needs no
# network it can open no socket and execute nothing.  The test stage
# "escape" plays a decoder bug gone bad; every attempt must be refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_lib.sh"
qsetup || exit 1

# The installed configuration file is 0640 (Makefile): the media user
# may not read it.  database_url comes from the file, as in production.
conf_set database_url "\"$CLIPMILL_DATABASE_URL\""
unset CLIPMILL_DATABASE_URL
export DATABASE_URL_FOR_TEST=$(sed -n 's/^database_url = "\(.*\)"$/\1/p' "$CLIPMILL_CONF")
root=0
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	root=1
	conf_set media_user nobody
	chmod 0640 "$CLIPMILL_CONF"
fi
sqlc() { psql -qXAt -v ON_ERROR_STOP=1 "$DATABASE_URL_FOR_TEST" -c "$1"; }

job=$(psql -qXAt "$DATABASE_URL_FOR_TEST" -c "INSERT INTO jobs (user_id, source_kind, source_url, state)
     SELECT id, 'url', 'http://127.0.0.1/x', 'pending' FROM users LIMIT 1 RETURNING id" | head -1)
sqlc "INSERT INTO tasks (job_id, stage, payload, max_attempts) VALUES ($job, 'escape',
     jsonb_build_object('conninfo', '$DATABASE_URL_FOR_TEST', 'read', '$CLIPMILL_CONF', 'exec', '/bin/true'), 1)" >/dev/null
qrun r1 --stage escape --once
qwait r1 60
check_eq "the runner exits 0" 0 "$QRC"
res() { sqlc "SELECT result->>'$1' FROM tasks WHERE job_id = $job"; }
check_eq "the task ran to its end" done "$(sqlc "SELECT state FROM tasks WHERE job_id = $job")"
check "PostgreSQL with the known address: refused" grep -q '^refused: ' <<<"$(res db)"
check "PostgreSQL: refused before any connection (no socket)" grep -q 'Permission denied' <<<"$(res db)"
check "the configuration's database_url is gone from the child" grep -q '^refused: ' <<<"$(res db_config)"
check_eq "no inherited socket (the runner's connection is closed)" 0 "$(res inherited_sockets)"
check_eq "a TCP socket: refused" "refused: Permission denied" "$(res socket)"
check_eq "execve: refused" "refused: Permission denied" "$(res exec)"
if [ "$root" = 1 ]; then
	check_eq "reading the configuration file as media_user: refused" \
	    "refused: Permission denied" "$(res read)"
	check "a store_dir the media user cannot write is logged at start" \
	    grep -q '"media_user_cannot_write_store"' "$TMP/r1.log"
else
	ok "reading the configuration file # skip: media_user needs a root runner"
fi
check "the attempts are reported in an event" grep -q '"socket":"refused' \
    <<<"$(sqlc "SELECT data->>'msg' FROM events WHERE job_id = $job AND kind = 'escape'")"
check "the runner itself still works after the child (its session intact)" \
    grep -q '"runner_exit".*"code":0' "$TMP/r1.log"

# a child that changed user still dies with a killed runner (a change of
# user clears the parent-death signal)
if [ "$root" = 1 ]; then
	job=$(psql -qXAt "$DATABASE_URL_FOR_TEST" -c "INSERT INTO jobs (user_id, source_kind, source_url, state)
	     SELECT id, 'url', 'http://127.0.0.1/x', 'pending' FROM users LIMIT 1 RETURNING id" | head -1)
	# (hang: silent, so no broken pipe can kill it instead)
	sqlc "INSERT INTO tasks (job_id, stage, payload) VALUES ($job, 'hang', '{\"mode\":\"sleep\"}')" >/dev/null
	qrun r4 --stage hang --once
	wait_for 30 grep -q '"task_started"' "$TMP/r4.log"
	child=$(sed -n 's/.*"task_started".*"child":\([0-9]*\).*/\1/p' "$TMP/r4.log" | head -1)
	uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
	wait_for 30 test "$(uid_of "$child")" = "$(id -u nobody)"
	check_eq "the hanging child runs as media_user" "$(id -u nobody)" "$(uid_of "$child")"
	kill -9 "$(qpid r4)"
	gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status"; }
	check "killing the runner kills its media_user child" wait_for 10 gone "$child"
	kill -9 "$child" 2>/dev/null
else
	ok "media_user child dies with the runner # skip: needs a root runner"
fi

# media_user must name an unprivileged user: the runner refuses to start
if [ "$root" = 1 ]; then
	conf_set media_user root
	qrun r2 --stage escape --once
	qwait r2 60
	check_eq "media_user = root: the runner refuses to start" 1 "$QRC"
	check "and says why" grep -q '"config_invalid".*media_user \\"root\\" must not be root' "$TMP/r2.log"
	conf_set media_user no-such-user-here
	qrun r3 --stage escape --once
	qwait r3 60
	check_eq "media_user unknown: the runner refuses to start" 1 "$QRC"
	check "and says why" grep -q 'media_user \\"no-such-user-here\\" is not a user on this host' "$TMP/r3.log"
else
	ok "media_user refusals # skip: media_user needs a root runner"
fi
done_testing
