/*
 * The fetch address and port policy (lib/netpolicy.c) as
 * tables: which addresses are refused (the ranges that reach inside,
 * directly or through a translation: NAT64, Teredo, 6to4) and which ports
 * a fetch may use (80, 443 and the user's URL's own, for libcurl and
 * yt-dlp's proxy alike).
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "stages/fetch/fetch.h"
#include "tap.h"

/* 1 blocked, 0 allowed, -1 not a numeric address. */
static int
blocked(const char *ip)
{
	struct addrinfo hints, *ai;
	int b;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(ip, NULL, &hints, &ai) != 0)
		return -1;
	b = fetch_addr_blocked(ai->ai_addr);
	freeaddrinfo(ai);
	return b;
}

static void
test_addresses(void)
{
	static const struct { const char *ip; int want; } t[] = {
		/* the ranges of issue 17 */
		{ "64:ff9b:1::1", 1 },		/* local-use NAT64 */
		{ "64:ff9b:1:ffff::8.8.8.8", 1 },
		{ "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", 1 },
		{ "2001::1", 1 },		/* Teredo */
		{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", 1 },
		{ "2001:0:ffff:ffff::", 1 },
		{ "192.88.99.1", 1 },		/* 6to4 relay anycast */
		{ "192.88.99.255", 1 },
		/* their neighbours stay public */
		{ "64:ff9b:2::1", 0 },
		{ "64:ff9b::808:808", 0 },	/* well-known NAT64 of 8.8.8.8 */
		{ "2001:1::1", 0 },
		{ "2001:4860:4860::8888", 0 },
		{ "192.88.98.255", 0 },
		{ "192.88.100.0", 0 },
		/* and what was refused before still is */
		{ "127.0.0.1", 1 },
		{ "::1", 1 },
		{ "::ffff:10.0.0.1", 1 },
		{ "64:ff9b::7f00:1", 1 },
		{ "2002:7f00:1::", 1 },
		{ "169.254.169.254", 1 },
		{ "8.8.8.8", 0 },
	};
	size_t i;
	int got;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		got = blocked(t[i].ip);
		ok(got == t[i].want, "%s is %s (got %d)", t[i].ip,
		    t[i].want ? "refused" : "allowed", got);
	}
}

static void
test_ports(void)
{
	static const struct {
		const char *url;
		int port, urlport, want;
		const char *why;
	} t[] = {
		{ "http://h/a", 80, 80, 1, NULL },
		{ "https://h/a", 443, 443, 1, NULL },
		{ "http://h:8080/a", 8080, 8080, 1, NULL },
		{ "http://h:8080/a", 443, 8080, 1, NULL },
		{ "http://h:8080/a", 8081, 8080, 0,
		  "port 8081 cannot be used (only 80, 443 and 8080)" },
		{ "https://h/a", 22, 443, 0,
		  "port 22 cannot be used (only 80 and 443)" },
		{ "not a url", 8080, 0, 0,
		  "port 8080 cannot be used (only 80 and 443)" },
	};
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ok(fetch_url_port(t[i].url) == t[i].urlport, "port of %s is %d",
		    t[i].url, t[i].urlport);
		ok(fetch_port_allowed(t[i].port, t[i].urlport) == t[i].want,
		    "port %d for %s: %s", t[i].port, t[i].url,
		    t[i].want ? "allowed" : "refused");
		if (t[i].why == NULL)
			continue;
		fetch_port_refusal(t[i].port, t[i].urlport, why, sizeof(why));
		ok(strcmp(why, t[i].why) == 0, "refusal reads \"%s\" (got \"%s\")",
		    t[i].why, why);
	}
}

int
main(void)
{
	char err[256];

	if (config_load("/dev/null", err, sizeof(err)) == -1) {
		printf("not ok 1 config: %s\n", err);
		return 1;
	}
	test_addresses();
	test_ports();
	return tap_done();
}
