/* SPDX-License-Identifier: GPL-2.0 */
/* The per-CPU counters every fix program keeps (enum in pwhy/fix.h); `pwhy fix status` reads
 * them from the pinned map. */
#ifndef PWHY_FIX_STATS_H
#define PWHY_FIX_STATS_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <pwhy/fix.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FIX_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void count(__u32 i)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &i);

	if (c)
		(*c)++;
}
#endif
