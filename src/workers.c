// SPDX-License-Identifier: GPL-2.0
/* Items are handed out by an atomic counter; the calling thread only watches: it draws the
 * progress bar (on a terminal) and relays a stop request, so a signal never has to reach a
 * worker blocked in a syscall (workers block signals). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pwhy/workers.h"

struct pool {
	size_t n;
	size_t next;		/* atomic */
	size_t done;		/* atomic */
	int stopping;		/* atomic */
	void (*fn)(size_t i, void *ctx);
	void *ctx;
};

double workers_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int workers_cpus(int max)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > max ? max : (int)n;
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!__atomic_load_n(&p->stopping, __ATOMIC_RELAXED)) {
		size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);

		if (i >= p->n)
			break;
		p->fn(i, p->ctx);
		__atomic_fetch_add(&p->done, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void draw(const char *what, size_t done, size_t n)
{
	const int width = 30;
	int fill = n ? (int)(done * width / n) : width;
	char bar[32];

	memset(bar, '#', fill);
	memset(bar + fill, '.', width - fill);
	bar[width] = 0;
	fprintf(stderr, "\rpwhy: %s [%s] %zu/%zu", what, bar, done, n);
	fflush(stderr);
}

size_t workers_run(size_t n, void (*fn)(size_t i, void *ctx), void *ctx,
		   const struct workers_opts *o)
{
	struct pool p = { .n = n, .fn = fn, .ctx = ctx };
	int nt = o->threads < 1 ? 1 : o->threads;
	bool bar = o->what && isatty(STDERR_FILENO);
	pthread_t th[64];
	int started = 0;
	size_t begun;

	if (nt > 64)
		nt = 64;
	if ((size_t)nt > n)
		nt = n ? n : 1;
	for (int i = 0; i < nt; i++)
		if (pthread_create(&th[started], NULL, worker, &p) == 0)
			started++;
	if (!started)
		worker(&p);	/* no threads to be had: do it here */
	for (;;) {
		size_t done = __atomic_load_n(&p.done, __ATOMIC_RELAXED);

		if (o->stop && *o->stop)
			__atomic_store_n(&p.stopping, 1, __ATOMIC_RELAXED);
		if (bar)
			draw(o->what, done, n);
		if (done >= n || __atomic_load_n(&p.stopping, __ATOMIC_RELAXED) || !started)
			break;
		usleep(50 * 1000);
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (bar)
		fputs("\r\033[K", stderr);
	begun = __atomic_load_n(&p.next, __ATOMIC_RELAXED);
	return begun > n ? n : begun;
}
