// SPDX-License-Identifier: GPL-2.0
/* /proc/kallsyms, sorted once, searched by address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/ksyms.h"

struct ksym {
	__u64 addr;
	char *name;
};

static struct ksym *syms;
static size_t nsyms;
static int loaded;

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void ksyms_load(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	size_t cap = 0;
	char line[512];

	loaded = 1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256];

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		if (type != 't' && type != 'T' && type != 'W' && type != 'w')
			continue;
		if (nsyms == cap) {
			struct ksym *n;

			cap = cap ? cap * 2 : 65536;
			n = realloc(syms, cap * sizeof(*syms));
			if (!n)
				break;
			syms = n;
		}
		syms[nsyms].addr = addr;
		syms[nsyms].name = strdup(name);
		nsyms++;
	}
	fclose(f);
	qsort(syms, nsyms, sizeof(*syms), cmp_addr);
}

static const struct ksym *ksym_find(__u64 addr)
{
	size_t lo = 0, hi;

	if (!loaded)
		ksyms_load();
	hi = nsyms;
	if (!nsyms || addr < syms[0].addr)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return &syms[lo];
}

const char *ksym_format(__u64 addr, char *buf, size_t len)
{
	const struct ksym *s = addr ? ksym_find(addr) : NULL;

	if (!s || addr - s->addr > 0x100000)
		snprintf(buf, len, "0x%llx", (unsigned long long)addr);
	else if (addr == s->addr)
		snprintf(buf, len, "%s", s->name);
	else
		snprintf(buf, len, "%s+0x%llx", s->name, (unsigned long long)(addr - s->addr));
	return buf;
}

const char *ksym_exact(__u64 addr)
{
	const struct ksym *s = ksym_find(addr);

	/* with IBT/endbr the probe's func_ip may sit a few bytes into the function */
	return s && addr - s->addr < 16 ? s->name : NULL;
}

__u64 ksym_addr(const char *name)
{
	if (!loaded)
		ksyms_load();
	for (size_t i = 0; i < nsyms; i++)
		if (!strcmp(syms[i].name, name))
			return syms[i].addr;
	return 0;
}

void ksyms_free(void)
{
	for (size_t i = 0; i < nsyms; i++)
		free(syms[i].name);
	free(syms);
	syms = NULL;
	nsyms = 0;
	loaded = 0;
}
