/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hand-built packet corpus for the filter differential test: every IP packet exists twice,
 * once as an Ethernet frame (optionally 802.1Q / QinQ tagged) and once as raw L3 (DLT_RAW).
 * Truncated packets keep the full bytes in the buffer past caplen, so a filter that reads past
 * caplen would see data that matches.
 */
#ifndef PWHY_TEST_FILTER_CORPUS_H
#define PWHY_TEST_FILTER_CORPUS_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PKT_MAX    512 /* bytes stored per packet (and the test map's value size) */
#define CORPUS_MAX 96

struct pkt {
	char name[72];
	uint8_t data[PKT_MAX];
	uint32_t caplen;  /* bytes the filter may read */
	uint32_t wirelen; /* length on the wire */
};

struct corpus {
	struct pkt eth[CORPUS_MAX];
	size_t neth;
	struct pkt raw[CORPUS_MAX];
	size_t nraw;
};

/* Layer-2 framing of an IP packet in the Ethernet corpus. */
struct l2 {
	const char *dst, *src; /* MAC addresses */
	uint16_t outer_tpid;   /* 0: untagged, else 0x8100 / 0x88a8 */
	uint16_t outer_vid;
	uint16_t inner_vid;    /* QinQ: inner 802.1Q tag when non-zero */
};

#define MAC_A     "02:00:00:00:00:01"
#define MAC_B     "02:00:00:00:00:02"
#define MAC_BCAST "ff:ff:ff:ff:ff:ff"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
	return 4;
}

static void put_mac(uint8_t *p, const char *mac)
{
	unsigned b[6];

	if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		b[0] = b[1] = b[2] = b[3] = b[4] = b[5] = 0xee;
	for (int i = 0; i < 6; i++)
		p[i] = (uint8_t)b[i];
}

static size_t mk_udp(uint8_t *p, uint16_t sport, uint16_t dport, const void *pl, size_t n)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (uint16_t)(8 + n));
	put16(p + 6, 0);
	if (n)
		memcpy(p + 8, pl, n);
	return 8 + n;
}

/* optwords: 32-bit words of TCP options (MSS, then NOPs) */
static size_t mk_tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint8_t flags, int optwords,
		     const void *pl, size_t n)
{
	size_t h = 20 + 4 * (size_t)optwords;

	memset(p, 0, h);
	put16(p, sport);
	put16(p + 2, dport);
	put32(p + 4, 0x01020304);
	put32(p + 8, (flags & TH_ACK) ? 0x0a0b0c0d : 0);
	p[12] = (uint8_t)((5 + optwords) << 4);
	p[13] = flags;
	put16(p + 14, 65535);
	if (optwords) {
		memset(p + 20, 1, h - 20);
		p[20] = 2;
		p[21] = 4;
		put16(p + 22, 1460);
	}
	if (n)
		memcpy(p + h, pl, n);
	return h + n;
}

/* ICMP or ICMPv6 echo-style message: type, code, id, seq, 8 bytes of data */
static size_t mk_icmp(uint8_t *p, uint8_t type, uint8_t code, uint16_t id, uint16_t seq)
{
	p[0] = type;
	p[1] = code;
	put16(p + 2, 0);
	put16(p + 4, id);
	put16(p + 6, seq);
	memcpy(p + 8, "pingpong", 8);
	return 16;
}

/* optwords: 32-bit words of IP options (router alert, then NOPs); frag: flags|offset word */
static size_t mk_ipv4(uint8_t *p, const char *src, const char *dst, uint8_t proto, int optwords,
		      uint16_t frag, uint8_t tos, uint8_t ttl, const uint8_t *l4, size_t n)
{
	size_t h = 20 + 4 * (size_t)optwords;

	memset(p, 0, h);
	p[0] = (uint8_t)(0x40 | (5 + optwords));
	p[1] = tos;
	put16(p + 2, (uint16_t)(h + n));
	put16(p + 4, 0x1c46);
	put16(p + 6, frag);
	p[8] = ttl;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	if (optwords) {
		memset(p + 20, 1, h - 20);
		p[20] = 0x94;
		p[21] = 4;
		p[22] = p[23] = 0;
	}
	memcpy(p + h, l4, n);
	return h + n;
}

static size_t mk_ipv6(uint8_t *p, const char *src, const char *dst, uint8_t nh, uint8_t hlim,
		      const uint8_t *pl, size_t n)
{
	memset(p, 0, 40);
	put32(p, 0x60012345);
	put16(p + 4, (uint16_t)n);
	p[6] = nh;
	p[7] = hlim;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, dst, p + 24);
	memcpy(p + 40, pl, n);
	return 40 + n;
}

/* IPv6 extension headers (8 bytes each) placed in front of an upper-layer payload */
static size_t mk_hopbyhop(uint8_t *p, uint8_t nh, const uint8_t *pl, size_t n)
{
	p[0] = nh;
	p[1] = 0;
	p[2] = 1; /* PadN */
	p[3] = 4;
	memset(p + 4, 0, 4);
	memcpy(p + 8, pl, n);
	return 8 + n;
}

static size_t mk_frag6(uint8_t *p, uint8_t nh, uint16_t off8, int more, const uint8_t *pl,
		       size_t n)
{
	p[0] = nh;
	p[1] = 0;
	put16(p + 2, (uint16_t)((off8 << 3) | (more ? 1 : 0)));
	put32(p + 4, 0xcafe);
	memcpy(p + 8, pl, n);
	return 8 + n;
}

static struct pkt *corpus_slot(struct pkt *arr, size_t *n, const char *name)
{
	struct pkt *p;

	if (*n >= CORPUS_MAX) {
		fprintf(stderr, "corpus full\n");
		return NULL;
	}
	p = &arr[(*n)++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

/*
 * An IP packet in both corpora.  keep: L3 bytes captured (-1: all).  wire_extra: bytes that
 * were on the wire but never captured (added to both wirelen values).
 */
static void add_ip(struct corpus *c, const char *name, const uint8_t *l3, size_t n,
		   const struct l2 *l2, int keep, uint32_t wire_extra)
{
	static const struct l2 plain = { MAC_B, MAC_A, 0, 0, 0 };
	uint16_t type = (l3[0] >> 4) == 6 ? 0x86dd : 0x0800;
	struct pkt *e, *r;
	size_t off = 12, cap = keep < 0 ? n : (size_t)keep;

	if (!l2)
		l2 = &plain;
	e = corpus_slot(c->eth, &c->neth, name);
	if (e) {
		put_mac(e->data, l2->dst);
		put_mac(e->data + 6, l2->src);
		if (l2->outer_tpid) {
			off += put16(e->data + off, l2->outer_tpid);
			off += put16(e->data + off, l2->outer_vid);
			if (l2->inner_vid) {
				off += put16(e->data + off, 0x8100);
				off += put16(e->data + off, l2->inner_vid);
			}
		}
		off += put16(e->data + off, type);
		memcpy(e->data + off, l3, n + off > PKT_MAX ? PKT_MAX - off : n);
		e->caplen = (uint32_t)(off + cap);
		e->wirelen = (uint32_t)(off + n) + wire_extra;
	}
	r = corpus_slot(c->raw, &c->nraw, name);
	if (r) {
		memcpy(r->data, l3, n);
		r->caplen = (uint32_t)cap;
		r->wirelen = (uint32_t)n + wire_extra;
	}
}

/* A frame in only one corpus, bytes as given. */
static void add_bytes(struct pkt *arr, size_t *cnt, const char *name, const uint8_t *b, size_t n,
		      uint32_t caplen, uint32_t wirelen)
{
	struct pkt *p = corpus_slot(arr, cnt, name);

	if (!p)
		return;
	memcpy(p->data, b, n);
	p->caplen = caplen;
	p->wirelen = wirelen;
}

static size_t mk_arp(uint8_t *p, const char *dmac, const char *smac, uint16_t op,
		     const char *sha, const char *spa, const char *tha, const char *tpa)
{
	put_mac(p, dmac);
	put_mac(p + 6, smac);
	put16(p + 12, 0x0806);
	put16(p + 14, 1);
	put16(p + 16, 0x0800);
	p[18] = 6;
	p[19] = 4;
	put16(p + 20, op);
	put_mac(p + 22, sha);
	inet_pton(AF_INET, spa, p + 28);
	put_mac(p + 32, tha);
	inet_pton(AF_INET, tpa, p + 38);
	memset(p + 42, 0, 18); /* pad to 60 */
	return 60;
}

static void corpus_build(struct corpus *c)
{
	static const uint8_t dns[] = { 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
				       7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
				       0, 1, 0, 1 };
	static const uint8_t magic[] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4 };
	static const uint8_t sel[] = { 0x02, 0x00, 0x01, 0x02 }; /* udp[8 + (udp[8] & 3)] */
	static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const struct l2 mcast4 = { "01:00:5e:00:00:fb", MAC_A, 0, 0, 0 };
	static const struct l2 bcast = { MAC_BCAST, MAC_A, 0, 0, 0 };
	static const struct l2 mcast6 = { "33:33:ff:00:00:02", MAC_A, 0, 0, 0 };
	static const struct l2 vlan100 = { MAC_B, MAC_A, 0x8100, 100, 0 };
	static const struct l2 vlan200 = { MAC_B, MAC_A, 0x8100, 0x2000 | 200, 0 }; /* prio 1 */
	static const struct l2 qinq = { MAC_B, MAC_A, 0x88a8, 10, 100 };
	uint8_t l4[PKT_MAX], l4b[PKT_MAX], l3[PKT_MAX], fr[PKT_MAX];
	size_t n, m;

	memset(c, 0, sizeof(*c));

	/* ---- IPv4 UDP ---- */
	n = mk_udp(l4, 1234, 53, dns, sizeof(dns));
	m = mk_ipv4(l3, "10.0.0.1", "10.0.0.2", 17, 0, 0x4000, 0, 64, l4, n);
	add_ip(c, "ipv4 udp 10.0.0.1:1234 > 10.0.0.2:53 dns", l3, m, NULL, -1, 0);
	add_ip(c, "ipv4 udp dns, caplen ends inside udp dport", l3, m, NULL, 22, 0);

	n = mk_udp(l4, 5353, 5353, dns, sizeof(dns));
	m = mk_ipv4(l3, "192.0.2.1", "224.0.0.251", 17, 0, 0, 0, 255, l4, n);
	add_ip(c, "ipv4 udp mdns multicast 224.0.0.251", l3, m, &mcast4, -1, 0);

	n = mk_udp(l4, 68, 67, magic, sizeof(magic));
	m = mk_ipv4(l3, "0.0.0.0", "255.255.255.255", 17, 0, 0, 0x10, 64, l4, n);
	add_ip(c, "ipv4 udp dhcp broadcast", l3, m, &bcast, -1, 0);

	n = mk_udp(l4, 40000, 9000, magic, sizeof(magic));
	m = mk_ipv4(l3, "10.200.3.4", "198.51.100.7", 17, 0, 0, 0, 64, l4, n);
	add_ip(c, "ipv4 udp 10.200.3.4 > 198.51.100.7:9000 deadbeef", l3, m, NULL, -1, 0);
	add_ip(c, "ipv4 udp deadbeef, caplen cuts payload word", l3, m, NULL, 30, 0);

	n = mk_udp(l4, 1500, 2000, sel, sizeof(sel));
	m = mk_ipv4(l3, "172.16.5.4", "10.0.0.1", 17, 1, 0, 0, 1, l4, n);
	add_ip(c, "ipv4 opts(ihl 6) udp 1500 > 2000", l3, m, NULL, -1, 0);

	{
		uint8_t big[300];

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)i;
		n = mk_udp(l4, 7777, 9000, big, sizeof(big));
		m = mk_ipv4(l3, "10.0.0.1", "10.9.9.9", 17, 0, 0, 0, 64, l4, n);
		put16(l3 + 2, 1480);
		put16(l3 + 24, 1460);
		add_ip(c, "ipv4 udp 1480 bytes on wire, 328 captured", l3, m, NULL, -1, 1480 - 328);
	}

	/* ---- IPv4 TCP ---- */
	n = mk_tcp(l4, 40000, 80, TH_SYN, 0, NULL, 0);
	m = mk_ipv4(l3, "10.0.0.1", "93.184.216.34", 6, 0, 0x4000, 0, 64, l4, n);
	add_ip(c, "ipv4 tcp syn 10.0.0.1:40000 > :80", l3, m, NULL, -1, 0);
	add_ip(c, "ipv4 tcp syn, caplen ends inside ip header", l3, m, NULL, 16, 0);
	add_ip(c, "ipv4 tcp syn, caplen ends inside tcp dport", l3, m, NULL, 23, 0);

	n = mk_tcp(l4, 80, 40000, TH_SYN | TH_ACK, 1, NULL, 0);
	m = mk_ipv4(l3, "93.184.216.34", "10.0.0.1", 6, 0, 0x4000, 0, 57, l4, n);
	add_ip(c, "ipv4 tcp syn-ack 93.184.216.34:80 > :40000", l3, m, NULL, -1, 0);

	n = mk_tcp(l4, 40000, 80, TH_RST, 0, NULL, 0);
	m = mk_ipv4(l3, "10.0.0.1", "93.184.216.34", 6, 0, 0x4000, 0, 64, l4, n);
	add_ip(c, "ipv4 tcp rst", l3, m, NULL, -1, 0);

	n = mk_tcp(l4, 40001, 443, TH_FIN | TH_ACK, 3, NULL, 0);
	m = mk_ipv4(l3, "10.0.0.1", "192.0.2.1", 6, 0, 0x4000, 0, 64, l4, n);
	add_ip(c, "ipv4 tcp fin-ack :443 tcp opts", l3, m, NULL, -1, 0);

	n = mk_tcp(l4, 40002, 80, TH_PSH | TH_ACK, 0, get, sizeof(get) - 1);
	m = mk_ipv4(l3, "10.0.0.1", "93.184.216.34", 6, 0, 0x4000, 0, 64, l4, n);
	add_ip(c, "ipv4 tcp psh-ack http GET", l3, m, NULL, -1, 0);

	n = mk_tcp(l4, 40003, 80, TH_PSH | TH_ACK, 2, get, sizeof(get) - 1);
	m = mk_ipv4(l3, "10.0.0.3", "93.184.216.34", 6, 2, 0x4000, 0, 64, l4, n);
	add_ip(c, "ipv4 opts(ihl 7) tcp opts psh-ack http GET", l3, m, NULL, -1, 0);

	n = mk_tcp(l4, 51000, 22, TH_ACK, 0, "ssh", 3);
	m = mk_ipv4(l3, "10.0.0.2", "10.0.0.1", 6, 0, 0x4000, 0x28, 64, l4, n);
	add_ip(c, "ipv4 tcp ack :22 tos 0x28", l3, m, NULL, -1, 0);

	n = mk_tcp(l4, 1500, 33000, TH_ACK, 0, NULL, 0);
	m = mk_ipv4(l3, "203.0.113.9", "10.0.0.1", 6, 3, 0x4000, 0x2e, 0, l4, n);
	add_ip(c, "ipv4 opts(ihl 8) tcp 1500 > 33000 ttl 0 tos 0x2e", l3, m, NULL, -1, 0);

	/* ---- ICMP, GRE ---- */
	n = mk_icmp(l4, 8, 0, 0x77, 1);
	m = mk_ipv4(l3, "10.0.0.1", "192.0.2.1", 1, 0, 0, 0, 64, l4, n);
	add_ip(c, "ipv4 icmp echo request 10.0.0.1 > 192.0.2.1", l3, m, NULL, -1, 0);

	n = mk_icmp(l4, 0, 0, 0x77, 1);
	m = mk_ipv4(l3, "192.0.2.1", "10.0.0.1", 1, 0, 0, 0, 61, l4, n);
	add_ip(c, "ipv4 icmp echo reply 192.0.2.1 > 10.0.0.1", l3, m, NULL, -1, 0);

	n = mk_icmp(l4, 3, 3, 0, 0);
	m = mk_ipv4(l3, "10.0.0.2", "10.0.0.1", 1, 1, 0, 0xc0, 64, l4, n);
	add_ip(c, "ipv4 opts icmp port unreachable", l3, m, NULL, -1, 0);

	memset(l4, 0, 8);
	put16(l4 + 2, 0x0800);
	m = mk_ipv4(l3, "198.51.100.1", "198.51.100.2", 47, 0, 0, 0, 64, l4, 8);
	add_ip(c, "ipv4 gre", l3, m, NULL, -1, 0);

	/* ---- IPv4 fragments ---- */
	n = mk_udp(l4, 1234, 53, dns, sizeof(dns));
	m = mk_ipv4(l3, "10.0.0.1", "10.0.0.2", 17, 0, 0x2000, 0, 64, l4, n);
	add_ip(c, "ipv4 udp first fragment (MF, off 0) :53", l3, m, NULL, -1, 0);
	m = mk_ipv4(l3, "10.0.0.1", "10.0.0.2", 17, 0, 0x2000 | 185, 0, 64, l4, n);
	add_ip(c, "ipv4 udp middle fragment (MF, off 185)", l3, m, NULL, -1, 0);
	m = mk_ipv4(l3, "10.0.0.1", "10.0.0.2", 6, 0, 370, 0, 64, l4, n);
	add_ip(c, "ipv4 tcp last fragment (off 370)", l3, m, NULL, -1, 0);

	/* ---- IPv6 ---- */
	n = mk_udp(l4, 1234, 53, dns, sizeof(dns));
	m = mk_ipv6(l3, "2001:db8::1", "2001:db8::2", 17, 64, l4, n);
	add_ip(c, "ipv6 udp 2001:db8::1 > ::2 :53", l3, m, NULL, -1, 0);
	add_ip(c, "ipv6 udp, caplen ends inside ipv6 header", l3, m, NULL, 30, 0);

	n = mk_tcp(l4, 50000, 443, TH_SYN, 1, NULL, 0);
	m = mk_ipv6(l3, "2001:db8::1", "2606:4700::1111", 6, 64, l4, n);
	add_ip(c, "ipv6 tcp syn > 2606:4700::1111:443", l3, m, NULL, -1, 0);

	n = mk_tcp(l4, 80, 50001, TH_PSH | TH_ACK, 0, get, sizeof(get) - 1);
	m = mk_ipv6(l3, "2001:db8:1::80", "2001:db8::1", 6, 60, l4, n);
	add_ip(c, "ipv6 tcp psh-ack from :80", l3, m, NULL, -1, 0);

	n = mk_icmp(l4, 128, 0, 9, 9);
	m = mk_ipv6(l3, "2001:db8::1", "2001:db8::2", 58, 64, l4, n);
	add_ip(c, "ipv6 icmp6 echo request", l3, m, NULL, -1, 0);

	n = mk_icmp(l4, 135, 0, 0, 0);
	m = mk_ipv6(l3, "fe80::1", "ff02::1:ff00:2", 58, 255, l4, n);
	add_ip(c, "ipv6 icmp6 neighbor solicitation multicast", l3, m, &mcast6, -1, 0);

	n = mk_udp(l4, 546, 547, magic, sizeof(magic));
	m = mk_hopbyhop(l4b, 17, l4, n);
	m = mk_ipv6(l3, "fe80::2", "ff02::1:2", 0, 1, l4b, m);
	add_ip(c, "ipv6 hop-by-hop + udp 546 > 547", l3, m, &mcast6, -1, 0);

	n = mk_udp(l4, 1234, 53, dns, sizeof(dns));
	m = mk_frag6(fr, 17, 0, 1, l4, n);
	m = mk_ipv6(l3, "2001:db8::1", "2001:db8::2", 44, 64, fr, m);
	add_ip(c, "ipv6 fragment header (first) + udp :53", l3, m, NULL, -1, 0);

	n = mk_tcp(l4, 40000, 80, TH_SYN, 0, NULL, 0);
	m = mk_ipv6(l3, "2001:db8::99", "2001:db8::2", 6, 64, l4, n);
	add_ip(c, "ipv6 tcp syn, caplen ends inside tcp header", l3, m, NULL, 44, 0);

	/* ---- VLAN tagged ---- */
	n = mk_udp(l4, 1234, 53, dns, sizeof(dns));
	m = mk_ipv4(l3, "10.1.0.1", "10.1.0.2", 17, 0, 0, 0, 64, l4, n);
	add_ip(c, "vlan 100 ipv4 udp :53", l3, m, &vlan100, -1, 0);

	n = mk_tcp(l4, 40000, 80, TH_SYN, 0, NULL, 0);
	m = mk_ipv4(l3, "10.1.0.1", "10.1.0.9", 6, 0, 0, 0, 64, l4, n);
	add_ip(c, "vlan 200 (prio 1) ipv4 tcp syn :80", l3, m, &vlan200, -1, 0);

	n = mk_udp(l4, 1234, 53, dns, sizeof(dns));
	m = mk_ipv6(l3, "2001:db8::1", "2001:db8::2", 17, 64, l4, n);
	add_ip(c, "vlan 100 ipv6 udp :53", l3, m, &vlan100, -1, 0);

	n = mk_udp(l4, 5000, 6000, magic, sizeof(magic));
	m = mk_ipv4(l3, "10.2.0.1", "10.2.0.2", 17, 0, 0, 0, 64, l4, n);
	add_ip(c, "qinq 10/100 ipv4 udp 5000 > 6000", l3, m, &qinq, -1, 0);

	/* ---- Ethernet only ---- */
	{
		uint8_t f[PKT_MAX];

		m = mk_arp(f, MAC_BCAST, MAC_A, 1, MAC_A, "10.0.0.1", "00:00:00:00:00:00",
			   "10.0.0.2");
		add_bytes(c->eth, &c->neth, "arp request who-has 10.0.0.2", f, m, m, m);
		m = mk_arp(f, MAC_A, MAC_B, 2, MAC_B, "10.0.0.2", MAC_A, "10.0.0.1");
		add_bytes(c->eth, &c->neth, "arp reply 10.0.0.2 is-at", f, m, m, m);

		memset(f, 0, 60);
		put_mac(f, "01:80:c2:00:00:0e");
		put_mac(f + 6, MAC_A);
		put16(f + 12, 0x88cc);
		add_bytes(c->eth, &c->neth, "lldp", f, 60, 60, 60);

		n = mk_udp(l4, 1234, 53, dns, sizeof(dns));
		m = mk_ipv4(l3, "10.0.0.1", "10.0.0.2", 17, 0, 0, 0, 64, l4, n);
		put_mac(f, MAC_B);
		put_mac(f + 6, MAC_A);
		put16(f + 12, 0x0800);
		memcpy(f + 14, l3, m);
		add_bytes(c->eth, &c->neth, "ethernet truncated to 10 bytes", f, m + 14, 10, m + 14);
		add_bytes(c->eth, &c->neth, "ethernet caplen 0", f, m + 14, 0, m + 14);
		add_bytes(c->eth, &c->neth, "ethernet caplen 13 (ethertype half)", f, m + 14, 13,
			  m + 14);

		/* raw-only oddities: not an IP version, a 1-byte and an empty capture */
		memcpy(f, l3, m);
		f[0] = 0x55;
		add_bytes(c->raw, &c->nraw, "raw version nibble 5", f, m, m, m);
		f[0] = 0x45;
		add_bytes(c->raw, &c->nraw, "raw 1 byte captured", f, m, 1, m);
		add_bytes(c->raw, &c->nraw, "raw caplen 0", f, m, 0, m);
	}
}

#endif
