/* SPDX-License-Identifier: GPL-2.0 */
/* The send syscall in progress: its request (cmsg, socket) read from the syscall's registers
 * when one of its skbs is selected, and the route lookups that wait for that moment.
 * Included by trace.bpf.c after events.h. */
#ifndef PWHY_BPF_SEND_H
#define PWHY_BPF_SEND_H

/* Nothing is recorded when a send syscall starts. A send is looked at when one of its skbs
 * passes the filter: its request (the cmsg, the socket) is read then from the syscall's own
 * registers, and shown before that skb. Route lookups the send made before it had an skb
 * wait in pending_fibs for that moment. So a send the filter never selects costs nothing but
 * a check at its end (send_end), and no state at all lives between sends. */

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

/* Threads whose state is in use: at zero, the end of a send has nothing to look up. */
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

/* A user thread in a syscall: its send ends (send_end), where its state is dropped. */
static __always_inline bool current_exits_syscall(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();

	return !(task->flags & (PF_KTHREAD_ | PF_IO_WORKER_));
}

/* The current thread's state; with use, marked in use until the send's end resets it. */
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

/* The send's first selected skb (or lookup) is here: read its request, show it and the route
 * lookups that waited for it. sk: the socket of the send's fd. Sets ts->send_id. */
static __always_inline void send_show(struct thread_state *ts, struct pt_regs *regs, long nr,
				      struct sock *sk)
{
	struct pwhy_send_facts f = {};
	struct pwhy_event *ev;
	__u64 umsg = 0, flags;
	__u16 family;

	ts->send_id = SEND_HIDDEN;
	if (nr == cfg_nr_sendto) {		/* sendto(fd, buf, len, flags, addr, addrlen) */
		flags = PT_REGS_PARM4_SYSCALL(regs);
	} else if (nr == cfg_nr_sendmsg) {	/* sendmsg(fd, msg, flags) */
		umsg = PT_REGS_PARM2_SYSCALL(regs);
		flags = PT_REGS_PARM3_SYSCALL(regs);
	} else {	/* sendmmsg(fd, msgvec, vlen, flags): the first mmsghdr starts with its msghdr;
			 * its request stands for every message of the batch */
		umsg = PT_REGS_PARM2_SYSCALL(regs);
		flags = PT_REGS_PARM4_SYSCALL(regs);
	}
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
 * selected event; 0 outside a send or when the send has nothing to show. A send starts with an
 * skb of its own socket: an skb this thread meets in an interrupt (another flow's receive or
 * transmit completion) does not start one. */
static __always_inline __u64 send_current(struct sk_buff *skb)
{
	struct pt_regs *regs = current_regs();
	struct thread_state *ts;
	struct sock *sk = NULL;
	long nr;

	if (!regs)
		return 0;
	nr = syscall_nr(regs);
	if (!is_send_nr(nr) || !current_exits_syscall())
		return 0;
	ts = thread_state(false);
	if (!ts || !ts->active || !ts->send_id) {
		sk = fd_to_sock(PT_REGS_PARM1_SYSCALL(regs));
		if (!sk || sk != BPF_CORE_READ(skb, sk))
			return 0;
		ts = thread_state(true);
		if (!ts)
			return 0;
	}
	if (!ts->send_id)
		send_show(ts, regs, nr, sk);
	return ts->send_id == SEND_HIDDEN ? 0 : ts->send_id;
}

/* The send ends (ret: its result): show it when it failed in its route lookups (it made no skb
 * to select it, the lookups explain the failure), close it when shown, drop the thread's state.
 * With sendmmsg each message ends on its own. */
static __always_inline int send_end(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts;
	struct pwhy_event *ev;

	if (!thread_states_live)
		return 0;
	ts = thread_state(false);
	if (!ts || !ts->active)
		return 0;
	if (!ts->send_id && ts->nfibs && ret < 0) {
		struct pt_regs *regs = current_regs();
		long nr = regs ? syscall_nr(regs) : -1;

		if (is_send_nr(nr))
			send_show(ts, regs, nr, fd_to_sock(PT_REGS_PARM1_SYSCALL(regs)));
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

#endif
