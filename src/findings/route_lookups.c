// SPDX-License-Identifier: GPL-2.0
/* Grouping fib table lookups into route lookups. With policy routing the kernel asks one
 * table after another (local, main, ...) until one answers; each ask is one tracepoint hit. */
#include <stdio.h>
#include <string.h>
#include "pwhy/findings.h"

static bool same_keys(const struct route_lookup *l, const struct pwhy_fib_facts *f)
{
	return l->oif == f->oif && l->mark == f->mark && l->iif == f->iif &&
	       !memcmp(l->daddr, f->daddr, 16);
}

static void start(struct route_lookup *l, const struct pwhy_fib_facts *f)
{
	memset(l, 0, sizeof(*l));
	l->oif = f->oif;
	l->iif = f->iif;
	l->mark = f->mark;
	l->scope = f->scope;
	l->family = f->family;
	memcpy(l->daddr, f->daddr, 16);
	memcpy(l->saddr, f->saddr, 16);
}

static void add_table(struct route_lookup *l, const struct pwhy_fib_facts *f)
{
	size_t len = strlen(l->tables);

	snprintf(l->tables + len, sizeof(l->tables) - len, "%s%u", len ? "," : "", f->table);
	l->table = f->table;
	l->err = f->err;
	if (!f->err) {
		l->ok = true;
		l->nh_ifindex = f->nh_ifindex;
		memcpy(l->nh_ifname, f->nh_ifname, sizeof(l->nh_ifname));
		memcpy(l->gw, f->gw, 16);
	}
}

int send_route_lookups(const struct send_record *r, struct route_lookup *out, int max)
{
	int n = 0;

	for (int i = 0; i < r->nfibs; i++) {
		const struct pwhy_fib_facts *f = &r->fibs[i];

		if (n && !out[n - 1].ok && same_keys(&out[n - 1], f)) {
			add_table(&out[n - 1], f);
			continue;
		}
		if (n == max)
			break;
		start(&out[n], f);
		add_table(&out[n], f);
		n++;
	}
	return n;
}
