// SPDX-License-Identifier: GPL-2.0
/*
 * Filter translation: differential test against libpcap.  For every (expression, packet) pair
 * the verdict of libpcap's own interpreter, bpf_filter(), must equal the value returned by the
 * translated eBPF subprogram run in the kernel (BPF_PROG_TEST_RUN on a raw_tp wrapper program).
 * Needs root (bpf syscall).
 */

/* <pcap.h> declares a classic struct bpf_insn; keep it apart from the eBPF one. */
#define bpf_insn pcap_bpf_insn
#include <pcap/pcap.h>
#undef bpf_insn

#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pwhy/filter.h"
#include "pwhy/tracer.h"
#include "pwhy/btf_info.h"
#include <bpf/btf.h>
#include "check.h"
#include "filter_corpus.h"

#define NO_MATCH_SENTINEL 0xfffffffeu /* wrapper's return value when its own lookup fails */

static struct corpus corpus;
static int map_fd = -1;
static unsigned long pairs_compared, pairs_mismatched;
/* how many bytes of each packet the wrapper hands the filter as its copy (R4/R5): the probes'
 * case (PWHY_FILTER_COPY_MAX), part of the headers (fast and slow loads mixed), or none */
static uint32_t copy_cap = PWHY_FILTER_COPY_MAX;
static const uint32_t copy_caps[] = { PWHY_FILTER_COPY_MAX, 37, 0 };
static unsigned long runs_compared;
/* > 0 (the BTF id of bpf_rdonly_cast): this kernel runs inline filter bodies, and the harness
 * can hand one the untrusted pointer it expects; each expression is then compared in both
 * translations */
static int cast_id;
static unsigned long inline_compared, inline_refused;
/* a careless caller: copy length past caplen (the filter must cap it at caplen) */
static int copy_past_caplen;

/* ------------------------------------------------------------------------------------------ */
/* Expressions                                                                                */

/* Valid for both Ethernet and raw IP framing (`ether[]` just indexes the packet). */
static const char *const exprs_l3[] = {
	"",
	"ip",
	"ip6",
	"udp",
	"tcp",
	"icmp",
	"icmp6",
	"ip6 and udp",
	"ip and not udp",
	"not ip and not ip6",
	"tcp port 80",
	"udp port 53",
	"port 53",
	"src port 1234",
	"dst port 80",
	"not port 22",
	"portrange 1000-2000",
	"tcp portrange 1-1024",
	"dst portrange 50-60",
	"tcp src portrange 30000-50000",
	"udp and (port 53 or port 5353)",
	"host 10.0.0.1",
	"src host 10.0.0.1",
	"dst host 192.0.2.1",
	"net 10.0.0.0/8",
	"src net 10.0.0.0/8 and dst port 53",
	"tcp and (dst port 80 or dst port 443) and not src net 10.0.0.0/8",
	"ip host 192.0.2.1 and (udp or icmp)",
	"host 10.0.0.1 or host 2001:db8::1",
	"ip6 host 2001:db8::1",
	"ip6 net 2001:db8::/32",
	"ip6 dst net ff02::/16",
	"ip6 and tcp port 443",
	"ip6 multicast",
	"ip multicast",
	"tcp[tcpflags] & tcp-syn != 0",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)",
	"tcp[tcpflags] & tcp-rst != 0",
	"tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
	"tcp[13] & 2 != 0",
	"tcp[13] = 0x18",
	"tcp[12:1] >> 4 > 5",
	"tcp dst port 80 and tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
	"icmp[icmptype] = icmp-echo",
	"icmp[icmptype] == icmp-echoreply",
	"icmp6 and ip6[40] = 128",
	"ip6[6] = 17",
	"ip[6:2] & 0x1fff != 0",
	"ip[6:2] & 0x2000 != 0",
	"ip[0] & 0xf > 5",
	"ip[0] & 0xf != 5 and udp",
	"ip[2:2] > 60",
	"ip[12:4] = 0x0a000001",
	"udp[8:4] = 0xdeadbeef",
	"udp[8 + (udp[8] & 3)] == 1",
	"udp[8] + udp[9] < 3",
	"len > 100",
	"len <= 64",
	"greater 200",
	"less 60",
	"udp port 53 and len < 100",
	"proto 47",
	"ip proto 6",
	"ip and ip[9] == 17 and ip[6:2] & 0x1fff == 0 and udp[2:2] == 53",
	"ip[2:2] - 20 > 100",
	"ip[3] * 3 > 100",
	"ip[8] ^ 0x40 = 0",
	"(ip[2:2] | 0x10) & 0x1f = 0x19",
	"-ip[9] + 17 = 0",
	"ip[8] >> 2 = 16",
	"ip[9] % 5 = 1",
	"ip[9] / ip[1] = 0",
	"ip[8] % ip[1] = 0",
	"ip[0] << ip[1] > 5",
	"ip[3] >> (ip[1] & 0x3f) = 0",
	"ip[0] << (ip[9] - 5) = 0",
	"ip[16:4] > 0xc0000000",
	"ip[12:4] = 0xc0000201 or ip[16:4] >= 0xe0000000",
	"port 1 or port 2 or port 3 or port 4 or port 5 or port 6 or port 7 or port 8 or "
	"port 9 or port 10 or port 11 or port 12 or port 13 or port 14 or port 15 or port 53",
	"ether[12:2] = 0x0800", /* on raw IP: bytes 12-13 of the IP header */
	"ether[0] & 1 != 0",
	"host 10.0.0.1 or host 10.0.0.2 or host 10.0.0.3 or host 10.0.0.4 or host 10.0.0.5 "
	"or net 192.0.2.0/24 or net 2001:db8::/48 or host 2606:4700::1111",
};

/* Ethernet only: libpcap must refuse these for DLT_RAW with a clean error. */
static const char *const exprs_l2[] = {
	"arp",
	"ether host 02:00:00:00:00:01",
	"ether src 02:00:00:00:00:01",
	"ether dst ff:ff:ff:ff:ff:ff",
	"ether broadcast",
	"ether multicast",
	"ether proto 0x0806",
	"ether proto 0x88cc",
	"vlan",
	"vlan 100",
	"vlan 100 and udp",
	"vlan and ip6",
	"vlan 200 and tcp port 80",
	"vlan 10 and vlan 100",
	"arp and ether src 02:00:00:00:00:02",
	"udp and not arp and not vlan",
};

/* ------------------------------------------------------------------------------------------ */
/* BPF plumbing                                                                               */

#define INS(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
					       .off = (o), .imm = (i) })

/* how the wrapper hands the filter the packet */
enum pkt_arg {
	PKT_SCALAR,	/* subprogram, R1 a kernel address as a number */
	PKT_POINTER,	/* subprogram, R1 the map value pointer (verifier-tracked) */
	PKT_INLINE,	/* inline body, R1 the untrusted pointer bpf_rdonly_cast(address, 0) */
};

/*
 * raw_tp wrapper: ctx = u64 args[3] = { caplen, wirelen, copylen }.  Looks up the packet in
 * map[0] and turns the value pointer into a plain scalar (as a real probe has: a kernel address
 * read with bpf_probe_read_kernel). A subprogram is called, appended after the wrapper, with
 * R1 = packet, R2 = caplen, R3 = wirelen, R4 = the map value (the copy), R5 = copylen; an inline
 * body is placed in the wrapper with R1 = packet, R2 = caplen, R3 = wirelen and falls through to
 * its exit.
 */
static int load_prog(const struct bpf_insn *f, size_t fn, enum pkt_arg how, char *log,
		     size_t logsz)
{
	struct bpf_insn w[32], tail[4];
	struct bpf_insn *all;
	size_t n = 0, t = 0, call_at = 0, ret0_jumps[2], nret0 = 0, total, i;
	int fd;

	w[n++] = INS(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0);            /* r6 = ctx */
	w[n++] = INS(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0);              /* key = 0 */
	w[n++] = INS(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0);
	w[n++] = INS(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4);
	w[n++] = INS(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd);
	w[n++] = INS(0, 0, 0, 0, 0);
	w[n++] = INS(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	ret0_jumps[nret0++] = n;
	w[n++] = INS(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0, 0);               /* if !r0 goto fail */
	w[n++] = INS(BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0);            /* r7 = value ptr */
	if (how == PKT_POINTER) {
		w[n++] = INS(BPF_ALU64 | BPF_MOV | BPF_X, 1, 0, 0, 0);
	} else {
		w[n++] = INS(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -16, 0);   /* fp-16 = value ptr */
		w[n++] = INS(BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0);
		w[n++] = INS(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, -24);
		w[n++] = INS(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 8);
		w[n++] = INS(BPF_ALU64 | BPF_MOV | BPF_X, 3, 10, 0, 0);
		w[n++] = INS(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, -16);
		w[n++] = INS(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_probe_read_kernel);
		ret0_jumps[nret0++] = n;
		w[n++] = INS(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 0, 0);       /* if r0 goto fail */
		w[n++] = INS(BPF_LDX | BPF_MEM | BPF_DW, 1, 10, -24, 0);   /* r1 = address */
	}
	if (how == PKT_INLINE) {
		w[n++] = INS(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0);
		w[n++] = INS(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, cast_id);
		w[n++] = INS(BPF_ALU64 | BPF_MOV | BPF_X, 1, 0, 0, 0);     /* r1 = untrusted ptr */
	}
	w[n++] = INS(BPF_LDX | BPF_MEM | BPF_DW, 2, 6, 0, 0);              /* r2 = args[0] */
	w[n++] = INS(BPF_LDX | BPF_MEM | BPF_DW, 3, 6, 8, 0);              /* r3 = args[1] */
	if (how != PKT_INLINE) {
		w[n++] = INS(BPF_ALU64 | BPF_MOV | BPF_X, 4, 7, 0, 0);    /* r4 = the copy */
		w[n++] = INS(BPF_LDX | BPF_MEM | BPF_DW, 5, 6, 16, 0);     /* r5 = args[2] */
		call_at = n;
		w[n++] = INS(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0);
	}
	/* [inline body] exit; fail: r0 = sentinel; exit; [subprogram] */
	tail[t++] = INS(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	tail[t++] = INS(BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0, (int32_t)NO_MATCH_SENTINEL);
	tail[t++] = INS(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	total = n + fn + t;
	for (i = 0; i < nret0; i++)
		w[ret0_jumps[i]].off = (int16_t)(total - 2 - ret0_jumps[i] - 1 -
						 (how == PKT_INLINE ? 0 : fn));
	if (how != PKT_INLINE)
		w[call_at].imm = (int32_t)(n + t - call_at - 1);

	all = malloc(total * sizeof(*all));
	if (!all)
		return -ENOMEM;
	memcpy(all, w, n * sizeof(*w));
	if (how == PKT_INLINE) {
		memcpy(all + n, f, fn * sizeof(*f));
		memcpy(all + n + fn, tail, t * sizeof(*tail));
	} else {
		memcpy(all + n, tail, t * sizeof(*tail));
		memcpy(all + n + t, f, fn * sizeof(*f));
	}

	fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "pwhy_filt_test", "GPL", all, total, NULL);
	if (fd < 0 && log) {
		LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = (__u32)logsz,
			    .log_level = 1);
		int err = -errno;

		log[0] = 0;
		fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "pwhy_filt_test", "GPL", all,
				   total, &opts);
		if (fd < 0)
			fd = err;
	}
	free(all);
	return fd;
}

static int run_prog(int fd, const struct pkt *p, uint32_t *ret)
{
	static const uint32_t key;
	uint64_t args[3] = { p->caplen, p->wirelen,
			     p->caplen < copy_cap && !copy_past_caplen ? p->caplen : copy_cap };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));
	int err;

	err = bpf_map_update_elem(map_fd, &key, p->data, BPF_ANY);
	if (err)
		return err;
	err = bpf_prog_test_run_opts(fd, &opts);
	if (err)
		return err;
	*ret = opts.retval;
	return 0;
}

static void print_log_tail(const char *log)
{
	size_t len = strlen(log);
	const char *s = len > 3000 ? log + len - 3000 : log;

	printf("#   verifier log (tail):\n");
	for (const char *l = s; *l;) {
		const char *nl = strchr(l, '\n');
		int w = nl ? (int)(nl - l) : (int)strlen(l);

		printf("#     %.*s\n", w, l);
		l += w + (nl ? 1 : 0);
	}
}

static char vlog[1 << 20];

/*
 * Translate cbpf, load it, and compare on every packet of arr with libpcap's bpf_filter().
 * exact: compare return values, else verdicts.  Returns mismatches (or 1 on setup failure).
 */
static int compare_prog(const char *label, const struct sock_filter *cbpf, size_t n,
			const struct pkt *arr, size_t npkt, int exact)
{
	struct bpf_insn *eb;
	size_t en;
	char err[512];
	int fd, dfd = -1, bad = 0;

	if (pwhy_filter_translate(cbpf, n, &eb, &en, err, sizeof(err))) {
		printf("#   %s: translate failed: %s\n", label, err);
		return 1;
	}
	fd = load_prog(eb, en, PKT_SCALAR, vlog, sizeof(vlog));
	free(eb);
	if (fd < 0) {
		printf("#   %s: load failed: %s\n", label, strerror(-fd));
		print_log_tail(vlog);
		return 1;
	}
	if (cast_id > 0) {
		int r = pwhy_filter_translate_inline(cbpf, n, &eb, &en, err, sizeof(err));

		if (r == -EOPNOTSUPP) {
			inline_refused++;	/* scratch memory: the subprogram only */
		} else if (r) {
			printf("#   %s: translate (inline) failed: %s\n", label, err);
			close(fd);
			return 1;
		} else {
			dfd = load_prog(eb, en, PKT_INLINE, vlog, sizeof(vlog));
			free(eb);
			if (dfd < 0) {
				printf("#   %s: load (inline) failed: %s\n", label, strerror(-dfd));
				print_log_tail(vlog);
				close(fd);
				return 1;
			}
		}
	}
	for (size_t i = 0; i < npkt; i++) {
		const struct pkt *p = &arr[i];
		uint32_t want;
		int pair_bad = 0;

		want = bpf_filter((const struct pcap_bpf_insn *)cbpf, p->data, p->wirelen,
				  p->caplen);
		/* every load from the copy, some of them, none */
		for (size_t c = 0; c < sizeof(copy_caps) / sizeof(copy_caps[0]); c++) {
			uint32_t got = 0;

			copy_cap = copy_caps[c];
			if (run_prog(fd, p, &got)) {
				printf("#   %s: test run failed: %s\n", label, strerror(errno));
				pair_bad = 1;
				break;
			}
			runs_compared++;
			if (exact ? got != want : (got != 0) != (want != 0)) {
				printf("#   MISMATCH %s, packet %zu (%s), copy of %u bytes: libpcap %u, ebpf %u\n",
				       label, i, p->name, copy_cap, want, got);
				pair_bad = 1;
			}
		}
		copy_cap = PWHY_FILTER_COPY_MAX;
		if (dfd >= 0) {
			uint32_t got = 0;

			if (run_prog(dfd, p, &got)) {
				printf("#   %s: test run (inline) failed: %s\n", label, strerror(errno));
				pair_bad = 1;
			} else if (exact ? got != want : (got != 0) != (want != 0)) {
				printf("#   MISMATCH %s, packet %zu (%s), inline: libpcap %u, ebpf %u\n",
				       label, i, p->name, want, got);
				pair_bad = 1;
			}
			inline_compared++;
		}
		pairs_compared++;
		pairs_mismatched += pair_bad;
		bad += pair_bad;
	}
	close(fd);
	if (dfd >= 0)
		close(dfd);
	return bad;
}

static void run_expr(const char *expr, int dlt, const struct pkt *arr, size_t npkt)
{
	struct sock_filter *cbpf;
	size_t n;
	char err[512], label[1024];
	int bad;

	snprintf(label, sizeof(label), "'%s' [%s]", expr, dlt == PWHY_DLT_RAW ? "raw" : "eth");
	if (pwhy_filter_compile(expr, dlt, &cbpf, &n, err, sizeof(err))) {
		printf("#   %s: compile failed: %s\n", label, err);
		bad = 1;
	} else {
		bad = compare_prog(label, cbpf, n, arr, npkt, 1);
		pwhy_filter_free_cbpf(cbpf);
	}
	printf("%s - filter: %s [%s]\n", bad ? "not ok" : "ok", expr,
	       dlt == PWHY_DLT_RAW ? "raw" : "eth");
	check_failed_cases += bad != 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Cases                                                                                      */

static void test_corpus_size(void)
{
	size_t ip = 0;

	for (size_t i = 0; i < corpus.neth; i++)
		ip += corpus.eth[i].data[12] != 0x08 || corpus.eth[i].data[13] != 0x06;
	printf("# corpus: %zu ethernet frames, %zu raw L3 packets\n", corpus.neth, corpus.nraw);
	CHECK(corpus.neth >= 30);
	CHECK(corpus.nraw >= 30);
	CHECK(ip >= 30);
	CHECK(sizeof(exprs_l3) / sizeof(exprs_l3[0]) + sizeof(exprs_l2) / sizeof(exprs_l2[0]) >=
	      60);
}

/* L2-only expressions: libpcap refuses them for raw IP, with its message in err. */
static void test_raw_rejects_l2(void)
{
	for (size_t i = 0; i < sizeof(exprs_l2) / sizeof(exprs_l2[0]); i++) {
		struct sock_filter *cbpf = NULL;
		size_t n = 99;
		char err[512] = "";
		int r = pwhy_filter_compile(exprs_l2[i], PWHY_DLT_RAW, &cbpf, &n, err, sizeof(err));

		if (r != -EINVAL || cbpf || n || !strstr(err, exprs_l2[i]) || !strchr(err, ':') ||
		    strchr(err, '\n')) {
			printf("#   '%s' [raw]: r=%d err=\"%s\"\n", exprs_l2[i], r, err);
			check_case_failed = 1;
		}
		pwhy_filter_free_cbpf(cbpf);
	}
}

static void test_compile_errors(void)
{
	struct sock_filter *cbpf;
	size_t n;
	char err[512];

	CHECK(pwhy_filter_compile("tcp port", PWHY_DLT_EN10MB, &cbpf, &n, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "syntax error") != NULL);
	CHECK(pwhy_filter_compile("ip broadcast", PWHY_DLT_EN10MB, &cbpf, &n, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "netmask") != NULL);
	CHECK(pwhy_filter_compile("udp", 105 /* 802.11 */, &cbpf, &n, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "link type") != NULL);
}

static void test_empty_expression(void)
{
	struct sock_filter *cbpf;
	size_t n;
	char err[256];

	CHECK(pwhy_filter_compile(NULL, PWHY_DLT_EN10MB, &cbpf, &n, err, sizeof(err)) == 0);
	CHECK(n == 1 && cbpf[0].code == (BPF_RET | BPF_K) && cbpf[0].k == PWHY_FILTER_SNAPLEN);
	CHECK(compare_prog("ret #262144", cbpf, n, corpus.eth, corpus.neth, 1) == 0);
	pwhy_filter_free_cbpf(cbpf);
}

static void expect_translate_error(const char *expr, int dlt, const char *want1,
				   const char *want2)
{
	struct sock_filter *cbpf;
	struct bpf_insn *eb = NULL;
	size_t n, en = 7;
	char err[512] = "";

	if (pwhy_filter_compile(expr, dlt, &cbpf, &n, err, sizeof(err))) {
		printf("#   '%s': compile failed: %s\n", expr, err);
		check_case_failed = 1;
		return;
	}
	CHECK(pwhy_filter_translate(cbpf, n, &eb, &en, err, sizeof(err)) == -EINVAL);
	CHECK(eb == NULL && en == 0);
	if (!strstr(err, want1) || !strstr(err, want2)) {
		printf("#   '%s': error \"%s\" lacks \"%s\"/\"%s\"\n", expr, err, want1, want2);
		check_case_failed = 1;
	}
	pwhy_filter_free_cbpf(cbpf);
}

/* What libpcap emits but cannot be translated gives an error naming the insn and opcode. */
static void test_untranslatable(void)
{
	/* Linux ancillary loads (SKF_AD_*), emitted even for a dead Ethernet handle */
	expect_translate_error("inbound", PWHY_DLT_EN10MB, "insn 0 (code 0x28 ldh", "pkttype");
	expect_translate_error("outbound", PWHY_DLT_EN10MB, "insn 0", "pkttype");
	expect_translate_error("ifindex 3", PWHY_DLT_EN10MB, "insn 0 (code 0x20 ld", "ifindex");
	/* protochain loops over extension headers with a backward jump */
	expect_translate_error("ip6 protochain 6", PWHY_DLT_EN10MB, "code 0x05 ja", "backward");
	expect_translate_error("ip protochain 17", PWHY_DLT_RAW, "ja", "protochain");
}

static void test_invalid_cbpf(void)
{
	static const struct sock_filter bad_op[] = {
		{ BPF_LD | BPF_IMM, 0, 0, 1 }, { 0xff, 0, 0, 0 }, { BPF_RET | BPF_K, 0, 0, 1 } };
	static const struct sock_filter ret_x[] = { { BPF_RET | BPF_X, 0, 0, 0 } };
	static const struct sock_filter no_ret[] = { { BPF_LD | BPF_IMM, 0, 0, 1 } };
	static const struct sock_filter far_jump[] = {
		{ BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0 }, { BPF_RET | BPF_K, 0, 0, 1 } };
	static const struct sock_filter mem_oob[] = {
		{ BPF_ST, 0, 0, 16 }, { BPF_RET | BPF_K, 0, 0, 1 } };
	static const struct sock_filter big_shift[] = {
		{ BPF_ALU | BPF_LSH | BPF_K, 0, 0, 32 }, { BPF_RET | BPF_A, 0, 0, 0 } };
	static const struct sock_filter neg_abs[] = {
		{ BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)SKF_NET_OFF + 12 },
		{ BPF_RET | BPF_A, 0, 0, 0 } };
	struct bpf_insn *eb;
	size_t en;
	char err[512];

	CHECK(pwhy_filter_translate(bad_op, 3, &eb, &en, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "insn 1 (code 0xff") && strstr(err, "unknown opcode"));
	CHECK(pwhy_filter_translate(ret_x, 1, &eb, &en, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "insn 0 (code 0x0e"));
	CHECK(pwhy_filter_translate(no_ret, 1, &eb, &en, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "does not end with ret"));
	CHECK(pwhy_filter_translate(far_jump, 2, &eb, &en, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "out of range"));
	CHECK(pwhy_filter_translate(mem_oob, 2, &eb, &en, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "scratch"));
	CHECK(pwhy_filter_translate(big_shift, 2, &eb, &en, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "shift"));
	CHECK(pwhy_filter_translate(neg_abs, 2, &eb, &en, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "negative-offset"));
	CHECK(pwhy_filter_translate(NULL, 0, &eb, &en, err, sizeof(err)) == -EINVAL);
}

#define S(c, k)          { (uint16_t)(c), 0, 0, (uint32_t)(k) }
#define J(c, k, jt, jf)  { (uint16_t)(c), (uint8_t)(jt), (uint8_t)(jf), (uint32_t)(k) }

/*
 * Hand-written programs for what libpcap's optimiser rarely emits: every ALU op on K and X,
 * shifts by X >= 32, division by X == 0, JSET with jt == 0, jt == jf, JA, unreachable code,
 * uninitialised scratch memory, X + k past 2^31, RET A with odd values.  Return values are
 * compared exactly.
 */
static void test_handwritten_programs(void)
{
	static const struct sock_filter p_alu[] = {
		S(BPF_LD | BPF_W | BPF_ABS, 26),       /* A = ip src (eth) */
		S(BPF_ALU | BPF_NEG, 0),
		S(BPF_ALU | BPF_XOR | BPF_K, 0x12345678),
		S(BPF_ALU | BPF_MOD | BPF_K, 100003),
		S(BPF_ST, 3),
		S(BPF_LDX | BPF_MEM, 3),
		S(BPF_LD | BPF_W | BPF_LEN, 0),
		S(BPF_ALU | BPF_SUB | BPF_X, 0),
		S(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1),
		S(BPF_ALU | BPF_OR | BPF_K, 0x80000001),
		S(BPF_ALU | BPF_ADD | BPF_X, 0),
		S(BPF_ALU | BPF_AND | BPF_K, 0xfffff0ff),
		S(BPF_ALU | BPF_RSH | BPF_K, 3),
		S(BPF_ALU | BPF_LSH | BPF_K, 1),
		S(BPF_ALU | BPF_DIV | BPF_K, 7),
		S(BPF_RET | BPF_A, 0),
	};
	static const struct sock_filter p_alux[] = {
		S(BPF_LDX | BPF_B | BPF_MSH, 14),      /* X = ihl*4 (eth) */
		S(BPF_LD | BPF_H | BPF_IND, 16),       /* A = ip[ihl + 2: 2] */
		S(BPF_ST, 0),
		S(BPF_LDX | BPF_W | BPF_LEN, 0),
		S(BPF_ALU | BPF_MUL | BPF_X, 0),
		S(BPF_ALU | BPF_XOR | BPF_X, 0),
		S(BPF_ALU | BPF_OR | BPF_X, 0),
		S(BPF_ALU | BPF_AND | BPF_X, 0),
		S(BPF_MISC | BPF_TXA, 0),
		S(BPF_ALU | BPF_SUB | BPF_K, 40),
		S(BPF_MISC | BPF_TAX, 0),
		S(BPF_LD | BPF_MEM, 0),
		S(BPF_ALU | BPF_MOD | BPF_X, 0),       /* X may be 0 -> return 0 */
		S(BPF_ALU | BPF_ADD | BPF_K, 1),
		S(BPF_RET | BPF_A, 0),
	};
	static const struct sock_filter p_shift[] = {
		S(BPF_LD | BPF_B | BPF_ABS, 23),       /* X = ip proto: 1, 6, 17, 47, 58 ... */
		S(BPF_MISC | BPF_TAX, 0),
		S(BPF_LD | BPF_IMM, 0xdefc0),
		S(BPF_ALU | BPF_LSH | BPF_X, 0),       /* X >= 32 -> 0 */
		S(BPF_ST, 1),
		S(BPF_LD | BPF_IMM, 0xf00dfeed),
		S(BPF_ALU | BPF_RSH | BPF_X, 0),
		S(BPF_LDX | BPF_MEM, 1),
		S(BPF_ALU | BPF_ADD | BPF_X, 0),
		S(BPF_ALU | BPF_ADD | BPF_K, 1),
		S(BPF_RET | BPF_A, 0),
	};
	static const struct sock_filter p_divx[] = {
		S(BPF_LD | BPF_B | BPF_ABS, 15),       /* X = tos, often 0 */
		S(BPF_MISC | BPF_TAX, 0),
		S(BPF_LD | BPF_IMM, 1000000),
		S(BPF_ALU | BPF_DIV | BPF_X, 0),
		S(BPF_ALU | BPF_ADD | BPF_K, 1),
		S(BPF_RET | BPF_A, 0),
	};
	static const struct sock_filter p_jumps[] = {
		S(BPF_LD | BPF_B | BPF_ABS, 0),                 /* 0 */
		J(BPF_JMP | BPF_JSET | BPF_K, 0x01, 0, 2),      /* 1: jt == 0 */
		S(BPF_LD | BPF_IMM, 11),                        /* 2 */
		J(BPF_JMP | BPF_JA, 1, 0, 0),                   /* 3 */
		S(BPF_LD | BPF_IMM, 22),                        /* 4 */
		J(BPF_JMP | BPF_JEQ | BPF_K, 22, 1, 1),         /* 5: jt == jf */
		S(BPF_RET | BPF_K, 99),                         /* 6: unreachable */
		S(BPF_LDX | BPF_IMM, 22),                       /* 7 */
		J(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 3),          /* 8: jt == 0, invertible */
		J(BPF_JMP | BPF_JGT | BPF_X, 0, 4, 0),          /* 9 */
		J(BPF_JMP | BPF_JEQ | BPF_X, 0, 4, 5),          /* 10 */
		S(BPF_LD | BPF_MEM, 7),                         /* 11: M[7] never written */
		J(BPF_JMP | BPF_JSET | BPF_X, 0, 3, 0),         /* 12 */
		J(BPF_JMP | BPF_JA, 0, 0, 0),                   /* 13: ja +0 */
		S(BPF_RET | BPF_K, 0xffffffff),                 /* 14 */
		S(BPF_RET | BPF_K, 1),                          /* 15 */
		S(BPF_RET | BPF_K, 2),                          /* 16 */
		S(BPF_ALU | BPF_ADD | BPF_K, 3),                /* 17: unreachable */
		S(BPF_RET | BPF_A, 0),                          /* 18 */
	};
	static const struct sock_filter p_bounds[] = {
		S(BPF_LDX | BPF_IMM, 1),
		S(BPF_LD | BPF_W | BPF_IND, 0xfffffff0),        /* X + k past 2^32 of u32 math */
		S(BPF_RET | BPF_K, 5),
	};
	static const struct sock_filter p_bounds2[] = {
		S(BPF_LDX | BPF_IMM, 0xfffffffc),
		S(BPF_LD | BPF_B | BPF_IND, 4),                 /* wraps to 0 in u32: rejected */
		S(BPF_RET | BPF_K, 5),
	};
	static const struct sock_filter p_lastbyte[] = {
		S(BPF_LD | BPF_W | BPF_LEN, 0),
		S(BPF_LDX | BPF_W | BPF_LEN, 0),
		S(BPF_ALU | BPF_SUB | BPF_K, 1),
		S(BPF_MISC | BPF_TAX, 0),
		S(BPF_LD | BPF_B | BPF_IND, 0),                 /* last byte on the wire */
		S(BPF_ALU | BPF_ADD | BPF_K, 0x100),
		S(BPF_RET | BPF_A, 0),
	};
	static const struct sock_filter p_init[] = {
		S(BPF_ALU | BPF_ADD | BPF_X, 0),                /* A and X start at 0 */
		S(BPF_ALU | BPF_ADD | BPF_K, 1),
		S(BPF_RET | BPF_A, 0),
	};
	static const struct {
		const char *name;
		const struct sock_filter *p;
		size_t n;
	} progs[] = {
#define P(x) { #x, x, sizeof(x) / sizeof(x[0]) }
		P(p_alu), P(p_alux), P(p_shift), P(p_divx), P(p_jumps), P(p_bounds),
		P(p_bounds2), P(p_lastbyte), P(p_init),
#undef P
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (compare_prog(progs[i].name, progs[i].p, progs[i].n, corpus.eth, corpus.neth, 1))
			check_case_failed = 1;
		if (compare_prog(progs[i].name, progs[i].p, progs[i].n, corpus.raw, corpus.nraw, 1))
			check_case_failed = 1;
	}
}

/* Division by a constant 0 (libpcap 1.10's interpreter would trap, so no comparison here). */
static void test_div_by_constant_zero(void)
{
	static const struct sock_filter p[] = {
		S(BPF_LD | BPF_IMM, 5),
		S(BPF_ALU | BPF_DIV | BPF_K, 0),
		S(BPF_ALU | BPF_ADD | BPF_K, 1),      /* unreachable after the division */
		S(BPF_RET | BPF_A, 0),
	};
	struct bpf_insn *eb;
	size_t en;
	char err[256];
	uint32_t got = 1;
	int fd;

	CHECK(pwhy_filter_translate(p, 4, &eb, &en, err, sizeof(err)) == 0);
	fd = load_prog(eb, en, PKT_SCALAR, vlog, sizeof(vlog));
	free(eb);
	CHECK(fd >= 0);
	if (fd < 0) {
		print_log_tail(vlog);
		return;
	}
	CHECK(run_prog(fd, &corpus.eth[0], &got) == 0);
	CHECK(got == 0);
	close(fd);
}

/*
 * Bounds: the buffer behind caplen holds bytes that would match; the filter must not read
 * them.  Each expression must match the full packet and not match the truncated one.
 */
static void test_bounds_respected(void)
{
	static const struct {
		const char *expr;
		const char *pkt; /* name of the full packet in the ethernet corpus */
		uint32_t cut;    /* caplen that stops just short of the bytes tested */
	} cases[] = {
		{ "udp dst port 53", "ipv4 udp 10.0.0.1:1234", 14 + 20 + 3 },          /* ABS */
		{ "udp[8:4] = 0xdeadbeef", "ipv4 udp 10.200.3.4", 14 + 20 + 8 + 3 },  /* IND */
		{ "tcp dst port 80", "ipv4 tcp syn 10.0.0.1", 14 + 20 + 3 },          /* MSH+IND */
		{ "ip[0] & 0xf > 5", "ipv4 opts(ihl 6)", 14 },                         /* ldb [14] */
		{ "ip6 and udp port 53", "ipv6 udp 2001", 14 + 40 + 3 },
		{ "icmp6 and ip6[40] = 128", "ipv6 icmp6 echo", 14 + 40 },
	};
	struct pkt p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sock_filter *cbpf;
		struct bpf_insn *eb;
		size_t n, en, idx;
		char err[512];
		uint32_t full = 0, cut = 1;
		int fd;

		for (idx = 0; idx < corpus.neth; idx++)
			if (strstr(corpus.eth[idx].name, cases[i].pkt) == corpus.eth[idx].name)
				break;
		if (idx >= corpus.neth) {
			printf("#   no packet named %s\n", cases[i].pkt);
			check_case_failed = 1;
			continue;
		}
		p = corpus.eth[idx];
		if (pwhy_filter_build(cases[i].expr, PWHY_DLT_EN10MB, &eb, &en, err, sizeof(err))) {
			printf("#   %s\n", err);
			check_case_failed = 1;
			continue;
		}
		fd = load_prog(eb, en, PKT_SCALAR, vlog, sizeof(vlog));
		free(eb);
		if (fd < 0) {
			print_log_tail(vlog);
			check_case_failed = 1;
			continue;
		}
		pwhy_filter_compile(cases[i].expr, PWHY_DLT_EN10MB, &cbpf, &n, err, sizeof(err));
		CHECK(bpf_filter((const struct pcap_bpf_insn *)cbpf, p.data, p.wirelen, p.caplen));
		/* the bytes past the cut are in the copy's buffer too: neither path may read them */
		for (size_t c = 0; c <= sizeof(copy_caps) / sizeof(copy_caps[0]); c++) {
			struct pkt q = p;

			copy_past_caplen = c == sizeof(copy_caps) / sizeof(copy_caps[0]);
			copy_cap = copy_past_caplen ? PWHY_FILTER_COPY_MAX : copy_caps[c];
			full = 0;
			cut = 1;
			CHECK(run_prog(fd, &q, &full) == 0);
			q.caplen = cases[i].cut;
			CHECK(run_prog(fd, &q, &cut) == 0);
			CHECK(!bpf_filter((const struct pcap_bpf_insn *)cbpf, q.data, q.wirelen, q.caplen));
			if (!full || cut) {
				printf("#   '%s' on %s, copy of %u: full caplen -> %u, caplen %u -> %u\n",
				       cases[i].expr, p.name, copy_cap, full, cases[i].cut, cut);
				check_case_failed = 1;
			}
		}
		copy_past_caplen = 0;
		copy_cap = PWHY_FILTER_COPY_MAX;
		pwhy_filter_free_cbpf(cbpf);
		close(fd);
	}
}

/* An ABS-only filter also loads when R1 is a verifier-tracked pointer (documented). */
static void test_pointer_argument(void)
{
	struct bpf_insn *eb;
	size_t en;
	char err[256];
	uint32_t got = 0;
	int fd;

	CHECK(pwhy_filter_build("udp port 53 or arp", PWHY_DLT_EN10MB, &eb, &en, err,
				sizeof(err)) == 0);
	fd = load_prog(eb, en, PKT_POINTER, vlog, sizeof(vlog));
	free(eb);
	CHECK(fd >= 0);
	if (fd < 0) {
		print_log_tail(vlog);
		return;
	}
	CHECK(run_prog(fd, &corpus.eth[0], &got) == 0 && got != 0);
	close(fd);
}

/* Shape of the generated code: forward jumps only, in range, ends with exit, stack bound. */
static void test_code_shape(void)
{
	struct bpf_insn *eb;
	size_t en;
	char err[256];

	CHECK(pwhy_filter_build("tcp[tcpflags] & tcp-syn != 0 and ip[ip[0] & 3] = 1 and len > 9",
				PWHY_DLT_EN10MB, &eb, &en, err, sizeof(err)) == 0);
	if (!eb)
		return;
	CHECK(eb[en - 1].code == (BPF_JMP | BPF_EXIT));
	for (size_t i = 0; i < en; i++) {
		uint8_t cls = BPF_CLASS(eb[i].code), op = BPF_OP(eb[i].code);

		if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT) {
			CHECK(eb[i].off >= 0);
			CHECK(i + 1 + (size_t)eb[i].off < en);
		}
		if (cls == BPF_JMP && op == BPF_CALL)
			CHECK(eb[i].src_reg == 0 && eb[i].imm == BPF_FUNC_probe_read_kernel);
		if ((cls == BPF_STX || cls == BPF_ST || cls == BPF_LDX) &&
		    (eb[i].dst_reg == BPF_REG_10 || eb[i].src_reg == BPF_REG_10))
			CHECK(eb[i].off < 0 && eb[i].off >= -PWHY_FILTER_STACK_SIZE);
	}
	free(eb);
}

/* inline body: no call, no exit, no stack, no register past R5; jumps stay inside or land
 * just past the end */
static void test_inline_shape(void)
{
	static const char *const exprs[] = {
		"tcp[tcpflags] & tcp-syn != 0 and ip[ip[0] & 3] = 1 and len > 9",
		"udp port 53", "ip6 and tcp", "ether[70000] = 1 or ip[1:2] > 3",
	};
	struct sock_filter *cbpf;
	struct bpf_insn *eb;
	size_t n, en;
	char err[256];

	for (size_t x = 0; x < sizeof(exprs) / sizeof(exprs[0]); x++) {
		if (pwhy_filter_compile(exprs[x], PWHY_DLT_EN10MB, &cbpf, &n, err, sizeof(err))) {
			CHECK(0);
			continue;
		}
		eb = NULL;
		CHECK(pwhy_filter_translate_inline(cbpf, n, &eb, &en, err, sizeof(err)) == 0);
		pwhy_filter_free_cbpf(cbpf);
		for (size_t i = 0; eb && i < en; i++) {
			uint8_t cls = BPF_CLASS(eb[i].code), op = BPF_OP(eb[i].code);

			CHECK(!((cls == BPF_JMP || cls == BPF_JMP32) &&
				(op == BPF_CALL || op == BPF_EXIT)));
			if (cls == BPF_JMP || cls == BPF_JMP32) {
				CHECK(eb[i].off >= 0);
				CHECK(i + 1 + (size_t)eb[i].off <= en);
			}
			CHECK(eb[i].dst_reg <= BPF_REG_5 && eb[i].src_reg <= BPF_REG_5);
		}
		free(eb);
	}
	/* scratch memory would need a frame: refused, the subprogram stays */
	{
		struct sock_filter m[] = {
			{ BPF_LD | BPF_IMM, 0, 0, 7 }, { BPF_ST, 0, 0, 1 },
			{ BPF_LD | BPF_MEM, 0, 0, 1 }, { BPF_RET | BPF_A, 0, 0, 0 },
		};

		CHECK(pwhy_filter_translate_inline(m, 4, &eb, &en, err, sizeof(err)) == -EOPNOTSUPP);
	}
}

int main(void)
{
	static const uint32_t key;
	static uint8_t zero[PKT_MAX];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("not ok - needs root\n");
		return 1;
	}
	map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pwhy_filt_pkt", sizeof(uint32_t), PKT_MAX, 1,
				NULL);
	if (map_fd < 0 || bpf_map_update_elem(map_fd, &key, zero, BPF_ANY)) {
		printf("not ok - bpf map: %s\n", strerror(errno));
		return 1;
	}
	corpus_build(&corpus);
	if (backend_probe()->pkt_loads)
		cast_id = btf__find_by_name_kind(pwhy_vmlinux_btf(), "bpf_rdonly_cast", BTF_KIND_FUNC);
	if (cast_id <= 0)
		printf("skip - inline filters: this kernel's probes cannot load packet bytes in place (6.17+); the subprogram only\n");

	RUN_TEST(test_corpus_size);
	RUN_TEST(test_compile_errors);
	RUN_TEST(test_raw_rejects_l2);
	RUN_TEST(test_empty_expression);
	RUN_TEST(test_untranslatable);
	RUN_TEST(test_invalid_cbpf);
	RUN_TEST(test_code_shape);
	RUN_TEST(test_handwritten_programs);
	RUN_TEST(test_div_by_constant_zero);
	RUN_TEST(test_bounds_respected);
	RUN_TEST(test_pointer_argument);
	RUN_TEST(test_inline_shape);


	for (size_t i = 0; i < sizeof(exprs_l3) / sizeof(exprs_l3[0]); i++)
		run_expr(exprs_l3[i], PWHY_DLT_EN10MB, corpus.eth, corpus.neth);
	for (size_t i = 0; i < sizeof(exprs_l2) / sizeof(exprs_l2[0]); i++)
		run_expr(exprs_l2[i], PWHY_DLT_EN10MB, corpus.eth, corpus.neth);
	for (size_t i = 0; i < sizeof(exprs_l3) / sizeof(exprs_l3[0]); i++)
		run_expr(exprs_l3[i], PWHY_DLT_RAW, corpus.raw, corpus.nraw);

	printf("# compared %lu (filter, packet) pairs against libpcap bpf_filter() (%lu runs, copies of %u, %u and %u bytes; %lu inline, %lu programs with scratch memory not inlined): %lu mismatches\n",
	       pairs_compared, runs_compared, copy_caps[0], copy_caps[1], copy_caps[2],
	       inline_compared, inline_refused, pairs_mismatched);
	close(map_fd);
	TEST_EXIT();
}
