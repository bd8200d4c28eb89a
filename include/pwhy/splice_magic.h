/* SPDX-License-Identifier: GPL-2.0 */
/* Immediates that mark the pcap-filter stubs in a compiled probe (bpf/filter_stub.h). */
#ifndef PWHY_SPLICE_MAGIC_H
#define PWHY_SPLICE_MAGIC_H
#define PWHY_FILTER_MAGIC_L2 0x70776832u	/* "pwh2" */
#define PWHY_FILTER_MAGIC_L3 0x70776833u	/* "pwh3" */
#define PWHY_FILTER_MAGIC_INLINE_L2 0x70776932u	/* "pwi2": spliced in place of its calls */
#define PWHY_FILTER_MAGIC_INLINE_L3 0x70776933u	/* "pwi3" */
#endif
