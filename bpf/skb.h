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

static __always_inline __u32 skb_netns_load(struct sk_buff *skb, bool direct)
{
	struct net_device *dev = KRD(direct, skb, dev);
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
