// SPDX-License-Identifier: GPL-2.0
/* /proc/kallsyms, sorted once by address (event decoding) and indexed once by name (attach
 * planning looks up thousands of names). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/ksyms.h"

struct ksym {
	__u64 addr;
	char *name;
	const char *module;	/* "" for vmlinux */
};

static struct ksym *syms;
static const struct ksym **by_name;
static size_t nsyms;
static char **modules;
static size_t nmodules;
static int loaded;

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_name(const void *a, const void *b)
{
	const struct ksym *x = *(const struct ksym *const *)a, *y = *(const struct ksym *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : cmp_addr(x, y);
}

/* module names repeat for every symbol of the module: keep one copy of each */
static const char *module_name(const char *m)
{
	char **n;

	if (!*m)
		return "";
	for (size_t i = nmodules; i-- > 0;)
		if (!strcmp(modules[i], m))
			return modules[i];
	n = realloc(modules, (nmodules + 1) * sizeof(*n));
	if (!n)
		return "";
	modules = n;
	modules[nmodules] = strdup(m);
	return modules[nmodules] ? modules[nmodules++] : "";
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
		char type, name[256], mod[128] = "";

		if (sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type, name, mod) < 3 || !addr)
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
		syms[nsyms].module = module_name(mod);
		if (syms[nsyms].name)
			nsyms++;
	}
	fclose(f);
	qsort(syms, nsyms, sizeof(*syms), cmp_addr);
	by_name = malloc((nsyms ? nsyms : 1) * sizeof(*by_name));
	if (!by_name)
		return;
	for (size_t i = 0; i < nsyms; i++)
		by_name[i] = &syms[i];
	qsort(by_name, nsyms, sizeof(*by_name), cmp_name);
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

/* index of the first by_name entry with this name, or nsyms */
static size_t first_named(const char *name)
{
	size_t lo = 0, hi;

	if (!loaded)
		ksyms_load();
	if (!by_name)
		return nsyms;
	hi = nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(by_name[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nsyms && !strcmp(by_name[lo]->name, name) ? lo : nsyms;
}

__u64 ksym_addr(const char *name)
{
	size_t i = first_named(name);

	return i < nsyms ? by_name[i]->addr : 0;
}

int ksym_count(const char *name, const char **module)
{
	size_t i = first_named(name), j = i;

	while (j < nsyms && !strcmp(by_name[j]->name, name))
		j++;
	if (module)
		*module = i < nsyms ? by_name[i]->module : "";
	return j - i;
}

void ksyms_free(void)
{
	for (size_t i = 0; i < nsyms; i++)
		free(syms[i].name);
	for (size_t i = 0; i < nmodules; i++)
		free(modules[i]);
	free(syms);
	free(by_name);
	free(modules);
	syms = NULL;
	by_name = NULL;
	modules = NULL;
	nsyms = nmodules = 0;
	loaded = 0;
}
