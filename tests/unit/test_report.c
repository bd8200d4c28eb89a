// SPDX-License-Identifier: GPL-2.0
/* Unit tests of `pwhy report` past the maps: windows of snapshots, ranking and grouping, the
 * NO_SOCKET explanations (fake host), and the three renderings, all from fixed inputs. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include "check.h"
#include "json_check.h"
#include "pwhy/report.h"
#include "pwhy/route_get.h"

#define NO_SOCKET 3
#define NETFILTER_DROP 12
#define NOT_SPECIFIED 2

static void v4(__u8 *dst, const char *s) { inet_pton(AF_INET, s, dst); }
static void v6(__u8 *dst, const char *s) { inet_pton(AF_INET6, s, dst); }

/* ------------------------------------------------------------------------ fixed names */

static const char *fake_reason(void *ctx, __u32 r, char *buf, size_t len)
{
	snprintf(buf, len, "%s", r == NO_SOCKET ? "NO_SOCKET" : r == NETFILTER_DROP ? "NETFILTER_DROP" :
		 r == NOT_SPECIFIED ? "NOT_SPECIFIED" : "");
	if (!buf[0])
		snprintf(buf, len, "%u", r);
	return buf;
}

static const char *fake_location(void *ctx, __u64 a, char *buf, size_t len)
{
	if (a >= 0x1000 && a < 0x2000)
		snprintf(buf, len, "__udp4_lib_rcv+0x%llx", (unsigned long long)(a - 0x1000));
	else if (a >= 0x2000 && a < 0x3000)
		snprintf(buf, len, "nf_hook_slow+0x%llx", (unsigned long long)(a - 0x2000));
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)a);
	return buf;
}

static const char *fake_device(void *ctx, __u32 netns, int ifindex, const char *bpf_name,
			       char *buf, size_t len)
{
	if (!ifindex)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s:%d", bpf_name && *bpf_name ? bpf_name : "?", ifindex);
	return buf;
}

static const struct report_names names = { fake_reason, fake_location, fake_device, NULL };

/* ----------------------------------------------------------------------- snapshot helpers */

struct snap {
	struct report_snapshot s;
	struct report_reason_row reasons[8];
	struct report_loc_row locs[16];
	struct report_dev_row devs[16];
	struct report_flow_row flows[32];
};

static void snap_init(struct snap *x)
{
	memset(x, 0, sizeof(*x));
	x->s.reasons = x->reasons;
	x->s.locs = x->locs;
	x->s.devs = x->devs;
	x->s.flows = x->flows;
}

static void add_reason(struct snap *x, __u32 reason, __u64 n)
{
	x->reasons[x->s.nreasons++] = (struct report_reason_row){ reason, { n, n * 100 } };
	x->s.totals.drops += n;
	x->s.totals.bytes += n * 100;
}

static void add_loc(struct snap *x, __u64 loc, __u32 reason, __u64 n)
{
	x->locs[x->s.nlocs++] = (struct report_loc_row){ { loc, reason, 0 }, { n, n * 100 } };
}

static void add_dev(struct snap *x, __u32 netns, int ifindex, const char *name, __u32 reason,
		    __u64 n)
{
	struct report_dev_row *d = &x->devs[x->s.ndevs++];

	memset(d, 0, sizeof(*d));
	d->k.netns = netns;
	d->k.ifindex = ifindex;
	d->k.reason = reason;
	d->c.packets = n;
	d->c.bytes = n * 100;
	snprintf(d->ifname, sizeof(d->ifname), "%s", name);
}

static struct report_flow_row *add_flow4(struct snap *x, __u32 netns, __u32 reason,
					 const char *src, __u16 sport, const char *dst,
					 __u16 dport, __u64 n)
{
	struct report_flow_row *f = &x->flows[x->s.nflows++];

	memset(f, 0, sizeof(*f));
	f->k.netns = netns;
	f->k.reason = reason;
	f->k.eth_proto = 0x0800;
	f->k.family = 2;
	f->k.l4proto = 17;
	f->k.sport = sport;
	f->k.dport = dport;
	v4(f->k.saddr, src);
	v4(f->k.daddr, dst);
	f->v.packets = n;
	f->v.bytes = n * 100;
	f->v.first_ns = 1000 + x->s.nflows;
	f->v.location = 0x14bc;
	f->v.ifindex = 1;
	strcpy(f->v.ifname, "lo");
	f->v.dif = 1;
	f->v.sampled = reason == NO_SOCKET;
	return f;
}

static struct report_meta meta(int top)
{
	struct report_meta m = { .kind = REPORT_TOTAL, .start = 1700000000, .end = 1700000010,
				 .seconds = 10, .netns_filter = 0, .top = top,
				 .flow_table_size = REPORT_MAX_FLOWS };

	strcpy(m.host, "box");
	strcpy(m.kernel, "6.18.0");
	return m;
}

/* -------------------------------------------------------------------------------- window */

static void test_window(void)
{
	struct snap a, b;
	struct report_snapshot w;

	snap_init(&a);
	add_reason(&a, NO_SOCKET, 10);
	add_reason(&a, NETFILTER_DROP, 4);
	add_loc(&a, 0x14bc, NO_SOCKET, 10);
	add_dev(&a, 7, 1, "lo", NO_SOCKET, 10);
	add_flow4(&a, 7, NO_SOCKET, "127.0.0.1", 4000, "127.0.0.1", 9, 10);
	add_flow4(&a, 7, NO_SOCKET, "127.0.0.1", 4001, "127.0.0.1", 9, 5);
	a.s.totals.flows_created = 2;
	a.s.flows_evicted = 0;

	snap_init(&b);
	add_reason(&b, NO_SOCKET, 25);		/* +15 */
	add_reason(&b, NETFILTER_DROP, 4);	/* nothing new */
	add_reason(&b, NOT_SPECIFIED, 2);	/* new row */
	add_loc(&b, 0x14bc, NO_SOCKET, 25);
	add_dev(&b, 7, 1, "lo", NO_SOCKET, 25);
	add_flow4(&b, 7, NO_SOCKET, "127.0.0.1", 4000, "127.0.0.1", 9, 22);	/* +12 */
	/* 4001 was evicted and came back with 3: all of them are new */
	add_flow4(&b, 7, NO_SOCKET, "127.0.0.1", 4001, "127.0.0.1", 9, 3)->v.first_ns = 9999;
	b.s.totals.flows_created = 4;
	b.s.flows_evicted = 1;

	CHECK(report_window(&b.s, &a.s, &w) == 0);
	CHECK(w.totals.drops == 31 - 14);
	CHECK(w.nreasons == 2);
	for (size_t i = 0; i < w.nreasons; i++) {
		if (w.reasons[i].reason == NO_SOCKET)
			CHECK(w.reasons[i].c.packets == 15 && w.reasons[i].c.bytes == 1500);
		else
			CHECK(w.reasons[i].reason == NOT_SPECIFIED && w.reasons[i].c.packets == 2);
	}
	CHECK(w.nlocs == 1 && w.locs[0].c.packets == 15);
	CHECK(w.ndevs == 1 && w.devs[0].c.packets == 15);
	CHECK_STR(w.devs[0].ifname, "lo");
	CHECK(w.nflows == 2);
	CHECK(w.flows[0].v.packets == 12 && w.flows[0].k.sport == 4000);
	CHECK(w.flows[1].v.packets == 3 && w.flows[1].k.sport == 4001);
	CHECK(w.flows_evicted == 1 && w.totals.flows_created == 2);
	report_snapshot_free(&w);

	/* no previous snapshot: the window is everything */
	CHECK(report_window(&a.s, NULL, &w) == 0);
	CHECK(w.totals.drops == 14 && w.nflows == 2 && w.flows[1].v.packets == 5);
	report_snapshot_free(&w);

	/* the same snapshot twice: an empty window */
	CHECK(report_window(&a.s, &a.s, &w) == 0);
	CHECK(w.totals.drops == 0 && !w.nreasons && !w.nlocs && !w.ndevs && !w.nflows);
	report_snapshot_free(&w);
}

/* ------------------------------------------------------------------------ ranking, top N */

static void test_build_ranking(void)
{
	struct snap a;
	struct report r;
	struct report_meta m = meta(2);
	struct report_flow_row *f;

	snap_init(&a);
	add_reason(&a, NETFILTER_DROP, 3);
	add_reason(&a, NO_SOCKET, 40);
	add_reason(&a, 999, 1);			/* unknown to BTF: its number */
	add_loc(&a, 0x2010, NETFILTER_DROP, 3);
	add_loc(&a, 0x14bc, NO_SOCKET, 40);
	add_loc(&a, 0x9999, 999, 1);
	/* one device with five reasons: four are listed, the smallest goes to "other" */
	add_dev(&a, 7, 1, "lo", NO_SOCKET, 30);
	add_dev(&a, 7, 1, "lo", NETFILTER_DROP, 2);
	add_dev(&a, 7, 1, "lo", 999, 1);
	add_dev(&a, 7, 1, "lo", NOT_SPECIFIED, 5);
	add_dev(&a, 7, 1, "lo", 1000, 4);
	add_dev(&a, 7, 2, "eth0", NO_SOCKET, 10);
	add_dev(&a, 8, 0, "", NETFILTER_DROP, 1);
	add_flow4(&a, 7, NO_SOCKET, "127.0.0.1", 4000, "127.0.0.1", 9, 5);
	add_flow4(&a, 7, NO_SOCKET, "10.0.0.1", 4001, "10.0.0.2", 53, 30);
	add_flow4(&a, 7, NETFILTER_DROP, "10.0.0.1", 4002, "10.0.0.2", 80, 3);
	f = &a.flows[a.s.nflows++];
	memset(f, 0, sizeof(*f));
	f->k.netns = 7;
	f->k.reason = NOT_SPECIFIED;
	f->k.eth_proto = 0x0806;		/* ARP: no tuple */
	f->v.packets = 6;
	f = add_flow4(&a, 7, NO_SOCKET, "::", 5353, "::", 53, 2);
	f->k.family = 10;
	v6(f->k.saddr, "2001:db8::1");
	v6(f->k.daddr, "2001:db8::2");

	CHECK(report_build(&a.s, &m, &names, NULL, &r) == 0);
	CHECK(r.drops == 44);
	CHECK(r.nreasons == 3);
	CHECK_STR(r.reasons[0].name, "NO_SOCKET");
	CHECK_STR(r.reasons[1].name, "NETFILTER_DROP");
	CHECK_STR(r.reasons[2].name, "999");
	/* top 2 locations, the third summed */
	CHECK(r.nlocs == 2 && r.locs_rest_rows == 1 && r.locs_rest == 1);
	CHECK_STR(r.locs[0].location, "__udp4_lib_rcv+0x4bc");
	CHECK_STR(r.locs[0].function, "__udp4_lib_rcv");
	CHECK_STR(r.locs[1].function, "nf_hook_slow");
	/* devices: grouped per (netns, ifindex), busiest first */
	CHECK(r.ndevs == 2 && r.devs_rest_rows == 1 && r.devs_rest == 1);
	CHECK_STR(r.devs[0].device, "lo:1");
	CHECK(r.devs[0].drops == 42 && r.devs[0].nreasons == 4);
	CHECK_STR(r.devs[0].reasons[0].name, "NO_SOCKET");
	CHECK_STR(r.devs[0].reasons[1].name, "NOT_SPECIFIED");
	CHECK_STR(r.devs[0].reasons[2].name, "1000");
	CHECK_STR(r.devs[0].reasons[3].name, "NETFILTER_DROP");
	CHECK(r.devs[0].other_reason_drops == 1);
	CHECK_STR(r.devs[1].device, "eth0:2");
	/* flows: top 2 of 5 */
	CHECK(r.nflows == 2 && r.flows_rest_rows == 3 && r.flows_rest == 5 + 3 + 2);
	CHECK_STR(r.flows[0].tuple, "10.0.0.1:4001->10.0.0.2:53(udp)");
	CHECK_STR(r.flows[1].tuple, "non-IP ethertype 0x0806");
	CHECK_STR(r.flows[1].device, "-");
	report_free(&r);

	m.top = 10;
	CHECK(report_build(&a.s, &m, &names, NULL, &r) == 0);
	CHECK(r.nflows == 5);
	CHECK_STR(r.flows[4].tuple, "[2001:db8::1]:5353->[2001:db8::2]:53(udp)");
	CHECK(r.nfindings == 0);
	report_free(&r);
}

/* -------------------------------------------------------------------------- fake host */

struct fake_host {
	struct pwhy_sock socks[4];
	int nsocks;
	int dumps;
};

static int fake_link(void *ctx, __u32 ns, int ifx, struct pwhy_link *out)
{
	memset(out, 0, sizeof(*out));
	out->ifindex = ifx;
	strcpy(out->name, ifx == 1 ? "lo" : "eth0");
	return 0;
}

static int fake_owners(void *ctx, __u32 ns, int family, const void *addr, int *ifx, int max)
{
	return 0;
}

static int fake_sysctl(void *ctx, __u32 ns, const char *path, long *v)
{
	*v = 0;
	return 0;
}

static int fake_socks(void *ctx, __u32 ns, int family, int proto, struct pwhy_sock **out,
		      size_t *n)
{
	struct fake_host *h = ctx;
	int k = 0;

	h->dumps++;
	*out = calloc(h->nsocks + 1, sizeof(**out));
	for (int i = 0; i < h->nsocks; i++)
		if (h->socks[i].family == family && h->socks[i].proto == proto)
			(*out)[k++] = h->socks[i];
	*n = k;
	return 0;
}

static void test_explain(void)
{
	struct fake_host fh = { .nsocks = 1 };
	struct hostinfo h = { fake_link, fake_owners, fake_sysctl, fake_socks, &fh };
	struct report_explainer x = { .host = &h, .reason_no_socket = NO_SOCKET,
				      .location = fake_location };
	const struct finding *f;
	struct snap a;
	struct report r;
	struct report_meta m = meta(10);

	/* the tproxy client: connected to the original destination, the reply comes from elsewhere */
	fh.socks[0] = (struct pwhy_sock){ .family = 2, .proto = 17, .sport = 40000, .dport = 53,
					  .state = 1, .owner_pid = 42 };
	strcpy(fh.socks[0].owner_comm, "client");
	v4(fh.socks[0].saddr, "10.1.0.1");
	v4(fh.socks[0].daddr, "198.51.100.53");

	snap_init(&a);
	add_reason(&a, NO_SOCKET, 12);
	add_flow4(&a, 7, NO_SOCKET, "127.0.0.1", 5000, "127.0.0.1", 9, 8);
	add_flow4(&a, 7, NO_SOCKET, "127.0.0.1", 5001, "127.0.0.1", 9, 3);
	add_flow4(&a, 7, NO_SOCKET, "10.1.0.1", 15353, "10.1.0.1", 40000, 1)->v.dif = 2;
	add_flow4(&a, 7, NETFILTER_DROP, "10.1.0.1", 1, "10.1.0.2", 2, 50);	/* not NO_SOCKET */
	add_flow4(&a, 7, NO_SOCKET, "10.1.0.1", 1, "10.1.0.2", 3, 50)->v.sampled = 0;

	/* the busiest two first */
	CHECK(report_explain_new(&x, &a.s, 2, 1.0) == 2);
	CHECK(report_explained_get(&x, &a.flows[0].k) != NULL);
	CHECK(report_explained_get(&x, &a.flows[1].k) != NULL);
	CHECK(report_explained_get(&x, &a.flows[2].k) == NULL);
	/* then the rest; nothing is explained twice, unsampled and other reasons never */
	CHECK(report_explain_new(&x, &a.s, 10, 2.0) == 1);
	CHECK(report_explain_new(&x, &a.s, 10, 3.0) == 0);
	CHECK(fh.dumps == 3 * 2);		/* one v4 and one v6 dump per explanation */
	CHECK(report_explained_get(&x, &a.flows[3].k) == NULL);
	CHECK(report_explained_get(&x, &a.flows[4].k) == NULL);

	f = report_explained_get(&x, &a.flows[0].k);
	CHECK(f && f->kind == FINDING_NO_SK);
	CHECK(f && strstr(f->summary, "at __udp4_lib_rcv+0x4bc: no socket on 127.0.0.1:9/udp"));
	f = report_explained_get(&x, &a.flows[2].k);
	CHECK(f && !strcmp(finding_get(f, "nearest_miss"), "peer"));
	CHECK(f && !strcmp(finding_get(f, "socket_peer"), "198.51.100.53:53"));
	CHECK(f && !strcmp(finding_get(f, "dif"), "2"));

	/* in the report: the two closed-port flows share one finding line */
	CHECK(report_build(&a.s, &m, &names, &x, &r) == 0);
	CHECK(r.nfindings == 2);
	CHECK(r.findings[0].flows == 2 && r.findings[0].drops == 11);
	CHECK(r.findings[1].flows == 1 && r.findings[1].drops == 1);
	CHECK(r.findings[1].f->kind == FINDING_NO_SK);
	report_free(&r);
	report_explainer_free(&x);
}

/* The routing as the fake knows it: one route to 10.9.0.9, only through ifindex 3 (an `oif`
 * rule); any other oif gets EHOSTUNREACH. */
static int fake_route_calls;
static int fake_route(void *ctx, __u32 ns, const struct route_query *q, int *oif)
{
	fake_route_calls++;
	if (q->oif == 3) {
		*oif = 3;
		return 0;
	}
	return -EHOSTUNREACH;
}

static int open_route(void *ctx, __u32 ns, const struct route_query *q, int *oif)
{
	fake_route_calls++;
	*oif = 2;
	return 0;
}

static void test_explain_oif(void)
{
	struct fake_host fh = { 0 };
	struct hostinfo h = { fake_link, fake_owners, fake_sysctl, fake_socks, &fh };
	struct report_explainer x = { .host = &h, .reason_no_socket = NO_SOCKET,
				      .location = fake_location, .route = fake_route };
	struct report_flow_row *lost, *plain, *bound, *fwd;
	const struct finding *f;
	struct snap a;
	struct report r;
	struct report_meta m = meta(1);

	snap_init(&a);
	add_reason(&a, NETFILTER_DROP, 17);
	/* sent through ifindex 3, socket unbound, mark 2: the reroute finds nothing */
	lost = add_flow4(&a, 7, NETFILTER_DROP, "10.9.1.1", 4000, "10.9.0.9", 9999, 7);
	lost->v.local_out = 1; lost->v.route_ifindex = 3; lost->v.mark = 2;
	/* a socket bound to the device the route took: nothing was lost */
	bound = add_flow4(&a, 7, NETFILTER_DROP, "10.9.1.1", 4001, "10.9.0.9", 9999, 9);
	bound->v.local_out = 1; bound->v.route_ifindex = 3; bound->v.sk_bound_dev_if = 3;
	/* not sent by a local socket (forwarded): never asked */
	fwd = add_flow4(&a, 7, NETFILTER_DROP, "10.9.1.1", 4002, "10.9.0.9", 9999, 1);
	fwd->v.route_ifindex = 3;

	fake_route_calls = 0;
	CHECK(report_explain_new(&x, &a.s, 10, 1.0) == 1);
	CHECK(fake_route_calls == 2);		/* the reroute's keys, then the sender's oif */
	f = report_explained_get(&x, &lost->k);
	CHECK(f && f->kind == FINDING_OIF_CHANGE);
	CHECK(f && strstr(f->summary, "mark 0x2 and oif 0") && strstr(f->summary, "finds no route"));
	CHECK(f && !strcmp(finding_get(f, "reroute_mark"), "2"));
	CHECK(f && !strcmp(finding_get(f, "reroute_err"), "-113"));
	CHECK(report_explained_get(&x, &bound->k) == NULL);
	CHECK(report_explained_get(&x, &fwd->k) == NULL);
	/* asked once: a second pass costs nothing */
	CHECK(report_explain_new(&x, &a.s, 10, 2.0) == 0);
	CHECK(fake_route_calls == 2);
	/* listed although only the busiest flow (bound, 9 drops) is in the top 1 */
	CHECK(report_build(&a.s, &m, &names, &x, &r) == 0);
	CHECK(r.nflows == 1 && r.nfindings == 1 && r.findings[0].drops == 7);
	report_free(&r);
	report_explainer_free(&x);

	/* healthy: a plain DROP rule, the reroute's keys route fine → no finding, remembered */
	plain = lost;
	memset(&x, 0, sizeof(x));
	x.host = &h; x.reason_no_socket = NO_SOCKET; x.route = open_route;
	fake_route_calls = 0;
	CHECK(report_explain_new(&x, &a.s, 10, 1.0) == 0);
	CHECK(fake_route_calls == 1);
	CHECK(report_explained_get(&x, &plain->k) == NULL);
	CHECK(report_explain_new(&x, &a.s, 10, 2.0) == 0 && fake_route_calls == 1);
	report_explainer_free(&x);
}

static void test_explain_cache_ring(void)
{
	struct fake_host fh = { 0 };
	struct hostinfo h = { fake_link, fake_owners, fake_sysctl, fake_socks, &fh };
	struct report_explainer x = { .host = &h, .reason_no_socket = NO_SOCKET };
	struct report_snapshot s = { 0 };
	size_t n = REPORT_EXPLAIN_CACHE + 10;

	s.flows = calloc(n, sizeof(*s.flows));
	s.nflows = n;
	for (size_t i = 0; i < n; i++) {
		struct report_flow_row *f = &s.flows[i];

		f->k.reason = NO_SOCKET;
		f->k.family = 2;
		f->k.l4proto = 17;
		f->k.sport = 1000 + i;
		f->k.dport = 9;
		f->v.packets = n - i;		/* flow 0 is the busiest */
		f->v.sampled = 1;
	}
	CHECK(report_explain_new(&x, &s, (int)n, 0) == (int)n);
	CHECK(x.n == REPORT_EXPLAIN_CACHE);
	/* the oldest made room for the newest */
	CHECK(report_explained_get(&x, &s.flows[0].k) == NULL);
	CHECK(report_explained_get(&x, &s.flows[n - 1].k) != NULL);
	report_explainer_free(&x);
	free(s.flows);
}

/* ------------------------------------------------------------------------------ render */

static char *render(const struct report *r, enum report_format fmt)
{
	static char buf[65536];
	FILE *m = fmemopen(buf, sizeof(buf), "w");

	report_render(r, fmt, m);
	fclose(m);
	return buf;
}

static void test_render(void)
{
	struct fake_host fh = { 0 };
	struct hostinfo h = { fake_link, fake_owners, fake_sysctl, fake_socks, &fh };
	struct report_explainer x = { .host = &h, .reason_no_socket = NO_SOCKET,
				      .location = fake_location };
	struct report_meta m = meta(10);
	struct snap a;
	struct report r;
	char *s;

	snap_init(&a);
	add_reason(&a, NO_SOCKET, 40);
	add_reason(&a, NETFILTER_DROP, 2);
	add_loc(&a, 0x14bc, NO_SOCKET, 40);
	add_loc(&a, 0x2010, NETFILTER_DROP, 2);
	add_dev(&a, 4026531840u, 1, "lo", NO_SOCKET, 40);
	add_dev(&a, 4026531840u, 3, "we|ird\"dev", NETFILTER_DROP, 2);
	add_flow4(&a, 4026531840u, NO_SOCKET, "127.0.0.1", 40000, "127.0.0.1", 9, 40);
	add_flow4(&a, 4026531840u, NETFILTER_DROP, "10.0.0.1", 1, "10.0.0.2", 80, 2);
	a.s.flows_evicted = 7;
	a.s.totals.reason_full = 1;
	m.netns_filter = 4026531840u;
	CHECK(report_explain_new(&x, &a.s, 10, 0) == 1);
	CHECK(report_build(&a.s, &m, &names, &x, &r) == 0);

	s = render(&r, REPORT_TEXT);
	CHECK(strstr(s, "pwhy drop report (total) 2023-11-14T22:13:20Z .. 2023-11-14T22:13:30Z (10.0 s), netns 4026531840, host box, kernel 6.18.0\n"));
	CHECK(strstr(s, "drops: 42 (4.1 KiB, 4.2/s)\n"));
	CHECK(strstr(s, "\nNO_SOCKET                                40   95.2%     3.9 KiB\n"));
	CHECK(strstr(s, "\n__udp4_lib_rcv+0x4bc                         NO_SOCKET                            40\n"));
	CHECK(strstr(s, "\n4026531840  lo:1                           40  NO_SOCKET 40\n"));
	CHECK(strstr(s, "127.0.0.1:40000->127.0.0.1:9(udp)"));
	CHECK(strstr(s, "FINDING no-sk (40 drops, 1 flow): dropped NO_SOCKET at __udp4_lib_rcv+0x4bc: no socket on 127.0.0.1:9/udp\n"));
	CHECK(strstr(s, "  hint: no socket listens on 127.0.0.1:9/udp"));
	CHECK(strstr(s, "7 flows evicted"));
	CHECK(strstr(s, "(table full): 1 reason"));

	s = render(&r, REPORT_JSON);
	CHECK(json_valid(s));
	CHECK(strchr(s, '\n') == s + strlen(s) - 1);	/* one line per report */
	CHECK(strstr(s, "{\"report\":\"drops\",\"kind\":\"total\",\"start\":\"2023-11-14T22:13:20Z\","));
	CHECK(strstr(s, "\"netns_filter\":4026531840,\"top\":10,\"drops\":42,\"bytes\":4200,"));
	CHECK(strstr(s, "\"by_reason\":[{\"reason\":\"NO_SOCKET\",\"value\":3,\"drops\":40,\"bytes\":4000},"));
	CHECK(strstr(s, "{\"location\":\"__udp4_lib_rcv+0x4bc\",\"function\":\"__udp4_lib_rcv\",\"reason\":\"NO_SOCKET\",\"drops\":40,"));
	CHECK(strstr(s, "\"device\":\"we|ird\\\"dev:3\""));
	CHECK(strstr(s, "\"reasons\":{\"NO_SOCKET\":40}"));
	CHECK(strstr(s, "\"finding\":{\"finding\":\"no-sk\",\"tuple\":\"127.0.0.1:40000->127.0.0.1:9(udp)\",\"netns\":4026531840,"));
	CHECK(strstr(s, "\"findings\":[{\"drops\":40,\"flows\":1,\"explanation\":{\"finding\":\"no-sk\","));
	CHECK(strstr(s, "\"flows_evicted\":7,"));

	s = render(&r, REPORT_MARKDOWN);
	CHECK(strstr(s, "### pwhy drop report (total): 42 drops\n"));
	CHECK(strstr(s, "| 2023-11-14T22:13:20Z → 2023-11-14T22:13:30Z | 10.0 | netns 4026531840 | box | 6.18.0 | 42 | 4.1 KiB |\n"));
	CHECK(strstr(s, "| reason | drops | share | bytes |\n|---|---:|---:|---:|\n| NO_SOCKET | 40 | 95.2% | 3.9 KiB |\n"));
	CHECK(strstr(s, "| `__udp4_lib_rcv+0x4bc` | NO_SOCKET | 40 |\n"));
	CHECK(strstr(s, "| 4026531840 | we\\|ird\"dev:3 | 2 | NETFILTER_DROP 2 |\n"));
	CHECK(strstr(s, "| 40 | NO_SOCKET | 4026531840 | lo:1 | `127.0.0.1:40000->127.0.0.1:9(udp)` | `__udp4_lib_rcv+0x4bc` |\n"));
	CHECK(strstr(s, "- **no-sk** (40 drops, 1 flow): dropped NO_SOCKET"));
	CHECK(strstr(s, "  - facts: `tuple=127.0.0.1:40000->127.0.0.1:9(udp)`"));
	report_free(&r);

	/* an empty window still says so, in every format */
	snap_init(&a);
	m.kind = REPORT_INTERVAL;
	m.netns_filter = 0;
	CHECK(report_build(&a.s, &m, &names, NULL, &r) == 0);
	s = render(&r, REPORT_TEXT);
	CHECK(strstr(s, "pwhy drop report (interval)") && strstr(s, "all netns") &&
	      strstr(s, "drops: 0 (0 B, 0.0/s)"));
	s = render(&r, REPORT_JSON);
	CHECK(json_valid(s));
	CHECK(strstr(s, "\"kind\":\"interval\"") && strstr(s, "\"netns_filter\":null") &&
	      strstr(s, "\"by_reason\":[],") && strstr(s, "\"findings\":[]"));
	s = render(&r, REPORT_MARKDOWN);
	CHECK(strstr(s, "### pwhy drop report (interval): 0 drops\n") && !strstr(s, "#### By reason"));
	report_free(&r);
	report_explainer_free(&x);
}

static void test_bytes(void)
{
	char b[32];

	CHECK_STR(report_fmt_bytes(0, b, sizeof(b)), "0 B");
	CHECK_STR(report_fmt_bytes(1023, b, sizeof(b)), "1023 B");
	CHECK_STR(report_fmt_bytes(1536, b, sizeof(b)), "1.5 KiB");
	CHECK_STR(report_fmt_bytes(5ull << 30, b, sizeof(b)), "5.0 GiB");
}

int main(void)
{
	RUN_TEST(test_window);
	RUN_TEST(test_build_ranking);
	RUN_TEST(test_explain);
	RUN_TEST(test_explain_oif);
	RUN_TEST(test_explain_cache_ring);
	RUN_TEST(test_render);
	RUN_TEST(test_bytes);
	TEST_EXIT();
}
