/* SPDX-License-Identifier: GPL-2.0 */
/* What findings ask of the host, behind an interface so that tests can answer instead. */
#ifndef PWHY_HOSTINFO_H
#define PWHY_HOSTINFO_H
#include <stddef.h>
#include <linux/types.h>
#include "pwhy/netinfo.h"
#include "pwhy/sockdiag.h"

struct hostinfo {
	int (*link)(void *ctx, __u32 netns, int ifindex, struct pwhy_link *out);
	int (*addr_owners)(void *ctx, __u32 netns, int family, const void *addr, int *ifx, int max);
	int (*sysctl)(void *ctx, __u32 netns, const char *path, long *value);
	/* caller frees *out */
	int (*socks)(void *ctx, __u32 netns, int family, int proto, struct pwhy_sock **out,
		     size_t *n);
	void *ctx;
};

/* The live host: rtnetlink, sock_diag and /proc/sys inside the packet's netns. */
const struct hostinfo *hostinfo_live(void);

/* "name:index" of an interface in a netns, or the index alone when it cannot be found. */
const char *hostinfo_ifname(const struct hostinfo *h, __u32 netns, int ifindex, char *buf,
			    size_t len);
#endif
