#!/usr/bin/env bash
# The OpenAPI document (fcgi/openapi.json) against the real thing: the
# document is valid OpenAPI 3.1, GET /openapi.json serves it byte for byte,
# and every documented route is called on clipmill.fcgi behind nginx, each
# answer (status, headers, body) validated against the document's schema
# for that route and status (tests/openapi_check.js: the npm packages
# @seriousme/openapi-schema-validator and Ajv, JSON Schema 2020-12).  A
# real job is uploaded for review, edited, rendered by the runners and
# re-rendered.  A documented route or status never provoked is a failure
# (but those the script lists, with the reason).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/web_lib.sh"
. "$(dirname "$0")/mediaout_lib.sh"
nm="$CLIPMILL_TOP/contrib/node_modules"
if [ ! -d "$nm/@seriousme/openapi-schema-validator" ] || [ ! -d "$nm/ajv" ] ||
    ! command -v node >/dev/null; then
	echo "the OpenAPI validators or node are missing (make deps)"; exit 77
fi
newdb || exit 1
conf_set log_file "$TMP/fcgi.jsonl"
conf_set clip_min 6
conf_set clip_max 10
conf_set retry_base 0.2
conf_set user_max_jobs 3
conf_set user_submits_per_minute 100
conf_set user_max_longpolls 1
conf_set fcgi_threads 4
# a webhook URL on loopback (nothing listens: no delivery runs here)
conf_set fetch_allow_cidrs 127.0.0.1/32
MTOKEN="mt-$RANDOM$RANDOM$RANDOM"
conf_set metrics_token "$MTOKEN"
mo_media "$TMP/m" 2 face || { not_ok "test video built"; exit 1; }
alice=$(clipmill user add alice)
bob=$(clipmill user add bob)
carol=$(clipmill user add carol)
start_fcgi || { cat "$TMP/fcgi.log"; exit 1; }
start_nginx || exit 1

# A cap of alice's, carol's: user_max_jobs, and a body over the form cap.
python3 - "$TMP/ctx.json" <<PY
import json, sys
json.dump({"base": "$BASE", "doc": "$CLIPMILL_TOP/fcgi/openapi.json",
    "alice": "$alice", "bob": "$bob", "carol": "$carol",
    "metricsToken": "$MTOKEN", "video": "$TMP/m/talk.mp4", "maxJobs": 3,
    "bigBody": 65537, "hook": "http://127.0.0.1:9/clipmill",
    "runner": ["nice", "-n", "5", "clipmill-batch", "--stage",
        "fetch,transcribe,select,frame,render,publish", "--idle-exit", "1"]},
    open(sys.argv[1], "w"))
PY
node "$CLIPMILL_TOP/tests/openapi_check.js" "$TMP/ctx.json" 2>>"$TMP/runner.log"
rc=$?
check_eq "the validator ran to its end" 0 "$rc"
[ $rc -eq 0 ] || tail -20 "$TMP/runner.log"
done_testing
