// SPDX-License-Identifier: GPL-2.0
/* oif-change: a send asked for an output interface (IP_PKTINFO, IPV6_PKTINFO, IP_UNICAST_IF)
 * and its first route lookup used it; then netfilter changed the packet in LOCAL_OUT and
 * ip(6)_route_me_harder looked the route up again keyed by sk_bound_dev_if, so the request
 * was lost: the packet left by another interface, or found no route at all.
 * src-mac-mismatch: after such a reroute the source address still belongs to the requested
 * interface while the frame carries the MAC of the one it left by. */
#include <stdio.h>
#include <string.h>
#include "pwhy/findings.h"
#include "pwhy/format.h"

const char *oif_origin_name(int origin)
{
	switch (origin) {
	case PWHY_OIF_IP_PKTINFO: return "IP_PKTINFO";
	case PWHY_OIF_IPV6_PKTINFO: return "IPV6_PKTINFO";
	case PWHY_OIF_UNICAST_IF: return "IP_UNICAST_IF";
	case PWHY_OIF_BINDTODEVICE: return "SO_BINDTODEVICE";
	default: return "none";
	}
}

#define MAX_LOOKUPS 16

static bool owns(const struct hostinfo *h, __u32 netns, int family, const __u8 *addr, int ifindex,
		 int *any_owner)
{
	int ifx[16];
	int n = h->addr_owners(h->ctx, netns, family, addr, ifx, 16);
	bool yes = false;

	*any_owner = 0;
	for (int i = 0; i < n; i++) {
		if (ifx[i] == ifindex)
			yes = true;
		if (!*any_owner)
			*any_owner = ifx[i];
	}
	return yes;
}

static void common_facts(struct finding *f, const struct send_record *r, const char *req,
			 const char *bound)
{
	char t[160];
	const struct pwhy_event *pkt = r->have_xmit ? &r->xmit : r->have_drop ? &r->drop : NULL;

	if (pkt)
		finding_fact(f, "tuple", "%s", fmt_tuple(&pkt->tuple, t, sizeof(t)));
	finding_fact_num(f, "netns", r->netns);
	finding_fact(f, "requested_oif", "%s", req);
	finding_fact(f, "requested_by", "%s", oif_origin_name(r->send.send.req_origin));
	finding_fact(f, "sk_bound_dev_if", "%s", bound);
}

static void mac_mismatch(const struct send_record *r, const struct hostinfo *h, const char *req,
			 struct finding *f)
{
	const struct pwhy_event *x = &r->xmit;
	char src[64], owner[48], egress[48], m1[24], m2[24];
	struct pwhy_link owner_link = {};
	int owner_ifx = 0;

	finding_init(f, FINDING_SRC_MAC_MISMATCH, x->skb);
	fmt_addr(x->tuple.family, x->tuple.saddr, src, sizeof(src));
	owns(h, r->netns, x->tuple.family, x->tuple.saddr, x->ifindex, &owner_ifx);
	h->link(h->ctx, r->netns, owner_ifx, &owner_link);
	hostinfo_ifname(h, r->netns, owner_ifx, owner, sizeof(owner));
	fmt_ifname(x->ifname, x->ifindex, egress, sizeof(egress));
	fmt_mac(owner_link.mac, m1, sizeof(m1));
	fmt_mac(x->xmit.dev_mac, m2, sizeof(m2));
	common_facts(f, r, req, "");
	f->nfacts--;	/* sk_bound_dev_if is oif-change's business */
	finding_fact(f, "src_addr", "%s", src);
	finding_fact(f, "src_dev", "%s", owner);
	finding_fact(f, "src_dev_mac", "%s", m1);
	finding_fact(f, "egress_dev", "%s", egress);
	finding_fact(f, "egress_mac", "%s", m2);
	snprintf(f->summary, sizeof(f->summary),
		 "source %s belongs to %s (MAC %s) but the frame leaves %s with MAC %s: replies will come back to %s",
		 src, owner, m1, egress, m2, owner);
	snprintf(f->hint, sizeof(f->hint),
		 "keep the packet on %s: `ip rule add from %s lookup <table>` with that table routing via %s, or SO_BINDTODEVICE, or `pwhy fix apply pktinfo-oif`",
		 owner, src, owner);
}

int oif_change_check(const struct send_record *r, const struct hostinfo *h, struct finding out[2])
{
	struct route_lookup L[MAX_LOOKUPS];
	const struct route_lookup *first = NULL, *again = NULL;
	int req = r->send.send.req_oif, bound = r->send.ifindex;
	char reqs[48], bounds[48], dev[48], egress[48];
	int n, nf = 0, owner = 0;
	struct finding *f = &out[0];

	if (!r->have_send || !req || req == bound)
		return 0;
	n = send_route_lookups(r, L, MAX_LOOKUPS);
	for (int i = 0; i < n; i++) {
		/* only lookups for the send's destination (neighbour discovery asks others) */
		if (first && memcmp(L[i].daddr, first->daddr, 16))
			continue;
		if (!first && L[i].oif == req)
			first = &L[i];
		else if (first && L[i].oif != req) {
			again = &L[i];
			break;
		}
	}
	if (!first || !again)
		return 0;
	if (r->have_xmit && r->xmit.ifindex == req)
		return 0;
	if (!r->have_xmit && again->ok)
		return 0;	/* left later (neighbour queue) or elsewhere: nothing proven */

	hostinfo_ifname(h, r->netns, req, reqs, sizeof(reqs));
	hostinfo_ifname(h, r->netns, bound, bounds, sizeof(bounds));
	finding_init(f, FINDING_OIF_CHANGE, r->have_xmit ? r->xmit.skb : r->drop.skb);
	common_facts(f, r, reqs, bound ? bounds : "0");
	finding_fact(f, "first_lookup_oif", "%s", reqs);
	finding_fact(f, "first_lookup_dev", "%s",
		     fmt_ifname(first->nh_ifname, first->nh_ifindex, dev, sizeof(dev)));
	finding_fact_num(f, "reroute_oif", again->oif);
	finding_fact_num(f, "reroute_mark", again->mark);
	if (again->ok)
		finding_fact(f, "reroute_dev", "%s",
			     fmt_ifname(again->nh_ifname, again->nh_ifindex, dev, sizeof(dev)));
	else
		finding_fact_num(f, "reroute_err", again->err);

	if (r->have_xmit) {
		fmt_ifname(r->xmit.ifname, r->xmit.ifindex, egress, sizeof(egress));
		finding_fact(f, "egress_dev", "%s", egress);
		snprintf(f->summary, sizeof(f->summary),
			 "%s asked for %s, but the packet was rerouted (ip_route_me_harder, mark 0x%x, oif %d = sk_bound_dev_if) and left %s",
			 oif_origin_name(r->send.send.req_origin), reqs, again->mark, again->oif, egress);
	} else {
		finding_fact(f, "egress_dev", "none");
		finding_fact_num(f, "send_ret", r->ret);
		if (r->have_drop) {
			char loc[32];

			snprintf(loc, sizeof(loc), "%u", r->drop.drop.reason);
			finding_fact(f, "drop_reason_value", "%s", loc);
		}
		snprintf(f->summary, sizeof(f->summary),
			 "%s asked for %s, but the reroute (mark 0x%x, oif %d = sk_bound_dev_if) found no route (err %d in tables %s): the packet was dropped, send returned %lld",
			 oif_origin_name(r->send.send.req_origin), reqs, again->mark, again->oif,
			 again->err, again->tables, r->ret);
	}
	snprintf(f->hint, sizeof(f->hint),
		 "the per-packet oif does not survive a reroute in LOCAL_OUT: add a source-based rule (`ip rule add from <src> lookup <table>` routing via %s), bind the socket with SO_BINDTODEVICE, exclude this traffic from the mark/NAT rule, or `pwhy fix apply pktinfo-oif`",
		 reqs);
	nf = 1;

	/* MAC check: the source belongs elsewhere, and not also to the egress device */
	if (r->have_xmit && r->xmit.tuple.family &&
	    !(r->xmit.xmit.dev_mac[0] == 0 && r->xmit.xmit.dev_mac[1] == 0 &&
	      r->xmit.xmit.dev_mac[2] == 0 && r->xmit.xmit.dev_mac[5] == 0) &&
	    !owns(h, r->netns, r->xmit.tuple.family, r->xmit.tuple.saddr, r->xmit.ifindex, &owner) &&
	    owner) {
		mac_mismatch(r, h, reqs, &out[1]);
		nf = 2;
	}
	return nf;
}
