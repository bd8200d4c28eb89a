/* SPDX-License-Identifier: GPL-2.0 */
/* The findings: small functions from what the probes saw (+ host facts) to zero or more
 * findings. They never talk to the kernel themselves; hostinfo answers their questions. */
#ifndef PWHY_FINDINGS_H
#define PWHY_FINDINGS_H
#include <stdbool.h>
#include "pwhy/event.h"
#include "pwhy/finding.h"
#include "pwhy/hostinfo.h"

/* NO_SOCKET drop → no-sk or vrf-sdif finding. `where` is the symbolized drop location.
 * Returns 1 when *f was filled. */
int no_sk_explain(const struct pwhy_event *drop, const char *where, const struct hostinfo *h,
		  struct finding *f);

#define SEND_MAX_FIBS 24

/* Everything one send syscall produced */
struct send_record {
	__u64 send_id;
	__u32 netns;
	bool have_send, have_xmit, have_drop, done;
	struct pwhy_event send;		/* PWHY_EV_SEND: request; ifindex = sk_bound_dev_if */
	struct pwhy_event xmit;		/* first net_dev_queue of the send's skb */
	struct pwhy_event drop;		/* a drop of the send's skb, if any */
	struct pwhy_fib_facts fibs[SEND_MAX_FIBS];
	int nfibs;
	long long ret;
};

/* One route lookup: the run of fib table lookups with the same keys until a table answers */
struct route_lookup {
	int oif, iif;
	__u32 mark;
	__u8 scope, family;
	bool ok;
	int err;		/* last table's error when !ok */
	__u32 table;		/* table that answered, or the last one tried */
	int nh_ifindex;
	char nh_ifname[16];
	__u8 daddr[16], saddr[16], gw[16];
	char tables[64];	/* "255,254" */
};

int send_route_lookups(const struct send_record *r, struct route_lookup *out, int max);

/* oif-change (and src-mac-mismatch) on a finished send. Returns the number of findings
 * written to out (0..2). */
int oif_change_check(const struct send_record *r, const struct hostinfo *h,
		     struct finding out[2]);

const char *oif_origin_name(int origin);
#endif
