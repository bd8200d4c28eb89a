// SPDX-License-Identifier: GPL-2.0
/* The live side of `pwhy report`: load the drop counters, read their maps into snapshots, and
 * name what they hold (BTF drop reasons, kallsyms, interfaces in their netns). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pwhy/btf_info.h"
#include "pwhy/hostinfo.h"
#include "pwhy/ksyms.h"
#include "pwhy/report.h"
#include "report.skel.h"

struct report_collector {
	struct report_bpf *skel;
	int ncpu;
	bool verbose;
};

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int report_collector_open(const struct report_collect_opts *o, struct report_collector **out,
			  char *err, size_t errlen)
{
	struct btf *btf = pwhy_vmlinux_btf();
	struct report_collector *c;
	long long v;
	int r;

	if (!btf) {
		snprintf(err, errlen, "no kernel BTF (/sys/kernel/btf/vmlinux): pwhy needs a kernel built with CONFIG_DEBUG_INFO_BTF");
		return -ENOENT;
	}
	if (btf_tracepoint_id(btf, "kfree_skb") < 0) {
		snprintf(err, errlen, "this kernel has no skb:kfree_skb tracepoint in its BTF");
		return -ENOENT;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->verbose = o->verbose;
	c->ncpu = libbpf_num_possible_cpus();
	if (c->ncpu <= 0) {
		r = c->ncpu ? c->ncpu : -EINVAL;
		snprintf(err, errlen, "cannot count the possible CPUs: %s", strerror(-r));
		free(c);
		return r;
	}
	if (!o->verbose)
		libbpf_set_print(silent_print);
	c->skel = report_bpf__open();
	if (!c->skel) {
		r = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(-r));
		goto fail;
	}
	c->skel->rodata->cfg_filter_netns = o->filter_netns;
	c->skel->rodata->cfg_self_tgid = getpid();
	v = btf_drop_reason_value(btf, "NO_SOCKET");
	if (v >= 0)
		c->skel->rodata->cfg_reason_no_socket = v;
	r = report_bpf__load(c->skel);
	if (r) {
		snprintf(err, errlen, "cannot load the BPF program: %s%s", strerror(-r),
			 r == -EPERM ? " (are you root, with CAP_BPF and CAP_PERFMON?)" : "");
		goto fail;
	}
	r = report_bpf__attach(c->skel);
	if (r) {
		snprintf(err, errlen, "cannot attach to skb:kfree_skb: %s", strerror(-r));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	report_collector_close(c);
	return r;
}

void report_collector_close(struct report_collector *c)
{
	if (!c)
		return;
	report_bpf__destroy(c->skel);
	free(c);
}

/* ---------------------------------------------------------------------------- map reading */

typedef int (*row_cb)(const void *key, const void *vals, void *ctx);

/* Every entry of a map: batched lookups where the kernel has them, else key by key. For per-CPU
 * maps vals holds ncpu values of stride round_up(vsz, 8). */
static int dump_map(int fd, size_t ksz, size_t vsz, int ncpu, row_cb cb, void *ctx)
{
	size_t stride = ncpu > 1 ? ((vsz + 7) & ~(size_t)7) * ncpu : vsz;
	__u32 chunk = 256;
	char token[64], *keys = NULL, *vals = NULL, *prev = NULL;
	void *in = NULL;
	int r = 0;

	for (;;) {
		__u32 count = chunk;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		if (!keys) {
			keys = malloc(chunk * ksz);
			vals = malloc(chunk * stride);
			if (!keys || !vals) {
				r = -ENOMEM;
				goto out;
			}
		}
		r = bpf_map_lookup_batch(fd, in, token, keys, vals, &count, &bo);
		if (r < 0 && r != -ENOENT) {
			if (r == -ENOSPC && chunk < 65536) {	/* a bucket longer than chunk */
				chunk *= 4;
				free(keys);
				free(vals);
				keys = vals = NULL;
				continue;
			}
			if (in)
				goto out;
			goto one_by_one;	/* no batch operations on this kernel/map */
		}
		for (__u32 i = 0; i < count; i++) {
			int e = cb(keys + i * ksz, vals + i * stride, ctx);

			if (e) {
				r = e;
				goto out;
			}
		}
		if (r == -ENOENT) {
			r = 0;
			goto out;
		}
		in = token;
	}

one_by_one:
	free(keys);
	free(vals);
	keys = malloc(ksz);
	prev = malloc(ksz);
	vals = malloc(stride);
	if (!keys || !prev || !vals) {
		r = -ENOMEM;
		goto out;
	}
	r = bpf_map_get_next_key(fd, NULL, keys);
	while (r == 0) {
		if (bpf_map_lookup_elem(fd, keys, vals) == 0) {
			r = cb(keys, vals, ctx);
			if (r)
				goto out;
		}
		memcpy(prev, keys, ksz);
		r = bpf_map_get_next_key(fd, prev, keys);
	}
	r = r == -ENOENT ? 0 : r;
out:
	free(keys);
	free(vals);
	free(prev);
	return r;
}

struct reader {
	struct report_snapshot *s;
	int ncpu;
	size_t cap;
};

static void *grow(void *arr, size_t n, size_t *cap, size_t size)
{
	void *p;

	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(arr, *cap * size);
	return p;
}

static void sum_counts(const void *vals, int ncpu, struct report_count *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < ncpu; i++) {
		const struct report_count *v = (const void *)((const char *)vals + i * sizeof(*v));

		c->packets += v->packets;
		c->bytes += v->bytes;
	}
}

static int reason_row(const void *key, const void *vals, void *ctx)
{
	struct reader *rd = ctx;
	struct report_snapshot *s = rd->s;
	void *p = grow(s->reasons, s->nreasons, &rd->cap, sizeof(*s->reasons));

	if (!p)
		return -ENOMEM;
	s->reasons = p;
	s->reasons[s->nreasons].reason = *(const __u32 *)key;
	sum_counts(vals, rd->ncpu, &s->reasons[s->nreasons].c);
	s->nreasons++;
	return 0;
}

static int loc_row(const void *key, const void *vals, void *ctx)
{
	struct reader *rd = ctx;
	struct report_snapshot *s = rd->s;
	void *p = grow(s->locs, s->nlocs, &rd->cap, sizeof(*s->locs));

	if (!p)
		return -ENOMEM;
	s->locs = p;
	memcpy(&s->locs[s->nlocs].k, key, sizeof(struct report_loc_key));
	sum_counts(vals, rd->ncpu, &s->locs[s->nlocs].c);
	s->nlocs++;
	return 0;
}

static int dev_row(const void *key, const void *vals, void *ctx)
{
	struct reader *rd = ctx;
	struct report_snapshot *s = rd->s;
	struct report_dev_row *row;
	void *p = grow(s->devs, s->ndevs, &rd->cap, sizeof(*s->devs));

	if (!p)
		return -ENOMEM;
	s->devs = p;
	row = &s->devs[s->ndevs++];
	memset(row, 0, sizeof(*row));
	memcpy(&row->k, key, sizeof(row->k));
	for (int i = 0; i < rd->ncpu; i++) {
		const struct report_dev_val *v = (const void *)((const char *)vals + i * sizeof(*v));

		row->c.packets += v->packets;
		row->c.bytes += v->bytes;
		if (!row->ifname[0] && v->ifname[0])
			memcpy(row->ifname, v->ifname, sizeof(row->ifname) - 1);
	}
	return 0;
}

static int flow_row(const void *key, const void *val, void *ctx)
{
	struct reader *rd = ctx;
	struct report_snapshot *s = rd->s;
	void *p = grow(s->flows, s->nflows, &rd->cap, sizeof(*s->flows));

	if (!p)
		return -ENOMEM;
	s->flows = p;
	memcpy(&s->flows[s->nflows].k, key, sizeof(struct report_flow_key));
	memcpy(&s->flows[s->nflows].v, val, sizeof(struct report_flow_val));
	s->nflows++;
	return 0;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_totals(struct report_collector *c, struct report_totals *t)
{
	struct report_totals *per = calloc(c->ncpu, sizeof(*per));
	__u32 zero = 0;
	int r;

	if (!per)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	r = bpf_map__lookup_elem(c->skel->maps.totals, &zero, sizeof(zero), per,
				 c->ncpu * sizeof(*per), 0);
	for (int i = 0; !r && i < c->ncpu; i++) {
		t->drops += per[i].drops;
		t->bytes += per[i].bytes;
		t->reason_full += per[i].reason_full;
		t->location_full += per[i].location_full;
		t->device_full += per[i].device_full;
		t->flow_full += per[i].flow_full;
		t->flows_created += per[i].flows_created;
	}
	free(per);
	return r;
}

int report_collector_read(struct report_collector *c, struct report_snapshot *s)
{
	struct reader rd = { .s = s, .ncpu = c->ncpu };
	int r;

	memset(s, 0, sizeof(*s));
	s->mono_s = mono_now();
	s->wall = time(NULL);
	/* totals first: flows created after this read can only make the eviction count smaller */
	r = read_totals(c, &s->totals);
	if (!r)
		r = dump_map(bpf_map__fd(c->skel->maps.by_reason), sizeof(__u32),
			     sizeof(struct report_count), c->ncpu, reason_row, &rd);
	rd.cap = 0;
	if (!r)
		r = dump_map(bpf_map__fd(c->skel->maps.by_location), sizeof(struct report_loc_key),
			     sizeof(struct report_count), c->ncpu, loc_row, &rd);
	rd.cap = 0;
	if (!r)
		r = dump_map(bpf_map__fd(c->skel->maps.by_device), sizeof(struct report_dev_key),
			     sizeof(struct report_dev_val), c->ncpu, dev_row, &rd);
	rd.cap = 0;
	if (!r)
		r = dump_map(bpf_map__fd(c->skel->maps.flows), sizeof(struct report_flow_key),
			     sizeof(struct report_flow_val), 1, flow_row, &rd);
	if (r) {
		report_snapshot_free(s);
		return r;
	}
	s->flows_evicted = s->totals.flows_created > s->nflows ? s->totals.flows_created - s->nflows
							       : 0;
	return 0;
}

/* -------------------------------------------------------------------------------- names */

static const char *live_reason(void *ctx, __u32 reason, char *buf, size_t len)
{
	const char *n = btf_drop_reason_name(pwhy_vmlinux_btf(), reason);

	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "%u", reason);
	return buf;
}

static const char *live_location(void *ctx, __u64 addr, char *buf, size_t len)
{
	return ksym_format(addr, buf, len);
}

static const char *live_device(void *ctx, __u32 netns, int ifindex, const char *bpf_name,
			       char *buf, size_t len)
{
	if (!ifindex)
		snprintf(buf, len, "-");
	else if (bpf_name && *bpf_name)
		snprintf(buf, len, "%s:%d", bpf_name, ifindex);
	else
		hostinfo_ifname(hostinfo_live(), netns, ifindex, buf, len);
	return buf;
}

const struct report_names *report_names_live(void)
{
	static const struct report_names live = {
		.reason = live_reason, .location = live_location, .device = live_device,
	};
	return &live;
}

int report_collector_reason_count(struct report_collector *c, __u32 reason, __u64 *packets)
{
	struct report_count *per = calloc(c->ncpu, sizeof(*per));
	struct report_count sum;
	int r;

	if (!per)
		return -ENOMEM;
	r = bpf_map__lookup_elem(c->skel->maps.by_reason, &reason, sizeof(reason), per,
				 c->ncpu * sizeof(*per), 0);
	if (r == -ENOENT) {
		*packets = 0;
		r = 0;
	} else if (!r) {
		sum_counts(per, c->ncpu, &sum);
		*packets = sum.packets;
	}
	free(per);
	return r;
}
