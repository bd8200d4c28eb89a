// SPDX-License-Identifier: GPL-2.0
/* Socket dumps through NETLINK_SOCK_DIAG, run inside the packet's namespace, and the
 * owning processes found through /proc/<pid>/fd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "pwhy/netinfo.h"
#include "pwhy/netns.h"
#include "pwhy/sockdiag.h"

/* Upper bound on fd links read per owner scan: keeps a lookup on a host with huge fd
 * tables from stalling the tracer (about a second at most). */
#define OWNER_SCAN_MAX_FDS (1u << 20)

struct dump_ctx {
	int family;		/* AF_UNSPEC: both */
	int proto;
	__u32 states;
	struct pwhy_sock *v;
	size_t n, cap;
};

static void parse_attrs(struct rtattr *rta, int len, struct pwhy_sock *s)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		const __u8 *d = RTA_DATA(rta);

		if (RTA_PAYLOAD(rta) < 1)
			continue;
		switch (rta->rta_type & NLA_TYPE_MASK) {
		case INET_DIAG_SKV6ONLY:
			s->v6only = d[0];
			break;
		case INET_DIAG_PROTOCOL:
			s->proto = d[0];
			break;
		case INET_DIAG_SOCKOPT: {
			/* 5.10+; the struct may grow, its first byte holds transparent */
			struct inet_diag_sockopt so;

			memset(&so, 0, sizeof(so));
			memcpy(&so, d, RTA_PAYLOAD(rta) < sizeof(so) ? RTA_PAYLOAD(rta) : sizeof(so));
			s->transparent = so.transparent;
			break;
		}
		}
	}
}

static int diag_cb(const struct nlmsghdr *nh, void *arg)
{
	struct inet_diag_msg *m = NLMSG_DATA(nh);
	struct dump_ctx *c = arg;
	struct pwhy_sock *s;
	int len;

	if (nh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return 0;
	len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
	if (len < 0)
		return -EBADMSG;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct pwhy_sock *nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = cap;
	}
	s = &c->v[c->n++];
	memset(s, 0, sizeof(*s));
	s->family = m->idiag_family;
	s->proto = c->proto;
	s->state = m->idiag_state;
	s->sport = ntohs(m->id.idiag_sport);
	s->dport = ntohs(m->id.idiag_dport);
	memcpy(s->saddr, m->id.idiag_src, 16);
	memcpy(s->daddr, m->id.idiag_dst, 16);
	s->bound_dev_if = m->id.idiag_if;
	s->inode = m->idiag_inode;
	s->uid = m->idiag_uid;
	s->cookie = (__u64)m->id.idiag_cookie[0] | (__u64)m->id.idiag_cookie[1] << 32;
	s->transparent = -1;
	parse_attrs((struct rtattr *)((char *)m + NLMSG_ALIGN(sizeof(*m))), len, s);
	return 0;
}

static int dump_family(struct dump_ctx *c, int family)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nh.nlmsg_flags = NLM_F_DUMP;
	req.r.sdiag_family = family;
	req.r.sdiag_protocol = c->proto;
	req.r.idiag_states = c->states;
	ret = netinfo_nl_request(NETLINK_SOCK_DIAG, &req.nh, diag_cb, c);
	/* the kernel's "no handler for this protocol"; keep -ENOENT for a vanished netns */
	return ret == -ENOENT ? -EPROTONOSUPPORT : ret;
}

static int dump_in_ns(void *arg)
{
	struct dump_ctx *c = arg;
	int ret = 0;

	if (c->family != AF_INET6)
		ret = dump_family(c, AF_INET);
	if (!ret && c->family != AF_INET)
		ret = dump_family(c, AF_INET6);
	return ret;
}

/* ---- owners ---- */

struct owner_ref {
	__u32 inode;
	struct pwhy_sock *s;
};

static int cmp_ref(const void *a, const void *b)
{
	__u32 x = ((const struct owner_ref *)a)->inode, y = ((const struct owner_ref *)b)->inode;

	return x < y ? -1 : x > y;
}

static void read_comm(int pid, char comm[16])
{
	char path[64];
	ssize_t len;
	int fd;

	comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = read(fd, comm, 15);
	close(fd);
	if (len < 0)
		len = 0;
	comm[len] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* Look through one process's fds; returns how many sockets got their owner now. */
static size_t scan_pid(int pid, struct owner_ref *refs, size_t nrefs,
		       unsigned *budget)
{
	char path[64], link[64];
	struct dirent *de;
	size_t found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return 0;	/* gone, or a kernel thread */
	while (*budget && (de = readdir(d))) {
		struct owner_ref key, *r;
		ssize_t len;
		unsigned long ino;

		if (de->d_name[0] == '.')
			continue;
		--*budget;
		len = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		key.inode = ino;
		r = bsearch(&key, refs, nrefs, sizeof(*refs), cmp_ref);
		if (!r || r->s->owner_pid)
			continue;
		r->s->owner_pid = pid;
		read_comm(pid, r->s->owner_comm);
		found++;
	}
	closedir(d);
	return found;
}

/* Fill owner_pid/owner_comm of socks in one pass over /proc. */
static int fill_owners(struct pwhy_sock *socks, size_t n)
{
	unsigned budget = OWNER_SCAN_MAX_FDS;
	size_t nrefs = 0, left, i;
	struct owner_ref *refs;
	struct dirent *de;
	DIR *proc;

	refs = malloc((n ? n : 1) * sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (socks[i].inode)	/* time-wait and request sockets have no file */
			refs[nrefs++] = (struct owner_ref){ socks[i].inode, &socks[i] };
	qsort(refs, nrefs, sizeof(*refs), cmp_ref);
	left = nrefs;
	proc = left ? opendir("/proc") : NULL;
	while (proc && left && budget && (de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (pid <= 0 || pid > INT_MAX || *end)
			continue;
		left -= scan_pid((int)pid, refs, nrefs, &budget);
	}
	if (proc)
		closedir(proc);
	free(refs);
	return 0;
}

int sockdiag_owner(__u32 inode, int *pid, char comm[16])
{
	struct pwhy_sock s = { .inode = inode };
	int ret;

	if (!inode || !pid)
		return -EINVAL;
	ret = fill_owners(&s, 1);
	if (ret)
		return ret;
	if (!s.owner_pid)
		return -ENOENT;
	*pid = s.owner_pid;
	if (comm)
		memcpy(comm, s.owner_comm, 16);
	return 0;
}

/* ---- dumps ---- */

int sockdiag_dump_states(__u32 netns_ino, int family, int proto, __u32 states,
			 struct pwhy_sock **out, size_t *n)
{
	struct dump_ctx c = { .family = family, .proto = proto, .states = states };
	int ret;

	if (!out || !n || (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC) ||
	    (proto != IPPROTO_UDP && proto != IPPROTO_TCP))
		return -EINVAL;
	*out = NULL;
	*n = 0;
	ret = netns_call(netns_ino, dump_in_ns, &c);
	if (!ret)
		ret = fill_owners(c.v, c.n);
	if (ret) {
		free(c.v);
		return ret;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

int sockdiag_dump(__u32 netns_ino, int family, int proto, struct pwhy_sock **out, size_t *n)
{
	return sockdiag_dump_states(netns_ino, family, proto,
				    proto == IPPROTO_TCP ? 1u << TCP_LISTEN : ~0u, out, n);
}
