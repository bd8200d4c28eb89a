/*
 * nettool - a small, fast socket helper for pwhy's scenario tests.
 *
 * One binary, several subcommands (udp-send, udp-serve, tproxy-proxy,
 * tcp-serve, tcp-connect, ifindex).  Every event prints exactly one line
 * on stdout so shell tests can grep for it.
 *
 * Exit codes: 0 success, 1 the expected thing did not happen (no reply,
 * timeout, send/connect failure), 2 usage or system error (one line on
 * stderr).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IP_ORIGDSTADDR
#define IP_ORIGDSTADDR 20
#endif
#ifndef IP_RECVORIGDSTADDR
#define IP_RECVORIGDSTADDR IP_ORIGDSTADDR
#endif
#ifndef IP_UNICAST_IF
#define IP_UNICAST_IF 50
#endif
#ifndef IPV6_ORIGDSTADDR
#define IPV6_ORIGDSTADDR 74
#endif
#ifndef IPV6_RECVORIGDSTADDR
#define IPV6_RECVORIGDSTADDR IPV6_ORIGDSTADDR
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef IPV6_UNICAST_IF
#define IPV6_UNICAST_IF 76
#endif

#define RC_OK   0
#define RC_FAIL 1
#define RC_ERR  2

#define ADDRSTR_LEN (INET6_ADDRSTRLEN + IF_NAMESIZE + 16)
#define MAX_DGRAM   65536
#define SHOW_MAX    200 /* payload bytes shown on a result line */

static const char usage_text[] =
"usage: nettool SUBCOMMAND [OPTIONS]\n"
"\n"
"Addresses: IPv4 as A.B.C.D:PORT, IPv6 in brackets as [V6ADDR]:PORT\n"
"(link-local scope as [fe80::1%IFNAME]:PORT).  ADDR without port (for\n"
"--pktinfo-src) is A.B.C.D, V6ADDR or [V6ADDR].\n"
"\n"
"Common: --timeout MS  wait at most MS ms for each awaited event\n"
"                      (default 2000, 0 = wait forever)\n"
"\n"
"  udp-send --to ADDR:PORT [--from ADDR:PORT] [--bind-dev IF] [--mark N]\n"
"           [--pktinfo-if IF] [--pktinfo-src ADDR] [--unicast-if IF]\n"
"           [--dontroute] [--msg-dontroute] [--transparent] [--connect]\n"
"           [--count N] [--payload TEXT] [--wait-reply]\n"
"      Sends N (default 1) datagrams with sendmsg.  --pktinfo-if/-src add an\n"
"      IP_PKTINFO / IPV6_PKTINFO cmsg; --unicast-if sets IP(V6)_UNICAST_IF;\n"
"      --dontroute sets SO_DONTROUTE; --msg-dontroute passes MSG_DONTROUTE;\n"
"      --connect connects first and sends without an address.  With\n"
"      --wait-reply it waits for one reply after each datagram.\n"
"      prints: sent N bytes to ADDR:PORT | send error: MSG (errno N)\n"
"              reply from ADDR:PORT: PAYLOAD | no reply\n"
"              recv error: MSG (errno N) | connect error: MSG (errno N)\n"
"\n"
"  udp-serve --listen ADDR:PORT [--bind-dev IF] [--count N] [--echo]\n"
"           [--reply TEXT] [--transparent] [--dual] [--ready-file PATH]\n"
"      Receives N (default 1, 0 = unlimited) datagrams, optionally answering\n"
"      each with its own payload (--echo) or TEXT, from the address it was\n"
"      sent to.  IPv6 sockets are V6ONLY unless --dual.  --ready-file is\n"
"      created once the socket is bound.\n"
"      prints: got N bytes from ADDR:PORT: PAYLOAD\n"
"              replied N bytes to ADDR:PORT | reply error: MSG (errno N)\n"
"              timeout (got N of M)\n"
"\n"
"  tproxy-proxy --listen ADDR:PORT --reply-mode plain|transparent|listener\n"
"           [--reply TEXT] [--count N] [--ready-file PATH]\n"
"      UDP endpoint for netfilter TPROXY: the socket has IP(V6)_TRANSPARENT\n"
"      and IP(V6)_RECVORIGDSTADDR.  Each datagram is answered with TEXT\n"
"      (default \"answer\") from: plain = a new unbound ordinary socket (the\n"
"      classic bug, the client drops it); transparent = a new\n"
"      IP_TRANSPARENT socket bound to the original destination (correct);\n"
"      listener = the listening socket itself (also wrong).\n"
"      prints: proxied N bytes from CLIENT orig-dst ORIGDST\n"
"              replied to CLIENT from plain|ORIGDST|listener\n"
"              reply error: MSG (errno N) | timeout (got N of M)\n"
"\n"
"  tcp-serve --listen ADDR:PORT [--bind-dev IF] [--transparent] [--dual]\n"
"           [--count N] [--ready-file PATH]\n"
"      Accepts N (default 1, 0 = unlimited) connections one after another;\n"
"      echoes every byte back until EOF or until a newline has been received.\n"
"      prints: accepted from ADDR:PORT | echoed N bytes\n"
"              echo error: MSG (errno N) | timeout (got N of M)\n"
"\n"
"  tcp-connect --to ADDR:PORT [--from ADDR:PORT] [--bind-dev IF] [--mark N]\n"
"           [--bytes N]\n"
"      Connects, sends N bytes (default the line \"hello\\n\"; bulk data has\n"
"      no newline), half-closes, reads the echo and checks it.\n"
"      prints: connected to ADDR:PORT from ADDR:PORT\n"
"              connect error: MSG (errno N)\n"
"              echo ok N bytes | echo short: got N of M bytes\n"
"              echo mismatch at byte N | echo error: MSG (errno N)\n"
"\n"
"  pkt-recv --bind-dev IF [--count N] [--ready-file PATH]\n"
"      Reads N (default 1) frames from an AF_PACKET socket on IF (the kernel\n"
"      hands it a clone of each frame).\n"
"      prints: frame N bytes | timeout (got N of M)\n"
"\n"
"  ifindex IFNAME\n"
"      prints the interface index\n"
"\n"
"Exit: 0 success, 1 expected event did not happen, 2 usage/system error.\n";

static const char *prog_cmd = "nettool";

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(RC_ERR);
}

#define die_errno(what) die("%s: %s (errno %d)", (what), strerror(errno), errno)

/* ---------------------------------------------------------------- options */

enum opt_id {
	O_TIMEOUT = 1, O_TO, O_FROM, O_LISTEN, O_BIND_DEV, O_PKTINFO_IF,
	O_PKTINFO_SRC, O_UNICAST_IF, O_DONTROUTE, O_MSG_DONTROUTE, O_CONNECT,
	O_COUNT, O_PAYLOAD, O_WAIT_REPLY, O_ECHO, O_REPLY, O_TRANSPARENT,
	O_READY_FILE, O_DUAL, O_REPLY_MODE, O_BYTES, O_MARK, O_HELP,
};

#define B(x) (1ULL << (x))

/* Same order as enum opt_id: long_opts[id - 1] describes option id. */
static const struct option long_opts[] = {
	{ "timeout",       required_argument, NULL, O_TIMEOUT },
	{ "to",            required_argument, NULL, O_TO },
	{ "from",          required_argument, NULL, O_FROM },
	{ "listen",        required_argument, NULL, O_LISTEN },
	{ "bind-dev",      required_argument, NULL, O_BIND_DEV },
	{ "pktinfo-if",    required_argument, NULL, O_PKTINFO_IF },
	{ "pktinfo-src",   required_argument, NULL, O_PKTINFO_SRC },
	{ "unicast-if",    required_argument, NULL, O_UNICAST_IF },
	{ "dontroute",     no_argument,       NULL, O_DONTROUTE },
	{ "msg-dontroute", no_argument,       NULL, O_MSG_DONTROUTE },
	{ "connect",       no_argument,       NULL, O_CONNECT },
	{ "count",         required_argument, NULL, O_COUNT },
	{ "payload",       required_argument, NULL, O_PAYLOAD },
	{ "wait-reply",    no_argument,       NULL, O_WAIT_REPLY },
	{ "echo",          no_argument,       NULL, O_ECHO },
	{ "reply",         required_argument, NULL, O_REPLY },
	{ "transparent",   no_argument,       NULL, O_TRANSPARENT },
	{ "ready-file",    required_argument, NULL, O_READY_FILE },
	{ "dual",          no_argument,       NULL, O_DUAL },
	{ "reply-mode",    required_argument, NULL, O_REPLY_MODE },
	{ "bytes",         required_argument, NULL, O_BYTES },
	{ "mark",          required_argument, NULL, O_MARK },
	{ "help",          no_argument,       NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

_Static_assert(sizeof(long_opts) / sizeof(long_opts[0]) == O_HELP + 1, "long_opts out of sync");

enum reply_mode { RM_NONE, RM_PLAIN, RM_TRANSPARENT, RM_LISTENER };

struct opts {
	int timeout_ms;
	struct sockaddr_storage to, from, listen, pktinfo_src;
	socklen_t to_len, from_len, listen_len;
	int have_to, have_from, have_listen, have_pktinfo_src;
	const char *bind_dev, *pktinfo_if, *unicast_if;
	const char *payload, *reply, *ready_file;
	int dontroute, msg_dontroute, do_connect, wait_reply, echo;
	int transparent, dual;
	long count;
	int have_count;
	long bytes;
	int have_bytes;
	unsigned int mark;
	int have_mark;
	enum reply_mode reply_mode;
};

static long parse_num(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		die("bad %s '%s' (want %ld..%ld)", what, s, min, max);
	return v;
}

static unsigned int ifindex_of(const char *name)
{
	unsigned int idx;

	if (!*name)
		die("empty interface name");
	idx = if_nametoindex(name);
	if (!idx)
		die("no such interface '%s'", name);
	return idx;
}

/*
 * Parse "A.B.C.D:PORT", "[V6]:PORT" (need_port) or "A.B.C.D", "V6",
 * "[V6]" (!need_port).  V6 may carry a "%IFNAME" or "%N" scope.
 */
static void parse_addr(const char *s, int need_port, struct sockaddr_storage *ss,
		       socklen_t *len, const char *what)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *port = NULL;
	const char *p;
	char *scope;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		p = strchr(s, ']');
		if (!p)
			die("bad %s '%s': missing ']'", what, s);
		hl = (size_t)(p - s - 1);
		if (p[1] == ':')
			port = p + 2;
		else if (p[1])
			die("bad %s '%s': want [V6ADDR]:PORT", what, s);
		if (hl >= sizeof(host))
			die("bad %s '%s'", what, s);
		memcpy(host, s + 1, hl);
		host[hl] = 0;
	} else {
		p = strchr(s, ':');
		if (p && strchr(p + 1, ':')) {
			/* bare IPv6 */
			if (need_port)
				die("bad %s '%s': write IPv6 as [V6ADDR]:PORT", what, s);
			hl = strlen(s);
		} else {
			hl = p ? (size_t)(p - s) : strlen(s);
			if (p)
				port = p + 1;
		}
		if (hl >= sizeof(host))
			die("bad %s '%s'", what, s);
		memcpy(host, s, hl);
		host[hl] = 0;
	}
	if (need_port && !port)
		die("bad %s '%s': port missing", what, s);
	if (!need_port && port)
		die("bad %s '%s': no port expected", what, s);

	scope = strchr(host, '%');
	if (scope)
		*scope++ = 0;

	if (!scope && inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		if (port)
			sin->sin_port = htons((uint16_t)parse_num(port, "port", 0, 65535));
		*len = sizeof(*sin);
		return;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		if (port)
			sin6->sin6_port = htons((uint16_t)parse_num(port, "port", 0, 65535));
		if (scope) {
			if (isdigit((unsigned char)scope[0]))
				sin6->sin6_scope_id = (uint32_t)parse_num(scope, "scope id", 1, INT_MAX);
			else
				sin6->sin6_scope_id = ifindex_of(scope);
		}
		*len = sizeof(*sin6);
		return;
	}
	die("bad %s '%s': not an IPv4 or IPv6 address", what, s);
}

static const char *fmt_addr(const struct sockaddr *sa, char *buf, size_t n)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, n, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		char scope[IF_NAMESIZE + 2] = "";

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		if (sin6->sin6_scope_id) {
			char ifn[IF_NAMESIZE];

			if (if_indextoname(sin6->sin6_scope_id, ifn))
				snprintf(scope, sizeof(scope), "%%%s", ifn);
			else
				snprintf(scope, sizeof(scope), "%%%u", sin6->sin6_scope_id);
		}
		snprintf(buf, n, "[%s%s]:%u", host, scope, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, n, "(family %d)", sa->sa_family);
	}
	return buf;
}

/* Payload as one printable line. */
static const char *show(const char *data, size_t n, char *buf, size_t bufsz)
{
	size_t i, k = 0, lim = n < SHOW_MAX ? n : SHOW_MAX;

	for (i = 0; i < lim && k + 4 < bufsz; i++) {
		unsigned char c = (unsigned char)data[i];

		buf[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
	}
	if (lim < n && k + 4 < bufsz) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = 0;
	return buf;
}

static void parse_opts(int argc, char **argv, unsigned long long allowed, struct opts *o)
{
	int c, idx;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 2000;
	o->count = 1;
	allowed |= B(O_TIMEOUT) | B(O_HELP);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", long_opts, &idx)) != -1) {
		if (c == 'h')
			c = O_HELP;
		if (c == '?' || c == ':') {
			if (optopt >= O_TIMEOUT && optopt <= O_HELP)
				die("option '--%s' needs an argument", long_opts[optopt - 1].name);
			if (optopt)
				die("unknown option '-%c' (try --help)", optopt);
			die("unknown option '%s' (try --help)", argv[optind - 1]);
		}
		if (!(allowed & B(c)))
			die("option '--%s' not valid for this subcommand (try --help)", long_opts[c - 1].name);
		switch (c) {
		case O_HELP:
			fputs(usage_text, stdout);
			exit(RC_OK);
		case O_TIMEOUT:
			o->timeout_ms = (int)parse_num(optarg, "--timeout", 0, INT_MAX);
			break;
		case O_TO:
			parse_addr(optarg, 1, &o->to, &o->to_len, "--to");
			o->have_to = 1;
			break;
		case O_FROM:
			parse_addr(optarg, 1, &o->from, &o->from_len, "--from");
			o->have_from = 1;
			break;
		case O_LISTEN:
			parse_addr(optarg, 1, &o->listen, &o->listen_len, "--listen");
			o->have_listen = 1;
			break;
		case O_PKTINFO_SRC: {
			socklen_t l;

			parse_addr(optarg, 0, &o->pktinfo_src, &l, "--pktinfo-src");
			o->have_pktinfo_src = 1;
			break;
		}
		case O_BIND_DEV:      o->bind_dev = optarg; break;
		case O_PKTINFO_IF:    o->pktinfo_if = optarg; break;
		case O_UNICAST_IF:    o->unicast_if = optarg; break;
		case O_DONTROUTE:     o->dontroute = 1; break;
		case O_MSG_DONTROUTE: o->msg_dontroute = 1; break;
		case O_CONNECT:       o->do_connect = 1; break;
		case O_COUNT:
			o->count = parse_num(optarg, "--count", 0, INT_MAX);
			o->have_count = 1;
			break;
		case O_PAYLOAD:       o->payload = optarg; break;
		case O_WAIT_REPLY:    o->wait_reply = 1; break;
		case O_ECHO:          o->echo = 1; break;
		case O_REPLY:         o->reply = optarg; break;
		case O_TRANSPARENT:   o->transparent = 1; break;
		case O_READY_FILE:    o->ready_file = optarg; break;
		case O_DUAL:          o->dual = 1; break;
		case O_REPLY_MODE:
			if (!strcmp(optarg, "plain"))
				o->reply_mode = RM_PLAIN;
			else if (!strcmp(optarg, "transparent"))
				o->reply_mode = RM_TRANSPARENT;
			else if (!strcmp(optarg, "listener"))
				o->reply_mode = RM_LISTENER;
			else
				die("bad --reply-mode '%s' (plain|transparent|listener)", optarg);
			break;
		case O_BYTES:
			o->bytes = parse_num(optarg, "--bytes", 0, 1L << 30);
			o->have_bytes = 1;
			break;
		case O_MARK:
			o->mark = (unsigned int)parse_num(optarg, "--mark", 0, 0xffffffffL);
			o->have_mark = 1;
			break;
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (try --help)", argv[optind]);
}

/* ------------------------------------------------------------ socket bits */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadline for the next awaited event; -1 = never. */
static long long deadline_in(const struct opts *o)
{
	return o->timeout_ms ? now_ms() + o->timeout_ms : -1;
}

/* 1 ready, 0 timed out.  Errors other than EINTR are fatal. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r, t;

	for (;;) {
		if (deadline < 0) {
			t = -1;
		} else {
			long long left = deadline - now_ms();

			t = left > 0 ? (int)(left > INT_MAX ? INT_MAX : left) : 0;
		}
		r = poll(&p, 1, t);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			die_errno("poll");
	}
}

static void setopt_int(int fd, int level, int name, int val, const char *what)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)) < 0)
		die_errno(what);
}

static int xsocket(int family, int type)
{
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die_errno("socket");
	return fd;
}

static void set_bind_dev(int fd, const char *dev)
{
	if (dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev) + 1) < 0)
		die("SO_BINDTODEVICE %s: %s (errno %d)", dev, strerror(errno), errno);
}

static void set_transparent(int fd, int family)
{
	if (family == AF_INET6)
		setopt_int(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, 1, "IPV6_TRANSPARENT");
	else
		setopt_int(fd, IPPROTO_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT");
}

static void set_v6only(int fd, int family, int dual)
{
	if (family == AF_INET6)
		setopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? 0 : 1, "IPV6_V6ONLY");
}

static void xbind(int fd, const struct sockaddr_storage *ss, socklen_t len, const char *what)
{
	char a[ADDRSTR_LEN];

	if (bind(fd, (const struct sockaddr *)ss, len) < 0)
		die("%s %s: bind: %s (errno %d)", what, fmt_addr((const struct sockaddr *)ss, a, sizeof(a)),
		    strerror(errno), errno);
}

static void touch_ready(const char *path)
{
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("--ready-file %s: %s (errno %d)", path, strerror(errno), errno);
	close(fd);
}

static void check_family(const struct opts *o, int have, const struct sockaddr_storage *ss, int family,
			 const char *what)
{
	if (have && ss->ss_family != family)
		die("%s must be the same address family as the destination/listen address", what);
}

/* --------------------------------------------------------------- udp-send */

static int cmd_udp_send(struct opts *o)
{
	int family = o->to.ss_family;
	const char *payload = o->payload ? o->payload : "hello";
	size_t plen = strlen(payload);
	char to_s[ADDRSTR_LEN], a[ADDRSTR_LEN], show_buf[SHOW_MAX + 8];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	static char rbuf[MAX_DGRAM];
	unsigned int pi_ifindex = 0;
	int use_pktinfo = o->pktinfo_if || o->have_pktinfo_src;
	int rc = RC_OK, fd;
	long i;

	if (!o->have_to)
		die("--to ADDR:PORT is required");
	check_family(o, o->have_from, &o->from, family, "--from");
	check_family(o, o->have_pktinfo_src, &o->pktinfo_src, family, "--pktinfo-src");
	if (o->pktinfo_if)
		pi_ifindex = ifindex_of(o->pktinfo_if);
	fmt_addr((struct sockaddr *)&o->to, to_s, sizeof(to_s));

	fd = xsocket(family, SOCK_DGRAM);
	set_bind_dev(fd, o->bind_dev);
	if (o->have_mark)
		setopt_int(fd, SOL_SOCKET, SO_MARK, (int)o->mark, "SO_MARK");
	if (o->dontroute)
		setopt_int(fd, SOL_SOCKET, SO_DONTROUTE, 1, "SO_DONTROUTE");
	if (o->unicast_if) {
		int v = (int)htonl(ifindex_of(o->unicast_if));

		if (family == AF_INET6)
			setopt_int(fd, IPPROTO_IPV6, IPV6_UNICAST_IF, v, "IPV6_UNICAST_IF");
		else
			setopt_int(fd, IPPROTO_IP, IP_UNICAST_IF, v, "IP_UNICAST_IF");
	}
	if (o->transparent)
		set_transparent(fd, family);
	if (o->have_from)
		xbind(fd, &o->from, o->from_len, "--from");
	if (o->do_connect && connect(fd, (struct sockaddr *)&o->to, o->to_len) < 0) {
		printf("connect error: %s (errno %d)\n", strerror(errno), errno);
		return RC_FAIL;
	}

	for (i = 0; i < o->count; i++) {
		struct iovec iov = { .iov_base = (void *)payload, .iov_len = plen };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (!o->do_connect) {
			msg.msg_name = &o->to;
			msg.msg_namelen = o->to_len;
		}
		if (use_pktinfo) {
			struct cmsghdr *cm;

			memset(&cbuf, 0, sizeof(cbuf));
			msg.msg_control = cbuf.buf;
			cm = (struct cmsghdr *)cbuf.buf;
			if (family == AF_INET) {
				struct in_pktinfo pi = { .ipi_ifindex = (int)pi_ifindex };

				if (o->have_pktinfo_src)
					pi.ipi_spec_dst = ((struct sockaddr_in *)&o->pktinfo_src)->sin_addr;
				msg.msg_controllen = CMSG_SPACE(sizeof(pi));
				cm->cmsg_level = IPPROTO_IP;
				cm->cmsg_type = IP_PKTINFO;
				cm->cmsg_len = CMSG_LEN(sizeof(pi));
				memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
			} else {
				struct in6_pktinfo pi = { .ipi6_ifindex = pi_ifindex };

				if (o->have_pktinfo_src)
					pi.ipi6_addr = ((struct sockaddr_in6 *)&o->pktinfo_src)->sin6_addr;
				msg.msg_controllen = CMSG_SPACE(sizeof(pi));
				cm->cmsg_level = IPPROTO_IPV6;
				cm->cmsg_type = IPV6_PKTINFO;
				cm->cmsg_len = CMSG_LEN(sizeof(pi));
				memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
			}
		}
		n = sendmsg(fd, &msg, o->msg_dontroute ? MSG_DONTROUTE : 0);
		if (n < 0) {
			printf("send error: %s (errno %d)\n", strerror(errno), errno);
			rc = RC_FAIL;
			continue;
		}
		printf("sent %zd bytes to %s\n", n, to_s);

		if (o->wait_reply) {
			long long dl = deadline_in(o);
			struct sockaddr_storage peer;
			socklen_t pl = sizeof(peer);

			if (!wait_fd(fd, POLLIN, dl)) {
				printf("no reply\n");
				rc = RC_FAIL;
				continue;
			}
			n = recvfrom(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT, (struct sockaddr *)&peer, &pl);
			if (n < 0) {
				printf("recv error: %s (errno %d)\n", strerror(errno), errno);
				rc = RC_FAIL;
				continue;
			}
			printf("reply from %s: %s\n", fmt_addr((struct sockaddr *)&peer, a, sizeof(a)),
			       show(rbuf, (size_t)n, show_buf, sizeof(show_buf)));
		}
	}
	close(fd);
	return rc;
}

/* -------------------------------------------------------------- udp-serve */

struct dgram {
	ssize_t len;
	struct sockaddr_storage peer;
	int have_local;             /* destination address from PKTINFO */
	struct in_pktinfo pi4;
	struct in6_pktinfo pi6;
	int have_orig;              /* original destination (TPROXY) */
	struct sockaddr_storage orig;
};

static void recv_dgram(int fd, char *buf, size_t bufsz, struct dgram *d)
{
	union {
		char buf[512];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = bufsz };
	struct msghdr msg = {
		.msg_name = &d->peer, .msg_namelen = sizeof(d->peer),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm;

	memset(d, 0, sizeof(*d));
	d->len = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (d->len < 0)
		die_errno("recvmsg");
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			memcpy(&d->pi4, CMSG_DATA(cm), sizeof(d->pi4));
			d->have_local = AF_INET;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			memcpy(&d->pi6, CMSG_DATA(cm), sizeof(d->pi6));
			if (!IN6_IS_ADDR_V4MAPPED(&d->pi6.ipi6_addr))
				d->have_local = AF_INET6;
		} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_ORIGDSTADDR) {
			memcpy(&d->orig, CMSG_DATA(cm), sizeof(struct sockaddr_in));
			d->have_orig = 1;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_ORIGDSTADDR) {
			memcpy(&d->orig, CMSG_DATA(cm), sizeof(struct sockaddr_in6));
			d->have_orig = 1;
		}
	}
}

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static int is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Reply from the address the datagram was sent to (matters on wildcard sockets). */
static ssize_t send_reply(int fd, const char *data, size_t len, const struct dgram *d, int use_local)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = {
		.msg_name = (void *)&d->peer, .msg_namelen = sa_len(&d->peer),
		.msg_iov = &iov, .msg_iovlen = 1,
	};

	if (use_local && d->have_local) {
		struct cmsghdr *cm = (struct cmsghdr *)cbuf.buf;

		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		if (d->have_local == AF_INET) {
			struct in_pktinfo pi = { .ipi_spec_dst = d->pi4.ipi_addr };

			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			cm->cmsg_level = IPPROTO_IP;
			cm->cmsg_type = IP_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		} else {
			struct in6_pktinfo pi = { .ipi6_addr = d->pi6.ipi6_addr };

			if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				pi.ipi6_ifindex = d->pi6.ipi6_ifindex;
			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		}
	}
	return sendmsg(fd, &msg, 0);
}

static int cmd_udp_serve(struct opts *o)
{
	int family = o->listen.ss_family;
	int wild, fd;
	static char buf[MAX_DGRAM];
	char a[ADDRSTR_LEN], show_buf[SHOW_MAX + 8];
	long got = 0;
	int rc = RC_OK;

	if (!o->have_listen)
		die("--listen ADDR:PORT is required");
	if (o->echo && o->reply)
		die("--echo and --reply are mutually exclusive");
	wild = is_wildcard(&o->listen);

	fd = xsocket(family, SOCK_DGRAM);
	setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	set_v6only(fd, family, o->dual);
	set_bind_dev(fd, o->bind_dev);
	if (o->transparent)
		set_transparent(fd, family);
	if (wild) {
		if (family == AF_INET6)
			setopt_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
		else
			setopt_int(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
	}
	xbind(fd, &o->listen, o->listen_len, "--listen");
	touch_ready(o->ready_file);

	while (o->count == 0 || got < o->count) {
		struct dgram d;
		const char *r;
		size_t rlen;
		ssize_t n;

		if (!wait_fd(fd, POLLIN, deadline_in(o))) {
			printf("timeout (got %ld of %ld)\n", got, o->count);
			return RC_FAIL;
		}
		recv_dgram(fd, buf, sizeof(buf), &d);
		got++;
		printf("got %zd bytes from %s: %s\n", d.len, fmt_addr((struct sockaddr *)&d.peer, a, sizeof(a)),
		       show(buf, (size_t)d.len, show_buf, sizeof(show_buf)));
		if (!o->echo && !o->reply)
			continue;
		r = o->echo ? buf : o->reply;
		rlen = o->echo ? (size_t)d.len : strlen(o->reply);
		n = send_reply(fd, r, rlen, &d, wild);
		if (n < 0) {
			printf("reply error: %s (errno %d)\n", strerror(errno), errno);
			rc = RC_FAIL;
		} else {
			printf("replied %zd bytes to %s\n", n, a);
		}
	}
	close(fd);
	return rc;
}

/* ----------------------------------------------------------- tproxy-proxy */

static int cmd_tproxy_proxy(struct opts *o)
{
	int family = o->listen.ss_family;
	const char *reply = o->reply ? o->reply : "answer";
	size_t rlen = strlen(reply);
	static char buf[MAX_DGRAM];
	char cl[ADDRSTR_LEN], od[ADDRSTR_LEN];
	long got = 0;
	int rc = RC_OK, fd;

	if (!o->have_listen)
		die("--listen ADDR:PORT is required");
	if (o->reply_mode == RM_NONE)
		die("--reply-mode plain|transparent|listener is required");

	fd = xsocket(family, SOCK_DGRAM);
	setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	set_v6only(fd, family, 0);
	set_transparent(fd, family);
	if (family == AF_INET6)
		setopt_int(fd, IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, 1, "IPV6_RECVORIGDSTADDR");
	else
		setopt_int(fd, IPPROTO_IP, IP_RECVORIGDSTADDR, 1, "IP_RECVORIGDSTADDR");
	xbind(fd, &o->listen, o->listen_len, "--listen");
	touch_ready(o->ready_file);

	while (o->count == 0 || got < o->count) {
		struct dgram d;
		const char *from_s;
		int rfd = -1;
		ssize_t n;

		if (!wait_fd(fd, POLLIN, deadline_in(o))) {
			printf("timeout (got %ld of %ld)\n", got, o->count);
			return RC_FAIL;
		}
		recv_dgram(fd, buf, sizeof(buf), &d);
		got++;
		fmt_addr((struct sockaddr *)&d.peer, cl, sizeof(cl));
		if (d.have_orig)
			fmt_addr((struct sockaddr *)&d.orig, od, sizeof(od));
		else
			snprintf(od, sizeof(od), "none");
		printf("proxied %zd bytes from %s orig-dst %s\n", d.len, cl, od);

		switch (o->reply_mode) {
		case RM_PLAIN:
			rfd = xsocket(d.peer.ss_family, SOCK_DGRAM);
			from_s = "plain";
			break;
		case RM_TRANSPARENT:
			if (!d.have_orig)
				die("no original destination in cmsg (is this TPROXY traffic?)");
			rfd = xsocket(d.orig.ss_family, SOCK_DGRAM);
			setopt_int(rfd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
			set_transparent(rfd, d.orig.ss_family);
			xbind(rfd, &d.orig, sa_len(&d.orig), "reply socket");
			from_s = od;
			break;
		default:
			from_s = "listener";
			break;
		}
		n = sendto(rfd >= 0 ? rfd : fd, reply, rlen, 0, (struct sockaddr *)&d.peer, sa_len(&d.peer));
		if (n < 0) {
			printf("reply error: %s (errno %d)\n", strerror(errno), errno);
			rc = RC_FAIL;
		} else {
			printf("replied to %s from %s\n", cl, from_s);
		}
		if (rfd >= 0)
			close(rfd);
	}
	close(fd);
	return rc;
}

/* -------------------------------------------------------------------- tcp */

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die_errno("fcntl");
}

/* 0 ok, -1 error (errno set), -2 timeout */
static int write_all(int fd, const char *p, size_t n, const struct opts *o)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -1;
		if (!wait_fd(fd, POLLOUT, deadline_in(o)))
			return -2;
	}
	return 0;
}

static int cmd_tcp_serve(struct opts *o)
{
	int family = o->listen.ss_family;
	static char buf[65536];
	char a[ADDRSTR_LEN];
	long done = 0;
	int rc = RC_OK, lfd;

	if (!o->have_listen)
		die("--listen ADDR:PORT is required");

	lfd = xsocket(family, SOCK_STREAM);
	setopt_int(lfd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	set_v6only(lfd, family, o->dual);
	set_bind_dev(lfd, o->bind_dev);
	if (o->transparent)
		set_transparent(lfd, family);
	xbind(lfd, &o->listen, o->listen_len, "--listen");
	if (listen(lfd, 16) < 0)
		die_errno("listen");
	set_nonblock(lfd);
	touch_ready(o->ready_file);

	while (o->count == 0 || done < o->count) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		long long total = 0;
		int fd;

		if (!wait_fd(lfd, POLLIN, deadline_in(o))) {
			printf("timeout (got %ld of %ld)\n", done, o->count);
			return RC_FAIL;
		}
		fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				continue;
			die_errno("accept");
		}
		done++;
		printf("accepted from %s\n", fmt_addr((struct sockaddr *)&peer, a, sizeof(a)));
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			int w;

			if (n == 0)
				break;
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN) {
					if (wait_fd(fd, POLLIN, deadline_in(o)))
						continue;
					printf("echo error: timeout after %lld bytes\n", total);
					rc = RC_FAIL;
					break;
				}
				printf("echo error: %s (errno %d)\n", strerror(errno), errno);
				rc = RC_FAIL;
				break;
			}
			w = write_all(fd, buf, (size_t)n, o);
			if (w == -2) {
				printf("echo error: timeout after %lld bytes\n", total);
				rc = RC_FAIL;
				break;
			}
			if (w < 0) {
				printf("echo error: %s (errno %d)\n", strerror(errno), errno);
				rc = RC_FAIL;
				break;
			}
			total += n;
			if (memchr(buf, '\n', (size_t)n))
				break;
		}
		if (rc == RC_OK)
			printf("echoed %lld bytes\n", total);
		close(fd);
	}
	close(lfd);
	return rc;
}

static int cmd_tcp_connect(struct opts *o)
{
	int family = o->to.ss_family;
	char to_s[ADDRSTR_LEN], lo_s[ADDRSTR_LEN];
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	size_t want, sent = 0, got = 0, i;
	char *sbuf, *rbuf;
	int fd, err = 0, shut = 0;
	socklen_t el = sizeof(err);

	if (!o->have_to)
		die("--to ADDR:PORT is required");
	check_family(o, o->have_from, &o->from, family, "--from");
	fmt_addr((struct sockaddr *)&o->to, to_s, sizeof(to_s));

	if (o->have_bytes) {
		want = (size_t)o->bytes;
		sbuf = malloc(want + 1);
		if (!sbuf)
			die("out of memory");
		for (i = 0; i < want; i++)
			sbuf[i] = (char)('a' + (i * 7 + i / 26) % 26); /* never '\n' */
	} else {
		sbuf = strdup("hello\n");
		if (!sbuf)
			die("out of memory");
		want = strlen(sbuf);
	}
	rbuf = malloc(want + 1);
	if (!rbuf)
		die("out of memory");

	fd = xsocket(family, SOCK_STREAM);
	set_bind_dev(fd, o->bind_dev);
	if (o->have_mark)
		setopt_int(fd, SOL_SOCKET, SO_MARK, (int)o->mark, "SO_MARK");
	if (o->have_from)
		xbind(fd, &o->from, o->from_len, "--from");
	set_nonblock(fd);
	if (connect(fd, (struct sockaddr *)&o->to, o->to_len) < 0) {
		if (errno != EINPROGRESS) {
			printf("connect error: %s (errno %d)\n", strerror(errno), errno);
			return RC_FAIL;
		}
		if (!wait_fd(fd, POLLOUT, deadline_in(o))) {
			printf("connect error: %s (errno %d)\n", strerror(ETIMEDOUT), ETIMEDOUT);
			return RC_FAIL;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			die_errno("getsockopt SO_ERROR");
		if (err) {
			printf("connect error: %s (errno %d)\n", strerror(err), err);
			return RC_FAIL;
		}
	}
	if (getsockname(fd, (struct sockaddr *)&local, &ll) < 0)
		die_errno("getsockname");
	printf("connected to %s from %s\n", to_s, fmt_addr((struct sockaddr *)&local, lo_s, sizeof(lo_s)));

	/* Send and receive at the same time so bulk transfers cannot deadlock. */
	while (got < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r;

		if (sent == want && !shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		if (sent < want)
			p.events |= POLLOUT;
		r = poll(&p, 1, o->timeout_ms ? o->timeout_ms : -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die_errno("poll");
		}
		if (r == 0) {
			printf("echo short: got %zu of %zu bytes (timeout)\n", got, want);
			return RC_FAIL;
		}
		if (p.revents & POLLOUT && sent < want) {
			ssize_t w = send(fd, sbuf + sent, want - sent, MSG_NOSIGNAL);

			if (w > 0) {
				sent += (size_t)w;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				printf("echo error: %s (errno %d)\n", strerror(errno), errno);
				return RC_FAIL;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, rbuf + got, want - got, 0);

			if (n == 0) {
				printf("echo short: got %zu of %zu bytes\n", got, want);
				return RC_FAIL;
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				printf("echo error: %s (errno %d)\n", strerror(errno), errno);
				return RC_FAIL;
			}
			if (n > 0)
				got += (size_t)n;
		}
	}
	for (i = 0; i < want; i++) {
		if (sbuf[i] != rbuf[i]) {
			printf("echo mismatch at byte %zu\n", i);
			return RC_FAIL;
		}
	}
	if (!shut)
		shutdown(fd, SHUT_WR);
	/* Wait for the server's FIN so the connection closes cleanly. */
	for (;;) {
		char sink[4096];
		ssize_t n = recv(fd, sink, sizeof(sink), 0);

		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLIN, deadline_in(o)))
			continue;
		break;
	}
	printf("echo ok %zu bytes\n", want);
	close(fd);
	free(sbuf);
	free(rbuf);
	return RC_OK;
}

/* --------------------------------------------------------------- pkt-recv */

static int cmd_pkt_recv(struct opts *o)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	static char buf[MAX_DGRAM];
	long want = o->have_count ? o->count : 1, got = 0;
	int fd;

	if (!o->bind_dev)
		die("--bind-dev IF is required");
	ll.sll_ifindex = ifindex_of(o->bind_dev);
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		die("socket(AF_PACKET): %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&ll, sizeof(ll)))
		die("bind to %s: %s", o->bind_dev, strerror(errno));
	touch_ready(o->ready_file);
	while (want == 0 || got < want) {
		ssize_t n;

		if (!wait_fd(fd, POLLIN, deadline_in(o))) {
			printf("timeout (got %ld of %ld)\n", got, want);
			return RC_FAIL;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			die("recv: %s", strerror(errno));
		got++;
		printf("frame %zd bytes\n", n);
	}
	close(fd);
	return RC_OK;
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct opts *);
		unsigned long long allowed;
	} cmds[] = {
		{ "udp-send", cmd_udp_send,
		  B(O_TO) | B(O_FROM) | B(O_BIND_DEV) | B(O_PKTINFO_IF) | B(O_PKTINFO_SRC) |
		  B(O_UNICAST_IF) | B(O_DONTROUTE) | B(O_MSG_DONTROUTE) | B(O_CONNECT) |
		  B(O_COUNT) | B(O_PAYLOAD) | B(O_WAIT_REPLY) | B(O_TRANSPARENT) | B(O_MARK) },
		{ "udp-serve", cmd_udp_serve,
		  B(O_LISTEN) | B(O_BIND_DEV) | B(O_COUNT) | B(O_ECHO) | B(O_REPLY) |
		  B(O_TRANSPARENT) | B(O_READY_FILE) | B(O_DUAL) },
		{ "tproxy-proxy", cmd_tproxy_proxy,
		  B(O_LISTEN) | B(O_REPLY_MODE) | B(O_REPLY) | B(O_COUNT) | B(O_READY_FILE) },
		{ "tcp-serve", cmd_tcp_serve,
		  B(O_LISTEN) | B(O_BIND_DEV) | B(O_READY_FILE) | B(O_COUNT) | B(O_TRANSPARENT) |
		  B(O_DUAL) },
		{ "tcp-connect", cmd_tcp_connect,
		  B(O_TO) | B(O_FROM) | B(O_BIND_DEV) | B(O_BYTES) | B(O_MARK) },
		{ "pkt-recv", cmd_pkt_recv, B(O_BIND_DEV) | B(O_COUNT) | B(O_READY_FILE) },
	};
	static char cmdname[64];
	struct opts o;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		fputs("nettool: missing subcommand (try --help)\n", stderr);
		return RC_ERR;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return RC_OK;
	}
	snprintf(cmdname, sizeof(cmdname), "nettool %s", argv[1]);
	prog_cmd = cmdname;

	if (!strcmp(argv[1], "ifindex")) {
		if (argc != 3)
			die("usage: nettool ifindex IFNAME");
		printf("%u\n", ifindex_of(argv[2]));
		return RC_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		parse_opts(argc - 1, argv + 1, cmds[i].allowed, &o);
		return cmds[i].fn(&o);
	}
	fprintf(stderr, "nettool: unknown subcommand '%s' (try --help)\n", argv[1]);
	return RC_ERR;
}
