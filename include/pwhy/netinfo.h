/* SPDX-License-Identifier: GPL-2.0 */
/* Interface, address and sysctl facts of a network namespace (rtnetlink, /proc/sys),
 * looked up inside the namespace named by its inode (see netns.h; 0 = our own).
 * All functions return 0 or a count on success and a negative errno on failure;
 * -ENOENT means the namespace is gone, -ENODEV that the interface does not exist. */
#ifndef PWHY_NETINFO_H
#define PWHY_NETINFO_H
#include <stddef.h>
#include <linux/types.h>

struct pwhy_link {
	int ifindex;
	char name[16];
	unsigned char mac[6];
	int mac_len;		/* bytes of mac that are valid; 0 when the link has none */
	int master;		/* IFLA_MASTER (VRF, bridge, bond...), 0 when none */
	char kind[16];		/* IFLA_INFO_KIND: "vrf", "veth"...; "" for loopback/physical */
	unsigned flags;		/* IFF_* */
};

int netinfo_link(__u32 netns_ino, int ifindex, struct pwhy_link *out);
int netinfo_link_by_name(__u32 netns_ino, const char *name, struct pwhy_link *out);

/* Interfaces that carry the local address addr (4 or 16 bytes by family). Fills up to
 * max ifindexes and returns how many were stored (never more than max). */
int netinfo_addr_owners(__u32 netns_ino, int family, const void *addr, int *ifindexes,
			int max);

/* Read the first integer of /proc/sys/<path> as the namespace sees it, e.g.
 * "net/ipv4/udp_l3mdev_accept". A path without '/' is taken in sysctl's dotted form. */
int netinfo_sysctl(__u32 netns_ino, const char *path, long *value);

/* Low level, shared with sockdiag.c. Sends req (nlmsg_len set by the caller; seq and
 * pid are filled in) on a fresh netlink socket of protocol nl_proto created in the
 * calling thread's current namespace, and passes each reply message to cb until the
 * dump ends or the single reply arrived. cb returns < 0 to stop with that error.
 * Kernel errors come back as their negative errno. */
struct nlmsghdr;
int netinfo_nl_request(int nl_proto, struct nlmsghdr *req,
		       int (*cb)(const struct nlmsghdr *nh, void *arg), void *arg);
/* Append an rtattr to the message that starts msg (a buffer of size bytes); -E2BIG when it
 * does not fit. */
int netinfo_nl_attr(void *msg, size_t size, int type, const void *data, size_t len);

#endif
