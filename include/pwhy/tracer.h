/* SPDX-License-Identifier: GPL-2.0 */
/* Discovery → attach → ring buffer: the tracing engine shared by trace, run and report. */
#ifndef PWHY_TRACER_H
#define PWHY_TRACER_H
#include <stdbool.h>
#include <stddef.h>
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
	unsigned ringbuf_kb;
};

typedef int (*tracer_event_cb)(const struct pwhy_event *ev, void *ctx);

struct tracer;

int tracer_open(const struct tracer_opts *opts, tracer_event_cb cb, void *ctx,
		struct tracer **out, char *err, size_t errlen);
/* Wait up to timeout_ms for the ring buffer to fill up, then take every event in it; returns
 * events handled or -errno. The probes do not wake the reader per event: poll with a short
 * timeout (50-100 ms) to keep latency low. */
int tracer_poll(struct tracer *t, int timeout_ms);
/* Entries in the skb tracking map now (walks it: call once a second at most). */
long tracer_tracked_live(struct tracer *t);
/* Per-reason loss counters summed over CPUs. */
void tracer_counters(struct tracer *t, __u64 *vals, int n);
int tracer_nattached(const struct tracer *t);
enum pwhy_backend tracer_backend(const struct tracer *t);
void tracer_close(struct tracer *t);

/* The function a path event came from ("?" when unknown). */
const char *tracer_func_name(const struct tracer *t, __u64 ip);
#endif
