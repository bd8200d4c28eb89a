// SPDX-License-Identifier: GPL-2.0
/*
 * pcap-filter expression -> classic BPF (libpcap) -> eBPF subprogram body.
 * See include/pwhy/filter.h for the calling convention of the generated code.
 */

/* <pcap.h> has its own (classic) struct bpf_insn; rename it before <linux/bpf.h> is seen. */
#define bpf_insn pcap_bpf_insn
#include <pcap/pcap.h>
#undef bpf_insn

#include "pwhy/filter.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(PWHY_DLT_EN10MB == DLT_EN10MB, "DLT_EN10MB");
_Static_assert(PWHY_DLT_RAW == DLT_RAW, "DLT_RAW");
_Static_assert(sizeof(struct sock_filter) == sizeof(struct pcap_bpf_insn), "cBPF layout");

#define HELPER_PROBE_READ_KERNEL 113 /* BPF_FUNC_probe_read_kernel */

/* Register allocation of the generated code: the subprogram's (below), or the inline body's,
 * which may only use R0-R5 (see struct emitter). */
enum {
	R0, R1, R2, R3, R4, R5,
	SUB_PKT = 6,  /* packet address (scalar) */
	SUB_A = 7,    /* cBPF accumulator, always a zero-extended u32 */
	SUB_X = 8,    /* cBPF index register, always a zero-extended u32 */
	SUB_LEN = 9,  /* readable bytes (caplen), zero-extended u32 */
	R_FP = 10,
};
#define R_PKT (e->r_pkt)
#define R_A   (e->r_a)
#define R_X   (e->r_x)
#define R_LEN (e->r_len)

/* Stack layout (offsets from the frame pointer). */
#define SLOT_LOAD    (-8)
#define SLOT_WIRELEN (-16)
#define SLOT_COPY    (-24)	/* R4: the caller's copy of the first packet bytes (pointer) */
#define SLOT_COPYLEN (-32)	/* R5: bytes valid in it */
#define SLOT_MEM(i)  (-PWHY_FILTER_STACK_SIZE + 4 * (int)(i))
#define MEMWORDS     16
_Static_assert(SLOT_MEM(MEMWORDS) <= SLOT_COPYLEN, "stack layout");

#define TARGET_RET0 SIZE_MAX       /* fixup target: the shared "return 0" tail */
#define TARGET_END  (SIZE_MAX - 1) /* fixup target: just past the inline body */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------------------------------ */
/* Compilation with libpcap                                                                   */

/* The expression as one line: control characters (a newline in an argument) shown as '?' */
static void printable(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[i] = 0;
}

int pwhy_filter_compile(const char *expr, int dlt, struct sock_filter **insns, size_t *n,
			char *err, size_t errlen)
{
	struct bpf_program prog;
	struct sock_filter *copy;
	pcap_t *p;

	*insns = NULL;
	*n = 0;
	if (!expr)
		expr = "";
	if (dlt != PWHY_DLT_EN10MB && dlt != PWHY_DLT_RAW) {
		set_err(err, errlen, "filter: unsupported link type %d (want Ethernet or raw IP)", dlt);
		return -EINVAL;
	}
	p = pcap_open_dead(dlt, PWHY_FILTER_SNAPLEN);
	if (!p) {
		set_err(err, errlen, "filter: pcap_open_dead failed");
		return -ENOMEM;
	}
	memset(&prog, 0, sizeof(prog));
	if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		char msg[PCAP_ERRBUF_SIZE], shown[256];
		size_t toklen;
		long pos;

		snprintf(msg, sizeof(msg), "%s", pcap_geterr(p));
		pcap_close(p);
		printable(expr, shown, sizeof(shown));
		pos = pwhy_filter_error_pos(expr, dlt, msg, &toklen);
		if (pos >= 0 && toklen)
			set_err(err, errlen, "filter '%s': %s at column %ld ('%.*s')", shown, msg,
				pos + 1, (int)toklen, shown + pos);
		else if (pos >= 0)
			set_err(err, errlen, "filter '%s': %s at column %ld (end of expression)",
				shown, msg, pos + 1);
		else
			set_err(err, errlen, "filter '%s': %s", shown, msg);
		return -EINVAL;
	}
	copy = calloc(prog.bf_len ? prog.bf_len : 1, sizeof(*copy));
	if (!copy) {
		pcap_freecode(&prog);
		pcap_close(p);
		set_err(err, errlen, "filter '%s': out of memory", expr);
		return -ENOMEM;
	}
	memcpy(copy, prog.bf_insns, prog.bf_len * sizeof(*copy));
	*insns = copy;
	*n = prog.bf_len;
	pcap_freecode(&prog);
	pcap_close(p);
	return 0;
}

void pwhy_filter_free_cbpf(struct sock_filter *insns)
{
	free(insns);
}

/* ------------------------------------------------------------------------------------------ */
/* Classic BPF: validation, naming                                                            */

/* Opcodes libpcap's interpreter knows; everything else is rejected. */
static int cbpf_known(uint16_t code)
{
	switch (code) {
	case BPF_RET | BPF_K:
	case BPF_RET | BPF_A:
	case BPF_LD | BPF_W | BPF_ABS:
	case BPF_LD | BPF_H | BPF_ABS:
	case BPF_LD | BPF_B | BPF_ABS:
	case BPF_LD | BPF_W | BPF_LEN:
	case BPF_LDX | BPF_W | BPF_LEN:
	case BPF_LD | BPF_W | BPF_IND:
	case BPF_LD | BPF_H | BPF_IND:
	case BPF_LD | BPF_B | BPF_IND:
	case BPF_LDX | BPF_MSH | BPF_B:
	case BPF_LD | BPF_IMM:
	case BPF_LDX | BPF_IMM:
	case BPF_LD | BPF_MEM:
	case BPF_LDX | BPF_MEM:
	case BPF_ST:
	case BPF_STX:
	case BPF_JMP | BPF_JA:
	case BPF_ALU | BPF_NEG:
	case BPF_MISC | BPF_TAX:
	case BPF_MISC | BPF_TXA:
		return 1;
	}
	switch (code & ~BPF_X) {
	case BPF_JMP | BPF_JEQ:
	case BPF_JMP | BPF_JGT:
	case BPF_JMP | BPF_JGE:
	case BPF_JMP | BPF_JSET:
	case BPF_ALU | BPF_ADD:
	case BPF_ALU | BPF_SUB:
	case BPF_ALU | BPF_MUL:
	case BPF_ALU | BPF_DIV:
	case BPF_ALU | BPF_MOD:
	case BPF_ALU | BPF_AND:
	case BPF_ALU | BPF_OR:
	case BPF_ALU | BPF_XOR:
	case BPF_ALU | BPF_LSH:
	case BPF_ALU | BPF_RSH:
		return 1;
	}
	return 0;
}

static const char *cbpf_mnemonic(uint16_t code)
{
	static const char *const alu[16] = { "add", "sub", "mul", "div", "or", "and", "lsh", "rsh",
					     "neg", "mod", "xor" };
	static const char *const jmp[16] = { "ja", "jeq", "jgt", "jge", "jset" };
	const char *s;

	switch (BPF_CLASS(code)) {
	case BPF_LD:
		return BPF_SIZE(code) == BPF_H ? "ldh" : BPF_SIZE(code) == BPF_B ? "ldb" : "ld";
	case BPF_LDX:
		return BPF_MODE(code) == BPF_MSH ? "ldxb" : "ldx";
	case BPF_ST:
		return "st";
	case BPF_STX:
		return "stx";
	case BPF_ALU:
		s = alu[BPF_OP(code) >> 4];
		return s ? s : "alu?";
	case BPF_JMP:
		s = jmp[BPF_OP(code) >> 4];
		return s ? s : "jmp?";
	case BPF_RET:
		return "ret";
	default:
		return BPF_MISCOP(code) == BPF_TXA ? "txa" : "tax";
	}
}

static const char *skf_ad_name(uint32_t off)
{
	switch (off) {
	case SKF_AD_PROTOCOL: return "protocol";
	case SKF_AD_PKTTYPE: return "pkttype (inbound/outbound)";
	case SKF_AD_IFINDEX: return "ifindex";
	case SKF_AD_NLATTR: return "nlattr";
	case SKF_AD_NLATTR_NEST: return "nlattr_nest";
	case SKF_AD_MARK: return "mark";
	case SKF_AD_QUEUE: return "queue";
	case SKF_AD_HATYPE: return "hatype";
	case SKF_AD_RXHASH: return "rxhash";
	case SKF_AD_CPU: return "cpu";
	case SKF_AD_ALU_XOR_X: return "alu_xor_x";
	case SKF_AD_VLAN_TAG: return "vlan_tag";
	case SKF_AD_VLAN_TAG_PRESENT: return "vlan_tag_present";
	case SKF_AD_PAY_OFFSET: return "pay_offset";
	case SKF_AD_RANDOM: return "random";
	case SKF_AD_VLAN_TPID: return "vlan_tpid";
	}
	return "unknown";
}

#define INSN_ERR(fmt, ...)                                                                   \
	set_err(err, errlen, "cBPF insn %zu (code 0x%02x %s, k=%#x): " fmt, i, ins->code,    \
		cbpf_mnemonic(ins->code), ins->k, ##__VA_ARGS__)

/* Successors of instruction i (forward only); returns how many (0..2). */
static int cbpf_succ(const struct sock_filter *ins, size_t i, size_t succ[2])
{
	switch (BPF_CLASS(ins->code)) {
	case BPF_RET:
		return 0;
	case BPF_JMP:
		if (BPF_OP(ins->code) == BPF_JA) {
			succ[0] = i + 1 + ins->k;
			return 1;
		}
		succ[0] = i + 1 + ins->jt;
		succ[1] = i + 1 + ins->jf;
		return succ[0] == succ[1] ? 1 : 2;
	case BPF_ALU:
		/* constant division by zero: returns 0, never falls through */
		if ((BPF_OP(ins->code) == BPF_DIV || BPF_OP(ins->code) == BPF_MOD) &&
		    BPF_SRC(ins->code) == BPF_K && ins->k == 0)
			return 0;
		/* fallthrough */
	default:
		succ[0] = i + 1;
		return 1;
	}
}

/* Check every instruction, compute reachability; fills reach[], *mem_read (bit per M[i]). */
static int cbpf_check(const struct sock_filter *cbpf, size_t n, unsigned char *reach,
		      unsigned *mem_read, char *err, size_t errlen)
{
	size_t i, succ[2];
	int k, ns;

	*mem_read = 0;
	reach[0] = 1;
	for (i = 0; i < n; i++) {
		const struct sock_filter *ins = &cbpf[i];
		uint16_t code = ins->code;

		if (!reach[i])
			continue;
		if (!cbpf_known(code)) {
			INSN_ERR("unknown opcode");
			return -EINVAL;
		}
		switch (code) {
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
		case BPF_ST:
		case BPF_STX:
			if (ins->k >= MEMWORDS) {
				INSN_ERR("scratch memory index out of range");
				return -EINVAL;
			}
			if (BPF_CLASS(code) == BPF_LD || BPF_CLASS(code) == BPF_LDX)
				*mem_read |= 1u << ins->k;
			break;
		case BPF_LD | BPF_W | BPF_ABS:
		case BPF_LD | BPF_H | BPF_ABS:
		case BPF_LD | BPF_B | BPF_ABS:
		case BPF_LDX | BPF_MSH | BPF_B:
			if (ins->k >= 0x80000000u) {
				uint32_t ad = ins->k - (uint32_t)SKF_AD_OFF;

				if ((int32_t)ins->k >= SKF_AD_OFF)
					INSN_ERR("ancillary load SKF_AD_OFF+%u (%s) needs socket "
						 "metadata and cannot be translated",
						 ad, skf_ad_name(ad));
				else
					INSN_ERR("negative-offset load (SKF_NET_OFF/SKF_LL_OFF) "
						 "cannot be translated");
				return -EINVAL;
			}
			break;
		case BPF_ALU | BPF_LSH | BPF_K:
		case BPF_ALU | BPF_RSH | BPF_K:
			if (ins->k >= 32) {
				INSN_ERR("shift by a constant >= 32");
				return -EINVAL;
			}
			break;
		case BPF_JMP | BPF_JA:
			if ((int32_t)ins->k < 0) {
				INSN_ERR("backward jump (libpcap emits these for 'protochain') "
					 "cannot be translated");
				return -EINVAL;
			}
			break;
		}
		ns = cbpf_succ(ins, i, succ);
		for (k = 0; k < ns; k++) {
			if (succ[k] >= n || succ[k] < i + 1) {
				INSN_ERR("%s", succ[k] == n && BPF_CLASS(code) != BPF_JMP
						       ? "program does not end with ret"
						       : "jump target out of range");
				return -EINVAL;
			}
			reach[succ[k]] = 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* eBPF emission                                                                              */

struct fixup {
	size_t at;     /* index of the jump instruction */
	size_t target; /* cBPF index, or TARGET_RET0 */
};

struct emitter {
	struct bpf_insn *insn;
	size_t n, cap;
	struct fixup *fix;
	size_t nfix, capfix;
	int nomem;
	int ret0_used;
	/* inline body: R1 an untrusted pointer, loads are plain, no stack, no call, "return" is a
	 * jump past the end; A in R0, X in R4, caplen in R2, wire length in R3, R5 scratch */
	int inline_body;
	uint8_t r_pkt, r_a, r_x, r_len;
};

static void emit(struct emitter *e, uint8_t code, uint8_t dst, uint8_t src, int16_t off,
		 int32_t imm)
{
	struct bpf_insn *ins;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 256;
		struct bpf_insn *p = realloc(e->insn, cap * sizeof(*p));

		if (!p) {
			e->nomem = 1;
			return;
		}
		e->insn = p;
		e->cap = cap;
	}
	ins = &e->insn[e->n++];
	memset(ins, 0, sizeof(*ins));
	ins->code = code;
	ins->dst_reg = dst;
	ins->src_reg = src;
	ins->off = off;
	ins->imm = imm;
}

/* A jump whose offset is fixed up once every cBPF instruction has an eBPF address. */
static void emit_jump(struct emitter *e, uint8_t code, uint8_t dst, uint8_t src, int32_t imm,
		      size_t target)
{
	if (e->nfix == e->capfix) {
		size_t cap = e->capfix ? e->capfix * 2 : 64;
		struct fixup *p = realloc(e->fix, cap * sizeof(*p));

		if (!p) {
			e->nomem = 1;
			return;
		}
		e->fix = p;
		e->capfix = cap;
	}
	if (target == TARGET_RET0)
		e->ret0_used = 1;
	emit(e, code, dst, src, 0, imm);
	if (e->nomem)
		return;
	e->fix[e->nfix].at = e->n - 1;
	e->fix[e->nfix].target = target;
	e->nfix++;
}

#define MOV64_REG(d, s)       emit(e, BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, v)       emit(e, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, v)
#define MOV32_REG(d, s)       emit(e, BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV32_IMM(d, v)       emit(e, BPF_ALU | BPF_MOV | BPF_K, d, 0, 0, (int32_t)(v))
#define ALU64_IMM(op, d, v)   emit(e, BPF_ALU64 | (op) | BPF_K, d, 0, 0, v)
#define ALU64_REG(op, d, s)   emit(e, BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define ALU32_IMM(op, d, v)   emit(e, BPF_ALU | (op) | BPF_K, d, 0, 0, (int32_t)(v))
#define ALU32_REG(op, d, s)   emit(e, BPF_ALU | (op) | BPF_X, d, s, 0, 0)
#define LDX_MEM(sz, d, s, o)  emit(e, BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX_MEM(sz, d, s, o)  emit(e, BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST_MEM(sz, d, o, v)   emit(e, BPF_ST | BPF_MEM | (sz), d, 0, o, v)
#define JA_LOCAL(o)           emit(e, BPF_JMP | BPF_JA, 0, 0, o, 0)
#define CALL_HELPER(id)       emit(e, BPF_JMP | BPF_CALL, 0, 0, 0, id)
#define EXIT()                emit(e, BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* A jump to a local label: returns its index, for patch_local() once the label is known. */
static size_t emit_local_jump(struct emitter *e, uint8_t code, uint8_t dst, uint8_t src,
			      int32_t imm)
{
	emit(e, code, dst, src, 0, imm);
	return e->n - 1;
}

static void patch_local(struct emitter *e, size_t at)
{
	if (!e->nomem)
		e->insn[at].off = (int16_t)(e->n - at - 1);
}

/*
 * emit_pkt_load() in an inline body: R_PKT is a pointer the verifier lets us load from at any offset,
 * each load being one the kernel makes fault-tolerant, so only caplen needs checking. R5 is the
 * only scratch register.
 */
static void emit_pkt_load_inline(struct emitter *e, int size, uint32_t k, int ind, uint8_t dst)
{
	uint8_t bsz = size == 4 ? BPF_W : size == 2 ? BPF_H : BPF_B;
	int16_t off = k <= INT16_MAX ? (int16_t)k : 0;

	if (!ind) {
		/* k < 2^31 (checked), so k + size fits a u32 and k fits the s32 immediate */
		emit_jump(e, BPF_JMP32 | BPF_JLT | BPF_K, R_LEN, 0, (int32_t)(k + (uint32_t)size),
			  TARGET_RET0);
		if (!off && k) {
			MOV64_REG(R5, R_PKT);
			ALU64_IMM(BPF_ADD, R5, (int32_t)k);
			LDX_MEM(bsz, dst, R5, 0);
		} else {
			LDX_MEM(bsz, dst, R_PKT, off);
		}
	} else {
		/* X + k + size in 64 bits (k zero-extended: no wrap) within caplen */
		MOV32_IMM(R5, k);
		ALU64_REG(BPF_ADD, R5, R_X);
		ALU64_IMM(BPF_ADD, R5, size);
		emit_jump(e, BPF_JMP | BPF_JGT | BPF_X, R5, R_LEN, 0, TARGET_RET0);
		/* then the pointer plus X plus k: a scalar plus a pointer would not be one */
		MOV64_REG(R5, R_PKT);
		ALU64_REG(BPF_ADD, R5, R_X);
		if (!off && k > INT32_MAX) {
			ALU64_IMM(BPF_ADD, R5, INT32_MAX);
			ALU64_IMM(BPF_ADD, R5, (int32_t)(k - INT32_MAX));
		} else if (!off && k) {
			ALU64_IMM(BPF_ADD, R5, (int32_t)k);
		}
		LDX_MEM(bsz, dst, R5, off);
	}
	if (size > 1)
		emit(e, BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, size * 8);
}

/*
 * Load `size` bytes at packet offset k (or X + k when ind) into register dst, big-endian,
 * zero-extended.  Out of [0, caplen) or a faulting read -> return 0.
 *
 * Bytes inside the caller's copy (R4/R5 at entry) are loaded from it with a plain load; the
 * bounds checks against the constant PWHY_FILTER_COPY_MAX are what lets the verifier accept
 * the variable offset of indirect loads. Other bytes are read with bpf_probe_read_kernel.
 */
static void emit_pkt_load(struct emitter *e, int size, uint32_t k, int ind, uint8_t dst)
{
	uint8_t bsz = size == 4 ? BPF_W : size == 2 ? BPF_H : BPF_B;
	size_t to_slow[3], nslow = 0, to_done = SIZE_MAX;

	if (e->inline_body) {
		emit_pkt_load_inline(e, size, k, ind, dst);
		return;
	}
	/* fast path: from the copy */
	if (!ind && k + (uint64_t)size <= PWHY_FILTER_COPY_MAX) {
		LDX_MEM(BPF_W, R1, R_FP, SLOT_COPYLEN);
		to_slow[nslow++] = emit_local_jump(e, BPF_JMP32 | BPF_JLT | BPF_K, R1, 0,
						   (int32_t)(k + size));
		LDX_MEM(BPF_DW, R2, R_FP, SLOT_COPY);
		LDX_MEM(bsz, dst, R2, (int16_t)k);
	} else if (ind && k + (uint64_t)size <= PWHY_FILTER_COPY_MAX) {
		/* offset = X + k (< 2^32 + COPY_MAX, no wrap in 64 bits). Built with reg += reg
		 * rather than reg = reg: 6.12's verifier links copied registers and then loses
		 * track of the pointer this offset is added to. */
		MOV64_IMM(R3, 0);
		ALU64_REG(BPF_ADD, R3, R_X);
		if (k)
			ALU64_IMM(BPF_ADD, R3, (int32_t)k);
		to_slow[nslow++] = emit_local_jump(e, BPF_JMP | BPF_JGT | BPF_K, R3, 0,
						   PWHY_FILTER_COPY_MAX - size);
		MOV64_IMM(R4, size);
		ALU64_REG(BPF_ADD, R4, R3);
		LDX_MEM(BPF_W, R1, R_FP, SLOT_COPYLEN);
		to_slow[nslow++] = emit_local_jump(e, BPF_JMP | BPF_JGT | BPF_X, R4, R1, 0);
		LDX_MEM(BPF_DW, R2, R_FP, SLOT_COPY);
		ALU64_REG(BPF_ADD, R2, R3);
		LDX_MEM(bsz, dst, R2, 0);
	}
	if (nslow) {
		if (size > 1)
			emit(e, BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, size * 8);
		to_done = emit_local_jump(e, BPF_JMP | BPF_JA, 0, 0, 0);
		for (size_t i = 0; i < nslow; i++)
			patch_local(e, to_slow[i]);
	}

	/* slow path: bpf_probe_read_kernel within caplen */
	if (!ind) {
		/* k < 2^31 (checked), so k + size fits a u32 and k fits the s32 immediate */
		emit_jump(e, BPF_JMP32 | BPF_JLT | BPF_K, R_LEN, 0, (int32_t)(k + (uint32_t)size),
			  TARGET_RET0);
		MOV64_REG(R3, R_PKT);
		if (k)
			ALU64_IMM(BPF_ADD, R3, (int32_t)k);
	} else {
		/* offset = X + k computed in 64 bits, so it cannot wrap */
		MOV64_REG(R3, R_X);
		if (k >= 0x80000000u) {
			MOV32_IMM(R4, k);
			ALU64_REG(BPF_ADD, R3, R4);
		} else if (k) {
			ALU64_IMM(BPF_ADD, R3, (int32_t)k);
		}
		MOV64_REG(R4, R3);
		ALU64_IMM(BPF_ADD, R4, size);
		emit_jump(e, BPF_JMP | BPF_JGT | BPF_X, R4, R_LEN, 0, TARGET_RET0);
		ALU64_REG(BPF_ADD, R3, R_PKT);
	}
	MOV64_REG(R1, R_FP);
	ALU64_IMM(BPF_ADD, R1, SLOT_LOAD);
	MOV64_IMM(R2, size);
	CALL_HELPER(HELPER_PROBE_READ_KERNEL);
	emit_jump(e, BPF_JMP | BPF_JNE | BPF_K, R0, 0, 0, TARGET_RET0);
	LDX_MEM(bsz, dst, R_FP, SLOT_LOAD);
	if (size > 1)
		emit(e, BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, size * 8);
	if (to_done != SIZE_MAX)
		patch_local(e, to_done);
}

static uint8_t jmp_invert(uint8_t op)
{
	switch (op) {
	case BPF_JEQ: return BPF_JNE;
	case BPF_JGT: return BPF_JLE;
	case BPF_JGE: return BPF_JLT;
	}
	return 0; /* BPF_JSET has no inverse */
}

static void emit_one(struct emitter *e, const struct sock_filter *ins, size_t i)
{
	uint16_t code = ins->code;
	uint32_t k = ins->k;

	switch (BPF_CLASS(code)) {
	case BPF_RET:
		if (BPF_RVAL(code) == BPF_A)
			MOV32_REG(R0, R_A);
		else
			MOV32_IMM(R0, k);
		if (e->inline_body)
			emit_jump(e, BPF_JMP | BPF_JA, 0, 0, 0, TARGET_END);
		else
			EXIT();
		return;

	case BPF_LD:
	case BPF_LDX: {
		uint8_t dst = BPF_CLASS(code) == BPF_LD ? R_A : R_X;
		int size = BPF_SIZE(code) == BPF_W ? 4 : BPF_SIZE(code) == BPF_H ? 2 : 1;

		switch (BPF_MODE(code)) {
		case BPF_IMM:
			MOV32_IMM(dst, k);
			return;
		case BPF_LEN:
			if (e->inline_body)
				MOV32_REG(dst, R3);
			else
				LDX_MEM(BPF_W, dst, R_FP, SLOT_WIRELEN);
			return;
		case BPF_MEM:
			LDX_MEM(BPF_W, dst, R_FP, SLOT_MEM(k));
			return;
		case BPF_ABS:
			emit_pkt_load(e, size, k, 0, dst);
			return;
		case BPF_IND:
			emit_pkt_load(e, size, k, 1, dst);
			return;
		case BPF_MSH:
			emit_pkt_load(e, 1, k, 0, R_X);
			ALU32_IMM(BPF_AND, R_X, 0xf);
			ALU32_IMM(BPF_LSH, R_X, 2);
			return;
		}
		return;
	}

	case BPF_ST:
		STX_MEM(BPF_W, R_FP, R_A, SLOT_MEM(k));
		return;
	case BPF_STX:
		STX_MEM(BPF_W, R_FP, R_X, SLOT_MEM(k));
		return;

	case BPF_MISC:
		if (BPF_MISCOP(code) == BPF_TAX)
			MOV32_REG(R_X, R_A);
		else
			MOV32_REG(R_A, R_X);
		return;

	case BPF_ALU: {
		uint8_t op = BPF_OP(code);

		if (op == BPF_NEG) {
			emit(e, BPF_ALU | BPF_NEG, R_A, 0, 0, 0);
			return;
		}
		if (BPF_SRC(code) == BPF_K) {
			if ((op == BPF_DIV || op == BPF_MOD) && k == 0) {
				emit_jump(e, BPF_JMP | BPF_JA, 0, 0, 0, TARGET_RET0);
				return;
			}
			ALU32_IMM(op, R_A, k);
			return;
		}
		if (op == BPF_DIV || op == BPF_MOD)
			emit_jump(e, BPF_JMP32 | BPF_JEQ | BPF_K, R_X, 0, 0, TARGET_RET0);
		ALU32_REG(op, R_A, R_X);
		if (op == BPF_LSH || op == BPF_RSH) {
			/* eBPF masks the shift count; libpcap yields 0 for X >= 32 */
			emit(e, BPF_JMP32 | BPF_JLT | BPF_K, R_X, 0, 1, 32);
			MOV32_IMM(R_A, 0);
		}
		return;
	}

	case BPF_JMP: {
		uint8_t op = BPF_OP(code), inv;
		uint8_t src = BPF_SRC(code) == BPF_X ? R_X : 0;
		uint8_t jcode = BPF_JMP32 | op | BPF_SRC(code);
		int32_t imm = BPF_SRC(code) == BPF_X ? 0 : (int32_t)k;
		size_t t, f;

		if (op == BPF_JA) {
			if (k)
				emit_jump(e, BPF_JMP | BPF_JA, 0, 0, 0, i + 1 + k);
			return;
		}
		t = i + 1 + ins->jt;
		f = i + 1 + ins->jf;
		if (t == f) {
			if (t != i + 1)
				emit_jump(e, BPF_JMP | BPF_JA, 0, 0, 0, t);
		} else if (f == i + 1) {
			emit_jump(e, jcode, R_A, src, imm, t);
		} else if (t == i + 1 && (inv = jmp_invert(op)) != 0) {
			emit_jump(e, BPF_JMP32 | inv | BPF_SRC(code), R_A, src, imm, f);
		} else {
			emit_jump(e, jcode, R_A, src, imm, t);
			emit_jump(e, BPF_JMP | BPF_JA, 0, 0, 0, f);
		}
		return;
	}
	}
}

static bool uses_scratch(const struct sock_filter *cbpf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t c = cbpf[i].code;

		if (BPF_CLASS(c) == BPF_ST || BPF_CLASS(c) == BPF_STX ||
		    ((BPF_CLASS(c) == BPF_LD || BPF_CLASS(c) == BPF_LDX) && BPF_MODE(c) == BPF_MEM))
			return true;
	}
	return false;
}

static int translate(const struct sock_filter *cbpf, size_t n, bool inline_body,
		     struct bpf_insn **out, size_t *out_n, char *err, size_t errlen)
{
	struct emitter em = { .inline_body = inline_body }, *e = &em;
	unsigned char *reach = NULL;
	size_t *map = NULL, ret0 = 0, i;
	unsigned mem_read;
	int ret;

	*out = NULL;
	*out_n = 0;
	if (!cbpf || n == 0) {
		set_err(err, errlen, "cBPF program is empty");
		return -EINVAL;
	}
	if (inline_body && uses_scratch(cbpf, n)) {
		set_err(err, errlen, "scratch memory (M[]) has no place in an inline filter");
		return -EOPNOTSUPP;
	}
	reach = calloc(n, 1);
	map = calloc(n, sizeof(*map));
	if (!reach || !map) {
		ret = -ENOMEM;
		set_err(err, errlen, "out of memory");
		goto out;
	}
	ret = cbpf_check(cbpf, n, reach, &mem_read, err, errlen);
	if (ret)
		goto out;

	if (inline_body) {
		/* R1 (packet), R2 (caplen) and R3 (wire length) stay where they came */
		e->r_pkt = R1, e->r_len = R2, e->r_a = R0, e->r_x = R4;
		MOV32_REG(R2, R2);
		MOV32_REG(R3, R3);
		MOV32_IMM(R_A, 0);
		MOV32_IMM(R_X, 0);
	} else {
		e->r_pkt = SUB_PKT, e->r_len = SUB_LEN, e->r_a = SUB_A, e->r_x = SUB_X;
		/* Prologue: arguments to callee-saved registers and the stack, A = X = 0, M[]
		 * that is read zeroed. */
		MOV64_REG(R_PKT, R1);
		MOV32_REG(R_LEN, R2);
		MOV32_IMM(R_A, 0);
		MOV32_IMM(R_X, 0);
		STX_MEM(BPF_W, R_FP, R3, SLOT_WIRELEN);
		STX_MEM(BPF_DW, R_FP, R4, SLOT_COPY);
		/* the copy never counts for more than caplen */
		emit(e, BPF_JMP32 | BPF_JLE | BPF_X, R5, R_LEN, 1, 0);
		MOV32_REG(R5, R_LEN);
		STX_MEM(BPF_W, R_FP, R5, SLOT_COPYLEN);
	}
	for (i = 0; i < MEMWORDS; i++)
		if (mem_read & (1u << i))
			ST_MEM(BPF_W, R_FP, SLOT_MEM(i), 0);

	for (i = 0; i < n; i++) {
		map[i] = e->n;
		if (reach[i])
			emit_one(e, &cbpf[i], i);
	}
	if (e->ret0_used) {
		ret0 = e->n;
		MOV32_IMM(R0, 0);
		if (!inline_body)
			EXIT();
	}
	if (e->nomem) {
		ret = -ENOMEM;
		set_err(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < e->nfix; i++) {
		size_t at = e->fix[i].at;
		size_t tg = e->fix[i].target;
		size_t to = tg == TARGET_RET0 ? ret0 : tg == TARGET_END ? e->n : map[tg];
		long off = (long)to - (long)at - 1;

		if (off > INT16_MAX || off < 0) {
			ret = -E2BIG;
			set_err(err, errlen, "filter too large: eBPF jump offset %ld does not fit "
					     "16 bits (%zu cBPF insns -> %zu eBPF insns)", off, n, e->n);
			goto out;
		}
		e->insn[at].off = (int16_t)off;
	}
	*out = e->insn;
	*out_n = e->n;
	e->insn = NULL;
	ret = 0;
out:
	free(e->insn);
	free(e->fix);
	free(reach);
	free(map);
	return ret;
}

int pwhy_filter_translate(const struct sock_filter *cbpf, size_t n, struct bpf_insn **out,
			  size_t *out_n, char *err, size_t errlen)
{
	return translate(cbpf, n, false, out, out_n, err, errlen);
}

int pwhy_filter_translate_inline(const struct sock_filter *cbpf, size_t n, struct bpf_insn **out,
				 size_t *out_n, char *err, size_t errlen)
{
	return translate(cbpf, n, true, out, out_n, err, errlen);
}

int pwhy_filter_build(const char *expr, int dlt, struct bpf_insn **out, size_t *out_n,
		      char *err, size_t errlen)
{
	struct sock_filter *cbpf;
	size_t n;
	int ret;

	*out = NULL;
	*out_n = 0;
	ret = pwhy_filter_compile(expr, dlt, &cbpf, &n, err, errlen);
	if (ret)
		return ret;
	ret = pwhy_filter_translate(cbpf, n, out, out_n, err, errlen);
	pwhy_filter_free_cbpf(cbpf);
	return ret;
}
