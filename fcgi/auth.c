/*
 * Who is asking: an API key (Authorization: Bearer KEY, stored only as
 * its SHA-256), a signed session cookie set by the login page, or, when
 * the web server authenticates (cfg.trust_remote_user), REMOTE_USER.
 * Cookie and CSRF tokens are HMAC-SHA256 under a secret kept in
 * cfg.session_secret_file, generated on first start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "extern.h"

#define COOKIE		"cm_session"
#define SESSION_DAYS	30

static unsigned char	secret[32];

static int
load_secret(const char *path, char *err, size_t errlen)
{
	char *hex = read_small_file(path, 256, 1);
	size_t i;

	if (hex == NULL)
		return -1;
	if (strlen(hex) != 64) {
		seterr(err, errlen, "%s: expected 64 hex digits", path);
		free(hex);
		return -2;
	}
	for (i = 0; i < 32; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			seterr(err, errlen, "%s: expected 64 hex digits", path);
			free(hex);
			return -2;
		}
		secret[i] = (unsigned char)(hi * 16 + lo);
	}
	free(hex);
	return 0;
}

int
auth_init(char *err, size_t errlen)
{
	char path[4096], tmp[4200], hex[66];
	unsigned char raw[32];
	int fd, rc, i;

	if (*cfg.session_secret_file)
		rc = xsnprintf(path, sizeof(path), "%s", cfg.session_secret_file);
	else
		rc = xsnprintf(path, sizeof(path), "%s/session_secret",
		    cfg.scratch_dir);
	if (rc == -1) {
		seterr(err, errlen, "session_secret_file path too long");
		return -1;
	}
	if ((rc = load_secret(path, err, errlen)) == 0)
		return 0;
	if (rc == -2 || errno != ENOENT) {
		if (rc == -1)
			seterr(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
		return -1;
	}
	/* First start: write a new secret to a temporary file and link it
	 * into place, so that two processes starting at once agree. */
	if (random_bytes(raw, sizeof(raw)) == -1) {
		seterr(err, errlen, "cannot read random bytes");
		return -1;
	}
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[64] = '\n';
	{
		char dir[4096], *slash;
		snprintf(dir, sizeof(dir), "%s", path);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			mkdir_p(dir, 0700);
		}
	}
	if (xsnprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) == -1 ||
	    (fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, hex, 65) != 65 || fsync(fd) == -1) {
		seterr(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (link(tmp, path) == -1 && errno != EEXIST) {
		seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	unlink(tmp);
	log_ev(LOG_INFO, "session_secret_created", "{ss}", "path", path);
	if (load_secret(path, err, errlen) != 0) {
		seterr(err, errlen, "cannot read %s back", path);
		return -1;
	}
	return 0;
}

/* Hex HMAC-SHA256 of MSG under the secret into OUT[65]. */
static void
mac_hex(const char *msg, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	int i;

	HMAC(EVP_sha256(), secret, sizeof(secret), (const unsigned char *)msg,
	    strlen(msg), md, &len);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static void
set_csrf(struct user *u, const char *bound)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "csrf|%d|%s", (int)u->via, bound);
	mac_hex(msg, u->csrf);
}

/* Look a user up by column = value; 0 found, 1 not, -1 after 503. */
static int
find_user(struct req *r, const char *sql, const char *value)
{
	const char *p[1] = { value };
	char err[512];
	PGresult *res;
	PGconn *c;

	if ((c = req_db(r)) == NULL)
		return -1;
	if ((res = db_exec(c, err, sizeof(err), sql, 1, p)) == NULL) {
		db_fail(r, err);
		return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 1;
	}
	parse_ll(PQgetvalue(res, 0, 0), 1, INT64_MAX, &r->u.id);
	snprintf(r->u.name, sizeof(r->u.name), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

static int
by_key(struct req *r, const char *key)
{
	char hash[65];

	sha256_hex(key, strlen(key), hash);
	return find_user(r, "SELECT id, name FROM users WHERE key_hash = $1 "
	    "AND NOT disabled", hash);
}

/*
 * The web server's REMOTE_USER: the last one it sent.  nginx sends every
 * fastcgi_param line, so a config that clears the name fastcgi_params
 * passes (etc/nginx.conf) sends it twice, the cleared one last; libfcgi
 * would answer with the first.  NULL when there is none.
 */
static const char *
remote_user(struct req *r)
{
	static const char name[] = "REMOTE_USER=";
	const char *v = NULL;
	char **e;

	for (e = r->fr->envp; e != NULL && *e != NULL; e++)
		if (strncmp(*e, name, sizeof(name) - 1) == 0)
			v = *e + sizeof(name) - 1;
	return v;
}

int
auth_listener_check(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!cfg.trust_remote_user || cfg.trust_remote_user_tcp)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    ss.ss_family == AF_UNIX)
		return 0;
	/* Whoever can connect to the port speaks FastCGI and names the
	 * user: on a TCP port that is every local process, at least. */
	fprintf(stderr, "clipmill.fcgi: trust_remote_user = yes on a TCP "
	    "listener: any process that can connect to it could log in as "
	    "any user; listen on a unix socket, or set trust_remote_user_tcp "
	    "= yes if only the web server can reach the port\n");
	log_ev(LOG_ERROR, "remote_user_on_tcp", NULL);
	return -1;
}

int
auth_user(struct req *r)
{
	const char *h, *ru;
	char cookie[160], uid[24], msg[192], mac[65];
	long long exp, id;
	char *dot1, *dot2;
	int rc;

	memset(&r->u, 0, sizeof(r->u));
	if ((h = param(r, "HTTP_AUTHORIZATION")) != NULL &&
	    strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
		if (strlen(h) > 200)
			return 1;
		if ((rc = by_key(r, h)) != 0) {
			memset(&r->u, 0, sizeof(r->u));
			return rc;
		}
		r->u.via = AUTH_BEARER;
		snprintf(uid, sizeof(uid), "%lld", r->u.id);
		set_csrf(&r->u, uid);
		return 0;
	}
	if ((h = param(r, "HTTP_COOKIE")) != NULL &&
	    cookie_get(h, COOKIE, cookie, sizeof(cookie)) == 0 &&
	    (dot1 = strchr(cookie, '.')) != NULL &&
	    (dot2 = strchr(dot1 + 1, '.')) != NULL) {
		*dot2 = '\0';
		mac_hex(cookie, mac);	/* over "uid.exp" */
		*dot1 = '\0';
		if (strlen(dot2 + 1) == 64 &&
		    CRYPTO_memcmp(mac, dot2 + 1, 64) == 0 &&
		    parse_ll(cookie, 1, INT64_MAX, &id) == 0 &&
		    parse_ll(dot1 + 1, 0, INT64_MAX, &exp) == 0 &&
		    exp > (long long)time(NULL)) {
			if ((rc = find_user(r, "SELECT id, name FROM users "
			    "WHERE id = $1 AND NOT disabled", cookie)) != 0) {
				memset(&r->u, 0, sizeof(r->u));
				return rc;
			}
			r->u.via = AUTH_SESSION;
			snprintf(msg, sizeof(msg), "%s.%s", cookie, dot1 + 1);
			set_csrf(&r->u, msg);
			return 0;
		}
	}
	if (cfg.trust_remote_user && (ru = remote_user(r)) != NULL &&
	    *ru != '\0') {
		if ((rc = find_user(r, "SELECT id, name FROM users WHERE "
		    "name = $1 AND NOT disabled", ru)) != 0) {
			memset(&r->u, 0, sizeof(r->u));
			return rc;
		}
		r->u.via = AUTH_REMOTE;
		set_csrf(&r->u, r->u.name);
		return 0;
	}
	return 1;
}

void
auth_required(struct req *r)
{
	if (r->json) {
		respond_error(r, 401, NULL, "WWW-Authenticate: Bearer "
		    "realm=\"clipmill\"\r\n", "A valid API key is required "
		    "(Authorization: Bearer KEY).");
		return;
	}
	redirect(r, "/login", NULL);
}

int
csrf_check(struct req *r, const struct form *f)
{
	const char *t;

	if (r->u.via == AUTH_BEARER)
		return 0;	/* a key is never sent by a browser on its own */
	t = form_get(f, "csrf");
	if (t != NULL && strlen(t) == 64 && CRYPTO_memcmp(t, r->u.csrf, 64) == 0)
		return 0;
	respond_error(r, 403, "csrf", NULL, "the form's security token is "
	    "missing or stale; reload the page and submit again.");
	return -1;
}

/*
 * The login form's CSRF token.  There is no session yet to bind it to, so
 * the form page sets a random nonce in a cookie only /login sees, and the
 * form carries the HMAC of that nonce: a page on another site can make a
 * browser post to /login, but cannot read the nonce to forge the token
 * (this stops "login CSRF": being logged in as the attacker).
 */
#define LOGIN_COOKIE	"cm_login"

/* The nonce from the request's cookie when it has a well-formed one, else
 * a new one; with its token.  0, or -1 when no random bytes. */
int
login_token(struct req *r, char nonce[33], char token[65], int *fresh)
{
	unsigned char raw[16];
	char msg[64];
	const char *h;
	int i;

	*fresh = 0;
	if ((h = param(r, "HTTP_COOKIE")) == NULL ||
	    cookie_get(h, LOGIN_COOKIE, nonce, 33) != 0 ||
	    strlen(nonce) != 32 || strspn(nonce, "0123456789abcdef") != 32) {
		if (random_bytes(raw, sizeof(raw)) == -1)
			return -1;
		for (i = 0; i < 16; i++)
			snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
		*fresh = 1;
	}
	snprintf(msg, sizeof(msg), "login|%s", nonce);
	mac_hex(msg, token);
	return 0;
}

/* The Set-Cookie line for a fresh login nonce, into OUT. */
void
login_cookie(const char *nonce, char *out, size_t len)
{
	snprintf(out, len, "Set-Cookie: " LOGIN_COOKIE "=%s; Path=/login; "
	    "HttpOnly; SameSite=Strict%s\r\n", nonce,
	    strncmp(cfg.base_url, "https:", 6) == 0 ? "; Secure" : "");
}

/* 1 when the posted form's token matches the request's nonce cookie. */
static int
login_token_ok(struct req *r, const struct form *f)
{
	char nonce[33], token[65], msg[64];
	const char *h, *t;

	if ((h = param(r, "HTTP_COOKIE")) == NULL ||
	    cookie_get(h, LOGIN_COOKIE, nonce, sizeof(nonce)) != 0 ||
	    strlen(nonce) != 32 || (t = form_get(f, "csrf")) == NULL ||
	    strlen(t) != 64)
		return 0;
	snprintf(msg, sizeof(msg), "login|%s", nonce);
	mac_hex(msg, token);
	return CRYPTO_memcmp(t, token, 64) == 0;
}

void
route_login_get(struct req *r)
{
	page_login(r, NULL);
}

void
route_login_post(struct req *r)
{
	struct form f = { .n = 0 };
	struct buf body;
	char err[256], msg[64], mac[65], cookie[512];
	const char *key;
	long long exp;
	int rc;

	buf_init(&body, FORM_MAX_BODY);
	if (read_body(r, &body, FORM_MAX_BODY) == -1)
		goto out;
	if (parse_urlencoded(body.data, body.len, &f, err, sizeof(err)) == -1 ||
	    (key = form_get(&f, "key")) == NULL || *key == '\0') {
		r->status = 400;
		if (r->json)
			respond_error(r, 400, "key", NULL, "is required");
		else
			page_login(r, "Enter your API key.");
		goto out;
	}
	if (!login_token_ok(r, &f)) {
		log_ev(LOG_INFO, "login_csrf_refused", NULL);
		r->status = 403;
		if (r->json)
			respond_error(r, 403, "csrf", NULL, "the login form's "
			    "security token is missing or stale: load /login "
			    "and try again");
		else
			page_login(r, "The form had expired. Please try again.");
		goto out;
	}
	if ((rc = by_key(r, key)) == -1)
		goto out;
	if (rc == 1) {
		memset(&r->u, 0, sizeof(r->u));
		log_ev(LOG_INFO, "login_failed", NULL);
		r->status = 401;
		if (r->json)
			respond_error(r, 401, "key", NULL, "is not a valid API key");
		else
			page_login(r, "That key is not valid.");
		goto out;
	}
	exp = (long long)time(NULL) + SESSION_DAYS * 86400LL;
	snprintf(msg, sizeof(msg), "%lld.%lld", r->u.id, exp);
	mac_hex(msg, mac);
	snprintf(cookie, sizeof(cookie), "Set-Cookie: " COOKIE "=%s.%s; Path=/; "
	    "Max-Age=%d; HttpOnly; SameSite=Lax%s\r\n", msg, mac,
	    SESSION_DAYS * 86400,
	    strncmp(cfg.base_url, "https:", 6) == 0 ? "; Secure" : "");
	log_ev(LOG_INFO, "login", "{sI}", "user", (json_int_t)r->u.id);
	redirect(r, "/", cookie);
out:
	form_free(&f);
	buf_free(&body);
}

void
route_logout(struct req *r)
{
	struct form f = { .n = 0 };
	struct buf body;
	char err[256];

	buf_init(&body, FORM_MAX_BODY);
	if (read_body(r, &body, FORM_MAX_BODY) == -1)
		goto out;
	if (parse_urlencoded(body.data, body.len, &f, err, sizeof(err)) == -1) {
		respond_error(r, 400, NULL, NULL, "%s", err);
		goto out;
	}
	if (csrf_check(r, &f) == -1)
		goto out;
	redirect(r, "/login", "Set-Cookie: " COOKIE "=; Path=/; Max-Age=0; "
	    "HttpOnly; SameSite=Lax\r\n");
out:
	form_free(&f);
	buf_free(&body);
}
