/* SPDX-License-Identifier: GPL-2.0 */
/* A finding: why a packet went astray, the facts that prove it, and what to do. */
#ifndef PWHY_FINDING_H
#define PWHY_FINDING_H
#include <stdbool.h>
#include <linux/types.h>

enum finding_kind {
	FINDING_NO_SK = 0,	/* dropped: no socket matched */
	FINDING_VRF_SDIF,	/* no socket matched because the packet came through a VRF slave */
	FINDING_OIF_CHANGE,	/* the requested output interface was lost on reroute */
	FINDING_SRC_MAC_MISMATCH,	/* source address of one interface, MAC of another */
	FINDING_MAX,
};

#define FINDING_MAX_FACTS 32

struct fact {
	char key[24];
	char val[112];
	bool num;	/* JSON: emit without quotes */
};

struct finding {
	enum finding_kind kind;
	__u64 skb;
	char summary[512];
	char hint[512];
	struct fact facts[FINDING_MAX_FACTS];
	int nfacts;
};

const char *finding_kind_name(enum finding_kind k);	/* "no-sk", "vrf-sdif", ... */
int finding_kind_parse(const char *name);		/* -1 when unknown */
/* Parse "a,b,c" into a bit mask of kinds; "all" is every kind. -1 on an unknown name. */
long finding_kinds_parse(const char *list);

void finding_init(struct finding *f, enum finding_kind k, __u64 skb);
void finding_fact(struct finding *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void finding_fact_num(struct finding *f, const char *key, long long v);
const char *finding_get(const struct finding *f, const char *key);
#endif
