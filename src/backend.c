// SPDX-License-Identifier: GPL-2.0
/* Which kinds of probe this kernel accepts. Each is proven by loading (and where it matters,
 * attaching) a two-instruction program, because kernels refuse in different places: a
 * locked-down kernel rejects fentry at load with EPERM, one without fprobe rejects a
 * kprobe.multi link with EOPNOTSUPP, one without kprobes has no kprobe PMU at all. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "pwhy/btf_info.h"
#include "pwhy/tracer.h"

static const struct bpf_insn ret0[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

/* a function every kernel pwhy supports has, that takes an skb first */
#define PROBE_FUNC "kfree_skbmem"

const char *backend_name(enum pwhy_backend b)
{
	switch (b) {
	case PWHY_BACKEND_FENTRY: return "fentry";
	case PWHY_BACKEND_KPROBE: return "kprobe";
	case PWHY_BACKEND_TRACEPOINT: return "tracepoint";
	default: return "auto";
	}
}

int backend_parse(const char *s, enum pwhy_backend *out)
{
	static const struct { const char *name; enum pwhy_backend b; } names[] = {
		{ "auto", PWHY_BACKEND_AUTO }, { "fentry", PWHY_BACKEND_FENTRY },
		{ "kprobe", PWHY_BACKEND_KPROBE }, { "kprobe-multi", PWHY_BACKEND_KPROBE },
		{ "tracepoint", PWHY_BACKEND_TRACEPOINT }, { "tp", PWHY_BACKEND_TRACEPOINT },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name)) {
			*out = names[i].b;
			return 0;
		}
	return -EINVAL;
}

static int probe_fentry(void)
{
	struct btf *btf = pwhy_vmlinux_btf();
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_FENTRY);
	int id, fd, link;

	if (!btf)
		return -ENOENT;
	id = btf_func_id(btf, PROBE_FUNC);
	if (id < 0)
		return -ENOENT;
	o.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "pwhy_probe", "GPL", ret0, 2, &o);
	if (fd < 0)
		return -errno;
	link = bpf_raw_tracepoint_open(NULL, fd);
	if (link < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(link);
	close(fd);
	return 0;
}

static int probe_kprobe_multi(int prog_fd)
{
	const char *syms[] = { PROBE_FUNC };
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	int link;

	lo.kprobe_multi.syms = syms;
	lo.kprobe_multi.cnt = 1;
	link = bpf_link_create(prog_fd, 0, BPF_TRACE_KPROBE_MULTI, &lo);
	if (link < 0)
		return -errno;
	close(link);
	return 0;
}

static void probe_kprobes(struct backend_caps *c)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_KPROBE_MULTI);
	int fd;

	/* plain kprobes need the kprobe PMU (or the legacy tracefs interface) */
	c->kprobe = access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0;
	c->kprobe_err = c->kprobe ? 0 : -EOPNOTSUPP;
	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "pwhy_probe", "GPL", ret0, 2, &o);
	if (fd < 0) {
		c->kprobe_multi_err = -errno;
		if (c->kprobe)
			c->kprobe_err = 0;
		return;
	}
	c->kprobe_multi_err = probe_kprobe_multi(fd);
	c->kprobe_multi = c->kprobe_multi_err == 0;
	close(fd);
}

/* Does a load of skb->head in a tp_btf program give a pointer the program may load from (the
 * 6.17 verifier's untrusted read-only memory), rather than a number? */
static bool probe_pkt_loads(void)
{
	struct btf *btf = pwhy_vmlinux_btf();
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_RAW_TP);
	long head = btf ? btf_struct_member_offset(btf, "sk_buff", "head") : -1;
	int tp = btf ? btf_tracepoint_id(btf, "netif_receive_skb") : -1;
	struct bpf_insn prog[] = {
		/* r1 = ctx[0] (the skb); r1 = skb->head; r0 = *(u8 *)(r1 + 13) */
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_1 },
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_1,
		  .off = (__s16)head },
		{ .code = BPF_LDX | BPF_MEM | BPF_B, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_1,
		  .off = 13 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd;

	if (head < 0 || head > 0x7fff || tp < 0)
		return false;
	o.attach_btf_id = tp;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "pwhy_probe", "GPL", prog, 5, &o);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

const struct backend_caps *backend_probe(void)
{
	static struct backend_caps caps;
	static int done;

	if (done)
		return &caps;
	done = 1;
	caps.fentry_err = probe_fentry();
	caps.fentry = caps.fentry_err == 0;
	probe_kprobes(&caps);
	caps.pkt_loads = probe_pkt_loads();
	return &caps;
}

int backend_choose(enum pwhy_backend want, enum pwhy_backend *got, char *err, size_t errlen)
{
	const struct backend_caps *c = backend_probe();

	switch (want) {
	case PWHY_BACKEND_AUTO:
		*got = c->fentry ? PWHY_BACKEND_FENTRY :
		       (c->kprobe || c->kprobe_multi) ? PWHY_BACKEND_KPROBE : PWHY_BACKEND_TRACEPOINT;
		return 0;
	case PWHY_BACKEND_FENTRY:
		if (!c->fentry) {
			snprintf(err, errlen, "this kernel refuses fentry programs (%s); use --backend tracepoint%s",
				 strerror(-c->fentry_err), (c->kprobe || c->kprobe_multi) ? " or kprobe" : "");
			return c->fentry_err;
		}
		break;
	case PWHY_BACKEND_KPROBE:
		if (!c->kprobe && !c->kprobe_multi) {
			snprintf(err, errlen, "this kernel has no kprobes (no kprobe PMU, kprobe.multi: %s); use --backend tracepoint%s",
				 strerror(-c->kprobe_multi_err), c->fentry ? " or fentry" : "");
			return -EOPNOTSUPP;
		}
		break;
	default:
		break;
	}
	*got = want;
	return 0;
}
