/* SPDX-License-Identifier: GPL-2.0 */
/* Output: one line per event and per finding, as text or JSON lines. */
#ifndef PWHY_RENDER_H
#define PWHY_RENDER_H
#include <stdbool.h>
#include <stdio.h>
#include "pwhy/event.h"
#include "pwhy/finding.h"

struct btf;

struct render {
	FILE *out;
	bool json;
	bool timestamp;
	bool header_done;
	const struct btf *btf;		/* drop reason names */
	const char *(*func_name)(__u64 ip);
};

/* The probe's display name: a function, "net_dev_queue", ... */
const char *render_probe_name(const struct render *r, const struct pwhy_event *ev, char *buf,
			      size_t len);
/* "NO_SOCKET", or the number when this kernel's BTF does not name it */
const char *render_drop_reason(const struct render *r, __u32 reason, char *buf, size_t len);
void render_event(struct render *r, const struct pwhy_event *ev);
void render_finding(struct render *r, const struct finding *f);
/* A free-form explanation line ("route" records etc.): text as is, JSON as {"kind":..,"text":..} */
void render_note(struct render *r, const char *kind, const char *text);
#endif
