// SPDX-License-Identifier: GPL-2.0
/* A NO_SOCKET drop, explained: re-run the kernel's socket match against the sockets of the
 * packet's netns without stopping at the first failure, and name the nearest one and why it
 * missed. An unbound socket that only missed because of sdif is the VRF finding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/event.h"
#include "pwhy/findings.h"
#include "pwhy/format.h"
#include "pwhy/sock_match.h"

static void key_from_event(const struct pwhy_event *ev, struct sock_lookup_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = ev->tuple.family;
	k->proto = ev->tuple.l4proto;
	memcpy(k->saddr, ev->tuple.saddr, 16);
	memcpy(k->daddr, ev->tuple.daddr, 16);
	k->sport = ev->tuple.sport;
	k->dport = ev->tuple.dport;
	k->dif = ev->drop.dif;
	k->sdif = ev->drop.sdif;
}

/* Sockets of both families: an IPv4 packet may belong to a dual-stack IPv6 socket. */
static int gather(const struct hostinfo *h, __u32 netns, int proto, struct pwhy_sock **out,
		  size_t *n)
{
	struct pwhy_sock *v4 = NULL, *v6 = NULL, *all;
	size_t n4 = 0, n6 = 0;

	if (h->socks(h->ctx, netns, 2, proto, &v4, &n4) < 0)
		n4 = 0;
	if (h->socks(h->ctx, netns, 10, proto, &v6, &n6) < 0)
		n6 = 0;
	all = calloc(n4 + n6 + 1, sizeof(*all));
	if (!all) {
		free(v4);
		free(v6);
		return -1;
	}
	if (n4)
		memcpy(all, v4, n4 * sizeof(*all));
	if (n6)
		memcpy(all + n4, v6, n6 * sizeof(*all));
	free(v4);
	free(v6);
	*out = all;
	*n = n4 + n6;
	return 0;
}

static void sock_facts(struct finding *f, const struct pwhy_sock *s)
{
	char a[80], p[80];

	finding_fact(f, "socket", "%s", fmt_endpoint(s->family, s->saddr, s->sport, a, sizeof(a)));
	if (s->dport)
		finding_fact(f, "socket_peer", "%s",
			     fmt_endpoint(s->family, s->daddr, s->dport, p, sizeof(p)));
	finding_fact_num(f, "socket_bound_dev_if", s->bound_dev_if);
	if (s->owner_pid) {
		finding_fact_num(f, "socket_pid", s->owner_pid);
		finding_fact(f, "socket_comm", "%s", s->owner_comm);
	}
}

static void vrf_sdif(struct finding *f, const struct pwhy_event *ev, const struct hostinfo *h,
		     const struct pwhy_sock *s, const char *sysctl, long accept)
{
	char dif[48], sdif[48], sk[80];
	const char *proto = ev->tuple.l4proto == 6 ? "tcp" : "udp";

	f->kind = FINDING_VRF_SDIF;
	hostinfo_ifname(h, ev->netns, ev->drop.dif, dif, sizeof(dif));
	hostinfo_ifname(h, ev->netns, ev->drop.sdif, sdif, sizeof(sdif));
	finding_fact(f, "vrf_dev", "%s", dif);
	finding_fact(f, "slave_dev", "%s", sdif);
	finding_fact_num(f, "dif", ev->drop.dif);
	finding_fact_num(f, "sdif", ev->drop.sdif);
	sock_facts(f, s);
	finding_fact(f, "sysctl", "net.ipv4.%s=%ld", sysctl, accept);
	snprintf(f->summary, sizeof(f->summary),
		 "dropped NO_SOCKET: arrived through VRF slave %s (vrf %s, sdif=%d); socket %s%s%s is not bound to a device and %s=%ld rejects it",
		 sdif, dif, ev->drop.sdif, fmt_endpoint(s->family, s->saddr, s->sport, sk, sizeof(sk)),
		 s->owner_pid ? " of " : "", s->owner_pid ? s->owner_comm : "", sysctl, accept);
	snprintf(f->hint, sizeof(f->hint),
		 "set net.ipv4.%s_l3mdev_accept=1 in this netns, run the %s service with `ip vrf exec <vrf>` or bind it to the VRF, leak the route into the VRF's table, or `pwhy fix apply vrf-lookup`",
		 proto, proto);
}

static void nearest_hint(struct finding *f, const struct pwhy_event *ev,
			 const struct hostinfo *h, const struct sock_candidate *c)
{
	char ep[80], dev[48], in[48];
	const struct pwhy_sock *s = c->sk;

	fmt_endpoint(ev->tuple.family, ev->tuple.daddr, ev->tuple.dport, ep, sizeof(ep));
	switch (c->why) {
	case SOCK_MISS_PEER:
		if (ev->drop.sender_known && !ev->drop.sender_transparent)
			snprintf(f->hint, sizeof(f->hint),
				 "the receiving socket is connected to another peer and the reply came from a socket without IP_TRANSPARENT (%s pid %u): reply from an IP_TRANSPARENT socket bound to the original destination (read it with IP_RECVORIGDSTADDR)",
				 ev->drop.sender_comm, ev->drop.sender_pid);
		else
			snprintf(f->hint, sizeof(f->hint),
				 "the socket on %s is connected to another peer: the sender must use the address and port it is connected to",
				 ep);
		break;
	case SOCK_MISS_BOUND_DEV:
		snprintf(f->hint, sizeof(f->hint),
			 "the socket is bound to %s (SO_BINDTODEVICE) but the packet arrived on %s: bind it to the ingress device or unbind it",
			 hostinfo_ifname(h, ev->netns, s->bound_dev_if, dev, sizeof(dev)),
			 hostinfo_ifname(h, ev->netns, ev->drop.dif, in, sizeof(in)));
		break;
	case SOCK_MISS_LADDR:
		snprintf(f->hint, sizeof(f->hint),
			 "a socket has the port but is bound to another local address: bind it to %s or to the wildcard address", ep);
		break;
	case SOCK_MISS_V6ONLY:
		snprintf(f->hint, sizeof(f->hint),
			 "the IPv6 socket has IPV6_V6ONLY: open an IPv4 socket or clear IPV6_V6ONLY");
		break;
	case SOCK_MISS_STATE:
		snprintf(f->hint, sizeof(f->hint), "a TCP socket has the port but is not listening");
		break;
	case SOCK_MATCH:
		snprintf(f->hint, sizeof(f->hint),
			 "a socket that matches exists now: it was probably opened after the packet arrived");
		break;
	default:
		snprintf(f->hint, sizeof(f->hint), "no socket listens on %s/%s: start the service or fix the destination port",
			 ep, fmt_l4proto(ev->tuple.l4proto) ? fmt_l4proto(ev->tuple.l4proto) : "?");
	}
}

int no_sk_explain(const struct pwhy_event *ev, const char *where, const struct hostinfo *h,
		  struct finding *f)
{
	struct pwhy_sock *socks = NULL;
	struct sock_candidate best = {};
	struct sock_lookup_key k;
	const char *sysctl = ev->tuple.l4proto == 6 ? "tcp_l3mdev_accept" : "udp_l3mdev_accept";
	char path[64], tuple[160], ep[80];
	long accept = 0;
	size_t n = 0;
	int found;

	if (ev->tuple.l4proto != 6 && ev->tuple.l4proto != 17)
		return 0;
	finding_init(f, FINDING_NO_SK, ev->skb);
	key_from_event(ev, &k);
	snprintf(path, sizeof(path), "net/ipv4/%s", sysctl);
	if (h->sysctl(h->ctx, ev->netns, path, &accept) == 0)
		k.l3mdev_accept = accept;
	gather(h, ev->netns, ev->tuple.l4proto, &socks, &n);
	found = sock_match_nearest(&k, socks, n, &best);

	finding_fact(f, "tuple", "%s", fmt_tuple(&ev->tuple, tuple, sizeof(tuple)));
	finding_fact_num(f, "netns", ev->netns);
	finding_fact(f, "reason", "NO_SOCKET");
	finding_fact(f, "location", "%s", where);
	if (found > 0 && best.sk && best.why == SOCK_MISS_SDIF && ev->drop.sdif) {
		vrf_sdif(f, ev, h, best.sk, sysctl, accept);
		free(socks);
		return 1;
	}
	if (found > 0 && best.sk) {
		sock_facts(f, best.sk);
		finding_fact(f, "nearest_miss", "%s", sock_miss_name(best.why));
	} else {
		finding_fact(f, "nearest_miss", "none");
	}
	if (ev->drop.sdif)
		finding_fact_num(f, "sdif", ev->drop.sdif);
	finding_fact_num(f, "dif", ev->drop.dif);
	if (ev->drop.sender_known) {
		finding_fact_num(f, "sender_pid", ev->drop.sender_pid);
		finding_fact(f, "sender_comm", "%s", ev->drop.sender_comm);
		finding_fact_num(f, "sender_transparent", ev->drop.sender_transparent);
	}
	fmt_endpoint(ev->tuple.family, ev->tuple.daddr, ev->tuple.dport, ep, sizeof(ep));
	if (found > 0 && best.sk) {
		char sk[80];

		snprintf(f->summary, sizeof(f->summary),
			 "dropped NO_SOCKET at %s: no socket matched %s; nearest socket %s%s%s: %s",
			 where, tuple, fmt_endpoint(best.sk->family, best.sk->saddr, best.sk->sport, sk, sizeof(sk)),
			 best.sk->owner_pid ? " of " : "", best.sk->owner_pid ? best.sk->owner_comm : "",
			 sock_miss_explain(best.why));
	} else {
		snprintf(f->summary, sizeof(f->summary),
			 "dropped NO_SOCKET at %s: no socket on %s/%s", where, ep,
			 fmt_l4proto(ev->tuple.l4proto));
	}
	nearest_hint(f, ev, h, &best);
	free(socks);
	return 1;
}
