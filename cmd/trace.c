// SPDX-License-Identifier: GPL-2.0
/* pwhy trace [flags] [pcap-filter expression] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "cmd.h"

static void usage(FILE *f)
{
	fputs("usage: pwhy trace [flags] [pcap-filter expression]\n"
	      "Print every event of the packets that match the filter (function path per skb),\n"
	      "with a finding line when pwhy can say why a packet went astray.\n\n", f);
	common_usage(f);
}

int cmd_trace(int argc, char **argv)
{
	struct session_opts o;
	struct session_result res;
	char *filter;
	int opt, r;

	common_defaults(&o);
	optind = 1;
	opterr = 0;	/* one line of our own instead of getopt's and the usage */
	while ((opt = getopt_long(argc, argv, "+:" COMMON_SHORT_OPTS, common_long_opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		r = common_opt(opt, optarg, &o);
		if (r <= 0)
			return r ? EXIT_USAGE : option_error("trace", opt, argv);
	}
	if (check_root())
		return EXIT_RUNTIME;
	filter = join_filter(argc - optind, argv + optind);
	o.tracer.filter = filter;
	r = session_run(&o, &res);
	free(filter);
	return r ? (r == -EINVAL || r == -ENODEV ? EXIT_USAGE : EXIT_RUNTIME) : EXIT_OK;
}
