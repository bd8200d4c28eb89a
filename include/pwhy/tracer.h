/* SPDX-License-Identifier: GPL-2.0 */
/* Discovery → attach → ring buffer: the tracing engine shared by trace, run and report. */
#ifndef PWHY_TRACER_H
#define PWHY_TRACER_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

struct pwhy_event;

enum pwhy_backend {
	PWHY_BACKEND_AUTO = 0,
	PWHY_BACKEND_FENTRY,
	PWHY_BACKEND_KPROBE,
	PWHY_BACKEND_TRACEPOINT,
};

struct backend_caps {
	bool fentry;		int fentry_err;
	bool kprobe;		int kprobe_err;
	bool kprobe_multi;	int kprobe_multi_err;
	/* a probe with a BTF-typed skb may load packet bytes through skb->head (6.17+): the pcap
	 * filter then runs inline (filter.h, pwhy_filter_translate_inline) */
	bool pkt_loads;
};

const char *backend_name(enum pwhy_backend b);
int backend_parse(const char *s, enum pwhy_backend *out);
/* What this kernel lets us load and attach (probed once, each with a tiny program). */
const struct backend_caps *backend_probe(void);
/* Pick the backend; on a refused explicit choice: -EPERM/-EOPNOTSUPP with a message in err. */
int backend_choose(enum pwhy_backend want, enum pwhy_backend *got, char *err, size_t errlen);

struct tracer_opts {
	enum pwhy_backend backend;
	const char *filter;		/* pcap-filter expression, NULL/"" = everything */
	const char *filter_func;	/* regex on function names (path probes) */
	const char *filter_ifname;
	__u32 filter_netns;
	__u32 filter_mark, filter_mark_mask;
	bool all_funcs;			/* every function taking an skb */
	bool track_skb;
	bool path_events;		/* false: facts only (report, run) */
	bool explain_route;
	bool copy_pkt;
	bool verbose;
	bool kmods;			/* path probes on loaded modules' functions too */
	unsigned ringbuf_kb;
	bool output_stack;		/* stack id per skb event (tracer_stack) */
	bool output_caller;
	bool output_skb;		/* PWHY_EV_SKB_DUMP records through aux_cb */
	/* records that are not a struct pwhy_event (skb dumps); NULL drops them */
	int (*aux_cb)(const void *rec, size_t size, void *ctx);
	volatile sig_atomic_t *stop;	/* set by a signal: stop attaching, undo, -EINTR */
};

typedef int (*tracer_event_cb)(const struct pwhy_event *ev, void *ctx);

struct tracer;

int tracer_open(const struct tracer_opts *opts, tracer_event_cb cb, void *ctx,
		struct tracer **out, char *err, size_t errlen);
/* Wait up to timeout_ms for the ring buffer to fill up, then take every event in it; returns
 * events handled or -errno. The probes do not wake the reader per event: poll with a short
 * timeout (50-100 ms) to keep latency low. */
int tracer_poll(struct tracer *t, int timeout_ms);
/* Per-reason loss counters summed over CPUs. */
void tracer_counters(struct tracer *t, __u64 *vals, int n);
int tracer_nattached(const struct tracer *t);
enum pwhy_backend tracer_backend(const struct tracer *t);
/* The functions tracer_open would attach path probes to, one per line on out, with a summary
 * of those left out on diag. Needs no BPF: works where probes cannot be attached. */
int tracer_list_funcs(const struct tracer_opts *opts, FILE *out, FILE *diag, char *err,
		      size_t errlen);
void tracer_close(struct tracer *t);

/* Frames of a stack id from --output-stack / --output-caller; returns their number or -errno. */
int tracer_stack(struct tracer *t, __s32 id, __u64 *ips, int max);
/* skb tracking: skbs tracked, clones/copies found, and tracked skbs the bounded map evicted
 * (added - freed - still tracked). Walks the map when it may hold entries: once a second at
 * most. */
struct tracer_track_stats {
	unsigned long long added, freed, clones, live, evicted;
};
void tracer_track_stats(struct tracer *t, struct tracer_track_stats *st);

/* The function a path event came from ("?" when unknown). */
const char *tracer_func_name(const struct tracer *t, __u64 ip);
#endif
