// SPDX-License-Identifier: GPL-2.0
/* rtnetlink for the fixes: dumps of links, addresses and routes of the calling thread's
 * network namespace, managed neighbours, main-table routes, and counting tc filters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "pwhy/fix.h"
#include "pwhy/netinfo.h"

struct nl_req {
	struct nlmsghdr nh;
	char body[512];
};

static void *req_init(struct nl_req *r, int type, int flags, size_t hdr)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(hdr);
	r->nh.nlmsg_type = type;
	r->nh.nlmsg_flags = flags;
	return NLMSG_DATA(&r->nh);
}

static int req_attr(struct nl_req *r, int type, const void *data, size_t len)
{
	return netinfo_nl_attr(r, sizeof(*r), type, data, len);
}

static int grow(void **arr, int n, size_t size)
{
	void *p;

	/* capacity: 16, then doubling whenever n reaches it */
	if (n && (n < 16 || (n & (n - 1))))
		return 0;
	p = realloc(*arr, (n ? n * 2 : 16) * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

/* ---- links ---- */

static int link_cb(const struct nlmsghdr *nh, void *arg)
{
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct fix_net *n = arg;
	struct fix_link *l;
	struct rtattr *rta;
	int len;

	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
	if (len < 0)
		return -EBADMSG;
	if (grow((void **)&n->links, n->nlinks, sizeof(*l)))
		return -ENOMEM;
	l = &n->links[n->nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->type = ifi->ifi_type;
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		size_t plen = RTA_PAYLOAD(rta);

		switch (rta->rta_type & NLA_TYPE_MASK) {
		case IFLA_IFNAME:
			snprintf(l->name, sizeof(l->name), "%.*s", (int)plen, (char *)RTA_DATA(rta));
			break;
		case IFLA_ADDRESS:
			l->mac_len = plen <= sizeof(l->mac) ? (int)plen : 0;
			memcpy(l->mac, RTA_DATA(rta), l->mac_len);
			break;
		case IFLA_MASTER:
			if (plen >= 4)
				memcpy(&l->master, RTA_DATA(rta), 4);
			break;
		case IFLA_LINKINFO: {
			int ilen = plen;
			struct rtattr *in;

			for (in = RTA_DATA(rta); RTA_OK(in, ilen); in = RTA_NEXT(in, ilen))
				if ((in->rta_type & NLA_TYPE_MASK) == IFLA_INFO_KIND)
					snprintf(l->kind, sizeof(l->kind), "%.*s",
						 (int)RTA_PAYLOAD(in), (char *)RTA_DATA(in));
			break;
		}
		}
	}
	return 0;
}

static int dump_links(struct fix_net *n)
{
	struct nl_req r;
	struct ifinfomsg *ifi = req_init(&r, RTM_GETLINK, NLM_F_DUMP, sizeof(*ifi));
	__u32 ext = RTEXT_FILTER_SKIP_STATS;

	ifi->ifi_family = AF_UNSPEC;
	req_attr(&r, IFLA_EXT_MASK, &ext, sizeof(ext));
	return netinfo_nl_request(NETLINK_ROUTE, &r.nh, link_cb, n);
}

/* ---- addresses ---- */

static int addr_cb(const struct nlmsghdr *nh, void *arg)
{
	struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	struct fix_net *n = arg;
	const void *local = NULL, *address = NULL;
	struct fix_addr *a;
	struct rtattr *rta;
	__u32 flags;
	int len, alen;

	if (nh->nlmsg_type != RTM_NEWADDR)
		return 0;
	len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifa));
	if (len < 0)
		return -EBADMSG;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	alen = ifa->ifa_family == AF_INET ? 4 : 16;
	flags = ifa->ifa_flags;
	for (rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if ((int)RTA_PAYLOAD(rta) == alen && rta->rta_type == IFA_LOCAL)
			local = RTA_DATA(rta);
		else if ((int)RTA_PAYLOAD(rta) == alen && rta->rta_type == IFA_ADDRESS)
			address = RTA_DATA(rta);
		else if (rta->rta_type == IFA_FLAGS && RTA_PAYLOAD(rta) >= 4)
			memcpy(&flags, RTA_DATA(rta), 4);
	}
	/* IFA_LOCAL is our side on point-to-point links; IPv6 often sends IFA_ADDRESS only */
	if (!local)
		local = address;
	if (!local)
		return 0;
	if (grow((void **)&n->addrs, n->naddrs, sizeof(*a)))
		return -ENOMEM;
	a = &n->addrs[n->naddrs++];
	memset(a, 0, sizeof(*a));
	a->family = ifa->ifa_family;
	a->ifindex = ifa->ifa_index;
	a->prefixlen = ifa->ifa_prefixlen;
	a->scope = ifa->ifa_scope;
	a->flags = flags;
	memcpy(a->addr, local, alen);
	return 0;
}

static int dump_addrs(struct fix_net *n, int family)
{
	struct nl_req r;
	struct ifaddrmsg *ifa = req_init(&r, RTM_GETADDR, NLM_F_DUMP, sizeof(*ifa));

	ifa->ifa_family = family;
	return netinfo_nl_request(NETLINK_ROUTE, &r.nh, addr_cb, n);
}

/* ---- routes ---- */

static int add_route(struct fix_net *n, const struct fix_route *proto, int oif, const void *gw,
		     int alen)
{
	struct fix_route *rt;

	if (grow((void **)&n->routes, n->nroutes, sizeof(*rt)))
		return -ENOMEM;
	rt = &n->routes[n->nroutes++];
	*rt = *proto;
	rt->oif = oif;
	rt->has_gw = gw != NULL;
	if (gw)
		memcpy(rt->gw, gw, alen);
	return 0;
}

static int route_cb(const struct nlmsghdr *nh, void *arg)
{
	struct rtmsg *rtm = NLMSG_DATA(nh);
	struct fix_net *n = arg;
	struct fix_route rt = {};
	struct rtattr *rta, *mp = NULL;
	const void *gw = NULL;
	int len, alen, oif = 0;

	if (nh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rtm));
	if (len < 0)
		return -EBADMSG;
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	if (rtm->rtm_flags & RTM_F_CLONED)
		return 0;
	alen = rtm->rtm_family == AF_INET ? 4 : 16;
	rt.family = rtm->rtm_family;
	rt.table = rtm->rtm_table;
	rt.type = rtm->rtm_type;
	rt.dst_len = rtm->rtm_dst_len;
	for (rta = RTM_RTA(rtm); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		int plen = RTA_PAYLOAD(rta);

		switch (rta->rta_type) {
		case RTA_DST:
			if (plen == alen)
				memcpy(rt.dst, RTA_DATA(rta), alen);
			break;
		case RTA_OIF:
			if (plen >= 4)
				memcpy(&oif, RTA_DATA(rta), 4);
			break;
		case RTA_GATEWAY:
			if (plen == alen)
				gw = RTA_DATA(rta);
			break;
		case RTA_PRIORITY:
			if (plen >= 4)
				memcpy(&rt.metric, RTA_DATA(rta), 4);
			break;
		case RTA_TABLE:
			if (plen >= 4)
				memcpy(&rt.table, RTA_DATA(rta), 4);
			break;
		case RTA_MULTIPATH:
			mp = rta;
			break;
		}
	}
	if (!mp)
		return oif ? add_route(n, &rt, oif, gw, alen) : 0;
	/* one entry per next hop */
	{
		int mlen = RTA_PAYLOAD(mp);
		struct rtnexthop *nhp = RTA_DATA(mp);

		while (mlen >= (int)sizeof(*nhp) && nhp->rtnh_len >= sizeof(*nhp) &&
		       nhp->rtnh_len <= mlen) {
			int alen2 = nhp->rtnh_len - sizeof(*nhp);
			const void *ngw = NULL;

			for (rta = RTNH_DATA(nhp); RTA_OK(rta, alen2); rta = RTA_NEXT(rta, alen2))
				if (rta->rta_type == RTA_GATEWAY && (int)RTA_PAYLOAD(rta) == alen)
					ngw = RTA_DATA(rta);
			if (add_route(n, &rt, nhp->rtnh_ifindex, ngw, alen))
				return -ENOMEM;
			mlen -= RTNH_ALIGN(nhp->rtnh_len);
			nhp = RTNH_NEXT(nhp);
		}
	}
	return 0;
}

static int dump_routes(struct fix_net *n, int family)
{
	struct nl_req r;
	struct rtmsg *rtm = req_init(&r, RTM_GETROUTE, NLM_F_DUMP, sizeof(*rtm));

	rtm->rtm_family = family;
	return netinfo_nl_request(NETLINK_ROUTE, &r.nh, route_cb, n);
}

int fix_net_dump(struct fix_net *n, unsigned what)
{
	int r = 0;

	memset(n, 0, sizeof(*n));
	if (what & FIX_DUMP_LINKS)
		r = dump_links(n);
	if (!r && (what & FIX_DUMP_ADDRS))
		r = dump_addrs(n, AF_INET) ?: dump_addrs(n, AF_INET6);
	/* IPv6 may be disabled in the namespace: an empty answer, not an error */
	if (!r && (what & FIX_DUMP_ROUTES)) {
		r = dump_routes(n, AF_INET);
		if (!r) {
			r = dump_routes(n, AF_INET6);
			if (r == -EAFNOSUPPORT)
				r = 0;
		}
	}
	if (r)
		fix_net_free(n);
	return r;
}

void fix_net_free(struct fix_net *n)
{
	free(n->links);
	free(n->addrs);
	free(n->routes);
	memset(n, 0, sizeof(*n));
}

const struct fix_link *fix_net_link(const struct fix_net *n, int ifindex)
{
	for (int i = 0; i < n->nlinks; i++)
		if (n->links[i].ifindex == ifindex)
			return &n->links[i];
	return NULL;
}

const struct fix_link *fix_net_link_by_name(const struct fix_net *n, const char *name)
{
	for (int i = 0; i < n->nlinks; i++)
		if (!strcmp(n->links[i].name, name))
			return &n->links[i];
	return NULL;
}

/* ---- neighbours ---- */

static int ignore_cb(const struct nlmsghdr *nh, void *arg)
{
	return 0;
}

int fix_nl_neigh_managed(int ifindex, const __u8 gw6[16])
{
	struct nl_req r;
	struct ndmsg *nd = req_init(&r, RTM_NEWNEIGH, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
				    sizeof(*nd));
	__u32 ext = NTF_EXT_MANAGED;

	nd->ndm_family = AF_INET6;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_NONE;	/* the kernel resolves and keeps it resolved */
	/* managed entries are probed by a periodic work (every 5 s): NTF_USE starts now */
	nd->ndm_flags = NTF_USE;
	req_attr(&r, NDA_DST, gw6, 16);
	req_attr(&r, NDA_FLAGS_EXT, &ext, sizeof(ext));
	return netinfo_nl_request(NETLINK_ROUTE, &r.nh, ignore_cb, NULL);
}

int fix_nl_neigh_del(int ifindex, const __u8 gw6[16])
{
	struct nl_req r;
	struct ndmsg *nd = req_init(&r, RTM_DELNEIGH, NLM_F_ACK, sizeof(*nd));

	nd->ndm_family = AF_INET6;
	nd->ndm_ifindex = ifindex;
	req_attr(&r, NDA_DST, gw6, 16);
	return netinfo_nl_request(NETLINK_ROUTE, &r.nh, ignore_cb, NULL);
}

struct neigh_q {
	__u16 state;
	__u32 ext;
	bool found;
};

static int neigh_cb(const struct nlmsghdr *nh, void *arg)
{
	struct ndmsg *nd = NLMSG_DATA(nh);
	struct neigh_q *q = arg;
	struct rtattr *rta;
	int len;

	if (nh->nlmsg_type != RTM_NEWNEIGH)
		return 0;
	len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*nd));
	if (len < 0)
		return -EBADMSG;
	q->found = true;
	q->state = nd->ndm_state;
	for (rta = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd))); RTA_OK(rta, len);
	     rta = RTA_NEXT(rta, len))
		if (rta->rta_type == NDA_FLAGS_EXT && RTA_PAYLOAD(rta) >= 4)
			memcpy(&q->ext, RTA_DATA(rta), 4);
	return 0;
}

int fix_nl_neigh_get(int ifindex, const __u8 gw6[16], __u16 *state, __u32 *ext_flags)
{
	struct nl_req r;
	struct ndmsg *nd = req_init(&r, RTM_GETNEIGH, 0, sizeof(*nd));
	struct neigh_q q = {};
	int ret;

	nd->ndm_family = AF_INET6;
	nd->ndm_ifindex = ifindex;
	req_attr(&r, NDA_DST, gw6, 16);
	ret = netinfo_nl_request(NETLINK_ROUTE, &r.nh, neigh_cb, &q);
	if (ret)
		return ret;
	if (!q.found)
		return -ENOENT;
	*state = q.state;
	*ext_flags = q.ext;
	return 0;
}

/* ---- routes in the main table ---- */

int fix_nl_route(bool add, int family, const __u8 *dst, int dst_len, int oif)
{
	struct nl_req r;
	struct rtmsg *rtm = req_init(&r, add ? RTM_NEWROUTE : RTM_DELROUTE,
				     NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0),
				     sizeof(*rtm));
	__u32 o = oif;

	rtm->rtm_family = family;
	rtm->rtm_dst_len = dst_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	req_attr(&r, RTA_DST, dst, family == AF_INET ? 4 : 16);
	req_attr(&r, RTA_OIF, &o, sizeof(o));
	return netinfo_nl_request(NETLINK_ROUTE, &r.nh, ignore_cb, NULL);
}

/* ---- tc filters left on a clsact hook ---- */

static int count_cb(const struct nlmsghdr *nh, void *arg)
{
	if (nh->nlmsg_type == RTM_NEWTFILTER)
		(*(int *)arg)++;
	return 0;
}

int fix_nl_tc_filters(int ifindex, __u32 parent)
{
	struct nl_req r;
	struct tcmsg *t = req_init(&r, RTM_GETTFILTER, NLM_F_DUMP, sizeof(*t));
	int count = 0, ret;

	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = ifindex;
	t->tcm_parent = parent;
	ret = netinfo_nl_request(NETLINK_ROUTE, &r.nh, count_cb, &count);
	return ret < 0 ? ret : count;
}
