/* SPDX-License-Identifier: GPL-2.0 */
/* The ring buffer and the counters: how every probe reserves, fills and hands over an event.
 * Included by trace.bpf.c after its read-only configuration. */
#ifndef PWHY_BPF_EVENTS_H
#define PWHY_BPF_EVENTS_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* resized by user space before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PWHY_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

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

#endif
