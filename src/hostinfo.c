// SPDX-License-Identifier: GPL-2.0
/* The live implementation of the host questions findings ask. */
#include <stdio.h>
#include "pwhy/hostinfo.h"

static int live_link(void *ctx, __u32 netns, int ifindex, struct pwhy_link *out)
{
	return netinfo_link(netns, ifindex, out);
}

static int live_owners(void *ctx, __u32 netns, int family, const void *addr, int *ifx, int max)
{
	return netinfo_addr_owners(netns, family, addr, ifx, max);
}

static int live_sysctl(void *ctx, __u32 netns, const char *path, long *value)
{
	return netinfo_sysctl(netns, path, value);
}

static int live_socks(void *ctx, __u32 netns, int family, int proto, struct pwhy_sock **out,
		      size_t *n)
{
	return sockdiag_dump(netns, family, proto, out, n);
}

const struct hostinfo *hostinfo_live(void)
{
	static const struct hostinfo live = {
		.link = live_link, .addr_owners = live_owners,
		.sysctl = live_sysctl, .socks = live_socks,
	};
	return &live;
}

const char *hostinfo_ifname(const struct hostinfo *h, __u32 netns, int ifindex, char *buf,
			    size_t len)
{
	struct pwhy_link l;

	if (ifindex && h->link(h->ctx, netns, ifindex, &l) == 0)
		snprintf(buf, len, "%s:%d", l.name, ifindex);
	else
		snprintf(buf, len, "%d", ifindex);
	return buf;
}
