// SPDX-License-Identifier: GPL-2.0
/* pwhy backends [--supported]: what this kernel lets pwhy load, probed for real. */
#include <stdio.h>
#include <string.h>
#include "cmd.h"

int cmd_backends(int argc, char **argv)
{
	const struct backend_caps *c;
	bool list = argc > 1 && !strcmp(argv[1], "--supported");

	if (argc > 1 && !list) {
		fprintf(stderr, "usage: pwhy backends [--supported]\n");
		return EXIT_USAGE;
	}
	if (check_root())
		return EXIT_RUNTIME;
	c = backend_probe();
	if (list) {
		/* richest first, the order `auto` prefers */
		printf("%s%s%s\n", c->fentry ? "fentry " : "",
		       c->kprobe || c->kprobe_multi ? "kprobe " : "", "tracepoint");
		return EXIT_OK;
	}
	printf("fentry       %s\n", c->fentry ? "yes" : strerror(-c->fentry_err));
	printf("kprobe.multi %s\n", c->kprobe_multi ? "yes" : strerror(-c->kprobe_multi_err));
	printf("kprobe       %s\n", c->kprobe ? "yes" : "no kprobe PMU");
	printf("tracepoint   yes\n");
	return EXIT_OK;
}
