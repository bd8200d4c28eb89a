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

/* When this CPU last woke the reader */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_wakeup SEC(".maps");

#define WAKEUP_GAP_NS 500000ULL	/* at most 2000 wake-ups a second per CPU */

/* A wake-up is an inter-processor interrupt (a VM exit under a hypervisor), dearer than the
 * whole probe: events go in silently until a quarter of the ring is in use, and then wake the
 * reader at most once per WAKEUP_GAP_NS per CPU (it drains everything once awake, and polls
 * every 50 ms anyway). */
static __always_inline void event_submit(struct pwhy_event *ev)
{
	__u64 flags = BPF_RB_NO_WAKEUP, *last;
	__u32 zero = 0;

	count(PWHY_CNT_EVENTS);
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= cfg_wakeup_bytes) {
		last = bpf_map_lookup_elem(&last_wakeup, &zero);
		if (last && ev->ts_ns - *last >= WAKEUP_GAP_NS) {
			*last = ev->ts_ns;
			flags = BPF_RB_FORCE_WAKEUP;
		}
	}
	bpf_ringbuf_submit(ev, flags);
}

#include "track.h"
#include "output.h"

/* ------------------------------------------------------------------ the send in progress */

/* Nothing is recorded when a send syscall starts. A send is looked at when one of its skbs
 * passes the filter: its request (the cmsg, the socket) is read then from the syscall's own
 * registers, and shown before that skb. Route lookups the send made before it had an skb
 * wait in pending_fibs for that moment. So a send the filter never selects costs nothing but
 * a check at syscall exit, and no state at all lives between syscalls. */

#define SEND_HIDDEN (~0ULL)	/* send_id of a send with nothing to show */
#define SEND_ENTRIES 2
#define PENDING_FIBS 8

struct thread_state {
	__u64 send_id;		/* 0 until the send is shown, then its id or SEND_HIDDEN */
	__u32 nfibs;		/* route lookups waiting in pending_fibs */
	__u16 nentries;		/* socket send entries (function backends) not shown yet */
	__u16 active;		/* in use in the current syscall */
	__u64 entry_ip[SEND_ENTRIES];
	__u64 entry_ts[SEND_ENTRIES];
};

struct pending_fib {
	__u64 ts_ns;
	__u32 netns;
	__u16 probe;
	__u16 pad;
	struct pwhy_fib_facts fib;
};

struct pending_fibs {
	struct pending_fib f[PENDING_FIBS];
};

/* Task storage: allocated once per thread, found through the task in a few loads (a hash map
 * insert and delete per send cost more than the rest of its events), freed with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} thread_states SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct pending_fibs);
} pending_fibs SEC(".maps");

/* all zeroes, never written: the initial value of a pending_fibs entry (too big for the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending_fibs);
} pending_fibs_zero SEC(".maps");

/* Threads whose state is in use: at zero, a syscall exit has nothing to look up. */
__u64 thread_states_live;

/* The raw syscall tracepoint's numbers, set by user space for the host's ABI. */
const volatile __s32 cfg_nr_sendto = -1;
const volatile __s32 cfg_nr_sendmsg = -1;
const volatile __s32 cfg_nr_sendmmsg = -1;

struct pt_regs___arm64 {
	__s32 syscallno;
} __attribute__((preserve_access_index));

/* The syscall a task is in (the kernel's syscall_get_nr), -1 outside one (interrupt and
 * exception entries store -1 or a vector there), or -1 when this arch is not known. */
static __always_inline long syscall_nr(struct pt_regs *regs)
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

/* The user registers of the current task's syscall: plain loads (BTF-typed). */
static __always_inline struct pt_regs *current_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs((struct task_struct *)bpf_get_current_task_btf());
}

#define PF_KTHREAD_   0x00200000
#define PF_IO_WORKER_ 0x00000010

/* A user thread in a syscall: it passes the syscall exit, where its state is dropped. */
static __always_inline bool current_exits_syscall(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();

	return !(task->flags & (PF_KTHREAD_ | PF_IO_WORKER_));
}

/* The current thread's state; with use, marked in use until the syscall exit resets it. */
static __always_inline struct thread_state *thread_state(bool use)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct thread_state *ts;

	ts = bpf_task_storage_get(&thread_states, task, 0,
				  use ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!ts) {
		if (use)	/* no memory, or a nested probe while the storage is busy */
			count(PWHY_CNT_SEND_STATE_FULL);
		return NULL;
	}
	if (use && !ts->active) {
		ts->active = 1;
		__sync_fetch_and_add(&thread_states_live, 1);
	}
	return ts;
}

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

/* Scan the user's control messages for IP_PKTINFO / IPV6_PKTINFO. The kernel has just copied
 * them in this same syscall, so the pages are present. */
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
	struct fdtable *fdt;
	unsigned int max;

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

static __always_inline void pending_fibs_flush(struct thread_state *ts);

/* The send's first selected skb (or lookup) is here: read its request, show it and the route
 * lookups that waited for it. Sets ts->send_id. */
static __always_inline void send_show(struct thread_state *ts, struct pt_regs *regs, long nr)
{
	struct pwhy_send_facts f = {};
	struct pwhy_event *ev;
	__u64 umsg = 0, flags;
	struct sock *sk;
	__u16 family;
	int fd;

	ts->send_id = SEND_HIDDEN;
	fd = PT_REGS_PARM1_SYSCALL(regs);
	if (nr == cfg_nr_sendto) {		/* sendto(fd, buf, len, flags, addr, addrlen) */
		flags = PT_REGS_PARM4_SYSCALL(regs);
	} else if (nr == cfg_nr_sendmsg) {	/* sendmsg(fd, msg, flags) */
		umsg = PT_REGS_PARM2_SYSCALL(regs);
		flags = PT_REGS_PARM3_SYSCALL(regs);
	} else {	/* sendmmsg(fd, msgvec, vlen, flags): the first mmsghdr starts with its msghdr */
		umsg = PT_REGS_PARM2_SYSCALL(regs);
		flags = PT_REGS_PARM4_SYSCALL(regs);
	}
	sk = fd_to_sock(fd);
	if (!sk)
		goto out;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != 2 && family != 10)
		goto out;
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
	/* shown only when there is something to check or explain */
	if (!f.req_oif && !(cfg_flags & PWHY_CFG_EXPLAIN_ROUTE))
		goto out;
	/* the low bits of the clock tell a thread's successive sends apart */
	ts->send_id = ((__u64)(__u32)bpf_get_current_pid_tgid() << 32) |
		      ((__u32)bpf_ktime_get_ns() | 1);
	ev = event_new(PWHY_EV_SEND, PWHY_PROBE_SENDMSG);
	if (ev) {
		ev->send_id = ts->send_id;
		ev->send = f;
		ev->netns = net_inum(BPF_CORE_READ(sk, __sk_common.skc_net.net));
		ev->tuple.family = family;
		ev->tuple.l4proto = BPF_CORE_READ(sk, sk_protocol);
		/* for a send, ifindex is the socket's bound device (SO_BINDTODEVICE) */
		ev->ifindex = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
		event_submit(ev);
	}
out:
	pending_fibs_flush(ts);
}

/* The id of the send syscall this thread is in, its request shown first if this is its first
 * selected event; 0 outside a send or when the send has nothing to show. */
static __always_inline __u64 send_current(void)
{
	struct pt_regs *regs = current_regs();
	struct thread_state *ts;
	long nr;

	if (!regs)
		return 0;
	nr = syscall_nr(regs);
	if (!is_send_nr(nr) || !current_exits_syscall())
		return 0;
	ts = thread_state(true);
	if (!ts)
		return 0;
	if (!ts->send_id)
		send_show(ts, regs, nr);
	return ts->send_id == SEND_HIDDEN ? 0 : ts->send_id;
}

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

/* Does this skb interest us? Tracked skbs (and clones of them) always do; others must pass
 * the filters, cheapest first: the packet is read only for the pcap filter, last. Returns
 * 2 when it left the packet's copy in c, 1 when selected without one, 0 when not selected. */
static __always_inline int skb_selected(struct sk_buff *skb, struct pkt_copy *c, bool direct,
					__u64 *clone_of)
{
	int match;

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
	if (!(cfg_flags & PWHY_CFG_FILTER_ACTIVE)) {
		if (cfg_flags & PWHY_CFG_TRACK_SKB)
			track_add(skb, (__u64)KRD(direct, skb, head), 0);
		return 1;
	}
	/* one helper call for the bytes the filter reads most, not one per load */
	pkt_snap(skb, c, direct);
	match = c->v.l2 ? pwhy_filter_l2(c->v.pkt, c->v.len, c->v.wirelen, c->b, c->n)
			: pwhy_filter_l3(c->v.pkt, c->v.len, c->v.wirelen, c->b, c->n);
	if (!match)
		return 0;
	if (cfg_flags & PWHY_CFG_TRACK_SKB)
		track_add(skb, c->v.head, 0);
	return 2;
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
	if (cfg_self_tgid && (bpf_get_current_pid_tgid() >> 32) == cfg_self_tgid)
		return NULL;
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
	send_id = probe == PWHY_PROBE_FUNC ? 0 : send_current();
	ev = event_new(kind, probe);
	if (!ev)
		return NULL;
	ev->send_id = send_id;
	/* Filling the event reads through helpers even where plain loads would do: they make
	 * the verifier's walk of this part several times longer (start-up time). */
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
	ev->pkt_l2 = c->v.l2;
	n = c->n;
	/* the tuple from the copy; from the skb when its headers are not all in the copy */
	if (!skb_tuple_from_copy(bpf_ntohs(BPF_CORE_READ(skb, protocol)), &c->v, c->b, n,
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

static __always_inline struct pending_fib *fib_record_begin(struct thread_state **tsp)
{
	struct thread_state *ts;
	struct pending_fib *r;
	struct pt_regs *regs;
	__u32 zero = 0;

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

/* One waiting lookup's event; non-zero to stop. A subprogram, not inlined: the verifier then
 * meets the loop below with the caller's state unchanged by the reservation's branches and
 * prunes; inlined, its walk grew past 500k instructions per caller on 6.1 (minutes of start-up
 * in emulation, near the verifier's limit). bpf_loop would need BTF func_info in the clones. */
static __noinline int fib_flush_one(__u32 i, __u64 send_id, __u32 tid)
{
	struct pending_fibs *pf = bpf_map_lookup_elem(&pending_fibs, &tid);
	struct pending_fib *r;
	struct pwhy_event *ev;

	if (!pf)
		return 1;
	r = &pf->f[i & (PENDING_FIBS - 1)];
	ev = event_new(PWHY_EV_FIB, r->probe);
	if (!ev)
		return 1;
	ev->send_id = send_id;
	ev->ts_ns = r->ts_ns;
	ev->netns = r->netns;
	ev->fib = r->fib;
	event_submit(ev);
	return 0;
}

/* The send is shown: its waiting lookups follow, in order. */
static __always_inline void pending_fibs_flush(struct thread_state *ts)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 n = ts->nfibs;

	if (!n)
		return;
	ts->nfibs = 0;
	if (ts->send_id != SEND_HIDDEN) {
		for (__u32 i = 0; i < PENDING_FIBS; i++)
			if (i >= n || fib_flush_one(i, ts->send_id, tid))
				break;
	}
	bpf_map_delete_elem(&pending_fibs, &tid);
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
	r = fib_record_begin(&ts);
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
	r = fib_record_begin(&ts);
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

/* ------------------------------------------------------------------------- syscall exit */

/* The end of a send: its return value when it was shown; the thread's state goes. */
SEC("tp_btf/sys_exit")
int BPF_PROG(pwhy_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts;
	struct pwhy_event *ev;

	if (!thread_states_live)
		return 0;
	ts = thread_state(false);
	if (!ts || !ts->active)
		return 0;
	/* a send that failed in its route lookups made no skb to select it: it is shown here,
	 * with the lookups that explain the failure */
	if (!ts->send_id && ts->nfibs && ret < 0) {
		long nr = syscall_nr(regs);

		if (is_send_nr(nr))
			send_show(ts, regs, nr);
	}
	if (ts->send_id && ts->send_id != SEND_HIDDEN) {
		ev = event_new(PWHY_EV_SEND_EXIT, PWHY_PROBE_SENDMSG);
		if (ev) {
			ev->send_id = ts->send_id;
			ev->send.ret = ret;
			event_submit(ev);
		}
	}
	if (ts->nfibs)
		bpf_map_delete_elem(&pending_fibs, &tid);
	ts->send_id = 0;
	ts->nfibs = 0;
	ts->nentries = 0;
	ts->active = 0;
	__sync_fetch_and_add(&thread_states_live, -1);
	return 0;
}
