/* SPDX-License-Identifier: GPL-2.0 */
/* Following an skb once it matched the filter: by its address until it is freed (so NAT and
 * other header rewrites do not lose it), and through its clones and copies.
 *
 * A clone shares its data buffer (skb->head) with the original, so the buffers of tracked skbs
 * are kept in a second map: an skb that is not tracked but whose buffer is, and that is marked
 * cloned, is a clone; it is tracked by its own address from then on. This works at any probe,
 * tracepoints included. Copies that get a buffer of their own (skb_copy, pskb_copy, ...) are
 * caught where the backend can see a function return: fexit, or kprobe + kretprobe.
 * Both maps are LRU and bounded; user space derives evictions from the add/delete counters and
 * the entries left at exit. Include after the maps and count() of the program. */
#ifndef PWHY_TRACK_H
#define PWHY_TRACK_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <pwhy/event.h>

#define SKB_DATAREF_MASK_ 0xffff

struct track_val {
	__u64 head;		/* data buffer when last seen */
	__u64 clone_of;		/* 0 for an skb that matched the filter itself */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct track_val);
} tracked SEC(".maps");

/* Entries of `tracked` and of `tracked_heads`, counted up on insert and down on delete (an LRU
 * eviction leaves them high, never low): at zero, probes skip the map. A buffer can outlive its
 * tracked skb (a clone still holds it), hence two counts. */
__u64 tracked_live;
__u64 heads_live;

/* data buffer of a tracked skb -> the first tracked skb that used it */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u64);
} tracked_heads SEC(".maps");

static __always_inline void track_add(struct sk_buff *skb, __u64 head, __u64 clone_of)
{
	struct track_val tv = { .head = head, .clone_of = clone_of };
	__u64 key = (__u64)skb, owner = (__u64)skb;

	if (bpf_map_update_elem(&tracked, &key, &tv, BPF_NOEXIST) == 0) {
		count(PWHY_CNT_TRACK_ADD);
		__sync_fetch_and_add(&tracked_live, 1);
	}
	if (head && bpf_map_update_elem(&tracked_heads, &head, &owner, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&heads_live, 1);
}

static __always_inline void heads_del(__u64 head)
{
	if (bpf_map_delete_elem(&tracked_heads, &head) == 0)
		__sync_fetch_and_add(&heads_live, -1);
}

static __always_inline void track_del(__u64 key)
{
	if (bpf_map_delete_elem(&tracked, &key) == 0) {
		count(PWHY_CNT_TRACK_DEL);
		__sync_fetch_and_add(&tracked_live, -1);
	}
}

/* Is this skb followed? 1 with *clone_of set (0 when it is an original), else 0. */
/* direct: skb is BTF-typed (tp_btf, fentry) and its fields can be loaded without helpers */
static __always_inline int track_check(struct sk_buff *skb, __u64 head, bool direct,
				       __u64 *clone_of)
{
	__u64 key = (__u64)skb, *owner;
	struct track_val *tv;

	tv = tracked_live ? bpf_map_lookup_elem(&tracked, &key) : NULL;
	if (tv) {
		/* pskb_expand_head (NAT on a cloned skb, headroom) gave it a new buffer */
		if (tv->head != head && head) {
			tv->head = head;
			if (bpf_map_update_elem(&tracked_heads, &head, &key, BPF_NOEXIST) == 0)
				__sync_fetch_and_add(&heads_live, 1);
		}
		*clone_of = tv->clone_of;
		return 1;
	}
	/* a buffer freed and reused by an unrelated skb is not shared: require the clone mark,
	 * checked first because most skbs are not clones (this runs for every skb the filter
	 * then looks at); an skb address can be reused too, so the owner's own address proves
	 * nothing */
	if (!heads_live || !head || !(direct ? BPF_CORE_READ_BITFIELD(skb, cloned)
				: BPF_CORE_READ_BITFIELD_PROBED(skb, cloned)))
		return 0;
	owner = bpf_map_lookup_elem(&tracked_heads, &head);
	if (!owner || *owner == key)
		return 0;
	*clone_of = *owner;
	track_add(skb, head, *owner);
	count(PWHY_CNT_TRACK_CLONE);
	return 1;
}

/* The skb is being freed: stop following it; forget its buffer when nobody else shares it. */
static __always_inline void track_forget(struct sk_buff *skb)
{
	__u64 key = (__u64)skb, head;
	struct skb_shared_info *sh;
	int dataref = 0;

	if (!tracked_live || !bpf_map_lookup_elem(&tracked, &key))
		return;
	track_del(key);
	/* an older buffer (before pskb_expand_head) may live on in a clone: the LRU ages it out */
	head = (__u64)BPF_CORE_READ(skb, head);
	if (!head)
		return;
	sh = (struct skb_shared_info *)(head + BPF_CORE_READ(skb, end));
	dataref = BPF_CORE_READ(sh, dataref.counter) & SKB_DATAREF_MASK_;
	if (dataref <= 1)
		heads_del(head);
}

/* A copy or clone made of a tracked skb: follow the new one too. */
static __always_inline void track_copy(struct sk_buff *from, struct sk_buff *to)
{
	__u64 key = (__u64)from;
	struct track_val *tv;

	if (!from || !to || !(cfg_flags & PWHY_CFG_TRACK_SKB) || !tracked_live)
		return;
	tv = bpf_map_lookup_elem(&tracked, &key);
	if (!tv)
		return;
	track_add(to, (__u64)BPF_CORE_READ(to, head), key);
	count(PWHY_CNT_TRACK_CLONE);
}

/* Freed without a tracepoint (UDP's stateless consume, TCP's write queue, ...): kfree_skbmem
 * is where every skb ends. Its data is already released, so only a buffer this skb owned is
 * forgotten (clones of it were caught at skb_clone's return on these backends). */
static __always_inline void track_release(struct sk_buff *skb)
{
	__u64 key = (__u64)skb, head, *owner;

	if (!(cfg_flags & PWHY_CFG_TRACK_SKB) || !tracked_live ||
	    !bpf_map_lookup_elem(&tracked, &key))
		return;
	track_del(key);
	head = (__u64)BPF_CORE_READ(skb, head);
	owner = bpf_map_lookup_elem(&tracked_heads, &head);
	if (owner && *owner == key)
		heads_del(head);
}

SEC("fentry/kfree_skbmem")
int BPF_PROG(pwhy_trk_fentry_kfree_skbmem, struct sk_buff *skb)
{
	track_release(skb);
	return 0;
}

SEC("kprobe/kfree_skbmem")
int pwhy_trk_kprobe_kfree_skbmem(struct pt_regs *ctx)
{
	track_release((struct sk_buff *)PT_REGS_PARM1(ctx));
	return 0;
}

/* ------------------------------------------------- copies: fexit (fentry backend) */

SEC("fexit/skb_clone")
int BPF_PROG(pwhy_trk_fexit_skb_clone, struct sk_buff *skb, gfp_t gfp, struct sk_buff *ret)
{
	track_copy(skb, ret);
	return 0;
}

SEC("fexit/skb_copy")
int BPF_PROG(pwhy_trk_fexit_skb_copy, struct sk_buff *skb, gfp_t gfp, struct sk_buff *ret)
{
	track_copy(skb, ret);
	return 0;
}

SEC("fexit/__pskb_copy_fclone")
int BPF_PROG(pwhy_trk_fexit___pskb_copy_fclone, struct sk_buff *skb, int headroom, gfp_t gfp,
	     bool fclone, struct sk_buff *ret)
{
	track_copy(skb, ret);
	return 0;
}

SEC("fexit/skb_copy_expand")
int BPF_PROG(pwhy_trk_fexit_skb_copy_expand, struct sk_buff *skb, int newheadroom,
	     int newtailroom, gfp_t gfp, struct sk_buff *ret)
{
	track_copy(skb, ret);
	return 0;
}

/* ------------------------------------- copies: kprobe + kretprobe (kprobe backend) */

/* the tracked skb a copy function of this task was called with (copies do not nest) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} copy_args SEC(".maps");

static __always_inline int copy_enter(struct sk_buff *skb)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 key = (__u64)skb;

	if (tracked_live && bpf_map_lookup_elem(&tracked, &key))
		bpf_map_update_elem(&copy_args, &tid, &key, BPF_ANY);
	return 0;
}

static __always_inline int copy_exit(struct sk_buff *ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *from = bpf_map_lookup_elem(&copy_args, &tid);

	if (!from)
		return 0;
	track_copy((struct sk_buff *)*from, ret);
	bpf_map_delete_elem(&copy_args, &tid);
	return 0;
}

#define COPY_KPROBES(fn)                                                       \
	SEC("kprobe/" #fn)                                                      \
	int pwhy_trk_kprobe_##fn(struct pt_regs *ctx)                          \
	{                                                                       \
		return copy_enter((struct sk_buff *)PT_REGS_PARM1(ctx));         \
	}                                                                       \
	SEC("kretprobe/" #fn)                                                   \
	int pwhy_trk_kretprobe_##fn(struct pt_regs *ctx)                       \
	{                                                                       \
		return copy_exit((struct sk_buff *)PT_REGS_RC(ctx));             \
	}

COPY_KPROBES(skb_clone)
COPY_KPROBES(skb_copy)
COPY_KPROBES(__pskb_copy_fclone)
COPY_KPROBES(skb_copy_expand)

#endif
