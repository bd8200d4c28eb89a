/* SPDX-License-Identifier: GPL-2.0 */
/* pwhy fix: companion BPF programs that change the kernel's decision where a known kernel
 * problem (seed 000: the oif lost on reroute; seed 003: VRF ingress and unbound sockets) would
 * otherwise lose the packet. They are pinned in bpffs and attached as legacy tc (clsact)
 * filters, so a fix outlives the command that applied it.
 *
 * The first part of this header (map keys, values, counters) is shared by the BPF programs and
 * user space; the rest is user space only. */
#ifndef PWHY_FIX_H
#define PWHY_FIX_H

#ifndef __BPF__
#include <linux/types.h>
#include <stdbool.h>
#endif

/* Every fix program sits at this tc handle and priority on its hook. */
#define PWHY_FIX_TC_HANDLE	0x70776879u	/* "pwhy" */
#define PWHY_FIX_TC_PRIO	1
#define PWHY_FIX_PROG_PREFIX	"pwhy_fix_"

/* Route of one interface, an LPM key: prefixlen counts the 32 ifindex bits plus the
 * destination prefix, so a lookup with (ifindex, daddr, full length) finds the longest route
 * of that interface. Addresses in network byte order. */
struct fix_rt4_key {
	__u32 prefixlen;
	__u32 ifindex;	/* big endian, like every LPM byte string */
	__u32 addr;
};
struct fix_rt6_key {
	__u32 prefixlen;
	__u32 ifindex;	/* big endian */
	__u8 addr[16];
};
struct fix_rt4_val {
	__u32 gw;	/* 0: on link */
	__u32 metric;
};
struct fix_rt6_val {
	__u8 gw[16];	/* all zero: on link (the destination itself is the next hop) */
	__u32 metric;
};

/* A prefix, an LPM key */
struct fix_pfx4_key {
	__u32 prefixlen;
	__u32 addr;
};
struct fix_pfx6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct fix_in6 {
	__u8 a[16];
};

/* Per-CPU counters of a fix program (stats map) */
enum fix_counter {
	FIX_CNT_SEEN,		/* packets the program ran for */
	FIX_CNT_REDIR4,		/* IPv4 packets redirected */
	FIX_CNT_REDIR6,		/* IPv6 packets redirected */
	FIX_CNT_SKIP_ROUTE,	/* oif: the owner has no route to the destination;
				 * vrf: in scope but not local in the main routing domain */
	FIX_CNT_SKIP_SCOPE,	/* oif: the source is outside --src */
	FIX_CNT_ICMP,		/* vrf: ICMP errors about in-scope flows redirected */
	FIX_CNT_MAX,
};

#ifndef __BPF__
#include <stddef.h>

enum fix_kind {
	FIX_PKTINFO_OIF,
	FIX_VRF_LOOKUP,
	FIX_TPROXY_REPLY,	/* not a kernel bug: apply explains and refuses */
	FIX_KIND_MAX,
};

const char *fix_kind_name(enum fix_kind k);
int fix_kind_parse(const char *s);	/* -1 when unknown */

struct fix_opts {
	enum fix_kind kind;
	const char *netns;	/* NAME (ip netns), PATH (/proc/PID/ns/net), INODE; NULL: ours */
	const char *devs;	/* pktinfo-oif: IF[,IF]; NULL: every up non-loopback interface */
	const char *src;	/* pktinfo-oif: PREFIX[,PREFIX]; NULL: any source */
	const char *vrf;	/* vrf-lookup: the VRF device */
	const char *addrs;	/* vrf-lookup: A[,A] */
	const char *ports;	/* vrf-lookup: P[,P] */
	const char *target;	/* vrf-lookup: the device packets are handed to (default lo) */
	bool route_back;	/* vrf-lookup: install main-table routes back to the slaves' nets */
	bool all;		/* remove: every kind (and every netns when netns is NULL) */
	bool verbose;
};

/* Each returns 0 or a negative errno after printing one line; -EINVAL means a usage error
 * (bad option value, unknown interface or namespace). */
int fix_apply(const struct fix_opts *o);
int fix_status(const struct fix_opts *o);
int fix_remove(const struct fix_opts *o);
/* The keeper: `pwhy fix keep DIR`, started detached by apply; keeps the maps of the fix
 * pinned in DIR current with the namespace's addresses, routes and devices. */
int fix_keep(const char *dir);

/* ---- internal to src/fix ------------------------------------------------------------ */

#define FIX_BPFFS	"/sys/fs/bpf"
#define FIX_BASE	FIX_BPFFS "/pwhy"
#define FIX_META_LEN	2048
#define FIX_LIST_MAX	64	/* devices, prefixes, addresses, ports per option */

/* A network namespace a fix lives in, kept open while we work in it. */
struct fix_ns {
	int fd;
	__u32 ino;
	__u64 cookie;		/* SO_NETNS_COOKIE, 0 where the kernel has none */
	char path[280];		/* what to watch: /run/netns/NAME, /proc/PID/ns/net, "" */
	char label[280];	/* how the user named it */
};
int fix_ns_open(const char *arg, struct fix_ns *ns);
/* Find a namespace again from what a fix recorded: its path, else by inode (and cookie). */
int fix_ns_find(__u32 ino, __u64 cookie, const char *path, struct fix_ns *ns);
void fix_ns_close(struct fix_ns *ns);
/* Switch the calling thread in; *saved receives the fd to go back with. */
int fix_ns_enter(const struct fix_ns *ns, int *saved);
void fix_ns_leave(int saved);

/* What rtnetlink says about a namespace (the calling thread's). */
struct fix_link {
	int ifindex;
	char name[16];
	unsigned flags;		/* IFF_* */
	unsigned short type;	/* ARPHRD_* */
	int master;
	char kind[16];
	unsigned char mac[6];
	int mac_len;
};
struct fix_addr {
	int family;
	int ifindex;
	__u8 addr[16];
	int prefixlen;
	__u8 scope;
	__u32 flags;		/* IFA_F_* */
};
struct fix_route {
	int family;
	__u32 table;
	__u8 type;		/* RTN_* */
	int oif;
	__u8 dst[16];
	int dst_len;
	__u8 gw[16];
	bool has_gw;
	__u32 metric;
};
struct fix_net {
	struct fix_link *links;
	int nlinks;
	struct fix_addr *addrs;
	int naddrs;
	struct fix_route *routes;
	int nroutes;
};
#define FIX_DUMP_LINKS	1
#define FIX_DUMP_ADDRS	2
#define FIX_DUMP_ROUTES	4
int fix_net_dump(struct fix_net *n, unsigned what);
void fix_net_free(struct fix_net *n);
const struct fix_link *fix_net_link(const struct fix_net *n, int ifindex);
const struct fix_link *fix_net_link_by_name(const struct fix_net *n, const char *name);

/* rtnetlink changes (all in the calling thread's namespace) */
int fix_nl_neigh_managed(int ifindex, const __u8 gw6[16]);	/* ip -6 neigh replace .. managed */
int fix_nl_neigh_del(int ifindex, const __u8 gw6[16]);
/* state (NUD_*) and extended flags of a v6 neighbour; -ENOENT when there is none */
int fix_nl_neigh_get(int ifindex, const __u8 gw6[16], __u16 *state, __u32 *ext_flags);
int fix_nl_route(bool add, int family, const __u8 *dst, int dst_len, int oif);	/* table main */
int fix_nl_tc_filters(int ifindex, __u32 parent);	/* how many filters on a tc parent */

/* tc: our filter (PWHY_FIX_TC_HANDLE/PRIO) on a clsact hook */
#define FIX_HOOK_INGRESS 1	/* values of enum bpf_tc_attach_point */
#define FIX_HOOK_EGRESS  2
/* prog id of our filter on the hook, 0 when there is none */
__u32 fix_tc_query(int ifindex, int hook);
/* attach (or replace) prog_fd; qdisc_map_fd records a clsact qdisc we had to create */
int fix_tc_attach(int ifindex, int hook, int prog_fd, int qdisc_map_fd);
/* detach ours; destroy the clsact qdisc when we created it and nothing else is left on it */
int fix_tc_detach(int ifindex, int hook, int qdisc_map_fd);

/* Pins: FIX_BASE/<netns inode>/<kind>/ */
int fix_bpffs_ready(void);
int fix_dir(char *buf, size_t len, __u32 ino, enum fix_kind k);
int fix_mkdirs(__u32 ino, enum fix_kind k);
/* a map pinned at dir/name, created (and pinned) when missing */
int fix_pinned_map(const char *dir, const char *name, int type, int key_size, int value_size,
		   int max_entries, __u32 flags);
int fix_meta_read(const char *dir, int slot, char *buf, size_t len);
int fix_meta_write(const char *dir, int slot, const char *text);
/* value of key in key=value lines; "" when absent */
const char *fix_meta_get(const char *meta, const char *key, char *buf, size_t len);
/* Remove every pin of the directory, then the directory (and its parent when empty). */
int fix_unpin_dir(const char *dir);

/* The keeper */
int fix_keeper_spawn(const char *dir);	/* returns its pid */
bool fix_keeper_alive(int pid, const char *dir);
void fix_keeper_stop(int pid, const char *dir);

/* Parsing helpers: comma lists */
struct fix_prefix {
	int family;
	__u8 addr[16];
	int len;
};
int fix_parse_prefix(const char *s, struct fix_prefix *p, bool host_only);
int fix_split(const char *list, char out[][64], int max);

/* Per-kind parts (oif.c, vrf.c) */
struct fix_state {
	enum fix_kind kind;
	char dir[256];
	int prog_fd;		/* the program (pinned at dir/prog) */
	__u32 prog_id;
	int qdisc_fd;		/* pinned map: clsact qdiscs we created, by ifindex */
	int hook;		/* FIX_HOOK_* */
	void *skel;		/* apply: the loaded skeleton */
	int fds[8];		/* the kind's maps (ops->maps), opened from their pins */
	bool verbose;
	char note[512];		/* what the last sync wants the user to know */
};
struct fix_net;
struct fix_kind_ops {
	const char *prog_name;
	int hook;
	const char *maps[8];	/* pinned maps the sync needs, in st->fds order */
	/* apply, inside the namespace: check the options against its devices and write the
	 * scope as meta lines (key=value\n); -EINVAL after one line on a usage error */
	int (*check)(const struct fix_opts *o, const struct fix_net *n, char *meta, size_t len);
	/* apply: load the object with its maps pinned in st->dir, fill the scope maps, set
	 * st->prog_fd and st->skel */
	int (*load)(struct fix_state *st, const char *meta);
	void (*unload)(struct fix_state *st);
	/* apply and keeper, inside the namespace: maps and attachments follow the namespace */
	int (*sync)(struct fix_state *st, const char *meta);
	/* apply, after the first sync: host changes the fix needs (appended to meta) */
	int (*after)(struct fix_state *st, const struct fix_opts *o, char *meta, size_t len);
	/* remove, inside the namespace (when it still exists): undo what after/sync added */
	void (*cleanup)(struct fix_state *st, const char *meta);
	const char *counter_names[FIX_CNT_MAX];
};
extern const struct fix_kind_ops fix_oif_ops, fix_vrf_ops;
const struct fix_kind_ops *fix_ops(enum fix_kind k);
/* open pinned map dir/name into st->fds[idx] */
int fix_open_pin(struct fix_state *st, int idx, const char *name);
/* attach to the wanted ifindexes (want[i] != 0), detach from every other link */
int fix_sync_attach(struct fix_state *st, const struct fix_net *n, const bool *want);
/* every key of a map (at most 64 bytes each; caller frees); *n receives the count */
void *fix_map_keys(int fd, size_t ks, int *n);
/* replace the content of a map with keys/values (keys ks bytes, values vs bytes) */
int fix_map_replace(int fd, const void *keys, const void *vals, int n, size_t ks, size_t vs);
#endif /* !__BPF__ */
#endif
