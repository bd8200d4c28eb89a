/* SPDX-License-Identifier: GPL-2.0 */
/* Placeholders for the pcap filter. pwhy replaces each stub's body with the eBPF translation of
 * the user's expression before loading the program (see src/splice.c). Calling convention:
 * R1 = kernel address of the first packet byte, R2 = readable length, R3 = length on the wire,
 * R4 = a copy of the first bytes (PWHY_PKT_SNAP readable), R5 = bytes valid in it;
 * R0 != 0 means match.
 * The volatile store of a magic immediate marks the stub in the instruction stream. The stub
 * itself returns 0 through an asm statement that takes every argument: the compiler can neither
 * drop an argument nor know the result (it keeps the code that follows a match), while the
 * verifier knows it, and so skips that code in the unspliced program (only its spliced clones
 * are attached when a filter is set): half the start-up time. */
#ifndef PWHY_FILTER_STUB_H
#define PWHY_FILTER_STUB_H

#include <pwhy/splice_magic.h>

static __noinline int pwhy_filter_l2(__u64 pkt, __u32 len, __u32 wirelen, const __u8 *copy,
				     __u32 copylen)
{
	volatile __u32 magic = PWHY_FILTER_MAGIC_L2;
	int r;

	asm volatile("%[r] = 0" : [r] "=r"(r)
		     : "r"(pkt), "r"(len), "r"(wirelen), "r"(copy), "r"(copylen), "r"(magic));
	return r;
}

static __noinline int pwhy_filter_l3(__u64 pkt, __u32 len, __u32 wirelen, const __u8 *copy,
				     __u32 copylen)
{
	volatile __u32 magic = PWHY_FILTER_MAGIC_L3;
	int r;

	asm volatile("%[r] = 0" : [r] "=r"(r)
		     : "r"(pkt), "r"(len), "r"(wirelen), "r"(copy), "r"(copylen), "r"(magic));
	return r;
}

/* The same for an inline body (pwhy_filter_translate_inline): each call is replaced by the
 * filter itself, with no call and no frame of its own, where the kernel lets a probe load
 * packet bytes from skb->head directly (see PWHY_CFG_FILTER_INLINE). pkt must be that pointer. */
static __noinline int pwhy_filter_inline_l2(const void *pkt, __u32 len, __u32 wirelen)
{
	volatile __u32 magic = PWHY_FILTER_MAGIC_INLINE_L2;
	int r;

	asm volatile("%[r] = 0" : [r] "=r"(r) : "r"(pkt), "r"(len), "r"(wirelen), "r"(magic));
	return r;
}

static __noinline int pwhy_filter_inline_l3(const void *pkt, __u32 len, __u32 wirelen)
{
	volatile __u32 magic = PWHY_FILTER_MAGIC_INLINE_L3;
	int r;

	asm volatile("%[r] = 0" : [r] "=r"(r) : "r"(pkt), "r"(len), "r"(wirelen), "r"(magic));
	return r;
}

#endif
