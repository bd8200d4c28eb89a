/* SPDX-License-Identifier: GPL-2.0 */
/* Output: one line per event and per finding, as text or JSON lines. */
#ifndef PWHY_RENDER_H
#define PWHY_RENDER_H
#include <stdbool.h>
#include <stdio.h>
#include "pwhy/event.h"
#include "pwhy/finding.h"

struct btf;

struct render {
	FILE *out;
	bool json;
	bool timestamp;
	bool header_done;
	const struct btf *btf;		/* drop reason names */
	const char *(*func_name)(__u64 ip);
	/* pwru-like extras (--output-*) */
	bool tcp_flags;
	bool stack;
	bool caller;
	unsigned long limit_lines;	/* 0 = no limit */
	unsigned long lines;		/* event lines printed so far */
	__u64 last_skb, last_ts;	/* the last event printed (its skb dump follows it) */
	/* frames of a stack id; returns their number or -errno */
	int (*stack_ips)(void *ctx, __s32 id, __u64 *ips, int max);
	void *stack_ctx;
};

/* The probe's display name: a function, "net_dev_queue", ... */
const char *render_probe_name(const struct render *r, const struct pwhy_event *ev, char *buf,
			      size_t len);
/* "NO_SOCKET", or the number when this kernel's BTF does not name it */
const char *render_drop_reason(const struct render *r, __u32 reason, char *buf, size_t len);
void render_event(struct render *r, const struct pwhy_event *ev);
void render_finding(struct render *r, const struct finding *f);
/* --output-skb: the BTF text of an skb, after its event line */
void render_skb_dump(struct render *r, const struct pwhy_skb_dump *d, size_t size);
/* --output-limit-lines reached: nothing more is printed */
bool render_limit_reached(const struct render *r);

/* tcpdump's flag letters ("S.", "FP.", "R"), "none" for no flag; returns buf */
const char *fmt_tcp_flags(__u8 flags, char *buf, size_t len);
/* Frames of the tracer itself (BPF program, trampoline, tracepoint glue): not the kernel's
 * own path, skipped when naming the caller or printing a stack. */
bool stack_frame_is_tracer(const char *sym);
/* How many innermost frames are the tracer's: named ones, and unnamed (JIT without kallsyms)
 * ones before the first named frame. */
int stack_tracer_frames(const char *const *syms, int n);
/* Index of the caller in a stack given as symbol names (innermost first): the first frame that
 * is neither the tracer's nor inside the probed function (NULL for tracepoints); -1 if none. */
int stack_caller_index(const char *const *syms, int n, const char *probed);
/* A free-form explanation line ("route" records etc.): text as is, JSON as {"kind":..,"text":..} */
void render_note(struct render *r, const char *kind, const char *text);
#endif
