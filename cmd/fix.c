// SPDX-License-Identifier: GPL-2.0
/* pwhy fix apply|status|remove: companion BPF programs that change the kernel's decision for
 * the kernel bugs pwhy finds, pinned so that they outlive the command. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "pwhy/fix.h"

enum { OPT_NETNS = 256, OPT_DEV, OPT_SRC, OPT_VRF, OPT_ADDR, OPT_PORT, OPT_TARGET,
       OPT_ROUTE_BACK, OPT_ALL };

static void usage(FILE *f)
{
	fputs("usage: pwhy fix apply KIND [scope options]\n"
	      "       pwhy fix status [--netns NS]\n"
	      "       pwhy fix remove KIND|--all [--netns NS]\n"
	      "\n"
	      "KIND:\n"
	      "  pktinfo-oif   tc egress: a packet whose source address belongs to another interface\n"
	      "                than the one it leaves (the IP_PKTINFO/IPV6_PKTINFO oif lost on reroute)\n"
	      "                is sent by the interface that owns the address\n"
	      "      --dev IF[,IF]      interfaces to act on (default: every up non-loopback one)\n"
	      "      --src PREFIX[,..]  only packets with these source addresses\n"
	      "  vrf-lookup    tc ingress on the slaves of a VRF: packets for local addresses of the\n"
	      "                main routing domain, in scope, reach unbound sockets (l3mdev_accept=0)\n"
	      "      --vrf DEV          the VRF (required)\n"
	      "      --addr A[,A]       destination addresses in scope   (--addr and/or --port\n"
	      "      --port P[,P]       destination ports, TCP and UDP     are required)\n"
	      "      --target DEV       where packets are handed over (default lo; not enslaved)\n"
	      "      --route-back       install main-table routes back to the slaves' networks\n"
	      "  tproxy-reply  not a kernel bug: explains the application change, applies nothing\n"
	      "\n"
	      "      --netns NS         the network namespace: `ip netns` name, /proc/PID/ns/net or\n"
	      "                         inode (default: our own)\n"
	      "  -v, --verbose          libbpf messages\n"
	      "\n"
	      "Fixes are pinned under /sys/fs/bpf/pwhy/<netns inode>/<kind>/ and stay until removed.\n"
	      "Exit: 0 done, 1 tproxy-reply (nothing to apply), 2 usage error, 3 runtime error.\n", f);
}

static const struct option opts[] = {
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "src", required_argument, NULL, OPT_SRC },
	{ "vrf", required_argument, NULL, OPT_VRF },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "route-back", no_argument, NULL, OPT_ROUTE_BACK },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int exit_code(int r)
{
	if (!r)
		return EXIT_OK;
	if (r == -EOPNOTSUPP)
		return EXIT_FINDING;
	return r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
}

int cmd_fix(int argc, char **argv)
{
	struct fix_opts o = { .kind = FIX_KIND_MAX };
	const char *verb, *kind = NULL;
	int opt;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	verb = argv[1];
	if (!strcmp(verb, "keep")) {	/* internal: the keeper started by apply */
		if (argc != 3)
			return EXIT_USAGE;
		return fix_keep(argv[2]) ? EXIT_RUNTIME : EXIT_OK;
	}
	if (strcmp(verb, "apply") && strcmp(verb, "status") && strcmp(verb, "remove")) {
		fprintf(stderr, "pwhy fix: unknown action '%s' (apply, status, remove)\n", verb);
		return EXIT_USAGE;
	}
	optind = 2;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_NETNS: o.netns = optarg; break;
		case OPT_DEV: o.devs = optarg; break;
		case OPT_SRC: o.src = optarg; break;
		case OPT_VRF: o.vrf = optarg; break;
		case OPT_ADDR: o.addrs = optarg; break;
		case OPT_PORT: o.ports = optarg; break;
		case OPT_TARGET: o.target = optarg; break;
		case OPT_ROUTE_BACK: o.route_back = true; break;
		case OPT_ALL: o.all = true; break;
		case 'v': o.verbose = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default:
			return option_error("fix", opt, argv);
		}
	}
	if (optind < argc)
		kind = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "pwhy fix: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (kind) {
		int k = fix_kind_parse(kind);

		if (k < 0) {
			fprintf(stderr, "pwhy fix: unknown kind '%s' (pktinfo-oif, vrf-lookup, tproxy-reply)\n",
				kind);
			return EXIT_USAGE;
		}
		o.kind = k;
	}
	if (!strcmp(verb, "status")) {
		if (kind || o.devs || o.src || o.vrf || o.addrs || o.ports || o.target ||
		    o.route_back || o.all) {
			fprintf(stderr, "pwhy fix: status takes only --netns\n");
			return EXIT_USAGE;
		}
		if (check_root())
			return EXIT_RUNTIME;
		return exit_code(fix_status(&o));
	}
	if (!strcmp(verb, "remove")) {
		if ((!kind && !o.all) || (kind && o.all)) {
			fprintf(stderr, "pwhy fix: remove needs a KIND or --all\n");
			return EXIT_USAGE;
		}
		if (o.devs || o.src || o.vrf || o.addrs || o.ports || o.target || o.route_back) {
			fprintf(stderr, "pwhy fix: remove takes only --netns\n");
			return EXIT_USAGE;
		}
		if (check_root())
			return EXIT_RUNTIME;
		return exit_code(fix_remove(&o));
	}
	if (!kind || o.all) {
		fprintf(stderr, "pwhy fix: apply needs a KIND (pktinfo-oif, vrf-lookup, tproxy-reply)\n");
		return EXIT_USAGE;
	}
	if (o.kind == FIX_TPROXY_REPLY)
		return exit_code(fix_apply(&o));
	if (check_root())
		return EXIT_RUNTIME;
	return exit_code(fix_apply(&o));
}
