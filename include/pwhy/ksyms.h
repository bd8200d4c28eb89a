/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel addresses to symbol names, from /proc/kallsyms (loaded on first use). */
#ifndef PWHY_KSYMS_H
#define PWHY_KSYMS_H
#include <stddef.h>
#include <linux/types.h>

/* "name+0xoff" for addr into buf; "0x<addr>" when unknown. Returns buf. */
const char *ksym_format(__u64 addr, char *buf, size_t len);
/* Function name whose start is exactly addr (func_ip of a probe); NULL when none. */
const char *ksym_exact(__u64 addr);
/* Address of a text symbol, 0 when absent (the first one when several share the name). */
__u64 ksym_addr(const char *name);
/* How many text symbols have this name (static functions of different files may share one);
 * *module gets the module of the first ("" for vmlinux) when module is not NULL. */
int ksym_count(const char *name, const char **module);
void ksyms_free(void);
#endif
