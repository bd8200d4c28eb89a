// SPDX-License-Identifier: GPL-2.0
/* pwhy fix pktinfo-oif, user space: which interfaces carry the program, which source address
 * belongs to which of them, the routes of each, and the managed IPv6 neighbours of their
 * gateways. The same sync runs at apply and in the keeper after every change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pwhy/fix.h"
#include "fix_oif.skel.h"

enum { M_SRC4, M_SRC6, M_RT4, M_RT6, M_NEIGH, M_SCOPE4, M_SCOPE6 };

#define RT_MAX 16384

struct neigh_key {
	__u32 ifindex;
	__u8 gw[16];
};

static int split_meta(const char *meta, const char *key, char out[][64])
{
	char buf[FIX_META_LEN];

	return fix_split(fix_meta_get(meta, key, buf, sizeof(buf)), out, FIX_LIST_MAX);
}

static int oif_check(const struct fix_opts *o, const struct fix_net *n, char *meta, size_t len)
{
	char devs[FIX_LIST_MAX][64], src[FIX_LIST_MAX][64], txt[64];
	size_t off = 0;
	int nd, ns;

	if (o->vrf || o->addrs || o->ports || o->target || o->route_back) {
		fprintf(stderr, "pwhy fix: --vrf, --addr, --port, --target and --route-back are options of vrf-lookup\n");
		return -EINVAL;
	}
	nd = fix_split(o->devs, devs, FIX_LIST_MAX);
	if (nd < 0 || (o->devs && !nd)) {
		fprintf(stderr, "pwhy fix: bad --dev '%s': IF[,IF] expected\n", o->devs);
		return -EINVAL;
	}
	ns = fix_split(o->src, src, FIX_LIST_MAX);
	if (ns < 0 || (o->src && !ns)) {
		fprintf(stderr, "pwhy fix: bad --src '%s': PREFIX[,PREFIX] expected\n", o->src);
		return -EINVAL;
	}
	off += snprintf(meta + off, len - off, "devs=");
	for (int i = 0; i < nd; i++) {
		const struct fix_link *l = fix_net_link_by_name(n, devs[i]);

		if (!l) {
			fprintf(stderr, "pwhy fix: no such interface '%s' in that network namespace\n",
				devs[i]);
			return -EINVAL;
		}
		if (l->flags & IFF_LOOPBACK) {
			fprintf(stderr, "pwhy fix: %s is a loopback device: pktinfo-oif acts on interfaces that send\n",
				devs[i]);
			return -EINVAL;
		}
		off += snprintf(meta + off, len - off, "%s%s", i ? "," : "", devs[i]);
	}
	off += snprintf(meta + off, len - off, "\nsrc=");
	for (int i = 0; i < ns; i++) {
		struct fix_prefix p;

		if (fix_parse_prefix(src[i], &p, false)) {
			fprintf(stderr, "pwhy fix: bad --src '%s': an IPv4 or IPv6 prefix expected\n",
				src[i]);
			return -EINVAL;
		}
		inet_ntop(p.family, p.addr, txt, sizeof(txt));
		off += snprintf(meta + off, len - off, "%s%s/%d", i ? "," : "", txt, p.len);
	}
	off += snprintf(meta + off, len - off, "\n");
	return off < len ? 0 : -E2BIG;
}

static int oif_load(struct fix_state *st, const char *meta)
{
	char src[FIX_LIST_MAX][64], path[320];
	struct fix_pfx4_key k4s[FIX_LIST_MAX];
	struct fix_pfx6_key k6s[FIX_LIST_MAX];
	__u8 ones[FIX_LIST_MAX];
	struct fix_oif_bpf *skel;
	struct bpf_map *map;
	int ns, n4 = 0, n6 = 0, r;

	ns = split_meta(meta, "src", src);
	if (ns < 0)
		return -EINVAL;
	skel = fix_oif_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->cfg_src_scoped = ns > 0;
	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", st->dir, bpf_map__name(map));
		bpf_map__set_pin_path(map, path);
	}
	r = fix_oif_bpf__load(skel);
	if (r) {
		fix_oif_bpf__destroy(skel);
		return r;
	}
	/* the IPv6 gateways whose managed neighbour entries we installed */
	r = fix_pinned_map(st->dir, "neigh", BPF_MAP_TYPE_HASH, sizeof(struct neigh_key), 4,
			   1024, 0);
	if (r < 0) {
		fix_oif_bpf__destroy(skel);
		return r;
	}
	close(r);
	for (int i = 0; i < ns; i++) {
		struct fix_prefix p;

		if (fix_parse_prefix(src[i], &p, false))
			continue;
		if (p.family == AF_INET) {
			k4s[n4].prefixlen = p.len;
			memcpy(&k4s[n4++].addr, p.addr, 4);
		} else {
			k6s[n6].prefixlen = p.len;
			memcpy(k6s[n6++].addr, p.addr, 16);
		}
	}
	memset(ones, 1, sizeof(ones));
	fix_map_replace(bpf_map__fd(skel->maps.scope4), k4s, ones, n4, sizeof(k4s[0]), 1);
	fix_map_replace(bpf_map__fd(skel->maps.scope6), k6s, ones, n6, sizeof(k6s[0]), 1);
	st->skel = skel;
	st->prog_fd = bpf_program__fd(skel->progs.pwhy_fix_oif);
	return 0;
}

static void oif_unload(struct fix_state *st)
{
	fix_oif_bpf__destroy(st->skel);
	st->skel = NULL;
}

/* ---- key/value lists with "lowest metric wins" per key ---- */

struct kv {
	char *buf;
	int n, cap;
	size_t ks, vs, metric_off;	/* metric_off: where the metric sits in the value */
};

static int kv_add(struct kv *l, const void *k, const void *v)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 64;
		char *p = realloc(l->buf, cap * (l->ks + l->vs));

		if (!p)
			return -ENOMEM;
		l->buf = p;
		l->cap = cap;
	}
	memcpy(l->buf + l->n * (l->ks + l->vs), k, l->ks);
	memcpy(l->buf + l->n * (l->ks + l->vs) + l->ks, v, l->vs);
	l->n++;
	return 0;
}

static const struct kv *cmp_list;
static int kv_cmp(const void *a, const void *b)
{
	int c = memcmp(a, b, cmp_list->ks);
	__u32 ma, mb;

	if (c || !cmp_list->metric_off)
		return c;
	memcpy(&ma, (const char *)a + cmp_list->ks + cmp_list->metric_off, 4);
	memcpy(&mb, (const char *)b + cmp_list->ks + cmp_list->metric_off, 4);
	return ma < mb ? -1 : ma > mb;
}

/* Sort, keep the first (lowest metric) entry of each key, write the map; keys and values are
 * split into two arrays for fix_map_replace. */
static int kv_write(struct kv *l, int fd)
{
	char *keys, *vals;
	int m = 0, r;

	cmp_list = l;
	if (l->n)
		qsort(l->buf, l->n, l->ks + l->vs, kv_cmp);
	keys = malloc(l->n * l->ks + 1);
	vals = malloc(l->n * l->vs + 1);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (int i = 0; i < l->n; i++) {
		const char *e = l->buf + i * (l->ks + l->vs);

		if (m && !memcmp(keys + (m - 1) * l->ks, e, l->ks))
			continue;
		memcpy(keys + m * l->ks, e, l->ks);
		memcpy(vals + m * l->vs, e + l->ks, l->vs);
		m++;
	}
	r = fix_map_replace(fd, keys, vals, m, l->ks, l->vs);
	free(keys);
	free(vals);
	return r;
}

/* ---- managed neighbours of the IPv6 gateways ---- */

static bool neigh_ours(__u16 state, __u32 ext)
{
	return (ext & NTF_EXT_MANAGED) && !(state & NUD_PERMANENT);
}

static void sync_neigh(struct fix_state *st, const struct neigh_key *want, int nwant)
{
	int fd = st->fds[M_NEIGH], nk;
	struct neigh_key *keys;
	__u32 one = 1, v;
	__u16 state;
	__u32 ext;

	for (int i = 0; i < nwant; i++) {
		int r = fix_nl_neigh_get(want[i].ifindex, want[i].gw, &state, &ext);
		bool recorded = !bpf_map_lookup_elem(fd, &want[i], &v);

		/* someone else's permanent or managed entry does the job: leave it alone */
		if (!r && !recorded && ((state & NUD_PERMANENT) || (ext & NTF_EXT_MANAGED)))
			continue;
		if (!r && recorded && neigh_ours(state, ext))
			continue;
		if (!fix_nl_neigh_managed(want[i].ifindex, want[i].gw))
			bpf_map_update_elem(fd, &want[i], &one, BPF_ANY);
	}
	/* ours that are no longer needed */
	keys = fix_map_keys(fd, sizeof(*keys), &nk);
	for (int i = 0; i < nk; i++) {
		bool keep = false;

		for (int j = 0; j < nwant && !keep; j++)
			keep = !memcmp(&want[j], &keys[i], sizeof(keys[i]));
		if (keep)
			continue;
		if (!fix_nl_neigh_get(keys[i].ifindex, keys[i].gw, &state, &ext) &&
		    neigh_ours(state, ext))
			fix_nl_neigh_del(keys[i].ifindex, keys[i].gw);
		bpf_map_delete_elem(fd, &keys[i]);
	}
	free(keys);
}

/* ---- the sync ---- */

static bool is_ll6(const __u8 *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static int oif_sync(struct fix_state *st, const char *meta)
{
	struct kv s4 = { .ks = 4, .vs = 4 }, s6 = { .ks = 16, .vs = 4 };
	struct kv r4 = { .ks = sizeof(struct fix_rt4_key), .vs = sizeof(struct fix_rt4_val),
			 .metric_off = offsetof(struct fix_rt4_val, metric) };
	struct kv r6 = { .ks = sizeof(struct fix_rt6_key), .vs = sizeof(struct fix_rt6_val),
			 .metric_off = offsetof(struct fix_rt6_val, metric) };
	char devs[FIX_LIST_MAX][64];
	struct neigh_key *nw = NULL;
	int nd, nnw = 0, r, i, j;
	bool *want = NULL, *has6 = NULL;
	struct fix_net n;

	st->note[0] = '\0';
	nd = split_meta(meta, "devs", devs);
	if (nd < 0)
		return -EINVAL;
	r = fix_net_dump(&n, FIX_DUMP_LINKS | FIX_DUMP_ADDRS | FIX_DUMP_ROUTES);
	if (r)
		return r;
	want = calloc(n.nlinks + 1, sizeof(*want));
	has6 = calloc(n.nlinks + 1, sizeof(*has6));
	nw = calloc(RT_MAX, sizeof(*nw));
	if (!want || !has6 || !nw) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n.nlinks; i++) {
		const struct fix_link *l = &n.links[i];

		if (!nd) {
			want[i] = (l->flags & IFF_UP) && !(l->flags & IFF_LOOPBACK) &&
				  strcmp(l->kind, "vrf");
			continue;
		}
		for (j = 0; j < nd; j++)
			if (!strcmp(devs[j], l->name))
				want[i] = true;
	}

	/* source address -> owner; an address on two interfaces in scope names no owner */
	for (i = 0; i < n.naddrs; i++) {
		const struct fix_addr *a = &n.addrs[i];
		struct kv *l = a->family == AF_INET ? &s4 : &s6;
		int li = -1, dup = 0;
		__u32 owner = a->ifindex;

		for (j = 0; j < n.nlinks; j++)
			if (n.links[j].ifindex == a->ifindex)
				li = j;
		if (li < 0 || !want[li])
			continue;
		if (a->family == AF_INET6 && (is_ll6(a->addr) || a->addr[0] == 0xff))
			continue;
		for (j = 0; j < n.naddrs; j++)
			if (j != i && n.addrs[j].family == a->family &&
			    n.addrs[j].ifindex != a->ifindex &&
			    !memcmp(n.addrs[j].addr, a->addr, a->family == AF_INET ? 4 : 16))
				dup = 1;
		if (dup)
			continue;
		if (a->family == AF_INET6)
			has6[li] = true;
		if (kv_add(l, a->addr, &owner))
			goto nomem;
	}

	/* routes of the interfaces in scope, every table */
	for (i = 0; i < n.nroutes; i++) {
		const struct fix_route *rt = &n.routes[i];
		int li = -1;

		for (j = 0; j < n.nlinks; j++)
			if (n.links[j].ifindex == rt->oif)
				li = j;
		if (li < 0 || !want[li] || rt->type != RTN_UNICAST)
			continue;
		if (rt->family == AF_INET) {
			struct fix_rt4_key k = { .prefixlen = 32 + rt->dst_len,
						 .ifindex = htonl(rt->oif) };
			struct fix_rt4_val v = { .metric = rt->metric };

			if (r4.n >= RT_MAX)
				continue;
			memcpy(&k.addr, rt->dst, 4);
			if (rt->has_gw)
				memcpy(&v.gw, rt->gw, 4);
			if (kv_add(&r4, &k, &v))
				goto nomem;
		} else {
			struct fix_rt6_key k = { .prefixlen = 32 + rt->dst_len,
						 .ifindex = htonl(rt->oif) };
			struct fix_rt6_val v = { .metric = rt->metric };

			if (r6.n >= RT_MAX)
				continue;
			memcpy(k.addr, rt->dst, 16);
			if (rt->has_gw)
				memcpy(v.gw, rt->gw, 16);
			if (kv_add(&r6, &k, &v))
				goto nomem;
			/* a gateway a redirected packet may be handed to: keep it resolved */
			if (rt->has_gw && has6[li] && nnw < RT_MAX) {
				struct neigh_key nk = { .ifindex = rt->oif };
				bool seen = false;

				memcpy(nk.gw, rt->gw, 16);
				for (j = 0; j < nnw && !seen; j++)
					seen = !memcmp(&nw[j], &nk, sizeof(nk));
				if (!seen)
					nw[nnw++] = nk;
			}
		}
	}
	if (r4.n >= RT_MAX || r6.n >= RT_MAX)
		snprintf(st->note, sizeof(st->note),
			 "more than %d routes on the interfaces in scope: only the first are used",
			 RT_MAX);

	r = kv_write(&s4, st->fds[M_SRC4]);
	r = kv_write(&s6, st->fds[M_SRC6]) ?: r;
	r = kv_write(&r4, st->fds[M_RT4]) ?: r;
	r = kv_write(&r6, st->fds[M_RT6]) ?: r;
	if (r && !st->note[0])
		snprintf(st->note, sizeof(st->note), "cannot update the maps: %s", strerror(-r));
	sync_neigh(st, nw, nnw);
	r = fix_sync_attach(st, &n, want) ?: r;
	goto out;
nomem:
	r = -ENOMEM;
out:
	free(s4.buf);
	free(s6.buf);
	free(r4.buf);
	free(r6.buf);
	free(nw);
	free(want);
	free(has6);
	fix_net_free(&n);
	return r;
}

/* apply: give the managed neighbours a moment to resolve, so the first packet finds them */
static int oif_after(struct fix_state *st, const struct fix_opts *o, char *meta, size_t len)
{
	int fd = st->fds[M_NEIGH], pending = 1;
	struct neigh_key k;
	char txt[INET6_ADDRSTRLEN];

	for (int t = 0; t < 100 && pending; t++) {
		bool have = !bpf_map_get_next_key(fd, NULL, &k);

		pending = 0;
		while (have) {
			__u16 state = 0;
			__u32 ext;

			if (fix_nl_neigh_get(k.ifindex, k.gw, &state, &ext) ||
			    !(state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE))) {
				pending++;
				if (t == 99) {
					inet_ntop(AF_INET6, k.gw, txt, sizeof(txt));
					fprintf(stderr, "pwhy fix: note: the IPv6 gateway %s is not resolved yet; IPv6 packets redirected before it is may leave with the wrong MAC\n",
						txt);
				}
			}
			have = !bpf_map_get_next_key(fd, &k, &k);
		}
		if (pending)
			usleep(10000);
	}
	return 0;
}

static void oif_cleanup(struct fix_state *st, const char *meta)
{
	struct neigh_key k;
	__u16 state;
	__u32 ext;
	bool have;

	if (st->fds[M_NEIGH] < 0)
		return;
	have = !bpf_map_get_next_key(st->fds[M_NEIGH], NULL, &k);
	while (have) {
		if (!fix_nl_neigh_get(k.ifindex, k.gw, &state, &ext) && neigh_ours(state, ext))
			fix_nl_neigh_del(k.ifindex, k.gw);
		have = !bpf_map_get_next_key(st->fds[M_NEIGH], &k, &k);
	}
}

const struct fix_kind_ops fix_oif_ops = {
	.prog_name = "pwhy_fix_oif",
	.hook = FIX_HOOK_EGRESS,
	.maps = { "src4", "src6", "rt4", "rt6", "neigh", "scope4", "scope6" },
	.check = oif_check,
	.load = oif_load,
	.unload = oif_unload,
	.sync = oif_sync,
	.after = oif_after,
	.cleanup = oif_cleanup,
	.counter_names = {
		[FIX_CNT_SEEN] = "packets seen",
		[FIX_CNT_REDIR4] = "IPv4 redirected",
		[FIX_CNT_REDIR6] = "IPv6 redirected",
		[FIX_CNT_SKIP_ROUTE] = "left alone (owner has no route)",
		[FIX_CNT_SKIP_SCOPE] = "left alone (source outside --src)",
	},
};
