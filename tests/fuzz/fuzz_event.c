// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for what user space does with ring-buffer records: arbitrary bytes become
 * struct pwhy_event records (unterminated strings, bogus kinds, probe ids, families, lengths)
 * fed to the correlator, which renders events and findings as text and as JSON and asks a
 * fake host (whose answers also come from the input) about links, addresses and sockets.
 * Input: a flags byte, a host block, then the events, sizeof(struct pwhy_event) bytes each.
 * Flags: bit 0 JSON, bit 1 print events, bit 2 explain routes, bit 3 keep send/skb ids small so
 * that records of one send meet. Every JSON line written must be valid JSON.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/correlate.h"
#include "json_check.h"

struct host_block {
	struct pwhy_link links[2];
	struct pwhy_sock socks[3];
	__u8 owner_addr[16];
	__s32 owner_ifindex;
	__s32 l3mdev_accept;
	__u32 no_socket_reason;
};

static struct host_block host;

static int fake_link(void *ctx, __u32 ns, int ifx, struct pwhy_link *out)
{
	for (int i = 0; i < 2; i++)
		if (host.links[i].ifindex == ifx) {
			*out = host.links[i];
			out->name[sizeof(out->name) - 1] = 0;	/* netinfo terminates names */
			out->kind[sizeof(out->kind) - 1] = 0;
			if (out->mac_len < 0 || out->mac_len > 6)
				out->mac_len = 6;
			return 0;
		}
	return -ENODEV;
}

static int fake_owners(void *ctx, __u32 ns, int family, const void *addr, int *ifx, int max)
{
	if (max < 1 || memcmp(addr, host.owner_addr, family == 2 ? 4 : 16))
		return 0;
	ifx[0] = host.owner_ifindex;
	return 1;
}

static int fake_sysctl(void *ctx, __u32 ns, const char *path, long *v)
{
	*v = host.l3mdev_accept;
	return 0;
}

static int fake_socks(void *ctx, __u32 ns, int family, int proto, struct pwhy_sock **out,
		      size_t *n)
{
	*out = calloc(3, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (int i = 0; i < 3; i++) {
		(*out)[i] = host.socks[i];
		(*out)[i].owner_comm[15] = 0;	/* sockdiag terminates comms */
	}
	*n = 3;
	return 0;
}

static const struct hostinfo fake = { fake_link, fake_owners, fake_sysctl, fake_socks, NULL };

static const char *func_name(__u64 ip)
{
	return ip & 1 ? "ip_rcv" : NULL;
}

static void check_json_lines(char *buf, size_t len)
{
	char *line = buf, *end = buf + len;

	while (line < end) {
		char *nl = memchr(line, '\n', end - line);

		if (!nl)
			abort();	/* every record ends its line */
		*nl = 0;
		if (!json_valid(line)) {
			fprintf(stderr, "invalid JSON line: %s\n", line);
			abort();
		}
		line = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct render rnd = { .func_name = func_name };
	struct correlator c = {};
	char *buf = NULL;
	size_t blen = 0;
	__u8 flags;

	if (size < 1 + sizeof(host))
		return 0;
	flags = data[0];
	memcpy(&host, data + 1, sizeof(host));
	data += 1 + sizeof(host);
	size -= 1 + sizeof(host);

	rnd.out = open_memstream(&buf, &blen);
	if (!rnd.out)
		return 0;
	rnd.json = flags & 1;
	c.host = &fake;
	c.render = &rnd;
	c.print_events = flags & 2;
	c.print_findings = true;
	c.explain_route = flags & 4;
	c.reason_no_socket = host.no_socket_reason;
	correlate_init(&c);
	while (size > 0) {
		struct pwhy_event ev;
		size_t n = size < sizeof(ev) ? size : sizeof(ev);

		memset(&ev, 0, sizeof(ev));
		memcpy(&ev, data, n);
		if (flags & 8) {
			ev.send_id &= 3;
			ev.skb &= 3;
			ev.kind &= 7;
		}
		correlate_event(&c, &ev);
		data += n;
		size -= n;
	}
	correlate_finish(&c);
	fclose(rnd.out);
	if (rnd.json)
		check_json_lines(buf, blen);
	free(buf);
	return 0;
}
