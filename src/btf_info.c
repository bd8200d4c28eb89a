// SPDX-License-Identifier: GPL-2.0
/* BTF lookups: drop reason names, enumerators, which functions take an skb and where. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "pwhy/btf_info.h"

#define DROP_PREFIX "SKB_DROP_REASON_"

struct btf *pwhy_vmlinux_btf(void)
{
	static struct btf *btf;
	static int tried;
	const char *path;

	if (tried)
		return btf;
	tried = 1;
	path = getenv("PWHY_BTF");
	btf = path ? btf__parse(path, NULL) : btf__load_vmlinux_btf();
	if (!btf && !errno)
		errno = ENOENT;
	return btf;
}

static const struct btf_type *find_enum(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_ENUM);

	if (id < 0)
		id = btf__find_by_name_kind(btf, name, BTF_KIND_ENUM64);
	return id < 0 ? NULL : btf__type_by_id(btf, id);
}

/* Calls fn for each enumerator of an enum or enum64 type until fn returns non-zero. */
static int enum_walk(const struct btf *btf, const struct btf_type *t,
		     int (*fn)(const char *name, long long val, void *ctx), void *ctx)
{
	int n = btf_vlen(t), r;

	for (int i = 0; i < n; i++) {
		const char *name;
		long long val;

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t) + i;

			name = btf__name_by_offset(btf, e->name_off);
			val = (btf_kflag(t)) ? (long long)e->val : (long long)(__u32)e->val;
		} else {
			const struct btf_enum64 *e = btf_enum64(t) + i;

			name = btf__name_by_offset(btf, e->name_off);
			val = (long long)btf_enum64_value(e);
		}
		r = fn(name, val, ctx);
		if (r)
			return r;
	}
	return 0;
}

struct by_value { long long val; const char *name; };
struct by_name { const char *name; long long val; };

static int match_value(const char *name, long long val, void *ctx)
{
	struct by_value *q = ctx;

	if (val != q->val)
		return 0;
	q->name = name;
	return 1;
}

static int match_name(const char *name, long long val, void *ctx)
{
	struct by_name *q = ctx;

	if (strcmp(name, q->name))
		return 0;
	q->val = val;
	return 1;
}

const char *btf_drop_reason_name(const struct btf *btf, __u32 value)
{
	const struct btf_type *t = btf ? find_enum(btf, "skb_drop_reason") : NULL;
	struct by_value q = { .val = value };

	if (!t || !enum_walk(btf, t, match_value, &q))
		return NULL;
	return strncmp(q.name, DROP_PREFIX, strlen(DROP_PREFIX)) ? q.name
								   : q.name + strlen(DROP_PREFIX);
}

long long btf_drop_reason_value(const struct btf *btf, const char *name)
{
	const struct btf_type *t = btf ? find_enum(btf, "skb_drop_reason") : NULL;
	char full[128];
	struct by_name q = { .name = full };

	snprintf(full, sizeof(full), "%s%s", strncmp(name, DROP_PREFIX, strlen(DROP_PREFIX)) ?
		 DROP_PREFIX : "", name);
	if (!t || !enum_walk(btf, t, match_name, &q))
		return -ENOENT;
	return q.val;
}

int btf_enumerator_value(const struct btf *btf, const char *enumerator, long long *value)
{
	__u32 n = btf__type_cnt(btf);
	struct by_name q = { .name = enumerator };

	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if ((btf_is_enum(t) || btf_is_enum64(t)) && enum_walk(btf, t, match_name, &q)) {
			*value = q.val;
			return 0;
		}
	}
	return -ENOENT;
}

static bool is_skb_ptr(const struct btf *btf, __u32 type_id)
{
	const struct btf_type *t = btf__type_by_id(btf, type_id);

	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(btf, t->type);
	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	return t && btf_is_struct(t) && !strcmp(btf__name_by_offset(btf, t->name_off), "sk_buff");
}

static int proto_skb_arg(const struct btf *btf, const struct btf_type *func, int max_pos,
			 int *nargs)
{
	const struct btf_type *proto = btf__type_by_id(btf, func->type);
	const struct btf_param *p;
	int n;

	if (!proto || !btf_is_func_proto(proto))
		return 0;
	n = btf_vlen(proto);
	p = btf_params(proto);
	if (nargs)
		*nargs = n;
	for (int i = 0; i < n && i < max_pos; i++)
		if (is_skb_ptr(btf, p[i].type))
			return i + 1;
	return 0;
}

int btf_func_skb_arg(const struct btf *btf, const char *func, int max_pos, int *nargs)
{
	int id = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC);

	if (id < 0)
		return -ENOENT;
	return proto_skb_arg(btf, btf__type_by_id(btf, id), max_pos, nargs);
}

int btf_for_each_skb_func(const struct btf *btf, int max_pos, btf_skb_func_cb cb, void *ctx)
{
	__u32 n = btf__type_cnt(btf);

	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		int pos, nargs = 0, r;

		if (!btf_is_func(t))
			continue;
		pos = proto_skb_arg(btf, t, max_pos, &nargs);
		if (!pos)
			continue;
		r = cb(btf__name_by_offset(btf, t->name_off), pos, nargs, ctx);
		if (r)
			return r;
	}
	return 0;
}

int btf_tracepoint_id(const struct btf *btf, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
}

int btf_func_id(const struct btf *btf, const char *func)
{
	return btf__find_by_name_kind(btf, func, BTF_KIND_FUNC);
}

/* byte offset of member `name` in the struct or union `id`, looking into anonymous members */
static long member_offset(const struct btf *btf, __u32 id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m;

	if (!t || (!btf_is_struct(t) && !btf_is_union(t)))
		return -ENOENT;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mn = btf__name_by_offset(btf, m->name_off);
		long inner;

		if (mn && !strcmp(mn, name))
			return btf_member_bit_offset(t, i) / 8;
		if (mn && *mn)
			continue;
		inner = member_offset(btf, btf__resolve_type(btf, m->type), name);
		if (inner >= 0)
			return btf_member_bit_offset(t, i) / 8 + inner;
	}
	return -ENOENT;
}

long btf_struct_member_offset(const struct btf *btf, const char *type, const char *member)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);

	if (id < 0)
		return -ENOENT;
	return member_offset(btf, id, member);
}
