/* SPDX-License-Identifier: GPL-2.0 */
/* Questions answered from the running kernel's BTF. */
#ifndef PWHY_BTF_INFO_H
#define PWHY_BTF_INFO_H
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct btf;

/* vmlinux BTF of the running kernel (or $PWHY_BTF when set: a file, for tests and offline use).
 * Cached; NULL with errno set when there is none. */
struct btf *pwhy_vmlinux_btf(void);

/* Name of an enum skb_drop_reason value without the SKB_DROP_REASON_ prefix; NULL if unknown. */
const char *btf_drop_reason_name(const struct btf *btf, __u32 value);
/* Value of SKB_DROP_REASON_<name>; -ENOENT if this kernel has no such reason. */
long long btf_drop_reason_value(const struct btf *btf, const char *name);

/* Value of an enumerator, looking through named and anonymous enums alike. */
int btf_enumerator_value(const struct btf *btf, const char *enumerator, long long *value);

/* Position (1-based) of the first `struct sk_buff *` among a function's first `max_pos`
 * arguments; 0 when none; -ENOENT when the function is not in BTF. *nargs gets its arity. */
int btf_func_skb_arg(const struct btf *btf, const char *func, int max_pos, int *nargs);

/* Iterate every BTF function taking an skb in its first max_pos args. */
typedef int (*btf_skb_func_cb)(const char *name, int skb_pos, int nargs, void *ctx);
int btf_for_each_skb_func(const struct btf *btf, int max_pos, btf_skb_func_cb cb, void *ctx);

/* BTF id of the typedef btf_trace_<tp> (what a tp_btf program attaches to), or -ENOENT. */
int btf_tracepoint_id(const struct btf *btf, const char *tp);
/* BTF id of a function, or -ENOENT. */
int btf_func_id(const struct btf *btf, const char *func);
/* Byte offset of a member of a struct (anonymous unions and structs looked into), or -ENOENT. */
long btf_struct_member_offset(const struct btf *btf, const char *type, const char *member);

#endif
