// SPDX-License-Identifier: GPL-2.0
/* Output route lookups answered by the kernel itself (RTM_GETROUTE), in the packet's netns:
 * the same fib rules and tables the stack consulted, with the keys we choose. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "pwhy/netns.h"
#include "pwhy/route_get.h"

struct rg_req {
	struct nlmsghdr nh;
	struct rtmsg rtm;
	char attrs[128];
};

static void put_attr(struct rg_req *r, int type, const void *data, int len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

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

static int rg_here(void *arg)
{
	struct rg_call *c = arg;
	const struct route_query *q = c->q;
	int alen = q->family == AF_INET6 ? 16 : 4;
	struct rg_req req = {};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	int fd, n, ret = -EIO;

	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.rtm.rtm_family = q->family;
	req.rtm.rtm_dst_len = alen * 8;
	put_attr(&req, RTA_DST, q->daddr, alen);
	if (any(q->saddr, alen)) {
		req.rtm.rtm_src_len = alen * 8;
		put_attr(&req, RTA_SRC, q->saddr, alen);
	}
	if (q->mark)
		put_attr(&req, RTA_MARK, &q->mark, 4);
	if (q->oif)
		put_attr(&req, RTA_OIF, &q->oif, 4);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			ret = e->error ? e->error : -EIO;
			break;
		}
		if (h->nlmsg_type == RTM_NEWROUTE) {
			struct rtmsg *rtm = NLMSG_DATA(h);
			int len = RTM_PAYLOAD(h);

			c->oif = 0;
			for (struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len))
				if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= 4)
					memcpy(&c->oif, RTA_DATA(a), 4);
			ret = 0;
			break;
		}
	}
out:
	close(fd);
	return ret;
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
