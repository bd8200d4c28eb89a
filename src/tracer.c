// SPDX-License-Identifier: GPL-2.0
/* The tracing engine: load the probe object once, splice the user's filter into each program
 * that carries the stubs, attach fact probes (tracepoints) and path probes (by backend), and
 * hand ring-buffer records to the caller. Everything attached is an fd owned by this process,
 * so nothing outlives it, not even after SIGKILL. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "pwhy/btf_info.h"
#include "pwhy/event.h"
#include "pwhy/filter.h"
#include "pwhy/funcs.h"
#include "pwhy/ksyms.h"
#include "pwhy/splice.h"
#include "pwhy/splice_magic.h"
#include "pwhy/tracer.h"
#include "trace.skel.h"

_Static_assert(PWHY_PKT_SNAP >= PWHY_FILTER_COPY_MAX, "the probes' packet copy feeds the filter");

#define MAX_FDS 8192
#define MAX_LINKS 32

struct tracer {
	struct trace_bpf *skel;
	struct ring_buffer *rb;
	enum pwhy_backend backend;
	bool kprobe_multi;
	struct func_list funcs;
	struct bpf_insn *filter_l2, *filter_l3;
	size_t filter_l2_n, filter_l3_n;
	int fds[MAX_FDS];	/* cloned programs, links, perf events */
	int nfds;
	struct bpf_link *links[MAX_LINKS];	/* tracepoints attached through libbpf */
	int nlinks;
	int nattached;
	bool verbose;
	tracer_event_cb cb;
	void *cb_ctx;
};

static void note(const struct tracer *t, const char *fmt, const char *a, const char *b)
{
	if (t->verbose) {
		fprintf(stderr, "pwhy: note: ");
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
	}
}

static int keep_fd(struct tracer *t, int fd)
{
	if (t->nfds == MAX_FDS) {
		close(fd);
		return -E2BIG;
	}
	t->fds[t->nfds++] = fd;
	return fd;
}

/* --------------------------------------------------------------------------------- filter */

/* "return 0": used for the framing an expression cannot be compiled for (ether on L3) */
static const struct bpf_insn reject_all[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static int compile_one(const char *expr, int dlt, struct bpf_insn **out, size_t *n, char *err,
		       size_t errlen)
{
	struct sock_filter *cbpf = NULL;
	size_t cn = 0;
	int r;

	r = pwhy_filter_compile(expr, dlt, &cbpf, &cn, err, errlen);
	if (r)
		return r;
	r = pwhy_filter_translate(cbpf, cn, out, n, err, errlen);
	pwhy_filter_free_cbpf(cbpf);
	return r;
}

static int filter_prepare(struct tracer *t, const char *expr, char *err, size_t errlen)
{
	char e2[256] = "", e3[256] = "";
	int r2, r3;

	r2 = compile_one(expr, PWHY_DLT_EN10MB, &t->filter_l2, &t->filter_l2_n, e2, sizeof(e2));
	r3 = compile_one(expr, PWHY_DLT_RAW, &t->filter_l3, &t->filter_l3_n, e3, sizeof(e3));
	if (r2 && r3) {
		snprintf(err, errlen, "bad filter '%s': %s", expr, e2[0] ? e2 : e3);
		return r2;
	}
	/* an expression that needs a MAC header (ether, vlan, arp) never matches L3-only skbs */
	if (r3)
		note(t, "filter needs a MAC header; skbs without one never match (%s)%s", e3, "");
	return 0;
}

static const struct bpf_insn *filter_body(const struct tracer *t, bool l2, size_t *n)
{
	const struct bpf_insn *b = l2 ? t->filter_l2 : t->filter_l3;

	*n = l2 ? t->filter_l2_n : t->filter_l3_n;
	if (!b) {
		*n = 2;
		return reject_all;
	}
	return b;
}

/* The program's instructions with both filter stubs replaced (caller frees). */
static int spliced_insns(const struct tracer *t, const struct bpf_program *p,
			 struct bpf_insn **out, size_t *out_n)
{
	const struct bpf_insn *body;
	struct bpf_insn *tmp = NULL;
	size_t n, bn, tmp_n;
	int r;

	body = filter_body(t, true, &bn);
	r = splice_stub(bpf_program__insns(p), bpf_program__insn_cnt(p), PWHY_FILTER_MAGIC_L2,
			body, bn, &tmp, &tmp_n);
	if (r)
		return r;
	body = filter_body(t, false, &bn);
	r = splice_stub(tmp, tmp_n, PWHY_FILTER_MAGIC_L3, body, bn, out, &n);
	free(tmp);
	*out_n = n;
	return r;
}

/* Load a copy of an already-loaded program, with the filter spliced in when there is one. */
static int clone_prog(struct tracer *t, const struct bpf_program *p, enum bpf_attach_type at,
		      int attach_btf_id, const char *what)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = at,
		    .attach_btf_id = attach_btf_id);
	const struct bpf_insn *insns = bpf_program__insns(p);
	size_t n = bpf_program__insn_cnt(p);
	struct bpf_insn *spliced = NULL;
	static char log[65536];
	int fd, r;

	if (t->filter_l2 || t->filter_l3) {
		r = spliced_insns(t, p, &spliced, &n);
		if (r && r != -ENOENT)
			return r;
		if (!r)
			insns = spliced;
	}
	log[0] = 0;
	if (t->verbose) {
		o.log_buf = log;
		o.log_size = sizeof(log);
		o.log_level = 1;
	}
	/* the template's name: bpftool shows which probe a clone is */
	fd = bpf_prog_load(bpf_program__type(p), bpf_program__name(p), "GPL", insns, n, &o);
	r = -errno;
	free(spliced);
	if (fd < 0) {
		if (t->verbose && log[0])
			fprintf(stderr, "pwhy: verifier log for %s:\n%.4000s\n", what,
				log + (strlen(log) > 4000 ? strlen(log) - 4000 : 0));
		return r;
	}
	return keep_fd(t, fd);
}

static bool has_filter(const struct tracer *t)
{
	return t->filter_l2 || t->filter_l3;
}

/* -------------------------------------------------------------------------- fact probes */

static const char *tracefs_event(const char *sec, char *buf, size_t len)
{
	static const char *const roots[] = { "/sys/kernel/tracing/events",
					     "/sys/kernel/debug/tracing/events" };

	for (size_t i = 0; i < 2; i++) {
		snprintf(buf, len, "%s/%s", roots[i], sec);
		if (access(buf, F_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Perf tracepoints (SEC("tracepoint/...")) need tracefs; many systems leave it unmounted. */
static void ensure_tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return;
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
}

/* Before load: keep only the programs this kernel and backend can take. */
static void select_programs(struct tracer *t, const struct btf *btf)
{
	struct bpf_program *p;
	char path[256];

	bpf_object__for_each_program(p, t->skel->obj) {
		const char *sec = bpf_program__section_name(p);
		const char *name = bpf_program__name(p);
		bool load = false;

		if (!strncmp(sec, "tp_btf/", 7)) {
			load = btf_tracepoint_id(btf, sec + 7) >= 0;
			if (!load)
				note(t, "tracepoint %s not in this kernel, skipped%s", sec + 7, "");
		} else if (!strncmp(sec, "tracepoint/", 11)) {
			ensure_tracefs();
			load = tracefs_event(sec + 11, path, sizeof(path)) != NULL;
			if (!load)
				note(t, "tracepoint %s not available (tracefs?), skipped%s", sec + 11, "");
		} else {
			/* path templates: skb position is the last character of the name */
			int pos = name[strlen(name) - 1] - '0';
			const char *target = NULL;

			for (size_t i = 0; i < t->funcs.n && !target; i++)
				if (t->funcs.v[i].skb_pos == pos)
					target = t->funcs.v[i].name;
			if (t->backend == PWHY_BACKEND_FENTRY && !strncmp(sec, "fentry", 6) && target) {
				load = true;
				bpf_program__set_attach_target(p, 0, target);
			} else if (t->backend == PWHY_BACKEND_KPROBE && target) {
				load = t->kprobe_multi ? !strcmp(sec, "kprobe.multi")
						       : !strcmp(sec, "kprobe");
			}
		}
		bpf_program__set_autoload(p, load);
	}
}

static int attach_fact_probes(struct tracer *t, const struct btf *btf)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, t->skel->obj) {
		const char *sec = bpf_program__section_name(p);
		struct bpf_link *l;
		int fd, link;

		if (!bpf_program__autoload(p))
			continue;
		if (!strncmp(sec, "tp_btf/", 7) && has_filter(t)) {
			fd = clone_prog(t, p, BPF_TRACE_RAW_TP, btf_tracepoint_id(btf, sec + 7), sec);
			if (fd < 0)
				return fd;
			link = bpf_raw_tracepoint_open(NULL, fd);
			if (link < 0)
				return -errno;
			keep_fd(t, link);
			t->nattached++;
		} else if (!strncmp(sec, "tp_btf/", 7) || !strncmp(sec, "tracepoint/", 11)) {
			l = bpf_program__attach(p);
			if (!l)
				return -errno;
			if (t->nlinks == MAX_LINKS) {
				bpf_link__destroy(l);
				return -E2BIG;
			}
			t->links[t->nlinks++] = l;
			t->nattached++;
		}
	}
	return 0;
}

/* -------------------------------------------------------------------------- path probes */

static struct bpf_program *template_for(struct tracer *t, const char *prefix, int pos)
{
	char name[32];

	snprintf(name, sizeof(name), "%s%d", prefix, pos);
	return bpf_object__find_program_by_name(t->skel->obj, name);
}

static int attach_fentry(struct tracer *t, const struct btf *btf)
{
	for (size_t i = 0; i < t->funcs.n; i++) {
		struct func_entry *f = &t->funcs.v[i];
		struct bpf_program *p = template_for(t, "pwhy_fentry", f->skb_pos);
		int fd, link;

		fd = clone_prog(t, p, BPF_TRACE_FENTRY, btf_func_id(btf, f->name), f->name);
		if (fd < 0) {
			note(t, "fentry %s: %s", f->name, strerror(-fd));
			continue;
		}
		link = bpf_raw_tracepoint_open(NULL, fd);
		if (link < 0) {
			note(t, "fentry %s: attach: %s", f->name, strerror(errno));
			continue;
		}
		keep_fd(t, link);
		f->attached = 1;
		t->nattached++;
	}
	return 0;
}

static int prog_fd_for(struct tracer *t, struct bpf_program *p, enum bpf_attach_type at)
{
	return has_filter(t) ? clone_prog(t, p, at, 0, bpf_program__name(p)) : bpf_program__fd(p);
}

static int attach_kprobe_multi(struct tracer *t)
{
	for (int pos = 1; pos <= FUNCS_MAX_POS; pos++) {
		struct bpf_program *p = template_for(t, "pwhy_kmulti", pos);
		const char **syms;
		size_t n = 0;
		int fd, link;
		LIBBPF_OPTS(bpf_link_create_opts, lo);

		if (!bpf_program__autoload(p))
			continue;
		syms = calloc(t->funcs.n, sizeof(*syms));
		if (!syms)
			return -ENOMEM;
		for (size_t i = 0; i < t->funcs.n; i++)
			if (t->funcs.v[i].skb_pos == pos)
				syms[n++] = t->funcs.v[i].name;
		fd = prog_fd_for(t, p, BPF_TRACE_KPROBE_MULTI);
		if (fd < 0) {
			free(syms);
			return fd;
		}
		lo.kprobe_multi.syms = syms;
		lo.kprobe_multi.cnt = n;
		link = bpf_link_create(fd, 0, BPF_TRACE_KPROBE_MULTI, &lo);
		free(syms);
		if (link < 0) {
			note(t, "kprobe.multi for skb argument %s: %s", pos == 1 ? "1" : ">1",
			     strerror(errno));
			continue;
		}
		keep_fd(t, link);
		for (size_t i = 0; i < t->funcs.n; i++)
			if (t->funcs.v[i].skb_pos == pos)
				t->funcs.v[i].attached = 1;
		t->nattached += n;
	}
	return 0;
}

static int kprobe_pmu_type(void)
{
	static int type = -1;
	FILE *f;

	if (type >= 0)
		return type;
	f = fopen("/sys/bus/event_source/devices/kprobe/type", "r");
	if (!f)
		return -ENOENT;
	if (fscanf(f, "%d", &type) != 1)
		type = -EINVAL;
	fclose(f);
	return type;
}

/* One perf kprobe per function: the fd-based kind, gone when we exit. */
static int attach_kprobe_one(struct tracer *t, int prog_fd, const char *func)
{
	struct perf_event_attr attr = {};
	int type = kprobe_pmu_type(), pfd;

	if (type < 0)
		return type;
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config1 = (__u64)(unsigned long)func;	/* kprobe_func */
	attr.config2 = 0;				/* offset */
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	pfd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return -errno;
	keep_fd(t, pfd);
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0 ||
	    ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0) < 0)
		return -errno;
	return 0;
}

static int attach_kprobes(struct tracer *t)
{
	int fds[FUNCS_MAX_POS + 1] = {};

	for (int pos = 1; pos <= FUNCS_MAX_POS; pos++) {
		struct bpf_program *p = template_for(t, "pwhy_kprobe", pos);

		fds[pos] = bpf_program__autoload(p) ? prog_fd_for(t, p, 0) : -1;
	}
	for (size_t i = 0; i < t->funcs.n; i++) {
		struct func_entry *f = &t->funcs.v[i];
		int r;

		if (fds[f->skb_pos] < 0)
			continue;
		r = attach_kprobe_one(t, fds[f->skb_pos], f->name);
		if (r) {
			note(t, "kprobe %s: %s", f->name, strerror(-r));
			continue;
		}
		f->attached = 1;
		t->nattached++;
	}
	return 0;
}

/* ---------------------------------------------------------------------------- lifecycle */

static int on_ring(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	struct pwhy_event full;

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
	if (o->track_skb)
		flags |= PWHY_CFG_TRACK_SKB;
	if (o->path_events)
		flags |= PWHY_CFG_PATH_EVENTS;
	if (o->copy_pkt)
		flags |= PWHY_CFG_COPY_PKT;
	if (o->explain_route)
		flags |= PWHY_CFG_EXPLAIN_ROUTE;
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
	if (o->filter_ifname)
		ro->cfg_filter_ifindex = if_nametoindex(o->filter_ifname);
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
	if (o->filter_ifname && !if_nametoindex(o->filter_ifname)) {
		snprintf(err, errlen, "no such interface '%s'", o->filter_ifname);
		return -ENODEV;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cb = cb;
	t->cb_ctx = ctx;
	t->verbose = o->verbose;
	r = backend_choose(o->backend, &t->backend, err, errlen);
	if (r)
		goto fail;
	t->kprobe_multi = backend_probe()->kprobe_multi;
	if (o->filter && *o->filter) {
		r = filter_prepare(t, o->filter, err, errlen);
		if (r)
			goto fail;
	}
	if (t->backend != PWHY_BACKEND_TRACEPOINT && o->path_events) {
		r = funcs_plan(btf, o->all_funcs, o->filter_func, &t->funcs, err, errlen);
		if (r)
			goto fail;
	}
	t->skel = trace_bpf__open();
	if (!t->skel) {
		r = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(-r));
		goto fail;
	}
	if (o->ringbuf_kb)
		bpf_map__set_max_entries(t->skel->maps.events, o->ringbuf_kb * 1024);
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
	if (t->backend == PWHY_BACKEND_FENTRY)
		r = attach_fentry(t, btf);
	else if (t->backend == PWHY_BACKEND_KPROBE)
		r = t->kprobe_multi ? attach_kprobe_multi(t) : attach_kprobes(t);
	if (r) {
		snprintf(err, errlen, "cannot attach the function probes: %s", strerror(-r));
		goto fail;
	}
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

long tracer_tracked_live(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.tracked);
	__u64 key, next;
	long n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
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

void tracer_close(struct tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	for (int i = t->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(t->links[i]);
	for (int i = t->nfds - 1; i >= 0; i--)
		close(t->fds[i]);
	trace_bpf__destroy(t->skel);
	funcs_free(&t->funcs);
	free(t->filter_l2);
	free(t->filter_l3);
	free(t);
}
