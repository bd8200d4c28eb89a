// SPDX-License-Identifier: GPL-2.0
/* pwhy fix pktinfo-oif (seed 000): a tc egress program for the interfaces in scope.
 *
 * A datagram sent with IP_PKTINFO / IPV6_PKTINFO naming interface A keeps A's source address
 * when netfilter's reroute in LOCAL_OUT (ip(6)_route_me_harder) forgets the requested oif and
 * sends it out of B. At B's egress the source address is the only clue left: when it belongs
 * to another interface in scope, and that interface has a route to the destination, the packet
 * is handed to it with bpf_redirect_neigh (IPv4: the kernel's lookup with the owner as a hard
 * oif; IPv6: the owner's gateway as the explicit next hop, whose neighbour user space keeps
 * resolved). Everything else passes untouched (TC_ACT_UNSPEC: later filters still run).
 *
 * The maps are written by user space (apply, then the keeper on every address/route change). */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <pwhy/fix.h>
#include "fix_stats.h"

char LICENSE[] SEC("license") = "GPL";

#define TC_ACT_UNSPEC	(-1)
#define ETH_P_IP_	0x0800
#define ETH_P_IPV6_	0x86DD
#define AF_INET_	2
#define AF_INET6_	10

/* --src was given: only sources inside scope4/scope6 are redirected */
const volatile __u8 cfg_src_scoped;

/* source address -> the interface in scope that owns it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} src4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct fix_in6);
	__type(value, __u32);
} src6 SEC(".maps");

/* (interface, destination) -> route of that interface (all tables, unicast) */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fix_rt4_key);
	__type(value, struct fix_rt4_val);
} rt4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fix_rt6_key);
	__type(value, struct fix_rt6_val);
} rt6 SEC(".maps");

/* --src prefixes */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fix_pfx4_key);
	__type(value, __u8);
} scope4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fix_pfx6_key);
	__type(value, __u8);
} scope6 SEC(".maps");

static __always_inline int fix_v4(struct __sk_buff *skb)
{
	struct { __be32 saddr, daddr; } a;
	struct fix_rt4_key rk = {};
	__u32 *owner, oif;

	if (bpf_skb_load_bytes_relative(skb, 12, &a, sizeof(a), BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;
	owner = bpf_map_lookup_elem(&src4, &a.saddr);
	if (!owner || *owner == skb->ifindex)
		return TC_ACT_UNSPEC;
	oif = *owner;
	/* multicast and limited broadcast follow their own oif rules */
	if ((a.daddr & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000) || a.daddr == 0xffffffff)
		return TC_ACT_UNSPEC;
	if (cfg_src_scoped) {
		struct fix_pfx4_key sk = { .prefixlen = 32, .addr = a.saddr };

		if (!bpf_map_lookup_elem(&scope4, &sk)) {
			count(FIX_CNT_SKIP_SCOPE);
			return TC_ACT_UNSPEC;
		}
	}
	rk.prefixlen = 64;
	rk.ifindex = bpf_htonl(oif);
	rk.addr = a.daddr;
	if (!bpf_map_lookup_elem(&rt4, &rk)) {
		count(FIX_CNT_SKIP_ROUTE);
		return TC_ACT_UNSPEC;
	}
	count(FIX_CNT_REDIR4);
	/* NULL params: the kernel routes with the owner as a hard oif and sets the new dst, so
	 * a packet parked on an unresolved neighbour is later sent by the right device too */
	return bpf_redirect_neigh(oif, NULL, 0, 0);
}

static __always_inline int fix_v6(struct __sk_buff *skb)
{
	struct { struct fix_in6 saddr, daddr; } a;
	struct bpf_redir_neigh nh = {};
	struct fix_rt6_key rk = {};
	struct fix_rt6_val *rt;
	__u32 *owner, oif;
	__u32 gw_set;

	if (bpf_skb_load_bytes_relative(skb, 8, &a, sizeof(a), BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;
	owner = bpf_map_lookup_elem(&src6, &a.saddr);
	if (!owner || *owner == skb->ifindex)
		return TC_ACT_UNSPEC;
	oif = *owner;
	if (a.daddr.a[0] == 0xff)	/* multicast */
		return TC_ACT_UNSPEC;
	if (cfg_src_scoped) {
		struct fix_pfx6_key sk = { .prefixlen = 128 };

		__builtin_memcpy(sk.addr, a.saddr.a, 16);
		if (!bpf_map_lookup_elem(&scope6, &sk)) {
			count(FIX_CNT_SKIP_SCOPE);
			return TC_ACT_UNSPEC;
		}
	}
	rk.prefixlen = 32 + 128;
	rk.ifindex = bpf_htonl(oif);
	__builtin_memcpy(rk.addr, a.daddr.a, 16);
	rt = bpf_map_lookup_elem(&rt6, &rk);
	if (!rt) {
		count(FIX_CNT_SKIP_ROUTE);
		return TC_ACT_UNSPEC;
	}
	/* the kernel's own lookup treats an IPv6 oif only as a preference: name the next hop */
	nh.nh_family = AF_INET6_;
	gw_set = 0;
#pragma unroll
	for (int i = 0; i < 16; i++)
		gw_set |= rt->gw[i];
	__builtin_memcpy(nh.ipv6_nh, gw_set ? rt->gw : a.daddr.a, 16);
	count(FIX_CNT_REDIR6);
	return bpf_redirect_neigh(oif, &nh, sizeof(nh), 0);
}

SEC("tc")
int pwhy_fix_oif(struct __sk_buff *skb)
{
	count(FIX_CNT_SEEN);
	if (skb->protocol == bpf_htons(ETH_P_IP_))
		return fix_v4(skb);
	if (skb->protocol == bpf_htons(ETH_P_IPV6_))
		return fix_v6(skb);
	return TC_ACT_UNSPEC;
}
