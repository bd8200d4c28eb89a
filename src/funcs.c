// SPDX-License-Identifier: GPL-2.0
/* Which kernel functions the path probes attach to: the core set that shows a packet's way
 * through the stack (the ones this kernel has out of line), or every function taking an skb,
 * from vmlinux BTF and, with --kmods, the loaded modules' BTF. A function is planned only when
 * the kernel can attach to it: it has exactly one symbol (inlined copies and same-named statics
 * are left out), ftrace can patch it, and, for plain kprobes, it is not on the deny list. */
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
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

static const char *const skip_reasons[FUNCS_SKIP_MAX] = {
	[FUNCS_SKIP_NO_SYMBOL] = "inlined (no symbol)",
	[FUNCS_SKIP_NOT_TRACEABLE] = "not traceable (notrace)",
	[FUNCS_SKIP_AMBIGUOUS] = "name shared by several functions",
	[FUNCS_SKIP_DENIED] = "on the kprobe deny list",
	[FUNCS_SKIP_TRACING] = "tracepoint glue",
	[FUNCS_SKIP_ATTACH_FAILED] = "refused by the kernel",
};

const char *funcs_skip_reason(enum funcs_skip s)
{
	return s < FUNCS_SKIP_MAX ? skip_reasons[s] : "?";
}

int funcs_add(struct func_list *l, const char *name, const char *module, __u32 btf_id, int pos,
	      int nargs)
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
	n = &l->v[l->n];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	n->module = module ? strdup(module) : NULL;
	n->btf_id = btf_id;
	n->skb_pos = pos;
	n->nargs = nargs;
	if (!n->name || (module && !n->module)) {
		free(n->name);
		free(n->module);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

void funcs_free(struct func_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].module);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------------ sorted sets of names */

struct name_set {
	char **v;
	size_t n;
	bool loaded;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names from a tracefs/debugfs list: the first word of each line that has one (the kprobe deny
 * list puts an address range first). */
static void set_load(struct name_set *s, const char *path, int word)
{
	FILE *f = fopen(path, "r");
	size_t cap = 0;
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char w[2][256];
		int n = sscanf(line, "%255s %255s", w[0], w[1]);

		if (n <= word)
			continue;
		if (s->n == cap) {
			char **v = realloc(s->v, (cap = cap ? cap * 2 : 65536) * sizeof(*v));

			if (!v)
				break;
			s->v = v;
		}
		if ((s->v[s->n] = strdup(w[word])))
			s->n++;
	}
	fclose(f);
	qsort(s->v, s->n, sizeof(*s->v), cmp_str);
	s->loaded = true;
}

static size_t set_count(const struct name_set *s, const char *name)
{
	size_t lo = 0, hi = s->n, c = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->v[mid], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + c < s->n && !strcmp(s->v[lo + c], name))
		c++;
	return c;
}

static void set_free(struct name_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static const char *tracing_file(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "/sys/kernel/tracing/%s", name);
	if (access(buf, R_OK) == 0)
		return buf;
	snprintf(buf, len, "/sys/kernel/debug/tracing/%s", name);
	return buf;
}

/* ------------------------------------------------------------------------- prototypes */

static const struct btf_type *skip_mods(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	return t;
}

static bool is_ptr_to_struct(const struct btf *btf, __u32 type_id, const char *name)
{
	const struct btf_type *t = skip_mods(btf, type_id);

	if (!t || !btf_is_ptr(t))
		return false;
	t = skip_mods(btf, t->type);
	return t && btf_is_struct(t) && !strcmp(btf__name_by_offset(btf, t->name_off), name);
}

/* skb argument position, FUNCS_POS_SEND for a socket sendmsg, -1 for neither */
static int classify(const struct btf *btf, const struct btf_type *func, int *nargs)
{
	const struct btf_type *proto = btf__type_by_id(btf, func->type);
	const struct btf_param *p;
	const char *name;
	size_t len;
	int n;

	if (!proto || !btf_is_func_proto(proto))
		return -1;
	n = btf_vlen(proto);
	p = btf_params(proto);
	*nargs = n;
	for (int i = 0; i < n && i < FUNCS_MAX_POS; i++)
		if (is_ptr_to_struct(btf, p[i].type, "sk_buff"))
			return i + 1;
	/* proto_ops/proto sendmsg of a socket: where a send starts, before any skb exists */
	name = btf__name_by_offset(btf, func->name_off);
	len = strlen(name);
	if (n >= 2 && len >= 7 && !strcmp(name + len - 7, "sendmsg") &&
	    is_ptr_to_struct(btf, p[0].type, "sock") && is_ptr_to_struct(btf, p[1].type, "msghdr"))
		return FUNCS_POS_SEND;
	return -1;
}

/* ------------------------------------------------------------------------------ plan */

struct plan {
	const struct funcs_query *q;
	struct func_list *out;
	struct funcs_skipped *sk;
	regex_t re;
	bool has_re;
	struct name_set traceable, denied;
};

/* What the kernel generates for each tracepoint taking an skb: probing it would only repeat
 * the tracepoint, once per attached tracer. */
static bool tracepoint_glue(const char *name)
{
	static const char *const prefixes[] = {
		"__bpf_trace_", "__probestub_", "__traceiter_", "perf_trace_",
		"trace_event_raw_event_", "trace_raw_output_",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* -1 when attachable, else the reason it is not */
static int not_attachable(struct plan *p, const char *name, const char *module)
{
	const char *ksmod;
	int n;

	if (tracepoint_glue(name))
		return FUNCS_SKIP_TRACING;
	n = ksym_count(name, &ksmod);
	if (n == 0 || strcmp(ksmod, module ? module : ""))
		return FUNCS_SKIP_NO_SYMBOL;
	if (n > 1)
		return FUNCS_SKIP_AMBIGUOUS;
	if (p->traceable.loaded) {
		size_t c = set_count(&p->traceable, name);

		if (c == 0)
			return FUNCS_SKIP_NOT_TRACEABLE;
		if (c > 1)
			return FUNCS_SKIP_AMBIGUOUS;
	}
	if (p->q->kprobe_deny && set_count(&p->denied, name))
		return FUNCS_SKIP_DENIED;
	return -1;
}

static int consider(struct plan *p, const struct btf *btf, __u32 id, const char *module)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const char *name;
	int pos, nargs = 0, why;

	if (!btf_is_func(t))
		return 0;
	pos = classify(btf, t, &nargs);
	if (pos < 0)
		return 0;
	name = btf__name_by_offset(btf, t->name_off);
	if (p->has_re && regexec(&p->re, name, 0, NULL, 0))
		return 0;
	p->sk->candidates++;
	why = not_attachable(p, name, module);
	if (why >= 0) {
		p->sk->n[why]++;
		return 0;
	}
	return funcs_add(p->out, name, module, id, pos, nargs);
}

static int plan_module(struct plan *p, const char *module)
{
	const struct btf *base = p->q->btf;
	char path[300];
	struct btf *btf;
	int r = 0;

	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
	btf = btf__parse_split(path, (struct btf *)base);
	if (!btf)
		return 0;	/* a module without usable BTF: nothing to add */
	for (__u32 id = btf__type_cnt(base); id < btf__type_cnt(btf) && !r; id++)
		r = consider(p, btf, id, module);
	btf__free(btf);
	return r;
}

static int plan_modules(struct plan *p)
{
	DIR *d = opendir("/sys/kernel/btf");
	struct dirent *e;
	int r = 0;

	if (!d)
		return 0;
	while (!r && (e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, "vmlinux"))
			r = plan_module(p, e->d_name);
	closedir(d);
	return r;
}

int funcs_plan(const struct funcs_query *q, struct func_list *out, struct funcs_skipped *sk,
	       char *err, size_t errlen)
{
	struct funcs_skipped unused;
	struct plan p = { .q = q, .out = out, .sk = sk ? sk : &unused };
	char path[128];
	int r = 0;

	memset(out, 0, sizeof(*out));
	memset(p.sk, 0, sizeof(*p.sk));
	/* not readable everywhere (locked-down kernels): then kallsyms alone decides */
	set_load(&p.traceable, tracing_file("available_filter_functions", path, sizeof(path)), 0);
	if (q->kprobe_deny)
		set_load(&p.denied, "/sys/kernel/debug/kprobes/blacklist", 1);
	if (q->all || q->regex) {
		if (q->regex) {
			if (regcomp(&p.re, q->regex, REG_EXTENDED | REG_NOSUB)) {
				snprintf(err, errlen, "bad --filter-func regular expression '%s'", q->regex);
				r = -EINVAL;
				goto out;
			}
			p.has_re = true;
		}
		for (__u32 id = 1; id < btf__type_cnt(q->btf) && !r; id++)
			r = consider(&p, q->btf, id, NULL);
		if (!r && q->kmods)
			r = plan_modules(&p);
		if (!r && !out->n) {
			snprintf(err, errlen, "no attachable function taking an skb matches '%s'",
				 q->regex ? q->regex : ".*");
			r = -EINVAL;	/* a usage error: the regex names nothing */
		}
		goto out;
	}
	for (size_t i = 0; i < sizeof(core_funcs) / sizeof(core_funcs[0]) && !r; i++) {
		int id = btf_func_id(q->btf, core_funcs[i]);

		if (id > 0)
			r = consider(&p, q->btf, id, NULL);
	}
out:
	if (p.has_re)
		regfree(&p.re);
	set_free(&p.traceable);
	set_free(&p.denied);
	return r;
}

void funcs_skipped_print(FILE *f, const struct funcs_skipped *sk)
{
	unsigned total = 0;
	const char *sep = ": ";

	for (int i = 0; i < FUNCS_SKIP_MAX; i++)
		total += sk->n[i];
	fprintf(f, "skipped %u of %u functions", total, sk->candidates);
	for (int i = 0; i < FUNCS_SKIP_MAX; i++)
		if (sk->n[i]) {
			fprintf(f, "%s%u %s", sep, sk->n[i], skip_reasons[i]);
			sep = ", ";
		}
}

void funcs_print(FILE *f, const struct func_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct func_entry *e = &l->v[i];

		if (e->skb_pos == FUNCS_POS_SEND)
			fprintf(f, "%s\tsendmsg", e->name);
		else
			fprintf(f, "%s\tskb%d", e->name, e->skb_pos);
		if (e->module)
			fprintf(f, "\t[%s]", e->module);
		fputc('\n', f);
	}
}
