/*
 * Who is asking: an API key (Authorization: Bearer KEY, stored only as
 * its SHA-256), a session cookie set by the login page (a random id whose
 * SHA-256 names a row of the sessions table: lib/session.c), or, when the
 * web server authenticates (cfg.trust_remote_user), REMOTE_USER.  CSRF
 * tokens are HMAC-SHA256 under a secret kept in cfg.session_secret_file,
 * generated on first start, in a directory only this user can enter.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
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
#include "session.h"
#include "extern.h"

/* Over https the cookies are named with the __Host- prefix: a browser
 * then keeps them only from a secure origin, with Path=/ and no Domain,
 * so neither a plain-http page nor a neighbouring host can plant one. */
#define COOKIE		"cm_session"
#define LOGIN_COOKIE	"cm_login"
#define HOST_PREFIX	"__Host-"

static unsigned char	secret[32];

/* A user's name for messages: from the password database, else "uid N". */
static void
owner_name(uid_t uid, char *out, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(out, len, "%s", pw->pw_name);
	else
		snprintf(out, len, "uid %u", (unsigned)uid);
}

/*
 * The secret WHAT ("directory" or "file") at PATH, with ST, must belong to
 * the user this process runs as and be closed to group and others: one
 * that someone else made first, or can write into, could hold a secret
 * they know.  MODE is what it should be ("700").  0, or -1 with ERR.
 */
static int
secret_private(const char *what, const char *path, const struct stat *st,
    const char *mode, char *err, size_t errlen)
{
	char owner[64], self[64];

	if (st->st_uid != geteuid()) {
		owner_name(st->st_uid, owner, sizeof(owner));
		owner_name(geteuid(), self, sizeof(self));
		seterr(err, errlen, "the secret %s %s belongs to %s, not to %s "
		    "(the user clipmill.fcgi runs as): another user could have "
		    "put a secret they know there; remove it, or give it to %s "
		    "with mode 0%s", what, path, owner, self, self, mode);
		return -1;
	}
	if ((st->st_mode & 077) != 0) {
		seterr(err, errlen, "the secret %s %s has mode %04o, open to "
		    "other users; make it 0%s (chmod %s %s)", what, path,
		    (unsigned)(st->st_mode & 07777), mode, mode, path);
		return -1;
	}
	return 0;
}

/* The secret directory DIR, made (mode 0700) when missing, and the secret
 * file PATH in it when it exists: as secret_private() says. */
static int
secret_check(const char *dir, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(dir, &st) == -1 && errno == ENOENT &&
	    mkdir_p(dir, 0700) == -1) {
		seterr(err, errlen, "cannot create the secret directory %s: %s",
		    dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1) {
		seterr(err, errlen, "cannot use the secret directory %s: %s",
		    dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		seterr(err, errlen, "the secret directory %s is not a directory",
		    dir);
		return -1;
	}
	if (secret_private("directory", dir, &st, "700", err, errlen) == -1)
		return -1;
	if (lstat(path, &st) == -1)
		return 0;	/* missing: made at start; else reading says why */
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "the secret file %s is not a plain file",
		    path);
		return -1;
	}
	return secret_private("file", path, &st, "600", err, errlen);
}

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

/* First start: write a new secret to a temporary file (mode 0600) and
 * link it into place, so that two processes starting at once agree.  0,
 * or -1 with ERR. */
static int
make_secret(const char *path, char *err, size_t errlen)
{
	char tmp[4200], hex[66];
	unsigned char raw[32];
	int fd, i;

	if (random_bytes(raw, sizeof(raw)) == -1) {
		seterr(err, errlen, "cannot read random bytes");
		return -1;
	}
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[64] = '\n';
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
	return 0;
}

int
auth_init(char *err, size_t errlen)
{
	const char *path = cfg.session_secret_file;
	char dir[4096], *slash;
	int rc;

	if (*path == '\0') {
		seterr(err, errlen, "session_secret_file is empty: name a file "
		    "in a directory only clipmill.fcgi's user can enter");
		return -1;
	}
	if (xsnprintf(dir, sizeof(dir), "%s", path) == -1) {
		seterr(err, errlen, "session_secret_file path too long");
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (secret_check(dir, path, err, errlen) == -1)
		return -1;
	if ((rc = load_secret(path, err, errlen)) == 0)
		return 0;
	if (rc == -2 || errno != ENOENT) {
		if (rc == -1)
			seterr(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if (make_secret(path, err, errlen) == -1)
		return -1;
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

/*
 * 1 when the request came over https: the web server says so (HTTPS, as
 * nginx's fastcgi_params and Apache pass it), a proxy in front of it does
 * (X-Forwarded-Proto), or base_url is an https address.  Any of them only
 * ever adds Secure and the __Host- prefix: a plain-http client that claims
 * https gets a cookie its browser will not keep.
 */
static int
is_https(struct req *r)
{
	const char *v;

	if (strncmp(cfg.base_url, "https:", 6) == 0)
		return 1;
	if ((v = param(r, "HTTPS")) != NULL && strcasecmp(v, "on") == 0)
		return 1;
	return (v = param(r, "HTTP_X_FORWARDED_PROTO")) != NULL &&
	    strcasecmp(v, "https") == 0;
}

/* Cookie NAME as this request calls it, into OUT (at least 32 bytes). */
static const char *
cookie_name(struct req *r, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s%s", is_https(r) ? HOST_PREFIX : "", name);
	return out;
}

/* The session id the request's cookie carries, into ID; 0, or -1 when
 * there is none of the right form. */
static int
session_cookie(struct req *r, char id[SESSION_ID_LEN + 1])
{
	char name[32];
	const char *h;

	if ((h = param(r, "HTTP_COOKIE")) == NULL ||
	    cookie_get(h, cookie_name(r, COOKIE, name, sizeof(name)), id,
	    SESSION_ID_LEN + 1) != 0 || !session_id_valid(id))
		return -1;
	return 0;
}

/*
 * Look a user up by column = value with the prepared statement NAME (SQL):
 * 0 found, 1 not, -1 after 503.  A found one is kept (authcache.c) under
 * KIND and VALUE.
 */
static int
find_user(struct req *r, int kind, const char *name, const char *sql,
    const char *value)
{
	const char *p[1] = { value };
	unsigned long gen;
	char err[512];
	PGresult *res;
	PGconn *c;

	if (ac_get(kind, value, &r->u.id, r->u.name, sizeof(r->u.name), &gen))
		return 0;
	if ((c = req_db(r)) == NULL)
		return -1;
	if ((res = db_exec_prepared(c, err, sizeof(err), name, sql, 1,
	    p)) == NULL) {
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
	ac_put(kind, value, r->u.id, r->u.name, cfg.auth_cache_ttl, gen);
	return 0;
}

/* The user whose API key is KEY (its hash into HASH); as find_user(). */
static int
by_key(struct req *r, const char *key, char hash[65])
{
	sha256_hex(key, strlen(key), hash);
	return find_user(r, 'k', "auth_by_key", "SELECT id, name FROM users "
	    "WHERE key_hash = $1 AND NOT disabled", hash);
}

/*
 * The user of the live session ID into r->u: 0, 1 when there is none
 * (unknown, ended, expired, or its user disabled), -1 after 503.  Every
 * session check goes through here; a kept answer lasts until the session
 * expires or its last_seen is due, and at most auth_cache_ttl (logout,
 * disable and rotate-key end sessions in the table, from any process,
 * and the NOTIFY of sql/009 makes every process forget them).
 */
static int
session_user(struct req *r, const char *id)
{
	char err[512];
	unsigned long gen;
	long long live = 0;
	PGconn *c;
	int rc;

	if (ac_get('s', id, &r->u.id, r->u.name, sizeof(r->u.name), &gen))
		return 0;
	if ((c = req_db(r)) == NULL)
		return -1;
	rc = session_lookup(c, id, &r->u.id, r->u.name, sizeof(r->u.name),
	    &live, err, sizeof(err));
	if (rc == -1)
		db_fail(r, err);
	else if (rc == 0)
		ac_put('s', id, r->u.id, r->u.name, live, gen);
	return rc;
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
	char uid[24], hash[65], sid[SESSION_ID_LEN + 1];
	int rc;

	memset(&r->u, 0, sizeof(r->u));
	if ((h = param(r, "HTTP_AUTHORIZATION")) != NULL &&
	    strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
		if (strlen(h) > 200)
			return 1;
		if ((rc = by_key(r, h, hash)) != 0) {
			memset(&r->u, 0, sizeof(r->u));
			return rc;
		}
		r->u.via = AUTH_BEARER;
		snprintf(uid, sizeof(uid), "%lld", r->u.id);
		set_csrf(&r->u, uid);
		return 0;
	}
	if (session_cookie(r, sid) == 0) {
		if ((rc = session_user(r, sid)) == -1) {
			memset(&r->u, 0, sizeof(r->u));
			return -1;
		}
		if (rc == 0) {
			/* the form token is bound to this session alone */
			r->u.via = AUTH_SESSION;
			set_csrf(&r->u, sid);
			return 0;
		}
		memset(&r->u, 0, sizeof(r->u));
	}
	if (cfg.trust_remote_user && (ru = remote_user(r)) != NULL &&
	    *ru != '\0') {
		if ((rc = find_user(r, 'r', "auth_by_name", "SELECT id, name "
		    "FROM users WHERE name = $1 AND NOT disabled", ru)) != 0) {
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

/* The login nonce from the request's cookie; 0, or -1 when there is no
 * well-formed one. */
static int
login_nonce(struct req *r, char nonce[33])
{
	char name[32];
	const char *h;

	if ((h = param(r, "HTTP_COOKIE")) == NULL ||
	    cookie_get(h, cookie_name(r, LOGIN_COOKIE, name, sizeof(name)),
	    nonce, 33) != 0 || strlen(nonce) != 32 ||
	    strspn(nonce, "0123456789abcdef") != 32)
		return -1;
	return 0;
}

/* The nonce from the request's cookie when it has a well-formed one, else
 * a new one; with its token.  0, or -1 when no random bytes. */
int
login_token(struct req *r, char nonce[33], char token[65], int *fresh)
{
	unsigned char raw[16];
	char msg[64];
	int i;

	*fresh = 0;
	if (login_nonce(r, nonce) == -1) {
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

/* The Set-Cookie line for a fresh login nonce, into OUT.  Over https the
 * __Host- prefix requires Path=/; over http it is sent to /login only. */
void
login_cookie(struct req *r, const char *nonce, char *out, size_t len)
{
	if (is_https(r))
		snprintf(out, len, "Set-Cookie: " HOST_PREFIX LOGIN_COOKIE
		    "=%s; Path=/; HttpOnly; SameSite=Strict; Secure\r\n",
		    nonce);
	else
		snprintf(out, len, "Set-Cookie: " LOGIN_COOKIE "=%s; "
		    "Path=/login; HttpOnly; SameSite=Strict\r\n", nonce);
}

/* 1 when the posted form's token matches the request's nonce cookie. */
static int
login_token_ok(struct req *r, const struct form *f)
{
	char nonce[33], token[65], msg[64];
	const char *t;

	if (login_nonce(r, nonce) == -1 || (t = form_get(f, "csrf")) == NULL ||
	    strlen(t) != 64)
		return 0;
	snprintf(msg, sizeof(msg), "login|%s", nonce);
	mac_hex(msg, token);
	return CRYPTO_memcmp(t, token, 64) == 0;
}

/* The Set-Cookie line for session ID (NULL: the one that clears it). */
static void
session_set_cookie(struct req *r, const char *id, char *out, size_t len)
{
	char name[32];
	int https = is_https(r);

	cookie_name(r, COOKIE, name, sizeof(name));
	snprintf(out, len, "Set-Cookie: %s=%s; Path=/; Max-Age=%d; HttpOnly; "
	    "SameSite=Lax%s\r\n", name, id != NULL ? id : "",
	    id != NULL ? SESSION_DAYS * 86400 : 0, https ? "; Secure" : "");
}

void
route_login_get(struct req *r)
{
	page_login(r, NULL);
}

/* Answer a refused login: STATUS with FIELD and MSG in JSON, or the
 * login page with PAGE_MSG. */
static void
login_refused(struct req *r, int status, const char *field, const char *msg,
    const char *page_msg)
{
	r->status = status;
	if (r->json)
		respond_error(r, status, field, NULL, "%s", msg);
	else
		page_login(r, page_msg);
}

/* Start a session for r->u, whose key hashes to HASH, and send the
 * browser home with its cookie; 1 when the key was changed or the user
 * disabled meanwhile, -1 after 503. */
static int
login_session(struct req *r, const char *hash)
{
	char err[512], sid[SESSION_ID_LEN + 1], cookie[256];
	PGconn *c;
	int rc;

	if ((c = req_db(r)) == NULL)
		return -1;
	/* expired sessions of anyone go now; lookups refuse them anyway */
	if (session_sweep(c, err, sizeof(err)) == -1 ||
	    (rc = session_create(c, r->u.id, hash, sid, err,
	    sizeof(err))) == -1) {
		db_fail(r, err);
		return -1;
	}
	if (rc == 1)
		return 1;
	session_set_cookie(r, sid, cookie, sizeof(cookie));
	log_ev(LOG_INFO, "login", "{sI}", "user", (json_int_t)r->u.id);
	redirect(r, "/", cookie);
	return 0;
}

void
route_login_post(struct req *r)
{
	struct form f = { .n = 0 };
	struct buf body;
	char err[256], hash[65];
	const char *key;
	int rc;

	buf_init(&body, FORM_MAX_BODY);
	if (read_body(r, &body, FORM_MAX_BODY) == -1)
		goto out;
	if (parse_urlencoded(body.data, body.len, &f, err, sizeof(err)) == -1 ||
	    (key = form_get(&f, "key")) == NULL || *key == '\0') {
		login_refused(r, 400, "key", "is required",
		    "Enter your API key.");
		goto out;
	}
	if (!login_token_ok(r, &f)) {
		log_ev(LOG_INFO, "login_csrf_refused", NULL);
		login_refused(r, 403, "csrf", "the login form's security token "
		    "is missing or stale: load /login and try again",
		    "The form had expired. Please try again.");
		goto out;
	}
	if ((rc = by_key(r, key, hash)) == 0)
		rc = login_session(r, hash);
	if (rc == 1) {
		memset(&r->u, 0, sizeof(r->u));
		log_ev(LOG_INFO, "login_failed", NULL);
		login_refused(r, 401, "key", "is not a valid API key",
		    "That key is not valid.");
	}
out:
	form_free(&f);
	buf_free(&body);
}

void
route_logout(struct req *r)
{
	struct form f = { .n = 0 };
	struct buf body;
	char err[512], sid[SESSION_ID_LEN + 1], cookie[256];
	PGconn *c;

	buf_init(&body, FORM_MAX_BODY);
	if (read_body(r, &body, FORM_MAX_BODY) == -1)
		goto out;
	if (parse_urlencoded(body.data, body.len, &f, err, sizeof(err)) == -1) {
		respond_error(r, 400, NULL, NULL, "%s", err);
		goto out;
	}
	if (csrf_check(r, &f) == -1)
		goto out;
	/* The row goes, not only the browser's copy: the same cookie sent
	 * again (a copy, a stolen one) is refused from now on. */
	if (r->u.via == AUTH_SESSION && session_cookie(r, sid) == 0) {
		if ((c = req_db(r)) == NULL)
			goto out;
		if (session_end(c, sid, err, sizeof(err)) == -1) {
			db_fail(r, err);
			goto out;
		}
		/* this process forgets it now; the others on the NOTIFY */
		ac_forget(r->u.id);
		log_ev(LOG_INFO, "logout", "{sI}", "user", (json_int_t)r->u.id);
	}
	session_set_cookie(r, NULL, cookie, sizeof(cookie));
	redirect(r, "/login", cookie);
out:
	form_free(&f);
	buf_free(&body);
}
