// SPDX-License-Identifier: GPL-2.0
/* Splicing the pcap filter into a probe. libbpf has appended every subprogram to the program by
 * the time it is loaded, so the stub is a contiguous range that starts at a call target. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/splice.h"

static bool is_ld_imm64(const struct bpf_insn *i)
{
	return i->code == (BPF_LD | BPF_IMM | BPF_DW);
}

/* A reference to another subprogram: a bpf-to-bpf call or a callback address (bpf_loop etc). */
static bool is_subprog_ref(const struct bpf_insn *i)
{
	return (i->code == (BPF_JMP | BPF_CALL) && i->src_reg == BPF_PSEUDO_CALL) ||
	       (is_ld_imm64(i) && i->src_reg == BPF_PSEUDO_FUNC);
}

static bool is_marker(const struct bpf_insn *i, __u32 magic)
{
	__u8 cls = BPF_CLASS(i->code);

	if ((__u32)i->imm != magic)
		return false;
	return (cls == BPF_ST && BPF_MODE(i->code) == BPF_MEM) ||
	       ((cls == BPF_ALU || cls == BPF_ALU64) && BPF_OP(i->code) == BPF_MOV &&
		BPF_SRC(i->code) == BPF_K);
}

static long find_marker(const struct bpf_insn *insns, size_t n, __u32 magic)
{
	for (size_t i = 0; i < n; i++) {
		if (is_marker(&insns[i], magic))
			return (long)i;
		if (is_ld_imm64(&insns[i]))
			i++;
	}
	return -1;
}

bool splice_has_stub(const struct bpf_insn *insns, size_t n, __u32 magic)
{
	return find_marker(insns, n, magic) >= 0;
}

/* [*start, *end) of the subprogram that contains index m */
static void subprog_bounds(const struct bpf_insn *insns, size_t n, size_t m, size_t *start,
			   size_t *end)
{
	*start = 0;
	*end = n;
	for (size_t i = 0; i < n; i++) {
		if (is_subprog_ref(&insns[i])) {
			long t = (long)i + insns[i].imm + 1;

			if (t >= 0 && (size_t)t <= m && (size_t)t > *start)
				*start = t;
			if (t >= 0 && (size_t)t > m && (size_t)t < *end)
				*end = t;
		}
		if (is_ld_imm64(&insns[i]))
			i++;
	}
}

int splice_stub(const struct bpf_insn *insns, size_t n, __u32 magic,
		const struct bpf_insn *body, size_t body_n,
		struct bpf_insn **out, size_t *out_n)
{
	long m = find_marker(insns, n, magic);
	size_t s, e, total;
	long delta;
	struct bpf_insn *res;

	if (m < 0)
		return -ENOENT;
	subprog_bounds(insns, n, m, &s, &e);
	delta = (long)body_n - (long)(e - s);
	total = n + delta;
	res = calloc(total, sizeof(*res));
	if (!res)
		return -ENOMEM;
	memcpy(res, insns, s * sizeof(*res));
	memcpy(res + s, body, body_n * sizeof(*res));
	memcpy(res + s + body_n, insns + e, (n - e) * sizeof(*res));

	/* re-aim references whose source or target moved */
	for (size_t i = 0; i < n; i++) {
		const struct bpf_insn *old = &insns[i];

		if (i >= s && i < e)
			continue;
		if (is_subprog_ref(old)) {
			long t = (long)i + old->imm + 1;
			long ni = i < s ? (long)i : (long)i + delta;
			long nt = t <= (long)s ? t : t + delta;
			long imm = nt - ni - 1;

			if (imm < -32768 * 2048L || imm > 32767 * 2048L) {
				free(res);
				return -E2BIG;
			}
			res[ni].imm = (__s32)imm;
		}
		if (is_ld_imm64(old))
			i++;
	}
	*out = res;
	*out_n = total;
	return 0;
}

static bool is_jump(const struct bpf_insn *i)
{
	__u8 cls = BPF_CLASS(i->code), op = BPF_OP(i->code);

	return (cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT;
}

/* a 32-bit jump always (gotol) keeps its offset in imm */
static bool is_long_ja(const struct bpf_insn *i)
{
	return i->code == (BPF_JMP32 | BPF_JA);
}

int splice_inline(const struct bpf_insn *insns, size_t n, __u32 magic,
		  const struct bpf_insn *body, size_t body_n,
		  struct bpf_insn **out, size_t *out_n)
{
	long m = find_marker(insns, n, magic);
	size_t s, e, total = 0, *map;
	struct bpf_insn *res;

	if (m < 0)
		return -ENOENT;
	subprog_bounds(insns, n, m, &s, &e);
	map = calloc(n + 1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	/* where each old instruction goes; a call of the stub becomes the body's first */
	for (size_t i = 0; i < n; i++) {
		const struct bpf_insn *in = &insns[i];

		map[i] = total;
		if (i >= s && i < e)
			continue;
		if (is_subprog_ref(in) && (long)i + in->imm + 1 == (long)s) {
			if (is_ld_imm64(in)) {
				free(map);
				return -EINVAL;
			}
			total += body_n;
			continue;
		}
		total++;
	}
	map[n] = total;
	res = calloc(total ? total : 1, sizeof(*res));
	if (!res) {
		free(map);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct bpf_insn *in = &insns[i];
		struct bpf_insn *o = &res[map[i]];
		long t, d;

		if (i >= s && i < e)
			continue;
		if (is_subprog_ref(in) && (long)i + in->imm + 1 == (long)s) {
			memcpy(o, body, body_n * sizeof(*o));
			continue;
		}
		*o = *in;
		if (is_jump(in) || is_subprog_ref(in)) {
			bool in_imm = is_long_ja(in) || is_subprog_ref(in);

			t = (long)i + (in_imm ? in->imm : in->off) + 1;
			/* nothing but calls may lead into the stub */
			if (t < 0 || t > (long)n || (t >= (long)s && t < (long)e)) {
				free(res);
				free(map);
				return -EINVAL;
			}
			d = (long)map[t] - (long)map[i] - 1;
			if (in_imm ? (d < INT32_MIN || d > INT32_MAX) : (d < INT16_MIN || d > INT16_MAX)) {
				free(res);
				free(map);
				return -E2BIG;
			}
			if (in_imm)
				o->imm = (__s32)d;
			else
				o->off = (__s16)d;
		}
	}
	free(map);
	*out = res;
	*out_n = total;
	return 0;
}
