/*
 * clipmill doctor: check the set-up and say what is wrong, one line per
 * check ("ok", "FAIL" or "skip", the check's name, then what was found or
 * what to do).  Exit 0 when nothing failed, 1 otherwise.
 *
 * Run it as the user the runners and the web front run as (clipmill for
 * the Debian package): the store and scratch checks test that user's
 * rights.
 */
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "media/face_cv.h"
#include "stages/transcribe/asr.h"

#define MIN_FREE_MB	2048	/* scratch: a source and a render's files */
#define RECENT_S	300	/* "seen recently": the last five minutes */
#define RUNNER_WAIT_S	8	/* cron's runners leave a gap each minute */
#define NET_TIMEOUT_S	15
#define FCGI_ANSWER_MAX	(64 * 1024)

enum { OK, FAIL, SKIP };

static int nfail;

/* Print one check's line on stdout; a FAIL is counted. */
static void __attribute__((format(printf, 3, 4)))
say(int status, const char *what, const char *fmt, ...)
{
	static const char *const word[] = { "ok", "FAIL", "skip" };
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("%-4s %s: ", word[status], what);
	cli_put_line(stdout, msg);
	if (status == FAIL)
		nfail++;
}

/* The first 12 hex digits of PATH's SHA-256 into OUT[13]: a model's
 * version as far as a file can tell.  0, or -1 with errno. */
static int
file_digest(const char *path, char out[13])
{
	unsigned char md[EVP_MAX_MD_SIZE], chunk[65536];
	unsigned int mdlen, i;
	EVP_MD_CTX *x;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((x = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (EVP_DigestUpdate(x, chunk, (size_t)n) != 1)
			goto out;
	if (n == 0 && EVP_DigestFinal_ex(x, md, &mdlen) == 1 && mdlen >= 6) {
		for (i = 0; i < 6; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
		rc = 0;
	}
out:
	EVP_MD_CTX_free(x);
	close(fd);
	return rc;
}

/* The configuration parses: 0, or -1 (nothing else can be checked). */
static int
check_config(const char *conf)
{
	const char *path = conf;
	char err[1024];

	if (path == NULL && (path = getenv("CLIPMILL_CONF")) == NULL)
		path = SYSCONFDIR "/clipmill.conf";
	if (config_load(conf, err, sizeof(err)) == -1) {
		say(FAIL, "config", "%s; correct it (see clipmill.conf(5))", err);
		return -1;
	}
	if (access(path, F_OK) == -1)
		say(OK, "config", "%s does not exist: every option is at its "
		    "default", path);
	else
		say(OK, "config", "%s parses", path);
	return 0;
}

/* PostgreSQL answers and its schema is this version's: the connection
 * (the caller closes it) with *SCHEMA_OK set, or NULL. */
static PGconn *
check_database(int *schema_ok)
{
	char err[1024];
	PGconn *c;

	*schema_ok = 0;
	if (*cfg.database_url == '\0') {
		say(FAIL, "database", "database_url is not set: name the "
		    "PostgreSQL database in clipmill.conf");
		return NULL;
	}
	if ((c = db_connect(err, sizeof(err))) == NULL) {
		say(FAIL, "database", "%s; is PostgreSQL running, and is "
		    "database_url right?", err);
		return NULL;
	}
	if (db_check_schema(c, err, sizeof(err)) == -1) {
		say(FAIL, "database", "%s", err);
		return c;
	}
	*schema_ok = 1;
	say(OK, "database", "connected; the schema is at version %d",
	    migrations[n_migrations - 1].version);
	return c;
}

/* Put PROBE into the store under a key of its own, read it back into
 * DIR/back and delete it: 0, or -1 with ERR naming the step that failed. */
static int
store_probe(struct store *s, const char *dir, char *err, size_t errlen)
{
	static const char probe[] = "clipmill doctor probe\n";
	char in[4096], back[4096], key[64], e[1024], *got = NULL;
	FILE *f;
	int rc = -1;

	if (xsnprintf(in, sizeof(in), "%s/probe", dir) == -1 ||
	    xsnprintf(back, sizeof(back), "%s/back", dir) == -1 ||
	    xsnprintf(key, sizeof(key), "doctor-probe-%ld-%lld",
	    (long)getpid(), now_ms()) == -1) {
		seterr(err, errlen, "the temporary directory's path is too long");
		return -1;
	}
	if ((f = fopen(in, "w")) == NULL || fputs(probe, f) == EOF ||
	    fclose(f) == EOF) {
		seterr(err, errlen, "cannot write %s: %s", in, strerror(errno));
		return -1;
	}
	if (store_put(s, key, in, "text/plain", e, sizeof(e)) != STORE_OK) {
		seterr(err, errlen, "cannot put a probe object: %s", e);
		goto out;
	}
	if (store_get(s, key, back, e, sizeof(e)) != STORE_OK)
		seterr(err, errlen, "cannot read the probe object back: %s", e);
	else if ((got = read_small_file(back, sizeof(probe), 0)) == NULL ||
	    strcmp(got, probe) != 0)
		seterr(err, errlen, "the probe object came back changed");
	else
		rc = 0;
	if (store_delete(s, key, e, sizeof(e)) != STORE_OK) {
		seterr(err, errlen, "cannot delete the probe object %s: %s",
		    key, e);
		rc = -1;
	}
out:
	free(got);
	unlink(back);
	unlink(in);
	return rc;
}

/* The store takes a put, a get and a delete. */
static void
check_store(void)
{
	char dir[] = "/tmp/clipmill-doctor.XXXXXX", err[1024];
	const char *where;
	struct store *s;

	where = strcmp(cfg.store, "s3") == 0 ? cfg.s3_bucket : cfg.store_dir;
	if ((s = store_open(err, sizeof(err))) == NULL) {
		say(FAIL, "store", "%s", err);
		return;
	}
	if (mkdtemp(dir) == NULL) {
		say(FAIL, "store", "cannot make a temporary directory in /tmp: "
		    "%s", strerror(errno));
	} else {
		if (store_probe(s, dir, err, sizeof(err)) == -1)
			say(FAIL, "store", "%s store %s: %s; it must be writable "
			    "by this user", cfg.store, where, err);
		else
			say(OK, "store", "%s store %s: a probe object was put, "
			    "read back and deleted", cfg.store, where);
		rmdir(dir);
	}
	store_close(s);
}

/* Scratch exists, is writable, and has MIN_MB free. */
static void
check_scratch(long long min_mb)
{
	struct statvfs st;
	long long free_mb;

	if (statvfs(cfg.scratch_dir, &st) == -1) {
		say(FAIL, "scratch", "%s: %s; create it, writable by the "
		    "runners' user (scratch_dir)", cfg.scratch_dir,
		    strerror(errno));
		return;
	}
	free_mb = (long long)(st.f_bavail * st.f_frsize / (1024 * 1024));
	if (access(cfg.scratch_dir, W_OK | X_OK) == -1)
		say(FAIL, "scratch", "%s is not writable by this user; give "
		    "it to the runners' user", cfg.scratch_dir);
	else if (free_mb < min_mb)
		say(FAIL, "scratch", "%s has %lld MB free, under %lld MB: free "
		    "some space or move scratch_dir", cfg.scratch_dir, free_mb,
		    min_mb);
	else
		say(OK, "scratch", "%s: %lld MB free", cfg.scratch_dir, free_mb);
}

/* The face detector's two models, with their digests. */
static void
check_face_models(void)
{
	const char *dir = *cfg.face_model_dir ? cfg.face_model_dir :
	    DATADIR "/blazeface";
	const char *names[] = { FACE_MODEL_FULL, FACE_MODEL_CLOSE };
	char path[4096], d[2][13];
	int i;

	for (i = 0; i < 2; i++) {
		if (xsnprintf(path, sizeof(path), "%s/%s", dir, names[i]) == -1 ||
		    file_digest(path, d[i]) == -1) {
			say(FAIL, "face models", "%s/%s: %s; install the face "
			    "models (the clipmill package, or make deps and make "
			    "install) or set face_model_dir", dir, names[i],
			    strerror(errno));
			return;
		}
	}
	say(OK, "face models", "%s: %s sha256 %s, %s sha256 %s", dir,
	    names[0], d[0], names[1], d[1]);
}

/* The offline speech model, when pocketsphinx transcribes. */
static void
check_speech_model(void)
{
	static const char *const files[] = { "en-us/mdef", "en-us.lm.bin",
	    "cmudict-en-us.dict" };
	const char *md = asr_sphinx_model_dir();
	char path[4096], d[13] = "";
	size_t i;

	if (strcmp(cfg.transcribe_backend, "pocketsphinx") != 0) {
		say(SKIP, "speech model", "transcribe_backend = %s: the offline "
		    "model is not used", cfg.transcribe_backend);
		return;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (xsnprintf(path, sizeof(path), "%s/%s", md, files[i]) == -1 ||
		    file_digest(path, d) == -1) {
			say(FAIL, "speech model", "%s/%s: %s; install the Debian "
			    "package pocketsphinx-en-us or set "
			    "pocketsphinx_model_dir", md, files[i],
			    strerror(errno));
			return;
		}
		if (i == 0)
			say(OK, "speech model", "%s: en-us acoustic model "
			    "sha256 %s", md, d);
	}
}

/* Run yt-dlp --version: its first line into OUT, or -1 with ERR. */
static int
ytdlp_version(char *out, size_t outlen, char *err, size_t errlen)
{
	const char *argv[] = { cfg.ytdlp_path, "--version", NULL };
	struct pollfd pfd;
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int p[2], st;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		seterr(err, errlen, "cannot start it: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (dup2(p[1], 1) == -1)
			_exit(126);
		execv(cfg.ytdlp_path, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (len < outlen - 1 && poll(&pfd, 1, NET_TIMEOUT_S * 1000) == 1 &&
	    (n = read(p[0], out + len, outlen - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (out[0] == '\0') {
		seterr(err, errlen, "%s --version printed nothing (%s)",
		    cfg.ytdlp_path, WIFEXITED(st) && WEXITSTATUS(st) == 127 ?
		    "it is missing" : "it failed");
		return -1;
	}
	return 0;
}

static void
check_ytdlp(void)
{
	char v[128], err[512];

	if (access(cfg.ytdlp_path, X_OK) == -1)
		say(FAIL, "yt-dlp", "%s: %s; install the Debian package yt-dlp "
		    "or set ytdlp_path", cfg.ytdlp_path, strerror(errno));
	else if (ytdlp_version(v, sizeof(v), err, sizeof(err)) == -1)
		say(FAIL, "yt-dlp", "%s", err);
	else
		say(OK, "yt-dlp", "%s version %s", cfg.ytdlp_path, v);
}

/* ---- the FastCGI socket ---- */

/* Append a FastCGI record of TYPE for request 1 to B. */
static void
fcgi_record(struct buf *b, int type, const void *content, size_t len)
{
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1,
	    (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	buf_add(b, h, sizeof(h));
	buf_add(b, content, len);
}

/* Append one FastCGI name-value pair (both under 128 bytes) to B. */
static void
fcgi_param(struct buf *b, const char *name, const char *value)
{
	unsigned char l[2] = { (unsigned char)strlen(name),
	    (unsigned char)strlen(value) };

	buf_add(b, l, 2);
	buf_addstr(b, name);
	buf_addstr(b, value);
}

/* A stream socket connected to SPEC (unix:PATH or HOST:PORT): the fd,
 * or -1 with ERR. */
static int
fcgi_connect(const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_un sun;
	char host[256];
	const char *port;
	int fd = -1;

	if (strncmp(spec, "unix:", 5) == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (xsnprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
		    spec + 5) == -1 ||
		    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			goto fail;
		return fd;
	}
	if ((port = strrchr(spec, ':')) == NULL ||
	    xsnprintf(host, sizeof(host), "%.*s", (int)(port - spec),
	    spec) == -1) {
		seterr(err, errlen, "%s is neither unix:PATH nor HOST:PORT", spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port + 1, &hints, &res) != 0 ||
	    (fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, res->ai_addr, res->ai_addrlen) == -1)
		goto fail;
	freeaddrinfo(res);
	return fd;
fail:
	seterr(err, errlen, "cannot connect to %s: %s", spec, strerror(errno));
	if (res != NULL)
		freeaddrinfo(res);
	if (fd != -1)
		close(fd);
	return -1;
}

/* Read FastCGI records from FD until the request ends, the answer's
 * stdout into OUT: 0, or -1 with ERR. */
static int
fcgi_read(int fd, struct buf *out, char *err, size_t errlen)
{
	unsigned char in[8192 + 8 + 255];
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t have = 0, clen, rlen;
	ssize_t n;

	for (;;) {
		while (have >= 8) {
			clen = (size_t)in[4] << 8 | in[5];
			rlen = 8 + clen + in[6];
			if (have < rlen)
				break;
			if (in[1] == 3)		/* FCGI_END_REQUEST */
				return buf_failed(out) ? -1 : 0;
			if (in[1] == 6 && buf_add(out, in + 8, clen) == -1) {
				seterr(err, errlen, "the answer is too long");
				return -1;
			}
			memmove(in, in + rlen, have - rlen);
			have -= rlen;
		}
		if (poll(&pfd, 1, NET_TIMEOUT_S * 1000) != 1) {
			seterr(err, errlen, "no answer in %d seconds",
			    NET_TIMEOUT_S);
			return -1;
		}
		if ((n = read(fd, in + have, sizeof(in) - have)) <= 0) {
			seterr(err, errlen, "the connection closed before the "
			    "answer ended");
			return -1;
		}
		have += (size_t)n;
	}
}

/* GET /healthz through the FastCGI listener SPEC: the HTTP status (200
 * when the answer names none), or -1 with ERR. */
static int
fcgi_healthz(const char *spec, char *err, size_t errlen)
{
	static const unsigned char begin[8] = { 0, 1 };	/* responder */
	struct buf req, params, out;
	long long status = 200;
	const char *s;
	int fd, rc = -1;

	if ((fd = fcgi_connect(spec, err, errlen)) == -1)
		return -1;
	buf_init(&req, 4096);
	buf_init(&params, 1024);
	buf_init(&out, FCGI_ANSWER_MAX);
	fcgi_param(&params, "REQUEST_METHOD", "GET");
	fcgi_param(&params, "REQUEST_URI", "/healthz");
	fcgi_param(&params, "SCRIPT_NAME", "");
	fcgi_param(&params, "SERVER_PROTOCOL", "HTTP/1.1");
	fcgi_param(&params, "HTTP_ACCEPT", "application/json");
	fcgi_record(&req, 1, begin, sizeof(begin));
	fcgi_record(&req, 4, params.data, params.len);
	fcgi_record(&req, 4, NULL, 0);
	fcgi_record(&req, 5, NULL, 0);
	if (buf_failed(&req) || buf_failed(&params) ||
	    write(fd, req.data, req.len) != (ssize_t)req.len) {
		seterr(err, errlen, "cannot send the request: %s",
		    strerror(errno));
		goto out;
	}
	if (fcgi_read(fd, &out, err, errlen) == -1 || buf_addstr(&out, "") == -1)
		goto out;
	if (strncmp(out.data, "Status: ", 8) == 0 ||
	    (s = strstr(out.data, "\nStatus: ")) != NULL) {
		s = strncmp(out.data, "Status: ", 8) == 0 ? out.data : s + 1;
		status = strtol(s + 8, NULL, 10);
	}
	rc = (int)status;
out:
	buf_free(&req);
	buf_free(&params);
	buf_free(&out);
	close(fd);
	return rc;
}

static void
check_fcgi(const char *spec)
{
	char err[1024];
	int status;

	if (spec == NULL && *cfg.fcgi_listen != '\0')
		spec = cfg.fcgi_listen;
	if (spec == NULL) {
		say(SKIP, "fastcgi", "fcgi_listen is not set: give --socket "
		    "unix:PATH to check clipmill.fcgi's socket");
		return;
	}
	if ((status = fcgi_healthz(spec, err, sizeof(err))) == -1)
		say(FAIL, "fastcgi", "%s: %s; is clipmill.fcgi (or "
		    "clipmill-fcgi.socket) running?", spec, err);
	else if (status != 200)
		say(FAIL, "fastcgi", "%s answers /healthz with HTTP %d; see "
		    "clipmill.fcgi's log", spec, status);
	else
		say(OK, "fastcgi", "%s answers /healthz (HTTP 200)", spec);
}

/* ---- runners and optional services ---- */

/* Runners connected now (by their application_name) and tasks worked on
 * in the last RECENT_S seconds.  A runner idles connected until
 * idle_exit, then the next minute's starts: when none is connected, look
 * again for a few seconds before saying so. */
static void
check_runners(PGconn *c)
{
	static const char q[] =
	    "SELECT (SELECT count(*) FROM pg_stat_activity"
	    "   WHERE datname = current_database() AND application_name = $1),"
	    " (SELECT count(*) FROM tasks WHERE"
	    "   (state = 'running' AND heartbeat_at > now() - make_interval("
	    "    secs => $2::float8))"
	    "   OR finished_at > now() - make_interval(secs => $2::float8))";
	struct db_params dp = { 0 };
	const char *p[2] = { "clipmill-batch", db_param_ll(&dp, RECENT_S) };
	long long conn = 0, recent = 0;
	char err[1024];
	PGresult *r;
	int i;

	for (i = 0; i <= RUNNER_WAIT_S; i++) {
		if (i > 0)
			sleep(1);
		if ((r = db_exec(c, err, sizeof(err), q, 2, p)) == NULL) {
			say(FAIL, "runners", "%s", err);
			return;
		}
		conn = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		recent = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		PQclear(r);
		if (conn > 0 || recent > 0)
			break;
	}
	if (conn == 0 && recent == 0)
		say(FAIL, "runners", "none connected, and no task worked on in "
		    "the last %d minutes: is cron running, with "
		    "/etc/cron.d/clipmill or the crontab installed?",
		    RECENT_S / 60);
	else
		say(OK, "runners", "%lld connected now, %lld task%s worked on "
		    "in the last %d minutes", conn, recent, recent == 1 ? "" :
		    "s", RECENT_S / 60);
}

/* A curl write callback that keeps nothing: only the status counts. */
static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* An OpenAI-compatible endpoint answers GET BASE/models with KEYFILE's
 * key, when USED says a backend needs it (else WHY it is skipped). */
static void
check_endpoint(const char *what, int used, const char *why, const char *base,
    const char *keyfile)
{
	char url[2048], auth[4200], ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	char *key = NULL;
	long status = 0;
	CURLcode cc;
	CURL *c;

	if (!used) {
		say(SKIP, what, "%s", why);
		return;
	}
	if (*keyfile != '\0' &&
	    (key = read_small_file(keyfile, 4096, 1)) == NULL) {
		say(FAIL, what, "cannot read the key file %s: %s", keyfile,
		    strerror(errno));
		return;
	}
	if (xsnprintf(url, sizeof(url), "%s/models", base) == -1 ||
	    (c = curl_easy_init()) == NULL) {
		say(FAIL, what, "%s: the address is too long", base);
		free(key);
		return;
	}
	if (key != NULL && xsnprintf(auth, sizeof(auth),
	    "Authorization: Bearer %s", key) == 0)
		h = curl_slist_append(h, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)NET_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if ((cc = curl_easy_perform(c)) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(key);
	if (cc != CURLE_OK)
		say(FAIL, what, "%s: %s", url, *ebuf ? ebuf :
		    curl_easy_strerror(cc));
	else if (status != 200)
		say(FAIL, what, "%s answered HTTP %ld; check the address and "
		    "the key file", url, status);
	else
		say(OK, what, "%s answers (HTTP 200)", url);
}

int
cli_doctor(const char *conf, int argc, char **argv)
{
	const char *sock = NULL;
	long long min_mb = MIN_FREE_MB;
	int i, schema_ok;
	PGconn *c;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "--min-free") == 0 && i + 1 < argc) {
			if (parse_ll(argv[++i], 0, 1LL << 40, &min_mb) == -1)
				return cli_usage("doctor", "--min-free takes a "
				    "number of megabytes, not \"%s\"", argv[i]);
		} else
			return cli_usage("doctor", "unknown argument \"%s\"",
			    argv[i]);
	}
	if (check_config(conf) == -1)
		return CLI_FAIL;
	log_init(cfg.log_level, NULL);
	c = check_database(&schema_ok);
	check_store();
	check_scratch(min_mb);
	check_face_models();
	check_speech_model();
	check_ytdlp();
	check_fcgi(sock);
	if (c != NULL && schema_ok)
		check_runners(c);
	else
		say(SKIP, "runners", "the database must be right first");
	if (c != NULL)
		PQfinish(c);
	check_endpoint("openai", strcmp(cfg.transcribe_backend, "openai") == 0,
	    "transcribe_backend is not openai", cfg.openai_base_url,
	    cfg.openai_key_file);
	check_endpoint("llm", strcmp(cfg.select_backend, "llm") == 0,
	    "select_backend is not llm", cfg.llm_base_url, cfg.llm_key_file);
	return nfail == 0 ? CLI_OK : CLI_FAIL;
}
