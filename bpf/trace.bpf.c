// SPDX-License-Identifier: GPL-2.0
/* pwhy's tracing probes.
 *
 * Two families of programs share the maps below:
 *  - fact probes on tracepoints (tp_btf, syscalls): loaded on every backend, they see the drop,
 *    the egress device, the route lookups and the user's send request;
 *  - path probes on kernel functions (fentry, kprobe, kprobe.multi): one template per position
 *    of the skb argument, cloned by user space for each function it attaches to.
 * Every skb event passes the pcap filter (stubs replaced at load) or the tracking map first. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <pwhy/event.h>
#include "skb.h"
#include "drop_keys.h"
#include "filter_stub.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 cfg_flags;
const volatile __u32 cfg_inet_flags_transparent_bit = 64;
const volatile __u32 cfg_reason_no_socket = ~0u;
const volatile __u32 cfg_self_tgid;
const volatile __u32 cfg_filter_netns;
const volatile __u32 cfg_filter_mark;
const volatile __u32 cfg_filter_mark_mask;
const volatile __s32 cfg_filter_ifindex;
/* Ring-buffer bytes past which an event wakes the reader; below it the reader finds the events
 * on its next timed poll. A wake-up per event costs more than the probe itself. */
const volatile __u64 cfg_wakeup_bytes = 1 << 20;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* resized by user space before load */
} events SEC(".maps");

struct send_state {
	__u64 send_id;
	__s32 req_oif;
	__u8  origin;
	__u8  pad[3];
};

/* per-thread state of a send syscall that asked for an output interface (or any send when
 * route explanation is on) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct send_state);
} sends SEC(".maps");

struct sender {
	__u32 pid;
	__u32 netns;
	__s32 bound_dev_if;
	__u8  transparent;
	__u8  pad[3];
	char  comm[PWHY_COMM_LEN];
};

/* who put an skb on a loopback device: the drop on the receive side needs it */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct sender);
} loop_senders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PWHY_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* the first packet bytes, copied once per program run for the pcap filter to read */
struct pkt_copy {
	__u8 b[PWHY_PKT_SNAP];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pkt_copy);
} pkt_scratch SEC(".maps");

/* per-thread sequence so that each send gets its own id */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} send_seq SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		*v += 1;
}

/* Without packet copies (no -w) an event stops before pkt[]: a third less ring-buffer traffic.
 * cfg_flags is read-only data, so the verifier sees one constant size per program. */
#define EVENT_SIZE_NO_PKT offsetof(struct pwhy_event, pkt)

static __always_inline struct pwhy_event *event_new(__u16 kind, __u16 probe)
{
	struct pwhy_event *ev;
	__u64 id;

	if (cfg_flags & PWHY_CFG_COPY_PKT) {
		ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
		if (ev)
			__builtin_memset(ev, 0, sizeof(*ev));
	} else {
		ev = bpf_ringbuf_reserve(&events, EVENT_SIZE_NO_PKT, 0);
		if (ev)
			__builtin_memset(ev, 0, EVENT_SIZE_NO_PKT);
	}
	if (!ev) {
		count(PWHY_CNT_RINGBUF_FULL);
		return NULL;
	}
	id = bpf_get_current_pid_tgid();
	ev->version = PWHY_EVENT_VERSION;
	ev->kind = kind;
	ev->probe = probe;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	return ev;
}

static __always_inline void event_submit(struct pwhy_event *ev)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	count(PWHY_CNT_EVENTS);
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= cfg_wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(ev, flags);
}

#include "track.h"
#include "output.h"

static __always_inline struct send_state *current_send(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&sends, &tid);
}

/* Does this skb interest us? Tracked skbs (and clones of them) always do; others must pass
 * the filters, cheapest first: the packet is read only for the pcap filter, last. Loads the
 * view when it needs it. */
static __always_inline int skb_selected(struct sk_buff *skb, struct skb_view *v, bool direct,
					__u64 *clone_of)
{
	if (!(cfg_flags & PWHY_CFG_FILTER_ACTIVE) && !cfg_filter_netns && !cfg_filter_mark_mask &&
	    !cfg_filter_ifindex)
		return 1;
	if ((cfg_flags & PWHY_CFG_TRACK_SKB) &&
	    track_check(skb, (__u64)KRD(direct, skb, head), direct, clone_of))
		return 1;
	if (cfg_filter_netns && skb_netns_load(skb, direct) != cfg_filter_netns)
		return 0;
	if (cfg_filter_mark_mask && (KRD(direct, skb, mark) & cfg_filter_mark_mask) != cfg_filter_mark)
		return 0;
	if (cfg_filter_ifindex) {
		struct net_device *dev = KRD(direct, skb, dev);

		if (!dev || KRD(direct, dev, ifindex) != cfg_filter_ifindex)
			return 0;
	}
	if (cfg_flags & PWHY_CFG_FILTER_ACTIVE) {
		__u32 zero = 0, n;
		struct pkt_copy *c = bpf_map_lookup_elem(&pkt_scratch, &zero);
		int match;

		if (!c)
			return 0;
		skb_view_load(skb, v, direct);
		/* one helper call for the bytes the filter reads most, not one per load */
		n = v->len < PWHY_PKT_SNAP ? v->len : PWHY_PKT_SNAP;
		if (bpf_probe_read_kernel(c->b, n, (void *)v->pkt))
			n = 0;
		match = v->l2 ? pwhy_filter_l2(v->pkt, v->len, v->wirelen, c->b, n)
			      : pwhy_filter_l3(v->pkt, v->len, v->wirelen, c->b, n);
		if (!match)
			return 0;
	}
	if (cfg_flags & PWHY_CFG_TRACK_SKB) {
		if (!v->head)
			skb_view_load(skb, v, direct);
		track_add(skb, v->head, 0);
	}
	return 1;
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
	struct send_state *st;
	struct net_device *dev;
	struct skb_view v = {};
	__u64 clone_of = 0;

	*selected = 0;
	if (cfg_self_tgid && (bpf_get_current_pid_tgid() >> 32) == cfg_self_tgid)
		return NULL;
	if (!skb_selected(skb, &v, direct, &clone_of))
		return NULL;
	*selected = 1;
	ev = event_new(kind, probe);
	if (!ev)
		return NULL;
	/* Filling the event reads through helpers even where plain loads would do: they make
	 * the verifier's walk of this part about ten times longer (start-up time), for a gain
	 * only on selected skbs. */
	if (!v.head)
		skb_view_load(skb, &v, false);
	ev->skb = (__u64)skb;
	ev->clone_of = clone_of;
	ev->func_ip = func_ip;
	ev->len = BPF_CORE_READ(skb, len);
	ev->mark = BPF_CORE_READ(skb, mark);
	ev->netns = skb_netns(skb);
	dev = BPF_CORE_READ(skb, dev);
	if (dev) {
		ev->ifindex = BPF_CORE_READ(dev, ifindex);
		bpf_probe_read_kernel_str(ev->ifname, sizeof(ev->ifname), dev->name);
	}
	ev->eth_proto = skb_tuple(skb, &v, &ev->tuple);
	ev->pkt_l2 = v.l2;
	if (cfg_flags & PWHY_CFG_COPY_PKT) {
		__u64 n = v.len;

		/* keep the clamp a real compare on the register passed as the size */
		if (n > PWHY_PKT_SNAP)
			n = PWHY_PKT_SNAP;
		barrier_var(n);
		if (bpf_probe_read_kernel(ev->pkt, n, (void *)v.pkt) == 0)
			ev->pkt_len = n;
		ev->pkt_wirelen = v.wirelen;
	}
	st = current_send();
	if (st)
		ev->send_id = st->send_id;
	return ev;
}

/* ---------------------------------------------------------------- path probes on functions */

/* Socket sends (udp_sendmsg...) that started on this thread and made no selected skb yet: a
 * socket cannot be filtered like a packet, so they are shown just before the first skb of the
 * thread that passes the filter (with that skb's details), and forgotten when the syscall ends. */
#define SEND_ENTRIES 2
struct send_entries {
	__u64 ip[SEND_ENTRIES];
	__u64 ts[SEND_ENTRIES];
	__u32 n;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct send_entries);
} send_entries SEC(".maps");

static __always_inline int on_send_entry(__u64 ip)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct send_entries *e, fresh = {};

	if (!(cfg_flags & PWHY_CFG_PATH_EVENTS) ||
	    (cfg_self_tgid && (bpf_get_current_pid_tgid() >> 32) == cfg_self_tgid))
		return 0;
	e = bpf_map_lookup_elem(&send_entries, &tid);
	if (!e) {
		fresh.ip[0] = ip;
		fresh.ts[0] = bpf_ktime_get_ns();
		fresh.n = 1;
		bpf_map_update_elem(&send_entries, &tid, &fresh, BPF_ANY);
	} else if (e->n < SEND_ENTRIES) {
		/* the outer send first (tcp_sendmsg → tcp_sendmsg_locked) */
		e->ip[e->n & (SEND_ENTRIES - 1)] = ip;
		e->ts[e->n & (SEND_ENTRIES - 1)] = bpf_ktime_get_ns();
		e->n++;
	}
	return 0;
}

/* ev is reserved and filled: submit the pending send entries' events (copies of ev naming the
 * send functions) and return the event that carries the current function, to be submitted
 * after them (ring-buffer order is reservation order). */
static __always_inline struct pwhy_event *send_entries_flush(struct pwhy_event *ev)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct send_entries *e = bpf_map_lookup_elem(&send_entries, &tid);
	struct pwhy_event *next;
	__u64 ip, ts;

	if (!e)
		return ev;
	for (int i = 0; i < SEND_ENTRIES; i++) {
		if (i >= e->n)
			break;
		/* a copy of the same size as the event (no packet bytes unless they are copied) */
		if (cfg_flags & PWHY_CFG_COPY_PKT) {
			next = bpf_ringbuf_reserve(&events, sizeof(*next), 0);
			if (next)
				bpf_probe_read_kernel(next, sizeof(*next), ev);
		} else {
			next = bpf_ringbuf_reserve(&events, EVENT_SIZE_NO_PKT, 0);
			if (next)
				bpf_probe_read_kernel(next, EVENT_SIZE_NO_PKT, ev);
		}
		if (!next) {
			count(PWHY_CNT_RINGBUF_FULL);
			break;
		}
		ip = ev->func_ip;
		ts = ev->ts_ns;
		ev->func_ip = e->ip[i];
		ev->ts_ns = e->ts[i];
		event_submit(ev);
		ev = next;
		ev->func_ip = ip;
		ev->ts_ns = ts;
	}
	bpf_map_delete_elem(&send_entries, &tid);
	return ev;
}

/* direct: the skb argument is BTF-typed (fentry), else read through helpers (kprobe) */
static __always_inline int on_func(void *ctx, struct sk_buff *skb, __u64 ip, bool direct,
				   int out_kind)
{
	struct pwhy_event *ev;
	int sel;

	if (!skb || !(cfg_flags & PWHY_CFG_PATH_EVENTS))
		return 0;
	ev = skb_event(skb, PWHY_EV_PATH, PWHY_PROBE_FUNC, ip, direct, &sel);
	if (ev)
		ev = send_entries_flush(ev);
	if (ev)
		skb_event_submit(ctx, ev, skb, out_kind);
	return 0;
}

#define FENTRY_SKB(n)                                                          \
	SEC("fentry")                                                           \
	int pwhy_fentry##n(__u64 *ctx)                                           \
	{                                                                       \
		return on_func(ctx, (struct sk_buff *)ctx[n - 1], bpf_get_func_ip(ctx), \
			       true, OUT_FENTRY);                               \
	}
#define KPROBE_SKB(n, sec, name)                                               \
	SEC(sec)                                                                \
	int name##n(struct pt_regs *ctx)                                        \
	{                                                                       \
		return on_func(ctx, (struct sk_buff *)PT_REGS_PARM##n(ctx),      \
			       bpf_get_func_ip(ctx), false, OUT_KPROBE);         \
	}

/* position 0: a socket send entry, no skb yet */
SEC("fentry")
int pwhy_fentry0(__u64 *ctx)
{
	return on_send_entry(bpf_get_func_ip(ctx));
}
SEC("kprobe")
int pwhy_kprobe0(struct pt_regs *ctx)
{
	return on_send_entry(bpf_get_func_ip(ctx));
}
SEC("kprobe.multi")
int pwhy_kmulti0(struct pt_regs *ctx)
{
	return on_send_entry(bpf_get_func_ip(ctx));
}

FENTRY_SKB(1) FENTRY_SKB(2) FENTRY_SKB(3) FENTRY_SKB(4) FENTRY_SKB(5)
KPROBE_SKB(1, "kprobe", pwhy_kprobe) KPROBE_SKB(2, "kprobe", pwhy_kprobe)
KPROBE_SKB(3, "kprobe", pwhy_kprobe) KPROBE_SKB(4, "kprobe", pwhy_kprobe)
KPROBE_SKB(5, "kprobe", pwhy_kprobe)
KPROBE_SKB(1, "kprobe.multi", pwhy_kmulti) KPROBE_SKB(2, "kprobe.multi", pwhy_kmulti)
KPROBE_SKB(3, "kprobe.multi", pwhy_kmulti) KPROBE_SKB(4, "kprobe.multi", pwhy_kmulti)
KPROBE_SKB(5, "kprobe.multi", pwhy_kmulti)

/* ------------------------------------------------------------------ fact probes (tracepoints) */

/* Returns whether the skb was selected. */
static __always_inline int path_tp(void *ctx, struct sk_buff *skb, __u16 probe)
{
	struct pwhy_event *ev;
	int sel;

	if (!(cfg_flags & PWHY_CFG_PATH_EVENTS))
		return 0;
	ev = skb_event(skb, PWHY_EV_PATH, probe, 0, true, &sel);
	if (ev)
		skb_event_submit(ctx, ev, skb, OUT_TP);
	return sel;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(pwhy_netif_rcv, struct sk_buff *skb)
{
	return path_tp(ctx, skb, PWHY_PROBE_NETIF_RECEIVE_SKB);
}

SEC("tp_btf/netif_rx")
int BPF_PROG(pwhy_netif_rx, struct sk_buff *skb)
{
	return path_tp(ctx, skb, PWHY_PROBE_NETIF_RX);
}

SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(pwhy_copy_dgram, struct sk_buff *skb, int len)
{
	return path_tp(ctx, skb, PWHY_PROBE_SKB_COPY_DATAGRAM);
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(pwhy_dev_queue, struct sk_buff *skb)
{
	struct net_device *dev;
	struct pwhy_event *ev;
	struct sock *sk;
	int sel;

	ev = skb_event(skb, PWHY_EV_PATH, PWHY_PROBE_NET_DEV_QUEUE, 0, true, &sel);
	if (!ev)
		return 0;
	dev = skb->dev;
	if (dev)
		bpf_probe_read_kernel(ev->xmit.dev_mac, 6, dev->dev_addr);
	sk = skb->sk;
	if (sk) {
		__u16 family = sk->__sk_common.skc_family;

		ev->xmit.has_sk = 1;
		ev->xmit.sk_bound_dev_if = sk->__sk_common.skc_bound_dev_if;
		if (family == 2 || family == 10) {
			ev->xmit.sk_uc_index = BPF_CORE_READ((struct inet_sock *)sk, uc_index);
			ev->xmit.sk_transparent = sk_is_transparent(sk);
		}
		/* remember loopback senders: a NO_SOCKET drop on the way back in needs them */
		if (dev && (dev->flags & 0x8 /* IFF_LOOPBACK */) &&
		    (family == 2 || family == 10)) {
			struct sender s = {};
			__u64 key = (__u64)skb;

			s.pid = ev->pid;
			s.netns = ev->netns;
			s.bound_dev_if = ev->xmit.sk_bound_dev_if;
			s.transparent = ev->xmit.sk_transparent;
			__builtin_memcpy(s.comm, ev->comm, sizeof(s.comm));
			bpf_map_update_elem(&loop_senders, &key, &s, BPF_ANY);
		}
	}
	skb_event_submit(ctx, ev, skb, OUT_TP);
	return 0;
}

/* dif/sdif as the socket lookup computed them (inet_iif/inet_sdif and the v6 twins) */
static __always_inline void drop_lookup_keys(struct sk_buff *skb, struct pwhy_event *ev)
{
	skb_drop_lookup_keys(skb, &ev->tuple, &ev->drop);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(pwhy_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	__u64 key = (__u64)skb;
	struct pwhy_event *ev;
	struct sender *s;
	int sel;

	ev = skb_event(skb, PWHY_EV_DROP, PWHY_PROBE_KFREE_SKB, 0, true, &sel);
	if (!ev) {
		if (sel)
			untrack(skb);
		return 0;
	}
	ev->drop.location = (__u64)location;
	ev->drop.reason = reason;
	drop_lookup_keys(skb, ev);
	s = bpf_map_lookup_elem(&loop_senders, &key);
	if (s) {
		ev->drop.sender_known = 1;
		ev->drop.sender_transparent = s->transparent;
		ev->drop.sender_pid = s->pid;
		ev->drop.sender_netns = s->netns;
		ev->drop.sender_bound_dev_if = s->bound_dev_if;
		__builtin_memcpy(ev->drop.sender_comm, s->comm, sizeof(s->comm));
		bpf_map_delete_elem(&loop_senders, &key);
	}
	skb_event_submit(ctx, ev, skb, OUT_TP);
	untrack(skb);
	return 0;
}

SEC("tp_btf/consume_skb")
int BPF_PROG(pwhy_consume, struct sk_buff *skb)
{
	__u64 key = (__u64)skb;

	/* only a selected skb can be tracked or have a recorded sender: spare the map updates */
	if (!path_tp(ctx, skb, PWHY_PROBE_CONSUME_SKB) && (cfg_flags & PWHY_CFG_PATH_EVENTS))
		return 0;
	untrack(skb);
	bpf_map_delete_elem(&loop_senders, &key);
	return 0;
}

/* --------------------------------------------------------------------------- route lookups */

#define LOOPBACK_IFINDEX_ 1	/* what output lookups carry as their input interface */

SEC("tp_btf/fib_table_lookup")
int BPF_PROG(pwhy_fib4, u32 tb_id, const struct flowi4 *flp,
	     const struct fib_nh_common *nhc, int err)
{
	struct send_state *st = current_send();
	struct pwhy_event *ev;
	struct net_device *dev;

	/* output lookups only: input lookups of packets received during the send have iif set */
	if (!st || BPF_CORE_READ(flp, __fl_common.flowic_iif) != LOOPBACK_IFINDEX_)
		return 0;
	ev = event_new(PWHY_EV_FIB, PWHY_PROBE_FIB_LOOKUP);
	if (!ev)
		return 0;
	ev->send_id = st->send_id;
	ev->fib.family = 2;
	ev->fib.table = tb_id;
	ev->fib.err = err;
	ev->fib.oif = BPF_CORE_READ(flp, __fl_common.flowic_oif);
	ev->fib.iif = BPF_CORE_READ(flp, __fl_common.flowic_iif);
	ev->fib.mark = BPF_CORE_READ(flp, __fl_common.flowic_mark);
	ev->fib.scope = BPF_CORE_READ(flp, __fl_common.flowic_scope);
	bpf_core_read(ev->fib.daddr, 4, &flp->daddr);
	bpf_core_read(ev->fib.saddr, 4, &flp->saddr);
	if (nhc && !err) {
		dev = BPF_CORE_READ(nhc, nhc_dev);
		if (dev) {
			ev->fib.nh_ifindex = BPF_CORE_READ(dev, ifindex);
			bpf_probe_read_kernel_str(ev->fib.nh_ifname, sizeof(ev->fib.nh_ifname),
						  dev->name);
			ev->netns = net_inum(BPF_CORE_READ(dev, nd_net.net));
		}
		bpf_core_read(ev->fib.gw, 4, &nhc->nhc_gw.ipv4);
	}
	event_submit(ev);
	return 0;
}

SEC("tp_btf/fib6_table_lookup")
int BPF_PROG(pwhy_fib6, const struct net *net, const struct fib6_result *res,
	     struct fib6_table *table, const struct flowi6 *flp)
{
	struct send_state *st = current_send();
	struct pwhy_event *ev;
	struct net_device *dev = NULL;
	struct fib6_nh *nh;
	__u8 type;

	if (!st || BPF_CORE_READ(flp, __fl_common.flowic_iif) != LOOPBACK_IFINDEX_)
		return 0;
	ev = event_new(PWHY_EV_FIB, PWHY_PROBE_FIB6_LOOKUP);
	if (!ev)
		return 0;
	ev->send_id = st->send_id;
	ev->netns = net_inum((struct net *)net);
	ev->fib.family = 10;
	ev->fib.table = table ? BPF_CORE_READ(table, tb6_id) : 0;
	ev->fib.oif = BPF_CORE_READ(flp, __fl_common.flowic_oif);
	ev->fib.iif = BPF_CORE_READ(flp, __fl_common.flowic_iif);
	ev->fib.mark = BPF_CORE_READ(flp, __fl_common.flowic_mark);
	ev->fib.scope = BPF_CORE_READ(flp, __fl_common.flowic_scope);
	bpf_core_read(ev->fib.daddr, 16, &flp->daddr);
	bpf_core_read(ev->fib.saddr, 16, &flp->saddr);
	type = BPF_CORE_READ(res, fib6_type);
	/* the same mapping the tracepoint's own printout uses */
	ev->fib.err = type == 7 /* RTN_UNREACHABLE */ ? -113 :
		      type == 8 /* RTN_PROHIBIT */ ? -13 :
		      type == 6 /* RTN_BLACKHOLE */ ? -22 : 0;
	nh = BPF_CORE_READ(res, nh);
	if (nh)
		dev = BPF_CORE_READ(nh, nh_common.nhc_dev);
	if (dev) {
		ev->fib.nh_ifindex = BPF_CORE_READ(dev, ifindex);
		bpf_probe_read_kernel_str(ev->fib.nh_ifname, sizeof(ev->fib.nh_ifname), dev->name);
		bpf_core_read(ev->fib.gw, 16, &nh->nh_common.nhc_gw.ipv6);
	}
	event_submit(ev);
	return 0;
}

/* ---------------------------------------------------------------------------- send syscalls */

#define SOL_IP_        0
#define SOL_IPV6_      41
#define IP_PKTINFO_    8
#define IPV6_PKTINFO_  50
#define MSG_DONTROUTE_ 4

struct user_cmsghdr {
	__u64 cmsg_len;
	int cmsg_level;
	int cmsg_type;
};

/* Scan the user's control messages for IP_PKTINFO / IPV6_PKTINFO. */
static __always_inline void read_pktinfo(__u64 umsg, struct pwhy_send_facts *f)
{
	__u64 control = 0, controllen = 0, off = 0;

	bpf_probe_read_user(&control, 8, (void *)(umsg + 32));
	bpf_probe_read_user(&controllen, 8, (void *)(umsg + 40));
	if (!control || controllen < sizeof(struct user_cmsghdr))
		return;
	for (int i = 0; i < 4; i++) {
		struct user_cmsghdr c = {};

		if (off + sizeof(c) > controllen)
			break;
		if (bpf_probe_read_user(&c, sizeof(c), (void *)(control + off)))
			break;
		if (c.cmsg_len < sizeof(c))
			break;
		if (c.cmsg_level == SOL_IP_ && c.cmsg_type == IP_PKTINFO_) {
			/* struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; } */
			bpf_probe_read_user(&f->req_oif, 4, (void *)(control + off + 16));
			bpf_probe_read_user(f->spec_dst, 4, (void *)(control + off + 20));
			f->family = 2;
			if (f->req_oif)
				f->req_origin = PWHY_OIF_IP_PKTINFO;
		} else if (c.cmsg_level == SOL_IPV6_ && c.cmsg_type == IPV6_PKTINFO_) {
			/* struct in6_pktinfo { in6_addr addr; int ifindex; } */
			bpf_probe_read_user(f->spec_dst, 16, (void *)(control + off + 16));
			bpf_probe_read_user(&f->req_oif, 4, (void *)(control + off + 32));
			f->family = 10;
			if (f->req_oif)
				f->req_origin = PWHY_OIF_IPV6_PKTINFO;
		}
		off += (c.cmsg_len + 7) & ~7ULL;
	}
}

/* The socket behind a file descriptor of the current task, or NULL. The back-pointer check
 * makes sure the file really is a socket. */
static __always_inline struct sock *fd_to_sock(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct file **fds;
	struct file *file = NULL;
	struct socket *sock;
	unsigned int max;

	struct fdtable *fdt;

	if (fd < 0)
		return NULL;
	/* the task is BTF-typed: plain loads down to the fd array */
	fdt = task->files->fdt;
	max = fdt->max_fds;
	if ((unsigned int)fd >= max)
		return NULL;
	fds = fdt->fd;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	if (!file)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock || BPF_CORE_READ(sock, file) != file)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

static __always_inline int send_enter(int fd, __u64 umsg, __u32 flags)
{
	struct pwhy_send_facts f = {};
	struct send_state st = {};
	struct pwhy_event *ev;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 one = 1, *seq;
	struct sock *sk;
	__u16 family;

	if (cfg_self_tgid && (bpf_get_current_pid_tgid() >> 32) == cfg_self_tgid)
		return 0;
	sk = fd_to_sock(fd);
	if (!sk)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != 2 && family != 10)
		return 0;
	if (umsg)
		read_pktinfo(umsg, &f);
	if (!f.req_oif) {
		int uc = family == 2 ? BPF_CORE_READ((struct inet_sock *)sk, uc_index)
				     : BPF_CORE_READ((struct inet_sock *)sk, pinet6, ucast_oif);
		if (uc) {
			f.req_oif = uc;
			f.req_origin = PWHY_OIF_UNICAST_IF;
		}
	}
	f.dontroute = !!(flags & MSG_DONTROUTE_);
	/* keep state only when there is something to check or explain */
	if (!f.req_oif && !(cfg_flags & PWHY_CFG_EXPLAIN_ROUTE))
		return 0;

	seq = bpf_map_lookup_elem(&send_seq, &tid);
	if (seq)
		one = ++*seq;
	else
		bpf_map_update_elem(&send_seq, &tid, &one, BPF_ANY);
	st.send_id = ((__u64)tid << 32) | one;
	st.req_oif = f.req_oif;
	st.origin = f.req_origin;
	if (bpf_map_update_elem(&sends, &tid, &st, BPF_ANY)) {
		count(PWHY_CNT_SEND_STATE_FULL);
		return 0;
	}
	ev = event_new(PWHY_EV_SEND, PWHY_PROBE_SENDMSG);
	if (!ev)
		return 0;
	ev->send_id = st.send_id;
	ev->send = f;
	ev->netns = net_inum(BPF_CORE_READ(sk, __sk_common.skc_net.net));
	ev->tuple.family = family;
	ev->tuple.l4proto = BPF_CORE_READ(sk, sk_protocol);
	/* for a send, ifindex is the socket's bound device (SO_BINDTODEVICE) */
	ev->ifindex = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	event_submit(ev);
	return 0;
}

static __always_inline int send_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct send_state *st = bpf_map_lookup_elem(&sends, &tid);
	struct pwhy_event *ev;

	bpf_map_delete_elem(&send_entries, &tid);
	if (!st)
		return 0;
	ev = event_new(PWHY_EV_SEND_EXIT, PWHY_PROBE_SENDMSG);
	if (ev) {
		ev->send_id = st->send_id;
		ev->send.ret = ret;
		event_submit(ev);
	}
	bpf_map_delete_elem(&sends, &tid);
	return 0;
}

/* The raw syscall tracepoints, not the per-syscall syscalls:sys_{enter,exit}_* events: those go
 * through perf_syscall_enter/exit, which builds a perf record for every traced call. Here the
 * program itself filters on the syscall number, set by user space for the host's ABI. */
const volatile __s32 cfg_nr_sendto = -1;
const volatile __s32 cfg_nr_sendmsg = -1;
const volatile __s32 cfg_nr_sendmmsg = -1;

struct pt_regs___arm64 {
	__s32 syscallno;
} __attribute__((preserve_access_index));

/* The syscall number at exit (the kernel's syscall_get_nr), or -1 when this arch is not known:
 * then every exit costs a lookup of the send state instead. */
static __always_inline long syscall_nr_at_exit(struct pt_regs *regs)
{
	if (bpf_core_field_exists(regs->orig_ax))
		return regs->orig_ax;
	if (bpf_core_field_exists(((struct pt_regs___arm64 *)regs)->syscallno))
		return ((struct pt_regs___arm64 *)regs)->syscallno;
	return -1;
}

static __always_inline bool is_send_nr(long id)
{
	return id == cfg_nr_sendto || id == cfg_nr_sendmsg || id == cfg_nr_sendmmsg;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(pwhy_sys_enter, struct pt_regs *regs, long id)
{
	if (!is_send_nr(id))
		return 0;
	if (id == cfg_nr_sendto)	/* sendto(fd, buf, len, flags, addr, addrlen) */
		return send_enter(PT_REGS_PARM1_SYSCALL(regs), 0, PT_REGS_PARM4_SYSCALL(regs));
	if (id == cfg_nr_sendmsg)	/* sendmsg(fd, msg, flags) */
		return send_enter(PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs),
				  PT_REGS_PARM3_SYSCALL(regs));
	/* sendmmsg(fd, msgvec, vlen, flags): the first mmsghdr starts with its user_msghdr */
	return send_enter(PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs),
			  PT_REGS_PARM4_SYSCALL(regs));
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pwhy_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = syscall_nr_at_exit(regs);

	if (nr != -1 && !is_send_nr(nr))
		return 0;
	return send_exit(ret);
}
