// SPDX-License-Identifier: GPL-2.0
/* The pcap-ng writer and `-w` output, read back two ways: with libpcap (which reads pcap-ng but
 * ignores comments) and with a block walker written here from the format description, which
 * also checks framing (lengths, alignment) and collects interfaces and comments. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "pwhy/pcap_out.h"
#include "pwhy/pcapng.h"

static char dir[] = "/tmp/pwhy-test-pcapng-XXXXXX";

static const char *tmp(const char *name)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	return p;
}

/* ------------------------------------------------------------------ independent reader */

struct parsed {
	int ok;			/* framing was valid to the end */
	int nifs, npkts;
	uint16_t linktype[16];
	char ifname[16][96];
	uint8_t tsresol[16];
	uint32_t pkt_if[64], caplen[64], origlen[64];
	uint64_t ts[64];
	uint8_t data[64][256];
	char comment[64][1024];
	char app[64];
};

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* Walk options [p, end): code/len/value padded to 4, ending with opt_endofopt. */
static int walk_opts(const uint8_t *p, const uint8_t *end,
		     void (*fn)(uint16_t code, const uint8_t *v, uint16_t len, void *ctx), void *ctx)
{
	while (p + 4 <= end) {
		uint16_t code = rd16(p), len = rd16(p + 2);

		if (code == 0)
			return len == 0 ? 0 : -1;
		if (p + 4 + ((len + 3u) & ~3u) > end)
			return -1;
		fn(code, p + 4, len, ctx);
		p += 4 + ((len + 3u) & ~3u);
	}
	return p == end ? 0 : -1;	/* options may be absent altogether */
}

struct opt_ctx { struct parsed *r; int idx; int kind; };

static void on_opt(uint16_t code, const uint8_t *v, uint16_t len, void *ctx)
{
	struct opt_ctx *c = ctx;
	char *dst = NULL;
	size_t cap = 0;

	if (c->kind == 0 && code == 4) {
		dst = c->r->app;
		cap = sizeof(c->r->app);
	} else if (c->kind == 1 && code == 2) {
		dst = c->r->ifname[c->idx];
		cap = sizeof(c->r->ifname[0]);
	} else if (c->kind == 1 && code == 9 && len == 1) {
		c->r->tsresol[c->idx] = v[0];
	} else if (c->kind == 6 && code == 1) {
		dst = c->r->comment[c->idx];
		cap = sizeof(c->r->comment[0]);
	}
	if (dst) {
		size_t n = len < cap - 1 ? len : cap - 1;

		memcpy(dst, v, n);
		dst[n] = 0;
	}
}

static void parse(const char *path, struct parsed *r)
{
	FILE *f = fopen(path, "r");
	static uint8_t buf[1 << 20];
	size_t n, off = 0;

	memset(r, 0, sizeof(*r));
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	while (off + 12 <= n) {
		uint32_t type = rd32(buf + off), len = rd32(buf + off + 4);
		const uint8_t *b = buf + off;
		struct opt_ctx c = { r, 0, -1 };

		if (len < 12 || len % 4 || off + len > n || rd32(b + len - 4) != len)
			return;
		if (type == 0x0A0D0D0A) {
			if (off != 0 || rd32(b + 8) != 0x1A2B3C4D || rd16(b + 12) != 1)
				return;
			c.kind = 0;
			if (walk_opts(b + 24, b + len - 4, on_opt, &c))
				return;
		} else if (type == 1 && r->nifs < 16) {
			c.kind = 1;
			c.idx = r->nifs++;
			r->linktype[c.idx] = rd16(b + 8);
			if (walk_opts(b + 16, b + len - 4, on_opt, &c))
				return;
		} else if (type == 6 && r->npkts < 64) {
			int i = r->npkts++;
			uint32_t cap = rd32(b + 20);

			r->pkt_if[i] = rd32(b + 8);
			if ((int)r->pkt_if[i] >= r->nifs)
				return;	/* an EPB before its IDB */
			r->ts[i] = (uint64_t)rd32(b + 12) << 32 | rd32(b + 16);
			r->caplen[i] = cap;
			r->origlen[i] = rd32(b + 24);
			if (28 + ((cap + 3) & ~3u) > len - 4)
				return;
			memcpy(r->data[i], b + 28, cap < 256 ? cap : 256);
			c.kind = 6;
			c.idx = i;
			if (walk_opts(b + 28 + ((cap + 3) & ~3u), b + len - 4, on_opt, &c))
				return;
		} else {
			return;
		}
		off += len;
	}
	r->ok = off == n;
}

/* ------------------------------------------------------------------------ writer */

static const uint8_t frame[] = {
	/* Ethernet: dst, src, IPv4 */
	0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,
	/* IPv4 10.0.0.1 -> 10.0.0.2 UDP, 20 + 8 + 3 */
	0x45, 0, 0, 31, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
	0x30, 0x39, 0, 9, 0, 11, 0, 0, 'a', 'b', 'c',
};

static void test_writer_read_by_libpcap(void)
{
	const char *path = tmp("w.pcapng");
	struct pcapng_writer *w = pcapng_open(path, "pwhy-test");
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p;
	int n = 0, ifid;

	CHECK(w != NULL);
	if (!w)
		return;
	ifid = pcapng_interface(w, PCAPNG_LINKTYPE_ETHERNET, 128, "veth0:4 netns=1", "test");
	CHECK(ifid == 0);
	/* caplen shorter than the wire, a comment of odd length, and none at all */
	CHECK(pcapng_packet(w, ifid, 1700000000123456789ull, frame, sizeof(frame), sizeof(frame),
			    "first") == 0);
	CHECK(pcapng_packet(w, ifid, 1700000000123456790ull, frame, 20, 1500, "second, cut") == 0);
	CHECK(pcapng_packet(w, ifid, 1700000001000000000ull, frame, sizeof(frame), sizeof(frame),
			    NULL) == 0);
	CHECK(pcapng_packet(w, 7, 0, frame, 1, 1, NULL) == -EINVAL);	/* no such interface */
	CHECK(pcapng_close(w) == 0);

	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	CHECK(p != NULL);
	if (!p) {
		printf("#   libpcap: %s\n", errbuf);
		return;
	}
	CHECK(pcap_datalink(p) == DLT_EN10MB);
	while (pcap_next_ex(p, &h, &data) == 1) {
		n++;
		if (n == 1) {
			CHECK(h->caplen == sizeof(frame) && h->len == sizeof(frame));
			CHECK(!memcmp(data, frame, sizeof(frame)));
			CHECK(h->ts.tv_sec == 1700000000 && h->ts.tv_usec == 123456789);
		} else if (n == 2) {
			CHECK(h->caplen == 20 && h->len == 1500);
			CHECK(!memcmp(data, frame, 20));
		} else if (n == 3) {
			CHECK(h->ts.tv_sec == 1700000001 && h->ts.tv_usec == 0);
		}
	}
	CHECK(n == 3);
	pcap_close(p);
}

static void test_writer_framing_and_comments(void)
{
	const char *path = tmp("w.pcapng");	/* written by the test above */
	struct parsed r;

	parse(path, &r);
	CHECK(r.ok);
	CHECK_STR(r.app, "pwhy-test");
	CHECK(r.nifs == 1 && r.linktype[0] == 1 && r.tsresol[0] == 9);
	CHECK_STR(r.ifname[0], "veth0:4 netns=1");
	CHECK(r.npkts == 3);
	CHECK_STR(r.comment[0], "first");
	CHECK_STR(r.comment[1], "second, cut");
	CHECK_STR(r.comment[2], "");
	CHECK(r.caplen[1] == 20 && r.origlen[1] == 1500);
	CHECK(r.ts[0] == 1700000000123456789ull);
}

static void test_writer_errors(void)
{
	struct pcapng_writer *w;

	errno = 0;
	CHECK(pcapng_open(tmp("no/such/dir.pcapng"), "x") == NULL && errno == ENOENT);
	/* a full disk shows up at a flush or at close, not silently */
	w = pcapng_open("/dev/full", "x");
	if (w) {
		int id = pcapng_interface(w, PCAPNG_LINKTYPE_RAW, 128, "x", NULL);

		for (int i = 0; i < 2000; i++)
			pcapng_packet(w, id, i, frame, sizeof(frame), sizeof(frame), "c");
		CHECK(pcapng_close(w) == -ENOSPC);
	} else {
		CHECK(errno == ENOSPC);
	}
}

/* ---------------------------------------------------------------------- -w output */

static const char *fake_func(__u64 ip)
{
	return ip == 0x1000 ? "udp_sendmsg" : ip == 0x2000 ? "ip_rcv" : NULL;
}

static struct pwhy_event mk_event(__u16 kind, __u16 probe, __u64 ip, __u64 skb, __u64 ts,
				  bool l2)
{
	struct pwhy_event ev = { .version = PWHY_EVENT_VERSION, .kind = kind, .probe = probe };
	const uint8_t *b = l2 ? frame : frame + 14;
	unsigned n = l2 ? sizeof(frame) : sizeof(frame) - 14;

	ev.func_ip = ip;
	ev.skb = skb;
	ev.ts_ns = ts;
	ev.netns = 4026531840u;
	ev.ifindex = l2 ? 4 : 0;
	strcpy(ev.ifname, l2 ? "veth0" : "");
	strcpy(ev.comm, "nettool");
	ev.pid = 42;
	ev.mark = 0x10;
	ev.pkt_l2 = l2;
	ev.pkt_len = n;
	ev.pkt_wirelen = n + 100;	/* the rest is paged */
	memcpy(ev.pkt, b, n);
	return ev;
}

static const unsigned long long T0 = 5000000000ull;	/* monotonic ns */

static void test_out_every_event(void)
{
	struct render names = { .func_name = fake_func };
	const char *path = tmp("out.pcapng");
	struct pcap_out *o = pcap_out_open(path, false, &names);
	struct pwhy_event ev;
	struct finding f;
	struct parsed r;

	CHECK(o != NULL);
	if (!o)
		return;
	ev = mk_event(PWHY_EV_PATH, PWHY_PROBE_FUNC, 0x1000, 0xffff888000001000ull, T0, false);
	pcap_out_event(o, &ev);
	ev = mk_event(PWHY_EV_PATH, PWHY_PROBE_NET_DEV_QUEUE, 0, 0xffff888000001000ull, T0 + 10, true);
	pcap_out_event(o, &ev);
	ev = mk_event(PWHY_EV_DROP, PWHY_PROBE_KFREE_SKB, 0, 0xffff888000001000ull, T0 + 20, true);
	ev.drop.reason = 77;
	pcap_out_event(o, &ev);
	/* not packets */
	ev.kind = PWHY_EV_FIB;
	pcap_out_event(o, &ev);
	/* a finding reported right after the drop lands in the drop's comment */
	finding_init(&f, FINDING_NO_SK, 0xffff888000001000ull);
	snprintf(f.summary, sizeof(f.summary), "no socket on 10.0.0.2:9/udp");
	pcap_out_finding(o, &f);

	/* held until PCAP_OUT_HOLD_NS old: nothing but the section header yet */
	pcap_out_tick(o, T0 + PCAP_OUT_HOLD_NS - 1);
	parse(path, &r);
	CHECK(r.ok && r.npkts == 0 && r.nifs == 0);
	pcap_out_tick(o, T0 + PCAP_OUT_HOLD_NS + 15);
	parse(path, &r);
	CHECK(r.ok && r.npkts == 2);
	CHECK(pcap_out_close(o) == 3);

	parse(path, &r);
	CHECK(r.ok);
	CHECK(r.npkts == 3 && r.nifs == 2);
	/* raw IP for the L3-only skb, Ethernet for the others, one IDB per (type, device) */
	CHECK(r.linktype[r.pkt_if[0]] == PCAPNG_LINKTYPE_RAW);
	CHECK(r.linktype[r.pkt_if[1]] == PCAPNG_LINKTYPE_ETHERNET);
	CHECK(r.pkt_if[1] == r.pkt_if[2]);
	CHECK_STR(r.ifname[r.pkt_if[1]], "veth0:4 netns=4026531840");
	CHECK_STR(r.ifname[r.pkt_if[0]], "- netns=4026531840");
	CHECK(r.caplen[0] == sizeof(frame) - 14 && r.origlen[0] == sizeof(frame) - 14 + 100);
	CHECK(!memcmp(r.data[0], frame + 14, sizeof(frame) - 14));
	CHECK(r.caplen[1] == sizeof(frame) && !memcmp(r.data[1], frame, sizeof(frame)));
	CHECK_STR(r.comment[0], "pwhy: udp_sendmsg skb=0xffff888000001000 netns=4026531840 if=- mark=0x10 proc=nettool:42");
	CHECK_STR(r.comment[1], "pwhy: net_dev_queue skb=0xffff888000001000 netns=4026531840 if=veth0:4 mark=0x10 proc=nettool:42");
	CHECK(!strncmp(r.comment[2], "pwhy: kfree_skb(77) @", 21));
	CHECK(strstr(r.comment[2], " [finding no-sk: no socket on 10.0.0.2:9/udp]") != NULL);
	CHECK(!strstr(r.comment[1], "finding"));
	/* monotonic → wall clock: the same distance apart, and a plausible date */
	CHECK(r.ts[1] - r.ts[0] == 10 && r.ts[2] - r.ts[1] == 10);
	CHECK(r.ts[0] > 1600000000ull * 1000000000ull);
}

static void test_out_once(void)
{
	struct render names = { .func_name = fake_func };
	const char *path = tmp("once.pcapng");
	struct pcap_out *o = pcap_out_open(path, true, &names);
	struct pwhy_event ev;
	struct parsed r;
	const __u64 A = 0xffff888000002000ull, B = 0xffff888000003000ull;

	CHECK(o != NULL);
	if (!o)
		return;
	for (int i = 0; i < 3; i++) {
		ev = mk_event(PWHY_EV_PATH, PWHY_PROBE_FUNC, i ? 0x2000 : 0x1000, A, T0 + i, i > 0);
		pcap_out_event(o, &ev);
		ev = mk_event(PWHY_EV_PATH, PWHY_PROBE_NETIF_RECEIVE_SKB, 0, B, T0 + 10 + i, true);
		pcap_out_event(o, &ev);
	}
	/* A is dropped while its packet is held: the comment says so */
	ev = mk_event(PWHY_EV_DROP, PWHY_PROBE_KFREE_SKB, 0, A, T0 + 20, true);
	ev.drop.reason = 5;
	pcap_out_event(o, &ev);
	/* B is consumed, then its address is reused by a new skb: that one is a new packet */
	ev = mk_event(PWHY_EV_PATH, PWHY_PROBE_CONSUME_SKB, 0, B, T0 + 30, true);
	pcap_out_event(o, &ev);
	ev = mk_event(PWHY_EV_PATH, PWHY_PROBE_FUNC, 0x1000, B, T0 + 40, false);
	pcap_out_event(o, &ev);
	ev = mk_event(PWHY_EV_PATH, PWHY_PROBE_NET_DEV_QUEUE, 0, B, T0 + 50, true);
	pcap_out_event(o, &ev);
	CHECK(pcap_out_close(o) == 3);

	parse(path, &r);
	CHECK(r.ok && r.npkts == 3);
	CHECK(!strncmp(r.comment[0], "pwhy: udp_sendmsg skb=0xffff888000002000 ", 41));
	CHECK(strstr(r.comment[0], "[then dropped 5 @") != NULL);
	CHECK(!strncmp(r.comment[1], "pwhy: netif_receive_skb skb=0xffff888000003000 ", 47));
	CHECK(!strncmp(r.comment[2], "pwhy: udp_sendmsg skb=0xffff888000003000 ", 41));
}

static void test_out_unwritable(void)
{
	struct render names = {};

	errno = 0;
	CHECK(pcap_out_open(tmp("missing/x.pcapng"), false, &names) == NULL && errno == ENOENT);
	if (geteuid() != 0) {	/* root may write anywhere */
		errno = 0;
		CHECK(pcap_out_open("/proc/version", false, &names) == NULL);
	}
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	RUN_TEST(test_writer_read_by_libpcap);
	RUN_TEST(test_writer_framing_and_comments);
	RUN_TEST(test_writer_errors);
	RUN_TEST(test_out_every_event);
	RUN_TEST(test_out_once);
	RUN_TEST(test_out_unwritable);
	unlink(tmp("w.pcapng"));
	unlink(tmp("out.pcapng"));
	unlink(tmp("once.pcapng"));
	rmdir(dir);
	TEST_EXIT();
}
