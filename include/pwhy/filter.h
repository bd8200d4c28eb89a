/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet filters: pcap-filter(7) expression -> classic BPF (via libpcap) -> eBPF subprogram.
 *
 * The eBPF output is the *body of a BPF-to-BPF callable subprogram*.  A probe program carries a
 * placeholder subprogram that is replaced by these instructions before the program is loaded.
 *
 * Calling convention of the generated subprogram
 * ----------------------------------------------
 *   R1  kernel address of the first packet byte: the MAC header for PWHY_DLT_EN10MB, the IP
 *       header for PWHY_DLT_RAW.  It must be a plain scalar as far as the verifier is concerned
 *       (e.g. skb->head + skb->mac_header read with BPF_CORE_READ / bpf_probe_read_kernel).  It
 *       is only ever passed to bpf_probe_read_kernel(), never dereferenced.  A verifier-tracked
 *       pointer (map value, stack, packet) also loads for filters without indirect loads, but
 *       indirect loads (`tcp[...]` on IPv4, `udp[udp[8]]`, ...) add an unbounded offset to it,
 *       which the verifier rejects for pointers.
 *   R2  number of bytes that may be read from R1 (u32, the capture length).  Every classic load
 *       that would touch a byte at or past R1+R2 makes the filter return 0, as in cBPF.
 *   R3  length of the packet on the wire (u32); this is what `len`, `greater N`, `less N` test.
 *       Pass R2 again if it is unknown.  R3 is always read, so it must be initialised.
 *   R4  a verifier-tracked pointer (map value, stack) to a copy of the first packet bytes, with
 *       at least PWHY_FILTER_COPY_MAX readable bytes behind it.  Loads that fall inside the
 *       copy's valid part are plain loads from it: one bpf_probe_read_kernel by the caller
 *       instead of one per load.  Loads past it fall back to bpf_probe_read_kernel from R1.
 *   R5  number of valid bytes in the copy (u32); taken as min(R5, R2); 0 = no copy (every load
 *       is a helper call; R4 must still be such a pointer).
 *   R0  on return: 0 = no match, non-zero = match (the cBPF return value, e.g. 262144).
 *
 * Inside, A lives in R7, X in R8, the packet address in R6 and the capture length in R9 (all
 * callee-saved; the verifier's frame model restores the caller's R6-R9 on return).  R1-R5 and R0
 * are clobbered, as for any call.  Packet bytes are copied with bpf_probe_read_kernel (helper
 * 113, GPL-only), so the enclosing program must be GPL and of a type that may call it (tracing:
 * raw_tp, tp_btf, tracepoint, kprobe, fentry ...).  A read that faults also returns 0.
 *
 * The subprogram's own stack frame uses PWHY_FILTER_STACK_SIZE bytes (the verifier rounds each
 * frame up to a multiple of 32, and the whole call chain must stay within 512 bytes):
 *   fp-8  .. fp-1   load slot for bpf_probe_read_kernel
 *   fp-16 .. fp-13  wire length (from R3)
 *   fp-24 .. fp-17  the copy's address (R4)
 *   fp-32 .. fp-29  the copy's valid length (R5, at most R2)
 *   fp-96 .. fp-33  scratch memory M[0..15], M[i] at fp-96+4*i
 *
 * The code contains only forward jumps, no instruction is unreachable, the last instruction is an
 * exit, every register and stack slot is written before it is read, and it uses 32-bit jumps and
 * ALU ops (BPF_JMP32: kernel >= 5.1).  Jumps stay inside the returned array, so it can be
 * appended after a caller as-is; the caller's BPF_CALL (src_reg BPF_PSEUDO_CALL) imm is the
 * relative offset to its first instruction.
 *
 * Semantics follow libpcap's bpf_filter(): A, X and M[] start at 0; ALU ops are 32-bit
 * unsigned; division or modulo by zero returns 0; a shift by X >= 32 gives 0; a shift by a
 * constant >= 32 is rejected at translation (libpcap never emits it).  Not translatable (error):
 * Linux ancillary loads at negative offsets (SKF_AD_*: `inbound`, `outbound`, `ifindex`, and the
 * `vlan` tests libpcap emits for live Linux captures; a dead handle as used here emits plain
 * loads for `vlan`), and backward jumps (libpcap uses them only for `protochain`).
 *
 * Note: <pcap.h> also defines a `struct bpf_insn` (the classic one).  A file that needs both
 * must rename one of them, e.g. `#define bpf_insn pcap_bpf_insn` around `#include <pcap.h>`,
 * included before this header.
 */
#ifndef PWHY_FILTER_H
#define PWHY_FILTER_H

#include <stddef.h>
#include <linux/bpf.h>    /* struct bpf_insn (eBPF) */
#include <linux/filter.h> /* struct sock_filter (classic BPF) */

#define PWHY_DLT_EN10MB 1   /* Ethernet: R1 points at the MAC header */
#define PWHY_DLT_RAW    12  /* raw IPv4/IPv6: R1 points at the IP header (Linux DLT_RAW) */

#define PWHY_FILTER_SNAPLEN    262144 /* snaplen given to libpcap; `ret #262144` means match */
#define PWHY_FILTER_STACK_SIZE 96     /* bytes of stack the generated subprogram uses */
#define PWHY_FILTER_COPY_MAX   128    /* bytes of the copy (R4) the generated code may read */

/*
 * Compile a pcap-filter expression for a link type (PWHY_DLT_EN10MB or PWHY_DLT_RAW) with
 * pcap_open_dead + pcap_compile (snaplen PWHY_FILTER_SNAPLEN, optimiser on, netmask unknown, so
 * `ip broadcast` is refused).  NULL or "" compiles to a single `ret #262144`.
 * Returns 0 and a malloc'ed array in *insns / *n, or -EINVAL with a one-line message in err
 * (including libpcap's own text).  Free the array with pwhy_filter_free_cbpf().
 */
int pwhy_filter_compile(const char *expr, int dlt, struct sock_filter **insns, size_t *n,
			char *err, size_t errlen);
void pwhy_filter_free_cbpf(struct sock_filter *insns);

/*
 * Translate a classic BPF program into the eBPF subprogram body described above.
 * Returns 0 and a malloc'ed array in *out / *out_n (free() it), or a negative errno (-EINVAL for
 * an instruction that cannot be translated, -E2BIG if the result is too large for 16-bit jump
 * offsets, -ENOMEM) with a one-line message in err naming the instruction index and opcode.
 */
int pwhy_filter_translate(const struct sock_filter *cbpf, size_t n, struct bpf_insn **out,
			  size_t *out_n, char *err, size_t errlen);

/*
 * The same as a body to put in place of a call (see splice_inline()), for kernels whose verifier
 * gives a load of a pointer-to-byte field (skb->head) an untrusted read-only pointer that may be
 * loaded from at any offset (6.17+): no call, no stack, only R0-R5.
 *   R1  such a pointer to the first packet byte; every load is a plain load from it, which the
 *       kernel makes fault-tolerant, checked against R2 only.
 *   R2  caplen, R3 wire length (u32; zero-extended on entry);
 *   R0  at the end: 0 = no match. R1-R5 are clobbered; R6-R10 and the stack are untouched.
 * A "return" jumps just past the last instruction, where the caller's code goes on.
 * Programs that use scratch memory M[] are refused with -EOPNOTSUPP (the caller's frame is not
 * ours to use); the caller then keeps the subprogram.
 */
int pwhy_filter_translate_inline(const struct sock_filter *cbpf, size_t n, struct bpf_insn **out,
				 size_t *out_n, char *err, size_t errlen);

/*
 * Where libpcap's error `pcap_msg` for `expr` lies: the byte offset of the offending token (its
 * length in *toklen), strlen(expr) with *toklen 0 when the expression ends too early, or -1 when
 * it cannot be told. Used by pwhy_filter_compile() to add "at column N ('token')".
 */
long pwhy_filter_error_pos(const char *expr, int dlt, const char *pcap_msg, size_t *toklen);

/* pwhy_filter_compile() followed by pwhy_filter_translate(). */
int pwhy_filter_build(const char *expr, int dlt, struct bpf_insn **out, size_t *out_n,
		      char *err, size_t errlen);

#endif
