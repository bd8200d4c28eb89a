// SPDX-License-Identifier: GPL-2.0
/* pwru-like event lines and finding lines, in text or JSON. */
#include <stdio.h>
#include <string.h>
#include "pwhy/btf_info.h"
#include "pwhy/format.h"
#include "pwhy/ksyms.h"
#include "pwhy/render.h"
#include "pwhy/linebuf.h"
#include "render_extra.h"

static const char *const tp_names[PWHY_PROBE_MAX] = {
	[PWHY_PROBE_NET_DEV_QUEUE] = "net_dev_queue",
	[PWHY_PROBE_NET_DEV_XMIT] = "net_dev_xmit",
	[PWHY_PROBE_NETIF_RECEIVE_SKB] = "netif_receive_skb",
	[PWHY_PROBE_NETIF_RX] = "netif_rx",
	[PWHY_PROBE_KFREE_SKB] = "kfree_skb",
	[PWHY_PROBE_CONSUME_SKB] = "consume_skb",
	[PWHY_PROBE_FIB_LOOKUP] = "fib_table_lookup",
	[PWHY_PROBE_FIB6_LOOKUP] = "fib6_table_lookup",
	[PWHY_PROBE_SENDMSG] = "sendmsg",
	[PWHY_PROBE_SKB_COPY_DATAGRAM] = "skb_copy_datagram_iovec",
};

const char *render_probe_name(const struct render *r, const struct pwhy_event *ev, char *buf,
			      size_t len)
{
	const char *n = NULL;

	if (ev->probe == PWHY_PROBE_FUNC)
		n = r->func_name ? r->func_name(ev->func_ip) : ksym_exact(ev->func_ip);
	else if (ev->probe < PWHY_PROBE_MAX)
		n = tp_names[ev->probe];
	snprintf(buf, len, "%s", n ? n : "?");
	return buf;
}

const char *render_drop_reason(const struct render *r, __u32 reason, char *buf, size_t len)
{
	const char *n = r->btf ? btf_drop_reason_name(r->btf, reason) : NULL;

	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "%u", reason);
	return buf;
}

static void header(struct render *r)
{
	if (r->header_done || r->json)
		return;
	r->header_done = true;
	if (r->timestamp)
		fprintf(r->out, "%-16s ", "TIME");
	fprintf(r->out, "%-18s %-3s %-20s %-10s %-8s %-14s %-6s %-5s %-46s %s\n", "SKB", "CPU",
		"PROCESS", "NETNS", "MARK", "IFACE", "PROTO", "LEN", "TUPLE", "FUNC");
}

/* A fixed-size name from the kernel: terminated, one line (a task may name itself "a\nb") */
static const char *kernel_name(const char *src, size_t n, char *buf)
{
	size_t i;

	for (i = 0; i < n && src[i]; i++)
		buf[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	buf[i] = 0;
	return buf;
}

/* One event as a text line: "0x%016llx %-3u %-20s %-10u 0x%-6x %-14s 0x%04x %-5u %-46s %s%s%s\n",
 * built by hand (printf's parsing was the larger part of rendering at full event rates). */
static void text_line(struct render *r, const struct pwhy_event *ev, const char *proc,
		      const char *ifname, const char *tuple, const char *probe, const char *extra,
		      const char *more)
{
	char line[1024], *f;
	struct linebuf b = lb_init(line, sizeof(line));

	if (r->timestamp) {
		f = b.p;
		lb_u(&b, ev->ts_ns);
		lb_pad(&b, f, 16);
		lb_putc(&b, ' ');
	}
	lb_puts(&b, "0x");
	lb_hex(&b, ev->skb, 16);
	lb_putc(&b, ' ');
	lb_ucol(&b, ev->cpu, 3);
	lb_scol(&b, proc, 20);
	lb_ucol(&b, ev->netns, 10);
	lb_puts(&b, "0x");
	f = b.p;
	lb_hex(&b, ev->mark, 1);
	lb_pad(&b, f, 6);
	lb_putc(&b, ' ');
	lb_scol(&b, ifname, 14);
	lb_puts(&b, "0x");
	lb_hex(&b, ev->eth_proto, 4);
	lb_putc(&b, ' ');
	lb_ucol(&b, ev->len, 5);
	lb_scol(&b, tuple, 46);
	lb_puts(&b, probe);
	lb_puts(&b, extra);
	lb_puts(&b, more);
	lb_putc(&b, '\n');
	fwrite(line, 1, b.p - line, r->out);
}

void render_event(struct render *r, const struct pwhy_event *ev)
{
	char probe[64], tuple[160], ifname[48], proc[48], extra[160] = "", reason[64], loc[96];
	char comm[PWHY_COMM_LEN + 1], ifn[PWHY_IFNAMSIZ + 1];
	char flags[16] = "", caller[RENDER_SYM_LEN] = "", more[256] = "";
	const char *callp = NULL;

	if (ev->kind != PWHY_EV_PATH && ev->kind != PWHY_EV_DROP)
		return;
	if (render_limit_reached(r))
		return;
	r->lines++;
	r->last_skb = ev->skb;
	r->last_ts = ev->ts_ns;
	kernel_name(ev->comm, PWHY_COMM_LEN, comm);
	kernel_name(ev->ifname, PWHY_IFNAMSIZ, ifn);
	render_probe_name(r, ev, probe, sizeof(probe));
	fmt_tuple(&ev->tuple, tuple, sizeof(tuple));
	if (r->tcp_flags && ev->tuple.l4proto == 6 && !ev->tuple.frag)
		fmt_tcp_flags(ev->tuple.tcp_flags, flags, sizeof(flags));
	if (r->caller)
		callp = render_caller(r, ev, probe, caller, sizeof(caller));
	fmt_ifname(ifn, ev->ifindex, ifname, sizeof(ifname));
	{
		struct linebuf b = lb_init(proc, sizeof(proc));

		lb_puts(&b, comm);
		lb_putc(&b, ':');
		lb_u(&b, ev->pid);
		lb_end(&b);
	}
	if (ev->kind == PWHY_EV_DROP) {
		render_drop_reason(r, ev->drop.reason, reason, sizeof(reason));
		ksym_format(ev->drop.location, loc, sizeof(loc));
		snprintf(extra, sizeof(extra), "(%s) @%s", reason, loc);
	}
	if (r->json) {
		char esc[256], esc_if[128];

		fprintf(r->out, "{\"skb\":\"0x%llx\",\"cpu\":%u,\"process\":\"%s\",\"pid\":%u,"
			"\"netns\":%u,\"mark\":%u,\"ifindex\":%d,\"ifname\":\"%s\",\"proto\":\"0x%04x\","
			"\"len\":%u,\"tuple\":\"%s\",\"probe\":\"%s\",\"ts_ns\":%llu",
			(unsigned long long)ev->skb, ev->cpu, fmt_json_escape(comm, esc, sizeof(esc)),
			ev->pid, ev->netns, ev->mark, ev->ifindex,
			fmt_json_escape(ifn, esc_if, sizeof(esc_if)), ev->eth_proto, ev->len,
			tuple, probe, (unsigned long long)ev->ts_ns);
		if (ev->kind == PWHY_EV_DROP)
			fprintf(r->out, ",\"drop_reason\":\"%s\",\"location\":\"%s\"", reason, loc);
		if (ev->clone_of)
			fprintf(r->out, ",\"clone_of\":\"0x%llx\"", (unsigned long long)ev->clone_of);
		if (flags[0])
			fprintf(r->out, ",\"tcp_flags\":\"%s\"", flags);
		if (r->caller && callp)
			fprintf(r->out, ",\"caller\":\"%s\"", callp);
		else if (r->caller)
			fprintf(r->out, ",\"caller\":null");
		if (r->stack)
			render_stack_json(r, ev);
		fprintf(r->out, "}\n");
		return;
	}
	header(r);
	if (flags[0]) {
		size_t n = strlen(tuple);

		snprintf(tuple + n, sizeof(tuple) - n, " [%s]", flags);
	}
	if (ev->clone_of)
		snprintf(more, sizeof(more), " clone of 0x%llx", (unsigned long long)ev->clone_of);
	if (r->caller) {
		size_t n = strlen(more);

		snprintf(more + n, sizeof(more) - n, " caller=%s", callp ? callp : "?");
	}
	text_line(r, ev, proc, ifname, tuple, probe, extra, more);
	if (r->stack)
		render_stack_text(r, ev);
	/* no flush: the session flushes its output after each batch of events */
}

void render_finding(struct render *r, const struct finding *f)
{
	char esc[1024];

	if (r->json) {
		fprintf(r->out, "{\"finding\":\"%s\",\"skb\":\"0x%llx\"", finding_kind_name(f->kind),
			(unsigned long long)f->skb);
		for (int i = 0; i < f->nfacts; i++) {
			if (f->facts[i].num)
				fprintf(r->out, ",\"%s\":%s", f->facts[i].key, f->facts[i].val);
			else
				fprintf(r->out, ",\"%s\":\"%s\"", f->facts[i].key,
					fmt_json_escape(f->facts[i].val, esc, sizeof(esc)));
		}
		fprintf(r->out, ",\"summary\":\"%s\"", fmt_json_escape(f->summary, esc, sizeof(esc)));
		fprintf(r->out, ",\"hint\":\"%s\"}\n", fmt_json_escape(f->hint, esc, sizeof(esc)));
	} else {
		fprintf(r->out, "FINDING %s skb 0x%llx: %s\n", finding_kind_name(f->kind),
			(unsigned long long)f->skb, f->summary);
		fprintf(r->out, "  facts:");
		for (int i = 0; i < f->nfacts; i++)
			fprintf(r->out, " %s=%s", f->facts[i].key, f->facts[i].val);
		fprintf(r->out, "\n  hint: %s\n", f->hint);
	}
	fflush(r->out);
}

void render_note(struct render *r, const char *kind, const char *text)
{
	char esc[1024];

	if (r->json)
		fprintf(r->out, "{\"kind\":\"%s\",\"text\":\"%s\"}\n", kind,
			fmt_json_escape(text, esc, sizeof(esc)));
	else
		fprintf(r->out, "%s: %s\n", kind, text);
	fflush(r->out);
}
