// SPDX-License-Identifier: GPL-2.0
/* pwhy fix: apply, status, remove, and the keeper.
 *
 * A fix lives in FIX_BASE/<netns inode>/<kind>/ (bpffs, mode 0700):
 *   prog     the tc program (the legacy tc filter holds it too)
 *   <maps>   the program's maps (libbpf pin paths, reused when applying again)
 *   qdiscs   clsact qdiscs the fix had to create (removed with it when left empty)
 *   meta     a two-slot array: [0] what, where, scope, since when, keeper pid (written by
 *            apply); [1] the keeper's own state (syncs, last error)
 * bpffs holds only BPF objects, hence the metadata in a map.
 *
 * Applying is idempotent: the program is reloaded with the maps reused and atomically replaces
 * the filter, the keeper is restarted, and "since" stays when the scope is the same. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pwhy/fix.h"

const struct fix_kind_ops *fix_ops(enum fix_kind k)
{
	switch (k) {
	case FIX_PKTINFO_OIF: return &fix_oif_ops;
	case FIX_VRF_LOOKUP: return &fix_vrf_ops;
	default: return NULL;
	}
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static void state_init(struct fix_state *st, enum fix_kind k)
{
	memset(st, 0, sizeof(*st));
	st->kind = k;
	st->prog_fd = -1;
	st->qdisc_fd = -1;
	st->hook = fix_ops(k)->hook;
	for (size_t i = 0; i < sizeof(st->fds) / sizeof(st->fds[0]); i++)
		st->fds[i] = -1;
}

static void state_close(struct fix_state *st)
{
	if (st->prog_fd >= 0 && !st->skel)
		close(st->prog_fd);
	if (st->skel)
		fix_ops(st->kind)->unload(st);
	if (st->qdisc_fd >= 0)
		close(st->qdisc_fd);
	for (size_t i = 0; i < sizeof(st->fds) / sizeof(st->fds[0]); i++)
		if (st->fds[i] >= 0)
			close(st->fds[i]);
	st->prog_fd = st->qdisc_fd = -1;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Open what the sync needs from the pins (the program only when pinned). */
static int open_pins(struct fix_state *st)
{
	const struct fix_kind_ops *ops = fix_ops(st->kind);
	char path[320];
	int r;

	st->qdisc_fd = fix_pinned_map(st->dir, "qdiscs", BPF_MAP_TYPE_HASH, 4, 4, 1024, 0);
	if (st->qdisc_fd < 0)
		return st->qdisc_fd;
	for (int i = 0; i < 8 && ops->maps[i]; i++) {
		r = fix_open_pin(st, i, ops->maps[i]);
		if (r)
			return r;
	}
	if (st->prog_fd < 0) {
		snprintf(path, sizeof(path), "%s/prog", st->dir);
		st->prog_fd = bpf_obj_get(path);
		if (st->prog_fd < 0)
			return -errno;
	}
	st->prog_id = prog_id(st->prog_fd);
	return 0;
}

static bool dir_exists(const char *dir)
{
	struct stat sb;

	return !stat(dir, &sb) && S_ISDIR(sb.st_mode);
}

/* ------------------------------------------------------------------------------- remove */

/* Undo one fix: stop its keeper, detach its filters, let the kind undo its host changes,
 * unpin everything. Works on stale fixes too (namespace or devices gone). */
static int remove_dir(const char *dir, enum fix_kind k, bool say)
{
	char meta[FIX_META_LEN] = "", buf[300], path[320];
	const struct fix_kind_ops *ops = fix_ops(k);
	struct fix_state st;
	struct fix_ns ns;
	__u32 ino;
	int saved, pid;

	fix_meta_read(dir, 0, meta, sizeof(meta));
	pid = atoi(fix_meta_get(meta, "keeper_pid", buf, sizeof(buf)));
	fix_keeper_stop(pid, dir);
	ino = strtoul(fix_meta_get(meta, "netns_ino", buf, sizeof(buf)), NULL, 10);
	if (!ino)	/* no metadata: the directory name says */
		sscanf(dir, FIX_BASE "/%u/", &ino);
	state_init(&st, k);
	snprintf(st.dir, sizeof(st.dir), "%s", dir);
	if (!fix_ns_find(ino, strtoull(fix_meta_get(meta, "netns_cookie", buf, sizeof(buf)), NULL, 10),
			 fix_meta_get(meta, "netns_path", path, sizeof(path)), &ns)) {
		if (!fix_ns_enter(&ns, &saved)) {
			struct fix_net n;

			for (int i = 0; i < 8 && ops->maps[i]; i++)
				fix_open_pin(&st, i, ops->maps[i]);
			snprintf(path, sizeof(path), "%s/qdiscs", dir);
			st.qdisc_fd = bpf_obj_get(path);
			if (!fix_net_dump(&n, FIX_DUMP_LINKS)) {
				for (int i = 0; i < n.nlinks; i++) {
					__u32 id = fix_tc_query(n.links[i].ifindex, ops->hook);
					struct bpf_prog_info info = {};
					__u32 len = sizeof(info);
					int fd;

					if (!id)
						continue;
					/* only a program of ours sits at our handle; check anyway */
					fd = bpf_prog_get_fd_by_id(id);
					if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
					    !strncmp(info.name, PWHY_FIX_PROG_PREFIX,
						     strlen(PWHY_FIX_PROG_PREFIX)))
						fix_tc_detach(n.links[i].ifindex, ops->hook, st.qdisc_fd);
					if (fd >= 0)
						close(fd);
				}
				fix_net_free(&n);
			}
			ops->cleanup(&st, meta);
			fix_ns_leave(saved);
		}
		fix_ns_close(&ns);
	}
	state_close(&st);
	if (fix_unpin_dir(dir)) {
		fprintf(stderr, "pwhy fix: cannot unpin %s: %s\n", dir, strerror(errno));
		return -EIO;
	}
	if (say)
		printf("pwhy fix: removed %s from netns %s (inode %u)\n", fix_kind_name(k),
		       *fix_meta_get(meta, "netns_label", buf, sizeof(buf)) ? buf : "(unnamed)", ino);
	return 0;
}

/* Which namespace inode the user means by --netns for status/remove: a live one, an inode
 * number, or the label a fix recorded (the name of a namespace deleted since). */
static int resolve_ino(const char *arg, __u32 *ino)
{
	struct fix_ns ns;
	struct dirent *de, *ke;
	char dir[300], meta[FIX_META_LEN], buf[300];
	DIR *d, *kd;

	if (!fix_ns_open(arg, &ns)) {
		*ino = ns.ino;
		fix_ns_close(&ns);
		return 0;
	}
	if (!arg)
		return -ENOENT;
	if (strspn(arg, "0123456789") == strlen(arg)) {
		*ino = strtoul(arg, NULL, 10);
		return 0;
	}
	d = opendir(FIX_BASE);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), FIX_BASE "/%s", de->d_name);
		kd = opendir(dir);
		while (kd && (ke = readdir(kd))) {
			char kdir[600];

			if (ke->d_name[0] == '.')
				continue;
			snprintf(kdir, sizeof(kdir), "%s/%s", dir, ke->d_name);
			if (!fix_meta_read(kdir, 0, meta, sizeof(meta)) &&
			    !strcmp(fix_meta_get(meta, "netns_label", buf, sizeof(buf)), arg)) {
				*ino = strtoul(de->d_name, NULL, 10);
				closedir(kd);
				closedir(d);
				return 0;
			}
		}
		if (kd)
			closedir(kd);
	}
	if (d)
		closedir(d);
	return -ENOENT;
}

/* Calls fn for every fix directory, optionally only one inode / one kind. */
static int for_each_fix(__u32 only_ino, int only_kind,
			int (*fn)(const char *dir, __u32 ino, enum fix_kind k, void *arg), void *arg)
{
	struct dirent *de, *ke;
	char dir[300], kdir[600];
	DIR *d, *kd;
	int count = 0, r;

	d = opendir(FIX_BASE);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		__u32 ino;

		if (de->d_name[0] == '.')
			continue;
		ino = strtoul(de->d_name, NULL, 10);
		if (only_ino && ino != only_ino)
			continue;
		snprintf(dir, sizeof(dir), FIX_BASE "/%s", de->d_name);
		kd = opendir(dir);
		while (kd && (ke = readdir(kd))) {
			int k = fix_kind_parse(ke->d_name);

			if (ke->d_name[0] == '.' || k < 0 || !fix_ops(k))
				continue;
			if (only_kind >= 0 && k != only_kind)
				continue;
			snprintf(kdir, sizeof(kdir), "%s/%s", dir, ke->d_name);
			r = fn(kdir, ino, k, arg);
			if (r < 0) {
				closedir(kd);
				closedir(d);
				return r;
			}
			count++;
		}
		if (kd)
			closedir(kd);
		/* an inode directory without fixes (left by an interrupted apply) */
		rmdir(dir);
	}
	closedir(d);
	return count;
}

static int remove_cb(const char *dir, __u32 ino, enum fix_kind k, void *arg)
{
	return remove_dir(dir, k, true);
}

int fix_remove(const struct fix_opts *o)
{
	__u32 ino = 0;
	int r;

	if (!o->verbose)
		libbpf_set_print(silent_print);
	if (o->kind == FIX_TPROXY_REPLY) {
		printf("pwhy fix: tproxy-reply is never applied: nothing to remove\n");
		return 0;
	}
	if (fix_bpffs_ready()) {
		fprintf(stderr, "pwhy fix: no bpffs at " FIX_BPFFS ": %s\n", strerror(errno));
		return -EIO;
	}
	if ((!o->all || o->netns) && resolve_ino(o->netns, &ino)) {
		fprintf(stderr, "pwhy fix: no such network namespace '%s', and no fix recorded for it\n",
			o->netns ? o->netns : "(own)");
		return -EINVAL;
	}
	r = for_each_fix(ino, o->all ? -1 : (int)o->kind, remove_cb, NULL);
	if (r < 0)
		return r;
	if (r == 0)
		printf("pwhy fix: nothing to remove%s%s\n", o->all ? "" : ": ",
		       o->all ? "" : fix_kind_name(o->kind));
	return 0;
}

/* ------------------------------------------------------------------------------- status */

static void print_time(const char *label, time_t t)
{
	char buf[64];
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s %s (%lds ago)", label, buf, (long)(time(NULL) - t));
}

static int status_cb(const char *dir, __u32 ino, enum fix_kind k, void *arg)
{
	const struct fix_kind_ops *ops = fix_ops(k);
	char meta[FIX_META_LEN] = "", kmeta[FIX_META_LEN] = "", buf[FIX_META_LEN], path[320];
	char devs[1024] = "";
	struct fix_ns ns;
	bool ns_alive, keeper;
	int pid, saved, attached = 0, fd, ncpu;
	__u32 pinned_id = 0;

	fix_meta_read(dir, 0, meta, sizeof(meta));
	fix_meta_read(dir, 1, kmeta, sizeof(kmeta));
	pid = atoi(fix_meta_get(meta, "keeper_pid", buf, sizeof(buf)));
	keeper = fix_keeper_alive(pid, dir);
	snprintf(path, sizeof(path), "%s/prog", dir);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		pinned_id = prog_id(fd);
		close(fd);
	}
	ns_alive = !fix_ns_find(ino, strtoull(fix_meta_get(meta, "netns_cookie", buf, sizeof(buf)),
					      NULL, 10),
				fix_meta_get(meta, "netns_path", path, sizeof(path)), &ns);
	if (ns_alive && !fix_ns_enter(&ns, &saved)) {
		struct fix_net n;

		if (!fix_net_dump(&n, FIX_DUMP_LINKS)) {
			size_t off = 0;

			for (int i = 0; i < n.nlinks; i++) {
				__u32 id = fix_tc_query(n.links[i].ifindex, ops->hook);

				if (!id)
					continue;
				attached++;
				off += snprintf(devs + off, sizeof(devs) - off, "%s%s%s",
						off ? "," : "", n.links[i].name,
						id == pinned_id ? "" : "(other program!)");
				if (off >= sizeof(devs))
					off = sizeof(devs) - 1;
			}
			fix_net_free(&n);
		}
		fix_ns_leave(saved);
	}
	if (ns_alive)
		fix_ns_close(&ns);

	printf("%s  netns %s (inode %u)  ", fix_kind_name(k),
	       *fix_meta_get(meta, "netns_label", buf, sizeof(buf)) ? buf : "(unnamed)", ino);
	if (!ns_alive)
		printf("STALE: the network namespace is gone; `pwhy fix remove %s --netns %u` cleans up\n",
		       fix_kind_name(k), ino);
	else if (!attached)
		printf("STALE: attached to no interface (devices gone?); apply again or remove\n");
	else if (!keeper)
		printf("DEGRADED: the keeper is not running (maps no longer follow changes); apply again\n");
	else
		printf("active\n");
	printf("  ");
	print_time("since", atol(fix_meta_get(meta, "since", buf, sizeof(buf))));
	printf("  ");
	print_time("last applied", atol(fix_meta_get(meta, "applied", buf, sizeof(buf))));
	printf("\n  attached (%s): %s\n", ops->hook == FIX_HOOK_INGRESS ? "tc ingress" : "tc egress",
	       attached ? devs : "nowhere");
	if (k == FIX_PKTINFO_OIF) {
		printf("  scope: devices %s", *fix_meta_get(meta, "devs", buf, sizeof(buf)) ? buf :
		       "all up non-loopback");
		printf(", sources %s\n", *fix_meta_get(meta, "src", buf, sizeof(buf)) ? buf : "any");
	} else {
		printf("  scope: vrf %s", fix_meta_get(meta, "vrf", buf, sizeof(buf)));
		printf(", addresses %s", *fix_meta_get(meta, "addrs", buf, sizeof(buf)) ? buf : "any local");
		printf(", ports %s", *fix_meta_get(meta, "ports", buf, sizeof(buf)) ? buf : "any");
		printf(", target %s\n", fix_meta_get(meta, "target", buf, sizeof(buf)));
		if (*fix_meta_get(meta, "route_back", buf, sizeof(buf)))
			printf("  routes back installed: %s\n", buf);
	}
	printf("  keeper: pid %d %s", pid, keeper ? "running" : "not running");
	if (*fix_meta_get(kmeta, "syncs", buf, sizeof(buf))) {
		printf(", %s syncs", buf);
		printf(", last %lds ago", (long)(time(NULL) - atol(fix_meta_get(kmeta, "last_sync", buf, sizeof(buf)))));
	}
	if (*fix_meta_get(kmeta, "note", buf, sizeof(buf)))
		printf(", note: %s", buf);
	printf("\n");
	/* counters */
	snprintf(path, sizeof(path), "%s/stats", dir);
	fd = bpf_obj_get(path);
	ncpu = libbpf_num_possible_cpus();
	if (fd >= 0 && ncpu > 0) {
		__u64 *v = calloc(ncpu, sizeof(*v));
		bool first = true;

		printf("  counters:");
		for (__u32 c = 0; v && c < FIX_CNT_MAX; c++) {
			__u64 sum = 0;

			if (!ops->counter_names[c] || bpf_map_lookup_elem(fd, &c, v))
				continue;
			for (int i = 0; i < ncpu; i++)
				sum += v[i];
			printf("%s %s %llu", first ? "" : ",", ops->counter_names[c],
			       (unsigned long long)sum);
			first = false;
		}
		printf("\n");
		free(v);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

int fix_status(const struct fix_opts *o)
{
	__u32 ino = 0;
	int r;

	if (!o->verbose)
		libbpf_set_print(silent_print);
	if (fix_bpffs_ready()) {
		fprintf(stderr, "pwhy fix: no bpffs at " FIX_BPFFS ": %s\n", strerror(errno));
		return -EIO;
	}
	if (o->netns && resolve_ino(o->netns, &ino)) {
		fprintf(stderr, "pwhy fix: no such network namespace '%s'\n", o->netns);
		return -EINVAL;
	}
	r = for_each_fix(ino, -1, status_cb, NULL);
	if (r == 0)
		printf("no fixes applied\n");
	return r < 0 ? r : 0;
}

/* -------------------------------------------------------------------------------- apply */

static void explain_tproxy(void)
{
	printf("pwhy fix: tproxy-reply (seed 001) is not a kernel bug: the kernel behaves as documented.\n"
	       "A reply to a client that was redirected by TPROXY must come from the original destination, and\n"
	       "only an IP_TRANSPARENT socket may send from an address that is not local. The application must:\n"
	       "  - read the original destination of each datagram with IP_RECVORIGDSTADDR (IPV6_RECVORIGDSTADDR),\n"
	       "  - reply from a socket with IP_TRANSPARENT (IPV6_TRANSPARENT) bound to that address and port\n"
	       "    (needs CAP_NET_ADMIN or CAP_NET_RAW).\n"
	       "A reply from a plain socket reaches the client with the wrong source and is dropped (no-sk).\n"
	       "Nothing was applied.\n");
}

/* the scope lines of a metadata text, in a fixed order */
static void scope_sig(const char *meta, char *out, size_t len)
{
	static const char *const keys[] = { "devs", "src", "vrf", "target", "addrs", "ports" };
	char v[FIX_META_LEN];
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && off < len; i++)
		off += snprintf(out + off, len - off, "%s=%s\n", keys[i],
				fix_meta_get(meta, keys[i], v, sizeof(v)));
}

static int apply_in_ns(const struct fix_opts *o, struct fix_state *st, const struct fix_ns *ns,
		       const char *old_meta, bool existed)
{
	const struct fix_kind_ops *ops = fix_ops(o->kind);
	char meta[FIX_META_LEN], scope[FIX_META_LEN], buf[FIX_META_LEN], old_scope[FIX_META_LEN];
	char path[320];
	struct fix_net n;
	time_t now = time(NULL), since = now;
	int r, pid;
	size_t off;

	r = fix_net_dump(&n, FIX_DUMP_LINKS);
	if (r) {
		fprintf(stderr, "pwhy fix: cannot list the interfaces: %s\n", strerror(-r));
		return r;
	}
	r = ops->check(o, &n, scope, sizeof(scope));
	fix_net_free(&n);
	if (r)
		return r;
	r = fix_mkdirs(ns->ino, o->kind);
	if (r) {
		fprintf(stderr, "pwhy fix: cannot create %s: %s\n", st->dir, strerror(-r));
		return r;
	}
	r = ops->load(st, scope);
	if (r) {
		fprintf(stderr, "pwhy fix: cannot load the %s program: %s%s\n", fix_kind_name(o->kind),
			strerror(-r), existed ? " (maps of an older pwhy? `pwhy fix remove` it first)" : "");
		return r;
	}
	r = open_pins(st);
	if (r) {
		fprintf(stderr, "pwhy fix: cannot open the pinned maps in %s: %s\n", st->dir, strerror(-r));
		return r;
	}
	r = ops->sync(st, scope);
	if (r) {
		fprintf(stderr, "pwhy fix: %s\n", st->note[0] ? st->note : strerror(-r));
		return r;
	}
	if (st->note[0])
		fprintf(stderr, "pwhy fix: note: %s\n", st->note);
	snprintf(path, sizeof(path), "%s/prog", st->dir);
	unlink(path);
	if (bpf_obj_pin(st->prog_fd, path)) {
		r = -errno;
		fprintf(stderr, "pwhy fix: cannot pin the program at %s: %s\n", path, strerror(-r));
		return r;
	}
	/* keep "since" when the same scope is applied again */
	if (existed) {
		scope_sig(old_meta, old_scope, sizeof(old_scope));
		scope_sig(scope, buf, sizeof(buf));
		if (!strcmp(buf, old_scope) && atol(fix_meta_get(old_meta, "since", buf, sizeof(buf))))
			since = atol(buf);
	}
	off = snprintf(meta, sizeof(meta),
		       "kind=%s\nnetns_ino=%u\nnetns_cookie=%llu\nnetns_path=%s\nnetns_label=%s\n%s",
		       fix_kind_name(o->kind), ns->ino, (unsigned long long)ns->cookie, ns->path,
		       ns->label, scope);
	if (existed && o->kind == FIX_VRF_LOOKUP) {
		/* routes installed by an earlier apply stay ours */
		off += snprintf(meta + off, sizeof(meta) - off, "route_back_old=%s\n",
				fix_meta_get(old_meta, "route_back", buf, sizeof(buf)));
	}
	r = ops->after(st, o, meta, sizeof(meta));
	if (r)
		return r;
	if (existed && o->kind == FIX_VRF_LOOKUP) {
		/* merge: routes this apply installed plus those of earlier applies */
		char nw[FIX_META_LEN], old[FIX_META_LEN], *p;

		fix_meta_get(meta, "route_back", nw, sizeof(nw));
		fix_meta_get(meta, "route_back_old", old, sizeof(old));
		p = strstr(meta, "route_back_old=");
		if (p)
			*p = '\0';
		p = strstr(meta, "route_back=");
		if (p)
			*p = '\0';
		off = strlen(meta);
		off += snprintf(meta + off, sizeof(meta) - off, "route_back=%s%s\n", old, nw);
	}
	off = strlen(meta);
	off += snprintf(meta + off, sizeof(meta) - off, "since=%ld\napplied=%ld\n", (long)since,
			(long)now);
	r = fix_meta_write(st->dir, 0, meta);
	if (r) {
		fprintf(stderr, "pwhy fix: cannot write the metadata: %s\n", strerror(-r));
		return r;
	}
	pid = fix_keeper_spawn(st->dir);
	if (pid < 0) {
		fprintf(stderr, "pwhy fix: cannot start the keeper: %s\n", strerror(-pid));
		return pid;
	}
	snprintf(meta + strlen(meta), sizeof(meta) - strlen(meta), "keeper_pid=%d\n", pid);
	r = fix_meta_write(st->dir, 0, meta);
	if (r) {
		fprintf(stderr, "pwhy fix: cannot write the metadata: %s\n", strerror(-r));
		return r;
	}
	return pid;
}

int fix_apply(const struct fix_opts *o)
{
	char old_meta[FIX_META_LEN] = "", buf[64], devs[1024] = "";
	struct fix_state st;
	struct fix_ns ns;
	bool existed;
	int r, saved, pid;

	if (o->kind == FIX_TPROXY_REPLY) {
		explain_tproxy();
		return -EOPNOTSUPP;
	}
	/* scope errors before anything is looked up */
	if (o->kind == FIX_VRF_LOOKUP && !o->vrf) {
		fprintf(stderr, "pwhy fix: vrf-lookup needs --vrf DEV: the VRF whose slaves get the program\n");
		return -EINVAL;
	}
	if (o->kind == FIX_VRF_LOOKUP && !o->addrs && !o->ports) {
		fprintf(stderr, "pwhy fix: vrf-lookup refuses to apply without --addr or --port: it would change the lookup for every unbound socket of the namespace\n");
		return -EINVAL;
	}
	if (!o->verbose)
		libbpf_set_print(silent_print);
	if (fix_bpffs_ready()) {
		fprintf(stderr, "pwhy fix: cannot mount bpffs at " FIX_BPFFS ": %s\n", strerror(errno));
		return -EIO;
	}
	r = fix_ns_open(o->netns, &ns);
	if (r) {
		fprintf(stderr, "pwhy fix: no such network namespace '%s'\n", o->netns ? o->netns : "(own)");
		return -EINVAL;
	}
	state_init(&st, o->kind);
	st.verbose = o->verbose;
	fix_dir(st.dir, sizeof(st.dir), ns.ino, o->kind);
	existed = dir_exists(st.dir);
	if (existed) {
		/* applying again: the old keeper must not race with this apply */
		fix_meta_read(st.dir, 0, old_meta, sizeof(old_meta));
		fix_keeper_stop(atoi(fix_meta_get(old_meta, "keeper_pid", buf, sizeof(buf))), st.dir);
	}
	r = fix_ns_enter(&ns, &saved);
	if (r) {
		fprintf(stderr, "pwhy fix: cannot enter the network namespace: %s\n", strerror(-r));
		fix_ns_close(&ns);
		return r;
	}
	pid = apply_in_ns(o, &st, &ns, old_meta, existed);
	if (pid > 0) {
		struct fix_net n;

		if (!fix_net_dump(&n, FIX_DUMP_LINKS)) {
			size_t off = 0;

			for (int i = 0; i < n.nlinks; i++)
				if (fix_tc_query(n.links[i].ifindex, st.hook) == st.prog_id)
					off += snprintf(devs + off, sizeof(devs) - off, "%s%s",
							off ? "," : "", n.links[i].name);
			fix_net_free(&n);
		}
	}
	fix_ns_leave(saved);
	state_close(&st);
	if (pid < 0 && !existed && dir_exists(st.dir))
		remove_dir(st.dir, o->kind, false);	/* leave nothing half applied */
	if (pid < 0) {
		fix_ns_close(&ns);
		return pid == -EINVAL ? -EINVAL : pid;
	}
	printf("pwhy fix: %s %s in netns %s (inode %u) on %s (tc %s); keeper pid %d\n",
	       fix_kind_name(o->kind), existed ? "applied again" : "applied",
	       ns.label[0] ? ns.label : "(own)", ns.ino, devs[0] ? devs : "no interface yet",
	       st.hook == FIX_HOOK_INGRESS ? "ingress" : "egress", pid);
	fix_ns_close(&ns);
	return 0;
}

/* ------------------------------------------------------------------------------- keeper */

static volatile sig_atomic_t keeper_stop;

static void on_term(int sig)
{
	keeper_stop = 1;
}

static int nl_subscribe(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, sz = 1 << 20;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
		       RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* 1: something changed (or the socket overran: resync anyway), 0: nothing, < 0: error */
static int nl_drain(int fd)
{
	char buf[16384];
	int changed = 0;

	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return changed;
			if (errno == ENOBUFS)
				return 1;	/* lost notifications: a full resync covers them */
			return -errno;
		}
		if (len > 0)
			changed = 1;
	}
}

int fix_keep(const char *dir)
{
	char meta[FIX_META_LEN], kmeta[FIX_META_LEN], buf[300], path[320], watch[300];
	const struct fix_kind_ops *ops;
	struct sigaction sa = { .sa_handler = on_term };
	struct fix_state st;
	struct fix_ns ns;
	unsigned long syncs = 0;
	time_t last_full = 0;
	int k, r, saved, nl;
	__u32 ino;

	libbpf_set_print(silent_print);
	if (fix_meta_read(dir, 0, meta, sizeof(meta)))
		return -ENOENT;
	k = fix_kind_parse(fix_meta_get(meta, "kind", buf, sizeof(buf)));
	if (k < 0 || !(ops = fix_ops(k)))
		return -EINVAL;
	ino = strtoul(fix_meta_get(meta, "netns_ino", buf, sizeof(buf)), NULL, 10);
	fix_meta_get(meta, "netns_path", watch, sizeof(watch));
	if (fix_ns_find(ino, strtoull(fix_meta_get(meta, "netns_cookie", buf, sizeof(buf)), NULL, 10),
			watch, &ns))
		return -ENOENT;
	r = fix_ns_enter(&ns, &saved);	/* for good: the keeper lives in the namespace */
	fix_ns_close(&ns);
	if (r)
		return r;
	if (saved >= 0)
		close(saved);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	state_init(&st, k);
	snprintf(st.dir, sizeof(st.dir), "%s", dir);
	r = open_pins(&st);
	if (r)
		return r;
	nl = nl_subscribe();
	if (nl < 0)
		return nl;
	snprintf(path, sizeof(path), "%s/meta", dir);
	for (bool dirty = true; !keeper_stop;) {
		struct pollfd pfd = { .fd = nl, .events = POLLIN };
		struct stat sb;

		if (dirty || time(NULL) - last_full >= 60) {
			r = ops->sync(&st, meta);
			syncs++;
			last_full = time(NULL);
			snprintf(kmeta, sizeof(kmeta), "pid=%d\nsyncs=%lu\nlast_sync=%ld\nnote=%s%s%s\n",
				 getpid(), syncs, (long)last_full, st.note,
				 r && !st.note[0] ? "sync failed: " : "",
				 r && !st.note[0] ? strerror(-r) : "");
			fix_meta_write(dir, 1, kmeta);
			dirty = false;
		}
		r = poll(&pfd, 1, 1000);
		if (r > 0) {
			/* a burst of changes (an interface going down) makes one resync */
			usleep(20000);
			r = nl_drain(nl);
			if (r < 0)
				break;
			dirty = r > 0;
		}
		/* the fix was removed behind our back, or the namespace went away: stop, so that
		 * we do not keep a deleted namespace alive */
		if (stat(path, &sb))
			break;
		if (watch[0] && (stat(watch, &sb) || (__u32)sb.st_ino != ino))
			break;
	}
	close(nl);
	state_close(&st);
	return 0;
}
