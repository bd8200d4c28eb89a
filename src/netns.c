// SPDX-License-Identifier: GPL-2.0
/* Switching the calling thread into a network namespace known only by its inode.
 *
 * BPF gives us net->ns.inum; user space can only enter a namespace through a file
 * that refers to it, so we look for one: bind mounts made by `ip netns` under
 * /run/netns, then /proc/<pid>/ns/net of every process. The last path that worked is
 * cached per thread (a path, not an fd: holding an fd would keep a dead namespace
 * alive and make it look reachable). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pwhy/netns.h"

/* thread-self, not self: setns moves only the calling thread, and /proc/self names the
 * thread group leader, which may sit in another namespace. */
#define SELF_NS "/proc/thread-self/ns/net"

/* Room for /run/netns/<NAME_MAX> and /proc/<pid>/ns/net */
#define NS_PATH_MAX 280

static __thread __u32 cache_ino;
static __thread char cache_path[NS_PATH_MAX];

__u32 netns_self_ino(void)
{
	struct stat st;

	if (stat(SELF_NS, &st))
		return 0;
	return (__u32)st.st_ino;
}

/* Open path if it is the namespace (nsfs device ns_dev, inode ino). Checked again after
 * open because the path may be reused between stat() and open(). */
static int open_if_ns(const char *path, dev_t ns_dev, __u32 ino)
{
	struct stat st;
	int fd;

	/* stat first: cheap, and skips plain files left behind in /run/netns */
	if (stat(path, &st) || st.st_dev != ns_dev || (__u32)st.st_ino != ino)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) || st.st_dev != ns_dev || (__u32)st.st_ino != ino) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Try dir/<entry><suffix> for every entry of dir; pids_only limits to numeric names. */
static int scan_dir(const char *dir, const char *suffix, int pids_only, dev_t ns_dev,
		    __u32 ino)
{
	char path[NS_PATH_MAX];
	struct dirent *de;
	int fd = -ENOENT;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while (fd < 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (pids_only && !all_digits(de->d_name)))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s%s", dir, de->d_name, suffix) >=
		    (int)sizeof(path))
			continue;
		fd = open_if_ns(path, ns_dev, ino);
		if (fd >= 0)
			memcpy(cache_path, path, sizeof(path));
	}
	closedir(d);
	return fd;
}

static int find_ns(__u32 ino, dev_t ns_dev)
{
	int fd;

	if (cache_ino == ino) {
		fd = open_if_ns(cache_path, ns_dev, ino);
		if (fd >= 0)
			return fd;
	}
	cache_ino = 0;
	fd = scan_dir("/run/netns", "", 0, ns_dev, ino);
	if (fd < 0)
		fd = scan_dir("/proc", "/ns/net", 1, ns_dev, ino);
	if (fd >= 0)
		cache_ino = ino;
	return fd;
}

int netns_call(__u32 netns_ino, int (*fn)(void *arg), void *arg)
{
	struct stat self;
	int orig, target, ret;

	orig = open(SELF_NS, O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return -errno;
	if (fstat(orig, &self)) {
		ret = -errno;
		close(orig);
		return ret;
	}
	if (!netns_ino || (__u32)self.st_ino == netns_ino) {
		close(orig);
		return fn(arg);
	}

	target = find_ns(netns_ino, self.st_dev);
	if (target < 0) {
		close(orig);
		return target;
	}
	ret = setns(target, CLONE_NEWNET);
	close(target);
	if (ret) {
		ret = -errno;
		close(orig);
		return ret;
	}

	ret = fn(arg);

	/* Failing to return would leave this thread answering every later question from the
	 * wrong namespace; better to stop loudly than to report wrong facts. */
	if (setns(orig, CLONE_NEWNET)) {
		fprintf(stderr, "pwhy: cannot return to the original network namespace: %s\n",
			strerror(errno));
		abort();
	}
	close(orig);
	return ret;
}
