// SPDX-License-Identifier: GPL-2.0
/* netns, netinfo and sockdiag against real namespaces (needs root and ip(8)).
 * Builds a namespace with a veth pair of known MACs and addresses, asks questions about
 * it from outside, and removes it again whatever happens. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "check.h"
#include "pwhy/netinfo.h"
#include "pwhy/netns.h"
#include "pwhy/sockdiag.h"

static char ns[32], ns_gone[32];
static __u32 ns_ino;
static int have_bridge;

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void cleanup(void)
{
	if (ns[0])
		sh("ip netns del %s 2>/dev/null", ns);
	if (ns_gone[0])
		sh("ip netns del %s 2>/dev/null", ns_gone);
}

static void on_signal(int sig)
{
	exit(128 + sig);	/* runs cleanup() through atexit */
}

static __u32 ns_inode(const char *name)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return stat(path, &st) ? 0 : (__u32)st.st_ino;
}

static int setup(void)
{
	snprintf(ns, sizeof(ns), "pwhyt%d", (int)getpid());
	snprintf(ns_gone, sizeof(ns_gone), "pwhyg%d", (int)getpid());
	if (sh("ip netns add %s", ns) ||
	    sh("ip -n %s link add pa address 02:00:00:77:00:01 type veth peer name pb "
	       "address 02:00:00:77:00:02", ns) ||
	    sh("ip -n %s link set lo up && ip -n %s link set pa up && ip -n %s link set pb up",
	       ns, ns, ns) ||
	    /* the same v4 and v6 address on both ends: addr_owners must find two */
	    sh("ip -n %s addr add 10.77.0.1/24 dev pa && ip -n %s addr add 10.77.0.1/32 dev pb"
	       " && ip -n %s addr add 10.77.1.1/24 dev pb", ns, ns, ns) ||
	    sh("ip -n %s addr add 2001:db8:77::1/64 dev pa nodad && "
	       "ip -n %s addr add 2001:db8:77::1/64 dev pb nodad", ns, ns) ||
	    sh("ip netns exec %s sh -c 'echo 1 > /proc/sys/net/ipv4/udp_l3mdev_accept'", ns))
		return -1;
	/* no VRF driver everywhere; a bridge gives IFLA_MASTER a value where it exists */
	have_bridge = !sh("ip -n %s link add br77 type bridge 2>/dev/null && "
			  "ip -n %s link set pb master br77", ns, ns);
	ns_ino = ns_inode(ns);
	return ns_ino ? 0 : -1;
}

static int ret_self_ino(void *arg)
{
	return (int)netns_self_ino();
}

static int ret_seven(void *arg)
{
	return 7;
}

static void test_netns_call(void)
{
	__u32 self = netns_self_ino();

	CHECK(self != 0);
	CHECK(ns_ino != self);
	CHECK((__u32)netns_call(0, ret_self_ino, NULL) == self);
	CHECK((__u32)netns_call(self, ret_self_ino, NULL) == self);
	CHECK((__u32)netns_call(ns_ino, ret_self_ino, NULL) == ns_ino);
	CHECK(netns_self_ino() == self);
	/* again, through the cache */
	CHECK((__u32)netns_call(ns_ino, ret_self_ino, NULL) == ns_ino);
	CHECK(netns_self_ino() == self);
	CHECK(netns_call(1, ret_seven, NULL) == -ENOENT);	/* no such namespace */
}

/* A namespace no `ip netns` name points at, held only by a process */
static void test_netns_by_pid(void)
{
	char path[64], c = 0;
	struct stat st;
	int p[2];
	pid_t pid;

	CHECK(pipe(p) == 0);
	pid = fork();
	if (pid == 0) {
		c = unshare(CLONE_NEWNET) ? 'x' : 'y';
		if (write(p[1], &c, 1) != 1 || c != 'y')
			_exit(1);
		pause();
		_exit(0);
	}
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK(read(p[0], &c, 1) == 1 && c == 'y');
	close(p[0]);
	close(p[1]);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	CHECK(stat(path, &st) == 0);
	CHECK((__u32)netns_call((__u32)st.st_ino, ret_self_ino, NULL) == (__u32)st.st_ino);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(netns_call((__u32)st.st_ino, ret_self_ino, NULL) == -ENOENT);
}

static void test_netns_gone(void)
{
	__u32 ino;
	struct pwhy_link l;
	struct pwhy_sock *v = NULL;
	size_t n = 0;
	long val;

	CHECK(sh("ip netns add %s", ns_gone) == 0);
	ino = ns_inode(ns_gone);
	CHECK(ino != 0);
	CHECK(netns_call(ino, ret_seven, NULL) == 7);	/* now cached */
	CHECK(sh("ip netns del %s", ns_gone) == 0);
	ns_gone[0] = '\0';
	CHECK(netns_call(ino, ret_seven, NULL) == -ENOENT);
	CHECK(netinfo_link(ino, 1, &l) == -ENOENT);
	CHECK(netinfo_sysctl(ino, "net/ipv4/udp_l3mdev_accept", &val) == -ENOENT);
	CHECK(sockdiag_dump(ino, AF_INET, IPPROTO_UDP, &v, &n) == -ENOENT);
	CHECK(v == NULL && n == 0);
	CHECK(netns_self_ino() != ino);
}

static void test_link(void)
{
	static const unsigned char mac[6] = { 0x02, 0, 0, 0x77, 0, 0x01 };
	struct pwhy_link a, b, lo;

	CHECK(netinfo_link_by_name(ns_ino, "pa", &a) == 0);
	CHECK(a.ifindex > 1);
	CHECK_STR(a.name, "pa");
	CHECK_STR(a.kind, "veth");
	CHECK(a.mac_len == 6 && !memcmp(a.mac, mac, 6));
	CHECK(a.flags & IFF_UP);
	CHECK(a.master == 0);

	CHECK(netinfo_link(ns_ino, a.ifindex, &b) == 0);
	CHECK(b.ifindex == a.ifindex);
	CHECK_STR(b.name, "pa");
	CHECK_STR(b.kind, "veth");

	CHECK(netinfo_link(ns_ino, 1, &lo) == 0);
	CHECK_STR(lo.name, "lo");
	CHECK_STR(lo.kind, "");
	CHECK(lo.flags & IFF_LOOPBACK);

	if (have_bridge) {
		struct pwhy_link pb, br;

		CHECK(netinfo_link_by_name(ns_ino, "pb", &pb) == 0);
		CHECK(netinfo_link_by_name(ns_ino, "br77", &br) == 0);
		CHECK(pb.master == br.ifindex && br.ifindex > 0);
		CHECK_STR(br.kind, "bridge");
	} else {
		printf("# no bridge support: IFLA_MASTER not checked\n");
	}

	CHECK(netinfo_link(ns_ino, 100000, &b) == -ENODEV);
	CHECK(netinfo_link_by_name(ns_ino, "nosuchdev", &b) == -ENODEV);
	CHECK(netinfo_link_by_name(0, "pa", &b) == -ENODEV);	/* not in ours */
	CHECK(netinfo_link_by_name(ns_ino, "a-name-far-too-long", &b) == -EINVAL);
}

static void test_addr_owners(void)
{
	struct pwhy_link pa, pb;
	unsigned char a4[4], a6[16];
	int idx[4], n;

	CHECK(netinfo_link_by_name(ns_ino, "pa", &pa) == 0);
	CHECK(netinfo_link_by_name(ns_ino, "pb", &pb) == 0);

	inet_pton(AF_INET, "10.77.0.1", a4);
	n = netinfo_addr_owners(ns_ino, AF_INET, a4, idx, 4);
	CHECK(n == 2);
	if (n == 2)
		CHECK((idx[0] == pa.ifindex && idx[1] == pb.ifindex) ||
		      (idx[0] == pb.ifindex && idx[1] == pa.ifindex));
	CHECK(netinfo_addr_owners(ns_ino, AF_INET, a4, idx, 1) == 1);
	CHECK(netinfo_addr_owners(0, AF_INET, a4, idx, 4) == 0);	/* not ours */

	inet_pton(AF_INET, "10.77.1.1", a4);
	n = netinfo_addr_owners(ns_ino, AF_INET, a4, idx, 4);
	CHECK(n == 1 && idx[0] == pb.ifindex);

	inet_pton(AF_INET, "127.0.0.1", a4);
	n = netinfo_addr_owners(ns_ino, AF_INET, a4, idx, 4);
	CHECK(n == 1 && idx[0] == 1);

	inet_pton(AF_INET, "10.77.9.9", a4);
	CHECK(netinfo_addr_owners(ns_ino, AF_INET, a4, idx, 4) == 0);

	inet_pton(AF_INET6, "2001:db8:77::1", a6);
	n = netinfo_addr_owners(ns_ino, AF_INET6, a6, idx, 4);
	CHECK(n == 2);
	inet_pton(AF_INET6, "2001:db8:77::2", a6);
	CHECK(netinfo_addr_owners(ns_ino, AF_INET6, a6, idx, 4) == 0);

	CHECK(netinfo_addr_owners(ns_ino, AF_PACKET, a6, idx, 4) == -EINVAL);
}

static void test_sysctl(void)
{
	long v = -1, ours = -1;
	FILE *f;

	CHECK(netinfo_sysctl(ns_ino, "net/ipv4/udp_l3mdev_accept", &v) == 0);
	CHECK(v == 1);
	v = -1;
	CHECK(netinfo_sysctl(ns_ino, "net.ipv4.udp_l3mdev_accept", &v) == 0);
	CHECK(v == 1);

	f = fopen("/proc/sys/net/ipv4/udp_l3mdev_accept", "r");
	CHECK(f && fscanf(f, "%ld", &ours) == 1);
	if (f)
		fclose(f);
	CHECK(ours == 0);
	v = -1;
	CHECK(netinfo_sysctl(0, "net/ipv4/udp_l3mdev_accept", &v) == 0);
	CHECK(v == ours);

	CHECK(netinfo_sysctl(ns_ino, "net/ipv4/no_such_knob", &v) == -ENOENT);
	CHECK(netinfo_sysctl(ns_ino, "../../etc/passwd", &v) == -EINVAL);
	CHECK(netinfo_sysctl(ns_ino, "/etc/passwd", &v) == -EINVAL);
}

static const struct pwhy_sock *find_inode(const struct pwhy_sock *v, size_t n, __u32 ino)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].inode == ino)
			return &v[i];
	return NULL;
}

static __u32 fd_inode(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (__u32)st.st_ino;
}

static int bound_socket(int family, int type, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, addr, &sin->sin_addr);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		len = sizeof(*sin6);
	}
	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 4))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);	/* same offset in sin6 */
}

static void test_sockdiag_self(void)
{
	int u = bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
	int t = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0);
	const struct pwhy_sock *s;
	struct pwhy_sock *v = NULL;
	char comm[16] = "";
	FILE *f;
	int one = 1, pid = 0;
	size_t n = 0;

	CHECK(u >= 0 && t >= 0);
	if (u < 0 || t < 0)
		goto out;
	/* visible through the transparent flag of INET_DIAG_SOCKOPT on 5.10+ */
	CHECK(setsockopt(u, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) == 0);
	f = fopen("/proc/self/comm", "r");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}

	CHECK(sockdiag_dump(0, AF_INET, IPPROTO_UDP, &v, &n) == 0);
	s = find_inode(v, n, fd_inode(u));
	CHECK(s != NULL);
	if (s) {
		CHECK(s->family == AF_INET && s->proto == IPPROTO_UDP);
		CHECK(s->sport == local_port(u) && s->dport == 0);
		CHECK(s->saddr[0] == 127 && s->saddr[3] == 1);
		CHECK(s->state == TCP_CLOSE);
		CHECK(s->bound_dev_if == 0);
		CHECK(s->owner_pid == getpid());
		CHECK_STR(s->owner_comm, comm);
		CHECK(s->transparent == 1 || s->transparent == -1);
		CHECK(s->cookie != 0);
	}
	CHECK(find_inode(v, n, fd_inode(t)) == NULL);	/* TCP is not in a UDP dump */
	free(v);

	CHECK(sockdiag_dump(0, AF_INET, IPPROTO_TCP, &v, &n) == 0);
	s = find_inode(v, n, fd_inode(t));
	CHECK(s != NULL);
	if (s) {
		CHECK(s->proto == IPPROTO_TCP && s->state == TCP_LISTEN);
		CHECK(s->sport == local_port(t));
		CHECK(s->owner_pid == getpid());
		CHECK(s->transparent == 0 || s->transparent == -1);
	}
	free(v);

	CHECK(sockdiag_owner(fd_inode(t), &pid, comm) == 0);
	CHECK(pid == getpid());
	CHECK(sockdiag_owner(0x7ffffff0u, &pid, comm) == -ENOENT);
out:
	if (u >= 0)
		close(u);
	if (t >= 0)
		close(t);
}

static void test_sockdiag_v6only(void)
{
	int u = bound_socket(AF_INET6, SOCK_DGRAM, "::", 0);
	const struct pwhy_sock *s;
	struct pwhy_sock *v = NULL;
	size_t n = 0;

	if (u < 0) {
		printf("# no IPv6: v6only not checked\n");
		return;
	}
	/* AF_UNSPEC dumps both families: dual-stack sockets matter to IPv4 packets */
	CHECK(sockdiag_dump(0, AF_UNSPEC, IPPROTO_UDP, &v, &n) == 0);
	s = find_inode(v, n, fd_inode(u));
	CHECK(s != NULL);
	if (s) {
		CHECK(s->family == AF_INET6);
		CHECK(s->v6only == 1);
		CHECK(s->sport == local_port(u));
	}
	free(v);
	close(u);
}

static int make_udp_5353(void *arg)
{
	return bound_socket(AF_INET, SOCK_DGRAM, "0.0.0.0", 5353);
}

static void test_sockdiag_other_ns(void)
{
	int fd = netns_call(ns_ino, make_udp_5353, NULL);
	const struct pwhy_sock *s;
	struct pwhy_sock *v = NULL;
	size_t n = 0;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(sockdiag_dump(ns_ino, AF_INET, IPPROTO_UDP, &v, &n) == 0);
	s = find_inode(v, n, fd_inode(fd));
	CHECK(s != NULL);
	if (s) {
		CHECK(s->sport == 5353);
		CHECK(s->owner_pid == getpid());
	}
	free(v);

	CHECK(sockdiag_dump(0, AF_INET, IPPROTO_UDP, &v, &n) == 0);
	CHECK(find_inode(v, n, fd_inode(fd)) == NULL);
	free(v);
	close(fd);
}

int main(void)
{
	if (geteuid() != 0 || system("ip -V >/dev/null 2>&1")) {
		printf("# SKIP test_netinfo: needs root and ip(8)\n");
		return 0;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (setup()) {
		printf("not ok - setup: could not build the test namespace\n");
		return 1;
	}
	RUN_TEST(test_netns_call);
	RUN_TEST(test_link);
	RUN_TEST(test_addr_owners);
	RUN_TEST(test_sysctl);
	RUN_TEST(test_sockdiag_self);
	RUN_TEST(test_sockdiag_v6only);
	RUN_TEST(test_sockdiag_other_ns);
	RUN_TEST(test_netns_by_pid);
	RUN_TEST(test_netns_gone);
	TEST_EXIT();
}
