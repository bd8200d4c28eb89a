/* SPDX-License-Identifier: GPL-2.0 */
/* `-w FILE`: traced packets as pcap-ng, each with a comment naming the probe, the skb, its netns,
 * device, mark, drop reason and the findings about it. */
#ifndef PWHY_PCAP_OUT_H
#define PWHY_PCAP_OUT_H
#include <stdbool.h>
#include "pwhy/event.h"
#include "pwhy/finding.h"
#include "pwhy/render.h"

/* How long a packet stays queued before it is written, so that a finding reported a little
 * later (at the send's exit, say) still lands in its comment. */
#define PCAP_OUT_HOLD_NS 500000000ull
#define PCAP_OUT_MAX_HELD 4096

struct pcap_out;

/* Create PATH (truncating it). once: only the first event of each skb. names: how probes and
 * drop reasons are named (as in the text output). NULL with errno set on failure. */
struct pcap_out *pcap_out_open(const char *path, bool once, const struct render *names);
/* Queue the packet of a PATH or DROP event (others are ignored). Call before correlating it. */
void pcap_out_event(struct pcap_out *p, const struct pwhy_event *ev);
/* Add a finding to the comment of the latest queued packet of its skb (or of the next one). */
void pcap_out_finding(struct pcap_out *p, const struct finding *f);
/* Write the packets held long enough and flush the file; call at least once a second.
 * now_ns: CLOCK_MONOTONIC, the clock of the events' ts_ns. */
void pcap_out_tick(struct pcap_out *p, unsigned long long now_ns);
/* Write everything still held, close. Returns packets written, or -errno on a write error
 * (reported once on stderr). */
long long pcap_out_close(struct pcap_out *p);
#endif
