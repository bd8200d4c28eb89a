/* SPDX-License-Identifier: GPL-2.0 */
/* The tracing engine's state, shared by its parts: programs.c (the filter and the program
 * copies), fact_probes.c (tracepoints), path_probes.c (functions, by backend) and tracer.c
 * (open, poll, close). Everything attached is an fd owned by this process, so nothing
 * outlives it, not even after SIGKILL. */
#ifndef PWHY_TRACER_INTERNAL_H
#define PWHY_TRACER_INTERNAL_H
#include <pthread.h>
#include <signal.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "pwhy/funcs.h"
#include "pwhy/tracer.h"
#include "trace.skel.h"

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
	/* the same filters as inline bodies (PWHY_CFG_FILTER_INLINE), where the kernel allows */
	struct bpf_insn *inline_l2, *inline_l3;
	size_t inline_l2_n, inline_l3_n;
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

/* tracer.c */
void note(const struct tracer *t, const char *fmt, const char *a, const char *b);
int keep_fd(struct tracer *t, int fd);
bool stopping(const struct tracer *t);
void refused(struct tracer *t, const char *how, const char *func, int err);

/* programs.c */
int filter_prepare(struct tracer *t, const char *expr, char *err, size_t errlen);
bool has_filter(const struct tracer *t);
int clone_prog_fd(struct tracer *t, const struct bpf_program *p, enum bpf_attach_type at,
		  int attach_btf_id, int attach_btf_obj_fd, const char *what, bool keep);
int clone_prog(struct tracer *t, const struct bpf_program *p, enum bpf_attach_type at,
	       int attach_btf_id, const char *what);
void note_walk(struct tracer *t, int fd, const char *name);
void print_walk(struct tracer *t);

/* fact_probes.c */
void select_programs(struct tracer *t, const struct btf *btf);
int attach_fact_probes(struct tracer *t, const struct btf *btf);

/* path_probes.c */
int attach_path_probes(struct tracer *t);
void plan_query(const struct tracer_opts *o, const struct btf *btf, bool plain_kprobes,
		struct funcs_query *q);
#endif
