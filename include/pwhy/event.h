/* SPDX-License-Identifier: GPL-2.0 */
/* Records the BPF programs write into the ring buffer and user space decodes.
 * One header for both sides: fixed-size, explicitly padded, no pointers used as pointers. */
#ifndef PWHY_EVENT_H
#define PWHY_EVENT_H

#ifdef __BPF__
/* vmlinux.h already defines the kernel's __u8.. types */
#else
#include <linux/types.h>
#endif

#define PWHY_EVENT_VERSION 1
#define PWHY_IFNAMSIZ      16
#define PWHY_COMM_LEN      16
#define PWHY_PKT_SNAP      128	/* packet bytes copied for -w / filters */

enum pwhy_event_kind {
	PWHY_EV_PATH = 1,	/* an skb passed a probe (function or tracepoint) */
	PWHY_EV_DROP,		/* skb freed with a drop reason */
	PWHY_EV_FIB,		/* one fib table lookup made while a traced send was in progress */
	PWHY_EV_SEND,		/* a send syscall began (what the user asked for) */
	PWHY_EV_SEND_EXIT,	/* that send syscall returned */
	PWHY_EV_XMIT,		/* skb queued on its egress device (facts for oif/MAC checks) */
	PWHY_EV_SKB_LOOKUP,	/* socket lookup keys (dif/sdif) seen by a lookup function probe */
	PWHY_EV_SKB_DUMP = 32,	/* struct pwhy_skb_dump: --output-skb text of the previous event's skb */
};

/* Where an event came from. Tracepoint probes have fixed ids; function probes carry func_ip. */
enum pwhy_probe_id {
	PWHY_PROBE_FUNC = 0,	/* function: see func_ip */
	PWHY_PROBE_NET_DEV_QUEUE,
	PWHY_PROBE_NET_DEV_XMIT,
	PWHY_PROBE_NETIF_RECEIVE_SKB,
	PWHY_PROBE_NETIF_RX,
	PWHY_PROBE_KFREE_SKB,
	PWHY_PROBE_CONSUME_SKB,
	PWHY_PROBE_FIB_LOOKUP,
	PWHY_PROBE_FIB6_LOOKUP,
	PWHY_PROBE_SENDMSG,
	PWHY_PROBE_SKB_COPY_DATAGRAM,
	PWHY_PROBE_MAX,
};

/* Why a send's output interface was requested */
enum pwhy_oif_origin {
	PWHY_OIF_NONE = 0,
	PWHY_OIF_IP_PKTINFO,
	PWHY_OIF_IPV6_PKTINFO,
	PWHY_OIF_UNICAST_IF,
	PWHY_OIF_BINDTODEVICE,
};

struct pwhy_tuple {
	__u8  family;		/* AF_INET / AF_INET6, 0 when not IP */
	__u8  l4proto;		/* IPPROTO_* */
	__u16 sport;		/* host byte order */
	__u16 dport;
	__u8  tcp_flags;
	__u8  frag;		/* 1 when a non-first fragment (ports absent) */
	__u8  saddr[16];	/* IPv4 in the first 4 bytes */
	__u8  daddr[16];
};

/* Facts attached to a drop: what socket lookup would have used, who sent it. */
struct pwhy_drop_facts {
	__u64 location;		/* kernel address that freed it */
	__u32 reason;		/* enum skb_drop_reason value of the running kernel */
	__s32 dif;		/* inet_iif / inet6_iif of the skb */
	__s32 sdif;		/* l3mdev slave ifindex, 0 when not VRF ingress */
	__u8  l3slave;		/* IPSKB_L3SLAVE / IP6SKB_L3SLAVE was set */
	__u8  sender_known;	/* the sender fields below are valid */
	__u8  sender_transparent;
	__u8  pad;
	__u32 sender_pid;
	__u32 sender_netns;
	__s32 sender_bound_dev_if;
	char  sender_comm[PWHY_COMM_LEN];
};

/* One fib lookup (v4 or v6) inside a send */
struct pwhy_fib_facts {
	__u32 table;
	__s32 err;
	__s32 oif;
	__s32 iif;
	__u32 mark;
	__u8  scope;		/* flowi4_scope (RT_SCOPE_LINK when SO_DONTROUTE / MSG_DONTROUTE) */
	__u8  family;
	__u8  pad[2];
	__s32 nh_ifindex;	/* 0 when no nexthop */
	char  nh_ifname[PWHY_IFNAMSIZ];
	__u8  daddr[16];
	__u8  saddr[16];
	__u8  gw[16];
};

/* A send syscall's request: which oif the user asked for and how */
struct pwhy_send_facts {
	__s32 req_oif;		/* requested by cmsg / socket option, 0 when none */
	__u8  req_origin;	/* enum pwhy_oif_origin */
	__u8  family;		/* of the cmsg */
	__u8  dontroute;	/* MSG_DONTROUTE on this send */
	__u8  pad;
	__s64 ret;		/* syscall return value (SEND_EXIT) */
	__u8  spec_dst[16];	/* ipi_spec_dst / ipi6_addr */
};

/* The frame handed to its egress device */
struct pwhy_xmit_facts {
	__s32 sk_bound_dev_if;
	__s32 sk_uc_index;	/* IP_UNICAST_IF */
	__u8  dev_mac[6];
	__u8  sk_dontroute;	/* SOCK_LOCALROUTE */
	__u8  has_sk;
	__u8  sk_transparent;
	__u8  pad[3];
};

struct pwhy_event {
	__u16 version;
	__u16 kind;		/* enum pwhy_event_kind */
	__u16 probe;		/* enum pwhy_probe_id */
	__u16 pkt_len;		/* bytes valid in pkt[] */
	__u64 ts_ns;		/* bpf_ktime_get_ns */
	__u64 skb;		/* skb address, an identity only */
	__u64 func_ip;		/* function probes */
	__u64 send_id;		/* (tid << 32 | per-task sequence) of the send in progress, 0 if none */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 cpu;
	__u32 netns;		/* inode of the skb's (or task's) netns */
	__u32 mark;
	__s32 ifindex;		/* skb->dev */
	__u32 len;		/* skb->len */
	__u16 eth_proto;	/* host order */
	__u8  pkt_l2;		/* pkt[] starts at the MAC header (else at the network header) */
	__u8  pad0;
	char  comm[PWHY_COMM_LEN];
	char  ifname[PWHY_IFNAMSIZ];
	struct pwhy_tuple tuple;
	union {
		struct pwhy_drop_facts drop;
		struct pwhy_fib_facts fib;
		struct pwhy_send_facts send;
		struct pwhy_xmit_facts xmit;
	};
	__u64 clone_of;		/* followed as a clone/copy of this skb (tracking), 0 when not */
	__u64 caller;		/* --output-caller where the probe gives it directly, 0 otherwise */
	__s32 stack_id;		/* --output-stack: id in the stack map, valid when has_stack */
	__u8  has_stack;
	__u8  pad1[3];
	__u32 pkt_wirelen;	/* length of the whole packet pkt[] starts (original length for -w) */
	__u32 pad2;
	__u8  pkt[PWHY_PKT_SNAP];	/* last: events without a packet copy are sent without it */
};

/* --output-skb: the skb as bpf_snprintf_btf prints it, sent as its own ring record right
 * after the event of the same skb (too large for every event). */
#define PWHY_SKB_DUMP_LEN 8192
struct pwhy_skb_dump {
	__u16 version;
	__u16 kind;		/* PWHY_EV_SKB_DUMP */
	__u32 len;		/* bytes of text (without NUL); > sizeof(text) - 1 when truncated */
	__u64 skb;
	__u64 ts_ns;
	char  text[PWHY_SKB_DUMP_LEN];
};

/* Counters in a per-CPU array, read by user space at exit */
enum pwhy_counter {
	PWHY_CNT_RINGBUF_FULL = 0,	/* events lost: ring buffer had no room */
	PWHY_CNT_TRACK_EVICT,		/* skb tracking map was full */
	PWHY_CNT_SEND_STATE_FULL,	/* no thread state for a send, or its pending lookups full */
	PWHY_CNT_EVENTS,		/* events submitted */
	PWHY_CNT_TRACK_ADD,		/* skbs put into the tracking map */
	PWHY_CNT_TRACK_DEL,		/* ... and taken out when freed (the rest live or were evicted) */
	PWHY_CNT_TRACK_CLONE,		/* clones/copies found through a tracked skb */
	PWHY_CNT_STACK_LOST,		/* --output-stack: no stack id (map full or collision) */
	PWHY_CNT_SKB_DUMP_LOST,		/* --output-skb: no room in the ring buffer */
	PWHY_CNT_MAX,
};

/* Configuration set in .rodata before load */
#define PWHY_CFG_FILTER_ACTIVE   (1u << 0)
#define PWHY_CFG_TRACK_SKB       (1u << 1)
#define PWHY_CFG_PATH_EVENTS     (1u << 2)	/* emit PATH events (off in report-only mode) */
#define PWHY_CFG_COPY_PKT        (1u << 3)
#define PWHY_CFG_EXPLAIN_ROUTE   (1u << 4)	/* record every send's route lookups */
#define PWHY_CFG_FILTER_INLINE   (1u << 5)	/* BTF-typed probes run the inline pcap filter */
#define PWHY_CFG_OUTPUT_STACK    (1u << 16)	/* stack id per skb event */
#define PWHY_CFG_OUTPUT_CALLER   (1u << 17)	/* caller per skb event */
#define PWHY_CFG_OUTPUT_SKB      (1u << 18)	/* an skb dump record after each skb event */

#endif /* PWHY_EVENT_H */
