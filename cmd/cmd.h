/* SPDX-License-Identifier: GPL-2.0 */
/* Subcommand entry points and the tracing flags they share. */
#ifndef PWHY_CMD_H
#define PWHY_CMD_H
#include <getopt.h>
#include "pwhy/session.h"

int cmd_trace(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_backends(int argc, char **argv);
int cmd_fix(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Exit codes shared by every subcommand */
enum {
	EXIT_OK = 0,
	EXIT_FINDING = 1,	/* run: a --fail-on finding occurred / an --expect one did not */
	EXIT_USAGE = 2,
	EXIT_RUNTIME = 3,	/* could not trace: permissions, kernel, BTF, ... */
};

/* Long options common to trace and run; values start at 256. */
extern const struct option common_long_opts[];
#define COMMON_OPTS_COUNT 25
#define COMMON_SHORT_OPTS "b:vhw:"
/* Returns 1 if handled, 0 if not a common option, -1 on a bad value (message printed). */
int common_opt(int opt, const char *arg, struct session_opts *o);
void common_defaults(struct session_opts *o);
void common_usage(FILE *f);
/* getopt said '?' or ':' (opterr = 0, optstring starting with ':'): one line naming the
 * option, then EXIT_USAGE. */
int option_error(const char *cmd, int opt, char **argv);
/* Join the remaining arguments into one pcap-filter expression (caller frees). */
char *join_filter(int argc, char **argv);
int check_root(void);
#endif
