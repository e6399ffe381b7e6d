/*
 * The address policy (netpolicy.h) for every outside connection: a
 * fetch's through libcurl (curl.c, from its open-socket callback) and
 * yt-dlp's (through the proxy in proxy.c), webhook deliveries, and a
 * webhook URL when it is set.  One function decides for all, so that the
 * paths cannot drift apart.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "netpolicy.h"
#include "util.h"

struct cidr4 { uint32_t net; int len; };

/* IPv4 ranges nobody outside may ask us to reach (RFC 6890 and friends). */
static const struct cidr4 blocked4[] = {
	{ 0x00000000, 8 },	/* "this network" */
	{ 0x0a000000, 8 },	/* private */
	{ 0x64400000, 10 },	/* carrier-grade NAT */
	{ 0x7f000000, 8 },	/* loopback */
	{ 0xa9fe0000, 16 },	/* link-local (cloud metadata lives here) */
	{ 0xac100000, 12 },	/* private */
	{ 0xc0000000, 24 },	/* IETF protocol assignments */
	{ 0xc0000200, 24 },	/* documentation */
	{ 0xc0586300, 24 },	/* 6to4 relay anycast (deprecated) */
	{ 0xc0a80000, 16 },	/* private */
	{ 0xc6120000, 15 },	/* benchmarking */
	{ 0xc6336400, 24 },	/* documentation */
	{ 0xcb007100, 24 },	/* documentation */
	{ 0xe0000000, 4 },	/* multicast */
	{ 0xf0000000, 4 },	/* reserved, and broadcast */
};

static int
in4(uint32_t a, uint32_t net, int len)
{
	uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);

	return (a & mask) == (net & mask);
}

static int
v4_blocked(uint32_t a)
{
	size_t i;

	for (i = 0; i < sizeof(blocked4) / sizeof(blocked4[0]); i++)
		if (in4(a, blocked4[i].net, blocked4[i].len))
			return 1;
	return 0;
}

static int
v6_blocked(const uint8_t *b)
{
	static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	static const uint8_t nat64[12] = { 0,0x64,0xff,0x9b,0,0,0,0,0,0,0,0 };
	static const uint8_t zero[15];
	uint32_t v4;

	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0) {
		memcpy(&v4, b + 12, 4);
		return v4_blocked(ntohl(v4));
	}
	if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
	    b[4] == 0x00 && b[5] == 0x01)	/* 64:ff9b:1::/48 local NAT64 */
		return 1;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
		return 1;			/* 2001::/32 Teredo */
	if (memcmp(b, zero, 15) == 0)		/* :: and ::1 */
		return 1;
	if (memcmp(b, zero, 12) == 0)		/* IPv4-compatible, deprecated */
		return 1;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)	/* fe80::/10 link-local */
		return 1;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)	/* fec0::/10 site-local */
		return 1;
	if ((b[0] & 0xfe) == 0xfc)		/* fc00::/7 unique local */
		return 1;
	if (b[0] == 0xff)			/* multicast */
		return 1;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return 1;			/* documentation */
	if (b[0] == 0x20 && b[1] == 0x02) {	/* 6to4: the IPv4 inside */
		memcpy(&v4, b + 2, 4);
		return v4_blocked(ntohl(v4));
	}
	return 0;
}

int
fetch_addr_blocked(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_blocked(ntohl(((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return v6_blocked(((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr.s6_addr);
	return 1;	/* anything else is not a web server */
}

/* 1 when SA is inside one of cfg.fetch_allow_cidrs ("a/n,b/n"), which
 * lets an operator (or a test) reach one local media server without
 * opening the whole private range. */
static int
addr_allowed_by_config(const struct sockaddr *sa)
{
	const char *p = cfg.fetch_allow_cidrs;
	char item[64], *slash;
	uint8_t net[16], addr[16];
	long long len;
	size_t n;
	int fam, i, bits;

	if (sa->sa_family == AF_INET)
		memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
	else
		return 0;
	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, ", ");
		if (n == 0 || n >= sizeof(item)) {
			p += n;
			continue;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		p += n;
		fam = strchr(item, ':') ? AF_INET6 : AF_INET;
		len = fam == AF_INET ? 32 : 128;
		if ((slash = strchr(item, '/')) != NULL) {
			*slash = '\0';
			if (parse_ll(slash + 1, 0, len, &len) == -1)
				continue;
		}
		if (fam != sa->sa_family || inet_pton(fam, item, net) != 1)
			continue;
		for (i = 0, bits = (int)len; bits > 0; i++, bits -= 8) {
			uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
			if ((net[i] & m) != (addr[i] & m))
				break;
		}
		if (bits <= 0)
			return 1;
	}
	return 0;
}

int
fetch_addr_allowed(const struct sockaddr *sa)
{
	return cfg.allow_private_addresses || !fetch_addr_blocked(sa) ||
	    addr_allowed_by_config(sa);
}

/* The port rule, for libcurl (curl.c) and yt-dlp's proxy (proxy.c)
 * alike: 80, 443 and the port of the URL the user gave. */
int
fetch_port_allowed(int port, int urlport)
{
	return port == 80 || port == 443 || (urlport > 0 && port == urlport);
}

void
fetch_port_refusal(int port, int urlport, char *buf, size_t len)
{
	if (urlport <= 0 || urlport == 80 || urlport == 443)
		snprintf(buf, len, "port %d cannot be used (only 80 and 443)",
		    port);
	else
		snprintf(buf, len, "port %d cannot be used (only 80, 443 and "
		    "%d)", port, urlport);
}

int
fetch_url_port(const char *url)
{
	CURLU *u;
	char *port = NULL;
	long long n = 0;

	if ((u = curl_url()) == NULL)
		return 0;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK || parse_ll(port, 1, 65535, &n) == -1)
		n = 0;
	curl_free(port);
	curl_url_cleanup(u);
	return (int)n;
}
