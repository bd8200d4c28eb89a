/* SPDX-License-Identifier: GPL-2.0 */
/* Replacing a marked placeholder subprogram of a loaded-once BPF program with other code. */
#ifndef PWHY_SPLICE_H
#define PWHY_SPLICE_H
#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>

/* Does the program contain the stub marked with magic? */
bool splice_has_stub(const struct bpf_insn *insns, size_t n, __u32 magic);

/* New instruction array (malloc'ed) where the stub subprogram marked by magic is replaced by
 * body, with every BPF-to-BPF call and callback reference that crosses it re-aimed.
 * Returns 0, -ENOENT when there is no stub, -E2BIG when a call offset overflows. */
int splice_stub(const struct bpf_insn *insns, size_t n, __u32 magic,
		const struct bpf_insn *body, size_t body_n,
		struct bpf_insn **out, size_t *out_n);

/* New instruction array (malloc'ed) where every call of the stub subprogram marked by magic is
 * replaced by body, which must end by falling through (no exit) and use no register past R5
 * and no stack, and the stub itself is removed; every jump, call and callback reference that
 * crosses a changed place is re-aimed. Returns 0, -ENOENT when there is no stub, -EINVAL when
 * the stub is referenced other than by calls, -E2BIG when an offset overflows. */
int splice_inline(const struct bpf_insn *insns, size_t n, __u32 magic,
		  const struct bpf_insn *body, size_t body_n,
		  struct bpf_insn **out, size_t *out_n);
#endif
