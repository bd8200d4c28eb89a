// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "pwhy/event.h"
#include "pwhy/format.h"

const char *fmt_addr(int family, const void *addr, char *buf, size_t len)
{
	if (!inet_ntop(family == 10 ? AF_INET6 : AF_INET, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *fmt_endpoint(int family, const void *addr, __u16 port, char *buf, size_t len)
{
	char a[64];

	fmt_addr(family, addr, a, sizeof(a));
	if (family == 10)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
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
	char s[64], d[64], p[16];
	const char *proto = fmt_l4proto(t->l4proto);

	if (!t->family) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (!proto) {
		snprintf(p, sizeof(p), "proto%u", t->l4proto);
		proto = p;
	}
	if (t->frag || (t->l4proto != 6 && t->l4proto != 17)) {
		snprintf(buf, len, "%s->%s(%s%s)", fmt_addr(t->family, t->saddr, s, sizeof(s)),
			 fmt_addr(t->family, t->daddr, d, sizeof(d)), proto, t->frag ? " frag" : "");
		return buf;
	}
	snprintf(buf, len, "%s->%s(%s)", fmt_endpoint(t->family, t->saddr, t->sport, s, sizeof(s)),
		 fmt_endpoint(t->family, t->daddr, t->dport, d, sizeof(d)), proto);
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
