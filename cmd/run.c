// SPDX-License-Identifier: GPL-2.0
/* pwhy run [flags] [filter] -- COMMAND [ARGS...]: trace while COMMAND runs, then let the exit
 * code say whether a finding occurred — for pipelines that verify kernel fixes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "cmd.h"

enum { OPT_FAIL_ON = 512, OPT_EXPECT, OPT_EXPECT_NONE, OPT_EVENTS };

static void usage(FILE *f)
{
	fputs("usage: pwhy run [flags] [pcap-filter expression] -- COMMAND [ARGS...]\n"
	      "Trace while COMMAND runs (it starts once tracing is ready), print the findings, and exit:\n"
	      "  default / --fail-on KINDS   1 when a finding of KINDS (default: all) occurred, else 0\n"
	      "  --expect KIND               0 only when a KIND finding occurred, else 1\n"
	      "  --expect-none KINDS         1 when a finding of KINDS occurred, else 0\n"
	      "  2 on a usage error, 3 when tracing could not start.\n"
	      "KINDS: comma-separated of no-sk, vrf-sdif, oif-change, src-mac-mismatch, all.\n"
	      "      --events           also print every event (like trace)\n\n", f);
	common_usage(f);
}

static long kinds_or_die(const char *arg)
{
	long m = finding_kinds_parse(arg);

	if (m < 0)
		fprintf(stderr, "pwhy: unknown finding kind in '%s' (no-sk, vrf-sdif, oif-change, src-mac-mismatch, all)\n", arg);
	return m;
}

int cmd_run(int argc, char **argv)
{
	static struct option opts[COMMON_OPTS_COUNT + 5];
	struct session_opts o;
	struct session_result res;
	long fail_mask = (1L << FINDING_MAX) - 1, expect_mask = 0, none_mask = 0, seen = 0;
	int opt, r, dashdash = -1;
	char *filter;

	memcpy(opts, common_long_opts, COMMON_OPTS_COUNT * sizeof(opts[0]));
	opts[COMMON_OPTS_COUNT + 0] = (struct option){ "fail-on", required_argument, NULL, OPT_FAIL_ON };
	opts[COMMON_OPTS_COUNT + 1] = (struct option){ "expect", required_argument, NULL, OPT_EXPECT };
	opts[COMMON_OPTS_COUNT + 2] = (struct option){ "expect-none", required_argument, NULL, OPT_EXPECT_NONE };
	opts[COMMON_OPTS_COUNT + 3] = (struct option){ "events", no_argument, NULL, OPT_EVENTS };

	common_defaults(&o);
	o.print_events = false;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	if (dashdash < 0 || dashdash == argc - 1) {
		fprintf(stderr, "pwhy run: missing '-- COMMAND' (pwhy run --help)\n");
		return EXIT_USAGE;
	}
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(dashdash, argv, "+:" COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_FAIL_ON:
			if ((fail_mask = kinds_or_die(optarg)) < 0)
				return EXIT_USAGE;
			break;
		case OPT_EXPECT:
			if ((expect_mask = kinds_or_die(optarg)) < 0)
				return EXIT_USAGE;
			break;
		case OPT_EXPECT_NONE:
			if ((none_mask = kinds_or_die(optarg)) < 0)
				return EXIT_USAGE;
			break;
		case OPT_EVENTS:
			o.print_events = true;
			break;
		default:
			r = common_opt(opt, optarg, &o);
			if (r <= 0)
				return r ? EXIT_USAGE : option_error("run", opt, argv);
		}
	}
	if (check_root())
		return EXIT_RUNTIME;
	filter = join_filter(dashdash - optind, argv + optind);
	o.tracer.filter = filter;
	o.command = argv + dashdash + 1;
	r = session_run(&o, &res);
	free(filter);
	if (r)
		return r == -EINVAL || r == -ENODEV ? EXIT_USAGE : EXIT_RUNTIME;
	for (int k = 0; k < FINDING_MAX; k++)
		if (res.findings[k])
			seen |= 1L << k;
	fprintf(stderr, "pwhy run: %s exited %d; findings:", o.command[0],
		WIFEXITED(res.child_status) ? WEXITSTATUS(res.child_status) : -1);
	for (int k = 0; k < FINDING_MAX; k++)
		if (res.findings[k])
			fprintf(stderr, " %s=%lu", finding_kind_name(k), res.findings[k]);
	fprintf(stderr, "%s\n", seen ? "" : " none");
	if (expect_mask)
		return (seen & expect_mask) == expect_mask ? EXIT_OK : EXIT_FINDING;
	if (none_mask)
		return seen & none_mask ? EXIT_FINDING : EXIT_OK;
	return seen & fail_mask ? EXIT_FINDING : EXIT_OK;
}
