// SPDX-License-Identifier: GPL-2.0
/* pwhy fix vrf-lookup, user space: the scope (addresses, ports), the target device, the
 * slaves of the VRF that carry the program, the local addresses of the main routing domain
 * (the program redirects only to those), and the optional routes back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pwhy/fix.h"
#include "fix_vrf.skel.h"

enum { M_LOCAL4, M_LOCAL6 };

static int split_meta(const char *meta, const char *key, char out[][64])
{
	char buf[FIX_META_LEN];

	return fix_split(fix_meta_get(meta, key, buf, sizeof(buf)), out, FIX_LIST_MAX);
}

static int parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v > 0 && v < 65536 ? (int)v : -1;
}

static int vrf_check(const struct fix_opts *o, const struct fix_net *n, char *meta, size_t len)
{
	char list[FIX_LIST_MAX][64], txt[64];
	const struct fix_link *vrf, *target;
	size_t off = 0;
	int cnt;

	if (o->devs || o->src) {
		fprintf(stderr, "pwhy fix: --dev and --src are options of pktinfo-oif\n");
		return -EINVAL;
	}
	if (!o->vrf) {
		fprintf(stderr, "pwhy fix: vrf-lookup needs --vrf DEV: the VRF whose slaves get the program\n");
		return -EINVAL;
	}
	if (!o->addrs && !o->ports) {
		fprintf(stderr, "pwhy fix: vrf-lookup refuses to apply without --addr or --port: it would change the lookup for every unbound socket of the namespace\n");
		return -EINVAL;
	}
	vrf = fix_net_link_by_name(n, o->vrf);
	if (!vrf || strcmp(vrf->kind, "vrf")) {
		fprintf(stderr, "pwhy fix: %s '%s' in that network namespace\n",
			vrf ? "not a VRF device:" : "no such VRF", o->vrf);
		return -EINVAL;
	}
	target = fix_net_link_by_name(n, o->target ? o->target : "lo");
	if (!target) {
		fprintf(stderr, "pwhy fix: no such interface '%s' (--target)\n", o->target);
		return -EINVAL;
	}
	if (target->master || !strcmp(target->kind, "vrf") || target->mac_len != 6) {
		fprintf(stderr, "pwhy fix: --target %s must be an Ethernet-like device (lo, dummy) outside every VRF\n",
			target->name);
		return -EINVAL;
	}
	off += snprintf(meta + off, len - off, "vrf=%s\ntarget=%s\ntarget_ifindex=%d\ntarget_mac=",
			vrf->name, target->name, target->ifindex);
	for (int i = 0; i < 6; i++)
		off += snprintf(meta + off, len - off, "%s%02x", i ? ":" : "", target->mac[i]);
	off += snprintf(meta + off, len - off, "\naddrs=");
	cnt = fix_split(o->addrs, list, FIX_LIST_MAX);
	if (cnt < 0 || (o->addrs && !cnt)) {
		fprintf(stderr, "pwhy fix: bad --addr '%s': A[,A] expected\n", o->addrs);
		return -EINVAL;
	}
	for (int i = 0; i < cnt; i++) {
		struct fix_prefix p;

		if (fix_parse_prefix(list[i], &p, true)) {
			fprintf(stderr, "pwhy fix: bad --addr '%s': an IPv4 or IPv6 address expected\n",
				list[i]);
			return -EINVAL;
		}
		inet_ntop(p.family, p.addr, txt, sizeof(txt));
		off += snprintf(meta + off, len - off, "%s%s", i ? "," : "", txt);
	}
	off += snprintf(meta + off, len - off, "\nports=");
	cnt = fix_split(o->ports, list, FIX_LIST_MAX);
	if (cnt < 0 || (o->ports && !cnt)) {
		fprintf(stderr, "pwhy fix: bad --port '%s': P[,P] expected\n", o->ports);
		return -EINVAL;
	}
	for (int i = 0; i < cnt; i++) {
		if (parse_port(list[i]) < 0) {
			fprintf(stderr, "pwhy fix: bad --port '%s': 1-65535 expected\n", list[i]);
			return -EINVAL;
		}
		off += snprintf(meta + off, len - off, "%s%d", i ? "," : "", parse_port(list[i]));
	}
	off += snprintf(meta + off, len - off, "\n");
	return off < len ? 0 : -E2BIG;
}

static int vrf_load(struct fix_state *st, const char *meta)
{
	char addrs[FIX_LIST_MAX][64], ports[FIX_LIST_MAX][64], buf[64], path[320];
	__u32 k4[FIX_LIST_MAX];
	struct fix_in6 k6[FIX_LIST_MAX];
	__u16 kp[FIX_LIST_MAX];
	__u8 ones[FIX_LIST_MAX];
	struct fix_vrf_bpf *skel;
	struct bpf_map *map;
	unsigned mac[6];
	int na, np, n4 = 0, n6 = 0, r;

	na = split_meta(meta, "addrs", addrs);
	np = split_meta(meta, "ports", ports);
	if (na < 0 || np < 0 || (!na && !np))
		return -EINVAL;
	if (sscanf(fix_meta_get(meta, "target_mac", buf, sizeof(buf)), "%x:%x:%x:%x:%x:%x",
		   &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6)
		return -EINVAL;
	skel = fix_vrf_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->cfg_target_ifindex = atoi(fix_meta_get(meta, "target_ifindex", buf, sizeof(buf)));
	for (int i = 0; i < 6; i++)
		skel->rodata->cfg_target_mac[i] = mac[i];
	skel->rodata->cfg_have_addrs = na > 0;
	skel->rodata->cfg_have_ports = np > 0;
	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", st->dir, bpf_map__name(map));
		bpf_map__set_pin_path(map, path);
	}
	r = fix_vrf_bpf__load(skel);
	if (r) {
		fix_vrf_bpf__destroy(skel);
		return r;
	}
	memset(ones, 1, sizeof(ones));
	for (int i = 0; i < na; i++) {
		struct fix_prefix p;

		if (fix_parse_prefix(addrs[i], &p, true))
			continue;
		if (p.family == AF_INET)
			memcpy(&k4[n4++], p.addr, 4);
		else
			memcpy(k6[n6++].a, p.addr, 16);
	}
	for (int i = 0; i < np; i++)
		kp[i] = parse_port(ports[i]);
	fix_map_replace(bpf_map__fd(skel->maps.addr4), k4, ones, n4, sizeof(k4[0]), 1);
	fix_map_replace(bpf_map__fd(skel->maps.addr6), k6, ones, n6, sizeof(k6[0]), 1);
	fix_map_replace(bpf_map__fd(skel->maps.ports), kp, ones, np, sizeof(kp[0]), 1);
	st->skel = skel;
	st->prog_fd = bpf_program__fd(skel->progs.pwhy_fix_vrf);
	return 0;
}

static void vrf_unload(struct fix_state *st)
{
	fix_vrf_bpf__destroy(st->skel);
	st->skel = NULL;
}

static bool slave_of(const struct fix_link *l, int vrf_ifindex)
{
	return vrf_ifindex && l->master == vrf_ifindex && l->mac_len == 6 &&
	       l->type == ARPHRD_ETHER;
}

/* local routes of the main routing domain: tables local and main */
static bool main_local(const struct fix_route *rt)
{
	return rt->type == RTN_LOCAL && (rt->table == RT_TABLE_LOCAL || rt->table == RT_TABLE_MAIN);
}

static int vrf_sync(struct fix_state *st, const char *meta)
{
	char name[64], buf[64];
	struct fix_pfx4_key *k4 = NULL;
	struct fix_pfx6_key *k6 = NULL;
	__u8 *ones = NULL;
	const struct fix_link *vrf, *target;
	bool *want = NULL;
	int n4 = 0, n6 = 0, r;
	struct fix_net n;

	st->note[0] = '\0';
	fix_meta_get(meta, "vrf", name, sizeof(name));
	r = fix_net_dump(&n, FIX_DUMP_LINKS | FIX_DUMP_ROUTES);
	if (r)
		return r;
	want = calloc(n.nlinks + 1, sizeof(*want));
	k4 = calloc(n.nroutes + 1, sizeof(*k4));
	k6 = calloc(n.nroutes + 1, sizeof(*k6));
	ones = malloc(n.nroutes + 1);
	if (!want || !k4 || !k6 || !ones) {
		r = -ENOMEM;
		goto out;
	}
	memset(ones, 1, n.nroutes + 1);
	vrf = fix_net_link_by_name(&n, name);
	if (!vrf || strcmp(vrf->kind, "vrf"))
		snprintf(st->note, sizeof(st->note), "the VRF %s is gone: attached nowhere", name);
	target = fix_net_link(&n, atoi(fix_meta_get(meta, "target_ifindex", buf, sizeof(buf))));
	if (!target || strcmp(target->name, fix_meta_get(meta, "target", buf, sizeof(buf))))
		snprintf(st->note, sizeof(st->note),
			 "the target device %s is gone: redirected packets are lost; apply again", buf);
	for (int i = 0; i < n.nlinks; i++)
		want[i] = vrf && !strcmp(vrf->kind, "vrf") && slave_of(&n.links[i], vrf->ifindex);
	for (int i = 0; i < n.nroutes; i++) {
		const struct fix_route *rt = &n.routes[i];

		if (!main_local(rt))
			continue;
		if (rt->family == AF_INET) {
			k4[n4].prefixlen = rt->dst_len;
			memcpy(&k4[n4++].addr, rt->dst, 4);
		} else {
			k6[n6].prefixlen = rt->dst_len;
			memcpy(k6[n6++].addr, rt->dst, 16);
		}
	}
	r = fix_map_replace(st->fds[M_LOCAL4], k4, ones, n4, sizeof(*k4), 1);
	r = fix_map_replace(st->fds[M_LOCAL6], k6, ones, n6, sizeof(*k6), 1) ?: r;
	if (r && !st->note[0])
		snprintf(st->note, sizeof(st->note), "cannot update the maps: %s", strerror(-r));
	r = fix_sync_attach(st, &n, want) ?: r;
out:
	free(want);
	free(k4);
	free(k6);
	free(ones);
	fix_net_free(&n);
	return r;
}

static long read_sysctl(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	return strtol(buf, NULL, 10);
}

static bool prefix_covers(const __u8 *pfx, int plen, const __u8 *addr, int alen)
{
	if (plen > alen)
		return false;
	for (int bit = 0; bit < plen; bit++) {
		__u8 m = 0x80 >> (bit % 8);

		if ((pfx[bit / 8] & m) != (addr[bit / 8] & m))
			return false;
	}
	return true;
}

/* Notes on what else the fix depends on, and the routes back when asked to install them. */
static int vrf_after(struct fix_state *st, const struct fix_opts *o, char *meta, size_t len)
{
	char name[64], tname[64], addrs[FIX_LIST_MAX][64], path[128], txt[64];
	size_t off = strlen(meta);
	const struct fix_link *vrf;
	long rp_all, rp_t;
	struct fix_net n;
	int na, r;

	r = fix_net_dump(&n, FIX_DUMP_LINKS | FIX_DUMP_ADDRS | FIX_DUMP_ROUTES);
	if (r)
		return r;
	fix_meta_get(meta, "target", tname, sizeof(tname));
	rp_all = read_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", tname);
	rp_t = read_sysctl(path);
	if (rp_all == 1 || rp_t == 1)
		fprintf(stderr, "pwhy fix: note: rp_filter is strict (1) on %s: redirected IPv4 packets will be dropped; set net.ipv4.conf.{all,%s}.rp_filter to 2 (loose) or 0\n",
			rp_all == 1 ? "all" : tname, tname);

	/* the addresses in scope must be local in the main routing domain to be redirected */
	na = split_meta(meta, "addrs", addrs);
	for (int i = 0; i < na; i++) {
		struct fix_prefix p;
		bool local = false;

		if (fix_parse_prefix(addrs[i], &p, true))
			continue;
		for (int j = 0; j < n.nroutes && !local; j++)
			local = main_local(&n.routes[j]) && n.routes[j].family == p.family &&
				prefix_covers(n.routes[j].dst, n.routes[j].dst_len, p.addr, p.len);
		if (!local)
			fprintf(stderr, "pwhy fix: note: %s is not a local address of the main routing domain: packets to it stay with the VRF (e.g. `ip route add local %s dev lo table local`)\n",
				addrs[i], addrs[i]);
	}

	/* replies from unbound sockets are routed in the main table: they need a way back */
	fix_meta_get(meta, "vrf", name, sizeof(name));
	vrf = fix_net_link_by_name(&n, name);
	off += snprintf(meta + off, len - off, "route_back=");
	for (int i = 0; vrf && i < n.naddrs; i++) {
		const struct fix_addr *a = &n.addrs[i];
		const struct fix_link *l = fix_net_link(&n, a->ifindex);
		int alen = a->family == AF_INET ? 32 : 128;
		struct fix_prefix p = { .family = a->family, .len = a->prefixlen };
		bool covered = false;

		if (!l || !slave_of(l, vrf->ifindex) || a->scope != RT_SCOPE_UNIVERSE ||
		    a->prefixlen >= alen)
			continue;
		memcpy(p.addr, a->addr, 16);
		for (int bit = p.len; bit < alen; bit++)
			p.addr[bit / 8] &= ~(0x80 >> (bit % 8));
		for (int j = 0; j < n.nroutes && !covered; j++) {
			const struct fix_route *rt = &n.routes[j];

			covered = rt->table == RT_TABLE_MAIN && rt->type == RTN_UNICAST &&
				  rt->family == p.family && rt->dst_len <= p.len &&
				  prefix_covers(rt->dst, rt->dst_len, p.addr, alen);
		}
		inet_ntop(p.family, p.addr, txt, sizeof(txt));
		if (covered)
			continue;
		if (!o->route_back) {
			fprintf(stderr, "pwhy fix: note: the main table has no route back to %s/%d (%s): replies from unbound sockets cannot leave; add --route-back or `ip route add %s/%d dev %s`\n",
				txt, p.len, l->name, txt, p.len, l->name);
			continue;
		}
		r = fix_nl_route(true, p.family, p.addr, p.len, l->ifindex);
		if (r && r != -EEXIST) {
			fprintf(stderr, "pwhy fix: cannot install the route back to %s/%d dev %s: %s\n",
				txt, p.len, l->name, strerror(-r));
			continue;
		}
		if (!r) {
			printf("pwhy fix: installed the route back %s/%d dev %s (main table); remove takes it away\n",
			       txt, p.len, l->name);
			off += snprintf(meta + off, len - off, "%s/%d@%s;", txt, p.len, l->name);
		}
	}
	off += snprintf(meta + off, len - off, "\n");
	fix_net_free(&n);
	return off < len ? 0 : -E2BIG;
}

static void vrf_cleanup(struct fix_state *st, const char *meta)
{
	char list[FIX_META_LEN], *save = NULL, *tok;

	fix_meta_get(meta, "route_back", list, sizeof(list));
	for (tok = strtok_r(list, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char *at = strchr(tok, '@');
		struct fix_prefix p;
		unsigned ifx;

		if (!at)
			continue;
		*at++ = '\0';
		ifx = if_nametoindex(at);
		if (ifx && !fix_parse_prefix(tok, &p, false))
			fix_nl_route(false, p.family, p.addr, p.len, ifx);
	}
}

const struct fix_kind_ops fix_vrf_ops = {
	.prog_name = "pwhy_fix_vrf",
	.hook = FIX_HOOK_INGRESS,
	.maps = { "local4", "local6" },
	.check = vrf_check,
	.load = vrf_load,
	.unload = vrf_unload,
	.sync = vrf_sync,
	.after = vrf_after,
	.cleanup = vrf_cleanup,
	.counter_names = {
		[FIX_CNT_SEEN] = "packets seen",
		[FIX_CNT_REDIR4] = "IPv4 redirected",
		[FIX_CNT_REDIR6] = "IPv6 redirected",
		[FIX_CNT_SKIP_ROUTE] = "left alone (in scope, not local in the main domain)",
		[FIX_CNT_ICMP] = "ICMP errors redirected",
	},
};
