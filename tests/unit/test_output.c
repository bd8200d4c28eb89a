// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the pwru-like output options: TCP flags, caller and stack, clone links,
 * skb dumps, --output-limit-lines and --timestamp, in text and JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "pwhy/format.h"
#include "pwhy/render.h"

static struct pwhy_event sample(void)
{
	struct pwhy_event ev = { .kind = PWHY_EV_PATH, .probe = PWHY_PROBE_NETIF_RECEIVE_SKB,
				 .skb = 0xffff888100002000ull, .ts_ns = 123456789, .cpu = 0, .pid = 7,
				 .netns = 4026531840u, .ifindex = 2, .len = 60, .eth_proto = 0x800 };
	__u8 s[4] = { 10, 0, 0, 1 }, d[4] = { 10, 0, 0, 2 };

	strcpy(ev.comm, "curl");
	strcpy(ev.ifname, "eth0");
	ev.tuple.family = 2;
	ev.tuple.l4proto = 6;
	ev.tuple.sport = 40000;
	ev.tuple.dport = 80;
	ev.tuple.tcp_flags = 0x12;	/* SYN ACK */
	memcpy(ev.tuple.saddr, s, 4);
	memcpy(ev.tuple.daddr, d, 4);
	return ev;
}

/* frames of a fake stack map: id 5 has two kernel addresses, others none */
static int fake_stack(void *ctx, __s32 id, __u64 *ips, int max)
{
	if (id != 5 || max < 2)
		return -2;
	ips[0] = 0x10;
	ips[1] = 0x20;
	return 2;
}

static char *out_buf;
static size_t out_len;

static void render_open(struct render *r, bool json)
{
	memset(r, 0, sizeof(*r));
	free(out_buf);
	out_buf = NULL;
	r->out = open_memstream(&out_buf, &out_len);
	r->json = json;
	r->stack_ips = fake_stack;
}

static const char *render_close(struct render *r)
{
	fclose(r->out);
	return out_buf;
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static void test_tcp_flags_letters(void)
{
	char b[16];

	CHECK_STR(fmt_tcp_flags(0x02, b, sizeof(b)), "S");
	CHECK_STR(fmt_tcp_flags(0x12, b, sizeof(b)), "S.");
	CHECK_STR(fmt_tcp_flags(0x11, b, sizeof(b)), "F.");
	CHECK_STR(fmt_tcp_flags(0x18, b, sizeof(b)), "P.");
	CHECK_STR(fmt_tcp_flags(0x04, b, sizeof(b)), "R");
	CHECK_STR(fmt_tcp_flags(0xc2, b, sizeof(b)), "SEW");
	CHECK_STR(fmt_tcp_flags(0x00, b, sizeof(b)), "none");
	CHECK_STR(fmt_tcp_flags(0xff, b, sizeof(b)), "FSRP.UEW");
	CHECK_STR(fmt_tcp_flags(0xff, b, 4), "FSR");	/* truncated, still terminated */
}

static void test_caller_from_stack(void)
{
	const char *fentry[] = { "bpf_prog_6deef7357e7b4530_pwhy_fentry1+0x5c",
				 "bpf_trampoline_6442521811+0x47", "ip_rcv+0x9",
				 "__netif_receive_skb_one_core+0x3c", "process_backlog+0x83" };
	const char *tp[] = { "bpf_prog_1_pwhy_netif_rcv+0x10", "bpf_trace_run1+0x7c",
			     "__bpf_trace_netif_receive_skb+0x9",
			     "__netif_receive_skb_core.constprop.0+0x333" };
	const char *kp[] = { "ip_rcv_core+0x1", "ip_rcv+0x30" };
	const char *only_tracer[] = { "bpf_prog_1+0x1", "__traceiter_kfree_skb+0x2" };
	/* JIT frames without symbols (bpf_jit_kallsyms off), then the kernel's */
	const char *unnamed[] = { "0xffffffffc03af768", "0xffffffffc03aff9a", "ip_rcv+0x9",
				  "__netif_receive_skb_one_core+0x89" };
	const char *all_unnamed[] = { "0x10", "0x20" };

	CHECK(stack_caller_index(fentry, 5, "ip_rcv") == 3);
	CHECK(stack_caller_index(tp, 4, NULL) == 3);
	/* "ip_rcv" is not a prefix match of ip_rcv_core */
	CHECK(stack_caller_index(kp, 2, "ip_rcv") == 0);
	CHECK(stack_caller_index(only_tracer, 2, NULL) == -1);
	CHECK(stack_caller_index(NULL, 0, NULL) == -1);
	CHECK(stack_tracer_frames(unnamed, 4) == 2);
	CHECK(stack_caller_index(unnamed, 4, "ip_rcv") == 3);
	CHECK(stack_caller_index(unnamed, 4, NULL) == 2);
	CHECK(stack_tracer_frames(all_unnamed, 2) == 0);
	CHECK(stack_tracer_frames(fentry, 5) == 2);
	CHECK(stack_frame_is_tracer("bpf_trampoline_1+0x2"));
	CHECK(!stack_frame_is_tracer("bpf_skb_output+0x2"));
	CHECK(!stack_frame_is_tracer("ip_output+0x5f"));
}

static void test_text_extras(void)
{
	struct pwhy_event ev = sample();
	struct render r;
	const char *s;

	/* nothing asked: the line is as before */
	render_open(&r, false);
	render_event(&r, &ev);
	s = render_close(&r);
	CHECK(strstr(s, "10.0.0.1:40000->10.0.0.2:80(tcp) ") != NULL);
	CHECK(strstr(s, "[S.]") == NULL);
	CHECK(strstr(s, "caller=") == NULL);
	CHECK(strstr(s, "clone of") == NULL);

	render_open(&r, false);
	r.tcp_flags = r.caller = r.stack = true;
	ev.clone_of = 0xffff888100001000ull;
	ev.caller = 0x1;	/* below every kernel symbol: printed as an address */
	ev.has_stack = 1;
	ev.stack_id = 5;
	render_event(&r, &ev);
	s = render_close(&r);
	CHECK(strstr(s, "10.0.0.1:40000->10.0.0.2:80(tcp) [S.]") != NULL);
	CHECK(strstr(s, "netif_receive_skb clone of 0xffff888100001000 caller=0x1\n") != NULL);
	CHECK(strstr(s, "\n    0x10\n    0x20\n") != NULL);

	/* no direct caller (tracepoint): taken from the stack; none at all: '?' */
	render_open(&r, false);
	r.caller = true;
	ev.caller = 0;
	render_event(&r, &ev);
	ev.has_stack = 0;
	render_event(&r, &ev);
	s = render_close(&r);
	CHECK(strstr(s, "caller=0x10\n") != NULL);
	CHECK(strstr(s, "caller=?\n") != NULL);

	/* flags only for TCP */
	render_open(&r, false);
	r.tcp_flags = true;
	ev.tuple.l4proto = 17;
	render_event(&r, &ev);
	s = render_close(&r);
	CHECK(strstr(s, "(udp) [") == NULL);
}

static void test_json_extras(void)
{
	struct pwhy_event ev = sample();
	struct render r;
	const char *s;

	render_open(&r, true);
	render_event(&r, &ev);
	s = render_close(&r);
	CHECK(strstr(s, "\"clone_of\"") == NULL);
	CHECK(strstr(s, "\"tcp_flags\"") == NULL);
	CHECK(strstr(s, "\"caller\"") == NULL);
	CHECK(strstr(s, "\"stack\"") == NULL);

	render_open(&r, true);
	r.tcp_flags = r.caller = r.stack = true;
	ev.clone_of = 0xffff888100001000ull;
	ev.has_stack = 1;
	ev.stack_id = 5;
	render_event(&r, &ev);
	ev.has_stack = 0;
	render_event(&r, &ev);
	s = render_close(&r);
	CHECK(strstr(s, "\"clone_of\":\"0xffff888100001000\"") != NULL);
	CHECK(strstr(s, "\"tcp_flags\":\"S.\"") != NULL);
	CHECK(strstr(s, "\"caller\":\"0x10\"") != NULL);
	CHECK(strstr(s, "\"stack\":[\"0x10\",\"0x20\"]}") != NULL);
	CHECK(strstr(s, "\"caller\":null,\"stack\":null}") != NULL);
}

static void test_limit_and_timestamp(void)
{
	struct pwhy_event ev = sample();
	struct render r;
	const char *s;

	render_open(&r, false);
	r.limit_lines = 2;
	r.timestamp = true;
	CHECK(!render_limit_reached(&r));
	render_event(&r, &ev);
	render_event(&r, &ev);
	CHECK(render_limit_reached(&r));
	render_event(&r, &ev);
	s = render_close(&r);
	CHECK(count_lines(s, "netif_receive_skb") == 2);
	CHECK(strncmp(s, "TIME ", 5) == 0);
	CHECK(strstr(s, "\n123456789        0xffff888100002000") != NULL);
	CHECK(r.lines == 2);
}

static void test_skb_dump(void)
{
	struct pwhy_event ev = sample();
	static struct pwhy_skb_dump d;
	struct render r;
	const char *s;
	const char text[] = "(struct sk_buff){\n .len = (unsigned int)60,\n}";

	d.kind = PWHY_EV_SKB_DUMP;
	d.skb = ev.skb;
	d.ts_ns = ev.ts_ns;
	d.len = strlen(text);
	memcpy(d.text, text, sizeof(text));

	/* after its event line */
	render_open(&r, false);
	render_event(&r, &ev);
	render_skb_dump(&r, &d, sizeof(d));
	s = render_close(&r);
	CHECK(strstr(s, "netif_receive_skb\n(struct sk_buff){\n .len = (unsigned int)60,\n}\n") != NULL);

	/* an event that was not printed (limit reached) gets no dump either */
	render_open(&r, false);
	r.limit_lines = 1;
	render_event(&r, &ev);
	ev.ts_ns++;
	render_event(&r, &ev);
	d.ts_ns = ev.ts_ns;
	render_skb_dump(&r, &d, sizeof(d));
	s = render_close(&r);
	CHECK(strstr(s, "struct sk_buff") == NULL);

	/* JSON: its own object, escaped; truncation said */
	render_open(&r, true);
	render_event(&r, &ev);
	d.len = sizeof(d.text) + 100;
	render_skb_dump(&r, &d, sizeof(d));
	s = render_close(&r);
	CHECK(strstr(s, "{\"skb\":\"0xffff888100002000\",\"ts_ns\":123456790,\"skb_btf\":\"(struct sk_buff){\\u000a .len = (unsigned int)60,\\u000a}\",\"truncated\":true}") != NULL);
}

/* The text line is built without printf: it must stay byte for byte what the printf format it
 * replaced writes, for wide and narrow fields alike. */
static void test_text_line_matches_printf(void)
{
	static const struct { const char *comm, *ifname; __u32 cpu, pid, netns, mark, len;
			      __s32 ifindex; __u16 proto; __u64 skb; } v[] = {
		{ "curl", "eth0", 0, 7, 4026531840u, 0, 60, 2, 0x800, 0xffff888100002000ull },
		{ "a-very-long-nam", "veth-long-name0", 123, 4194304, 1, 0xffffffffu, 65535, 99999,
		  0x86dd, 1 },
		{ "x", "", 7, 0, 0, 0x1234567, 0, 0, 0x3, 0 },
		{ "", "lo", 4095, 1, 4294967295u, 0xabc, 1500, 1, 0xffff, ~0ull },
	};
	static const int fams[] = { 2, 10, 0 };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (size_t j = 0; j < 3; j++) {
			struct pwhy_event ev = sample();
			char want[1024], proc[64], ifn[64], tuple[160], probe[64];
			struct render r;

			strcpy(ev.comm, v[i].comm);
			strcpy(ev.ifname, v[i].ifname);
			ev.cpu = v[i].cpu;
			ev.pid = v[i].pid;
			ev.netns = v[i].netns;
			ev.mark = v[i].mark;
			ev.len = v[i].len;
			ev.ifindex = v[i].ifindex;
			ev.eth_proto = v[i].proto;
			ev.skb = v[i].skb;
			ev.tuple.family = fams[j];
			ev.tuple.l4proto = j == 1 ? 58 : 17;
			memset(ev.tuple.daddr, 0xfe, 16);
			render_open(&r, false);
			r.header_done = true;
			r.timestamp = i & 1;
			render_event(&r, &ev);
			render_close(&r);
			snprintf(proc, sizeof(proc), "%s:%u", ev.comm, ev.pid);
			if (!ev.ifindex)
				snprintf(ifn, sizeof(ifn), "-");
			else if (ev.ifname[0])
				snprintf(ifn, sizeof(ifn), "%s:%d", ev.ifname, ev.ifindex);
			else
				snprintf(ifn, sizeof(ifn), "%d", ev.ifindex);
			fmt_tuple(&ev.tuple, tuple, sizeof(tuple));
			render_probe_name(&r, &ev, probe, sizeof(probe));
			int n = 0;

			if (r.timestamp)
				n = snprintf(want, sizeof(want), "%-16llu ",
					     (unsigned long long)ev.ts_ns);
			snprintf(want + n, sizeof(want) - n,
				 "0x%016llx %-3u %-20s %-10u 0x%-6x %-14s 0x%04x %-5u %-46s %s%s%s\n",
				 (unsigned long long)ev.skb, ev.cpu, proc, ev.netns, ev.mark, ifn,
				 ev.eth_proto, ev.len, tuple, probe, "", "");
			CHECK_STR(out_buf, want);
		}
	}
}

int main(void)
{
	RUN_TEST(test_tcp_flags_letters);
	RUN_TEST(test_text_line_matches_printf);
	RUN_TEST(test_caller_from_stack);
	RUN_TEST(test_text_extras);
	RUN_TEST(test_json_extras);
	RUN_TEST(test_limit_and_timestamp);
	RUN_TEST(test_skb_dump);
	free(out_buf);
	TEST_EXIT();
}
