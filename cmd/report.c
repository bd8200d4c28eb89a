// SPDX-License-Identifier: GPL-2.0
/* pwhy report: what the kernel drops and why, counted in BPF maps over minutes or hours. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "cmd.h"
#include "pwhy/btf_info.h"
#include "pwhy/hostinfo.h"
#include "pwhy/report.h"

#define TICK_S 0.25		/* how often new NO_SOCKET flows are looked for */
#define EXPLAIN_PER_TICK 5	/* explanations (sock_diag dumps) per tick, at most */

enum { OPT_DURATION = 600, OPT_INTERVAL, OPT_TOP, OPT_JSON, OPT_MARKDOWN, OPT_NETNS, OPT_VERBOSE };

static const struct option report_opts[] = {
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "output-json", no_argument, NULL, OPT_JSON },
	{ "output-markdown", no_argument, NULL, OPT_MARKDOWN },
	{ "filter-netns", required_argument, NULL, OPT_NETNS },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static void usage(FILE *f)
{
	fputs("usage: pwhy report [--duration S] [--interval S] [--top N] [--output-json | --output-markdown]\n"
	      "                   [--filter-netns NS]\n"
	      "Count what the kernel drops, grouped by drop reason, by the code that dropped, by netns and\n"
	      "device, and by flow, in BPF maps (no event per drop: cheap enough to leave running). NO_SOCKET\n"
	      "flows are explained (nearest socket and why it missed; VRF sdif), and so are locally sent\n"
	      "packets dropped because a LOCAL_OUT reroute lost their oif. Reports at the end (Ctrl-C or\n"
	      "--duration); with --interval, also every S seconds for the last S seconds.\n\n"
	      "      --duration S       stop after S seconds (default: until Ctrl-C)\n"
	      "      --interval S       print a report of the last S seconds every S seconds\n"
	      "      --top N            rows per table of locations, devices and flows (default 10)\n"
	      "      --output-json      one JSON document (one line) per report\n"
	      "      --output-markdown  Markdown tables, ready to paste into a ticket\n"
	      "      --filter-netns NS  only drops in this netns (inode, /proc/PID/ns/net, or `ip netns` name)\n"
	      "  -v, --verbose          libbpf messages, explanation counters\n"
	      "  -h, --help             this help\n", f);
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);	/* a signal ends it early, which is what we want */
}

static int parse_seconds(const char *arg, const char *flag, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	if (errno || end == arg || *end || !(*out > 0) || *out > 1e9) {
		fprintf(stderr, "pwhy report: bad %s '%s': a positive number of seconds expected\n",
			flag, arg);
		return -1;
	}
	return 0;
}

/* --filter-netns as `trace` and `run` take it: the shared option parser does the work. */
static int parse_netns(const char *arg, __u32 *ino)
{
	struct session_opts so;

	common_defaults(&so);
	for (int i = 0; common_long_opts[i].name; i++)
		if (!strcmp(common_long_opts[i].name, "filter-netns")) {
			if (common_opt(common_long_opts[i].val, arg, &so) <= 0)
				return -1;
			*ino = so.tracer.filter_netns;
			return 0;
		}
	return -1;
}

struct report_run {
	struct report_collector *col;
	struct report_explainer explainer;
	enum report_format fmt;
	struct report_meta meta;
	__u32 reason_no_socket;
	__u64 no_socket_seen;
	double start_s;
	time_t start_wall;
};

/* Explain the NO_SOCKET flows that appeared since the last look, while their sockets exist. */
static void tick(struct report_run *rr)
{
	struct report_snapshot s;
	__u64 n = 0;

	if (rr->reason_no_socket == ~0u ||
	    report_collector_reason_count(rr->col, rr->reason_no_socket, &n) || n == rr->no_socket_seen)
		return;
	if (report_collector_read(rr->col, &s))
		return;
	/* a full budget may have left flows unexplained: look again at the next tick */
	if (report_explain_new(&rr->explainer, &s, EXPLAIN_PER_TICK, s.mono_s) < EXPLAIN_PER_TICK)
		rr->no_socket_seen = n;
	report_snapshot_free(&s);
}

/* Report the window cur − prev (prev NULL: since start). */
static int emit(struct report_run *rr, const struct report_snapshot *cur,
		const struct report_snapshot *prev, enum report_kind kind)
{
	struct report_snapshot win;
	struct report rep;
	int r;

	r = report_window(cur, prev, &win);
	if (r)
		return r;
	/* the flows about to be reported must be explained, late or not */
	report_explain_new(&rr->explainer, &win, rr->meta.top > 32 ? rr->meta.top : 32, cur->mono_s);
	rr->meta.kind = kind;
	rr->meta.start = prev ? prev->wall : rr->start_wall;
	rr->meta.end = cur->wall;
	rr->meta.seconds = cur->mono_s - (prev ? prev->mono_s : rr->start_s);
	r = report_build(&win, &rr->meta, report_names_live(), &rr->explainer, &rep);
	report_snapshot_free(&win);
	if (r)
		return r;
	report_render(&rep, rr->fmt, stdout);
	report_free(&rep);
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_collect_opts co = {};
	struct report_run rr = { .fmt = REPORT_TEXT, .meta.top = 10 };
	struct report_snapshot last = {}, cur;
	bool have_last = false;
	double duration = 0, interval = 0, deadline = 0, next_report = 0;
	struct utsname un;
	char err[512] = "", *end;
	long long v;
	int opt, r, status = EXIT_OK;

	optind = 1;
	opterr = 0;	/* one line of our own instead of getopt's and the usage */
	while ((opt = getopt_long(argc, argv, ":vh", report_opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_DURATION:
			if (parse_seconds(optarg, "--duration", &duration))
				return EXIT_USAGE;
			break;
		case OPT_INTERVAL:
			if (parse_seconds(optarg, "--interval", &interval))
				return EXIT_USAGE;
			break;
		case OPT_TOP:
			errno = 0;
			v = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 10000) {
				fprintf(stderr, "pwhy report: bad --top '%s': a number from 1 to 10000 expected\n",
					optarg);
				return EXIT_USAGE;
			}
			rr.meta.top = v;
			break;
		case OPT_JSON:
		case OPT_MARKDOWN:
			if (rr.fmt != REPORT_TEXT) {
				fprintf(stderr, "pwhy report: --output-json and --output-markdown exclude each other\n");
				return EXIT_USAGE;
			}
			rr.fmt = opt == OPT_JSON ? REPORT_JSON : REPORT_MARKDOWN;
			break;
		case OPT_NETNS:
			if (parse_netns(optarg, &co.filter_netns))
				return EXIT_USAGE;
			break;
		case 'v':
		case OPT_VERBOSE:
			co.verbose = true;
			break;
		case ':':
			fprintf(stderr, "pwhy report: option '%s' needs a value (pwhy report --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "pwhy report: unknown option '%s' (pwhy report --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pwhy report: unexpected argument '%s' (report takes no filter expression)\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	if (check_root())
		return EXIT_RUNTIME;

	rr.meta.netns_filter = co.filter_netns;
	rr.meta.flow_table_size = REPORT_MAX_FLOWS;
	if (gethostname(rr.meta.host, sizeof(rr.meta.host) - 1))
		snprintf(rr.meta.host, sizeof(rr.meta.host), "?");
	if (uname(&un) == 0)
		snprintf(rr.meta.kernel, sizeof(rr.meta.kernel), "%s", un.release);
	rr.reason_no_socket = ~0u;
	if (pwhy_vmlinux_btf() && (v = btf_drop_reason_value(pwhy_vmlinux_btf(), "NO_SOCKET")) >= 0)
		rr.reason_no_socket = v;
	rr.explainer.host = hostinfo_live();
	rr.explainer.reason_no_socket = rr.reason_no_socket;
	rr.explainer.location = report_names_live()->location;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	r = report_collector_open(&co, &rr.col, err, sizeof(err));
	if (r) {
		fprintf(stderr, "pwhy: %s\n", err);
		return EXIT_RUNTIME;
	}
	rr.start_s = mono_now();
	rr.start_wall = time(NULL);
	fprintf(stderr, "pwhy: tracing with the tracepoint backend, 1 probe attached (drop counters); %s\n",
		duration ? "reporting at the end of --duration" : "Ctrl-C to stop and report");
	if (duration)
		deadline = rr.start_s + duration;
	if (interval)
		next_report = rr.start_s + interval;

	while (!stop_requested) {
		double now = mono_now(), wake = now + TICK_S;

		if (deadline && now >= deadline)
			break;
		if (interval && now >= next_report) {
			if (report_collector_read(rr.col, &cur) == 0) {
				if (emit(&rr, &cur, have_last ? &last : NULL, REPORT_INTERVAL))
					fprintf(stderr, "pwhy report: out of memory\n");
				if (have_last)
					report_snapshot_free(&last);
				last = cur;
				have_last = true;
			}
			next_report += interval;
		} else {
			tick(&rr);
		}
		if (deadline && wake > deadline)
			wake = deadline;
		if (interval && wake > next_report)
			wake = next_report;
		sleep_s(wake - mono_now());
	}

	r = report_collector_read(rr.col, &cur);
	if (r) {
		fprintf(stderr, "pwhy report: cannot read the counters: %s\n", strerror(-r));
		status = EXIT_RUNTIME;
	} else {
		if (emit(&rr, &cur, NULL, REPORT_TOTAL)) {
			fprintf(stderr, "pwhy report: out of memory\n");
			status = EXIT_RUNTIME;
		}
		report_snapshot_free(&cur);
	}
	if (co.verbose)
		fprintf(stderr, "pwhy report: %lu NO_SOCKET flows explained, %lu could not be\n",
			rr.explainer.explained, rr.explainer.failed);
	if (have_last)
		report_snapshot_free(&last);
	report_explainer_free(&rr.explainer);
	report_collector_close(rr.col);
	return status;
}
