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
#endif
