// SPDX-License-Identifier: GPL-2.0
/* Interface, address and sysctl lookups in another network namespace.
 * Every query runs inside the namespace (netns_call): a netlink socket talks to the
 * namespace it was created in, and /proc/sys/net answers for the namespace of whoever
 * opens the file. Nothing here keeps state between calls. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include "pwhy/netinfo.h"
#include "pwhy/netns.h"

#define NL_BUF_START 32768	/* the kernel sizes dump chunks to at most this */

/* Receive one datagram into *buf, growing it to the datagram's full size first. */
static ssize_t nl_recv(int fd, char **buf, size_t *cap)
{
	ssize_t len;

	do
		len = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (len < 0 && errno == EINTR);
	if (len < 0)
		return -errno;
	if ((size_t)len > *cap) {
		char *nb = realloc(*buf, len);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = len;
	}
	do
		len = recv(fd, *buf, *cap, 0);
	while (len < 0 && errno == EINTR);
	return len < 0 ? -errno : len;
}

/* Walk one datagram: 1 when the exchange is over, 0 to read on, < 0 on error. */
static int nl_walk(char *buf, ssize_t len, __u32 seq,
		   int (*cb)(const struct nlmsghdr *nh, void *arg), void *arg)
{
	struct nlmsghdr *nh;
	int ret;

	for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
		if (nh->nlmsg_seq != seq)
			continue;
		if (nh->nlmsg_type == NLMSG_DONE) {
			/* sock_diag puts the dump's error status into DONE */
			if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) &&
			    *(int *)NLMSG_DATA(nh) < 0)
				return *(int *)NLMSG_DATA(nh);
			return 1;
		}
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			return e->error < 0 ? e->error : 1;
		}
		ret = cb(nh, arg);
		if (ret < 0)
			return ret;
		if (!(nh->nlmsg_flags & NLM_F_MULTI))
			return 1;
	}
	return 0;
}

int netinfo_nl_request(int nl_proto, struct nlmsghdr *req,
		       int (*cb)(const struct nlmsghdr *nh, void *arg), void *arg)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	size_t cap = NL_BUF_START;
	char *buf = NULL;
	ssize_t len;
	int fd, ret;

	/* A fresh socket per request: no stale replies, and the sequence can be fixed. */
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, nl_proto);
	if (fd < 0)
		return -errno;
	req->nlmsg_flags |= NLM_F_REQUEST;
	req->nlmsg_seq = 1;
	req->nlmsg_pid = 0;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0) {
		ret = -errno;
		goto out;
	}
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	do {
		len = nl_recv(fd, &buf, &cap);
		ret = len < 0 ? (int)len : nl_walk(buf, len, req->nlmsg_seq, cb, arg);
	} while (ret == 0);
	if (ret > 0)
		ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

/* ---- links ---- */

static void copy_name(char *dst, size_t size, const void *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void parse_linkinfo(struct rtattr *nest, struct pwhy_link *out)
{
	int len = RTA_PAYLOAD(nest);
	struct rtattr *rta;

	for (rta = RTA_DATA(nest); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if ((rta->rta_type & NLA_TYPE_MASK) == IFLA_INFO_KIND)
			copy_name(out->kind, sizeof(out->kind), RTA_DATA(rta), RTA_PAYLOAD(rta));
}

static int parse_link(const struct nlmsghdr *nh, void *arg)
{
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct pwhy_link *out = arg;
	struct rtattr *rta;
	int len;

	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
	if (len < 0)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	rta = (struct rtattr *)((char *)ifi + NLMSG_ALIGN(sizeof(*ifi)));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		size_t plen = RTA_PAYLOAD(rta);

		switch (rta->rta_type & NLA_TYPE_MASK) {
		case IFLA_IFNAME:
			copy_name(out->name, sizeof(out->name), RTA_DATA(rta), plen);
			break;
		case IFLA_ADDRESS:
			out->mac_len = plen < sizeof(out->mac) ? (int)plen : (int)sizeof(out->mac);
			memcpy(out->mac, RTA_DATA(rta), out->mac_len);
			break;
		case IFLA_MASTER:
			if (plen >= sizeof(__u32))
				memcpy(&out->master, RTA_DATA(rta), sizeof(__u32));
			break;
		case IFLA_LINKINFO:
			parse_linkinfo(rta, out);
			break;
		}
	}
	return 0;
}

struct link_query {
	int ifindex;
	const char *name;
	struct pwhy_link *out;
};

/* Append attribute type to the message at the start of buf (size bytes in all). */
int netinfo_nl_attr(void *msg, size_t size, int type, const void *data, size_t len)
{
	struct nlmsghdr *nh = msg;
	char *buf = msg;
	size_t off = NLMSG_ALIGN(nh->nlmsg_len);
	struct rtattr *rta;

	if (off + RTA_SPACE(len) > size)
		return -E2BIG;
	rta = (struct rtattr *)(buf + off);
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = off + RTA_SPACE(len);
	return 0;
}

static int link_in_ns(void *arg)
{
	struct link_query *q = arg;
	union {
		struct nlmsghdr nh;
		char buf[NLMSG_SPACE(sizeof(struct ifinfomsg)) + 64];
	} req;
	struct ifinfomsg *ifi = NLMSG_DATA(&req.nh);
	/* statistics are most of a link message and we never read them */
	__u32 ext = RTEXT_FILTER_SKIP_STATS;
	int ret;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	req.nh.nlmsg_type = RTM_GETLINK;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = q->ifindex;
	ret = q->name ? netinfo_nl_attr(req.buf, sizeof(req), IFLA_IFNAME, q->name,
				 strlen(q->name) + 1) : 0;
	if (!ret)
		ret = netinfo_nl_attr(req.buf, sizeof(req), IFLA_EXT_MASK, &ext, sizeof(ext));
	if (ret)
		return ret;

	q->out->ifindex = 0;
	ret = netinfo_nl_request(NETLINK_ROUTE, &req.nh, parse_link, q->out);
	if (ret == 0 && !q->out->ifindex)
		ret = -ENODEV;
	return ret;
}

int netinfo_link(__u32 netns_ino, int ifindex, struct pwhy_link *out)
{
	struct link_query q = { .ifindex = ifindex, .out = out };

	if (ifindex <= 0 || !out)
		return -EINVAL;
	return netns_call(netns_ino, link_in_ns, &q);
}

int netinfo_link_by_name(__u32 netns_ino, const char *name, struct pwhy_link *out)
{
	struct link_query q = { .name = name, .out = out };

	if (!name || !*name || strlen(name) >= sizeof(out->name) || !out)
		return -EINVAL;
	return netns_call(netns_ino, link_in_ns, &q);
}

/* ---- addresses ---- */

struct addr_query {
	int family;
	const void *addr;
	int *ifindexes;
	int max;
	int n;
};

static int addr_cb(const struct nlmsghdr *nh, void *arg)
{
	struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	size_t alen = 0, want;
	struct addr_query *q = arg;
	const void *local = NULL;
	struct rtattr *rta;
	int len, i;

	if (nh->nlmsg_type != RTM_NEWADDR)
		return 0;
	len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifa));
	if (len < 0)
		return -EBADMSG;
	if (ifa->ifa_family != q->family)
		return 0;
	/* IFA_LOCAL is the local side when present (it differs from IFA_ADDRESS only on
	 * point-to-point links, where IFA_ADDRESS is the peer); IPv6 often sends only
	 * IFA_ADDRESS. */
	rta = (struct rtattr *)((char *)ifa + NLMSG_ALIGN(sizeof(*ifa)));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFA_LOCAL || (rta->rta_type == IFA_ADDRESS && !local)) {
			local = RTA_DATA(rta);
			alen = RTA_PAYLOAD(rta);
		}
	}
	want = q->family == AF_INET ? 4 : 16;
	if (!local || alen != want || memcmp(local, q->addr, want))
		return 0;
	for (i = 0; i < q->n; i++)
		if (q->ifindexes[i] == (int)ifa->ifa_index)
			return 0;
	if (q->n < q->max)
		q->ifindexes[q->n++] = ifa->ifa_index;
	return 0;
}

static int addr_in_ns(void *arg)
{
	struct addr_query *q = arg;
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = RTM_GETADDR;
	req.nh.nlmsg_flags = NLM_F_DUMP;
	req.ifa.ifa_family = q->family;
	q->n = 0;
	ret = netinfo_nl_request(NETLINK_ROUTE, &req.nh, addr_cb, q);
	return ret < 0 ? ret : q->n;
}

int netinfo_addr_owners(__u32 netns_ino, int family, const void *addr, int *ifindexes,
			int max)
{
	struct addr_query q = { .family = family, .addr = addr, .ifindexes = ifindexes,
				.max = max };

	if ((family != AF_INET && family != AF_INET6) || !addr || max < 0 ||
	    (max && !ifindexes))
		return -EINVAL;
	return netns_call(netns_ino, addr_in_ns, &q);
}

/* ---- sysctl ---- */

struct sysctl_query {
	char path[256];
	long *value;
};

static int sysctl_in_ns(void *arg)
{
	struct sysctl_query *q = arg;
	char buf[64], *end;
	ssize_t len;
	int fd;

	fd = open(q->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	errno = 0;
	*q->value = strtol(buf, &end, 10);
	if (end == buf || errno)
		return -EINVAL;
	return 0;
}

int netinfo_sysctl(__u32 netns_ino, const char *path, long *value)
{
	struct sysctl_query q = { .value = value };
	int n, dotted;
	char *p;

	if (!path || !*path || *path == '/' || strstr(path, "..") || !value)
		return -EINVAL;
	dotted = !strchr(path, '/');
	n = snprintf(q.path, sizeof(q.path), "/proc/sys/%s", path);
	if (n < 0 || n >= (int)sizeof(q.path))
		return -ENAMETOOLONG;
	if (dotted)
		for (p = q.path + strlen("/proc/sys/"); *p; p++)
			if (*p == '.')
				*p = '/';
	return netns_call(netns_ino, sysctl_in_ns, &q);
}
