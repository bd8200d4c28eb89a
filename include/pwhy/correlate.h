/* SPDX-License-Identifier: GPL-2.0 */
/* Events → per-send and per-skb records → findings. Sits between the ring buffer and output. */
#ifndef PWHY_CORRELATE_H
#define PWHY_CORRELATE_H
#include <stdbool.h>
#include "pwhy/event.h"
#include "pwhy/findings.h"
#include "pwhy/render.h"

#define CORRELATE_MAX_SENDS 64

struct correlator {
	const struct hostinfo *host;
	struct render *render;
	__u32 reason_no_socket;		/* this kernel's SKB_DROP_REASON_NO_SOCKET */
	bool print_events;		/* trace: one line per event */
	bool print_findings;
	bool explain_route;
	long kinds_mask;		/* which findings to report */
	void (*on_finding)(const struct finding *f, void *ctx);
	void *ctx;
	struct send_record *sends[CORRELATE_MAX_SENDS];
	unsigned next_slot;
	unsigned long findings[FINDING_MAX];
	unsigned long sends_evicted;
};

void correlate_init(struct correlator *c);
void correlate_event(struct correlator *c, const struct pwhy_event *ev);
/* finish every send still open (at exit) */
void correlate_finish(struct correlator *c);
#endif
