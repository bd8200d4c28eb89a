/* SPDX-License-Identifier: GPL-2.0 */
/* A tracing session: tracer + correlator + output, run until a signal, a timeout or the end of
 * a child command. Shared by `trace` and `run`. */
#ifndef PWHY_SESSION_H
#define PWHY_SESSION_H
#include <stdbool.h>
#include "pwhy/finding.h"
#include "pwhy/tracer.h"

struct session_opts {
	struct tracer_opts tracer;
	double timeout_s;		/* 0 = none */
	bool json;
	bool timestamp;
	bool print_events;
	bool explain_route;
	bool output_tcp_flags;
	unsigned long limit_lines;	/* --output-limit-lines: stop after N event lines (0 = no) */
	bool list_funcs;		/* print the attach plan instead of tracing */
	const char *output_file;
	const char *pcap_file;		/* -w: pcap-ng of the traced packets */
	bool pcap_once;			/* --pcap-once: one packet per skb */
	long kinds_mask;		/* findings to report (0 = all) */
	char *const *command;		/* run: argv of the command to run, NULL for trace */
};

struct session_result {
	unsigned long findings[FINDING_MAX];
	unsigned long long events, lost;
	int child_status;		/* wait status of the command, -1 when none */
};

/* Returns 0, or -errno after printing one line. */
int session_run(const struct session_opts *o, struct session_result *res);
#endif
