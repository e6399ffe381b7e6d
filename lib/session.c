/* Browser sessions kept by the server: see session.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "session.h"
#include "util.h"

/* last_seen is written when it is older than this, not on every request. */
#define SEEN_EVERY	"5 minutes"

int
session_id_valid(const char *id)
{
	return strlen(id) == SESSION_ID_LEN &&
	    strspn(id, "0123456789abcdef") == SESSION_ID_LEN;
}

int
session_create(PGconn *c, long long user, const char *key_hash,
    char id[SESSION_ID_LEN + 1], char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	unsigned char raw[SESSION_ID_LEN / 2];
	char hash[65];
	const char *p[4];
	long long n;
	size_t i;

	if (random_bytes(raw, sizeof(raw)) == -1) {
		seterr(err, errlen, "cannot read random bytes");
		return -1;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	sha256_hex(id, SESSION_ID_LEN, hash);
	p[0] = hash;
	p[1] = db_param_ll(&dp, user);
	p[2] = key_hash;
	p[3] = db_param_ll(&dp, SESSION_DAYS);
	/* FOR SHARE waits for a rotate-key or disable in progress and then
	 * sees its outcome: no session outlives the key it came from. */
	n = db_count(c, err, errlen,
	    "INSERT INTO sessions (id_hash, user_id, expires_at) "
	    "SELECT $1, id, now() + make_interval(days => $4::int) FROM users "
	    "WHERE id = $2 AND key_hash = $3 AND NOT disabled FOR SHARE",
	    4, p);
	if (n == -1)
		return -1;
	return n == 1 ? 0 : 1;
}

int
session_lookup(PGconn *c, const char *id, long long *user, char *name,
    size_t namelen, long long *live_s, char *err, size_t errlen)
{
	char hash[65];
	const char *p[1] = { hash };
	PGresult *r;
	int stale;

	if (!session_id_valid(id))
		return 1;
	sha256_hex(id, SESSION_ID_LEN, hash);
	r = db_exec_prepared(c, err, errlen, "session_lookup",
	    "SELECT u.id, u.name, s.last_seen < now() - interval '" SEEN_EVERY
	    "', floor(extract(epoch FROM least(s.expires_at, CASE WHEN"
	    " s.last_seen < now() - interval '" SEEN_EVERY "' THEN now() ELSE"
	    " s.last_seen END + interval '" SEEN_EVERY "') - now()))"
	    " FROM sessions s JOIN users u ON u.id = s.user_id "
	    "WHERE s.id_hash = $1 AND s.expires_at > now() AND NOT u.disabled",
	    1, p);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1 ||
	    parse_ll(PQgetvalue(r, 0, 0), 1, INT64_MAX, user) == -1) {
		PQclear(r);
		return 1;
	}
	snprintf(name, namelen, "%s", PQgetvalue(r, 0, 1));
	stale = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
	if (live_s != NULL && parse_ll(PQgetvalue(r, 0, 3), -INT32_MAX,
	    INT32_MAX, live_s) == -1)
		*live_s = 0;
	PQclear(r);
	if (stale && db_cmd(c, err, errlen, "UPDATE sessions SET last_seen = "
	    "now() WHERE id_hash = $1", 1, p) == -1)
		return -1;
	return 0;
}

long long
session_end(PGconn *c, const char *id, char *err, size_t errlen)
{
	char hash[65];
	const char *p[1] = { hash };

	if (!session_id_valid(id))
		return 0;
	sha256_hex(id, SESSION_ID_LEN, hash);
	return db_count(c, err, errlen,
	    "DELETE FROM sessions WHERE id_hash = $1", 1, p);
}

long long
session_end_user(PGconn *c, long long user, char *err, size_t errlen)
{
	struct db_params dp = { 0 };
	const char *p[1];

	p[0] = db_param_ll(&dp, user);
	return db_count(c, err, errlen,
	    "DELETE FROM sessions WHERE user_id = $1", 1, p);
}

long long
session_sweep(PGconn *c, char *err, size_t errlen)
{
	return db_count(c, err, errlen,
	    "DELETE FROM sessions WHERE expires_at <= now()", 0, NULL);
}
