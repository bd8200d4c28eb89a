// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the pure parts: BTF lookups on fixtures, splicing, event and finding rendering,
 * and the findings themselves fed with hand-made events and a fake host. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <bpf/btf.h>
#include "check.h"
#include "pwhy/btf_info.h"
#include "pwhy/findings.h"
#include "pwhy/format.h"
#include "pwhy/render.h"
#include "pwhy/splice.h"

/* ------------------------------------------------------------------------- BTF fixtures */

/* A kernel-like BTF: enum skb_drop_reason with the given NO_SOCKET value, an anonymous enum
 * holding INET_FLAGS_TRANSPARENT, struct sk_buff and two functions. */
static struct btf *fixture(int no_socket)
{
	struct btf *b = btf__new_empty();
	int e, anon, skb, ptr, i32, proto, proto2;

	e = btf__add_enum(b, "skb_drop_reason", 4);
	btf__add_enum_value(b, "SKB_NOT_DROPPED_YET", 0);
	btf__add_enum_value(b, "SKB_DROP_REASON_NOT_SPECIFIED", 1);
	btf__add_enum_value(b, "SKB_DROP_REASON_NO_SOCKET", no_socket);
	btf__add_enum_value(b, "SKB_DROP_REASON_NETFILTER_DROP", no_socket == 2 ? 7 : 11);
	anon = btf__add_enum(b, NULL, 4);
	btf__add_enum_value(b, "INET_FLAGS_PKTINFO", 0);
	btf__add_enum_value(b, "INET_FLAGS_TRANSPARENT", 15);
	skb = btf__add_struct(b, "sk_buff", 8);
	ptr = btf__add_ptr(b, skb);
	i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	proto = btf__add_func_proto(b, i32);
	btf__add_func_param(b, "net", i32);
	btf__add_func_param(b, "sk", i32);
	btf__add_func_param(b, "skb", ptr);
	btf__add_func(b, "ip_route_me_harder", BTF_FUNC_GLOBAL, proto);
	proto2 = btf__add_func_proto(b, i32);
	btf__add_func_param(b, "x", i32);
	btf__add_func(b, "no_skb_here", BTF_FUNC_GLOBAL, proto2);
	(void)e; (void)anon;
	return b;
}

static void test_drop_reason_names(void)
{
	struct btf *k61 = fixture(2), *k612 = fixture(3);

	CHECK_STR(btf_drop_reason_name(k61, 2), "NO_SOCKET");
	CHECK_STR(btf_drop_reason_name(k612, 3), "NO_SOCKET");
	CHECK_STR(btf_drop_reason_name(k612, 11), "NETFILTER_DROP");
	CHECK(btf_drop_reason_name(k612, 99) == NULL);
	CHECK(btf_drop_reason_value(k61, "NO_SOCKET") == 2);
	CHECK(btf_drop_reason_value(k612, "SKB_DROP_REASON_NO_SOCKET") == 3);
	CHECK(btf_drop_reason_value(k612, "NO_SUCH_REASON") < 0);
	btf__free(k61);
	btf__free(k612);
}

static void test_btf_enumerator_and_funcs(void)
{
	struct btf *b = fixture(3);
	long long v = -1;
	int nargs = 0;

	CHECK(btf_enumerator_value(b, "INET_FLAGS_TRANSPARENT", &v) == 0 && v == 15);
	CHECK(btf_enumerator_value(b, "NOPE", &v) < 0);
	CHECK(btf_func_skb_arg(b, "ip_route_me_harder", 5, &nargs) == 3 && nargs == 3);
	CHECK(btf_func_skb_arg(b, "ip_route_me_harder", 2, NULL) == 0);
	CHECK(btf_func_skb_arg(b, "no_skb_here", 5, NULL) == 0);
	CHECK(btf_func_skb_arg(b, "missing", 5, NULL) < 0);
	btf__free(b);
}

/* ------------------------------------------------------------------------------ splicing */

#define MOV(r, k) { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = r, .imm = k }
#define CALL(off) { .code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_CALL, .imm = off }
#define EXIT_ { .code = BPF_JMP | BPF_EXIT }
#define STMAGIC(k) { .code = BPF_ST | BPF_MEM | BPF_W, .dst_reg = 10, .off = -4, .imm = (int)k }

static void test_splice(void)
{
	/* main: call stub (at 4), call other (at 7), exit; stub: 3 insns; other: 2 insns */
	struct bpf_insn prog[] = {
		CALL(3), CALL(5), MOV(0, 0), EXIT_,
		STMAGIC(0x70776833), MOV(0, 1), EXIT_,
		MOV(0, 2), EXIT_,
	};
	struct bpf_insn body[] = { MOV(0, 7), MOV(0, 8), MOV(0, 9), MOV(0, 10), EXIT_ };
	struct bpf_insn *out = NULL;
	size_t n = 0;

	CHECK(splice_has_stub(prog, 9, 0x70776833));
	CHECK(!splice_has_stub(prog, 9, 0x70776832));
	CHECK(splice_stub(prog, 9, 0x70776833, body, 5, &out, &n) == 0);
	CHECK(n == 11);
	CHECK(out && out[0].imm == 3);		/* stub still starts at 4 */
	CHECK(out && out[1].imm == 7);		/* other moved from 7 to 9 */
	CHECK(out && out[4].imm == 7 && out[8].code == (BPF_JMP | BPF_EXIT));
	CHECK(out && out[9].imm == 2);
	CHECK(splice_stub(prog, 9, 0x12345678, body, 5, &out, &n) == -ENOENT);
	free(out);
}

/* an inline stub: each call becomes the body, the stub goes, jumps and calls across re-aimed */
static void test_splice_inline(void)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = 1, .off = 2 },	/* to 3 */
		CALL(4), MOV(0, 5), CALL(5), MOV(0, 0), EXIT_,
		STMAGIC(0x70776932), MOV(0, 1), EXIT_,
		MOV(0, 2), EXIT_,
	};
	struct bpf_insn body[] = {
		MOV(0, 7), { .code = BPF_JMP | BPF_JA, .off = 1 }, MOV(0, 8),
	};
	struct bpf_insn bad[] = {
		{ .code = BPF_JMP | BPF_JA, .off = 5 },	/* a jump into the stub */
		CALL(4), MOV(0, 5), CALL(5), MOV(0, 0), EXIT_,
		STMAGIC(0x70776932), MOV(0, 1), EXIT_,
		MOV(0, 2), EXIT_,
	};
	struct bpf_insn *out = NULL;
	size_t n = 0;

	CHECK(splice_inline(prog, 11, 0x70776932, body, 3, &out, &n) == 0);
	CHECK(n == 10);
	CHECK(out && out[0].off == 4);			/* still lands on the second call */
	CHECK(out && out[1].imm == 7 && out[2].off == 1 && out[3].imm == 8);
	CHECK(out && out[4].imm == 5);
	CHECK(out && out[5].src_reg == BPF_PSEUDO_CALL && out[5].imm == 2);	/* other at 8 */
	CHECK(out && out[8].imm == 2 && out[9].code == (BPF_JMP | BPF_EXIT));
	free(out);
	out = NULL;
	CHECK(splice_inline(bad, 11, 0x70776932, body, 3, &out, &n) == -EINVAL && !out);
	CHECK(splice_inline(prog, 11, 0x12345678, body, 3, &out, &n) == -ENOENT && !out);
}

/* ------------------------------------------------------------------------------ rendering */

static void v4(__u8 *dst, const char *s) { inet_pton(AF_INET, s, dst); }
static void v6(__u8 *dst, const char *s) { inet_pton(AF_INET6, s, dst); }

static void test_tuple_format(void)
{
	struct pwhy_tuple t = { .family = 2, .l4proto = 17, .sport = 5353, .dport = 9 };
	char buf[160];

	v4(t.saddr, "10.0.1.1");
	v4(t.daddr, "192.0.2.1");
	CHECK_STR(fmt_tuple(&t, buf, sizeof(buf)), "10.0.1.1:5353->192.0.2.1:9(udp)");
	t.family = 10;
	v6(t.saddr, "2001:db8::1");
	v6(t.daddr, "::1");
	CHECK_STR(fmt_tuple(&t, buf, sizeof(buf)), "[2001:db8::1]:5353->[::1]:9(udp)");
	t.l4proto = 58;
	CHECK_STR(fmt_tuple(&t, buf, sizeof(buf)), "2001:db8::1->::1(icmp6)");
	t.family = 0;
	CHECK_STR(fmt_tuple(&t, buf, sizeof(buf)), "-");
}

static char *render_to_string(bool json, const struct pwhy_event *ev, const struct finding *f)
{
	static char buf[4096];
	FILE *m = fmemopen(buf, sizeof(buf), "w");
	struct btf *b = fixture(3);
	struct render r = { .out = m, .json = json, .btf = b, .header_done = true };

	if (ev)
		render_event(&r, ev);
	if (f)
		render_finding(&r, f);
	fclose(m);
	btf__free(b);
	return buf;
}

static void test_event_render(void)
{
	struct pwhy_event ev = { .kind = PWHY_EV_DROP, .probe = PWHY_PROBE_KFREE_SKB,
				 .skb = 0xffff888100001000ull, .cpu = 1, .pid = 42, .netns = 4026531840u,
				 .ifindex = 1, .len = 29, .eth_proto = 0x800 };
	char *s;

	strcpy(ev.comm, "python3");
	strcpy(ev.ifname, "lo");
	ev.tuple.family = 2;
	ev.tuple.l4proto = 17;
	ev.tuple.sport = 40000;
	ev.tuple.dport = 9;
	v4(ev.tuple.saddr, "127.0.0.1");
	v4(ev.tuple.daddr, "127.0.0.1");
	ev.drop.reason = 3;
	s = render_to_string(false, &ev, NULL);
	CHECK(strstr(s, "0xffff888100001000") != NULL);
	CHECK(strstr(s, "python3:42") != NULL);
	CHECK(strstr(s, "lo:1") != NULL);
	CHECK(strstr(s, "127.0.0.1:40000->127.0.0.1:9(udp)") != NULL);
	CHECK(strstr(s, "kfree_skb(NO_SOCKET)") != NULL);
	s = render_to_string(true, &ev, NULL);
	CHECK(strstr(s, "\"drop_reason\":\"NO_SOCKET\"") != NULL);
	CHECK(strstr(s, "\"netns\":4026531840") != NULL);
	CHECK(strstr(s, "\"tuple\":\"127.0.0.1:40000->127.0.0.1:9(udp)\"") != NULL);
	ev.drop.reason = 77;	/* unknown to this BTF: printed as a number */
	s = render_to_string(false, &ev, NULL);
	CHECK(strstr(s, "kfree_skb(77)") != NULL);
}

static void test_finding_render_and_kinds(void)
{
	struct finding f;
	char *s;

	finding_init(&f, FINDING_VRF_SDIF, 0x1234);
	finding_fact_num(&f, "sdif", 2);
	finding_fact(&f, "socket", "%s", "10.10.0.2:53 \"x\"");
	snprintf(f.summary, sizeof(f.summary), "summary");
	snprintf(f.hint, sizeof(f.hint), "hint");
	s = render_to_string(true, NULL, &f);
	CHECK(strstr(s, "{\"finding\":\"vrf-sdif\",\"skb\":\"0x1234\",\"sdif\":2,") != NULL);
	CHECK(strstr(s, "\"socket\":\"10.10.0.2:53 \\\"x\\\"\"") != NULL);
	s = render_to_string(false, NULL, &f);
	CHECK(strstr(s, "FINDING vrf-sdif skb 0x1234: summary") != NULL);
	CHECK(finding_kinds_parse("no-sk,oif-change") == ((1L << FINDING_NO_SK) | (1L << FINDING_OIF_CHANGE)));
	CHECK(finding_kinds_parse("all") == (1L << FINDING_MAX) - 1);
	CHECK(finding_kinds_parse("no-sk,bogus") == -1);
}

/* ------------------------------------------------------------------------ a fake host */

struct fake_host {
	struct pwhy_link links[4];
	int nlinks;
	__u8 owner_addr[16];
	int owner_ifindex;
	long l3mdev_accept;
	struct pwhy_sock socks[4];
	int nsocks;
};

static int fake_link(void *ctx, __u32 ns, int ifx, struct pwhy_link *out)
{
	struct fake_host *h = ctx;

	for (int i = 0; i < h->nlinks; i++)
		if (h->links[i].ifindex == ifx) {
			*out = h->links[i];
			return 0;
		}
	return -ENOENT;
}

static int fake_owners(void *ctx, __u32 ns, int family, const void *addr, int *ifx, int max)
{
	struct fake_host *h = ctx;

	if (memcmp(addr, h->owner_addr, family == 2 ? 4 : 16))
		return 0;
	ifx[0] = h->owner_ifindex;
	return 1;
}

static int fake_sysctl(void *ctx, __u32 ns, const char *path, long *v)
{
	*v = ((struct fake_host *)ctx)->l3mdev_accept;
	return 0;
}

static int fake_socks(void *ctx, __u32 ns, int family, int proto, struct pwhy_sock **out, size_t *n)
{
	struct fake_host *h = ctx;
	int k = 0;

	*out = calloc(h->nsocks + 1, sizeof(**out));
	for (int i = 0; i < h->nsocks; i++)
		if (h->socks[i].family == family && h->socks[i].proto == proto)
			(*out)[k++] = h->socks[i];
	*n = k;
	return 0;
}

static struct hostinfo fake_hostinfo(struct fake_host *h)
{
	struct hostinfo hi = { fake_link, fake_owners, fake_sysctl, fake_socks, h };

	return hi;
}

static void add_link(struct fake_host *h, int ifx, const char *name, __u8 last)
{
	struct pwhy_link *l = &h->links[h->nlinks++];

	l->ifindex = ifx;
	strcpy(l->name, name);
	memcpy(l->mac, (__u8[]){ 2, 0, 0, 0, 0, last }, 6);
	l->mac_len = 6;
}

/* ------------------------------------------------------------------------- oif-change */

static struct send_record *oif_record(bool reroute, bool left_b, bool noroute)
{
	struct send_record *r = calloc(1, sizeof(*r));
	struct pwhy_fib_facts first = { .table = 254, .oif = 2, .iif = 1, .family = 2, .nh_ifindex = 2 };
	struct pwhy_fib_facts again = { .table = 254, .oif = 0, .iif = 1, .mark = 1, .family = 2,
					.nh_ifindex = 3 };

	strcpy(first.nh_ifname, "wan1");
	strcpy(again.nh_ifname, "wan2");
	v4(first.daddr, "192.0.2.1");
	v4(again.daddr, "192.0.2.1");
	r->have_send = true;
	r->send.send.req_oif = 2;
	r->send.send.req_origin = PWHY_OIF_IP_PKTINFO;
	r->fibs[r->nfibs++] = first;
	if (reroute) {
		if (noroute) {
			again.err = -11;
			again.table = 255;
			r->fibs[r->nfibs++] = again;
			again.table = 254;
		}
		r->fibs[r->nfibs++] = again;
	}
	if (!noroute) {
		r->have_xmit = true;
		r->xmit.skb = 0xabc;
		r->xmit.ifindex = left_b ? 3 : 2;
		strcpy(r->xmit.ifname, left_b ? "wan2" : "wan1");
		memcpy(r->xmit.xmit.dev_mac, (__u8[]){ 2, 0, 0, 0, 0, left_b ? 0x22 : 0x11 }, 6);
		r->xmit.tuple.family = 2;
		r->xmit.tuple.l4proto = 17;
		v4(r->xmit.tuple.saddr, "11.11.11.11");
		v4(r->xmit.tuple.daddr, "192.0.2.1");
	} else {
		r->ret = -101;
	}
	return r;
}

static void test_oif_change(void)
{
	struct fake_host fh = { .owner_ifindex = 2 };
	struct hostinfo h = fake_hostinfo(&fh);
	struct finding f[2];
	struct send_record *r;

	add_link(&fh, 2, "wan1", 0x11);
	add_link(&fh, 3, "wan2", 0x22);
	v4(fh.owner_addr, "11.11.11.11");

	r = oif_record(true, true, false);
	CHECK(oif_change_check(r, &h, f) == 2);
	CHECK(f[0].kind == FINDING_OIF_CHANGE);
	CHECK_STR(finding_get(&f[0], "requested_oif"), "wan1:2");
	CHECK_STR(finding_get(&f[0], "requested_by"), "IP_PKTINFO");
	CHECK_STR(finding_get(&f[0], "egress_dev"), "wan2:3");
	CHECK_STR(finding_get(&f[0], "reroute_mark"), "1");
	CHECK(f[1].kind == FINDING_SRC_MAC_MISMATCH);
	CHECK_STR(finding_get(&f[1], "src_dev_mac"), "02:00:00:00:00:11");
	CHECK_STR(finding_get(&f[1], "egress_mac"), "02:00:00:00:00:22");
	/* the source also belongs to the egress device: no MAC finding */
	fh.owner_ifindex = 3;
	CHECK(oif_change_check(r, &h, f) == 1);
	fh.owner_ifindex = 2;
	free(r);

	r = oif_record(false, false, false);	/* healthy: no reroute */
	CHECK(oif_change_check(r, &h, f) == 0);
	free(r);
	r = oif_record(true, false, false);	/* rerouted, but to the same device */
	CHECK(oif_change_check(r, &h, f) == 0);
	free(r);
	r = oif_record(true, true, true);	/* reroute found no route */
	CHECK(oif_change_check(r, &h, f) == 1);
	CHECK(strstr(f[0].summary, "found no route") != NULL);
	CHECK_STR(finding_get(&f[0], "reroute_err"), "-11");
	r->send.ifindex = 2;			/* the socket is bound to what it asked for */
	CHECK(oif_change_check(r, &h, f) == 0);
	free(r);
}

/* ------------------------------------------------------------------------ no-sk / vrf */

static struct pwhy_event drop_event(const char *src, __u16 sport, const char *dst, __u16 dport,
				    int dif, int sdif)
{
	struct pwhy_event ev = { .kind = PWHY_EV_DROP, .skb = 0x99, .netns = 1 };

	ev.tuple.family = 2;
	ev.tuple.l4proto = 17;
	v4(ev.tuple.saddr, src);
	v4(ev.tuple.daddr, dst);
	ev.tuple.sport = sport;
	ev.tuple.dport = dport;
	ev.drop.dif = dif;
	ev.drop.sdif = sdif;
	return ev;
}

static void test_no_sk_vrf(void)
{
	struct fake_host fh = { .nsocks = 1 };
	struct hostinfo h = fake_hostinfo(&fh);
	struct pwhy_event ev = drop_event("10.10.0.1", 4000, "10.10.0.2", 53, 3, 2);
	struct finding f;

	add_link(&fh, 3, "vrf-blue", 3);
	add_link(&fh, 2, "vs0", 2);
	fh.socks[0] = (struct pwhy_sock){ .family = 2, .proto = 17, .sport = 53, .owner_pid = 7 };
	strcpy(fh.socks[0].owner_comm, "dnsd");
	CHECK(no_sk_explain(&ev, "__udp4_lib_rcv+0x1", &h, &f) == 1);
	CHECK(f.kind == FINDING_VRF_SDIF);
	CHECK_STR(finding_get(&f, "vrf_dev"), "vrf-blue:3");
	CHECK_STR(finding_get(&f, "slave_dev"), "vs0:2");
	CHECK_STR(finding_get(&f, "socket"), "0.0.0.0:53");
	CHECK_STR(finding_get(&f, "socket_comm"), "dnsd");
	CHECK_STR(finding_get(&f, "sysctl"), "net.ipv4.udp_l3mdev_accept=0");
	/* sysctl 1: the socket would match, so this is no VRF rejection */
	fh.l3mdev_accept = 1;
	CHECK(no_sk_explain(&ev, "x", &h, &f) == 1 && f.kind == FINDING_NO_SK);
	fh.l3mdev_accept = 0;
	/* no VRF ingress: nothing about sdif */
	ev.drop.sdif = 0;
	CHECK(no_sk_explain(&ev, "x", &h, &f) == 1 && f.kind == FINDING_NO_SK);
}

static void test_no_sk_tproxy_and_port(void)
{
	struct fake_host fh = { .nsocks = 1 };
	struct hostinfo h = fake_hostinfo(&fh);
	struct pwhy_event ev = drop_event("127.0.0.1", 15353, "10.1.0.1", 40000, 1, 0);
	struct finding f;

	fh.socks[0] = (struct pwhy_sock){ .family = 2, .proto = 17, .sport = 40000, .dport = 53,
					  .state = 1 };
	v4(fh.socks[0].saddr, "10.1.0.1");
	v4(fh.socks[0].daddr, "198.51.100.53");
	ev.drop.sender_known = 1;
	ev.drop.sender_transparent = 0;
	CHECK(no_sk_explain(&ev, "x", &h, &f) == 1);
	CHECK(f.kind == FINDING_NO_SK);
	CHECK_STR(finding_get(&f, "nearest_miss"), "peer");
	CHECK_STR(finding_get(&f, "socket_peer"), "198.51.100.53:53");
	CHECK(strstr(f.hint, "IP_TRANSPARENT socket bound to the original destination") != NULL);
	/* a transparent sender: the hint does not blame transparency */
	ev.drop.sender_transparent = 1;
	no_sk_explain(&ev, "x", &h, &f);
	CHECK(strstr(f.hint, "IP_TRANSPARENT") == NULL);
	/* closed port */
	fh.nsocks = 0;
	ev = drop_event("127.0.0.1", 5000, "127.0.0.1", 9, 1, 0);
	CHECK(no_sk_explain(&ev, "__udp4_lib_rcv", &h, &f) == 1);
	CHECK(strstr(f.summary, "no socket on 127.0.0.1:9/udp") != NULL);
	CHECK_STR(finding_get(&f, "nearest_miss"), "none");
	/* not UDP/TCP: no finding */
	ev.tuple.l4proto = 1;
	CHECK(no_sk_explain(&ev, "x", &h, &f) == 0);
}

static void test_route_lookup_grouping(void)
{
	struct send_record r = {};
	struct route_lookup L[4];
	struct pwhy_fib_facts a = { .table = 255, .err = -11, .oif = 0, .mark = 1, .family = 2 };

	r.fibs[r.nfibs++] = a;
	a.table = 254;
	r.fibs[r.nfibs++] = a;		/* same keys, still failing: one lookup */
	a.oif = 3;
	a.err = 0;
	a.nh_ifindex = 3;
	r.fibs[r.nfibs++] = a;		/* new keys: second lookup */
	CHECK(send_route_lookups(&r, L, 4) == 2);
	CHECK(!L[0].ok && L[0].err == -11);
	CHECK_STR(L[0].tables, "255,254");
	CHECK(L[1].ok && L[1].nh_ifindex == 3);
}

int main(void)
{
	RUN_TEST(test_drop_reason_names);
	RUN_TEST(test_btf_enumerator_and_funcs);
	RUN_TEST(test_splice);
	RUN_TEST(test_splice_inline);
	RUN_TEST(test_tuple_format);
	RUN_TEST(test_event_render);
	RUN_TEST(test_finding_render_and_kinds);
	RUN_TEST(test_oif_change);
	RUN_TEST(test_no_sk_vrf);
	RUN_TEST(test_no_sk_tproxy_and_port);
	RUN_TEST(test_route_lookup_grouping);
	TEST_EXIT();
}
