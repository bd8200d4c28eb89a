/* SPDX-License-Identifier: GPL-2.0 */
/* Every kernel-version difference the probes care about lives here, resolved with CO-RE. */
#ifndef PWHY_CORE_FIXES_BPF_H
#define PWHY_CORE_FIXES_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_core_read.h>

/* Before 6.5 the transparent flag was a bitfield of inet_sock; later it is a bit of
 * inet_flags whose number is an anonymous-enum value, found by user space in BTF. */
struct inet_sock___bitfield {
	__u8 transparent: 1;
} __attribute__((preserve_access_index));

extern const volatile __u32 cfg_inet_flags_transparent_bit;

static __always_inline int sk_is_transparent(struct sock *sk)
{
	if (bpf_core_field_exists(struct inet_sock___bitfield, transparent)) {
		struct inet_sock___bitfield *old = (void *)sk;
		return BPF_CORE_READ_BITFIELD_PROBED(old, transparent);
	}
	if (bpf_core_field_exists(struct inet_sock, inet_flags)) {
		unsigned long flags = BPF_CORE_READ((struct inet_sock *)sk, inet_flags);
		__u32 bit = cfg_inet_flags_transparent_bit;
		return bit < 64 ? (flags >> bit) & 1 : 0;
	}
	return 0;
}

/* TCP moves IPCB/IP6CB into TCP_SKB_CB(skb)->header before it drops with NO_SOCKET. */
static __always_inline void *skb_l3_parm(struct sk_buff *skb, __u8 l4proto)
{
	void *cb = (void *)skb + bpf_core_field_offset(struct sk_buff, cb);

	if (l4proto == 6 /* IPPROTO_TCP */)
		return cb + bpf_core_field_offset(struct tcp_skb_cb, header);
	return cb;
}

static __always_inline __u32 net_inum(struct net *net)
{
	return net ? BPF_CORE_READ(net, ns.inum) : 0;
}

#endif
