/*
 * Direct media downloads with libcurl.
 *
 * The address policy (lib/netpolicy.c) is enforced where the socket is opened
 * (CURLOPT_OPENSOCKETFUNCTION): curl hands us each address it is about to
 * connect to, after DNS and after every redirect, so neither a redirect nor
 * a DNS answer pointing inside can slip past a check made on the URL text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "fetch.h"
#include "log.h"
#include "runner/stage.h"
#include "util.h"

struct dl {
	struct task_ctx	*ctx;
	const char	*path;
	FILE		*fp;
	int		 allow_page;
	int		 decided;	/* the response was judged (first body byte) */
	int		 not_media;
	int		 too_big;
	int		 blocked;
	int		 urlport;	/* the user's URL's port */
	int		 blocked_port;	/* a port the rule refused */
	int		 cancelled;
	int		 write_err;
	long		 status;
	char		 blocked_addr[INET6_ADDRSTRLEN];
	char		 ctype[128];
	curl_off_t	 got;
	curl_off_t	 max;
	CURL		*curl;
};

static curl_socket_t
open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct dl *d = clientp;
	const void *ip;
	int port;

	(void)purpose;
	port = ntohs(a->family == AF_INET6 ?
	    ((struct sockaddr_in6 *)(void *)&a->addr)->sin6_port :
	    ((struct sockaddr_in *)(void *)&a->addr)->sin_port);
	if (!fetch_port_allowed(port, d->urlport)) {
		d->blocked_port = port;
		return CURL_SOCKET_BAD;
	}
	if (!fetch_addr_allowed(&a->addr)) {
		d->blocked = 1;
		ip = a->family == AF_INET6 ?
		    (const void *)&((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr :
		    (const void *)&((struct sockaddr_in *)(void *)&a->addr)->sin_addr;
		inet_ntop(a->family, ip, d->blocked_addr, sizeof(d->blocked_addr));
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static int
media_type(const char *ct)
{
	return strncasecmp(ct, "video/", 6) == 0 ||
	    strncasecmp(ct, "audio/", 6) == 0 ||
	    strncasecmp(ct, "application/mp4", 15) == 0 ||
	    strncasecmp(ct, "application/x-matroska", 22) == 0 ||
	    strncasecmp(ct, "application/octet-stream", 24) == 0 ||
	    strncasecmp(ct, "binary/octet-stream", 19) == 0;
}

/* Judge the final response on its first body byte: a media type with a
 * 2xx status is downloaded; anything else is left to the caller. */
static int
decide(struct dl *d)
{
	char *ct = NULL;

	d->decided = 1;
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &d->status);
	curl_easy_getinfo(d->curl, CURLINFO_CONTENT_TYPE, &ct);
	if (ct != NULL)
		snprintf(d->ctype, sizeof(d->ctype), "%s", ct);
	if (d->status < 200 || d->status > 299)
		return -1;
	if (d->allow_page && ct != NULL && !media_type(ct)) {
		d->not_media = 1;
		return -1;
	}
	if ((d->fp = fopen(d->path, "wbx")) == NULL) {
		d->write_err = errno;
		return -1;
	}
	return 0;
}

static size_t
write_body(char *p, size_t size, size_t n, void *userp)
{
	struct dl *d = userp;
	size_t len = size * n;

	if (!d->decided && decide(d) == -1)
		return 0;
	if (d->fp == NULL)
		return 0;
	if (d->got + (curl_off_t)len > d->max) {
		d->too_big = 1;
		return 0;
	}
	if (fwrite(p, 1, len, d->fp) != len) {
		d->write_err = errno;
		return 0;
	}
	d->got += (curl_off_t)len;
	return len;
}

static int
progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct dl *d = userp;
	int pct = 0;

	(void)ultotal;
	(void)ulnow;
	if (dltotal > 0)
		pct = (int)(dlnow * 100 / dltotal);
	if (task_progress(d->ctx, pct > 100 ? 100 : pct,
	    "downloading: %.1f of %.1f MB", (double)dlnow / 1e6,
	    (double)dltotal / 1e6)) {
		d->cancelled = 1;
		return 1;
	}
	return 0;
}

static enum fetch_rc
status_error(long st, char *err, size_t errlen)
{
	if (st == 401 || st == 403) {
		seterr(err, errlen, "The server refused access to the video "
		    "(HTTP %ld).", st);
		return FETCH_PERMANENT;
	}
	if (st == 404 || st == 410) {
		seterr(err, errlen, "The video was not found at that address "
		    "(HTTP %ld): it may have been removed.", st);
		return FETCH_PERMANENT;
	}
	if (st == 429 || st >= 500) {
		seterr(err, errlen, "The server is busy or failing "
		    "(HTTP %ld); will try again.", st);
		return FETCH_TRANSIENT;
	}
	seterr(err, errlen, "The server answered HTTP %ld instead of the "
	    "video.", st);
	return FETCH_PERMANENT;
}

/* URL is an http or https URL: FETCH_OK, or FETCH_PERMANENT with ERR. */
static enum fetch_rc
check_scheme(const char *url, char *err, size_t errlen)
{
	CURLU *u;
	char *scheme = NULL;
	enum fetch_rc rc = FETCH_PERMANENT;

	if ((u = curl_url()) == NULL || curl_url_set(u, CURLUPART_URL, url, 0) !=
	    CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) !=
	    CURLUE_OK)
		seterr(err, errlen, "The address is not a valid URL.");
	else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		seterr(err, errlen, "Only http and https addresses can be "
		    "fetched, not %s.", scheme);
	else
		rc = FETCH_OK;
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

/* The handle's options for a download of URL into D; curl's own words on
 * failure go to EBUF. */
static void
setup(CURL *c, struct dl *d, const char *url, char *ebuf)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)cfg.max_redirects);
	/* No proxy from the environment: the policy must see the real peer. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, d);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, d->max);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg.fetch_timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled server (under 1 byte/s for a minute) is a failure. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "clipmill/1 (+libcurl)");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
}

/* A transfer that failed with curl code CC (not a status, not ours). */
static enum fetch_rc
code_error(CURLcode cc, const char *ebuf, char *err, size_t errlen)
{
	switch (cc) {
	case CURLE_TOO_MANY_REDIRECTS:
		seterr(err, errlen, "The address redirects too many times "
		    "(more than %lld).", cfg.max_redirects);
		return FETCH_PERMANENT;
	case CURLE_UNSUPPORTED_PROTOCOL:
		seterr(err, errlen, "The address redirects to something "
		    "other than http or https.");
		return FETCH_PERMANENT;
	case CURLE_COULDNT_RESOLVE_HOST:
		seterr(err, errlen, "The host name in the address could "
		    "not be found.");
		return FETCH_TRANSIENT;
	case CURLE_OPERATION_TIMEDOUT:
		seterr(err, errlen, "The download took too long "
		    "(limit %lld s) or stalled.", cfg.fetch_timeout);
		return FETCH_TRANSIENT;
	case CURLE_PEER_FAILED_VERIFICATION:
		seterr(err, errlen, "The site's TLS certificate could not "
		    "be verified.");
		return FETCH_PERMANENT;
	default:
		seterr(err, errlen, "The download failed: %s.",
		    *ebuf ? ebuf : curl_easy_strerror(cc));
		return FETCH_TRANSIENT;
	}
}

/* The verdict on a finished transfer D (curl code CC) into PATH. */
static enum fetch_rc
verdict(const struct dl *d, CURLcode cc, const char *ebuf, const char *path,
    char *err, size_t errlen)
{
	enum fetch_rc rc;

	/* A name may resolve to several addresses: a refused one only
	 * matters when no other one could be reached. */
	if (d->blocked_port && cc == CURLE_COULDNT_CONNECT) {
		char why[128];

		fetch_port_refusal(d->blocked_port, d->urlport, why, sizeof(why));
		seterr(err, errlen, "The address is not allowed: %s.", why);
		return FETCH_PERMANENT;
	}
	if (d->blocked && cc == CURLE_COULDNT_CONNECT) {
		seterr(err, errlen, "The address %s is on a private or local "
		    "network; fetching from it is not allowed.", d->blocked_addr);
		return FETCH_PERMANENT;
	}
	if (d->cancelled) {
		seterr(err, errlen, "The download was cancelled.");
		return FETCH_CANCELLED;
	}
	if (d->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		seterr(err, errlen, "The file is too large: the limit is %lld MB.",
		    cfg.max_download_mb);
		return FETCH_PERMANENT;
	}
	if (d->not_media) {
		seterr(err, errlen, "The address is a web page (%s), not a "
		    "media file.", d->ctype);
		return FETCH_NOT_MEDIA;
	}
	if (cc == CURLE_OK && d->status == 0) {
		seterr(err, errlen, "The server sent no answer.");
		return FETCH_TRANSIENT;
	}
	if (d->status != 0 && (d->status < 200 || d->status > 299) &&
	    (cc == CURLE_OK || cc == CURLE_WRITE_ERROR)) {
		rc = status_error(d->status, err, errlen);
		return d->allow_page && d->status != 429 && d->status < 500 ?
		    FETCH_NOT_MEDIA : rc;
	}
	if (d->write_err) {
		seterr(err, errlen, "cannot write the download: %s",
		    strerror(d->write_err));
		return FETCH_TRANSIENT;
	}
	if (cc != CURLE_OK)
		return code_error(cc, ebuf, err, errlen);
	if (!d->decided) {	/* an empty body: the probe says so */
		FILE *f = fopen(path, "wbx");

		if (f == NULL || fclose(f) != 0) {
			seterr(err, errlen, "cannot write the download: %s",
			    strerror(errno));
			return FETCH_TRANSIENT;
		}
	}
	return FETCH_OK;
}

enum fetch_rc
fetch_curl(struct task_ctx *ctx, const char *url, const char *path,
    int allow_page, char *ctype, size_t ctypelen, char *err, size_t errlen)
{
	struct dl d;
	CURL *c;
	CURLcode cc;
	char ebuf[CURL_ERROR_SIZE] = "";
	enum fetch_rc rc;

	memset(&d, 0, sizeof(d));
	d.ctx = ctx;
	d.path = path;
	d.allow_page = allow_page;
	d.urlport = fetch_url_port(url);
	d.max = (curl_off_t)cfg.max_download_mb * 1024 * 1024;
	if ((rc = check_scheme(url, err, errlen)) != FETCH_OK) {
		unlink(path);
		return rc;
	}
	if ((c = d.curl = curl_easy_init()) == NULL) {
		seterr(err, errlen, "out of memory");
		unlink(path);
		return FETCH_TRANSIENT;
	}
	setup(c, &d, url, ebuf);
	cc = curl_easy_perform(c);
	if (d.fp != NULL && fclose(d.fp) != 0 && cc == CURLE_OK)
		d.write_err = errno;
	d.fp = NULL;
	if (!d.decided)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &d.status);
	if (ctype != NULL)
		snprintf(ctype, ctypelen, "%s", d.ctype);
	rc = verdict(&d, cc, ebuf, path, err, errlen);
	log_ev(rc == FETCH_OK ? LOG_INFO : LOG_WARN, "fetch_curl",
	    "{sssIsisi}", "url", url, "bytes", (json_int_t)d.got,
	    "status", (int)d.status, "rc", (int)rc);
	if (rc != FETCH_OK)
		unlink(path);
	curl_easy_cleanup(c);
	return rc;
}
