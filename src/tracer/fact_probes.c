// SPDX-License-Identifier: GPL-2.0
/* Fact probes: the tracepoints every backend loads (drops, egress, route lookups, syscall
 * exit), and the choice, before load, of which programs this kernel and backend take. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include "pwhy/btf_info.h"
#include "pwhy/ksyms.h"
#include "internal.h"

static const char *tracefs_event(const char *sec, char *buf, size_t len)
{
	static const char *const roots[] = { "/sys/kernel/tracing/events",
					     "/sys/kernel/debug/tracing/events" };

	for (size_t i = 0; i < 2; i++) {
		snprintf(buf, len, "%s/%s", roots[i], sec);
		if (access(buf, F_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Perf tracepoints (SEC("tracepoint/...")) need tracefs; many systems leave it unmounted. */
static void ensure_tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return;
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
}

/* skb tracking through copies that get a buffer of their own, and ends of skbs no tracepoint
 * sees: fentry/fexit on the fentry backend, kprobe/kretprobe on the kprobe backend; the
 * tracepoint backend finds clones by buffer only. */
static bool copy_probe_wanted(const struct tracer *t, const struct btf *btf, const char *sec)
{
	const char *fn = strchr(sec, '/');

	if (!t->track_skb || !fn)
		return false;
	fn++;
	if (t->backend == PWHY_BACKEND_FENTRY &&
	    (!strncmp(sec, "fexit/", 6) || !strncmp(sec, "fentry/", 7)))
		return btf_func_id(btf, fn) >= 0;
	if (t->backend == PWHY_BACKEND_KPROBE &&
	    (!strncmp(sec, "kprobe/", 7) || !strncmp(sec, "kretprobe/", 10)))
		return ksym_addr(fn) != 0;
	return false;
}

/* Before load: keep only the programs this kernel and backend can take. */
void select_programs(struct tracer *t, const struct btf *btf)
{
	struct bpf_program *p;
	char path[256];

	bpf_object__for_each_program(p, t->skel->obj) {
		const char *sec = bpf_program__section_name(p);
		const char *name = bpf_program__name(p);
		bool load = false;

		if (!strcmp(name, "pwhy_sys_exit")) {
			/* the end of a send where the kernel has no socket-layer tracepoint for it */
			load = btf_tracepoint_id(btf, "sock_send_length") < 0;
			if (load)
				note(t, "sends end at the %s (no %s tracepoint in this kernel)",
				     "syscall exit", "sock_send_length");
		} else if (!strncmp(sec, "tp_btf/", 7)) {
			load = btf_tracepoint_id(btf, sec + 7) >= 0;
			if (!load)
				note(t, "tracepoint %s not in this kernel, skipped%s", sec + 7, "");
		} else if (!strncmp(sec, "tracepoint/", 11)) {
			ensure_tracefs();
			load = tracefs_event(sec + 11, path, sizeof(path)) != NULL;
			if (!load)
				note(t, "tracepoint %s not available (tracefs?), skipped%s", sec + 11, "");
		} else if (!strncmp(name, "pwhy_trk_", 9)) {
			load = copy_probe_wanted(t, btf, sec);
		} else {
			/* path templates: skb position is the last character of the name */
			int pos = name[strlen(name) - 1] - '0';
			const char *target = NULL;

			/* the template is only ever cloned; any vmlinux function of its kind will do */
			for (size_t i = 0; i < t->funcs.n && !target; i++)
				if (t->funcs.v[i].skb_pos == pos && !t->funcs.v[i].module)
					target = t->funcs.v[i].name;
			for (size_t i = 0; i < t->funcs.n && !target; i++)
				if (t->funcs.v[i].skb_pos == pos)
					target = t->funcs.v[i].name;
			if (t->backend == PWHY_BACKEND_FENTRY && !strncmp(sec, "fentry", 6) && target) {
				load = true;
				bpf_program__set_attach_target(p, 0, target);
			} else if (t->backend == PWHY_BACKEND_KPROBE && target) {
				load = t->kprobe_multi ? !strcmp(sec, "kprobe.multi")
						       : !strcmp(sec, "kprobe");
			}
		}
		bpf_program__set_autoload(p, load);
	}
}

int attach_fact_probes(struct tracer *t, const struct btf *btf)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, t->skel->obj) {
		const char *sec = bpf_program__section_name(p);
		struct bpf_link *l;
		int fd, link;

		if (!bpf_program__autoload(p))
			continue;
		if (!strncmp(sec, "tp_btf/", 7) && has_filter(t)) {
			fd = clone_prog(t, p, BPF_TRACE_RAW_TP, btf_tracepoint_id(btf, sec + 7), sec);
			if (fd < 0)
				return fd;
			link = bpf_raw_tracepoint_open(NULL, fd);
			if (link < 0)
				return -errno;
			keep_fd(t, link);
			t->nattached++;
		} else if (!strncmp(sec, "tp_btf/", 7) || !strncmp(sec, "tracepoint/", 11) ||
			   !strncmp(bpf_program__name(p), "pwhy_trk_", 9)) {
			l = bpf_program__attach(p);
			if (!l)
				return -errno;
			if (t->nlinks == MAX_LINKS) {
				bpf_link__destroy(l);
				return -E2BIG;
			}
			t->links[t->nlinks++] = l;
			t->nattached++;
		}
	}
	return 0;
}
