/* SPDX-License-Identifier: GPL-2.0 */
/* What socket lookup used for a dropped skb: dif/sdif as inet_iif/inet_sdif (and the v6
 * twins) compute them. Shared by the trace probes and the drop report. */
#ifndef PWHY_DROP_KEYS_H
#define PWHY_DROP_KEYS_H

#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <pwhy/event.h>
#include "core_fixes.bpf.h"

static __always_inline void skb_drop_lookup_keys(struct sk_buff *skb, const struct pwhy_tuple *t,
						 struct pwhy_drop_facts *d)
{
	void *parm = skb_l3_parm(skb, t->l4proto);
	__u16 flags = 0;
	int iif = 0;

	if (t->family == 2) {
		struct inet_skb_parm *p = parm;
		unsigned long refdst = BPF_CORE_READ(skb, _skb_refdst);
		struct rtable *rt = (struct rtable *)(refdst & ~1UL);
		int rt_iif = rt ? BPF_CORE_READ(rt, rt_iif) : 0;

		flags = BPF_CORE_READ(p, flags);
		iif = BPF_CORE_READ(p, iif);
		d->dif = rt_iif ? rt_iif : BPF_CORE_READ(skb, skb_iif);
		d->l3slave = !!(flags & (1 << 7));	/* IPSKB_L3SLAVE */
		d->sdif = d->l3slave ? iif : 0;
	} else if (t->family == 10) {
		struct inet6_skb_parm *p = parm;

		flags = BPF_CORE_READ(p, flags);
		iif = BPF_CORE_READ(p, iif);
		d->l3slave = !!(flags & 64);		/* IP6SKB_L3SLAVE */
		d->dif = d->l3slave ? BPF_CORE_READ(skb, skb_iif) : iif;
		d->sdif = d->l3slave ? iif : 0;
	}
}

#endif
