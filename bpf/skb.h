/* SPDX-License-Identifier: GPL-2.0 */
/* Reading an skb from any probe: where its packet starts, its tuple, its netns. */
#ifndef PWHY_SKB_H
#define PWHY_SKB_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <pwhy/event.h>
#include "core_fixes.bpf.h"

#define ETH_P_IP_    0x0800
#define ETH_P_IPV6_  0x86DD
#define ETH_P_8021Q_ 0x8100
#define MAC_UNSET    0xffff

/* Where the packet bytes are: the MAC header when the skb has one in front of the network
 * header, else the network header. Only the linear part is readable. */
struct skb_view {
	__u64 head;
	__u64 pkt;	/* address of the first byte */
	__u32 len;	/* bytes from pkt to tail */
	__u32 wirelen;	/* skb->len seen from pkt: what a capture would call the wire length */
	__u16 start;	/* offset of pkt from head */
	__u16 nh;	/* network header offset from head */
	__u16 th;	/* transport header offset, 0xffff when unset */
	__u8  l2;
};

/* A field of a kernel object. Where the verifier knows the pointer's BTF type (tp_btf, fentry) a
 * plain load is a checked load, several times cheaper than BPF_CORE_READ's helper call; kprobe
 * programs need the helper. `direct` is a constant at each call site of these always-inline
 * functions, so every program keeps only one of the two forms. */
#define KRD(direct, p, field) ((direct) ? (p)->field : BPF_CORE_READ(p, field))

static __always_inline void skb_view_load(struct sk_buff *skb, struct skb_view *v, bool direct)
{
	__u64 head = (__u64)KRD(direct, skb, head);
	__u16 mac = KRD(direct, skb, mac_header);
	__u16 nh = KRD(direct, skb, network_header);
	__u32 tail = KRD(direct, skb, tail);	/* offset on 64-bit kernels */
	__u16 start;

	v->head = head;
	v->nh = nh;
	v->th = KRD(direct, skb, transport_header);
	v->l2 = mac != MAC_UNSET && mac < nh && nh - mac >= 14;
	start = v->l2 ? mac : nh;
	v->start = start;
	v->pkt = head + start;
	v->len = tail > start ? tail - start : 0;
	v->wirelen = KRD(direct, skb, len) + ((__u64)KRD(direct, skb, data) - v->pkt);
}

static __always_inline void skb_view_init(struct sk_buff *skb, struct skb_view *v)
{
	skb_view_load(skb, v, false);
}

static __always_inline void parse_l4(__u64 l4, __u8 proto, struct pwhy_tuple *t)
{
	__u16 ports[2] = {};

	t->l4proto = proto;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		bpf_probe_read_kernel(ports, sizeof(ports), (void *)l4);
		t->sport = bpf_ntohs(ports[0]);
		t->dport = bpf_ntohs(ports[1]);
		if (proto == IPPROTO_TCP)
			bpf_probe_read_kernel(&t->tcp_flags, 1, (void *)(l4 + 13));
	} else if (proto == IPPROTO_ICMP || proto == 58 /* IPPROTO_ICMPV6 */) {
		__u8 type_code[2] = {};

		bpf_probe_read_kernel(type_code, 2, (void *)l4);
		t->sport = type_code[0];	/* type */
		t->dport = type_code[1];	/* code */
	}
}

/* Fill the tuple from the network header; returns the L3 protocol in host order or 0. */
static __always_inline __u16 skb_tuple(struct sk_buff *skb, const struct skb_view *v,
				       struct pwhy_tuple *t)
{
	__u64 l3 = v->head + v->nh;
	__u16 proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	__u8 ver = 0;

	bpf_probe_read_kernel(&ver, 1, (void *)l3);
	ver >>= 4;
	/* skb->protocol is not set yet on the early transmit path: trust the version nibble */
	if (proto == 0 || proto == ETH_P_8021Q_)
		proto = ver == 4 ? ETH_P_IP_ : ver == 6 ? ETH_P_IPV6_ : proto;

	if (proto == ETH_P_IP_ && ver == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), (void *)l3))
			return proto;
		t->family = 2;
		__builtin_memcpy(t->saddr, &ip.saddr, 4);
		__builtin_memcpy(t->daddr, &ip.daddr, 4);
		if (bpf_ntohs(ip.frag_off) & 0x1fff) {
			t->frag = 1;
			t->l4proto = ip.protocol;
			return proto;
		}
		parse_l4(l3 + ip.ihl * 4, ip.protocol, t);
	} else if (proto == ETH_P_IPV6_ && ver == 6) {
		struct ipv6hdr ip6;
		__u64 off = l3 + sizeof(ip6);
		__u8 nexthdr;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), (void *)l3))
			return proto;
		t->family = 10;
		__builtin_memcpy(t->saddr, &ip6.saddr, 16);
		__builtin_memcpy(t->daddr, &ip6.daddr, 16);
		nexthdr = ip6.nexthdr;
		/* skip a few extension headers (hop-by-hop, routing, dest opts, fragment) */
		for (int i = 0; i < 4; i++) {
			__u8 ext[2] = {};

			if (nexthdr != 0 && nexthdr != 43 && nexthdr != 60 && nexthdr != 44)
				break;
			bpf_probe_read_kernel(ext, 2, (void *)off);
			if (nexthdr == 44) {
				__u16 frag_off = 0;

				bpf_probe_read_kernel(&frag_off, 2, (void *)(off + 2));
				off += 8;
				nexthdr = ext[0];
				if (bpf_ntohs(frag_off) & 0xfff8) {
					t->frag = 1;
					t->l4proto = nexthdr;
					return proto;
				}
				continue;
			}
			off += (ext[1] + 1) * 8;
			nexthdr = ext[0];
		}
		parse_l4(off, nexthdr, t);
	}
	return proto;
}

/* What a C bounds check proved, restated on the register that indexes: the compiler may test
 * one copy of an offset and index with another, which the verifier then finds unbounded. */
#define BOUND(off, max) asm volatile("if %[o] <= " #max " goto +1\n\t%[o] = " #max : [o] "+r"(off))

/* The ports (or ICMP type/code) of an L4 header that starts at l4 in a copy of n bytes. */
static __always_inline bool l4_from_copy(const __u8 *b, __u32 n, __u64 l4, __u8 proto,
					 struct pwhy_tuple *t)
{
	__u32 need = proto == IPPROTO_TCP ? 14 : proto == IPPROTO_UDP ? 4 :
		     proto == IPPROTO_ICMP || proto == 58 ? 2 : 0;

	t->l4proto = proto;
	if (!need)
		return true;
	if (l4 > PWHY_PKT_SNAP - 14 || l4 + need > n)
		return false;
	BOUND(l4, 114);		/* PWHY_PKT_SNAP - 14 */
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		t->sport = (__u16)b[l4] << 8 | b[l4 + 1];
		t->dport = (__u16)b[l4 + 2] << 8 | b[l4 + 3];
		if (proto == IPPROTO_TCP)
			t->tcp_flags = b[l4 + 13];
	} else if (proto == IPPROTO_ICMP || proto == 58 /* IPPROTO_ICMPV6 */) {
		t->sport = b[l4];	/* type */
		t->dport = b[l4 + 1];	/* code */
	}
	return true;
}

/* skb_tuple from the packet copy the filter read (b, n bytes from v->pkt), without a helper
 * call. Returns false when the headers are not all in the copy or need walking (IPv6
 * extension headers): skb_tuple then reads them from the skb. */
static __always_inline bool skb_tuple_from_copy(__u16 proto, const struct skb_view *v,
						const __u8 *b, __u32 n, struct pwhy_tuple *t,
						__u16 *l3proto)
{
	__u64 l3 = (__u16)(v->nh - v->start), l4;	/* offsets: the verifier types pointers */
	__u8 ver;

	if (l3 > PWHY_PKT_SNAP - 40 || l3 + 20 > n)
		return false;
	BOUND(l3, 88);		/* PWHY_PKT_SNAP - 40 */
	ver = b[l3] >> 4;
	if (proto == 0 || proto == ETH_P_8021Q_)
		proto = ver == 4 ? ETH_P_IP_ : ver == 6 ? ETH_P_IPV6_ : proto;
	*l3proto = proto;
	if (proto == ETH_P_IP_ && ver == 4) {
		__u32 ihl = (b[l3] & 0xf) * 4;

		t->family = 2;
		__builtin_memcpy(t->saddr, &b[l3 + 12], 4);
		__builtin_memcpy(t->daddr, &b[l3 + 16], 4);
		if (((b[l3 + 6] & 0x1f) | b[l3 + 7]) != 0) {	/* fragment offset */
			t->frag = 1;
			t->l4proto = b[l3 + 9];
			return true;
		}
		return l4_from_copy(b, n, l3 + ihl, b[l3 + 9], t);
	}
	if (proto == ETH_P_IPV6_ && ver == 6) {
		__u8 nexthdr = b[l3 + 6];

		if (l3 + 40 > n || nexthdr == 0 || nexthdr == 43 || nexthdr == 60 || nexthdr == 44)
			return false;
		t->family = 10;
		__builtin_memcpy(t->saddr, &b[l3 + 8], 16);
		__builtin_memcpy(t->daddr, &b[l3 + 24], 16);
		l4 = l3 + 40;
		return l4_from_copy(b, n, l4, nexthdr, t);
	}
	return true;	/* not IP: nothing more to read */
}

/* skb->dev, or NULL where the field holds something else: UDP keeps its receive-queue scratch
 * there (dev_scratch) from enqueue to free. Only a kernel address is followed: a plain load
 * through anything else faults, which a probe survives but pays for with microseconds. */
static __always_inline struct net_device *skb_dev(struct sk_buff *skb, bool direct)
{
	struct net_device *dev = KRD(direct, skb, dev);

	return (__u64)dev >= 0xff00000000000000ULL ? dev : NULL;
}

static __always_inline __u32 skb_netns_load(struct sk_buff *skb, bool direct)
{
	struct net_device *dev = skb_dev(skb, direct);
	struct sock *sk;
	struct net *net;

	if (dev) {
		net = KRD(direct, dev, nd_net.net);
		return net ? KRD(direct, net, ns.inum) : 0;
	}
	sk = KRD(direct, skb, sk);
	if (sk) {
		net = KRD(direct, sk, __sk_common.skc_net.net);
		return net ? KRD(direct, net, ns.inum) : 0;
	}
	return 0;
}

static __always_inline __u32 skb_netns(struct sk_buff *skb)
{
	return skb_netns_load(skb, false);
}

#endif
