// SPDX-License-Identifier: GPL-2.0
/* pwhy — packet, why? Global flags and the subcommand table; nothing else. */
#include <stdio.h>
#include <string.h>
#include "cmd.h"

#define PWHY_VERSION "0.1.0"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "trace", cmd_trace, "trace packets: function path per skb, drops, findings" },
	{ "backends", cmd_backends, "which backends this kernel accepts, and why not" },
	{ "run", cmd_run, "trace while a command runs; the exit code says whether a finding occurred" },
	{ "fix", cmd_fix, "apply, list, remove companion BPF programs that fix the kernel bugs pwhy finds" },
	{ "report", cmd_report, "count drops by reason, location, device and flow; explain NO_SOCKET" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: pwhy COMMAND [flags]   (pwhy COMMAND --help for its flags)\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("pwhy %s\n", PWHY_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "pwhy: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
