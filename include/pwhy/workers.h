/* SPDX-License-Identifier: GPL-2.0 */
/* A small thread pool for slow kernel calls done many times (loading and attaching probes,
 * closing them), with a progress bar and a stop flag watched by the calling thread. */
#ifndef PWHY_WORKERS_H
#define PWHY_WORKERS_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct workers_opts {
	int threads;			/* 1 = in order, one at a time */
	const char *what;		/* progress bar label; NULL = no bar */
	volatile sig_atomic_t *stop;	/* when set, no new item starts */
};

/* Calls fn(i, ctx) once for each i in [0, n) unless stopped; returns how many were started. */
size_t workers_run(size_t n, void (*fn)(size_t i, void *ctx), void *ctx,
		   const struct workers_opts *o);
/* Threads worth using for CPU-bound kernel work on this machine (at most max). */
int workers_cpus(int max);
/* Seconds on the monotonic clock. */
double workers_now(void);
#endif
