// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the filter translator. The first byte picks the input kind:
 *   even: the rest is a classic BPF program (8-byte struct sock_filter records), translated
 *         with pwhy_filter_translate() and as an inline body (pwhy_filter_translate_inline());
 *   odd:  the rest is a pcap-filter expression, compiled by libpcap on a dead handle (Ethernet
 *         or raw IP by bit 1) and translated with pwhy_filter_build().
 * Either way pwhy must translate or reject with a one-line message, never crash, and a
 * translation must have the shape the calling convention promises (include/pwhy/filter.h).
 * Host names in expressions make libpcap resolve them: the target runs in a network namespace
 * of its own so that no lookup leaves the process.
 */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pwhy/filter.h"

#define MAX_CBPF 4096
#define MAX_EXPR 512

static int expr_ok;	/* expressions only when no lookup can reach a network */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	expr_ok = unshare(CLONE_NEWNET) == 0;
	if (!expr_ok)
		fprintf(stderr, "fuzz_filter: no network namespace of its own, expressions skipped\n");
	return 0;
}

static void check_shape(const struct bpf_insn *eb, size_t en)
{
	if (!eb || en == 0)
		abort();
	if (eb[en - 1].code != (BPF_JMP | BPF_EXIT))
		abort();
	for (size_t i = 0; i < en; i++) {
		uint8_t cls = BPF_CLASS(eb[i].code), op = BPF_OP(eb[i].code);

		if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT &&
		    (eb[i].off < 0 || i + 1 + (size_t)eb[i].off >= en))
			abort();	/* backward or out of the array */
		if (cls == BPF_JMP && op == BPF_CALL &&
		    (eb[i].src_reg != 0 || eb[i].imm != BPF_FUNC_probe_read_kernel))
			abort();
		if ((cls == BPF_STX || cls == BPF_ST || cls == BPF_LDX) &&
		    (eb[i].dst_reg == BPF_REG_10 || eb[i].src_reg == BPF_REG_10) &&
		    (eb[i].off >= 0 || eb[i].off < -PWHY_FILTER_STACK_SIZE))
			abort();	/* outside the frame it declares */
		if (eb[i].dst_reg > BPF_REG_10 || eb[i].src_reg > BPF_REG_10)
			abort();
	}
}

/* an inline body: no call, no exit, no stack, R0-R5 only, forward jumps that stay inside or
 * land just past the end */
static void check_inline_shape(const struct bpf_insn *eb, size_t en)
{
	if (!eb || en == 0)
		abort();
	for (size_t i = 0; i < en; i++) {
		uint8_t cls = BPF_CLASS(eb[i].code), op = BPF_OP(eb[i].code);

		if (cls == BPF_JMP && (op == BPF_CALL || op == BPF_EXIT))
			abort();
		if ((cls == BPF_JMP || cls == BPF_JMP32) &&
		    (eb[i].off < 0 || i + 1 + (size_t)eb[i].off > en))
			abort();
		if (eb[i].dst_reg > BPF_REG_5 || eb[i].src_reg > BPF_REG_5)
			abort();
	}
}

static void check_result(int r, struct bpf_insn *eb, size_t en, const char *err)
{
	if (r == 0) {
		check_shape(eb, en);
	} else if (eb || en || !err[0] || strchr(err, '\n')) {
		abort();	/* a rejection leaves nothing behind and says why on one line */
	}
	free(eb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bpf_insn *eb = NULL;
	size_t en = 0;
	char err[512] = "";
	int r;

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		size_t n = (size - 1) / sizeof(struct sock_filter);
		struct sock_filter *prog;

		if (n > MAX_CBPF)
			return 0;
		prog = malloc(n * sizeof(*prog) + 1);	/* exact size: ASan sees overreads */
		memcpy(prog, data + 1, n * sizeof(*prog));
		r = pwhy_filter_translate(n ? prog : NULL, n, &eb, &en, err, sizeof(err));
		check_result(r, eb, en, err);
		eb = NULL, en = 0, err[0] = 0;
		r = pwhy_filter_translate_inline(n ? prog : NULL, n, &eb, &en, err, sizeof(err));
		if (r == 0)
			check_inline_shape(eb, en);
		else if (eb || en || !err[0] || strchr(err, '\n'))
			abort();
		free(eb);
		free(prog);
	} else if (expr_ok && size - 1 <= MAX_EXPR) {
		char *expr = strndup((const char *)data + 1, size - 1);
		int dlt = data[0] & 2 ? PWHY_DLT_RAW : PWHY_DLT_EN10MB;

		r = pwhy_filter_build(expr, dlt, &eb, &en, err, sizeof(err));
		check_result(r, eb, en, err);
		free(expr);
	}
	return 0;
}
