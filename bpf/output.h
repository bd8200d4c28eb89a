/* SPDX-License-Identifier: GPL-2.0 */
/* Optional per-event metadata like pwru's: kernel stack (--output-stack), caller
 * (--output-caller) and the skb printed through BTF (--output-skb). All off by default and
 * behind read-only config, so the verifier drops the code when unused.
 * Include after the ring buffer, cfg_flags and count() of the program. */
#ifndef PWHY_OUTPUT_H
#define PWHY_OUTPUT_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <pwhy/event.h>

#define PWHY_STACK_DEPTH 127

/* resized to 1 entry by user space when no stack is asked for */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PWHY_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

enum output_probe_kind {
	OUT_FENTRY,
	OUT_KPROBE,
	OUT_TP,
};

/* fentry: the trampoline runs at the function's first instruction, so the stack reads
 * [this program, trampoline, func+N (return into the function), caller, ...] */
static __always_inline __u64 fentry_caller(void *ctx, __u64 func_ip)
{
	__u64 frames[6] = {};
	long n = bpf_get_stack(ctx, frames, sizeof(frames), 0);

	if (n <= 0)
		return 0;
	for (int i = 0; i < 5; i++)
		if (frames[i] - func_ip < 32)
			return frames[i + 1];
	return 0;
}

/* Fill the metadata asked for into an skb event about to be submitted. */
static __always_inline void output_meta(void *ctx, struct pwhy_event *ev, int kind)
{
	long id;

	if (!(cfg_flags & (PWHY_CFG_OUTPUT_STACK | PWHY_CFG_OUTPUT_CALLER)))
		return;
	if (cfg_flags & PWHY_CFG_OUTPUT_CALLER) {
		if (kind == OUT_KPROBE)		/* at entry the stack pointer holds the return address */
			bpf_probe_read_kernel(&ev->caller, sizeof(ev->caller),
					      (void *)PT_REGS_SP((struct pt_regs *)ctx));
		else if (kind == OUT_FENTRY)
			ev->caller = fentry_caller(ctx, ev->func_ip);
	}
	/* tracepoints have no return address: their caller comes from the stack in user space */
	if ((cfg_flags & PWHY_CFG_OUTPUT_STACK) ||
	    ((cfg_flags & PWHY_CFG_OUTPUT_CALLER) && !ev->caller)) {
		id = bpf_get_stackid(ctx, &stacks, 0);
		if (id >= 0) {
			ev->stack_id = id;
			ev->has_stack = 1;
		} else {
			count(PWHY_CNT_STACK_LOST);
		}
	}
}

/* --output-skb: a record of its own with the skb as BTF prints it, after the event. */
static __always_inline void output_skb_dump(struct sk_buff *skb, __u64 ts)
{
	struct btf_ptr p = {};
	struct pwhy_skb_dump *d;
	long n;

	if (!(cfg_flags & PWHY_CFG_OUTPUT_SKB))
		return;
	d = bpf_ringbuf_reserve(&events, sizeof(*d), 0);
	if (!d) {
		count(PWHY_CNT_SKB_DUMP_LOST);
		return;
	}
	d->version = PWHY_EVENT_VERSION;
	d->kind = PWHY_EV_SKB_DUMP;
	d->skb = (__u64)skb;
	d->ts_ns = ts;
	p.ptr = skb;
	p.type_id = bpf_core_type_id_kernel(struct sk_buff);
	n = bpf_snprintf_btf(d->text, sizeof(d->text), &p, sizeof(p), 0);
	if (n < 0) {
		bpf_ringbuf_discard(d, 0);
		count(PWHY_CNT_SKB_DUMP_LOST);
		return;
	}
	d->len = n;
	bpf_ringbuf_submit(d, 0);
}

/* Submit an skb event with its optional metadata and dump. */
static __always_inline void skb_event_submit(void *ctx, struct pwhy_event *ev,
					     struct sk_buff *skb, int kind)
{
	__u64 ts = ev->ts_ns;

	output_meta(ctx, ev, kind);
	event_submit(ev);
	output_skb_dump(skb, ts);
}

#endif
