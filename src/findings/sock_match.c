// SPDX-License-Identifier: GPL-2.0
/* Replays the kernel's socket lookup for a packet dropped with NO_SOCKET.
 *
 * The kernel gives every socket on the port a score and returns -1 at the first failed
 * check; we run all checks instead and record each failure, so that a socket that
 * failed only one of them can be named as the reason. */
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "pwhy/sock_match.h"

#define BIT(m) (1u << (m))

static int all_zero(const __u8 *a, size_t len)
{
	while (len--)
		if (*a++)
			return 0;
	return 1;
}

static int v4mapped(const __u8 *a)
{
	return all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff;
}

/* How a socket address looks to a lookup in the packet's family */
enum addr_view {
	ADDR_ANY,	/* wildcard / not connected */
	ADDR_SAME,	/* equals the packet's address */
	ADDR_OTHER,	/* another address of that family */
	ADDR_FOREIGN,	/* a v6 address a v4 packet can never carry */
};

static enum addr_view view(const struct sock_lookup_key *k, const struct pwhy_sock *sk,
			   const __u8 *sa, const __u8 *pa)
{
	if (k->family == AF_INET && sk->family == AF_INET6) {
		/* a dual-stack socket sees IPv4 through ::ffff:a.b.c.d; the kernel stores
		 * 127.0.0.6 (LOOPBACK4_IPV6) for any other v6 address so that no v4 packet
		 * matches it */
		if (all_zero(sa, 16))
			return ADDR_ANY;
		if (!v4mapped(sa))
			return ADDR_FOREIGN;
		return memcmp(sa + 12, pa, 4) ? ADDR_OTHER : ADDR_SAME;
	}
	if (all_zero(sa, k->family == AF_INET ? 4 : 16))
		return ADDR_ANY;
	return memcmp(sa, pa, k->family == AF_INET ? 4 : 16) ? ADDR_OTHER : ADDR_SAME;
}

/* inet_bound_dev_eq() of include/net/inet_sock.h */
static int bound_dev_eq(int l3mdev_accept, int bound_dev_if, int dif, int sdif)
{
	if (!bound_dev_if)
		return !sdif || l3mdev_accept;
	return bound_dev_if == dif || bound_dev_if == sdif;
}

/* The kernel's compute_score for a socket that passed every check. Lookups run in tiers
 * (TCP established first; then sockets bound to daddr; then wildcard ones), so a tier
 * outweighs any score within it. */
static int kernel_score(const struct sock_lookup_key *k, const struct pwhy_sock *sk,
			int laddr_exact, int connected, int peer_port)
{
	int v4 = k->family == AF_INET, bound = sk->bound_dev_if != 0, s;

	if (k->proto == IPPROTO_TCP) {
		if (connected)
			return 300;
		s = bound ? 2 : 1;
		if (v4 && sk->family == AF_INET)
			s++;
	} else if (v4) {
		s = (sk->family == AF_INET ? 2 : 1) + 4 * connected + 4 * peer_port + 4 * bound;
	} else {
		s = connected + peer_port + bound;
	}
	return (laddr_exact ? 200 : 100) + s;
}

static int popcount(unsigned x)
{
	return __builtin_popcount(x);
}

int sock_match_one(const struct sock_lookup_key *k, const struct pwhy_sock *sk,
		   struct sock_candidate *c)
{
	enum addr_view la, ra = ADDR_ANY;
	int connected = 0, peer_port = 0, m;
	unsigned misses = 0;

	if (sk->proto != k->proto || !sk->sport)
		return 0;

	if (sk->family != k->family && !(k->family == AF_INET && sk->family == AF_INET6)) {
		misses |= BIT(SOCK_MISS_FAMILY);
		la = ADDR_OTHER;	/* addresses of another family say nothing */
	} else {
		if (k->family == AF_INET && sk->family == AF_INET6 && sk->v6only)
			misses |= BIT(SOCK_MISS_V6ONLY);
		la = view(k, sk, sk->saddr, k->daddr);
		ra = view(k, sk, sk->daddr, k->saddr);
		if (la == ADDR_FOREIGN)
			misses |= BIT(SOCK_MISS_FAMILY);
		else if (la == ADDR_OTHER)
			misses |= BIT(SOCK_MISS_LADDR);
	}
	if (sk->sport != k->dport)
		misses |= BIT(SOCK_MISS_PORT);

	if (k->proto == IPPROTO_TCP && sk->state == TCP_CLOSE) {
		misses |= BIT(SOCK_MISS_STATE);
	} else if (k->proto != IPPROTO_TCP || sk->state != TCP_LISTEN) {
		/* UDP checks peer address and port separately; a TCP socket outside LISTEN
		 * lives in the established hash and needs the whole 4-tuple */
		connected = ra != ADDR_ANY;
		peer_port = sk->dport != 0;
		if ((connected && ra != ADDR_SAME) || (peer_port && sk->dport != k->sport))
			misses |= BIT(SOCK_MISS_PEER);
	}

	if (!bound_dev_eq(k->l3mdev_accept, sk->bound_dev_if, k->dif, k->sdif))
		misses |= BIT(sk->bound_dev_if ? SOCK_MISS_BOUND_DEV : SOCK_MISS_SDIF);

	c->sk = sk;
	c->misses = misses;
	c->why = SOCK_MATCH;
	for (m = SOCK_MISS_MAX - 1; m > SOCK_MATCH; m--)
		if (misses & BIT(m)) {
			c->why = m;
			break;
		}
	if (misses)
		c->score = -popcount(misses);
	else
		c->score = kernel_score(k, sk, la == ADDR_SAME,
					connected || (k->proto == IPPROTO_TCP &&
						      sk->state != TCP_LISTEN),
					peer_port);
	return 1;
}

/* Tie-breaker between misses: bound to the packet's address, then its family. */
static int specificity(const struct sock_lookup_key *k, const struct sock_candidate *c)
{
	const struct pwhy_sock *sk = c->sk;
	int s = sk->family == k->family ? 1 : 0;

	if (!(c->misses & BIT(SOCK_MISS_FAMILY)) &&
	    view(k, sk, sk->saddr, k->daddr) == ADDR_SAME)
		s += 2;
	return s;
}

static int port_distance(const struct sock_lookup_key *k, const struct sock_candidate *c)
{
	int d = (int)c->sk->sport - (int)k->dport;

	return d < 0 ? -d : d;
}

/* Is a better than b? Both misses of the same class (on the port, or off it). */
static int better_miss(const struct sock_lookup_key *k, const struct sock_candidate *a,
		       const struct sock_candidate *b)
{
	if (!b->sk)
		return 1;
	if (a->why != b->why)
		return a->why < b->why;
	if (a->score != b->score)
		return a->score > b->score;
	if (specificity(k, a) != specificity(k, b))
		return specificity(k, a) > specificity(k, b);
	return port_distance(k, a) < port_distance(k, b);
}

int sock_match_nearest(const struct sock_lookup_key *k, const struct pwhy_sock *socks,
		       size_t n, struct sock_candidate *best)
{
	struct sock_candidate hit = { 0 }, near = { 0 }, port = { .why = SOCK_MISS_PORT };
	/* a socket on another port is worth naming only if nothing but the port (or the
	 * device, which the user may also have got wrong) stands in the way */
	const unsigned port_ok = BIT(SOCK_MISS_PORT) | BIT(SOCK_MISS_SDIF) |
				 BIT(SOCK_MISS_BOUND_DEV);
	struct sock_candidate c;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!sock_match_one(k, &socks[i], &c))
			continue;
		if (c.why == SOCK_MATCH) {
			if (!hit.sk || c.score > hit.score)
				hit = c;
		} else if (!(c.misses & BIT(SOCK_MISS_PORT))) {
			if (better_miss(k, &c, &near))
				near = c;
		} else if (!(c.misses & ~port_ok) && better_miss(k, &c, &port)) {
			port = c;
		}
	}
	if (hit.sk || near.sk) {
		*best = hit.sk ? hit : near;
		return 1;
	}
	*best = port;
	return 0;
}

static const char *const names[SOCK_MISS_MAX] = {
	[SOCK_MATCH] = "match",
	[SOCK_MISS_SDIF] = "sdif",
	[SOCK_MISS_BOUND_DEV] = "bound-device",
	[SOCK_MISS_STATE] = "not-listening",
	[SOCK_MISS_PEER] = "peer",
	[SOCK_MISS_LADDR] = "local-address",
	[SOCK_MISS_V6ONLY] = "v6only",
	[SOCK_MISS_FAMILY] = "family",
	[SOCK_MISS_PORT] = "port",
};

static const char *const phrases[SOCK_MISS_MAX] = {
	[SOCK_MATCH] = "the socket would accept the packet",
	[SOCK_MISS_SDIF] = "unbound socket, packet came via a VRF slave, l3mdev_accept is 0",
	[SOCK_MISS_BOUND_DEV] = "socket is bound to another device",
	[SOCK_MISS_STATE] = "socket is bound to the port but not listening",
	[SOCK_MISS_PEER] = "socket is connected to another peer",
	[SOCK_MISS_LADDR] = "socket is bound to another local address",
	[SOCK_MISS_V6ONLY] = "IPv6 socket has IPV6_V6ONLY set, IPv4 cannot reach it",
	[SOCK_MISS_FAMILY] = "socket is of another address family",
	[SOCK_MISS_PORT] = "socket is on another port",
};

const char *sock_miss_name(enum sock_miss why)
{
	return (unsigned)why < SOCK_MISS_MAX ? names[why] : "unknown";
}

const char *sock_miss_explain(enum sock_miss why)
{
	return (unsigned)why < SOCK_MISS_MAX ? phrases[why] : "unknown reason";
}
