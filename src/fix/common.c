// SPDX-License-Identifier: GPL-2.0
/* What every fix shares: kind names, option lists, the network namespace a fix lives in,
 * tc attachment, the pin directory and its metadata, and the keeper process. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <linux/pkt_sched.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pwhy/fix.h"
#include "pwhy/netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#define SELF_NS "/proc/thread-self/ns/net"

static const char *const kind_names[FIX_KIND_MAX] = {
	[FIX_PKTINFO_OIF] = "pktinfo-oif",
	[FIX_VRF_LOOKUP] = "vrf-lookup",
	[FIX_TPROXY_REPLY] = "tproxy-reply",
};

const char *fix_kind_name(enum fix_kind k)
{
	return k < FIX_KIND_MAX ? kind_names[k] : "?";
}

int fix_kind_parse(const char *s)
{
	for (int k = 0; k < FIX_KIND_MAX; k++)
		if (!strcmp(s, kind_names[k]))
			return k;
	return -1;
}

/* ------------------------------------------------------------------------ option lists */

int fix_split(const char *list, char out[][64], int max)
{
	int n = 0;

	if (!list)
		return 0;
	while (*list) {
		const char *end = strchr(list, ',');
		size_t len = end ? (size_t)(end - list) : strlen(list);

		while (len && isspace((unsigned char)*list)) {
			list++;
			len--;
		}
		while (len && isspace((unsigned char)list[len - 1]))
			len--;
		if (!len || len >= 64 || n == max)
			return -EINVAL;
		memcpy(out[n], list, len);
		out[n++][len] = '\0';
		if (!end)
			break;
		list = end + 1;
		if (!*list)
			return -EINVAL;
	}
	return n;
}

int fix_parse_prefix(const char *s, struct fix_prefix *p, bool host_only)
{
	char buf[64], *slash, *end;
	int max;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		if (host_only)
			return -EINVAL;
		*slash++ = '\0';
	}
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->family = AF_INET6;
	else
		return -EINVAL;
	max = p->family == AF_INET ? 32 : 128;
	p->len = max;
	if (slash) {
		long v = strtol(slash, &end, 10);

		if (!*slash || *end || v < 0 || v > max)
			return -EINVAL;
		p->len = v;
	}
	/* clear host bits */
	for (int bit = p->len; bit < max; bit++)
		p->addr[bit / 8] &= ~(0x80 >> (bit % 8));
	return 0;
}

/* --------------------------------------------------------------------- network namespace */

static int ns_cookie(__u64 *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	*cookie = 0;
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		*cookie = 0;	/* before 5.14: no cookie, the inode alone names it */
	close(fd);
	return 0;
}

int fix_ns_enter(const struct fix_ns *ns, int *saved)
{
	*saved = open(SELF_NS, O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return -errno;
	if (setns(ns->fd, CLONE_NEWNET)) {
		int e = -errno;

		close(*saved);
		*saved = -1;
		return e;
	}
	return 0;
}

void fix_ns_leave(int saved)
{
	if (saved < 0)
		return;
	/* a thread left in the wrong namespace would change the wrong devices */
	if (setns(saved, CLONE_NEWNET)) {
		fprintf(stderr, "pwhy: cannot return to the original network namespace: %s\n",
			strerror(errno));
		abort();
	}
	close(saved);
}

static int ns_fill(struct fix_ns *ns)
{
	struct stat st;
	int saved, r;

	if (fstat(ns->fd, &st))
		return -errno;
	ns->ino = st.st_ino;
	r = fix_ns_enter(ns, &saved);
	if (r)
		return r;
	r = ns_cookie(&ns->cookie);
	fix_ns_leave(saved);
	return r;
}

static int open_self_cb(void *arg)
{
	int fd = open(SELF_NS, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* The initial namespace is always reachable as pid 1's: record that path for it. */
static void path_for_own(struct fix_ns *ns)
{
	struct stat st;

	if (!stat("/proc/1/ns/net", &st) && (__u32)st.st_ino == ns->ino)
		snprintf(ns->path, sizeof(ns->path), "/proc/1/ns/net");
}

int fix_ns_open(const char *arg, struct fix_ns *ns)
{
	char path[300];
	int r;

	memset(ns, 0, sizeof(*ns));
	ns->fd = -1;
	if (!arg) {
		ns->fd = open(SELF_NS, O_RDONLY | O_CLOEXEC);
		if (ns->fd < 0)
			return -errno;
		r = ns_fill(ns);
		if (!r)
			path_for_own(ns);
		snprintf(ns->label, sizeof(ns->label), "%s", ns->path[0] ? "host" : "");
		return r;
	}
	snprintf(ns->label, sizeof(ns->label), "%s", arg);
	if (strchr(arg, '/'))
		snprintf(path, sizeof(path), "%s", arg);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", arg);
	ns->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns->fd < 0 && all_digits(arg)) {
		/* a namespace inode: reachable through some process or bind mount */
		ns->fd = netns_call(strtoul(arg, NULL, 10), open_self_cb, NULL);
		if (ns->fd < 0) {
			ns->fd = -1;
			return -ENOENT;
		}
		path[0] = '\0';
	}
	if (ns->fd < 0)
		return -ENOENT;
	snprintf(ns->path, sizeof(ns->path), "%s", path);
	r = ns_fill(ns);
	if (r == -EINVAL)	/* not a namespace file */
		r = -ENOENT;
	if (!r && !ns->path[0])
		path_for_own(ns);
	return r;
}

int fix_ns_find(__u32 ino, __u64 cookie, const char *path, struct fix_ns *ns)
{
	int r;

	memset(ns, 0, sizeof(*ns));
	ns->fd = -1;
	if (path && *path)
		ns->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns->fd >= 0) {
		struct stat st;

		if (fstat(ns->fd, &st) || (__u32)st.st_ino != ino) {
			close(ns->fd);
			ns->fd = -1;
		} else {
			snprintf(ns->path, sizeof(ns->path), "%s", path);
		}
	}
	if (ns->fd < 0) {
		ns->fd = netns_call(ino, open_self_cb, NULL);
		if (ns->fd < 0) {
			ns->fd = -1;
			return -ENOENT;
		}
	}
	r = ns_fill(ns);
	if (!r && cookie && ns->cookie && cookie != ns->cookie)
		r = -ENOENT;	/* the inode number was given to a new namespace */
	if (r) {
		fix_ns_close(ns);
		return r;
	}
	return 0;
}

void fix_ns_close(struct fix_ns *ns)
{
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
}

/* -------------------------------------------------------------------------------- tc */

static __u32 hook_parent(int hook)
{
	return TC_H_MAKE(TC_H_CLSACT, hook == FIX_HOOK_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

__u32 fix_tc_query(int ifindex, int hook)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = hook);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = PWHY_FIX_TC_HANDLE,
			    .priority = PWHY_FIX_TC_PRIO);

	if (bpf_tc_query(&h, &o))
		return 0;
	return o.prog_id;
}

int fix_tc_attach(int ifindex, int hook, int prog_fd, int qdisc_map_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = hook);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE,
			    .handle = PWHY_FIX_TC_HANDLE, .priority = PWHY_FIX_TC_PRIO);
	__u32 key = ifindex, one = 1;
	int r;

	r = bpf_tc_hook_create(&h);
	if (!r && qdisc_map_fd >= 0)
		bpf_map_update_elem(qdisc_map_fd, &key, &one, BPF_ANY);
	else if (r && r != -EEXIST)
		return r;
	return bpf_tc_attach(&h, &o);
}

int fix_tc_detach(int ifindex, int hook, int qdisc_map_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = hook);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = PWHY_FIX_TC_HANDLE,
			    .priority = PWHY_FIX_TC_PRIO);
	__u32 key = ifindex, v;
	int r, left;

	r = bpf_tc_detach(&h, &o);
	if (r == -ENOENT)
		r = 0;
	if (qdisc_map_fd < 0 || bpf_map_lookup_elem(qdisc_map_fd, &key, &v))
		return r;
	/* the clsact qdisc is ours: drop it once nobody else has a filter on it */
	left = fix_nl_tc_filters(ifindex, hook_parent(FIX_HOOK_INGRESS));
	if (left == 0)
		left = fix_nl_tc_filters(ifindex, hook_parent(FIX_HOOK_EGRESS));
	if (left == 0) {
		h.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&h);
	}
	if (left >= 0)
		bpf_map_delete_elem(qdisc_map_fd, &key);
	return r;
}

/* -------------------------------------------------------------------------- bpffs, pins */

int fix_bpffs_ready(void)
{
	struct statfs sf;

	if (!statfs(FIX_BPFFS, &sf) && sf.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", FIX_BPFFS, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

int fix_dir(char *buf, size_t len, __u32 ino, enum fix_kind k)
{
	int n = snprintf(buf, len, FIX_BASE "/%u/%s", ino, fix_kind_name(k));

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int mkdir_0700(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int fix_mkdirs(__u32 ino, enum fix_kind k)
{
	char path[256];
	int r;

	r = mkdir_0700(FIX_BASE);
	if (r)
		return r;
	snprintf(path, sizeof(path), FIX_BASE "/%u", ino);
	r = mkdir_0700(path);
	if (r)
		return r;
	fix_dir(path, sizeof(path), ino, k);
	return mkdir_0700(path);
}

int fix_pinned_map(const char *dir, const char *name, int type, int key_size, int value_size,
		   int max_entries, __u32 flags)
{
	DECLARE_LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	char path[320], mname[16];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd >= 0)
		return fd;
	snprintf(mname, sizeof(mname), "pwhy_%s", name);
	fd = bpf_map_create(type, mname, key_size, value_size, max_entries, &o);
	if (fd < 0)
		return fd;
	if (bpf_obj_pin(fd, path)) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int meta_fd(const char *dir, bool create)
{
	char path[320];

	if (create)
		return fix_pinned_map(dir, "meta", BPF_MAP_TYPE_ARRAY, 4, FIX_META_LEN, 2, 0);
	snprintf(path, sizeof(path), "%s/meta", dir);
	return bpf_obj_get(path);
}

int fix_meta_read(const char *dir, int slot, char *buf, size_t len)
{
	char val[FIX_META_LEN];
	__u32 key = slot;
	int fd = meta_fd(dir, false), r;

	if (fd < 0)
		return fd;
	r = bpf_map_lookup_elem(fd, &key, val);
	close(fd);
	if (r)
		return -errno;
	val[FIX_META_LEN - 1] = '\0';
	snprintf(buf, len, "%s", val);
	return 0;
}

int fix_meta_write(const char *dir, int slot, const char *text)
{
	char val[FIX_META_LEN] = {};
	__u32 key = slot;
	int fd = meta_fd(dir, true), r;

	if (fd < 0)
		return fd;
	if (strlen(text) >= sizeof(val)) {
		close(fd);
		return -E2BIG;
	}
	strcpy(val, text);
	r = bpf_map_update_elem(fd, &key, val, BPF_ANY);
	close(fd);
	return r ? -errno : 0;
}

const char *fix_meta_get(const char *meta, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);
	const char *p = meta;

	buf[0] = '\0';
	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			const char *v = p + kl + 1, *e = strchr(v, '\n');
			size_t vl = e ? (size_t)(e - v) : strlen(v);

			if (vl >= len)
				vl = len - 1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			break;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return buf;
}

int fix_unpin_dir(const char *dir)
{
	char path[600], parent[300], *slash;
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && errno != ENOENT)
			r = -errno;
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		r = -errno;
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		rmdir(parent);	/* only when no other fix lives in that namespace */
		rmdir(FIX_BASE);	/* and when no fix is left at all */
	}
	return r;
}

int fix_open_pin(struct fix_state *st, int idx, const char *name)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s", st->dir, name);
	st->fds[idx] = bpf_obj_get(path);
	return st->fds[idx] < 0 ? -errno : 0;
}

/* ---------------------------------------------------------------------- map contents */

static size_t sort_ks;
static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sort_ks);
}

void *fix_map_keys(int fd, size_t ks, int *n)
{
	char cur[64], *keys = NULL, *p;
	int cap = 0;

	*n = 0;
	if (ks > sizeof(cur) || bpf_map_get_next_key(fd, NULL, cur))
		return NULL;
	do {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			p = realloc(keys, cap * ks);
			if (!p)
				break;
			keys = p;
		}
		memcpy(keys + *n * ks, cur, ks);
		(*n)++;
	} while (*n < (1 << 20) && !bpf_map_get_next_key(fd, cur, cur));
	return keys;
}

int fix_map_replace(int fd, const void *keys, const void *vals, int n, size_t ks, size_t vs)
{
	char *sorted = NULL, *old;
	int r = 0, nold;

	for (int i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * ks, (const char *)vals + i * vs,
					BPF_ANY))
			r = -errno;
	if (n) {
		sorted = malloc(n * ks);
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, keys, n * ks);
		sort_ks = ks;
		qsort(sorted, n, ks, key_cmp);
	}
	/* then drop what is no longer wanted (added first: no gap for what stays) */
	old = fix_map_keys(fd, ks, &nold);
	for (int i = 0; i < nold; i++) {
		sort_ks = ks;
		if (!n || !bsearch(old + i * ks, sorted, n, ks, key_cmp))
			bpf_map_delete_elem(fd, old + i * ks);
	}
	free(old);
	free(sorted);
	return r;
}

/* --------------------------------------------------------------------- attachment sync */

int fix_sync_attach(struct fix_state *st, const struct fix_net *n, const bool *want)
{
	int r = 0, e, nq;
	__u32 *q;

	for (int i = 0; i < n->nlinks; i++) {
		int ifx = n->links[i].ifindex;
		__u32 id = fix_tc_query(ifx, st->hook);

		if (want[i] && id != st->prog_id) {
			e = fix_tc_attach(ifx, st->hook, st->prog_fd, st->qdisc_fd);
			if (e && !r) {
				r = e;
				snprintf(st->note, sizeof(st->note), "cannot attach to %s: %s",
					 n->links[i].name, strerror(-e));
			}
		} else if (!want[i] && id) {
			fix_tc_detach(ifx, st->hook, st->qdisc_fd);
		}
	}
	/* forget qdiscs of interfaces that are gone */
	q = fix_map_keys(st->qdisc_fd, sizeof(*q), &nq);
	for (int i = 0; i < nq; i++)
		if (!fix_net_link(n, q[i]))
			bpf_map_delete_elem(st->qdisc_fd, &q[i]);
	free(q);
	return r;
}

/* ------------------------------------------------------------------------------ keeper */

int fix_keeper_spawn(const char *dir)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		setsid();
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		for (int i = 3; i < 1024; i++)
			close(i);
		execl("/proc/self/exe", "pwhy", "fix", "keep", dir, (char *)NULL);
		_exit(127);
	}
	return pid;
}

bool fix_keeper_alive(int pid, const char *dir)
{
	char path[64], buf[512], state = 0;
	ssize_t len;
	int fd;
	FILE *f;

	if (pid <= 0 || kill(pid, 0))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
			state = 0;
		fclose(f);
	}
	if (state == 'Z' || state == 'X')
		return false;
	/* the pid may have been reused: check that it is our keeper for this directory */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	for (ssize_t i = 0; i < len; i++)
		if (!buf[i])
			buf[i] = ' ';
	return strstr(buf, " fix keep ") && strstr(buf, dir);
}

void fix_keeper_stop(int pid, const char *dir)
{
	if (!fix_keeper_alive(pid, dir))
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 200 && fix_keeper_alive(pid, dir); i++) {
		waitpid(pid, NULL, WNOHANG);	/* when it is our own child */
		usleep(10000);
	}
	if (fix_keeper_alive(pid, dir))
		kill(pid, SIGKILL);
	waitpid(pid, NULL, WNOHANG);
}
