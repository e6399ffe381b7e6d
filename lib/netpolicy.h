/*
 * The address policy every outside connection is held to (netpolicy.c):
 * fetches, the fetch proxy, webhook deliveries, and webhook URLs when a
 * user sets one.  In lib/ so that the web front can apply it too.
 */
#ifndef CLIPMILL_NETPOLICY_H
#define CLIPMILL_NETPOLICY_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * 1 when an address may not be reached: loopback, private (RFC 1918, ULA),
 * link-local, CGNAT, multicast, unspecified, broadcast, reserved and
 * documentation ranges, including IPv4 inside IPv4-mapped and NAT64
 * addresses.  0 when it is a public address.
 */
int	fetch_addr_blocked(const struct sockaddr *sa);

/*
 * The policy every outside connection is held to: 1 when
 * SA may be connected to, that is cfg.allow_private_addresses is set, or
 * the address is public, or it is inside cfg.fetch_allow_cidrs.
 */
int	fetch_addr_allowed(const struct sockaddr *sa);

/* The port rule of every fetch connection: 1 when PORT may be reached
 * for a URL whose own port is URLPORT (80, 443 and URLPORT; 0: none). */
int	fetch_port_allowed(int port, int urlport);
/* Why PORT is refused, "port N cannot be used (only ...)", into BUF. */
void	fetch_port_refusal(int port, int urlport, char *buf, size_t len);
/* The port of URL, its scheme's default when it names none; 0 when it
 * cannot be parsed. */
int	fetch_url_port(const char *url);

#endif
