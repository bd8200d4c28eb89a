// SPDX-License-Identifier: GPL-2.0
/* Path probes: the skb functions of the plan, by backend: a verified copy and trampoline per
 * function (fentry), one link for all (kprobe.multi), or a perf kprobe each. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include "pwhy/btf_info.h"
#include "pwhy/workers.h"
#include "internal.h"

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

int attach_path_probes(struct tracer *t)
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

void plan_query(const struct tracer_opts *o, const struct btf *btf, bool plain_kprobes,
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
