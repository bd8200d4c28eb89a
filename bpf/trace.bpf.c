// SPDX-License-Identifier: GPL-2.0
/* pwhy's tracing probes.
 *
 * Two families of programs share the maps below:
 *  - fact probes on tracepoints (tp_btf, syscalls): loaded on every backend, they see the drop,
 *    the egress device, the route lookups and the user's send request;
 *  - path probes on kernel functions (fentry, kprobe, kprobe.multi): one template per position
 *    of the skb argument, cloned by user space for each function it attaches to.
 * Every skb event passes the pcap filter (stubs replaced at load) or the tracking map first.
 * The shared parts are headers of this one object: events.h (ring buffer, counters), track.h
 * (skb tracking), output.h (stack, skb dump), send.h (the send in progress, its waiting route
 * lookups), skb_event.h (selection and the common event). */
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

#include "events.h"
#include "track.h"
#include "output.h"
#include "send.h"
#include "skb_event.h"

/* ---------------------------------------------------------------- path probes on functions */

/* Socket sends (udp_sendmsg...) that started on this thread and made no selected skb yet: a
 * socket cannot be filtered like a packet, so they are kept in the thread's state, shown just
 * before the first skb of the thread that passes the filter (with that skb's details), and
 * forgotten when the syscall ends. */
static __always_inline int on_send_entry(__u64 ip)
{
	struct thread_state *ts;
	__u32 i;

	if (!(cfg_flags & PWHY_CFG_PATH_EVENTS) ||
	    (cfg_self_tgid && (bpf_get_current_pid_tgid() >> 32) == cfg_self_tgid) ||
	    !current_exits_syscall())
		return 0;
	ts = thread_state(true);
	if (!ts || ts->nentries >= SEND_ENTRIES)
		return 0;
	/* the outer send first (tcp_sendmsg → tcp_sendmsg_locked) */
	i = ts->nentries & (SEND_ENTRIES - 1);
	ts->entry_ip[i] = ip;
	ts->entry_ts[i] = bpf_ktime_get_ns();
	ts->nentries++;
	return 0;
}

/* ev is reserved and filled: submit the pending send entries' events (copies of ev naming the
 * send functions) and return the event that carries the current function, to be submitted
 * after them (ring-buffer order is reservation order). */
static __always_inline struct pwhy_event *send_entries_flush(struct pwhy_event *ev)
{
	struct thread_state *ts;
	struct pwhy_event *next;
	__u64 ip, ts_ns;

	if (!thread_states_live)
		return ev;
	ts = thread_state(false);
	if (!ts)
		return ev;
	for (int i = 0; i < SEND_ENTRIES; i++) {
		if (i >= ts->nentries)
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
		ts_ns = ev->ts_ns;
		ev->func_ip = ts->entry_ip[i];
		ev->ts_ns = ts->entry_ts[i];
		event_submit(ev);
		ev = next;
		ev->func_ip = ip;
		ev->ts_ns = ts_ns;
	}
	ts->nentries = 0;
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

/* A route lookup of a send is written into a per-CPU record first; then it goes straight into
 * an event when the send is shown, into the thread's pending lookups while it is not (yet),
 * nowhere when the send has nothing to show. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending_fib);
} fib_scratch SEC(".maps");

/* A send's lookup keyed without an oif, before anything of the send was recorded: unless routes
 * are explained, such a send has no oif of its own to check (a requested oif keys its first
 * lookup) and would stay hidden. Skipping it spares an unconnected sender's every datagram a
 * thread state and a pending entry. */
static __always_inline bool fib_unwanted(__u32 oif)
{
	struct thread_state *ts;

	if (oif || (cfg_flags & PWHY_CFG_EXPLAIN_ROUTE))
		return false;
	if (!thread_states_live)
		return true;
	ts = thread_state(false);
	return !ts || !ts->active || (!ts->nfibs && !ts->send_id);
}

/* Known limit: a lookup with an oif that runs in an interrupt on a sending thread just after its
 * send ended (a TCP reset, an ICMP error in a VRF) starts a state that waits for the thread's
 * next send; a tracepoint program cannot cheaply tell the interrupt from the task on all the
 * kernels pwhy runs on. */
static __always_inline struct pending_fib *fib_record_begin(struct thread_state **tsp, __u32 oif)
{
	struct thread_state *ts;
	struct pending_fib *r;
	struct pt_regs *regs;
	__u32 zero = 0;

	if (fib_unwanted(oif))
		return NULL;
	regs = current_regs();
	if (!regs || !is_send_nr(syscall_nr(regs)) || !current_exits_syscall() ||
	    (cfg_self_tgid && (bpf_get_current_pid_tgid() >> 32) == cfg_self_tgid))
		return NULL;
	ts = thread_state(true);
	if (!ts || ts->send_id == SEND_HIDDEN)
		return NULL;
	r = bpf_map_lookup_elem(&fib_scratch, &zero);
	if (!r)
		return NULL;
	__builtin_memset(r, 0, sizeof(*r));
	*tsp = ts;
	return r;
}

static __always_inline void fib_record_end(struct thread_state *ts, struct pending_fib *r,
					   __u16 probe)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	struct pending_fibs *pf;
	struct pwhy_event *ev;

	r->ts_ns = bpf_ktime_get_ns();
	r->probe = probe;
	if (ts->send_id) {
		ev = event_new(PWHY_EV_FIB, probe);
		if (!ev)
			return;
		ev->send_id = ts->send_id;
		ev->netns = r->netns;
		ev->fib = r->fib;
		event_submit(ev);
		return;
	}
	if (ts->nfibs >= PENDING_FIBS) {
		count(PWHY_CNT_SEND_STATE_FULL);
		return;
	}
	if (!ts->nfibs) {
		pf = bpf_map_lookup_elem(&pending_fibs_zero, &zero);
		if (!pf || bpf_map_update_elem(&pending_fibs, &tid, pf, BPF_ANY)) {
			count(PWHY_CNT_SEND_STATE_FULL);
			return;
		}
	}
	pf = bpf_map_lookup_elem(&pending_fibs, &tid);
	if (!pf)
		return;
	pf->f[ts->nfibs & (PENDING_FIBS - 1)] = *r;
	ts->nfibs++;
}

/* The lookup keys both families share */
static __always_inline void fib_flow_keys(struct pwhy_fib_facts *fib, const struct flowi_common *c)
{
	fib->oif = BPF_CORE_READ(c, flowic_oif);
	fib->iif = BPF_CORE_READ(c, flowic_iif);
	fib->mark = BPF_CORE_READ(c, flowic_mark);
	fib->scope = BPF_CORE_READ(c, flowic_scope);
}

SEC("tp_btf/fib_table_lookup")
int BPF_PROG(pwhy_fib4, u32 tb_id, const struct flowi4 *flp,
	     const struct fib_nh_common *nhc, int err)
{
	struct thread_state *ts = NULL;
	struct pwhy_fib_facts *fib;
	struct net_device *dev;
	struct pending_fib *r;

	/* output lookups only: input lookups of packets received during the send have iif set */
	if (BPF_CORE_READ(flp, __fl_common.flowic_iif) != LOOPBACK_IFINDEX_)
		return 0;
	r = fib_record_begin(&ts, BPF_CORE_READ(flp, __fl_common.flowic_oif));
	if (!r || !ts)
		return 0;
	fib = &r->fib;
	fib->family = 2;
	fib->table = tb_id;
	fib->err = err;
	fib_flow_keys(fib, &flp->__fl_common);
	bpf_core_read(fib->daddr, 4, &flp->daddr);
	bpf_core_read(fib->saddr, 4, &flp->saddr);
	if (nhc && !err) {
		dev = BPF_CORE_READ(nhc, nhc_dev);
		if (dev) {
			fib->nh_ifindex = BPF_CORE_READ(dev, ifindex);
			bpf_probe_read_kernel_str(fib->nh_ifname, sizeof(fib->nh_ifname), dev->name);
			r->netns = net_inum(BPF_CORE_READ(dev, nd_net.net));
		}
		bpf_core_read(fib->gw, 4, &nhc->nhc_gw.ipv4);
	}
	fib_record_end(ts, r, PWHY_PROBE_FIB_LOOKUP);
	return 0;
}

SEC("tp_btf/fib6_table_lookup")
int BPF_PROG(pwhy_fib6, const struct net *net, const struct fib6_result *res,
	     struct fib6_table *table, const struct flowi6 *flp)
{
	struct thread_state *ts = NULL;
	struct pwhy_fib_facts *fib;
	struct net_device *dev = NULL;
	struct pending_fib *r;
	struct fib6_nh *nh;
	__u8 type;

	if (BPF_CORE_READ(flp, __fl_common.flowic_iif) != LOOPBACK_IFINDEX_)
		return 0;
	r = fib_record_begin(&ts, BPF_CORE_READ(flp, __fl_common.flowic_oif));
	if (!r || !ts)
		return 0;
	fib = &r->fib;
	r->netns = net_inum((struct net *)net);
	fib->family = 10;
	fib->table = table ? BPF_CORE_READ(table, tb6_id) : 0;
	fib_flow_keys(fib, &flp->__fl_common);
	bpf_core_read(fib->daddr, 16, &flp->daddr);
	bpf_core_read(fib->saddr, 16, &flp->saddr);
	type = BPF_CORE_READ(res, fib6_type);
	/* the same mapping the tracepoint's own printout uses */
	fib->err = type == 7 /* RTN_UNREACHABLE */ ? -113 :
		   type == 8 /* RTN_PROHIBIT */ ? -13 :
		   type == 6 /* RTN_BLACKHOLE */ ? -22 : 0;
	nh = BPF_CORE_READ(res, nh);
	if (nh)
		dev = BPF_CORE_READ(nh, nh_common.nhc_dev);
	if (dev) {
		fib->nh_ifindex = BPF_CORE_READ(dev, ifindex);
		bpf_probe_read_kernel_str(fib->nh_ifname, sizeof(fib->nh_ifname), dev->name);
		bpf_core_read(fib->gw, 16, &nh->nh_common.nhc_gw.ipv6);
	}
	fib_record_end(ts, r, PWHY_PROBE_FIB6_LOOKUP);
	return 0;
}

/* ------------------------------------------------------------------------ end of a send */

/* Where a send ends: the socket layer's own tracepoint after the protocol's sendmsg returned
 * (6.3+), fired by sends only; else the raw syscall exit, which, once attached, sends every
 * syscall of every task through the kernel's slow exit path (a few percent of a UDP sender's
 * rate). User space loads one of the two. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(pwhy_send_end, struct sock *sk, int ret, int flags)
{
	return send_end(ret);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pwhy_sys_exit, struct pt_regs *regs, long ret)
{
	return send_end(ret);
}
