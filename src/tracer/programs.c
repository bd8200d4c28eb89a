// SPDX-License-Identifier: GPL-2.0
/* The probe programs as loaded: the user's pcap filter compiled and spliced into each program
 * that carries the stubs, and copies of a loaded template bound to other attach points. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/event.h"
#include "pwhy/filter.h"
#include "pwhy/splice.h"
#include "pwhy/splice_magic.h"
#include "internal.h"

_Static_assert(PWHY_PKT_SNAP >= PWHY_FILTER_COPY_MAX, "the probes' packet copy feeds the filter");

/* "return 0": used for the framing an expression cannot be compiled for (ether on L3) */
static const struct bpf_insn reject_all[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

/* Compile for one link type: the subprogram body, and the inline body when want_inline (left
 * NULL when the expression needs what an inline body cannot have). */
static int compile_one(const char *expr, int dlt, bool want_inline, struct bpf_insn **out,
		       size_t *n, struct bpf_insn **inl, size_t *inl_n, char *err, size_t errlen)
{
	struct sock_filter *cbpf = NULL;
	char ierr[256];
	size_t cn = 0;
	int r;

	r = pwhy_filter_compile(expr, dlt, &cbpf, &cn, err, errlen);
	if (r)
		return r;
	r = pwhy_filter_translate(cbpf, cn, out, n, err, errlen);
	if (!r && want_inline)
		pwhy_filter_translate_inline(cbpf, cn, inl, inl_n, ierr, sizeof(ierr));
	pwhy_filter_free_cbpf(cbpf);
	return r;
}

/* "r0 = 0" as an inline body: a link type the expression cannot be compiled for */
static const struct bpf_insn reject_all_inline[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
};

static struct bpf_insn *insns_dup(const struct bpf_insn *b, size_t n)
{
	struct bpf_insn *d = malloc(n * sizeof(*d));

	if (d)
		memcpy(d, b, n * sizeof(*d));
	return d;
}

int filter_prepare(struct tracer *t, const char *expr, char *err, size_t errlen)
{
	/* PWHY_FILTER_COPY=1: the copy and the subprogram everywhere (to compare the two) */
	bool want_inline = backend_probe()->pkt_loads && !getenv("PWHY_FILTER_COPY");
	char e2[512] = "", e3[512] = "";
	int r2, r3;

	r2 = compile_one(expr, PWHY_DLT_EN10MB, want_inline, &t->filter_l2, &t->filter_l2_n,
			 &t->inline_l2, &t->inline_l2_n, e2, sizeof(e2));
	r3 = compile_one(expr, PWHY_DLT_RAW, want_inline, &t->filter_l3, &t->filter_l3_n,
			 &t->inline_l3, &t->inline_l3_n, e3, sizeof(e3));
	if (r2 && r3) {
		const char *e = e2[0] ? e2 : e3;

		/* compile errors already name the expression ("filter 'EXPR': ...") */
		if (!strncmp(e, "filter '", 8))
			snprintf(err, errlen, "bad %s", e);
		else
			snprintf(err, errlen, "bad filter '%s': %s", expr, e);
		return r2;
	}
	/* a link type the expression has no code for never matches, inline as well */
	if (want_inline && r2 && !t->inline_l2) {
		t->inline_l2 = insns_dup(reject_all_inline, 1);
		t->inline_l2_n = 1;
	}
	if (want_inline && r3 && !t->inline_l3) {
		t->inline_l3 = insns_dup(reject_all_inline, 1);
		t->inline_l3_n = 1;
	}
	/* both or neither: the probes pick one way for every skb */
	if (!t->inline_l2 || !t->inline_l3) {
		free(t->inline_l2);
		free(t->inline_l3);
		t->inline_l2 = t->inline_l3 = NULL;
	}
	if (t->inline_l2)
		note(t, "pcap filter inline, loading packet bytes in place (tracepoints%s)%s",
		     t->backend == PWHY_BACKEND_FENTRY ? ", fentry" : "", "");
	else if (want_inline)
		note(t, "pcap filter as a subprogram on a copy of the packet: the expression needs scratch memory%s%s", "", "");
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
	const struct bpf_insn *body, *in = bpf_program__insns(p);
	struct bpf_insn *tmp = NULL, *inl = NULL, *inl2 = NULL;
	size_t n, bn, tmp_n, in_n = bpf_program__insn_cnt(p), inl_n;
	int r;

	/* the inline bodies first: each takes the place of its calls (programs without a
	 * BTF-typed skb keep the stubs, on a path the verifier knows is never taken) */
	if (t->inline_l2 && t->inline_l3) {
		r = splice_inline(in, in_n, PWHY_FILTER_MAGIC_INLINE_L2, t->inline_l2,
				  t->inline_l2_n, &inl, &inl_n);
		if (r && r != -ENOENT)
			return r;
		if (!r) {
			r = splice_inline(inl, inl_n, PWHY_FILTER_MAGIC_INLINE_L3, t->inline_l3,
					  t->inline_l3_n, &inl2, &in_n);
			if (r == -ENOENT) {	/* no L3 call: what the L2 splice made */
				inl2 = inl, in_n = inl_n, inl = NULL;
				r = 0;
			}
			free(inl);
			if (r)
				return r;
			in = inl2;
		}
	}
	body = filter_body(t, true, &bn);
	r = splice_stub(in, in_n, PWHY_FILTER_MAGIC_L2, body, bn, &tmp, &tmp_n);
	free(inl2);
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
int clone_prog_fd(struct tracer *t, const struct bpf_program *p, enum bpf_attach_type at,
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

int clone_prog(struct tracer *t, const struct bpf_program *p, enum bpf_attach_type at,
		      int attach_btf_id, const char *what)
{
	return clone_prog_fd(t, p, at, attach_btf_id, 0, what, true);
}

bool has_filter(const struct tracer *t)
{
	return t->filter_l2 || t->filter_l3;
}

/* -v: how many instructions the verifier walked for a loaded program (start-up time grows
 * with it, and a kernel refuses a program past a million); the longest is reported. */
void note_walk(struct tracer *t, int fd, const char *name)
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

void print_walk(struct tracer *t)
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
