/* SPDX-License-Identifier: GPL-2.0 */
/* Ask a netns's routing for an output route (`ip route get` over rtnetlink). */
#ifndef PWHY_ROUTE_GET_H
#define PWHY_ROUTE_GET_H
#include <linux/types.h>

struct route_query {
	__u8  family;		/* AF_INET / AF_INET6 */
	__u8  daddr[16];
	__u8  saddr[16];	/* all zero: none */
	__u32 mark;
	int   oif;		/* 0: none */
};

/* 0 and the route's output device in *oif, or -errno as the kernel answered (-ENETUNREACH,
 * -EHOSTUNREACH, ...). netns 0 = the current one. */
int route_get(__u32 netns, const struct route_query *q, int *oif);
#endif
