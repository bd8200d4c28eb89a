/* SPDX-License-Identifier: GPL-2.0 */
/* Which skbs an event is made for (tracking, then the cheap filters, then the pcap filter on a
 * copy of the first bytes), and the part of every skb event they share.
 * Included by trace.bpf.c after send.h and track.h. */
#ifndef PWHY_BPF_SKB_EVENT_H
#define PWHY_BPF_SKB_EVENT_H

/* The first packet bytes, copied once per program run: the pcap filter reads them, the event's
 * tuple is parsed from them, -w takes them. With where they came from: kept in the map, these
 * are unknown values to the verifier wherever they were set, so the code after the selection is
 * walked once, not once per way of getting there (start-up time). */
struct pkt_copy {
	__u8 b[PWHY_PKT_SNAP];
	struct skb_view v;
	__u32 n;		/* bytes valid in b */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pkt_copy);
} pkt_scratch SEC(".maps");

/* Copy the packet's first bytes and their view into the scratch. */
static __always_inline void pkt_snap(struct sk_buff *skb, struct pkt_copy *c, bool direct)
{
	__u64 n;

	skb_view_load(skb, &c->v, direct);
	n = c->v.len;
	/* keep the clamp a real compare on the register passed as the size */
	if (n > PWHY_PKT_SNAP)
		n = PWHY_PKT_SNAP;
	barrier_var(n);
	if (bpf_probe_read_kernel(c->b, n, (void *)c->v.pkt))
		n = 0;
	c->n = n;
}

/* Run the inline pcap filter on a BTF-typed skb. skb->head is then a pointer the filter may load
 * from (PWHY_CFG_FILTER_INLINE is set only where the kernel says so); it must reach the filter
 * in a register, never through map memory, where it would turn into a number. */
static __always_inline int skb_filter_inline(struct sk_buff *skb)
{
	unsigned char *head = skb->head, *pkt;
	__u16 mac = skb->mac_header, nh = skb->network_header, start;
	__u32 tail = skb->tail, len, wirelen;
	bool l2 = mac != MAC_UNSET && mac < nh && nh - mac >= 14;

	start = l2 ? mac : nh;
	pkt = head + start;
	len = tail > start ? tail - start : 0;
	wirelen = skb->len + (skb->data - pkt);
	return l2 ? pwhy_filter_inline_l2(pkt, len, wirelen) : pwhy_filter_inline_l3(pkt, len, wirelen);
}

static __always_inline bool is_self(void)
{
	return cfg_self_tgid && (bpf_get_current_pid_tgid() >> 32) == cfg_self_tgid;
}

/* Does this skb interest us? Tracked skbs (and clones of them) always do; others must pass
 * the filters, cheapest first, the pcap filter last; pwhy's own skbs never do (asked last: a
 * helper call). Returns 2 when it left the packet's copy in c, 1 when selected without one,
 * 0 when not selected. */
static __always_inline int skb_selected(struct sk_buff *skb, struct pkt_copy *c, bool direct,
					__u64 *clone_of)
{
	int match, sel = 1;

	if (!(cfg_flags & PWHY_CFG_FILTER_ACTIVE) && !cfg_filter_netns && !cfg_filter_mark_mask &&
	    !cfg_filter_ifindex)
		return !is_self();
	/* pwhy's own skbs are never tracked */
	if ((cfg_flags & PWHY_CFG_TRACK_SKB) &&
	    track_check(skb, (__u64)KRD(direct, skb, head), direct, clone_of))
		return 1;
	if (cfg_filter_netns && skb_netns_load(skb, direct) != cfg_filter_netns)
		return 0;
	if (cfg_filter_mark_mask && (KRD(direct, skb, mark) & cfg_filter_mark_mask) != cfg_filter_mark)
		return 0;
	if (cfg_filter_ifindex) {
		struct net_device *dev = skb_dev(skb, direct);

		if (!dev || KRD(direct, dev, ifindex) != cfg_filter_ifindex)
			return 0;
	}
	if ((cfg_flags & PWHY_CFG_FILTER_INLINE) && direct) {
		/* the filter loads the few bytes it tests; the copy waits for a match */
		match = skb_filter_inline(skb);
	} else if (cfg_flags & PWHY_CFG_FILTER_ACTIVE) {
		/* one helper call for the bytes the filter reads most, not one per load */
		pkt_snap(skb, c, direct);
		match = c->v.l2 ? pwhy_filter_l2(c->v.pkt, c->v.len, c->v.wirelen, c->b, c->n)
				: pwhy_filter_l3(c->v.pkt, c->v.len, c->v.wirelen, c->b, c->n);
		sel = 2;
	} else {
		match = 1;
	}
	if (!match || is_self())
		return 0;
	if (cfg_flags & PWHY_CFG_TRACK_SKB)
		track_add(skb, sel == 2 ? c->v.head : (__u64)KRD(direct, skb, head), 0);
	return sel;
}

static __always_inline void untrack(struct sk_buff *skb)
{
	if (cfg_flags & PWHY_CFG_TRACK_SKB)
		track_forget(skb);
}

/* Common part of every skb event; returns NULL when filtered out (*selected = 0) or when the
 * ring buffer has no room (*selected = 1). */
static __always_inline struct pwhy_event *skb_event(struct sk_buff *skb, __u16 kind, __u16 probe,
						     __u64 func_ip, bool direct, int *selected)
{
	struct pwhy_event *ev;
	struct net_device *dev;
	__u64 clone_of = 0, send_id;
	struct pkt_copy *c;
	__u32 zero = 0, n;
	int sel;

	*selected = 0;
	c = bpf_map_lookup_elem(&pkt_scratch, &zero);
	if (!c)
		return NULL;
	sel = skb_selected(skb, c, direct, &clone_of);
	if (!sel)
		return NULL;
	*selected = 1;
	if (sel == 1)
		pkt_snap(skb, c, direct);
	/* before reserving: the send's own events, if this is its first, go first. Only the
	 * tracepoints do it (they carry the findings on every backend): in the function probes,
	 * cloned and verified once per function, it would multiply attach time. */
	send_id = probe == PWHY_PROBE_FUNC ? 0 : send_current(skb);
	ev = event_new(kind, probe);
	if (!ev)
		return NULL;
	ev->send_id = send_id;
	/* plain loads where the skb is BTF-typed: a helper read is a call and a return, which
	 * retpolines and return thunks make dear; skb_dev() keeps them off UDP's scratch */
	ev->skb = (__u64)skb;
	ev->clone_of = clone_of;
	ev->func_ip = func_ip;
	ev->len = KRD(direct, skb, len);
	ev->mark = KRD(direct, skb, mark);
	ev->netns = skb_netns_load(skb, direct);
	dev = skb_dev(skb, direct);
	if (dev) {
		ev->ifindex = KRD(direct, dev, ifindex);
		if (direct)
			__builtin_memcpy(ev->ifname, dev->name, sizeof(ev->ifname));
		else
			bpf_probe_read_kernel_str(ev->ifname, sizeof(ev->ifname), dev->name);
	}
	ev->pkt_l2 = c->v.l2;
	n = c->n;
	/* the tuple from the copy; from the skb when its headers are not all in the copy */
	if (!skb_tuple_from_copy(bpf_ntohs(KRD(direct, skb, protocol)), &c->v, c->b, n,
				 &ev->tuple, &ev->eth_proto)) {
		__builtin_memset(&ev->tuple, 0, sizeof(ev->tuple));
		ev->eth_proto = skb_tuple(skb, &c->v, &ev->tuple);
	}
	if (cfg_flags & PWHY_CFG_COPY_PKT) {
		__builtin_memcpy(ev->pkt, c->b, PWHY_PKT_SNAP);
		ev->pkt_len = n;
		ev->pkt_wirelen = c->v.wirelen;
	}
	return ev;
}

#endif
