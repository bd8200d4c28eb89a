// SPDX-License-Identifier: GPL-2.0
/* pwhy fix vrf-lookup (seed 003): a tc ingress program on each slave of one VRF.
 *
 * A packet that enters through a VRF slave is tagged with the VRF (sdif != 0), and an unbound
 * socket refuses it while net.ipv4.{udp,tcp}_l3mdev_accept is 0, even when the destination is
 * a local address of the main routing domain. For destinations in the fix's scope (address,
 * port; TCP and UDP) that are local in the main domain, this program rewrites the Ethernet
 * destination to the target device's MAC and re-injects the packet at the target's ingress
 * (bpf_redirect with BPF_F_INGRESS; the target, `lo` by default, is not enslaved), so the stack
 * sees it without VRF tagging and unbound sockets match. ICMP errors about in-scope flows take
 * the same way, so that PMTU discovery and ECONNREFUSED keep working.
 *
 * Fragments are redirected only when the scope names no port (later fragments carry none).
 * IPv6 extension headers other than a fragment header are not parsed (left alone). */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <pwhy/fix.h>
#include "fix_stats.h"

char LICENSE[] SEC("license") = "GPL";

#define TC_ACT_UNSPEC	(-1)
#define ETH_P_IP_	0x0800
#define ETH_P_IPV6_	0x86DD
#define IPPROTO_ICMPV6_	58
#define IPPROTO_FRAG6_	44
#define BPF_F_INGRESS_	1

const volatile __u32 cfg_target_ifindex;
const volatile __u8 cfg_target_mac[6];
const volatile __u8 cfg_have_addrs;	/* --addr given: the destination must be one of them */
const volatile __u8 cfg_have_ports;	/* --port given: the destination port must be one */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} addr4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct fix_in6);
	__type(value, __u8);
} addr6 SEC(".maps");

/* destination ports (host order), TCP and UDP alike */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, __u8);
} ports SEC(".maps");

/* local routes of the main routing domain (tables local and main), kept by user space */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fix_pfx4_key);
	__type(value, __u8);
} local4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fix_pfx6_key);
	__type(value, __u8);
} local6 SEC(".maps");

static __always_inline int port_ok(int have_port, __u16 port)
{
	if (!cfg_have_ports)
		return 1;
	return have_port && bpf_map_lookup_elem(&ports, &port);
}

/* Hand the packet to the target's ingress, with the target's MAC as destination (else
 * eth_type_trans makes it PACKET_OTHERHOST and IP drops it). */
static __always_inline int redirect(struct __sk_buff *skb, __u32 cnt)
{
	__u8 mac[6];

#pragma unroll
	for (int i = 0; i < 6; i++)
		mac[i] = cfg_target_mac[i];
	if (bpf_skb_store_bytes(skb, 0, mac, sizeof(mac), 0))
		return TC_ACT_UNSPEC;
	count(cnt);
	return bpf_redirect(cfg_target_ifindex, BPF_F_INGRESS_);
}

static __always_inline int local4_ok(__be32 daddr)
{
	struct fix_pfx4_key k = { .prefixlen = 32, .addr = daddr };

	if (bpf_map_lookup_elem(&local4, &k))
		return 1;
	count(FIX_CNT_SKIP_ROUTE);
	return 0;
}

static __always_inline int local6_ok(const __u8 *daddr)
{
	struct fix_pfx6_key k = { .prefixlen = 128 };

	__builtin_memcpy(k.addr, daddr, 16);
	if (bpf_map_lookup_elem(&local6, &k))
		return 1;
	count(FIX_CNT_SKIP_ROUTE);
	return 0;
}

static __always_inline int fix_v4(struct __sk_buff *skb)
{
	struct iphdr ip, in;
	__u16 l4[2] = {};
	__u32 hl, frag;
	__u8 type;

	if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;
	if (ip.version != 4 || ip.ihl < 5)
		return TC_ACT_UNSPEC;
	hl = ip.ihl * 4;
	frag = bpf_ntohs(ip.frag_off) & 0x3fff;	/* MF and offset */

	if (ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP) {
		int have_port = !frag;

		if (cfg_have_addrs && !bpf_map_lookup_elem(&addr4, &ip.daddr))
			return TC_ACT_UNSPEC;
		if (frag && cfg_have_ports)
			return TC_ACT_UNSPEC;
		if (have_port && bpf_skb_load_bytes_relative(skb, hl, l4, sizeof(l4), BPF_HDR_START_NET))
			return TC_ACT_UNSPEC;
		if (!port_ok(have_port, bpf_ntohs(l4[1])))
			return TC_ACT_UNSPEC;
		if (!local4_ok(ip.daddr))
			return TC_ACT_UNSPEC;
		return redirect(skb, FIX_CNT_REDIR4);
	}
	if (ip.protocol != IPPROTO_ICMP || frag)
		return TC_ACT_UNSPEC;
	/* destination unreachable, time exceeded, parameter problem about a packet we sent:
	 * the inner header's source is our address and port */
	if (bpf_skb_load_bytes_relative(skb, hl, &type, 1, BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;
	if (type != 3 && type != 11 && type != 12)
		return TC_ACT_UNSPEC;
	if (bpf_skb_load_bytes_relative(skb, hl + 8, &in, sizeof(in), BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;
	if (in.version != 4 || in.ihl < 5 ||
	    (in.protocol != IPPROTO_TCP && in.protocol != IPPROTO_UDP))
		return TC_ACT_UNSPEC;
	if (in.saddr != ip.daddr)
		return TC_ACT_UNSPEC;
	if (cfg_have_addrs && !bpf_map_lookup_elem(&addr4, &in.saddr))
		return TC_ACT_UNSPEC;
	if (bpf_skb_load_bytes_relative(skb, hl + 8 + in.ihl * 4, l4, sizeof(l4), BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;
	if (!port_ok(1, bpf_ntohs(l4[0])) || !local4_ok(ip.daddr))
		return TC_ACT_UNSPEC;
	return redirect(skb, FIX_CNT_ICMP);
}

static __always_inline int fix_v6(struct __sk_buff *skb)
{
	struct ipv6hdr ip, in;
	__u8 nexthdr, type;
	__u16 l4[2] = {};
	__u32 off = sizeof(ip);
	int have_port = 1;

	if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;
	if (ip.version != 6)
		return TC_ACT_UNSPEC;
	nexthdr = ip.nexthdr;
	if (nexthdr == IPPROTO_FRAG6_) {
		__u8 fh[4];

		if (bpf_skb_load_bytes_relative(skb, off, fh, sizeof(fh), BPF_HDR_START_NET))
			return TC_ACT_UNSPEC;
		nexthdr = fh[0];
		have_port = 0;
	}
	if (nexthdr == IPPROTO_TCP || nexthdr == IPPROTO_UDP) {
		if (cfg_have_addrs && !bpf_map_lookup_elem(&addr6, &ip.daddr))
			return TC_ACT_UNSPEC;
		if (!have_port && cfg_have_ports)
			return TC_ACT_UNSPEC;
		if (have_port && bpf_skb_load_bytes_relative(skb, off, l4, sizeof(l4), BPF_HDR_START_NET))
			return TC_ACT_UNSPEC;
		if (!port_ok(have_port, bpf_ntohs(l4[1])))
			return TC_ACT_UNSPEC;
		if (!local6_ok((const __u8 *)&ip.daddr))
			return TC_ACT_UNSPEC;
		return redirect(skb, FIX_CNT_REDIR6);
	}
	if (nexthdr != IPPROTO_ICMPV6_ || !have_port)
		return TC_ACT_UNSPEC;
	/* destination unreachable, packet too big, time exceeded, parameter problem */
	if (bpf_skb_load_bytes_relative(skb, off, &type, 1, BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;
	if (type < 1 || type > 4)
		return TC_ACT_UNSPEC;
	if (bpf_skb_load_bytes_relative(skb, off + 8, &in, sizeof(in), BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;
	if (in.nexthdr != IPPROTO_TCP && in.nexthdr != IPPROTO_UDP)
		return TC_ACT_UNSPEC;
	if (in.saddr.in6_u.u6_addr32[0] != ip.daddr.in6_u.u6_addr32[0] ||
	    in.saddr.in6_u.u6_addr32[1] != ip.daddr.in6_u.u6_addr32[1] ||
	    in.saddr.in6_u.u6_addr32[2] != ip.daddr.in6_u.u6_addr32[2] ||
	    in.saddr.in6_u.u6_addr32[3] != ip.daddr.in6_u.u6_addr32[3])
		return TC_ACT_UNSPEC;
	if (cfg_have_addrs && !bpf_map_lookup_elem(&addr6, &in.saddr))
		return TC_ACT_UNSPEC;
	if (bpf_skb_load_bytes_relative(skb, off + 8 + sizeof(in), l4, sizeof(l4), BPF_HDR_START_NET))
		return TC_ACT_UNSPEC;
	if (!port_ok(1, bpf_ntohs(l4[0])) || !local6_ok((const __u8 *)&ip.daddr))
		return TC_ACT_UNSPEC;
	return redirect(skb, FIX_CNT_ICMP);
}

SEC("tc")
int pwhy_fix_vrf(struct __sk_buff *skb)
{
	count(FIX_CNT_SEEN);
	if (skb->protocol == bpf_htons(ETH_P_IP_))
		return fix_v4(skb);
	if (skb->protocol == bpf_htons(ETH_P_IPV6_))
		return fix_v6(skb);
	return TC_ACT_UNSPEC;
}
