// SPDX-License-Identifier: GPL-2.0
/* NO_SOCKET flows, explained once each: the flow's sample (tuple, netns, dif/sdif of its first
 * drop) becomes a drop event for no_sk_explain(), which asks the host about the sockets of that
 * netns. Explanations are made soon after the drop (the sockets may be gone later) and kept. */
#include <stdlib.h>
#include <string.h>
#include "pwhy/event.h"
#include "pwhy/findings.h"
#include "pwhy/report.h"

const struct finding *report_explained_get(const struct report_explainer *x,
					   const struct report_flow_key *k)
{
	if (!x)
		return NULL;
	for (size_t i = 0; i < x->n; i++)
		if (!memcmp(&x->v[i].key, k, sizeof(*k)))
			return &x->v[i].f;
	return NULL;
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

static bool explainable(const struct report_explainer *x, const struct report_flow_row *row)
{
	return row->k.reason == x->reason_no_socket && row->v.sampled && !row->k.frag &&
	       (row->k.l4proto == 6 || row->k.l4proto == 17) &&
	       !report_explained_get(x, &row->k);
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
	for (size_t i = 0; i < n && done < max; i++) {
		struct pwhy_event ev;
		struct finding f;
		struct report_explained *e;
		char where[96] = "";

		event_from_flow(todo[i], &ev);
		if (x->location)
			x->location(x->ctx, ev.drop.location, where, sizeof(where));
		if (no_sk_explain(&ev, where, x->host, &f) != 1) {
			x->failed++;
			continue;
		}
		e = slot(x);
		if (!e)
			break;
		e->key = todo[i]->k;
		e->f = f;
		e->when_s = now_s;
		x->explained++;
		done++;
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
