/* SPDX-License-Identifier: GPL-2.0 */
/* Why did no socket take this packet? Replays the kernel's UDP and TCP socket lookup
 * (compute_score in net/ipv4/udp.c, net/ipv6/udp.c, inet_hashtables.c,
 * inet6_hashtables.c, with inet_bound_dev_eq) over a socket list from sockdiag and
 * names the socket that came nearest and the check it failed. Pure: no syscalls. */
#ifndef PWHY_SOCK_MATCH_H
#define PWHY_SOCK_MATCH_H
#include <stddef.h>
#include <linux/types.h>

#include "pwhy/sockdiag.h"

/* Why a socket did not take the packet. Declared in rank order: when several sockets
 * miss, the one whose reason comes first is reported as the nearest. */
enum sock_miss {
	SOCK_MATCH = 0,
	SOCK_MISS_SDIF,		/* not bound to a device, packet came through an L3 master
				 * (VRF) slave (sdif != 0) and *_l3mdev_accept = 0 */
	SOCK_MISS_BOUND_DEV,	/* bound to a device that is neither dif nor sdif */
	SOCK_MISS_STATE,	/* TCP socket on the port but not listening (bound only) */
	SOCK_MISS_PEER,		/* connected to another remote address or port */
	SOCK_MISS_LADDR,	/* bound to another local address */
	SOCK_MISS_V6ONLY,	/* IPv4 packet, IPv6 socket with IPV6_V6ONLY */
	SOCK_MISS_FAMILY,	/* address family can never match */
	SOCK_MISS_PORT,		/* same address, other port: weakest */
	SOCK_MISS_MAX,
};

/* The packet as socket lookup saw it: saddr/sport are the remote end, daddr/dport the
 * local one; dif/sdif as inet_iif/inet_sdif (VRF: dif = master, sdif = slave).
 * l3mdev_accept is net.ipv4.udp_l3mdev_accept for UDP, tcp_l3mdev_accept for TCP (the
 * IPv4 sysctls govern IPv6 lookups too). Addresses: IPv4 in the first 4 bytes. */
struct sock_lookup_key {
	__u8 family, proto;
	__u8 saddr[16], daddr[16];
	__u16 sport, dport;	/* host order */
	int dif, sdif;
	int l3mdev_accept;
};

struct sock_candidate {
	const struct pwhy_sock *sk;	/* points into the caller's array; NULL when none */
	enum sock_miss why;		/* the most fundamental failed check, or SOCK_MATCH */
	unsigned misses;		/* every failed check: bit (1u << enum sock_miss) */
	int score;			/* SOCK_MATCH: the kernel's preference (higher wins);
					 * a miss: minus the number of failed checks */
};

/* Check one socket against the packet. Returns 0 when sk has another protocol or no
 * port (it takes no part in the lookup), else 1 with *c filled. */
int sock_match_one(const struct sock_lookup_key *k, const struct pwhy_sock *sk,
		   struct sock_candidate *c);

/* The best candidate: the socket the kernel would pick if one matches, else the nearest
 * miss on the packet's port (by rank of why, then fewest failed checks, then the more
 * specific socket). Returns 1 with *best filled. Returns 0 when no socket is on that
 * port; *best then holds the nearest SOCK_MISS_PORT socket that would otherwise accept
 * the packet (same address, not connected elsewhere), or sk = NULL. */
int sock_match_nearest(const struct sock_lookup_key *k, const struct pwhy_sock *socks,
		       size_t n, struct sock_candidate *best);

const char *sock_miss_name(enum sock_miss why);	/* "sdif", "bound-device", ... */
const char *sock_miss_explain(enum sock_miss why);	/* one short phrase */

#endif
