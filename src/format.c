// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "pwhy/event.h"
#include "pwhy/format.h"
#include "pwhy/linebuf.h"

static void lb_addr(struct linebuf *b, int family, const __u8 *addr)
{
	char a[64];

	if (family != 10) {	/* dotted quad, as inet_ntop writes it */
		for (int i = 0; i < 4; i++) {
			if (i)
				lb_putc(b, '.');
			lb_u(b, addr[i]);
		}
		return;
	}
	lb_puts(b, inet_ntop(AF_INET6, addr, a, sizeof(a)) ? a : "?");
}

static void lb_endpoint(struct linebuf *b, int family, const __u8 *addr, __u16 port)
{
	if (family == 10)
		lb_putc(b, '[');
	lb_addr(b, family, addr);
	lb_puts(b, family == 10 ? "]:" : ":");
	lb_u(b, port);
}

const char *fmt_addr(int family, const void *addr, char *buf, size_t len)
{
	struct linebuf b = lb_init(buf, len);

	lb_addr(&b, family, addr);
	lb_end(&b);
	return buf;
}

const char *fmt_endpoint(int family, const void *addr, __u16 port, char *buf, size_t len)
{
	struct linebuf b = lb_init(buf, len);

	lb_endpoint(&b, family, addr, port);
	lb_end(&b);
	return buf;
}

const char *fmt_l4proto(int proto)
{
	switch (proto) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmp6";
	case 132: return "sctp";
	default: return NULL;
	}
}

const char *fmt_tuple(const struct pwhy_tuple *t, char *buf, size_t len)
{
	struct linebuf b = lb_init(buf, len);
	const char *proto = fmt_l4proto(t->l4proto);

	if (!t->family) {
		lb_putc(&b, '-');
	} else if (t->frag || (t->l4proto != 6 && t->l4proto != 17)) {
		lb_addr(&b, t->family, t->saddr);
		lb_puts(&b, "->");
		lb_addr(&b, t->family, t->daddr);
		lb_putc(&b, '(');
		if (proto) {
			lb_puts(&b, proto);
		} else {
			lb_puts(&b, "proto");
			lb_u(&b, t->l4proto);
		}
		lb_puts(&b, t->frag ? " frag)" : ")");
	} else {
		lb_endpoint(&b, t->family, t->saddr, t->sport);
		lb_puts(&b, "->");
		lb_endpoint(&b, t->family, t->daddr, t->dport);
		lb_putc(&b, '(');
		lb_puts(&b, proto);
		lb_putc(&b, ')');
	}
	lb_end(&b);
	return buf;
}

const char *fmt_mac(const __u8 *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

const char *fmt_ifname(const char *name, int ifindex, char *buf, size_t len)
{
	if (!ifindex)
		snprintf(buf, len, "-");
	else if (name && *name)
		snprintf(buf, len, "%s:%d", name, ifindex);
	else
		snprintf(buf, len, "%d", ifindex);
	return buf;
}

const char *fmt_json_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 7 < len; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = c;
		} else if (c < 0x20) {
			o += snprintf(buf + o, len - o, "\\u%04x", c);
		} else {
			buf[o++] = c;
		}
	}
	buf[o] = 0;
	return buf;
}
