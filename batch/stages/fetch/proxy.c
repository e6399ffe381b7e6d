/*
 * The proxy yt-dlp goes through, so that its connections are held to the
 * same address policy as libcurl's (lib/netpolicy.c).
 *
 * yt-dlp is a program of its own: the one place its connections can be
 * checked from here is a proxy it is told to use.  fetch_ytdlp() starts one
 * per download, on 127.0.0.1 and an ephemeral port, and stops it once
 * yt-dlp has exited.  It takes "CONNECT host:port" (https) and
 * absolute-form http requests ("GET http://host/..."), resolves the host
 * itself, checks every address before connecting to it, and answers 403
 * with the reason when none may be reached.  So neither a redirect, nor a
 * media URL the extractor found on a public page, nor a DNS answer that
 * changed since the first check can reach an internal address: the proxy
 * connects to exactly the address it checked.  Only ports 80, 443 and the
 * port of the URL the user gave may be reached.
 *
 * Other local users can connect to 127.0.0.1 too, so a random token is
 * required as the proxy credentials (Proxy-Authorization: Basic); the
 * caller hands the URL holding it to yt-dlp on its standard input, not
 * on its command line, which anyone on the machine can read.
 *
 * One thread accepts; one thread per connection (at most PROXY_MAX_CONNS)
 * reads the request head, connects and relays, with buffers of fixed
 * size.  Every wait polls the stop pipe as well, so fetch_proxy_stop()
 * ends all connections at once.  The one call that cannot be interrupted
 * is getaddrinfo(): a thread still in it when the proxy stops holds a
 * reference to the proxy, sees the stop when the resolver returns, and
 * frees what is left.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fetch.h"
#include "log.h"
#include "util.h"

#define PROXY_MAX_CONNS		8
#define PROXY_HEAD_MAX		(32 * 1024)	/* request line and headers */
#define PROXY_BUF		(64 * 1024)	/* relay buffer, each way */
#define PROXY_HEAD_MS		30000	/* for the client to send its head */
#define PROXY_CONNECT_MS	30000	/* to connect, all addresses */
#define PROXY_IDLE_MS		120000	/* a relay with no traffic */
#define PROXY_STOP_MS		2000	/* stop waits this long for threads */
#define PROXY_STACK		(256 * 1024)

struct fetch_proxy {
	int		 lfd;		/* listening, 127.0.0.1 */
	int		 stop[2];	/* readable once stopping; never read */
	int		 port;		/* the URL's port, allowed with 80, 443 */
	int		 started;	/* the acceptor thread runs */
	pthread_t	 acceptor;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 refs;		/* the owner and each connection thread */
	int		 conns;		/* connection threads */
	char		 url[128];	/* for yt-dlp, with the token */
	char		 auth[128];	/* the Proxy-Authorization expected */
	char		 refusal[512];	/* the last refusal, for the user */
};

struct conn {
	struct fetch_proxy	*px;
	int			 cfd;	/* yt-dlp's side */
	int			 sfd;	/* the site's side */
	char			 head[PROXY_HEAD_MAX];
	char			 up[PROXY_BUF];		/* yt-dlp to the site */
	char			 down[PROXY_BUF];	/* the site to yt-dlp */
};

/* ---- the request head: parsed without any I/O, for the table test ---- */

/* RFC 9110 token characters (method and header names). */
static int
tchar(int ch)
{
	return isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch));
}

/* "host", "host:port" or "[v6]:port" (N bytes) into R; DEFPORT when no
 * port is given, or -1 if one is required.  0 or -1. */
static int
parse_authority(const char *s, size_t n, int defport, struct proxy_req *r)
{
	const char *h = s, *hend, *colon = NULL, *q;
	long long port = defport;
	char pb[8];
	size_t pl;

	if (n == 0)
		return -1;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (rb == NULL)
			return -1;
		h = s + 1;
		hend = rb;
		if (rb + 1 < s + n) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
		for (q = h; q < hend; q++)
			if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
				return -1;
	} else {
		colon = memrchr(s, ':', n);
		hend = colon != NULL ? colon : s + n;
		for (q = h; q < hend; q++)
			if (!isalnum((unsigned char)*q) && *q != '-' &&
			    *q != '.' && *q != '_')
				return -1;
	}
	if (hend == h || (size_t)(hend - h) >= sizeof(r->host))
		return -1;
	if (colon != NULL) {
		pl = (size_t)(s + n - colon - 1);
		if (pl == 0 || pl >= sizeof(pb) || !isdigit((unsigned char)colon[1]))
			return -1;
		memcpy(pb, colon + 1, pl);
		pb[pl] = '\0';
		if (parse_ll(pb, 1, 65535, &port) == -1)
			return -1;
	} else if (defport < 0)
		return -1;
	memcpy(r->host, h, (size_t)(hend - h));
	r->host[hend - h] = '\0';
	r->port = (int)port;
	return 0;
}

/* 1 when the header NAME (N bytes) is hop-by-hop: the proxy drops it. */
static int
hop_header(const char *name, size_t n)
{
	static const char *const hop[] = { "connection", "proxy-connection",
	    "keep-alive", "te", "upgrade", "proxy-authenticate" };
	size_t i;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strlen(hop[i]) == n && strncasecmp(name, hop[i], n) == 0)
			return 1;
	return 0;
}

/* 1 when VALUE (N bytes) is the credentials AUTH ("Basic ..."); the
 * scheme's name is case-insensitive, the credentials are not. */
static int
auth_ok(const char *value, size_t n, const char *auth)
{
	size_t al = strlen(auth);

	return n == al && al > 6 && strncasecmp(value, auth, 6) == 0 &&
	    memcmp(value + 6, auth + 6, al - 6) == 0;
}

int
fetch_proxy_parse(const char *head, size_t len, const char *auth,
    struct proxy_req *r, struct buf *out)
{
	const char *p = head, *end = head + len, *eol, *sp1, *sp2, *q;
	const char *target, *version, *path = NULL, *authority = NULL;
	size_t ll, ml, tl, vl, pathlen = 0, authlen = 0;
	int authed = 0, host_seen = 0, ended = 0, tst = 0, berr = 0;

	memset(r, 0, sizeof(*r));
	/* The request line: METHOD SP TARGET SP HTTP/1.x */
	if ((eol = memchr(p, '\n', len)) == NULL)
		return 400;
	ll = (size_t)(eol - p);
	if (ll > 0 && p[ll - 1] == '\r')
		ll--;
	if ((sp1 = memchr(p, ' ', ll)) == NULL)
		return 400;
	ml = (size_t)(sp1 - p);
	target = sp1 + 1;
	if ((sp2 = memchr(target, ' ', (size_t)(p + ll - target))) == NULL)
		return 400;
	tl = (size_t)(sp2 - target);
	version = sp2 + 1;
	vl = (size_t)(p + ll - version);
	if (ml == 0 || ml > 32 || tl == 0 || vl != 8 ||
	    (memcmp(version, "HTTP/1.1", 8) != 0 &&
	    memcmp(version, "HTTP/1.0", 8) != 0))
		return 400;
	for (q = p; q < sp1; q++)
		if (!tchar((unsigned char)*q))
			return 400;
	for (q = target; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return 400;

	/* The target: "host:port" for CONNECT, else an absolute http URL,
	 * forwarded in origin form ("/path?query", no fragment). */
	if (ml == 7 && memcmp(p, "CONNECT", 7) == 0) {
		r->tunnel = 1;
		if (parse_authority(target, tl, -1, r) == -1)
			tst = 400;
	} else if (tl > 7 && strncasecmp(target, "http://", 7) == 0) {
		authority = target + 7;
		for (q = authority; q < sp2 && *q != '/' && *q != '?' &&
		    *q != '#'; q++)
			;
		authlen = (size_t)(q - authority);
		path = q;
		for (; q < sp2 && *q != '#'; q++)
			;
		pathlen = (size_t)(q - path);
		if (memchr(authority, '@', authlen) != NULL ||
		    parse_authority(authority, authlen, 80, r) == -1)
			tst = 400;
	} else if (target[0] == '/')
		tst = 400;	/* origin form: a request for a server, not a proxy */
	else
		tst = 501;	/* https:// or another scheme: CONNECT is the way */
	if (!r->tunnel) {
		berr |= buf_add(out, p, ml + 1);
		if (pathlen == 0 || path[0] != '/')
			berr |= buf_addstr(out, "/");
		berr |= buf_add(out, path, pathlen);
		berr |= buf_printf(out, " %.8s\r\n", version);
	}

	/* The headers, up to the empty line: the credentials are checked and
	 * taken out, hop-by-hop ones dropped, the rest passed on as sent. */
	for (p = eol + 1; p < end; p = eol + 1) {
		const char *colon, *v, *ve;

		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		ll = (size_t)(eol - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			ended = 1;
			break;
		}
		if ((colon = memchr(p, ':', ll)) == NULL || colon == p)
			return 400;	/* also obsolete folding: no name */
		for (q = p; q < colon; q++)
			if (!tchar((unsigned char)*q))
				return 400;
		for (v = colon + 1; v < p + ll && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = p + ll; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		if ((size_t)(colon - p) == 19 &&
		    strncasecmp(p, "proxy-authorization", 19) == 0) {
			authed |= auth_ok(v, (size_t)(ve - v), auth);
			continue;
		}
		if (r->tunnel || hop_header(p, (size_t)(colon - p)))
			continue;
		if ((size_t)(colon - p) == 4 && strncasecmp(p, "host", 4) == 0)
			host_seen = 1;
		berr |= buf_add(out, p, ll);
		berr |= buf_addstr(out, "\r\n");
	}
	if (!ended)
		return 400;
	if (!authed)
		return 407;
	if (tst != 0)
		return tst;
	if (!r->tunnel) {
		if (!host_seen)
			berr |= buf_printf(out, "Host: %.*s\r\n", (int)authlen,
			    authority);
		berr |= buf_addstr(out, "Via: 1.1 clipmill\r\n"
		    "Connection: close\r\n\r\n");
	}
	return berr ? 431 : 0;
}

/* ---- I/O: every wait also watches the stop pipe ---- */

static int
stopping(struct fetch_proxy *px)
{
	struct pollfd p = { px->stop[0], POLLIN, 0 };

	return poll(&p, 1, 0) != 0;
}

/* Wait for EV on FD until DEADLINE (now_ms()): 1 ready, 0 timed out,
 * -1 stopping. */
static int
wait_fd(struct fetch_proxy *px, int fd, short ev, long long deadline)
{
	struct pollfd p[2] = { { fd, ev, 0 }, { px->stop[0], POLLIN, 0 } };
	long long left;
	int n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		n = poll(p, 2, left > 1000 ? 1000 : (int)left);
		if (n == -1 && errno != EINTR)
			return -1;
		if (n > 0)
			return p[1].revents != 0 ? -1 : 1;
	}
}

/* Send all N bytes of P to the socket FD (non-blocking); 0 or -1. */
static int
send_all(struct fetch_proxy *px, int fd, const char *p, size_t n,
    long long deadline)
{
	ssize_t w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		else if (w == -1 && errno == EAGAIN &&
		    wait_fd(px, fd, POLLOUT, deadline) != 1)
			return -1;
	}
	return 0;
}

/* Answer yt-dlp with STATUS; WHY (may be NULL) becomes the reason phrase,
 * which yt-dlp quotes in its error ("HTTP Error 403: ..."), and the body. */
static void
answer(struct conn *c, int status, const char *why)
{
	char msg[2048];
	const char *phrase;

	switch (status) {
	case 400: phrase = "Bad Request"; break;
	case 403: phrase = "Forbidden"; break;
	case 407: phrase = "Proxy Authentication Required"; break;
	case 431: phrase = "Request Header Fields Too Large"; break;
	case 501: phrase = "Not Implemented"; break;
	case 503: phrase = "Service Unavailable"; break;
	case 504: phrase = "Gateway Timeout"; break;
	default: phrase = "Bad Gateway"; break;
	}
	if (why != NULL)
		phrase = why;
	if (xsnprintf(msg, sizeof(msg), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n%s\n", status, phrase, strlen(phrase) + 1,
	    status == 407 ? "Proxy-Authenticate: Basic realm=\"clipmill\"\r\n" :
	    "", phrase) == 0)
		send_all(c->px, c->cfd, msg, strlen(msg), now_ms() + 5000);
}

/* Refuse the request with 403: WHAT says why, for the user (it is kept
 * for fetch_proxy_stop()) and for yt-dlp's error line. */
static void
refuse(struct conn *c, const struct proxy_req *r, const char *what)
{
	struct fetch_proxy *px = c->px;
	char why[600];

	pthread_mutex_lock(&px->mu);
	snprintf(px->refusal, sizeof(px->refusal), "%s", what);
	pthread_mutex_unlock(&px->mu);
	log_ev(LOG_WARN, "ytdlp_proxy_refused", "{sssiss}", "host", r->host,
	    "port", r->port, "why", what);
	snprintf(why, sizeof(why), "Refused by clipmill: %s", what);
	answer(c, 403, why);
}

/* Read the request head into c->head; its length goes to HEADLEN and all
 * bytes read (a body may follow) to GOT.  0, or -1 (answered if it can). */
static int
read_head(struct conn *c, size_t *headlen, size_t *got)
{
	long long deadline = now_ms() + PROXY_HEAD_MS;
	size_t n = 0, from = 0;
	const char *e;
	ssize_t r;

	for (;;) {
		if (n == sizeof(c->head)) {
			answer(c, 431, NULL);
			return -1;
		}
		r = recv(c->cfd, c->head + n, sizeof(c->head) - n, 0);
		if (r == 0)
			return -1;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN ||
			    wait_fd(c->px, c->cfd, POLLIN, deadline) != 1)
				return -1;
			continue;
		}
		n += (size_t)r;
		/* The empty line, "\r\n\r\n" or a bare "\n\n". */
		for (e = c->head + from; e < c->head + n; e++)
			if (*e == '\n' && ((e > c->head && e[-1] == '\n') ||
			    (e - c->head >= 2 && e[-1] == '\r' && e[-2] == '\n'))) {
				*headlen = (size_t)(e + 1 - c->head);
				*got = n;
				return 0;
			}
		from = n;
	}
}

/* The address of SA as text into OUT. */
static void
addr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	const void *ip = sa->sa_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;

	if (inet_ntop(sa->sa_family, ip, out, (socklen_t)outlen) == NULL)
		snprintf(out, outlen, "?");
}

/* Connect to R's host: every address it resolves to is held to the
 * policy, and only allowed ones are tried.  The connected socket, or -1
 * after answering yt-dlp. */
static int
dial(struct conn *c, const struct proxy_req *r)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[8], ip[INET6_ADDRSTRLEN], blocked[INET6_ADDRSTRLEN] = "";
	char what[512];
	long long deadline;
	int fd = -1, e, timedout = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", r->port);
	if ((e = getaddrinfo(r->host, portstr, &hints, &res)) != 0) {
		snprintf(what, sizeof(what), "cannot resolve %s", r->host);
		answer(c, 502, what);
		return -1;
	}
	deadline = now_ms() + PROXY_CONNECT_MS;
	for (ai = res; ai != NULL && !stopping(c->px); ai = ai->ai_next) {
		addr_text(ai->ai_addr, ip, sizeof(ip));
		if (!fetch_addr_allowed(ai->ai_addr)) {
			if (blocked[0] == '\0')
				snprintf(blocked, sizeof(blocked), "%s", ip);
			continue;
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			int soerr = 0, w = wait_fd(c->px, fd, POLLOUT, deadline);
			socklen_t sl = sizeof(soerr);
			if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == 0 && soerr == 0)
				break;
			timedout |= w == 0;
		}
		close(fd);
		fd = -1;
		if (timedout)
			break;
	}
	freeaddrinfo(res);
	if (fd != -1 || stopping(c->px))
		return fd;
	/* As with libcurl: a refused address only matters when no other
	 * one could be reached. */
	if (blocked[0] != '\0') {
		if (strcmp(blocked, r->host) == 0)
			snprintf(what, sizeof(what), "%s is on a private or local "
			    "network", blocked);
		else
			snprintf(what, sizeof(what), "%s points to %s, on a "
			    "private or local network", r->host, blocked);
		refuse(c, r, what);
	} else {
		snprintf(what, sizeof(what), "cannot connect to %s port %d",
		    r->host, r->port);
		answer(c, timedout ? 504 : 502, what);
	}
	return -1;
}

/* Relay both ways until the site has closed and all it sent is passed
 * on, or an error, PROXY_IDLE_MS without traffic, or the stop.  c->up
 * holds UPLEN bytes already read from yt-dlp. */
static void
relay(struct conn *c, size_t uplen)
{
	struct way { int from, to; char *b; size_t len, off; int eof; } w[2] = {
		{ c->cfd, c->sfd, c->up, uplen, 0, 0 },
		{ c->sfd, c->cfd, c->down, 0, 0, 0 },
	};
	long long idle = now_ms() + PROXY_IDLE_MS, left;
	struct pollfd p[3];
	ssize_t n;
	int i;

	while (!(w[1].eof && w[1].len == 0)) {
		p[0] = (struct pollfd){ c->cfd, 0, 0 };
		p[1] = (struct pollfd){ c->sfd, 0, 0 };
		p[2] = (struct pollfd){ c->px->stop[0], POLLIN, 0 };
		for (i = 0; i < 2; i++) {
			if (w[i].len == 0 && !w[i].eof)
				p[i].events |= POLLIN;		/* from */
			if (w[i].len > 0)
				p[1 - i].events |= POLLOUT;	/* to */
		}
		if ((left = idle - now_ms()) <= 0)
			return;
		n = poll(p, 3, left > 1000 ? 1000 : (int)left);
		if (n == -1 && errno != EINTR)
			return;
		if (n <= 0)
			continue;
		if (p[2].revents != 0)
			return;
		for (i = 0; i < 2; i++) {
			struct way *d = &w[i];
			if (d->len == 0 && !d->eof &&
			    (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
				n = recv(d->from, d->b, PROXY_BUF, 0);
				if (n > 0) {
					d->len = (size_t)n;
					d->off = 0;
					idle = now_ms() + PROXY_IDLE_MS;
				} else if (n == 0) {
					d->eof = 1;
					shutdown(d->to, SHUT_WR);
				} else if (errno != EAGAIN && errno != EINTR)
					return;
			}
			if (d->len > 0 &&
			    (p[1 - i].revents & (POLLOUT | POLLHUP | POLLERR))) {
				n = send(d->to, d->b + d->off, d->len, MSG_NOSIGNAL);
				if (n > 0) {
					d->off += (size_t)n;
					d->len -= (size_t)n;
					idle = now_ms() + PROXY_IDLE_MS;
				} else if (n == -1 && errno != EAGAIN &&
				    errno != EINTR)
					return;
			}
		}
	}
}

/* Drop one reference (a connection thread's when CONN is set); the last
 * one frees the proxy. */
static void
release(struct fetch_proxy *px, int conn)
{
	int left;

	pthread_mutex_lock(&px->mu);
	if (conn)
		px->conns--;
	left = --px->refs;
	pthread_cond_broadcast(&px->cv);
	pthread_mutex_unlock(&px->mu);
	if (left > 0)
		return;
	pthread_mutex_destroy(&px->mu);
	pthread_cond_destroy(&px->cv);
	close(px->stop[0]);
	close(px->stop[1]);
	free(px);
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct fetch_proxy *px = c->px;
	struct proxy_req r;
	struct buf out;
	size_t headlen = 0, got = 0;
	int st;

	buf_init(&out, 2 * PROXY_HEAD_MAX + 512);
	if (read_head(c, &headlen, &got) == -1)
		goto out;
	if ((st = fetch_proxy_parse(c->head, headlen, px->auth, &r, &out)) != 0) {
		answer(c, st, NULL);
		goto out;
	}
	if (!fetch_port_allowed(r.port, px->port)) {
		char what[128];
		fetch_port_refusal(r.port, px->port, what, sizeof(what));
		refuse(c, &r, what);
		goto out;
	}
	if ((c->sfd = dial(c, &r)) == -1)
		goto out;
	/* What yt-dlp sent after the head (a body, or TLS after CONNECT)
	 * goes on first; PROXY_BUF >= PROXY_HEAD_MAX, so it fits. */
	memcpy(c->up, c->head + headlen, got - headlen);
	if (r.tunnel) {
		static const char ok[] = "HTTP/1.1 200 Connection established"
		    "\r\n\r\n";
		if (send_all(px, c->cfd, ok, sizeof(ok) - 1, now_ms() +
		    PROXY_CONNECT_MS) == -1)
			goto out;
	} else if (send_all(px, c->sfd, out.data, out.len, now_ms() +
	    PROXY_CONNECT_MS) == -1)
		goto out;
	relay(c, got - headlen);
out:
	if (c->sfd != -1)
		close(c->sfd);
	close(c->cfd);
	buf_free(&out);
	free(c);
	release(px, 1);
	return NULL;
}

/* Start a thread for the accepted socket FD; 0, or -1 (FD is the
 * caller's) when PROXY_MAX_CONNS run already or on failure. */
static int
start_conn(struct fetch_proxy *px, int fd)
{
	pthread_attr_t at;
	pthread_t th;
	struct conn *c;
	int rc;

	pthread_mutex_lock(&px->mu);
	if (px->conns >= PROXY_MAX_CONNS) {
		pthread_mutex_unlock(&px->mu);
		return -1;
	}
	px->conns++;
	px->refs++;
	pthread_mutex_unlock(&px->mu);
	if ((c = malloc(sizeof(*c))) == NULL) {
		release(px, 1);
		return -1;
	}
	c->px = px;
	c->cfd = fd;
	c->sfd = -1;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, PROXY_STACK);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &at, conn_main, c);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		free(c);
		release(px, 1);
		return -1;
	}
	return 0;
}

static void *
accept_main(void *arg)
{
	static const char busy[] = "HTTP/1.1 503 Too many connections\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	struct fetch_proxy *px = arg;
	struct pollfd p[2] = { { px->lfd, POLLIN, 0 }, { px->stop[0], POLLIN, 0 } };
	int fd;

	for (;;) {
		if (poll(p, 2, -1) == -1 && errno != EINTR)
			break;
		if (p[1].revents != 0)
			break;
		if ((p[0].revents & POLLIN) == 0)
			continue;
		fd = accept4(px->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			/* Out of descriptors: let some close, do not spin. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS)
				poll(&p[1], 1, 100);
			continue;
		}
		if (start_conn(px, fd) == -1) {
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
			close(fd);
		}
	}
	return NULL;
}

struct fetch_proxy *
fetch_proxy_start(int port, char *err, size_t errlen)
{
	struct fetch_proxy *px;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	pthread_condattr_t ca;
	pthread_attr_t at;
	sigset_t all, old;
	unsigned char tok[16], cred[64], b64[96];
	char hex[33];
	int i, rc;

	if ((px = calloc(1, sizeof(*px))) == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	px->lfd = px->stop[0] = px->stop[1] = -1;
	px->port = port;
	px->refs = 1;
	pthread_mutex_init(&px->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&px->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (random_bytes(tok, sizeof(tok)) == -1) {
		seterr(err, errlen, "no random token for the proxy: %s",
		    strerror(errno));
		goto fail;
	}
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", tok[i]);
	snprintf((char *)cred, sizeof(cred), "clipmill:%s", hex);
	EVP_EncodeBlock(b64, cred, (int)strlen((char *)cred));
	snprintf(px->auth, sizeof(px->auth), "Basic %s", b64);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (pipe2(px->stop, O_CLOEXEC) == -1 ||
	    (px->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    bind(px->lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(px->lfd, 16) == -1 ||
	    getsockname(px->lfd, (struct sockaddr *)&sin, &sl) == -1) {
		seterr(err, errlen, "cannot start the download proxy: %s",
		    strerror(errno));
		goto fail;
	}
	snprintf(px->url, sizeof(px->url), "http://clipmill:%s@127.0.0.1:%d",
	    hex, ntohs(sin.sin_port));
	/* The proxy's threads (the connection threads inherit the
	 * acceptor's mask) take no signals: SIGTERM and the like stay with
	 * the thread that runs the task. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, PROXY_STACK);
	rc = pthread_create(&px->acceptor, &at, accept_main, px);
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		seterr(err, errlen, "cannot start the download proxy: %s",
		    strerror(rc));
		goto fail;
	}
	px->started = 1;
	return px;
fail:
	if (px->lfd != -1)
		close(px->lfd);
	px->lfd = -1;
	release(px, 0);
	return NULL;
}

const char *
fetch_proxy_url(const struct fetch_proxy *px)
{
	return px->url;
}

void
fetch_proxy_stop(struct fetch_proxy *px, char *refusal, size_t refusallen)
{
	struct timespec ts;

	if (refusal != NULL && refusallen > 0)
		refusal[0] = '\0';
	if (px == NULL)
		return;
	while (write(px->stop[1], "x", 1) == -1 && errno == EINTR)
		;
	if (px->started)
		pthread_join(px->acceptor, NULL);
	close(px->lfd);
	px->lfd = -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += PROXY_STOP_MS / 1000;
	ts.tv_nsec += (PROXY_STOP_MS % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&px->mu);
	while (px->conns > 0)
		if (pthread_cond_timedwait(&px->cv, &px->mu, &ts) == ETIMEDOUT)
			break;
	if (refusal != NULL && refusallen > 0)
		snprintf(refusal, refusallen, "%s", px->refusal);
	pthread_mutex_unlock(&px->mu);
	release(px, 0);
}
