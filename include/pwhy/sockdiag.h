/* SPDX-License-Identifier: GPL-2.0 */
/* The sockets of a network namespace, from NETLINK_SOCK_DIAG (what `ss` uses). */
#ifndef PWHY_SOCKDIAG_H
#define PWHY_SOCKDIAG_H
#include <stddef.h>
#include <linux/types.h>

struct pwhy_sock {
	__u8 family;		/* AF_INET / AF_INET6 */
	__u8 proto;		/* IPPROTO_UDP / IPPROTO_TCP */
	__u8 state;		/* TCP_* (UDP: TCP_CLOSE unconnected, TCP_ESTABLISHED connected) */
	__u8 v6only;		/* IPV6_V6ONLY; reported for LISTEN/unconnected v6 sockets only,
				 * 0 otherwise */
	__u16 sport, dport;	/* local and peer port, host order; dport 0 = not connected */
	__u8 saddr[16], daddr[16]; /* local and peer address; IPv4 in the first 4 bytes */
	int bound_dev_if;	/* SO_BINDTODEVICE / scope id, 0 = any device */
	__u32 inode, uid;	/* inode 0 for time-wait and request sockets */
	__u64 cookie;
	int owner_pid;		/* a process holding an fd to it, 0 when none was found */
	char owner_comm[16];
	int transparent;	/* IP_TRANSPARENT: 1/0, -1 when the kernel did not say */
};

/* All UDP sockets, or the TCP sockets in LISTEN, of family AF_INET, AF_INET6 or
 * AF_UNSPEC (both: a v4 packet can reach dual-stack v6 sockets), with owners filled in.
 * On success *out is a malloc'd array the caller frees (NULL when *n == 0).
 * Errors: -ENOENT the namespace is gone, -EPROTONOSUPPORT no sock_diag support for
 * proto in this kernel (e.g. udp_diag not built), other negative errno. */
int sockdiag_dump(__u32 netns_ino, int family, int proto, struct pwhy_sock **out, size_t *n);

/* Same with an explicit state mask: bit (1 << TCP_LISTEN) etc., ~0U for all states.
 * TCP sockets bound but not listening (TCP_CLOSE) are listed by 6.8+ kernels only. */
int sockdiag_dump_states(__u32 netns_ino, int family, int proto, __u32 states,
			 struct pwhy_sock **out, size_t *n);

/* A process with an fd on socket inode: scans /proc/<pid>/fd (bounded; vanished pids
 * are skipped). 0 and *pid, comm (NUL-terminated) set, or -ENOENT when none found. */
int sockdiag_owner(__u32 inode, int *pid, char comm[16]);

#endif
