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
#include "pwhy/pcap_out.h"
#include "pwhy/render.h"
#include "pwhy/session.h"

static volatile sig_atomic_t stop_requested;
static char out_buf[1 << 20];	/* --output-file's buffer */

static void on_signal(int sig)
{
	stop_requested = 1;
}

struct loop {
	struct correlator corr;
	struct pcap_out *pcap;		/* -w */
	unsigned long long events;
	double deadline;
};

/* --output-skb records: printed after the event line they belong to */
static int on_aux(const void *rec, size_t size, void *ctx)
{
	struct loop *l = ctx;

	if (l->corr.print_events && l->corr.render)
		render_skb_dump(l->corr.render, rec, size);
	return 0;
}

static int stack_ips(void *ctx, __s32 id, __u64 *ips, int max)
{
	return tracer_stack(ctx, id, ips, max);
}

/* Tracked skbs the bounded map had to drop are skbs whose later path went unseen: say so. */
static void track_summary(const struct session_opts *o, struct tracer *t)
{
	struct tracer_track_stats st;

	if (!o->tracer.track_skb)
		return;
	tracer_track_stats(t, &st);
	/* the tracepoint backend cannot see every free (UDP's stateless consume, ...): there an
	 * eviction is mostly an skb already gone (elsewhere the loss warning counts them) */
	if (st.evicted && tracer_backend(t) == PWHY_BACKEND_TRACEPOINT)
		fprintf(stderr, "pwhy: note: %llu tracked skbs evicted from the tracking map; the tracepoint backend does not see every free, so most were gone already\n",
			st.evicted);
	if (o->tracer.verbose)
		fprintf(stderr, "pwhy: skb tracking: %llu tracked, %llu clones/copies, %llu freed, %llu still tracked, %llu evicted\n",
			st.added, st.clones, st.freed, st.live, st.evicted);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int on_event(const struct pwhy_event *ev, void *ctx)
{
	struct loop *l = ctx;

	l->events++;
	/* queued first: a finding this event triggers goes into its packet's comment */
	if (l->pcap)
		pcap_out_event(l->pcap, ev);
	correlate_event(&l->corr, ev);
	/* a ring buffer poll lasts as long as events keep coming: under a flood, leave it
	 * (-EINTR, the event is consumed) so that Ctrl-C and --timeout are honoured */
	if (!(l->events & 255) && (stop_requested || (l->deadline && now_s() >= l->deadline)))
		return -EINTR;
	return 0;
}

static void on_finding(const struct finding *f, void *ctx)
{
	struct loop *l = ctx;

	if (l->pcap)
		pcap_out_finding(l->pcap, f);
}

/* Close -w's file; -EIO when it could not be written completely (message printed). */
static int pcap_done(struct loop *l, const char *path)
{
	long long n;

	if (!l->pcap)
		return 0;
	n = pcap_out_close(l->pcap);
	l->pcap = NULL;
	if (n < 0)
		return -EIO;
	fprintf(stderr, "pwhy: wrote %lld packets to %s\n", n, path);
	return 0;
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
	struct tracer_track_stats st;
	__u64 cnt[PWHY_CNT_MAX];

	tracer_counters(t, cnt, PWHY_CNT_MAX);
	l->ring_full = cnt[PWHY_CNT_RINGBUF_FULL];
	l->send_state_full = cnt[PWHY_CNT_SEND_STATE_FULL];
	l->sends_evicted = c->sends_evicted;
	tracer_track_stats(t, &st);
	l->track_evicted = st.evicted;
	/* the tracepoint backend does not see every free: there an "eviction" is mostly an skb
	 * already gone, said in a note at exit (track_summary), not counted as a loss */
	if (tracer_backend(t) == PWHY_BACKEND_TRACEPOINT)
		l->track_evicted = 0;
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
	struct render rnd = { .out = stdout, .json = o->json, .timestamp = o->timestamp,
			      .tcp_flags = o->output_tcp_flags, .stack = o->tracer.output_stack,
			      .caller = o->tracer.output_caller, .limit_lines = o->limit_lines,
			      .stack_ips = stack_ips };
	struct tracer_opts topts = o->tracer;
	struct loop l = {};
	struct tracer *t = NULL;
	char err[512] = "";
	double deadline = 0;
	pid_t child = 0;
	int go = -1, r;
	struct losses lost;
	__u64 cnt[PWHY_CNT_MAX];
	unsigned long long last_events = 0;
	double next_stats = 0;
	long long v;

	memset(res, 0, sizeof(*res));
	res->child_status = -1;
	if (o->pcap_once && !o->pcap_file) {
		fprintf(stderr, "pwhy: --pcap-once needs -w FILE\n");
		return -EINVAL;
	}
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
		/* fully buffered: flushed after each batch of events and at exit. With a buffer
		 * of our own: given none, glibc ignores the size and writes 4 KiB at a time, at
		 * offsets a flush left unaligned, and the file system zeroes the partial blocks
		 * of every write (a third of the tracer's time writing every event on ext4). */
		setvbuf(rnd.out, out_buf, _IOFBF, sizeof(out_buf));
	} else if (o->command) {
		/* stdout is shared with the command pwhy runs: whole lines only, or its output
		 * lands in the middle of an event line */
		setvbuf(stdout, NULL, _IOLBF, 1 << 16);
	}
	rnd.btf = pwhy_vmlinux_btf();
	/* before anything is attached: a bad -w path is a usage error */
	if (o->pcap_file) {
		l.pcap = pcap_out_open(o->pcap_file, o->pcap_once, &rnd);
		if (!l.pcap) {
			fprintf(stderr, "pwhy: cannot write %s: %s\n", o->pcap_file, strerror(errno));
			if (rnd.out != stdout)
				fclose(rnd.out);
			return -EINVAL;
		}
	}
	l.corr.host = hostinfo_live();
	l.corr.render = &rnd;
	l.corr.print_events = o->print_events;
	l.corr.print_findings = true;
	l.corr.explain_route = o->explain_route;
	l.corr.kinds_mask = o->kinds_mask;
	l.corr.reason_no_socket = ~0u;
	l.corr.on_finding = on_finding;
	l.corr.ctx = &l;
	if (rnd.btf && (v = btf_drop_reason_value(rnd.btf, "NO_SOCKET")) >= 0)
		l.corr.reason_no_socket = v;
	correlate_init(&l.corr);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	topts.aux_cb = on_aux;
	topts.stop = &stop_requested;	/* Ctrl-C during a long attach undoes it */
	r = tracer_open(&topts, on_event, &l, &t, err, sizeof(err));
	if (r) {
		fprintf(stderr, "pwhy: %s\n", err);
		pcap_done(&l, o->pcap_file);
		if (rnd.out != stdout)
			fclose(rnd.out);
		return r;
	}
	fprintf(stderr, "pwhy: tracing with the %s backend, %d probes attached%s\n",
		backend_name(tracer_backend(t)), tracer_nattached(t),
		o->command ? "" : "; Ctrl-C to stop");
	rnd.stack_ctx = t;
	if (o->tracer.output_caller && tracer_backend(t) == PWHY_BACKEND_TRACEPOINT)
		fprintf(stderr, "pwhy: note: --output-caller on the tracepoint backend names the function that hit the tracepoint (from the stack), not a caller of a traced function\n");
	if (o->timeout_s > 0)
		deadline = l.deadline = now_s() + o->timeout_s;
	if (o->command) {
		child = spawn(o->command, &go);
		if (child < 0) {
			r = -errno;
			fprintf(stderr, "pwhy: cannot start %s: %s\n", o->command[0], strerror(errno));
			tracer_close(t);
			pcap_done(&l, o->pcap_file);
			return r;
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
		if (l.pcap)
			pcap_out_tick(l.pcap, now_s() * 1e9);
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
		if (render_limit_reached(&rnd))
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
	tracer_counters(t, cnt, PWHY_CNT_MAX);
	track_summary(o, t);
	if (o->tracer.verbose && (cnt[PWHY_CNT_STACK_LOST] || cnt[PWHY_CNT_SKB_DUMP_LOST]))
		fprintf(stderr, "pwhy: %llu stacks not recorded (stack map full), %llu skb dumps lost (ring buffer full)\n",
			(unsigned long long)cnt[PWHY_CNT_STACK_LOST],
			(unsigned long long)cnt[PWHY_CNT_SKB_DUMP_LOST]);
	res->events = l.events;
	res->lost = lost.ring_full;
	memcpy(res->findings, l.corr.findings, sizeof(res->findings));
	if (losses_any(&lost))
		losses_print(stderr, "pwhy: warning: ", &lost);
	else if (o->tracer.verbose)
		fprintf(stderr, "pwhy: %llu events, 0 lost\n", l.events);
	tracer_close(t);
	r = pcap_done(&l, o->pcap_file);
	if (rnd.out != stdout)
		fclose(rnd.out);
	return r;
}
