// SPDX-License-Identifier: GPL-2.0
/* Which kernel functions the path probes attach to: the core set that shows a packet's way
 * through the stack (the ones this kernel has out of line), or every function taking an skb. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/btf_info.h"
#include "pwhy/funcs.h"
#include "pwhy/ksyms.h"

/* Sending, rerouting, leaving, arriving, socket lookup and dropping, for v4 and v6. Names that
 * a kernel lacks or inlines are skipped (compute_score, for instance, has no symbol on 6.12+;
 * the socket lookup is explained at the NO_SOCKET drop instead). */
static const char *const core_funcs[] = {
	"udp_send_skb", "udp_v6_send_skb", "ip_send_skb", "ip6_send_skb",
	"__ip_local_out", "ip_local_out", "ip6_local_out", "__ip6_local_out",
	"nf_hook_slow", "ip_route_me_harder", "ip6_route_me_harder",
	"ip_output", "ip_finish_output", "ip_finish_output2", "ip6_output", "ip6_finish_output",
	"ip6_finish_output2", "neigh_resolve_output", "__dev_queue_xmit", "dev_hard_start_xmit",
	"loopback_xmit", "veth_xmit", "__netif_rx", "netif_receive_skb",
	"__netif_receive_skb", "ip_rcv", "ip_rcv_core", "ip_route_input_noref", "ip_local_deliver",
	"ip_local_deliver_finish", "ip_protocol_deliver_rcu", "ipv6_rcv", "ip6_rcv_core", "ip6_input",
	"ip6_input_finish", "ip6_protocol_deliver_rcu", "__udp4_lib_rcv", "__udp6_lib_rcv",
	"udp_unicast_rcv_skb", "udp6_unicast_rcv_skb", "udp_queue_rcv_skb", "udpv6_queue_rcv_skb",
	"__udp_enqueue_schedule_skb", "tcp_v4_rcv", "tcp_v6_rcv", "tcp_v4_send_reset",
	"tcp_v6_send_reset", "__icmp_send", "icmp6_send", "nf_ct_get_tuple", "ip_forward",
	"ip6_forward", "vrf_l3_rcv", "vrf_ip_rcv", "vrf_ip6_rcv", "l3mdev_l3_rcv",
	"sk_skb_reason_drop", "kfree_skb_reason", "kfree_skb_list_reason", "skb_consume_udp",
};

int funcs_add(struct func_list *l, const char *name, int pos)
{
	struct func_entry *n;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;

		n = realloc(l->v, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		l->v = n;
		l->cap = cap;
	}
	n = &l->v[l->n++];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	n->skb_pos = pos;
	return n->name ? 0 : -ENOMEM;
}

void funcs_free(struct func_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct all_ctx {
	struct func_list *l;
	regex_t *re;
};

static int add_matching(const char *name, int pos, int nargs, void *ctx)
{
	struct all_ctx *a = ctx;

	if (a->re && regexec(a->re, name, 0, NULL, 0))
		return 0;
	/* out of line only: a BTF entry without a kallsyms symbol cannot be attached */
	if (!ksym_addr(name))
		return 0;
	return funcs_add(a->l, name, pos);
}

int funcs_plan(const struct btf *btf, bool all, const char *regex, struct func_list *out,
	       char *err, size_t errlen)
{
	regex_t re;
	int r;

	memset(out, 0, sizeof(*out));
	if (all || regex) {
		struct all_ctx a = { .l = out };

		if (regex) {
			if (regcomp(&re, regex, REG_EXTENDED | REG_NOSUB)) {
				snprintf(err, errlen, "bad --filter-func regular expression '%s'", regex);
				return -EINVAL;
			}
			a.re = &re;
		}
		r = btf_for_each_skb_func(btf, FUNCS_MAX_POS, add_matching, &a);
		if (regex)
			regfree(&re);
		if (!r && !out->n) {
			snprintf(err, errlen, "no attachable function taking an skb matches '%s'",
				 regex ? regex : ".*");
			return -ENOENT;
		}
		return r;
	}
	for (size_t i = 0; i < sizeof(core_funcs) / sizeof(core_funcs[0]); i++) {
		int pos = btf_func_skb_arg(btf, core_funcs[i], FUNCS_MAX_POS, NULL);

		if (pos <= 0 || !ksym_addr(core_funcs[i]))
			continue;
		r = funcs_add(out, core_funcs[i], pos);
		if (r)
			return r;
	}
	return 0;
}
