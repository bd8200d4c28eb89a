// SPDX-License-Identifier: GPL-2.0
/* sock_match: the kernel's socket lookup replayed over hand-made socket lists. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "check.h"
#include "pwhy/sock_match.h"

static void addr(int family, const char *s, __u8 out[16])
{
	memset(out, 0, 16);
	if (s && *s)
		inet_pton(family, s, out);
}

/* A socket: local laddr:lport, peer raddr:rport ("" / 0 when not connected) */
static struct pwhy_sock sock(int family, int proto, const char *laddr, int lport,
			     const char *raddr, int rport, int dev)
{
	struct pwhy_sock s;

	memset(&s, 0, sizeof(s));
	s.family = family;
	s.proto = proto;
	s.state = proto == IPPROTO_TCP ? TCP_LISTEN : (rport ? TCP_ESTABLISHED : TCP_CLOSE);
	addr(family, laddr, s.saddr);
	addr(family, raddr, s.daddr);
	s.sport = lport;
	s.dport = rport;
	s.bound_dev_if = dev;
	s.transparent = -1;
	return s;
}

#define UDP4(l, lp, r, rp, dev) sock(AF_INET, IPPROTO_UDP, l, lp, r, rp, dev)
#define UDP6(l, lp, r, rp, dev) sock(AF_INET6, IPPROTO_UDP, l, lp, r, rp, dev)
#define TCP4(l, lp, dev) sock(AF_INET, IPPROTO_TCP, l, lp, "", 0, dev)
#define TCP6(l, lp, dev) sock(AF_INET6, IPPROTO_TCP, l, lp, "", 0, dev)

/* The packet src:sport -> dst:dport arriving with dif/sdif */
static struct sock_lookup_key pkt(int family, int proto, const char *src, int sport,
				  const char *dst, int dport, int dif, int sdif)
{
	struct sock_lookup_key k;

	memset(&k, 0, sizeof(k));
	k.family = family;
	k.proto = proto;
	addr(family, src, k.saddr);
	addr(family, dst, k.daddr);
	k.sport = sport;
	k.dport = dport;
	k.dif = dif;
	k.sdif = sdif;
	return k;
}

/* Lookup with a single socket: the reason name, or "none" when it is not a candidate */
static const char *one(const struct sock_lookup_key *k, struct pwhy_sock s)
{
	struct sock_candidate c;

	if (sock_match_nearest(k, &s, 1, &c) != 1)
		return "none";
	return sock_miss_name(c.why);
}

static void test_udp4_basic(void)
{
	struct sock_lookup_key k = pkt(AF_INET, IPPROTO_UDP, "192.0.2.1", 1000, "10.0.0.1", 53, 2, 0);

	CHECK_STR(one(&k, UDP4("0.0.0.0", 53, "", 0, 0)), "match");
	CHECK_STR(one(&k, UDP4("10.0.0.1", 53, "", 0, 0)), "match");
	CHECK_STR(one(&k, UDP4("10.0.0.2", 53, "", 0, 0)), "local-address");
	CHECK_STR(one(&k, UDP4("10.0.0.1", 53, "", 0, 3)), "bound-device");
	CHECK_STR(one(&k, UDP4("10.0.0.1", 53, "", 0, 2)), "match");
	CHECK_STR(one(&k, UDP4("10.0.0.1", 54, "", 0, 0)), "none");
	/* unbound port (sport 0) and other protocol take no part */
	CHECK_STR(one(&k, UDP4("10.0.0.1", 0, "", 0, 0)), "none");
	CHECK_STR(one(&k, TCP4("10.0.0.1", 53, 0)), "none");
}

static void test_udp4_peer(void)
{
	struct sock_lookup_key k = pkt(AF_INET, IPPROTO_UDP, "192.0.2.1", 1000, "10.0.0.1", 53, 2, 0);

	CHECK_STR(one(&k, UDP4("10.0.0.1", 53, "192.0.2.1", 1000, 0)), "match");
	CHECK_STR(one(&k, UDP4("10.0.0.1", 53, "192.0.2.9", 1000, 0)), "peer");
	CHECK_STR(one(&k, UDP4("10.0.0.1", 53, "192.0.2.1", 1001, 0)), "peer");
}

/* A DNS client whose replies a transparent proxy answers from 127.0.0.1:15353: the
 * client socket is connected to the real server, so the reply finds no socket. */
static void test_tproxy_peer(void)
{
	struct sock_lookup_key k = pkt(AF_INET, IPPROTO_UDP, "127.0.0.1", 15353, "10.0.0.2",
				       40000, 1, 0);
	struct pwhy_sock s = UDP4("10.0.0.2", 40000, "198.51.100.53", 53, 0);
	struct sock_candidate c;

	CHECK(sock_match_nearest(&k, &s, 1, &c) == 1);
	CHECK(c.sk == &s);
	CHECK(c.why == SOCK_MISS_PEER);
	CHECK(c.misses == (1u << SOCK_MISS_PEER));
	CHECK(c.score == -1);
	CHECK_STR(sock_miss_name(c.why), "peer");
}

static void test_vrf(void)
{
	/* arrived on slave 5 of VRF 4: dif = 4 (master), sdif = 5 */
	struct sock_lookup_key k = pkt(AF_INET, IPPROTO_UDP, "192.0.2.1", 1000, "10.0.0.1", 53, 4, 5);
	struct pwhy_sock s = UDP4("0.0.0.0", 53, "", 0, 0);
	struct sock_candidate c;

	CHECK(sock_match_nearest(&k, &s, 1, &c) == 1);
	CHECK(c.why == SOCK_MISS_SDIF);
	CHECK_STR(sock_miss_name(c.why), "sdif");
	k.l3mdev_accept = 1;
	CHECK_STR(one(&k, s), "match");
	k.l3mdev_accept = 0;
	CHECK_STR(one(&k, UDP4("0.0.0.0", 53, "", 0, 4)), "match");	/* bound to the VRF */
	CHECK_STR(one(&k, UDP4("0.0.0.0", 53, "", 0, 5)), "match");	/* bound to the slave */
	CHECK_STR(one(&k, UDP4("0.0.0.0", 53, "", 0, 6)), "bound-device");
	/* bound to another VRF, even with l3mdev_accept */
	k.l3mdev_accept = 1;
	CHECK_STR(one(&k, UDP4("0.0.0.0", 53, "", 0, 7)), "bound-device");
	/* the same rules for IPv6 and TCP */
	k = pkt(AF_INET6, IPPROTO_UDP, "2001:db8::9", 1000, "2001:db8::1", 53, 4, 5);
	CHECK_STR(one(&k, UDP6("::", 53, "", 0, 0)), "sdif");
	CHECK_STR(one(&k, UDP6("::", 53, "", 0, 4)), "match");
	k = pkt(AF_INET, IPPROTO_TCP, "192.0.2.1", 40000, "10.0.0.1", 80, 4, 5);
	CHECK_STR(one(&k, TCP4("0.0.0.0", 80, 0)), "sdif");
	CHECK_STR(one(&k, TCP4("0.0.0.0", 80, 4)), "match");
	k.l3mdev_accept = 1;
	CHECK_STR(one(&k, TCP4("0.0.0.0", 80, 0)), "match");
}

static void test_udp6(void)
{
	struct sock_lookup_key k = pkt(AF_INET6, IPPROTO_UDP, "2001:db8::9", 1000, "2001:db8::1",
				       53, 2, 0);

	CHECK_STR(one(&k, UDP6("::", 53, "", 0, 0)), "match");
	CHECK_STR(one(&k, UDP6("2001:db8::1", 53, "", 0, 0)), "match");
	CHECK_STR(one(&k, UDP6("2001:db8::2", 53, "", 0, 0)), "local-address");
	CHECK_STR(one(&k, UDP6("2001:db8::1", 53, "", 0, 3)), "bound-device");
	CHECK_STR(one(&k, UDP6("2001:db8::1", 53, "2001:db8::9", 1000, 0)), "match");
	CHECK_STR(one(&k, UDP6("2001:db8::1", 53, "2001:db8::8", 1000, 0)), "peer");
	CHECK_STR(one(&k, UDP4("0.0.0.0", 53, "", 0, 0)), "family");
}

static void test_dual_stack(void)
{
	struct sock_lookup_key k = pkt(AF_INET, IPPROTO_UDP, "192.0.2.1", 1000, "10.0.0.1", 53, 2, 0);
	struct pwhy_sock s = UDP6("::", 53, "", 0, 0);

	CHECK_STR(one(&k, s), "match");
	s.v6only = 1;
	CHECK_STR(one(&k, s), "v6only");
	CHECK_STR(one(&k, UDP6("::ffff:10.0.0.1", 53, "", 0, 0)), "match");
	CHECK_STR(one(&k, UDP6("::ffff:10.0.0.7", 53, "", 0, 0)), "local-address");
	CHECK_STR(one(&k, UDP6("2001:db8::1", 53, "", 0, 0)), "family");
	CHECK_STR(one(&k, UDP6("::ffff:10.0.0.1", 53, "::ffff:192.0.2.1", 1000, 0)), "match");
	CHECK_STR(one(&k, UDP6("::ffff:10.0.0.1", 53, "::ffff:192.0.2.2", 1000, 0)), "peer");
	CHECK_STR(one(&k, UDP6("::", 53, "2001:db8::9", 1000, 0)), "peer");
	/* TCP listeners follow the same rules */
	k = pkt(AF_INET, IPPROTO_TCP, "192.0.2.1", 40000, "10.0.0.1", 443, 2, 0);
	s = TCP6("::", 443, 0);
	CHECK_STR(one(&k, s), "match");
	s.v6only = 1;
	CHECK_STR(one(&k, s), "v6only");
}

static void test_tcp(void)
{
	struct sock_lookup_key k = pkt(AF_INET, IPPROTO_TCP, "192.0.2.1", 40000, "10.0.0.1", 80, 2, 0);
	struct pwhy_sock s;

	CHECK_STR(one(&k, TCP4("0.0.0.0", 80, 0)), "match");
	CHECK_STR(one(&k, TCP4("127.0.0.1", 80, 0)), "local-address");
	CHECK_STR(one(&k, TCP4("10.0.0.1", 80, 9)), "bound-device");
	CHECK_STR(one(&k, UDP4("0.0.0.0", 80, "", 0, 0)), "none");
	s = TCP4("0.0.0.0", 80, 0);
	s.state = TCP_CLOSE;	/* bound, listen() never called */
	CHECK_STR(one(&k, s), "not-listening");
	/* an accepted connection from another client does not take a new one */
	s = sock(AF_INET, IPPROTO_TCP, "10.0.0.1", 80, "192.0.2.7", 51000, 0);
	s.state = TCP_ESTABLISHED;
	CHECK_STR(one(&k, s), "peer");
	s = sock(AF_INET, IPPROTO_TCP, "10.0.0.1", 80, "192.0.2.1", 40000, 0);
	s.state = TCP_ESTABLISHED;
	CHECK_STR(one(&k, s), "match");
	k = pkt(AF_INET6, IPPROTO_TCP, "2001:db8::9", 40000, "2001:db8::1", 80, 2, 0);
	CHECK_STR(one(&k, TCP6("::", 80, 0)), "match");
	CHECK_STR(one(&k, TCP6("2001:db8::5", 80, 0)), "local-address");
	CHECK_STR(one(&k, TCP4("0.0.0.0", 80, 0)), "family");
}

static void test_closed_port(void)
{
	struct sock_lookup_key k = pkt(AF_INET, IPPROTO_UDP, "192.0.2.1", 1000, "10.0.0.1", 5354, 2, 0);
	struct pwhy_sock v[4];
	struct sock_candidate c;

	CHECK(sock_match_nearest(&k, v, 0, &c) == 0);
	CHECK(c.sk == NULL);

	v[0] = UDP4("10.0.0.2", 5353, "", 0, 0);		/* other address: not named */
	v[1] = UDP4("10.0.0.1", 40000, "198.51.100.1", 53, 0);	/* a client: not named */
	CHECK(sock_match_nearest(&k, v, 2, &c) == 0);
	CHECK(c.sk == NULL);

	v[2] = UDP4("0.0.0.0", 9999, "", 0, 0);
	v[3] = UDP4("0.0.0.0", 5353, "", 0, 0);		/* nearest port wins */
	CHECK(sock_match_nearest(&k, v, 4, &c) == 0);
	CHECK(c.sk == &v[3]);
	CHECK(c.why == SOCK_MISS_PORT);
	CHECK_STR(sock_miss_name(c.why), "port");

	v[2] = UDP4("10.0.0.1", 9999, "", 0, 0);	/* bound to the address beats wildcard */
	CHECK(sock_match_nearest(&k, v, 4, &c) == 0);
	CHECK(c.sk == &v[2]);
}

static void test_preference(void)
{
	struct sock_lookup_key k = pkt(AF_INET, IPPROTO_UDP, "192.0.2.1", 1000, "10.0.0.1", 53, 4, 5);
	struct pwhy_sock v[6];
	struct sock_candidate c;

	v[0] = UDP6("2001:db8::1", 53, "", 0, 0);		/* family */
	v[1] = UDP4("10.0.0.9", 53, "", 0, 0);			/* local-address + sdif */
	v[2] = UDP4("10.0.0.1", 53, "192.0.2.2", 1000, 0);	/* peer + sdif */
	v[3] = UDP4("10.0.0.1", 53, "", 0, 8);			/* bound-device */
	v[4] = UDP4("127.0.0.1", 53, "", 0, 0);			/* local-address + sdif */
	v[5] = UDP4("0.0.0.0", 53, "", 0, 0);			/* sdif */
	CHECK(sock_match_nearest(&k, v, 6, &c) == 1);
	CHECK(c.sk == &v[5] && c.why == SOCK_MISS_SDIF);
	CHECK(sock_match_nearest(&k, v, 5, &c) == 1);
	CHECK(c.sk == &v[3] && c.why == SOCK_MISS_BOUND_DEV);
	CHECK(sock_match_nearest(&k, v, 3, &c) == 1);
	CHECK(c.sk == &v[2] && c.why == SOCK_MISS_PEER);
	CHECK(c.misses == ((1u << SOCK_MISS_PEER) | (1u << SOCK_MISS_SDIF)));
	CHECK(sock_match_nearest(&k, v, 2, &c) == 1);
	CHECK(c.sk == &v[1] && c.why == SOCK_MISS_LADDR);
	CHECK(sock_match_nearest(&k, v, 1, &c) == 1);
	CHECK(c.sk == &v[0] && c.why == SOCK_MISS_FAMILY);

	/* same reason: fewer failed checks first */
	k.l3mdev_accept = 0;
	v[0] = UDP4("10.0.0.9", 53, "", 0, 0);		/* local-address + sdif */
	v[1] = UDP4("10.0.0.9", 53, "", 0, 4);		/* local-address only */
	CHECK(sock_match_nearest(&k, v, 2, &c) == 1);
	CHECK(c.sk == &v[1] && c.score == -1);

	/* a would-match beats every miss */
	v[2] = UDP4("0.0.0.0", 53, "", 0, 4);
	CHECK(sock_match_nearest(&k, v, 3, &c) == 1);
	CHECK(c.sk == &v[2] && c.why == SOCK_MATCH && c.score > 0);
}

/* When several match, report the one the kernel would pick. */
static void test_kernel_choice(void)
{
	struct sock_lookup_key k = pkt(AF_INET, IPPROTO_UDP, "192.0.2.1", 1000, "10.0.0.1", 53, 2, 0);
	struct pwhy_sock v[4];
	struct sock_candidate c;

	v[0] = UDP6("::", 53, "", 0, 0);
	v[1] = UDP4("0.0.0.0", 53, "", 0, 0);		/* v4 scores above dual-stack */
	CHECK(sock_match_nearest(&k, v, 2, &c) == 1);
	CHECK(c.sk == &v[1]);
	v[2] = UDP4("0.0.0.0", 53, "", 0, 2);		/* bound device scores higher */
	CHECK(sock_match_nearest(&k, v, 3, &c) == 1);
	CHECK(c.sk == &v[2]);
	v[3] = UDP4("10.0.0.1", 53, "", 0, 0);		/* daddr hash is searched first */
	CHECK(sock_match_nearest(&k, v, 4, &c) == 1);
	CHECK(c.sk == &v[3]);

	k = pkt(AF_INET, IPPROTO_TCP, "192.0.2.1", 40000, "10.0.0.1", 80, 2, 0);
	v[0] = TCP6("::", 80, 0);
	v[1] = TCP4("0.0.0.0", 80, 0);
	CHECK(sock_match_nearest(&k, v, 2, &c) == 1);
	CHECK(c.sk == &v[1]);
	v[2] = TCP4("10.0.0.1", 80, 0);
	CHECK(sock_match_nearest(&k, v, 3, &c) == 1);
	CHECK(c.sk == &v[2]);
}

static void test_names(void)
{
	int m;

	for (m = SOCK_MATCH; m < SOCK_MISS_MAX; m++) {
		CHECK(sock_miss_name(m) && *sock_miss_name(m));
		CHECK(sock_miss_explain(m) && *sock_miss_explain(m));
	}
	CHECK_STR(sock_miss_name(SOCK_MATCH), "match");
	CHECK_STR(sock_miss_name(SOCK_MISS_BOUND_DEV), "bound-device");
	CHECK_STR(sock_miss_name(SOCK_MISS_LADDR), "local-address");
	CHECK_STR(sock_miss_name(SOCK_MISS_V6ONLY), "v6only");
	CHECK_STR(sock_miss_name(SOCK_MISS_MAX), "unknown");
	CHECK_STR(sock_miss_name((enum sock_miss)-1), "unknown");
}

int main(void)
{
	RUN_TEST(test_udp4_basic);
	RUN_TEST(test_udp4_peer);
	RUN_TEST(test_tproxy_peer);
	RUN_TEST(test_vrf);
	RUN_TEST(test_udp6);
	RUN_TEST(test_dual_stack);
	RUN_TEST(test_tcp);
	RUN_TEST(test_closed_port);
	RUN_TEST(test_preference);
	RUN_TEST(test_kernel_choice);
	RUN_TEST(test_names);
	TEST_EXIT();
}
