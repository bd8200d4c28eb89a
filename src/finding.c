// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "pwhy/finding.h"

static const char *const kind_names[FINDING_MAX] = {
	[FINDING_NO_SK] = "no-sk",
	[FINDING_VRF_SDIF] = "vrf-sdif",
	[FINDING_OIF_CHANGE] = "oif-change",
	[FINDING_SRC_MAC_MISMATCH] = "src-mac-mismatch",
};

const char *finding_kind_name(enum finding_kind k)
{
	return k < FINDING_MAX ? kind_names[k] : "?";
}

int finding_kind_parse(const char *name)
{
	for (int k = 0; k < FINDING_MAX; k++)
		if (!strcmp(name, kind_names[k]))
			return k;
	return -1;
}

long finding_kinds_parse(const char *list)
{
	char buf[256], *save = NULL, *tok;
	long mask = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k;

		if (!strcmp(tok, "all")) {
			mask |= (1L << FINDING_MAX) - 1;
			continue;
		}
		k = finding_kind_parse(tok);
		if (k < 0)
			return -1;
		mask |= 1L << k;
	}
	return mask;
}

void finding_init(struct finding *f, enum finding_kind k, __u64 skb)
{
	memset(f, 0, sizeof(*f));
	f->kind = k;
	f->skb = skb;
}

static struct fact *fact_slot(struct finding *f, const char *key)
{
	struct fact *x;

	if (f->nfacts == FINDING_MAX_FACTS)
		return NULL;
	x = &f->facts[f->nfacts++];
	snprintf(x->key, sizeof(x->key), "%s", key);
	return x;
}

void finding_fact(struct finding *f, const char *key, const char *fmt, ...)
{
	struct fact *x = fact_slot(f, key);
	va_list ap;

	if (!x)
		return;
	va_start(ap, fmt);
	vsnprintf(x->val, sizeof(x->val), fmt, ap);
	va_end(ap);
	x->num = false;
}

void finding_fact_num(struct finding *f, const char *key, long long v)
{
	struct fact *x = fact_slot(f, key);

	if (!x)
		return;
	snprintf(x->val, sizeof(x->val), "%lld", v);
	x->num = true;
}

const char *finding_get(const struct finding *f, const char *key)
{
	for (int i = 0; i < f->nfacts; i++)
		if (!strcmp(f->facts[i].key, key))
			return f->facts[i].val;
	return NULL;
}
