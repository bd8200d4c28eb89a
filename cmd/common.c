// SPDX-License-Identifier: GPL-2.0
/* Flags shared by `trace` and `run`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cmd.h"

enum {
	OPT_BACKEND = 256, OPT_TIMEOUT, OPT_JSON, OPT_FILTER_FUNC, OPT_ALL, OPT_NETNS, OPT_MARK,
	OPT_IFNAME, OPT_NO_TRACK, OPT_EXPLAIN, OPT_RINGBUF, OPT_TIMESTAMP, OPT_OUTFILE,
	OPT_VERBOSE, OPT_FINDINGS_ONLY, OPT_HELP, OPT_WRITE, OPT_PCAP_ONCE,
	OPT_OUT_STACK, OPT_OUT_CALLER, OPT_OUT_SKB, OPT_OUT_TCP_FLAGS, OPT_OUT_LIMIT,
	OPT_LIST_FUNCS, OPT_KMODS,
};

const struct option common_long_opts[COMMON_OPTS_COUNT + 1] = {
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "output-json", no_argument, NULL, OPT_JSON },
	{ "filter-func", required_argument, NULL, OPT_FILTER_FUNC },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "filter-netns", required_argument, NULL, OPT_NETNS },
	{ "filter-mark", required_argument, NULL, OPT_MARK },
	{ "filter-ifname", required_argument, NULL, OPT_IFNAME },
	{ "no-track", no_argument, NULL, OPT_NO_TRACK },
	{ "explain-route", no_argument, NULL, OPT_EXPLAIN },
	{ "ringbuf-kb", required_argument, NULL, OPT_RINGBUF },
	{ "timestamp", no_argument, NULL, OPT_TIMESTAMP },
	{ "output-file", required_argument, NULL, OPT_OUTFILE },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "findings-only", no_argument, NULL, OPT_FINDINGS_ONLY },
	{ "write", required_argument, NULL, OPT_WRITE },
	{ "pcap-once", no_argument, NULL, OPT_PCAP_ONCE },
	{ "list-funcs", no_argument, NULL, OPT_LIST_FUNCS },
	{ "kmods", no_argument, NULL, OPT_KMODS },
	{ "help", no_argument, NULL, 'h' },
	{ "output-stack", no_argument, NULL, OPT_OUT_STACK },
	{ "output-caller", no_argument, NULL, OPT_OUT_CALLER },
	{ "output-skb", no_argument, NULL, OPT_OUT_SKB },
	{ "output-tcp-flags", no_argument, NULL, OPT_OUT_TCP_FLAGS },
	{ "output-limit-lines", required_argument, NULL, OPT_OUT_LIMIT },
	{ 0 },
};

void common_defaults(struct session_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tracer.track_skb = true;
	o->tracer.path_events = true;
	o->print_events = true;
}

static int parse_netns(const char *arg, __u32 *ino)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 0);
	struct stat st;
	char path[256];

	if (*arg && !*end) {
		*ino = v;
		return 0;
	}
	/* a path (/proc/PID/ns/net) or an `ip netns` name */
	snprintf(path, sizeof(path), strchr(arg, '/') ? "%s" : "/run/netns/%s", arg);
	if (stat(path, &st))
		return -errno;
	*ino = st.st_ino;
	return 0;
}

int common_opt(int opt, const char *arg, struct session_opts *o)
{
	char *end;

	switch (opt) {
	case OPT_BACKEND:
	case 'b':
		if (backend_parse(arg, &o->tracer.backend)) {
			fprintf(stderr, "pwhy: unknown backend '%s' (fentry, kprobe, tracepoint, auto)\n", arg);
			return -1;
		}
		return 1;
	case OPT_TIMEOUT:
		o->timeout_s = strtod(arg, &end);
		if (*end || o->timeout_s < 0) {
			fprintf(stderr, "pwhy: bad --timeout '%s': seconds expected\n", arg);
			return -1;
		}
		return 1;
	case OPT_JSON: o->json = true; return 1;
	case OPT_FILTER_FUNC: o->tracer.filter_func = arg; return 1;
	case OPT_ALL: o->tracer.all_funcs = true; return 1;
	case OPT_LIST_FUNCS: o->list_funcs = true; return 1;
	case OPT_KMODS: o->tracer.kmods = true; return 1;
	case OPT_NETNS:
		if (parse_netns(arg, &o->tracer.filter_netns)) {
			fprintf(stderr, "pwhy: no such network namespace '%s'\n", arg);
			return -1;
		}
		return 1;
	case OPT_MARK:
		o->tracer.filter_mark = strtoul(arg, &end, 0);
		o->tracer.filter_mark_mask = ~0u;
		if (*end == '/')
			o->tracer.filter_mark_mask = strtoul(end + 1, &end, 0);
		if (*end) {
			fprintf(stderr, "pwhy: bad --filter-mark '%s': MARK[/MASK] expected\n", arg);
			return -1;
		}
		o->tracer.filter_mark &= o->tracer.filter_mark_mask;
		return 1;
	case OPT_IFNAME: o->tracer.filter_ifname = arg; return 1;
	case OPT_NO_TRACK: o->tracer.track_skb = false; return 1;
	case OPT_EXPLAIN:
		o->explain_route = true;
		o->tracer.explain_route = true;
		return 1;
	case OPT_RINGBUF:
		o->tracer.ringbuf_kb = strtoul(arg, &end, 0);
		/* a power of two number of pages */
		if (*end || o->tracer.ringbuf_kb < 4 ||
		    (o->tracer.ringbuf_kb & (o->tracer.ringbuf_kb - 1))) {
			fprintf(stderr, "pwhy: bad --ringbuf-kb '%s': a power of two >= 4 expected\n", arg);
			return -1;
		}
		return 1;
	case OPT_TIMESTAMP: o->timestamp = true; return 1;
	case OPT_OUTFILE: o->output_file = arg; return 1;
	case 'v':
	case OPT_VERBOSE: o->tracer.verbose = true; return 1;
	case OPT_FINDINGS_ONLY: o->print_events = false; return 1;
	case 'w':
	case OPT_WRITE:
		o->pcap_file = arg;
		o->tracer.copy_pkt = true;
		return 1;
	case OPT_PCAP_ONCE: o->pcap_once = true; return 1;
	case OPT_OUT_STACK: o->tracer.output_stack = true; return 1;
	case OPT_OUT_CALLER: o->tracer.output_caller = true; return 1;
	case OPT_OUT_SKB: o->tracer.output_skb = true; return 1;
	case OPT_OUT_TCP_FLAGS: o->output_tcp_flags = true; return 1;
	case OPT_OUT_LIMIT:
		o->limit_lines = strtoul(arg, &end, 0);
		if (*end || !*arg || !o->limit_lines || *arg == '-') {
			fprintf(stderr, "pwhy: bad --output-limit-lines '%s': a positive number expected\n", arg);
			return -1;
		}
		return 1;
	default:
		return 0;
	}
}

void common_usage(FILE *f)
{
	fputs("  -b, --backend B        fentry | kprobe | tracepoint | auto (default: the richest this kernel allows)\n"
	      "      --timeout S        stop after S seconds\n"
	      "      --output-json      one JSON object per line (events and findings)\n"
	      "      --output-file F    write output to F\n"
	      "  -w, --write FILE       also write the traced packets to FILE as pcap-ng, one per event,\n"
	      "                         with probe, skb, netns, device and findings in the comment\n"
	      "      --pcap-once        with -w: one packet per skb (its first event)\n"
	      "      --timestamp        prefix event lines with the kernel timestamp (ns)\n"
	      "      --output-tcp-flags show TCP flags after the tuple ([S.] as tcpdump)\n"
	      "      --output-caller    show the caller of the probed function\n"
	      "      --output-stack     print the kernel stack after each event\n"
	      "      --output-skb       print the skb (BTF) after each event\n"
	      "      --output-limit-lines N  stop after N event lines\n"
	      "      --findings-only    print findings, not every event\n"
	      "      --explain-route    explain every route lookup of traced sends (keys, table, result)\n"
	      "      --filter-func RE   attach path probes to functions taking an skb whose name matches RE\n"
	      "      --all              attach path probes to every function taking an skb\n"
	      "      --kmods            with --all/--filter-func: loaded modules' functions too\n"
	      "      --list-funcs       print the functions path probes would attach to, and exit\n"
	      "      --filter-netns NS  only skbs in this netns (inode, /proc/PID/ns/net, or `ip netns` name)\n"
	      "      --filter-mark M[/MASK]  only skbs with this mark\n"
	      "      --filter-ifname IF only skbs on this interface (of --filter-netns, else of pwhy's netns)\n"
	      "      --no-track         do not follow an skb once it matched the filter\n"
	      "      --ringbuf-kb N     ring buffer size in KiB (power of two, default 8192)\n"
	      "  -v, --verbose          attach notes, verifier logs; events/s and losses once a second\n"
	      "  -h, --help             this help\n", f);
}

char *join_filter(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int check_root(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "pwhy: must run as root (loading BPF programs needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN)\n");
		return -EPERM;
	}
	return 0;
}

int option_error(const char *cmd, int opt, char **argv)
{
	const char *what = argv[optind - 1];
	char shortopt[3] = { '-', (char)optopt, 0 };

	/* a long option is argv[optind - 1] itself; a short one may sit inside a cluster */
	if (strncmp(what, "--", 2) && optopt > ' ' && optopt < 127)
		what = shortopt;
	if (opt == ':')
		fprintf(stderr, "pwhy %s: option '%s' needs a value (pwhy %s --help)\n", cmd, what, cmd);
	else
		fprintf(stderr, "pwhy %s: unknown option '%s' (pwhy %s --help)\n", cmd, what, cmd);
	return EXIT_USAGE;
}
