/* SPDX-License-Identifier: GPL-2.0 */
/* The attach plan for path probes: functions and the position of their skb argument. */
#ifndef PWHY_FUNCS_H
#define PWHY_FUNCS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#define FUNCS_MAX_POS 5
/* skb_pos of a socket send entry (udp_sendmsg...): no skb yet, shown with the first one */
#define FUNCS_POS_SEND 0

struct btf;

struct func_entry {
	char *name;
	char *module;		/* NULL: vmlinux */
	__u32 btf_id;		/* in vmlinux BTF, or in the module's split BTF */
	int skb_pos;		/* 1..FUNCS_MAX_POS, or FUNCS_POS_SEND */
	int nargs;
	int attached;
};

struct func_list {
	struct func_entry *v;
	size_t n, cap;
};

/* Why a function taking an skb is left out of the plan (or failed to attach). */
enum funcs_skip {
	FUNCS_SKIP_NO_SYMBOL,		/* inlined everywhere: BTF knows it, kallsyms does not */
	FUNCS_SKIP_NOT_TRACEABLE,	/* notrace/noinstr: not in available_filter_functions */
	FUNCS_SKIP_AMBIGUOUS,		/* several functions share the name */
	FUNCS_SKIP_DENIED,		/* on the kernel's kprobe deny list */
	FUNCS_SKIP_TRACING,		/* tracepoint glue (__traceiter_*...): the tracepoint shows it */
	FUNCS_SKIP_ATTACH_FAILED,	/* the kernel refused it at load or attach */
	FUNCS_SKIP_MAX,
};

struct funcs_skipped {
	unsigned n[FUNCS_SKIP_MAX];
	unsigned candidates;		/* functions whose prototype qualifies */
};

struct funcs_query {
	const struct btf *btf;		/* vmlinux */
	bool all;			/* every function taking an skb (else: the core set) */
	const char *regex;		/* or those whose name matches */
	bool kmods;			/* also functions in loaded modules' BTF */
	bool kprobe_deny;		/* leave out the kprobe deny list (plain kprobes refuse it) */
};

int funcs_plan(const struct funcs_query *q, struct func_list *out, struct funcs_skipped *sk,
	       char *err, size_t errlen);
int funcs_add(struct func_list *l, const char *name, const char *module, __u32 btf_id, int pos,
	      int nargs);
void funcs_free(struct func_list *l);
const char *funcs_skip_reason(enum funcs_skip s);
/* "skipped 212 of 1744: 150 inlined (no symbol), 40 notrace, ..." (no newline) */
void funcs_skipped_print(FILE *f, const struct funcs_skipped *sk);
/* One line per function: name, skb argument position (or "sendmsg"), module when not vmlinux. */
void funcs_print(FILE *f, const struct func_list *l);
#endif
