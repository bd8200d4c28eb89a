// SPDX-License-Identifier: GPL-2.0
/* Attach planning on a BTF fixture against this machine's kallsyms (needs root to see symbol
 * addresses), the name index of kallsyms, and the worker pool. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "check.h"
#include "pwhy/funcs.h"
#include "pwhy/ksyms.h"
#include "pwhy/workers.h"

/* functions named like real kernel ones, with prototypes of the kinds the planner sorts */
static struct btf *fixture(void)
{
	struct btf *b = btf__new_empty();
	int skb, sock, msg, net, pskb, psock, pmsg, pnet, lng, p;

	skb = btf__add_struct(b, "sk_buff", 8);
	sock = btf__add_struct(b, "sock", 8);
	msg = btf__add_struct(b, "msghdr", 8);
	net = btf__add_struct(b, "net", 8);
	pskb = btf__add_ptr(b, skb);
	psock = btf__add_ptr(b, sock);
	pmsg = btf__add_ptr(b, msg);
	pnet = btf__add_ptr(b, net);
	lng = btf__add_int(b, "long", 8, BTF_INT_SIGNED);

	p = btf__add_func_proto(b, lng);	/* (skb) */
	btf__add_func_param(b, "skb", pskb);
	btf__add_func(b, "ip_rcv_core", BTF_FUNC_GLOBAL, p);
	btf__add_func(b, "pwhy_no_such_function", BTF_FUNC_GLOBAL, p);
	btf__add_func(b, "__traceiter_kfree_skb", BTF_FUNC_GLOBAL, p);
	p = btf__add_func_proto(b, lng);	/* (net, sock, skb) */
	btf__add_func_param(b, "net", pnet);
	btf__add_func_param(b, "sk", psock);
	btf__add_func_param(b, "skb", pskb);
	btf__add_func(b, "ip_route_me_harder", BTF_FUNC_GLOBAL, p);
	p = btf__add_func_proto(b, lng);	/* (sock, msghdr, long) */
	btf__add_func_param(b, "sk", psock);
	btf__add_func_param(b, "msg", pmsg);
	btf__add_func_param(b, "len", lng);
	btf__add_func(b, "udp_sendmsg", BTF_FUNC_GLOBAL, p);
	btf__add_func(b, "udp_no_send_by_name", BTF_FUNC_GLOBAL, p);
	p = btf__add_func_proto(b, lng);	/* skb sixth: out of reach */
	for (int i = 0; i < 5; i++)
		btf__add_func_param(b, "x", lng);
	btf__add_func_param(b, "skb", pskb);
	btf__add_func(b, "ip_local_deliver", BTF_FUNC_GLOBAL, p);
	return b;
}

static const struct func_entry *find(const struct func_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

static void test_plan_all(void)
{
	struct btf *b = fixture();
	struct funcs_query q = { .btf = b, .all = true };
	struct funcs_skipped sk;
	struct func_list l;
	char err[128] = "";
	const struct func_entry *e;

	if (!ksym_addr("ip_rcv_core")) {
		printf("# kallsyms without addresses (not root?): planning not checked\n");
		btf__free(b);
		return;
	}
	CHECK(funcs_plan(&q, &l, &sk, err, sizeof(err)) == 0);
	e = find(&l, "ip_rcv_core");
	CHECK(e && e->skb_pos == 1 && !e->module && e->btf_id > 0);
	e = find(&l, "ip_route_me_harder");
	CHECK(e && e->skb_pos == 3);
	e = find(&l, "udp_sendmsg");
	CHECK(e && e->skb_pos == FUNCS_POS_SEND);
	CHECK(!find(&l, "udp_no_send_by_name"));	/* sendmsg prototype, not a sendmsg name */
	CHECK(!find(&l, "pwhy_no_such_function"));
	CHECK(!find(&l, "__traceiter_kfree_skb"));
	CHECK(!find(&l, "ip_local_deliver"));		/* skb beyond the fifth argument */
	CHECK(sk.candidates == 5 && sk.n[FUNCS_SKIP_NO_SYMBOL] == 1 && sk.n[FUNCS_SKIP_TRACING] == 1);
	funcs_free(&l);

	q.all = false;
	q.regex = "^ip_";
	CHECK(funcs_plan(&q, &l, &sk, err, sizeof(err)) == 0);
	CHECK(l.n == 2 && find(&l, "ip_rcv_core") && find(&l, "ip_route_me_harder"));
	funcs_free(&l);
	q.regex = "^nothing_matches$";
	CHECK(funcs_plan(&q, &l, &sk, err, sizeof(err)) == -EINVAL && strstr(err, "nothing_matches"));
	q.regex = "(";
	CHECK(funcs_plan(&q, &l, &sk, err, sizeof(err)) == -EINVAL && strstr(err, "regular expression"));
	btf__free(b);
}

static void test_ksym_index(void)
{
	__u64 a = ksym_addr("ip_rcv_core");
	const char *mod = "x";

	if (!a) {
		printf("# kallsyms without addresses (not root?): index not checked\n");
		return;
	}
	CHECK_STR(ksym_exact(a), "ip_rcv_core");
	CHECK(ksym_count("ip_rcv_core", &mod) == 1 && !strcmp(mod, ""));
	CHECK(ksym_count("pwhy_no_such_function", NULL) == 0 && !ksym_addr("pwhy_no_such_function"));
}

static void mark(size_t i, void *ctx)
{
	__atomic_fetch_add(&((int *)ctx)[i], 1, __ATOMIC_RELAXED);
}

static volatile sig_atomic_t stop_now;

static void slow(size_t i, void *ctx)
{
	usleep(20000);
	if (i == 3)
		stop_now = 1;
	mark(i, ctx);
}

static void test_workers(void)
{
	int seen[500] = {};
	struct workers_opts o = { .threads = 8 };
	size_t begun, ran = 0;

	CHECK(workers_run(500, mark, seen, &o) == 500);
	for (int i = 0; i < 500; i++)
		CHECK(seen[i] == 1);
	memset(seen, 0, sizeof(seen));
	o.threads = 2;
	o.stop = &stop_now;
	begun = workers_run(500, slow, seen, &o);
	for (int i = 0; i < 500; i++)
		ran += seen[i];
	CHECK(begun < 500 && ran == begun);
	CHECK(workers_run(0, mark, seen, &o) == 0);
}

int main(void)
{
	RUN_TEST(test_ksym_index);
	RUN_TEST(test_plan_all);
	RUN_TEST(test_workers);
	TEST_EXIT();
}
