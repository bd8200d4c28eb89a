// SPDX-License-Identifier: GPL-2.0
/* The optional parts of an event line (--output-tcp-flags, --output-caller, --output-stack,
 * --output-skb), in text and JSON. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/format.h"
#include "pwhy/ksyms.h"
#include "pwhy/render.h"
#include "render_extra.h"

const char *fmt_tcp_flags(__u8 flags, char *buf, size_t len)
{
	/* tcpdump's letters, in its order, for bits FIN SYN RST PSH ACK URG ECE CWR */
	static const char letters[8] = { 'F', 'S', 'R', 'P', '.', 'U', 'E', 'W' };
	size_t n = 0;

	for (int bit = 0; bit < 8 && n + 1 < len; bit++)
		if (flags & (1u << bit))
			buf[n++] = letters[bit];
	if (!n)
		snprintf(buf, len, "none");
	else
		buf[n] = 0;
	return buf;
}

bool stack_frame_is_tracer(const char *sym)
{
	static const char *const prefixes[] = {
		"bpf_prog_", "bpf_trampoline_", "bpf_trace_run", "__bpf_trace_", "__traceiter_",
		"bpf_get_stack", "__bpf_get_stack", "kprobe_ftrace_handler", "kprobe_multi_link_",
		"fprobe_", "ftrace_", "arch_ftrace_", "rethook_", "__x64_sys_bpf",
	};

	if (!sym)
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(sym, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* "name" of "name+0x1c" */
static bool same_function(const char *frame, const char *func)
{
	size_t n = strlen(func);

	return !strncmp(frame, func, n) && (frame[n] == 0 || frame[n] == '+');
}

int stack_tracer_frames(const char *const *syms, int n)
{
	int lead = 0;

	/* JIT code has no symbol where bpf_jit_kallsyms is off: unnamed frames before the first
	 * named one are the program and its trampoline */
	while (lead < n && syms[lead] &&
	       (stack_frame_is_tracer(syms[lead]) || !strncmp(syms[lead], "0x", 2)))
		lead++;
	if (lead == n)		/* nothing named at all: keep what there is */
		for (lead = 0; lead < n && syms[lead] && stack_frame_is_tracer(syms[lead]); lead++)
			;
	return lead;
}

int stack_caller_index(const char *const *syms, int n, const char *probed)
{
	for (int i = stack_tracer_frames(syms, n); i < n; i++) {
		if (!syms[i] || stack_frame_is_tracer(syms[i]))
			continue;
		if (probed && same_function(syms[i], probed))
			continue;
		return i;
	}
	return -1;
}

/* The event's stack as "sym+off" strings; returns the number of frames, 0 when none. */
static int stack_syms(struct render *r, const struct pwhy_event *ev, char (*out)[RENDER_SYM_LEN],
		      int max, int *lead)
{
	const char *names[RENDER_STACK_MAX];
	__u64 ips[RENDER_STACK_MAX];
	int n;

	*lead = 0;
	if (!ev->has_stack || !r->stack_ips)
		return 0;
	n = r->stack_ips(r->stack_ctx, ev->stack_id, ips, max < RENDER_STACK_MAX ? max : RENDER_STACK_MAX);
	for (int i = 0; i < n; i++) {
		ksym_format(ips[i], out[i], RENDER_SYM_LEN);
		names[i] = out[i];
	}
	if (n <= 0)
		return 0;
	*lead = stack_tracer_frames(names, n);
	return n;
}

const char *render_caller(struct render *r, const struct pwhy_event *ev, const char *probe,
			  char *buf, size_t len)
{
	char syms[RENDER_STACK_MAX][RENDER_SYM_LEN];
	const char *names[RENDER_STACK_MAX];
	int n, i, lead;

	if (ev->caller)
		return ksym_format(ev->caller, buf, len);
	n = stack_syms(r, ev, syms, RENDER_STACK_MAX, &lead);
	for (i = 0; i < n; i++)
		names[i] = syms[i];
	i = stack_caller_index(names, n, ev->probe == PWHY_PROBE_FUNC ? probe : NULL);
	if (i < 0)
		return NULL;
	snprintf(buf, len, "%s", syms[i]);
	return buf;
}

void render_stack_text(struct render *r, const struct pwhy_event *ev)
{
	char syms[RENDER_STACK_MAX][RENDER_SYM_LEN];
	int lead, n = stack_syms(r, ev, syms, RENDER_STACK_MAX, &lead);

	if (!n) {
		fprintf(r->out, "    (no stack: map full or unavailable)\n");
		return;
	}
	for (int i = lead; i < n; i++)
		if (!stack_frame_is_tracer(syms[i]))
			fprintf(r->out, "    %s\n", syms[i]);
}

void render_stack_json(struct render *r, const struct pwhy_event *ev)
{
	char syms[RENDER_STACK_MAX][RENDER_SYM_LEN];
	int lead, n = stack_syms(r, ev, syms, RENDER_STACK_MAX, &lead), first = 1;

	if (!n) {
		fprintf(r->out, ",\"stack\":null");
		return;
	}
	fprintf(r->out, ",\"stack\":[");
	for (int i = lead; i < n; i++) {
		if (stack_frame_is_tracer(syms[i]))
			continue;
		fprintf(r->out, "%s\"%s\"", first ? "" : ",", syms[i]);
		first = 0;
	}
	fprintf(r->out, "]");
}

void render_skb_dump(struct render *r, const struct pwhy_skb_dump *d, size_t size)
{
	size_t off = offsetof(struct pwhy_skb_dump, text), n;
	char *esc;

	/* only after the event line it belongs to (not when limited or not printed) */
	if (size < off || d->skb != r->last_skb || d->ts_ns != r->last_ts)
		return;
	n = size - off;
	if (d->len < n)
		n = d->len;
	if (r->json) {
		char *text = strndup(d->text, n);

		esc = malloc(6 * PWHY_SKB_DUMP_LEN + 16);
		if (text && esc)
			fprintf(r->out, "{\"skb\":\"0x%llx\",\"ts_ns\":%llu,\"skb_btf\":\"%s\"%s}\n",
				(unsigned long long)d->skb, (unsigned long long)d->ts_ns,
				fmt_json_escape(text, esc, 6 * PWHY_SKB_DUMP_LEN + 16),
				d->len >= sizeof(d->text) ? ",\"truncated\":true" : "");
		free(text);
		free(esc);
	} else {
		fprintf(r->out, "%.*s%s\n", (int)n, d->text,
			d->len >= sizeof(d->text) ? "\n    ... (truncated)" : "");
	}
	fflush(r->out);
}

bool render_limit_reached(const struct render *r)
{
	return r->limit_lines && r->lines >= r->limit_lines;
}
