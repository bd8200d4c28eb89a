// SPDX-License-Identifier: GPL-2.0
/* Gathering what one send and one skb went through, and asking the findings about it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/correlate.h"
#include "pwhy/format.h"
#include "pwhy/ksyms.h"

void correlate_init(struct correlator *c)
{
	memset(c->sends, 0, sizeof(c->sends));
	c->next_slot = 0;
	memset(c->findings, 0, sizeof(c->findings));
	if (!c->kinds_mask)
		c->kinds_mask = (1L << FINDING_MAX) - 1;
}

static void report(struct correlator *c, const struct finding *f)
{
	if (!(c->kinds_mask & (1L << f->kind)))
		return;
	c->findings[f->kind]++;
	if (c->print_findings && c->render)
		render_finding(c->render, f);
	if (c->on_finding)
		c->on_finding(f, c->ctx);
}

static struct send_record *send_find(struct correlator *c, __u64 id, bool create)
{
	struct send_record **slot;

	for (int i = 0; i < CORRELATE_MAX_SENDS; i++)
		if (c->sends[i] && c->sends[i]->send_id == id)
			return c->sends[i];
	if (!create)
		return NULL;
	slot = &c->sends[c->next_slot++ % CORRELATE_MAX_SENDS];
	if (*slot) {
		c->sends_evicted++;
		free(*slot);
	}
	*slot = calloc(1, sizeof(**slot));
	if (*slot)
		(*slot)->send_id = id;
	return *slot;
}

static const char *scope_name(int scope)
{
	switch (scope) {
	case 0: return "universe";
	case 200: return "site";
	case 253: return "link";
	case 254: return "host";
	default: return "?";
	}
}

static void explain_routes(struct correlator *c, const struct send_record *r)
{
	struct route_lookup L[16];
	int n = send_route_lookups(r, L, 16);
	char line[512], d[64], s[64], gw[64], oif[48], res[128];
	int bound = r->send.ifindex;

	for (int i = 0; i < n; i++) {
		const struct route_lookup *l = &L[i];
		const char *origin = !l->oif ? "none" :
				     l->oif == r->send.send.req_oif ? oif_origin_name(r->send.send.req_origin) :
				     l->oif == bound ? "SO_BINDTODEVICE" : "kernel";

		hostinfo_ifname(c->host, r->netns, l->oif, oif, sizeof(oif));
		if (l->ok) {
			bool has_gw = l->gw[0] || l->gw[1] || l->gw[2] || l->gw[3] ||
				      (l->family == 10 && (l->gw[4] || l->gw[15]));

			snprintf(res, sizeof(res), "dev %s:%d%s%s (table %u)", l->nh_ifname, l->nh_ifindex,
				 has_gw ? " via " : "", has_gw ? fmt_addr(l->family, l->gw, gw, sizeof(gw)) : "",
				 l->table);
		} else {
			snprintf(res, sizeof(res), "no route: err %d (%s) in tables %s%s", l->err,
				 l->err == -101 ? "ENETUNREACH" : l->err == -113 ? "EHOSTUNREACH" :
				 l->err == -11 ? "no match" : "error", l->tables,
				 l->scope == 253 ? "; scope link (SO_DONTROUTE/MSG_DONTROUTE) admits only on-link destinations" : "");
		}
		snprintf(line, sizeof(line),
			 "send 0x%llx lookup %d: daddr %s saddr %s oif %s (%s) mark 0x%x scope %s -> %s",
			 (unsigned long long)r->send_id, i + 1, fmt_addr(l->family, l->daddr, d, sizeof(d)),
			 fmt_addr(l->family, l->saddr, s, sizeof(s)), l->oif ? oif : "0", origin, l->mark,
			 scope_name(l->scope), res);
		render_note(c->render, "route", line);
	}
}

static void send_done(struct correlator *c, struct send_record *r)
{
	struct finding f[2];
	int n;

	if (c->explain_route && c->render)
		explain_routes(c, r);
	n = oif_change_check(r, c->host, f);
	for (int i = 0; i < n; i++)
		report(c, &f[i]);
	for (int i = 0; i < CORRELATE_MAX_SENDS; i++)
		if (c->sends[i] == r) {
			c->sends[i] = NULL;
			break;
		}
	free(r);
}

static void on_send_event(struct correlator *c, const struct pwhy_event *ev)
{
	struct send_record *r = send_find(c, ev->send_id, ev->kind == PWHY_EV_SEND);

	if (!r)
		return;
	switch (ev->kind) {
	case PWHY_EV_SEND:
		r->send = *ev;
		r->have_send = true;
		r->netns = ev->netns;
		break;
	case PWHY_EV_FIB:
		if (r->nfibs < SEND_MAX_FIBS)
			r->fibs[r->nfibs++] = ev->fib;
		break;
	case PWHY_EV_PATH:
		if (ev->probe == PWHY_PROBE_NET_DEV_QUEUE && !r->have_xmit) {
			r->xmit = *ev;
			r->have_xmit = true;
		}
		break;
	case PWHY_EV_DROP:
		if (!r->have_drop) {
			r->drop = *ev;
			r->have_drop = true;
		}
		break;
	case PWHY_EV_SEND_EXIT:
		r->ret = ev->send.ret;
		send_done(c, r);
		break;
	}
}

/* Names the kernel copied into fixed-size fields hold at most 15 characters and a NUL; a record
 * that lacks the NUL (a bug, or a torn record) must not make the readers below run past it. */
static void terminate_names(struct pwhy_event *ev)
{
	ev->comm[sizeof(ev->comm) - 1] = 0;
	ev->ifname[sizeof(ev->ifname) - 1] = 0;
	if (ev->kind == PWHY_EV_DROP)
		ev->drop.sender_comm[sizeof(ev->drop.sender_comm) - 1] = 0;
	if (ev->kind == PWHY_EV_FIB)
		ev->fib.nh_ifname[sizeof(ev->fib.nh_ifname) - 1] = 0;
}

void correlate_event(struct correlator *c, const struct pwhy_event *raw)
{
	struct pwhy_event copy = *raw, *ev = &copy;

	terminate_names(ev);
	if (c->print_events && c->render)
		render_event(c->render, ev);
	if (ev->send_id)
		on_send_event(c, ev);
	if (ev->kind == PWHY_EV_DROP && ev->drop.reason == c->reason_no_socket) {
		struct finding f;
		char where[96];

		ksym_format(ev->drop.location, where, sizeof(where));
		if (no_sk_explain(ev, where, c->host, &f))
			report(c, &f);
	}
}

void correlate_finish(struct correlator *c)
{
	for (int i = 0; i < CORRELATE_MAX_SENDS; i++)
		if (c->sends[i])
			send_done(c, c->sends[i]);
}
