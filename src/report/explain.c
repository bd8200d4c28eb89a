// SPDX-License-Identifier: GPL-2.0
/* Flows explained once each, soon after their first drop (sockets and routes may change later),
 * and kept.
 * - NO_SOCKET: the flow's sample (tuple, netns, dif/sdif of its first drop) becomes a drop event
 *   for no_sk_explain(), which asks the host about the sockets of that netns.
 * - A locally sent packet dropped on its way out: BPF kept the device of the route the skb still
 *   carries (the sender's choice: ip_route_me_harder replaces it only on success), the socket's
 *   sk_bound_dev_if and the mark. If the routing answers "no route" for the reroute's keys (oif =
 *   sk_bound_dev_if) but finds one through the sender's device, the per-packet oif was lost. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/event.h"
#include "pwhy/findings.h"
#include "pwhy/format.h"
#include "pwhy/hostinfo.h"
#include "pwhy/report.h"
#include "pwhy/route_get.h"

const struct finding *report_explained_get(const struct report_explainer *x,
					   const struct report_flow_key *k)
{
	if (!x)
		return NULL;
	for (size_t i = 0; i < x->n; i++)
		if (!memcmp(&x->v[i].key, k, sizeof(*k)))
			return x->v[i].none ? NULL : &x->v[i].f;
	return NULL;
}

static bool seen(const struct report_explainer *x, const struct report_flow_key *k)
{
	for (size_t i = 0; i < x->n; i++)
		if (!memcmp(&x->v[i].key, k, sizeof(*k)))
			return true;
	return false;
}

static void event_from_flow(const struct report_flow_row *row, struct pwhy_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->version = PWHY_EVENT_VERSION;
	ev->kind = PWHY_EV_DROP;
	ev->probe = PWHY_PROBE_KFREE_SKB;
	ev->netns = row->k.netns;
	ev->ifindex = row->v.ifindex;
	memcpy(ev->ifname, row->v.ifname, sizeof(ev->ifname));
	ev->eth_proto = row->k.eth_proto;
	ev->tuple.family = row->k.family;
	ev->tuple.l4proto = row->k.l4proto;
	ev->tuple.sport = row->k.sport;
	ev->tuple.dport = row->k.dport;
	ev->tuple.frag = row->k.frag;
	memcpy(ev->tuple.saddr, row->k.saddr, 16);
	memcpy(ev->tuple.daddr, row->k.daddr, 16);
	ev->drop.location = row->v.location;
	ev->drop.reason = row->k.reason;
	ev->drop.dif = row->v.dif;
	ev->drop.sdif = row->v.sdif;
	ev->drop.l3slave = row->v.l3slave;
}

static bool no_sk_flow(const struct report_explainer *x, const struct report_flow_row *row)
{
	return row->k.reason == x->reason_no_socket && row->v.sampled && !row->k.frag &&
	       (row->k.l4proto == 6 || row->k.l4proto == 17);
}

static bool local_out_flow(const struct report_explainer *x, const struct report_flow_row *row)
{
	return row->k.reason != x->reason_no_socket && row->v.local_out &&
	       (row->k.family == 2 || row->k.family == 10) && row->v.route_ifindex > 0 &&
	       row->v.route_ifindex != row->v.sk_bound_dev_if;
}

static bool explainable(const struct report_explainer *x, const struct report_flow_row *row)
{
	return (no_sk_flow(x, row) || local_out_flow(x, row)) && !seen(x, &row->k);
}

static int ask_route(const struct report_explainer *x, const struct report_flow_row *row,
		     int oif, int *out)
{
	struct route_query q = { .family = row->k.family, .mark = row->v.mark, .oif = oif };

	memcpy(q.daddr, row->k.daddr, 16);
	memcpy(q.saddr, row->k.saddr, 16);
	if (x->route)
		return x->route(x->ctx, row->k.netns, &q, out);
	return route_get(row->k.netns, &q, out);
}

/* 1 and f when the drop is the lost-oif reroute, 0 when it is something else */
static int oif_lost_explain(const struct report_explainer *x, const struct report_flow_row *row,
			    const char *where, struct finding *f)
{
	const struct report_flow_val *v = &row->v;
	struct pwhy_tuple t = { .family = row->k.family, .l4proto = row->k.l4proto,
				.sport = row->k.sport, .dport = row->k.dport };
	char req[48], bound[48], tb[160];
	int err, via_req, dev = 0;

	err = ask_route(x, row, v->sk_bound_dev_if, &dev);
	if (err >= 0 || err == -ENOENT || err == -ESRCH)
		return 0;	/* the reroute's keys do route (or the netns is gone): not this */
	if (ask_route(x, row, v->route_ifindex, &via_req) < 0)
		return 0;	/* no route through the sender's device either: not an oif loss */

	memcpy(t.saddr, row->k.saddr, 16);
	memcpy(t.daddr, row->k.daddr, 16);
	hostinfo_ifname(x->host, row->k.netns, v->route_ifindex, req, sizeof(req));
	if (v->sk_bound_dev_if)
		hostinfo_ifname(x->host, row->k.netns, v->sk_bound_dev_if, bound, sizeof(bound));
	else
		snprintf(bound, sizeof(bound), "0");
	finding_init(f, FINDING_OIF_CHANGE, 0);
	finding_fact(f, "tuple", "%s", fmt_tuple(&t, tb, sizeof(tb)));
	finding_fact_num(f, "netns", row->k.netns);
	finding_fact(f, "location", "%s", where);
	finding_fact(f, "requested_oif", "%s", req);
	finding_fact(f, "requested_by", "route of the sent skb (IP_PKTINFO/IP_UNICAST_IF/route)");
	finding_fact(f, "sk_bound_dev_if", "%s", bound);
	finding_fact_num(f, "reroute_oif", v->sk_bound_dev_if);
	finding_fact_num(f, "reroute_mark", v->mark);
	finding_fact_num(f, "reroute_err", err);
	finding_fact(f, "egress_dev", "none");
	snprintf(f->summary, sizeof(f->summary),
		 "dropped at %s: sent through %s, but a LOCAL_OUT reroute keyed by mark 0x%x and oif %d (sk_bound_dev_if) finds no route (%s) while %s has one: the per-packet oif was lost",
		 where[0] ? where : "?", req, v->mark, v->sk_bound_dev_if, strerror(-err), req);
	snprintf(f->hint, sizeof(f->hint),
		 "the per-packet oif does not survive a reroute in LOCAL_OUT: add a source-based rule (`ip rule add from <src> lookup <table>` routing via %s), bind the socket with SO_BINDTODEVICE, exclude this traffic from the mark/NAT rule, or `pwhy fix apply pktinfo-oif`",
		 req);
	return 1;
}

static int busier(const void *a, const void *b)
{
	const struct report_flow_row *x = *(const struct report_flow_row *const *)a;
	const struct report_flow_row *y = *(const struct report_flow_row *const *)b;

	if (x->v.packets != y->v.packets)
		return x->v.packets < y->v.packets ? 1 : -1;
	return x->v.first_ns < y->v.first_ns ? -1 : x->v.first_ns > y->v.first_ns;
}

static struct report_explained *slot(struct report_explainer *x)
{
	struct report_explained *e;

	if (!x->v) {
		x->v = calloc(REPORT_EXPLAIN_CACHE, sizeof(*x->v));
		if (!x->v)
			return NULL;
	}
	/* a ring: once full, the oldest explanation makes room */
	e = &x->v[x->next];
	x->next = (x->next + 1) % REPORT_EXPLAIN_CACHE;
	if (x->n < REPORT_EXPLAIN_CACHE)
		x->n++;
	return e;
}

int report_explain_new(struct report_explainer *x, const struct report_snapshot *s, int max,
		       double now_s)
{
	const struct report_flow_row **todo;
	size_t n = 0;
	int done = 0;

	if (max <= 0 || !s->nflows)
		return 0;
	todo = calloc(s->nflows, sizeof(*todo));
	if (!todo)
		return 0;
	for (size_t i = 0; i < s->nflows; i++)
		if (explainable(x, &s->flows[i]))
			todo[n++] = &s->flows[i];
	qsort(todo, n, sizeof(*todo), busier);
	/* flows with nothing to say cost lookups too: bound the work of one call */
	for (size_t i = 0; i < n && done < max && i < 4 * (size_t)max; i++) {
		struct pwhy_event ev;
		struct finding f;
		struct report_explained *e;
		char where[96] = "";

		int got;

		event_from_flow(todo[i], &ev);
		if (x->location)
			x->location(x->ctx, ev.drop.location, where, sizeof(where));
		if (no_sk_flow(x, todo[i])) {
			if (no_sk_explain(&ev, where, x->host, &f) != 1) {
				x->failed++;
				continue;	/* asked again later */
			}
			got = 1;
		} else {
			got = oif_lost_explain(x, todo[i], where, &f);
		}
		e = slot(x);
		if (!e)
			break;
		e->key = todo[i]->k;
		e->f = f;
		e->none = !got;
		e->when_s = now_s;
		if (got) {
			x->explained++;
			done++;
		}
	}
	free(todo);
	return done;
}

void report_explainer_free(struct report_explainer *x)
{
	free(x->v);
	x->v = NULL;
	x->n = x->next = 0;
}
