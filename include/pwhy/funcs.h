/* SPDX-License-Identifier: GPL-2.0 */
/* The attach plan for path probes: functions and the position of their skb argument. */
#ifndef PWHY_FUNCS_H
#define PWHY_FUNCS_H
#include <stdbool.h>
#include <stddef.h>

#define FUNCS_MAX_POS 5

struct btf;

struct func_entry {
	char *name;
	int skb_pos;	/* 1..FUNCS_MAX_POS */
	int attached;
};

struct func_list {
	struct func_entry *v;
	size_t n, cap;
};

/* Core set (all=false, regex=NULL), every skb function (all), or those matching regex. */
int funcs_plan(const struct btf *btf, bool all, const char *regex, struct func_list *out,
	       char *err, size_t errlen);
int funcs_add(struct func_list *l, const char *name, int pos);
void funcs_free(struct func_list *l);
#endif
