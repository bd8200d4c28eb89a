// SPDX-License-Identifier: GPL-2.0
/* The tracing engine's life: open (load the probe object once, attach fact probes and path
 * probes), hand ring-buffer records to the caller, read the counters, close. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <net/if.h>
#include "pwhy/btf_info.h"
#include "pwhy/event.h"
#include "pwhy/ksyms.h"
#include "pwhy/netns.h"
#include "pwhy/workers.h"
#include "internal.h"

void note(const struct tracer *t, const char *fmt, const char *a, const char *b)
{
	if (t->verbose) {
		fprintf(stderr, "pwhy: note: ");
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
	}
}

int keep_fd(struct tracer *t, int fd)
{
	pthread_mutex_lock(&t->lock);
	if (t->nfds == MAX_FDS) {
		pthread_mutex_unlock(&t->lock);
		close(fd);
		return -E2BIG;
	}
	t->fds[t->nfds++] = fd;
	pthread_mutex_unlock(&t->lock);
	return fd;
}

bool stopping(const struct tracer *t)
{
	return t->stop && *t->stop;
}

/* A function the kernel would not take: counted by errno, the first few named with -v. */
void refused(struct tracer *t, const char *how, const char *func, int err)
{
	int i;

	pthread_mutex_lock(&t->lock);
	t->skipped.n[FUNCS_SKIP_ATTACH_FAILED]++;
	for (i = 0; i < MAX_ERRNOS && t->refused[i].n && t->refused[i].err != err; i++)
		;
	if (i < MAX_ERRNOS) {
		t->refused[i].err = err;
		t->refused[i].n++;
	}
	if (t->verbose && t->fail_notes++ < MAX_FAIL_NOTES)
		fprintf(stderr, "pwhy: note: %s %s: %s%s\n", how, func, strerror(err),
			t->fail_notes == MAX_FAIL_NOTES ? " (further refusals only counted)" : "");
	pthread_mutex_unlock(&t->lock);
}

static int on_ring(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	struct pwhy_event full;

	if (size >= 4 && ((const struct pwhy_event *)data)->kind == PWHY_EV_SKB_DUMP)
		return t->aux_cb ? t->aux_cb(data, size, t->cb_ctx) : 0;
	if (size >= sizeof(full))
		return t->cb(data, t->cb_ctx);
	/* the probes leave pkt[] out when they do not copy packets */
	if (size < offsetof(struct pwhy_event, pkt))
		return 0;
	memcpy(&full, data, size);
	memset((char *)&full + size, 0, sizeof(full) - size);
	return t->cb(&full, t->cb_ctx);
}

static void set_rodata(struct tracer *t, const struct tracer_opts *o, const struct btf *btf)
{
	struct trace_bpf__rodata *ro = t->skel->rodata;
	long long v;
	__u32 flags = 0;

	if (has_filter(t))
		flags |= PWHY_CFG_FILTER_ACTIVE;
	if (has_filter(t) && t->inline_l2 && t->inline_l3)
		flags |= PWHY_CFG_FILTER_INLINE;
	if (o->track_skb)
		flags |= PWHY_CFG_TRACK_SKB;
	if (o->path_events)
		flags |= PWHY_CFG_PATH_EVENTS;
	if (o->copy_pkt)
		flags |= PWHY_CFG_COPY_PKT;
	if (o->explain_route)
		flags |= PWHY_CFG_EXPLAIN_ROUTE;
	if (o->output_stack)
		flags |= PWHY_CFG_OUTPUT_STACK;
	if (o->output_caller)
		flags |= PWHY_CFG_OUTPUT_CALLER;
	if (o->output_skb)
		flags |= PWHY_CFG_OUTPUT_SKB;
	ro->cfg_flags = flags;
	ro->cfg_self_tgid = getpid();
	/* the host ABI's numbers: the raw syscall tracepoints see them, not names */
	ro->cfg_nr_sendto = SYS_sendto;
	ro->cfg_nr_sendmsg = SYS_sendmsg;
	ro->cfg_nr_sendmmsg = SYS_sendmmsg;
	if (btf_enumerator_value(btf, "INET_FLAGS_TRANSPARENT", &v) == 0)
		ro->cfg_inet_flags_transparent_bit = v;
	v = btf_drop_reason_value(btf, "NO_SOCKET");
	if (v >= 0)
		ro->cfg_reason_no_socket = v;
	ro->cfg_filter_netns = o->filter_netns;
	ro->cfg_filter_mark = o->filter_mark;
	ro->cfg_filter_mark_mask = o->filter_mark_mask;
	/* an ifindex names a device only within its netns */
	if (t->filter_ifindex) {
		ro->cfg_filter_ifindex = t->filter_ifindex;
		ro->cfg_filter_netns = t->filter_ifname_netns;
	}
}

static int ifindex_in_netns(void *name)
{
	return if_nametoindex(name);
}

int tracer_open(const struct tracer_opts *o, tracer_event_cb cb, void *ctx, struct tracer **out,
		char *err, size_t errlen)
{
	struct btf *btf = pwhy_vmlinux_btf();
	struct tracer *t;
	int r;

	if (!btf) {
		snprintf(err, errlen, "no kernel BTF (/sys/kernel/btf/vmlinux): pwhy needs a kernel built with CONFIG_DEBUG_INFO_BTF");
		return -ENOENT;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (o->filter_ifname) {
		t->filter_ifname_netns = o->filter_netns ? o->filter_netns : netns_self_ino();
		t->filter_ifindex = netns_call(o->filter_netns, ifindex_in_netns,
					       (void *)o->filter_ifname);
		if (t->filter_ifindex <= 0) {
			snprintf(err, errlen, "no such interface '%s'%s", o->filter_ifname,
				 o->filter_netns ? " in that network namespace" : "");
			free(t);
			return -ENODEV;
		}
	}
	t->cb = cb;
	t->cb_ctx = ctx;
	t->aux_cb = o->aux_cb;
	t->verbose = o->verbose;
	t->track_skb = o->track_skb;
	t->stop = o->stop;
	pthread_mutex_init(&t->lock, NULL);
	r = backend_choose(o->backend, &t->backend, err, errlen);
	if (r)
		goto fail;
	t->kprobe_multi = backend_probe()->kprobe_multi;
	/* Many functions: one kprobe.multi link attaches and detaches in about a second, where
	 * fentry needs a trampoline per function, each waiting for RCU-tasks grace periods when
	 * it goes (minutes for --all). */
	if (o->backend == PWHY_BACKEND_AUTO && t->backend == PWHY_BACKEND_FENTRY &&
	    t->kprobe_multi && (o->all_funcs || o->filter_func)) {
		t->backend = PWHY_BACKEND_KPROBE;
		note(t, "many functions: kprobe.multi rather than fentry (--backend fentry to insist)%s%s", "", "");
	}
	if (o->filter && *o->filter) {
		r = filter_prepare(t, o->filter, err, errlen);
		if (r)
			goto fail;
	}
	if (o->path_events && (t->backend != PWHY_BACKEND_TRACEPOINT || o->all_funcs ||
			       o->filter_func)) {
		struct funcs_query q;

		plan_query(o, btf, t->backend == PWHY_BACKEND_KPROBE && !t->kprobe_multi, &q);
		r = funcs_plan(&q, &t->funcs, &t->skipped, err, errlen);
		if (r)
			goto fail;
		/* asked for functions with no way to probe them: an error, not a quiet trace */
		if (t->backend == PWHY_BACKEND_TRACEPOINT) {
			snprintf(err, errlen, "--all/--filter-func need function probes (fentry or kprobes), which this kernel refuses; without them pwhy traces its core tracepoints");
			r = -EOPNOTSUPP;
			goto fail;
		}
	}
	t->skel = trace_bpf__open();
	if (!t->skel) {
		r = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(-r));
		goto fail;
	}
	if (o->ringbuf_kb)
		bpf_map__set_max_entries(t->skel->maps.events, o->ringbuf_kb * 1024);
	if (!o->output_stack && !o->output_caller)
		bpf_map__set_max_entries(t->skel->maps.stacks, 1);
	/* wake the reader once a quarter of the ring is used */
	t->skel->rodata->cfg_wakeup_bytes = bpf_map__max_entries(t->skel->maps.events) / 4;
	set_rodata(t, o, btf);
	select_programs(t, btf);
	r = trace_bpf__load(t->skel);
	if (r) {
		snprintf(err, errlen, "cannot load the BPF programs: %s%s", strerror(-r),
			 r == -EPERM ? " (are you root, with CAP_BPF and CAP_PERFMON?)" : "");
		goto fail;
	}
	r = attach_fact_probes(t, btf);
	if (r) {
		snprintf(err, errlen, "cannot attach the tracepoint probes: %s", strerror(-r));
		goto fail;
	}
	r = attach_path_probes(t);
	if (r == -EINTR) {
		size_t done = 0;

		for (size_t i = 0; i < t->funcs.n; i++)
			done += t->funcs.v[i].attached;
		snprintf(err, errlen, "interrupted while attaching (%zu of %zu functions attached); all detached",
			 done, t->funcs.n);
		goto fail;
	}
	if (r) {
		snprintf(err, errlen, "cannot attach the function probes: %s", strerror(-r));
		goto fail;
	}
	print_walk(t);
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_ring, t, NULL);
	if (!t->rb) {
		r = -errno;
		snprintf(err, errlen, "cannot open the ring buffer: %s", strerror(-r));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	tracer_close(t);
	return r;
}

int tracer_poll(struct tracer *t, int timeout_ms)
{
	int r = ring_buffer__poll(t->rb, timeout_ms), c;

	if (r < 0 && r != -EINTR)
		return r;
	/* the probes wake us only when the ring fills up: take what came in quietly as well */
	c = ring_buffer__consume(t->rb);
	if (c < 0)
		return c;
	return (r > 0 ? r : 0) + c;
}

void tracer_counters(struct tracer *t, __u64 *vals, int n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *per = calloc(ncpu > 0 ? ncpu : 1, sizeof(*per));

	for (int k = 0; k < n; k++) {
		__u32 key = k;

		vals[k] = 0;
		if (per && bpf_map__lookup_elem(t->skel->maps.counters, &key, sizeof(key), per,
						ncpu * sizeof(*per), 0) == 0)
			for (int c = 0; c < ncpu; c++)
				vals[k] += per[c];
	}
	free(per);
}

int tracer_stack(struct tracer *t, __s32 id, __u64 *ips, int max)
{
	__u64 buf[127] = {};
	__u32 key = id;
	int n = 0;

	if (bpf_map__lookup_elem(t->skel->maps.stacks, &key, sizeof(key), buf, sizeof(buf), 0))
		return -errno;
	while (n < max && n < 127 && buf[n]) {
		ips[n] = buf[n];
		n++;
	}
	return n;
}

static unsigned long long map_entries(const struct bpf_map *m)
{
	__u64 key, next;
	unsigned long long n = 0;
	void *prev = NULL;

	while (bpf_map__get_next_key(m, prev, &next, sizeof(next)) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

void tracer_track_stats(struct tracer *t, struct tracer_track_stats *st)
{
	__u64 cnt[PWHY_CNT_MAX];
	unsigned long long gone;

	tracer_counters(t, cnt, PWHY_CNT_MAX);
	memset(st, 0, sizeof(*st));
	st->added = cnt[PWHY_CNT_TRACK_ADD];
	st->freed = cnt[PWHY_CNT_TRACK_DEL];
	st->clones = cnt[PWHY_CNT_TRACK_CLONE];
	/* walking the map costs: only when something may be left in it */
	st->live = st->added > st->freed ? map_entries(t->skel->maps.tracked) : 0;
	gone = st->freed + st->live;
	st->evicted = st->added > gone ? st->added - gone : 0;
}

int tracer_nattached(const struct tracer *t)
{
	return t->nattached;
}

enum pwhy_backend tracer_backend(const struct tracer *t)
{
	return t->backend;
}

const char *tracer_func_name(const struct tracer *t, __u64 ip)
{
	const char *n = ksym_exact(ip);

	return n ? n : "?";
}

static void close_one(size_t i, void *ctx)
{
	struct tracer *t = ctx;

	close(t->fds[t->nfds - 1 - i]);	/* links before the programs they hold */
}

void tracer_close(struct tracer *t)
{
	/* detaching waits for RCU grace periods, one per probe: waiting in parallel shares them */
	struct workers_opts wo = { .threads = t && t->nfds > 64 ? 32 : 1,
				   .what = t && t->nfds > 64 ? "detaching" : NULL };
	double t0 = workers_now();
	int n;

	if (!t)
		return;
	n = t->nattached;
	ring_buffer__free(t->rb);
	for (int i = t->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(t->links[i]);
	workers_run(t->nfds, close_one, t, &wo);
	trace_bpf__destroy(t->skel);
	for (int i = 0; i < t->nmodules; i++) {
		close(t->modules[i].fd);
		free(t->modules[i].name);
	}
	if (t->verbose && n)
		fprintf(stderr, "pwhy: detached %d probes in %.2f s\n", n, workers_now() - t0);
	pthread_mutex_destroy(&t->lock);
	funcs_free(&t->funcs);
	free(t->filter_l2);
	free(t->inline_l2);
	free(t->inline_l3);
	free(t->filter_l3);
	free(t);
}
