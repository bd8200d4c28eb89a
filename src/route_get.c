// SPDX-License-Identifier: GPL-2.0
/* Output route lookups answered by the kernel itself (RTM_GETROUTE), in the packet's netns:
 * the same fib rules and tables the stack consulted, with the keys we choose. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "pwhy/netinfo.h"
#include "pwhy/netns.h"
#include "pwhy/route_get.h"

static int any(const __u8 *a, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i])
			return 1;
	return 0;
}

struct rg_call {
	const struct route_query *q;
	int oif;
};

static int route_cb(const struct nlmsghdr *nh, void *arg)
{
	struct rg_call *c = arg;
	const struct rtmsg *rtm = NLMSG_DATA(nh);
	int len = RTM_PAYLOAD(nh);

	if (nh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	for (struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= 4)
			memcpy(&c->oif, RTA_DATA(a), 4);
	return 0;
}

static int rg_here(void *arg)
{
	struct rg_call *c = arg;
	const struct route_query *q = c->q;
	int alen = q->family == AF_INET6 ? 16 : 4, r = 0;
	struct {
		struct nlmsghdr nh;
		struct rtmsg rtm;
		char attrs[128];
	} req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
		.nh.nlmsg_type = RTM_GETROUTE,
		.rtm.rtm_family = q->family,
		.rtm.rtm_dst_len = alen * 8,
	};

	r = netinfo_nl_attr(&req, sizeof(req), RTA_DST, q->daddr, alen);
	if (!r && any(q->saddr, alen)) {
		req.rtm.rtm_src_len = alen * 8;
		r = netinfo_nl_attr(&req, sizeof(req), RTA_SRC, q->saddr, alen);
	}
	if (!r && q->mark)
		r = netinfo_nl_attr(&req, sizeof(req), RTA_MARK, &q->mark, 4);
	if (!r && q->oif)
		r = netinfo_nl_attr(&req, sizeof(req), RTA_OIF, &q->oif, 4);
	return r ? r : netinfo_nl_request(NETLINK_ROUTE, &req.nh, route_cb, c);
}

int route_get(__u32 netns, const struct route_query *q, int *oif)
{
	struct rg_call c = { .q = q };
	int ret;

	if (q->family != AF_INET && q->family != AF_INET6)
		return -EAFNOSUPPORT;
	ret = netns_call(netns, rg_here, &c);
	if (ret == 0 && oif)
		*oif = c.oif;
	return ret;
}
