// SPDX-License-Identifier: GPL-2.0
/* A window of counters → a ranked, named report: reasons, locations, devices, top flows, and
 * the findings that explain the NO_SOCKET flows shown. Pure: names come from callbacks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/event.h"
#include "pwhy/format.h"
#include "pwhy/report.h"

/* Sort helpers: most drops first, then a stable tie-break on the key so output is reproducible */
static int by_drops(__u64 a, __u64 b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int cmp_reason(const void *a, const void *b)
{
	const struct report_reason_out *x = a, *y = b;

	return by_drops(x->drops, y->drops) ?: (x->value > y->value) - (x->value < y->value);
}

static int cmp_loc(const void *a, const void *b)
{
	const struct report_loc_out *x = a, *y = b;

	return by_drops(x->drops, y->drops) ?: strcmp(x->location, y->location) ?:
	       strcmp(x->reason, y->reason);
}

static int cmp_dev(const void *a, const void *b)
{
	const struct report_dev_out *x = a, *y = b;

	if (by_drops(x->drops, y->drops))
		return by_drops(x->drops, y->drops);
	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

static int cmp_flow_rows(const void *a, const void *b)
{
	const struct report_flow_row *x = *(const struct report_flow_row *const *)a;
	const struct report_flow_row *y = *(const struct report_flow_row *const *)b;

	return by_drops(x->v.packets, y->v.packets) ?: memcmp(&x->k, &y->k, sizeof(x->k));
}

static void build_reasons(const struct report_snapshot *w, const struct report_names *nm,
			  struct report *r)
{
	for (size_t i = 0; i < w->nreasons; i++) {
		struct report_reason_out *o = &r->reasons[r->nreasons++];

		o->value = w->reasons[i].reason;
		nm->reason(nm->ctx, o->value, o->name, sizeof(o->name));
		o->drops = w->reasons[i].c.packets;
		o->bytes = w->reasons[i].c.bytes;
	}
	qsort(r->reasons, r->nreasons, sizeof(*r->reasons), cmp_reason);
}

static void build_locs(const struct report_snapshot *w, const struct report_names *nm,
		       struct report *r)
{
	size_t top = r->meta.top;

	for (size_t i = 0; i < w->nlocs; i++) {
		struct report_loc_out *o = &r->locs[r->nlocs++];
		char *plus;

		o->addr = w->locs[i].k.location;
		nm->location(nm->ctx, o->addr, o->location, sizeof(o->location));
		snprintf(o->function, sizeof(o->function), "%s", o->location);
		plus = strchr(o->function, '+');
		if (plus)
			*plus = 0;
		nm->reason(nm->ctx, w->locs[i].k.reason, o->reason, sizeof(o->reason));
		o->drops = w->locs[i].c.packets;
		o->bytes = w->locs[i].c.bytes;
	}
	qsort(r->locs, r->nlocs, sizeof(*r->locs), cmp_loc);
	for (size_t i = top; i < r->nlocs; i++) {
		r->locs_rest += r->locs[i].drops;
		r->locs_rest_rows++;
	}
	if (r->nlocs > top)
		r->nlocs = top;
}

/* Device rows are keyed by reason too: gather them per (netns, ifindex). */
static int build_devs(const struct report_snapshot *w, const struct report_names *nm,
		      struct report *r)
{
	size_t top = r->meta.top;

	for (size_t i = 0; i < w->ndevs; i++) {
		const struct report_dev_row *d = &w->devs[i];
		struct report_dev_out *o = NULL;
		char reason[64];
		int k;

		for (size_t j = 0; j < r->ndevs && !o; j++)
			if (r->devs[j].netns == d->k.netns && r->devs[j].ifindex == d->k.ifindex)
				o = &r->devs[j];
		if (!o) {
			o = &r->devs[r->ndevs++];
			o->netns = d->k.netns;
			o->ifindex = d->k.ifindex;
			nm->device(nm->ctx, d->k.netns, d->k.ifindex, d->ifname, o->device,
				   sizeof(o->device));
		}
		o->drops += d->c.packets;
		o->bytes += d->c.bytes;
		nm->reason(nm->ctx, d->k.reason, reason, sizeof(reason));
		/* keep the busiest REPORT_DEV_REASONS reasons, in order; the rest is summed */
		for (k = 0; k < o->nreasons; k++)
			if (d->c.packets > o->reasons[k].drops)
				break;
		if (k < REPORT_DEV_REASONS) {
			if (o->nreasons == REPORT_DEV_REASONS)
				o->other_reason_drops += o->reasons[REPORT_DEV_REASONS - 1].drops;
			else
				o->nreasons++;
			memmove(&o->reasons[k + 1], &o->reasons[k],
				(o->nreasons - 1 - k) * sizeof(o->reasons[0]));
			snprintf(o->reasons[k].name, sizeof(o->reasons[k].name), "%s", reason);
			o->reasons[k].drops = d->c.packets;
		} else {
			o->other_reason_drops += d->c.packets;
		}
	}
	qsort(r->devs, r->ndevs, sizeof(*r->devs), cmp_dev);
	for (size_t i = top; i < r->ndevs; i++) {
		r->devs_rest += r->devs[i].drops;
		r->devs_rest_rows++;
	}
	if (r->ndevs > top)
		r->ndevs = top;
	return 0;
}

static void flow_tuple(const struct report_flow_key *k, char *buf, size_t len)
{
	struct pwhy_tuple t = {};

	if (!k->family) {
		snprintf(buf, len, "non-IP ethertype 0x%04x", k->eth_proto);
		return;
	}
	t.family = k->family;
	t.l4proto = k->l4proto;
	t.sport = k->sport;
	t.dport = k->dport;
	t.frag = k->frag;
	memcpy(t.saddr, k->saddr, 16);
	memcpy(t.daddr, k->daddr, 16);
	fmt_tuple(&t, buf, len);
}

static int build_flows(const struct report_snapshot *w, const struct report_names *nm,
		       const struct report_explainer *x, struct report *r)
{
	const struct report_flow_row **order;
	size_t top = r->meta.top;

	if (!w->nflows)
		return 0;
	order = calloc(w->nflows, sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < w->nflows; i++)
		order[i] = &w->flows[i];
	qsort(order, w->nflows, sizeof(*order), cmp_flow_rows);
	for (size_t i = 0; i < w->nflows; i++) {
		const struct report_flow_row *f = order[i];
		struct report_flow_out *o;

		if (i >= top) {
			r->flows_rest += f->v.packets;
			r->flows_rest_rows++;
			continue;
		}
		o = &r->flows[r->nflows++];
		o->key = f->k;
		flow_tuple(&f->k, o->tuple, sizeof(o->tuple));
		nm->device(nm->ctx, f->k.netns, f->v.ifindex, f->v.ifname, o->device,
			   sizeof(o->device));
		nm->reason(nm->ctx, f->k.reason, o->reason, sizeof(o->reason));
		nm->location(nm->ctx, f->v.location, o->location, sizeof(o->location));
		o->drops = f->v.packets;
		o->bytes = f->v.bytes;
		o->finding = report_explained_get(x, &f->k);
	}
	free(order);
	return 0;
}

/* One finding line per distinct explanation among the window's flows (shown or not: a finding
 * about a flow too small for the top N is still a finding). */
static void build_findings(const struct report_snapshot *w, const struct report_explainer *x,
			   struct report *r, size_t cap)
{
	for (size_t i = 0; i < w->nflows; i++) {
		const struct finding *f = report_explained_get(x, &w->flows[i].k);
		struct report_finding_out *o = NULL;

		if (!f)
			continue;
		for (size_t j = 0; j < r->nfindings && !o; j++)
			if (r->findings[j].f->kind == f->kind &&
			    !strcmp(r->findings[j].f->summary, f->summary) &&
			    !strcmp(r->findings[j].f->hint, f->hint))
				o = &r->findings[j];
		if (!o) {
			if (r->nfindings >= cap)
				continue;
			o = &r->findings[r->nfindings++];
			o->f = f;
		}
		o->drops += w->flows[i].v.packets;
		o->flows++;
	}
	/* busiest first */
	for (size_t i = 1; i < r->nfindings; i++)
		for (size_t j = i; j > 0 && r->findings[j].drops > r->findings[j - 1].drops; j--) {
			struct report_finding_out t = r->findings[j];

			r->findings[j] = r->findings[j - 1];
			r->findings[j - 1] = t;
		}
}

int report_build(const struct report_snapshot *w, const struct report_meta *meta,
		 const struct report_names *nm, const struct report_explainer *x,
		 struct report *r)
{
	size_t ncap;

	memset(r, 0, sizeof(*r));
	r->meta = *meta;
	if (r->meta.top <= 0)
		r->meta.top = 10;
	r->drops = w->totals.drops;
	r->bytes = w->totals.bytes;
	r->reason_full = w->totals.reason_full;
	r->location_full = w->totals.location_full;
	r->device_full = w->totals.device_full;
	r->flow_full = w->totals.flow_full;
	r->flows_evicted = w->flows_evicted;
	r->flows_tracked = w->nflows;
	r->reasons = calloc(w->nreasons + 1, sizeof(*r->reasons));
	r->locs = calloc(w->nlocs + 1, sizeof(*r->locs));
	r->devs = calloc(w->ndevs + 1, sizeof(*r->devs));
	r->flows = calloc((w->nflows < (size_t)r->meta.top ? w->nflows : (size_t)r->meta.top) + 1,
			  sizeof(*r->flows));
	ncap = w->nflows < REPORT_EXPLAIN_CACHE ? w->nflows : REPORT_EXPLAIN_CACHE;
	r->findings = calloc(ncap + 1, sizeof(*r->findings));
	if (!r->reasons || !r->locs || !r->devs || !r->flows || !r->findings)
		goto nomem;
	build_reasons(w, nm, r);
	build_locs(w, nm, r);
	if (build_devs(w, nm, r) || build_flows(w, nm, x, r))
		goto nomem;
	build_findings(w, x, r, ncap);
	return 0;
nomem:
	report_free(r);
	return -ENOMEM;
}

void report_free(struct report *r)
{
	free(r->reasons);
	free(r->locs);
	free(r->devs);
	free(r->flows);
	free(r->findings);
	memset(r, 0, sizeof(*r));
}
