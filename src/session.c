// SPDX-License-Identifier: GPL-2.0
/* The main loop: discovery → attach → poll ring buffer → correlate → render. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "pwhy/btf_info.h"
#include "pwhy/correlate.h"
#include "pwhy/hostinfo.h"
#include "pwhy/render.h"
#include "pwhy/session.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

struct loop {
	struct correlator corr;
	unsigned long long events;
};

static int on_event(const struct pwhy_event *ev, void *ctx)
{
	struct loop *l = ctx;

	l->events++;
	correlate_event(&l->corr, ev);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The child waits for a byte on a pipe so that it runs only once tracing is ready. */
static pid_t spawn(char *const *argv, int *go_fd)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char c;

		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		close(p[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "pwhy: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*go_fd = p[1];
	return pid;
}

/* Every way events can go missing, by reason. */
struct losses {
	unsigned long long ring_full, track_evicted, send_state_full, sends_evicted;
};

static void losses_read(struct tracer *t, const struct correlator *c, struct losses *l)
{
	__u64 cnt[PWHY_CNT_MAX];
	long long evicted;

	tracer_counters(t, cnt, PWHY_CNT_MAX);
	l->ring_full = cnt[PWHY_CNT_RINGBUF_FULL];
	l->send_state_full = cnt[PWHY_CNT_SEND_STATE_FULL];
	l->sends_evicted = c->sends_evicted;
	evicted = (long long)cnt[PWHY_CNT_TRACK_ADD] - (long long)cnt[PWHY_CNT_TRACK_DEL];
	if (evicted > 0)
		evicted -= tracer_tracked_live(t);
	l->track_evicted = evicted > 0 ? evicted : 0;
}

static bool losses_any(const struct losses *l)
{
	return l->ring_full || l->track_evicted || l->send_state_full || l->sends_evicted;
}

static void losses_print(FILE *f, const char *prefix, const struct losses *l)
{
	fprintf(f, "%s%llu events lost (ring buffer full), %llu skbs dropped from tracking (map full), %llu sends not followed (state map full), %llu evicted\n",
		prefix, l->ring_full, l->track_evicted, l->send_state_full, l->sends_evicted);
}

int session_run(const struct session_opts *o, struct session_result *res)
{
	struct render rnd = { .out = stdout, .json = o->json, .timestamp = o->timestamp };
	struct loop l = {};
	struct tracer *t = NULL;
	char err[512] = "";
	double deadline = 0;
	pid_t child = 0;
	int go = -1, r;
	struct losses lost;
	unsigned long long last_events = 0;
	double next_stats = 0;
	long long v;

	memset(res, 0, sizeof(*res));
	res->child_status = -1;
	if (o->output_file) {
		rnd.out = fopen(o->output_file, "w");
		if (!rnd.out) {
			fprintf(stderr, "pwhy: cannot write %s: %s\n", o->output_file, strerror(errno));
			return -errno;
		}
		/* fully buffered: flushed after each batch of events and at exit */
		setvbuf(rnd.out, NULL, _IOFBF, 1 << 16);
	}
	rnd.btf = pwhy_vmlinux_btf();
	l.corr.host = hostinfo_live();
	l.corr.render = &rnd;
	l.corr.print_events = o->print_events;
	l.corr.print_findings = true;
	l.corr.explain_route = o->explain_route;
	l.corr.kinds_mask = o->kinds_mask;
	l.corr.reason_no_socket = ~0u;
	if (rnd.btf && (v = btf_drop_reason_value(rnd.btf, "NO_SOCKET")) >= 0)
		l.corr.reason_no_socket = v;
	correlate_init(&l.corr);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	r = tracer_open(&o->tracer, on_event, &l, &t, err, sizeof(err));
	if (r) {
		fprintf(stderr, "pwhy: %s\n", err);
		if (rnd.out != stdout)
			fclose(rnd.out);
		return r;
	}
	fprintf(stderr, "pwhy: tracing with the %s backend, %d probes attached%s\n",
		backend_name(tracer_backend(t)), tracer_nattached(t),
		o->command ? "" : "; Ctrl-C to stop");
	if (o->timeout_s > 0)
		deadline = now_s() + o->timeout_s;
	if (o->command) {
		child = spawn(o->command, &go);
		if (child < 0) {
			fprintf(stderr, "pwhy: cannot start %s: %s\n", o->command[0], strerror(errno));
			tracer_close(t);
			return -errno;
		}
		if (write(go, "g", 1) != 1)
			fprintf(stderr, "pwhy: warning: could not release the command\n");
		close(go);
	}
	if (o->tracer.verbose)
		next_stats = now_s() + 1;
	while (!stop_requested) {
		r = tracer_poll(t, 50);
		if (r < 0) {
			fprintf(stderr, "pwhy: ring buffer: %s\n", strerror(-r));
			break;
		}
		if (r > 0)
			fflush(rnd.out);
		if (next_stats && now_s() >= next_stats) {
			char prefix[64];

			next_stats += 1;
			losses_read(t, &l.corr, &lost);
			snprintf(prefix, sizeof(prefix), "pwhy: %llu events/s; ",
				 l.events - last_events);
			last_events = l.events;
			losses_print(stderr, prefix, &lost);
		}
		if (deadline && now_s() >= deadline)
			break;
		if (child > 0 && waitpid(child, &res->child_status, WNOHANG) == child) {
			child = 0;
			/* what the command caused may still be in flight: drain briefly */
			for (int i = 0; i < 3; i++)
				tracer_poll(t, 50);
			break;
		}
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, &res->child_status, 0);
	}
	tracer_poll(t, 0);
	correlate_finish(&l.corr);
	fflush(rnd.out);
	losses_read(t, &l.corr, &lost);
	res->events = l.events;
	res->lost = lost.ring_full;
	memcpy(res->findings, l.corr.findings, sizeof(res->findings));
	if (losses_any(&lost))
		losses_print(stderr, "pwhy: warning: ", &lost);
	else if (o->tracer.verbose)
		fprintf(stderr, "pwhy: %llu events, 0 lost\n", l.events);
	tracer_close(t);
	if (rnd.out != stdout)
		fclose(rnd.out);
	return 0;
}
