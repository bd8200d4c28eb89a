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

int session_run(const struct session_opts *o, struct session_result *res)
{
	struct render rnd = { .out = stdout, .json = o->json, .timestamp = o->timestamp };
	struct loop l = {};
	struct tracer *t = NULL;
	char err[512] = "";
	double deadline = 0;
	pid_t child = 0;
	int go = -1, r;
	__u64 cnt[PWHY_CNT_MAX];
	long long v;
	struct tracer_opts topts = o->tracer;

	memset(res, 0, sizeof(*res));
	res->child_status = -1;
	if (o->list_funcs) {
		r = tracer_list_funcs(&o->tracer, stdout, stderr, err, sizeof(err));
		if (r)
			fprintf(stderr, "pwhy: %s\n", err);
		return r;
	}
	if (o->output_file) {
		rnd.out = fopen(o->output_file, "w");
		if (!rnd.out) {
			fprintf(stderr, "pwhy: cannot write %s: %s\n", o->output_file, strerror(errno));
			return -errno;
		}
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
	topts.stop = &stop_requested;	/* Ctrl-C during a long attach undoes it */
	r = tracer_open(&topts, on_event, &l, &t, err, sizeof(err));
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
	while (!stop_requested) {
		r = tracer_poll(t, 100);
		if (r < 0) {
			fprintf(stderr, "pwhy: ring buffer: %s\n", strerror(-r));
			break;
		}
		if (deadline && now_s() >= deadline)
			break;
		if (child > 0 && waitpid(child, &res->child_status, WNOHANG) == child) {
			child = 0;
			/* what the command caused may still be in flight: drain briefly */
			for (int i = 0; i < 3; i++)
				tracer_poll(t, 100);
			break;
		}
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, &res->child_status, 0);
	}
	tracer_poll(t, 0);
	correlate_finish(&l.corr);
	tracer_counters(t, cnt, PWHY_CNT_MAX);
	res->events = l.events;
	res->lost = cnt[PWHY_CNT_RINGBUF_FULL];
	memcpy(res->findings, l.corr.findings, sizeof(res->findings));
	if (res->lost || cnt[PWHY_CNT_SEND_STATE_FULL] || l.corr.sends_evicted)
		fprintf(stderr, "pwhy: warning: %llu events lost (ring buffer full), %llu sends not followed (state map full), %lu evicted\n",
			(unsigned long long)res->lost, (unsigned long long)cnt[PWHY_CNT_SEND_STATE_FULL],
			l.corr.sends_evicted);
	else if (o->tracer.verbose)
		fprintf(stderr, "pwhy: %llu events, 0 lost\n", l.events);
	tracer_close(t);
	if (rnd.out != stdout)
		fclose(rnd.out);
	return 0;
}
