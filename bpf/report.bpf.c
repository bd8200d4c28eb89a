// SPDX-License-Identifier: GPL-2.0
/* pwhy report: count drops in maps, by reason, location, netns/device and flow.
 *
 * One tp_btf program on skb:kfree_skb (skb, location, reason: the same first three arguments on
 * every kernel pwhy supports). Nothing goes to user space per drop: it reads the maps when it
 * reports. The per-CPU totals are exact; each table is bounded and what it cannot take is
 * counted. NO_SOCKET flows keep a sample of the socket lookup keys of their first drop. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <pwhy/event.h>
#include <pwhy/report.h>
#include "skb.h"
#include "drop_keys.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 cfg_filter_netns;		/* 0 = every netns */
const volatile __u32 cfg_reason_no_socket = ~0u;
/* pwhy itself: the route lookups that explain a flow free an skb when they find no route */
const volatile __u32 cfg_self_tgid;

#define E2BIG_ 7
#define EEXIST_ 17

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct report_totals);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, REPORT_MAX_REASONS);
	__type(key, __u32);
	__type(value, struct report_count);
} by_reason SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, REPORT_MAX_LOCATIONS);
	__type(key, struct report_loc_key);
	__type(value, struct report_count);
} by_location SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, REPORT_MAX_DEVICES);
	__type(key, struct report_dev_key);
	__type(value, struct report_dev_val);
} by_device SEC(".maps");

/* shared LRU: counters are added atomically, memory does not grow with the number of CPUs */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, REPORT_MAX_FLOWS);
	__type(key, struct report_flow_key);
	__type(value, struct report_flow_val);
} flows SEC(".maps");

/* Add one drop to a per-CPU counter row, creating it when needed. Returns 0, or -1 when the
 * table is full. */
static __always_inline int count_row(void *map, const void *key, __u32 len)
{
	struct report_count *c, init = { .packets = 1, .bytes = len };
	long r;

	c = bpf_map_lookup_elem(map, key);
	if (c) {
		c->packets++;
		c->bytes += len;
		return 0;
	}
	r = bpf_map_update_elem(map, key, &init, BPF_NOEXIST);
	if (r == -EEXIST_) {		/* another CPU created it meanwhile: our slot is zero */
		c = bpf_map_lookup_elem(map, key);
		if (c) {
			c->packets++;
			c->bytes += len;
			return 0;
		}
	}
	return r ? -1 : 0;
}

static __always_inline int count_device(const struct report_dev_key *key, struct net_device *dev,
					__u32 len)
{
	struct report_dev_val *v, init = { .packets = 1, .bytes = len };
	long r;

	v = bpf_map_lookup_elem(&by_device, key);
	if (v) {
		v->packets++;
		v->bytes += len;
		return 0;
	}
	if (dev)
		bpf_probe_read_kernel_str(init.ifname, sizeof(init.ifname), dev->name);
	r = bpf_map_update_elem(&by_device, key, &init, BPF_NOEXIST);
	if (r == -EEXIST_) {
		v = bpf_map_lookup_elem(&by_device, key);
		if (v) {
			v->packets++;
			v->bytes += len;
			return 0;
		}
	}
	return r ? -1 : 0;
}

static __always_inline void count_flow(struct sk_buff *skb, struct net_device *dev, __u32 netns,
				       __u32 reason, __u64 location, __u32 len,
				       struct report_totals *tot)
{
	struct report_flow_key key = {};
	struct report_flow_val *v, init = {};
	struct pwhy_tuple t = {};
	struct skb_view view;
	struct sock *sk = skb->sk;
	__u64 now = bpf_ktime_get_ns();
	long r;

	skb_view_load(skb, &view, true);	/* tp_btf: plain loads of a BTF-typed skb */
	key.eth_proto = skb_tuple(skb, &view, &t);
	key.netns = netns;
	key.reason = reason;
	key.family = t.family;
	key.l4proto = t.l4proto;
	key.frag = t.frag;
	if (t.family) {
		key.sport = t.sport;
		key.dport = t.dport;
		__builtin_memcpy(key.saddr, t.saddr, 16);
		__builtin_memcpy(key.daddr, t.daddr, 16);
	}
	v = bpf_map_lookup_elem(&flows, &key);
	if (v) {
		__sync_fetch_and_add(&v->packets, 1);
		__sync_fetch_and_add(&v->bytes, len);
		v->last_ns = now;
		return;
	}
	init.packets = 1;
	init.bytes = len;
	init.first_ns = now;
	init.last_ns = now;
	init.location = location;
	if (dev) {
		init.ifindex = dev->ifindex;
		bpf_probe_read_kernel_str(init.ifname, sizeof(init.ifname), dev->name);
	}
	if (reason == cfg_reason_no_socket && t.family) {
		struct pwhy_drop_facts d = {};

		skb_drop_lookup_keys(skb, &t, &d);
		init.dif = d.dif;
		init.sdif = d.sdif;
		init.l3slave = d.l3slave;
		init.sampled = 1;
	} else if (t.family && sk && !skb->skb_iif) {
		/* locally sent and dropped on the way out: keep what a LOCAL_OUT reroute
		 * (ip_route_me_harder) would have used, and the route it failed to replace */
		struct dst_entry *dst = (struct dst_entry *)(skb->_skb_refdst & ~1UL);

		init.local_out = 1;
		init.sk_bound_dev_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
		init.mark = skb->mark;
		init.route_ifindex = dst ? BPF_CORE_READ(dst, dev, ifindex) : 0;
	}
	r = bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
	if (r == 0) {
		tot->flows_created++;
		return;
	}
	if (r == -EEXIST_) {
		v = bpf_map_lookup_elem(&flows, &key);
		if (v) {
			__sync_fetch_and_add(&v->packets, 1);
			__sync_fetch_and_add(&v->bytes, len);
			return;
		}
	}
	tot->flow_full++;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(report_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct report_loc_key lk = {};
	struct report_dev_key dk = {};
	struct report_totals *tot;
	struct net_device *dev;
	__u32 zero = 0, netns, len, why = reason;

	if (!skb)
		return 0;
	dev = skb_dev(skb, true);
	netns = skb_netns_load(skb, true);
	if (cfg_filter_netns && netns != cfg_filter_netns)
		return 0;
	if (cfg_self_tgid && bpf_get_current_pid_tgid() >> 32 == cfg_self_tgid)
		return 0;
	tot = bpf_map_lookup_elem(&totals, &zero);
	if (!tot)
		return 0;
	len = skb->len;
	tot->drops++;
	tot->bytes += len;

	if (count_row(&by_reason, &why, len))
		tot->reason_full++;

	lk.location = (__u64)location;
	lk.reason = why;
	if (count_row(&by_location, &lk, len))
		tot->location_full++;

	dk.netns = netns;
	dk.ifindex = dev ? dev->ifindex : 0;
	dk.reason = why;
	if (count_device(&dk, dev, len))
		tot->device_full++;

	count_flow(skb, dev, netns, why, (__u64)location, len, tot);
	return 0;
}
