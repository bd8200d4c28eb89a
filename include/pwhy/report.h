/* SPDX-License-Identifier: GPL-2.0 */
/* pwhy report: drops counted in BPF maps (no event per drop), read by user space as snapshots,
 * turned into windows (differences of two snapshots), ranked, explained and rendered.
 *
 * The first part is shared with bpf/report.bpf.c: map keys and values, fixed-size and padded.
 * The rest is user space: snapshot → window → report → text, JSON or Markdown. Everything from
 * the window on is pure (names come through callbacks), so tests feed fixed inputs. */
#ifndef PWHY_REPORT_H
#define PWHY_REPORT_H

#ifdef __BPF__
/* vmlinux.h defines the __u8.. types */
#else
#include <linux/types.h>
#endif

/* Map sizes: bounded, whatever the traffic. A full table never loses a drop from the totals;
 * what it cannot attribute is counted and shown. */
#define REPORT_MAX_REASONS   512
#define REPORT_MAX_LOCATIONS 4096
#define REPORT_MAX_DEVICES   2048
#define REPORT_MAX_FLOWS     8192	/* LRU: the least recently dropping flows are evicted */

struct report_count {
	__u64 packets;
	__u64 bytes;
};

/* by_location key: the kernel address that freed the skb, per reason */
struct report_loc_key {
	__u64 location;
	__u32 reason;
	__u32 pad;
};

/* by_device key: the skb's netns and device, per reason */
struct report_dev_key {
	__u32 netns;
	__s32 ifindex;		/* 0: the skb had no device */
	__u32 reason;
	__u32 pad;
};

struct report_dev_val {
	__u64 packets;
	__u64 bytes;
	char  ifname[16];	/* written by the CPU that created the entry, zero on the others */
};

/* flows key: one row per tuple, netns and reason */
struct report_flow_key {
	__u32 netns;
	__u32 reason;
	__u16 eth_proto;	/* host order; the tuple is zero when not IP */
	__u8  family;		/* AF_INET / AF_INET6 (2 / 10), 0 when not IP */
	__u8  l4proto;
	__u16 sport;		/* host order; ICMP: type / code */
	__u16 dport;
	__u8  saddr[16];	/* IPv4 in the first 4 bytes */
	__u8  daddr[16];
	__u8  frag;		/* non-first fragment: no ports */
	__u8  pad[7];
};

/* flows value: counters (atomic adds) and a sample of the first drop of the flow — what
 * socket lookup used, so that user space can explain NO_SOCKET drops afterwards */
struct report_flow_val {
	__u64 packets;
	__u64 bytes;
	__u64 first_ns;		/* bpf_ktime_get_ns of the first and the latest drop */
	__u64 last_ns;
	__u64 location;		/* of the first drop */
	__s32 ifindex;
	__s32 dif;		/* NO_SOCKET samples: inet_iif / inet6_iif as the lookup saw it */
	__s32 sdif;		/* l3mdev slave, 0 when not VRF ingress */
	__u8  l3slave;
	__u8  sampled;		/* dif/sdif/l3slave are valid */
	__u8  local_out;	/* sent by a local socket: the three fields below are valid */
	__u8  pad;
	char  ifname[16];
	__s32 route_ifindex;	/* device of the route the skb still carries (the sender's choice) */
	__s32 sk_bound_dev_if;	/* of the sending socket: what a LOCAL_OUT reroute keys on */
	__u32 mark;		/* skb->mark at the drop (a reroute's trigger) */
	__u32 pad2;
};

/* Totals and table pressure, one per-CPU array slot */
struct report_totals {
	__u64 drops;
	__u64 bytes;
	__u64 reason_full;	/* drops no by_reason row could take (table full) */
	__u64 location_full;
	__u64 device_full;
	__u64 flow_full;	/* a flow could not be inserted at all */
	__u64 flows_created;	/* evictions = created − entries present */
};

#ifndef __BPF__
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "pwhy/finding.h"
#include "pwhy/hostinfo.h"

/* ------------------------------------------------------------------ snapshots and windows */

struct report_reason_row { __u32 reason; struct report_count c; };
struct report_loc_row { struct report_loc_key k; struct report_count c; };
struct report_dev_row { struct report_dev_key k; struct report_count c; char ifname[16]; };
struct report_flow_row { struct report_flow_key k; struct report_flow_val v; };

/* What the maps held at one moment (cumulative since start), or the difference of two such
 * moments (a window). */
struct report_snapshot {
	double mono_s;			/* CLOCK_MONOTONIC when read */
	time_t wall;			/* time(NULL) when read */
	struct report_totals totals;
	struct report_reason_row *reasons;	size_t nreasons;
	struct report_loc_row *locs;		size_t nlocs;
	struct report_dev_row *devs;		size_t ndevs;
	struct report_flow_row *flows;		size_t nflows;
	__u64 flows_evicted;		/* since start (snapshot) or in the window */
};

void report_snapshot_free(struct report_snapshot *s);
/* Deep copy; 0 or -ENOMEM. */
int report_snapshot_copy(struct report_snapshot *dst, const struct report_snapshot *src);
/* out = cur − prev, row by row (rows with nothing new are left out). prev NULL: out = cur.
 * A flow whose counter went down was evicted and came back: its whole count is new.
 * 0 or -ENOMEM. */
int report_window(const struct report_snapshot *cur, const struct report_snapshot *prev,
		  struct report_snapshot *out);

/* ------------------------------------------------------------------------------ explain */

/* Flows explained once each, kept by flow key: NO_SOCKET flows by no_sk_explain on the flow's
 * sample; drops of locally sent packets by re-asking the routing what a LOCAL_OUT reroute asked
 * (oif-change: the sender's oif lost, no route for the reroute's keys). */
#define REPORT_EXPLAIN_CACHE 256

struct report_explained {
	struct report_flow_key key;
	struct finding f;
	bool none;		/* looked at, nothing to say: not asked again */
	double when_s;		/* monotonic time of the explanation */
};

struct route_query;

struct report_explainer {
	const struct hostinfo *host;
	__u32 reason_no_socket;
	/* "name+0xoff" for a drop location; tests pass their own */
	const char *(*location)(void *ctx, __u64 addr, char *buf, size_t len);
	/* an output route lookup in a netns (route_get() when NULL); tests pass their own */
	int (*route)(void *ctx, __u32 netns, const struct route_query *q, int *oif);
	void *ctx;
	struct report_explained *v;
	size_t n, next;		/* ring of REPORT_EXPLAIN_CACHE entries */
	unsigned long explained, failed;
};

/* The finding already made for this flow, or NULL. */
const struct finding *report_explained_get(const struct report_explainer *x,
					   const struct report_flow_key *k);
/* Explain the flows of s not explained yet, the busiest first, at most max of them.
 * Returns how many were explained. */
int report_explain_new(struct report_explainer *x, const struct report_snapshot *s, int max,
		       double now_s);
void report_explainer_free(struct report_explainer *x);

/* --------------------------------------------------------------------------- the report */

/* How numbers become names. Tests pass fixed answers. */
struct report_names {
	/* a drop reason: "NO_SOCKET", or the number */
	const char *(*reason)(void *ctx, __u32 reason, char *buf, size_t len);
	/* a kernel address: "func+0xoff" */
	const char *(*location)(void *ctx, __u64 addr, char *buf, size_t len);
	/* a device: "name:ifindex"; bpf_name is what BPF saw at the drop ("" when none) */
	const char *(*device)(void *ctx, __u32 netns, int ifindex, const char *bpf_name,
			      char *buf, size_t len);
	void *ctx;
};

#define REPORT_DEV_REASONS 4	/* reasons listed per device row */

struct report_reason_out { __u32 value; char name[64]; __u64 drops, bytes; };
struct report_loc_out { __u64 addr; char location[96]; char function[80]; char reason[64];
			__u64 drops, bytes; };
struct report_dev_out {
	__u32 netns; int ifindex; char device[48]; __u64 drops, bytes;
	struct { char name[64]; __u64 drops; } reasons[REPORT_DEV_REASONS];
	int nreasons;
	__u64 other_reason_drops;	/* drops of reasons beyond REPORT_DEV_REASONS */
};
struct report_flow_out {
	struct report_flow_key key;
	char tuple[160]; char device[48]; char reason[64]; char location[96];
	__u64 drops, bytes;
	const struct finding *finding;	/* NO_SOCKET flows: the explanation, if any */
};
struct report_finding_out {
	const struct finding *f;	/* the first flow's finding */
	__u64 drops;			/* of every shown flow with the same summary and hint */
	int flows;
};

enum report_kind { REPORT_TOTAL = 0, REPORT_INTERVAL };

struct report_meta {
	enum report_kind kind;
	time_t start, end;		/* wall clock */
	double seconds;
	__u32 netns_filter;		/* 0 = every netns */
	int top;
	char host[64];
	char kernel[64];
	int flow_table_size;
};

/* A window, ranked and named. Rows past `top` are summed into the *_rest counters. */
struct report {
	struct report_meta meta;
	__u64 drops, bytes;
	struct report_reason_out *reasons;	size_t nreasons;
	struct report_loc_out *locs;		size_t nlocs;	__u64 locs_rest, locs_rest_rows;
	struct report_dev_out *devs;		size_t ndevs;	__u64 devs_rest, devs_rest_rows;
	struct report_flow_out *flows;		size_t nflows;	__u64 flows_rest, flows_rest_rows;
	struct report_finding_out *findings;	size_t nfindings;
	/* table pressure in this window */
	__u64 reason_full, location_full, device_full, flow_full, flows_evicted;
	size_t flows_tracked;			/* distinct flows in the window */
};

/* Build the report of a window. explained may be NULL. 0 or -ENOMEM. */
int report_build(const struct report_snapshot *win, const struct report_meta *meta,
		 const struct report_names *names, const struct report_explainer *explained,
		 struct report *out);
void report_free(struct report *r);

enum report_format { REPORT_TEXT = 0, REPORT_JSON, REPORT_MARKDOWN };
void report_render(const struct report *r, enum report_format fmt, FILE *out);

/* "1.5 KiB" */
const char *report_fmt_bytes(__u64 bytes, char *buf, size_t len);

/* ------------------------------------------------------------------------- live collection */

struct report_collector;

struct report_collect_opts {
	__u32 filter_netns;
	bool verbose;
};

/* Load and attach the drop counters (tp_btf/kfree_skb). 0 or -errno with a line in err. */
int report_collector_open(const struct report_collect_opts *o, struct report_collector **out,
			  char *err, size_t errlen);
/* Read every map into s (cumulative since attach). 0 or -errno. */
int report_collector_read(struct report_collector *c, struct report_snapshot *s);
/* Packets of one drop reason so far (one lookup: cheap enough to poll). 0 or -errno. */
int report_collector_reason_count(struct report_collector *c, __u32 reason, __u64 *packets);
void report_collector_close(struct report_collector *c);

/* The live names: BTF drop reasons, kallsyms, interfaces looked up in their netns. */
const struct report_names *report_names_live(void);
#endif /* !__BPF__ */

#endif /* PWHY_REPORT_H */
