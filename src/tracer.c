// SPDX-License-Identifier: GPL-2.0
/* The tracing engine: load the probe object once, splice the user's filter into each program
 * that carries the stubs, attach fact probes (tracepoints) and path probes (by backend), and
 * hand ring-buffer records to the caller. Everything attached is an fd owned by this process,
 * so nothing outlives it, not even after SIGKILL. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
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
#include "pwhy/netns.h"
#include "pwhy/splice.h"
#include "pwhy/splice_magic.h"
#include "pwhy/tracer.h"
#include "pwhy/workers.h"
#include "trace.skel.h"

_Static_assert(PWHY_PKT_SNAP >= PWHY_FILTER_COPY_MAX, "the probes' packet copy feeds the filter");

#define MAX_FDS 16384
#define MAX_LINKS 48
#define MAX_MODULES 64
#define MAX_ERRNOS 8
#define MAX_FAIL_NOTES 20

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
	pthread_mutex_t lock;	/* fds and the counts below, taken by attach workers */
	struct funcs_skipped skipped;
	struct { int err; unsigned n; } refused[MAX_ERRNOS];	/* attach failures by errno */
	int fail_notes;
	struct { char *name; int fd; } modules[MAX_MODULES];	/* module BTF objects (fentry) */
	int nmodules;
	volatile sig_atomic_t *stop;
	double load_s, link_s;	/* fentry: time in program loads and in attaching, all threads */
	__u32 max_walk;		/* -v: the longest verifier walk of a loaded program, and whose */
	char max_walk_prog[32];
	struct bpf_link *links[MAX_LINKS];	/* tracepoints attached through libbpf */
	int nlinks;
	int nattached;
	bool verbose;
	bool track_skb;
	int filter_ifindex;	/* --filter-ifname, resolved in the filtered (or our own) netns */
	__u32 filter_ifname_netns;
	tracer_event_cb cb;
	void *cb_ctx;
	int (*aux_cb)(const void *rec, size_t size, void *ctx);
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

static bool stopping(const struct tracer *t)
{
	return t->stop && *t->stop;
}

/* A function the kernel would not take: counted by errno, the first few named with -v. */
static void refused(struct tracer *t, const char *how, const char *func, int err)
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

/* -v: how many instructions the verifier walked for a loaded program (start-up time grows
 * with it, and a kernel refuses a program past a million); the longest is reported. */
static void note_walk(struct tracer *t, int fd, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (!t->verbose || fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	pthread_mutex_lock(&t->lock);
	if (info.verified_insns > t->max_walk) {
		t->max_walk = info.verified_insns;
		snprintf(t->max_walk_prog, sizeof(t->max_walk_prog), "%s", name);
	}
	pthread_mutex_unlock(&t->lock);
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
	char e2[512] = "", e3[512] = "";
	int r2, r3;

	r2 = compile_one(expr, PWHY_DLT_EN10MB, &t->filter_l2, &t->filter_l2_n, e2, sizeof(e2));
	r3 = compile_one(expr, PWHY_DLT_RAW, &t->filter_l3, &t->filter_l3_n, e3, sizeof(e3));
	if (r2 && r3) {
		const char *e = e2[0] ? e2 : e3;

		/* compile errors already name the expression ("filter 'EXPR': ...") */
		if (!strncmp(e, "filter '", 8))
			snprintf(err, errlen, "bad %s", e);
		else
			snprintf(err, errlen, "bad filter '%s': %s", expr, e);
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
/* With keep=false the caller owns the fd (a path probe whose link holds the program). */
static int clone_prog_fd(struct tracer *t, const struct bpf_program *p, enum bpf_attach_type at,
			 int attach_btf_id, int attach_btf_obj_fd, const char *what, bool keep)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = at,
		    .attach_btf_id = attach_btf_id, .attach_btf_obj_fd = attach_btf_obj_fd);
	const struct bpf_insn *insns = bpf_program__insns(p);
	size_t n = bpf_program__insn_cnt(p);
	struct bpf_insn *spliced = NULL;
	int fd, r;

	if (t->filter_l2 || t->filter_l3) {
		r = spliced_insns(t, p, &spliced, &n);
		if (r && r != -ENOENT)
			return r;
		if (!r)
			insns = spliced;
	}
	/* the template's name: bpftool shows which probe a clone is */
	fd = bpf_prog_load(bpf_program__type(p), bpf_program__name(p), "GPL", insns, n, &o);
	r = -errno;
	if (fd < 0 && t->verbose && t->fail_notes < MAX_FAIL_NOTES) {
		/* again with the verifier's log, which makes a load much slower */
		char *log = calloc(1, 65536);

		if (log) {
			o.log_buf = log;
			o.log_size = 65536;
			o.log_level = 1;
			if (bpf_prog_load(bpf_program__type(p), bpf_program__name(p), "GPL", insns, n, &o) < 0 &&
			    log[0])
				fprintf(stderr, "pwhy: verifier log for %s:\n%.4000s\n", what,
					log + (strlen(log) > 4000 ? strlen(log) - 4000 : 0));
			free(log);
		}
	}
	free(spliced);
	if (fd < 0)
		return r;
	note_walk(t, fd, bpf_program__name(p));
	return keep ? keep_fd(t, fd) : fd;
}

static int clone_prog(struct tracer *t, const struct bpf_program *p, enum bpf_attach_type at,
		      int attach_btf_id, const char *what)
{
	return clone_prog_fd(t, p, at, attach_btf_id, 0, what, true);
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

/* skb tracking through copies that get a buffer of their own, and ends of skbs no tracepoint
 * sees: fentry/fexit on the fentry backend, kprobe/kretprobe on the kprobe backend; the
 * tracepoint backend finds clones by buffer only. */
static bool copy_probe_wanted(const struct tracer *t, const struct btf *btf, const char *sec)
{
	const char *fn = strchr(sec, '/');

	if (!t->track_skb || !fn)
		return false;
	fn++;
	if (t->backend == PWHY_BACKEND_FENTRY &&
	    (!strncmp(sec, "fexit/", 6) || !strncmp(sec, "fentry/", 7)))
		return btf_func_id(btf, fn) >= 0;
	if (t->backend == PWHY_BACKEND_KPROBE &&
	    (!strncmp(sec, "kprobe/", 7) || !strncmp(sec, "kretprobe/", 10)))
		return ksym_addr(fn) != 0;
	return false;
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
		} else if (!strncmp(name, "pwhy_trk_", 9)) {
			load = copy_probe_wanted(t, btf, sec);
		} else {
			/* path templates: skb position is the last character of the name */
			int pos = name[strlen(name) - 1] - '0';
			const char *target = NULL;

			/* the template is only ever cloned; any vmlinux function of its kind will do */
			for (size_t i = 0; i < t->funcs.n && !target; i++)
				if (t->funcs.v[i].skb_pos == pos && !t->funcs.v[i].module)
					target = t->funcs.v[i].name;
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
		} else if (!strncmp(sec, "tp_btf/", 7) || !strncmp(sec, "tracepoint/", 11) ||
			   !strncmp(bpf_program__name(p), "pwhy_trk_", 9)) {
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

/* The kernel's BTF object of a module (fentry on its functions names it), found by name. */
static int module_btf_fd(struct tracer *t, const char *module)
{
	__u32 id = 0;

	for (int i = 0; i < t->nmodules; i++)
		if (!strcmp(t->modules[i].name, module))
			return t->modules[i].fd;
	if (t->nmodules == MAX_MODULES)
		return -E2BIG;
	while (bpf_btf_get_next_id(id, &id) == 0) {
		char name[64] = "";
		struct bpf_btf_info info = { .name = (__u64)(unsigned long)name,
					     .name_len = sizeof(name) };
		__u32 len = sizeof(info);
		int fd = bpf_btf_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.kernel_btf &&
		    !strcmp(name, module)) {
			t->modules[t->nmodules].name = strdup(module);
			t->modules[t->nmodules++].fd = fd;
			return fd;
		}
		close(fd);
	}
	return -ENOENT;
}

struct fentry_job {
	struct tracer *t;
	struct bpf_program *tmpl[FUNCS_MAX_POS + 1];
	int *obj_fd;		/* per function: module BTF fd, 0 for vmlinux */
};

/* One function: load a copy of the template bound to it, attach, keep only the link. */
static void fentry_one(size_t i, void *ctx)
{
	struct fentry_job *j = ctx;
	struct tracer *t = j->t;
	struct func_entry *f = &t->funcs.v[i];
	int fd, link;

	if (j->obj_fd[i] < 0) {
		refused(t, "fentry", f->name, -j->obj_fd[i]);
		return;
	}
	double t0 = workers_now(), t1;

	fd = clone_prog_fd(t, j->tmpl[f->skb_pos], BPF_TRACE_FENTRY, f->btf_id, j->obj_fd[i],
			   f->name, false);
	t1 = workers_now();
	if (fd < 0) {
		refused(t, "fentry", f->name, -fd);
		return;
	}
	link = bpf_raw_tracepoint_open(NULL, fd);
	pthread_mutex_lock(&t->lock);
	t->load_s += t1 - t0;
	t->link_s += workers_now() - t1;
	pthread_mutex_unlock(&t->lock);
	if (link < 0) {
		refused(t, "fentry attach", f->name, errno);
		close(fd);
		return;
	}
	close(fd);	/* the link holds the program */
	if (keep_fd(t, link) < 0)
		return;
	f->attached = 1;
	__atomic_fetch_add(&t->nattached, 1, __ATOMIC_RELAXED);
}

/* Each function needs its own verified copy and trampoline: loads run on every CPU. */
static int attach_fentry(struct tracer *t)
{
	struct fentry_job j = { .t = t };
	struct workers_opts wo = { .threads = workers_cpus(8), .what = "attaching", .stop = t->stop };

	for (int pos = 0; pos <= FUNCS_MAX_POS; pos++)
		j.tmpl[pos] = template_for(t, "pwhy_fentry", pos);
	j.obj_fd = calloc(t->funcs.n ? t->funcs.n : 1, sizeof(*j.obj_fd));
	if (!j.obj_fd)
		return -ENOMEM;
	for (size_t i = 0; i < t->funcs.n; i++)
		if (t->funcs.v[i].module)
			j.obj_fd[i] = module_btf_fd(t, t->funcs.v[i].module);
	workers_run(t->funcs.n, fentry_one, &j, &wo);
	free(j.obj_fd);
	return 0;
}

static int prog_fd_for(struct tracer *t, struct bpf_program *p, enum bpf_attach_type at)
{
	return has_filter(t) ? clone_prog(t, p, at, 0, bpf_program__name(p)) : bpf_program__fd(p);
}

/* One link for many functions; the kernel refuses the whole set for one function it cannot
 * take, so a refused set is split in halves until the culprits are alone. */
static void kmulti_attach_set(struct tracer *t, int prog_fd, struct func_entry **set, size_t n)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	const char **syms;
	int link, err;

	if (!n || stopping(t))
		return;
	syms = calloc(n, sizeof(*syms));
	if (!syms)
		return;
	for (size_t i = 0; i < n; i++)
		syms[i] = set[i]->name;
	lo.kprobe_multi.syms = syms;
	lo.kprobe_multi.cnt = n;
	link = bpf_link_create(prog_fd, 0, BPF_TRACE_KPROBE_MULTI, &lo);
	err = errno;
	free(syms);
	if (link >= 0) {
		if (keep_fd(t, link) < 0)
			return;
		for (size_t i = 0; i < n; i++)
			set[i]->attached = 1;
		t->nattached += n;
		return;
	}
	if (n == 1) {
		refused(t, "kprobe.multi", set[0]->name, err);
		return;
	}
	kmulti_attach_set(t, prog_fd, set, n / 2);
	kmulti_attach_set(t, prog_fd, set + n / 2, n - n / 2);
}

static int attach_kprobe_multi(struct tracer *t)
{
	struct func_entry **set = calloc(t->funcs.n ? t->funcs.n : 1, sizeof(*set));

	if (!set)
		return -ENOMEM;
	for (int pos = 0; pos <= FUNCS_MAX_POS && !stopping(t); pos++) {
		struct bpf_program *p = template_for(t, "pwhy_kmulti", pos);
		size_t n = 0;
		int fd;

		if (!bpf_program__autoload(p))
			continue;
		for (size_t i = 0; i < t->funcs.n; i++)
			if (t->funcs.v[i].skb_pos == pos)
				set[n++] = &t->funcs.v[i];
		fd = prog_fd_for(t, p, BPF_TRACE_KPROBE_MULTI);
		if (fd < 0) {
			free(set);
			return fd;
		}
		kmulti_attach_set(t, fd, set, n);
	}
	free(set);
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
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0 ||
	    ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
		int e = -errno;

		close(pfd);
		return e;
	}
	return keep_fd(t, pfd) < 0 ? -E2BIG : 0;
}

struct kprobe_job {
	struct tracer *t;
	int fds[FUNCS_MAX_POS + 1];
};

static void kprobe_one(size_t i, void *ctx)
{
	struct kprobe_job *j = ctx;
	struct func_entry *f = &j->t->funcs.v[i];
	int r;

	if (j->fds[f->skb_pos] < 0)
		return;
	r = attach_kprobe_one(j->t, j->fds[f->skb_pos], f->name);
	if (r) {
		refused(j->t, "kprobe", f->name, -r);
		return;
	}
	f->attached = 1;
	__atomic_fetch_add(&j->t->nattached, 1, __ATOMIC_RELAXED);
}

static int attach_kprobes(struct tracer *t)
{
	/* registering a kprobe takes the kernel's kprobe mutex: more threads would only wait */
	struct workers_opts wo = { .threads = 1, .what = "attaching", .stop = t->stop };
	struct kprobe_job j = { .t = t };

	for (int pos = 0; pos <= FUNCS_MAX_POS; pos++) {
		struct bpf_program *p = template_for(t, "pwhy_kprobe", pos);

		j.fds[pos] = bpf_program__autoload(p) ? prog_fd_for(t, p, 0) : -1;
	}
	workers_run(t->funcs.n, kprobe_one, &j, &wo);
	return 0;
}

/* Thousands of probes need thousands of fds: take what the hard limit allows. */
static void raise_nofile(size_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= need + 256)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need + 256 ? need + 256
									      : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void print_skipped(const struct tracer *t)
{
	size_t done = 0;

	for (size_t i = 0; i < t->funcs.n; i++)
		done += t->funcs.v[i].attached;
	fprintf(stderr, "pwhy: %zu functions attached, ", done);
	funcs_skipped_print(stderr, &t->skipped);
	for (int i = 0; i < MAX_ERRNOS && t->refused[i].n; i++)
		/* 524 is the kernel's ENOTSUPP (6.1 fentry on functions with more than 6 args) */
		fprintf(stderr, "%s%s %u", i ? ", " : " (", t->refused[i].err == 524 ?
			"not supported" : strerror(t->refused[i].err), t->refused[i].n);
	fputs(t->refused[0].n ? ")\n" : "\n", stderr);
}

static int attach_path_probes(struct tracer *t)
{
	double t0 = workers_now();
	int before = t->nattached, r = 0;

	raise_nofile(t->funcs.n + 64);
	if (t->backend == PWHY_BACKEND_FENTRY)
		r = attach_fentry(t);
	else if (t->backend == PWHY_BACKEND_KPROBE)
		r = t->kprobe_multi ? attach_kprobe_multi(t) : attach_kprobes(t);
	if (r)
		return r;
	if (stopping(t))
		return -EINTR;
	if (t->verbose) {
		fprintf(stderr, "pwhy: attached %d probes in %.2f s (%s)\n", t->nattached - before,
			workers_now() - t0, t->backend == PWHY_BACKEND_FENTRY ? "fentry" :
			t->kprobe_multi ? "kprobe.multi" : "kprobe");
		if (t->backend == PWHY_BACKEND_FENTRY)
			fprintf(stderr, "pwhy: fentry: %.2f s loading and verifying, %.2f s attaching trampolines (summed over %d threads)\n",
				t->load_s, t->link_s, workers_cpus(8));
		print_skipped(t);
	}
	return 0;
}

static void print_walk(struct tracer *t)
{
	struct bpf_program *p;

	if (!t->verbose)
		return;
	bpf_object__for_each_program(p, t->skel->obj)
		note_walk(t, bpf_program__fd(p), bpf_program__name(p));
	if (t->max_walk)
		fprintf(stderr, "pwhy: verifier: longest walk %u instructions (%s; the kernel's limit is 1000000)\n",
			t->max_walk, t->max_walk_prog);
}

static void plan_query(const struct tracer_opts *o, const struct btf *btf, bool plain_kprobes,
		       struct funcs_query *q)
{
	memset(q, 0, sizeof(*q));
	q->btf = btf;
	q->all = o->all_funcs;
	q->regex = o->filter_func;
	q->kmods = o->kmods;
	q->kprobe_deny = plain_kprobes;
}

int tracer_list_funcs(const struct tracer_opts *o, FILE *out, FILE *diag, char *err,
		      size_t errlen)
{
	struct btf *btf = pwhy_vmlinux_btf();
	struct funcs_skipped sk;
	struct func_list l;
	struct funcs_query q;
	int r;

	if (!btf) {
		snprintf(err, errlen, "no kernel BTF (/sys/kernel/btf/vmlinux): pwhy needs a kernel built with CONFIG_DEBUG_INFO_BTF");
		return -ENOENT;
	}
	/* plain kprobes (no kprobe.multi) refuse the deny list; other backends do not check it */
	plan_query(o, btf, o->backend == PWHY_BACKEND_KPROBE && !backend_probe()->kprobe_multi, &q);
	r = funcs_plan(&q, &l, &sk, err, errlen);
	if (r)
		return r;
	funcs_print(out, &l);
	fprintf(diag, "pwhy: %zu functions, ", l.n);
	funcs_skipped_print(diag, &sk);
	fputc('\n', diag);
	funcs_free(&l);
	return 0;
}

/* ---------------------------------------------------------------------------- lifecycle */

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
	free(t->filter_l3);
	free(t);
}
