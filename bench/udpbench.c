// SPDX-License-Identifier: GPL-2.0
/* udpbench: loopback UDP throughput, a sender and a receiver thread in one process.
 *
 *   udpbench [--seconds S] [--size BYTES] [--port P] [--rate PPS] [--pin] [--closed] [--unconnected]
 *            [--addr A] [--tx-netns NAME] [--rx-netns NAME]
 *
 * The sender sends datagrams of BYTES payload with send() on a socket connected to
 * 127.0.0.1:P, as fast as it can or paced at PPS; the receiver drains them with recvmmsg.
 * Prints one line:  sent=N received=N seconds=S send_pps=X recv_pps=Y
 * --pin puts the sender on CPU 0 and the receiver on CPU 1 (when there are two CPUs).
 * --closed: nobody listens on P, every datagram is dropped (NO_SOCKET); the sender uses an
 * unconnected socket so that the ICMP errors do not reach it.
 * --unconnected: sendto() with the address on an unconnected socket, a route lookup per datagram
 * (a server answering many clients).
 * --addr: the receiver's IPv4 address (default 127.0.0.1); --tx-netns / --rx-netns: create the
 * sending / receiving socket in that `ip netns` namespace (e.g. the two ends of a veth pair). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SIZE 65000

struct opts {
	const char *addr, *tx_netns, *rx_netns;
	double seconds;
	int size;
	int port;
	double rate;
	int pin;
	int closed;
	int unconnected;
};

static atomic_int sender_done;
static unsigned long long received;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "udpbench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct rx {
	int fd;
	int pin;
};

static void *receiver(void *arg)
{
	struct rx *rx = arg;
	static char bufs[BATCH][MAX_SIZE + 1];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	double quiet_since = 0;

	if (rx->pin)
		pin(1);
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		struct pollfd p = { .fd = rx->fd, .events = POLLIN };
		int n;

		if (poll(&p, 1, 20) <= 0) {
			/* the sender finished and nothing came for a while: done */
			if (atomic_load(&sender_done)) {
				if (!quiet_since)
					quiet_since = now();
				else if (now() - quiet_since > 0.1)
					break;
			}
			continue;
		}
		quiet_since = 0;
		n = recvmmsg(rx->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n > 0)
			received += n;
	}
	return NULL;
}

static void usage(FILE *f)
{
	fputs("usage: udpbench [--seconds S] [--size BYTES] [--port P] [--rate PPS] [--pin] [--closed] [--unconnected]\n"
	      "                [--addr A] [--tx-netns NAME] [--rx-netns NAME]\n", f);
}

/* A UDP socket in the named network namespace (NULL: ours). Sockets keep their namespace. */
static int udp_socket_in(const char *netns)
{
	char path[256];
	int self, ns, fd;

	if (!netns)
		return socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	self = open("/proc/thread-self/ns/net", O_RDONLY);
	ns = open(path, O_RDONLY);
	if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET))
		die(path);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (setns(self, CLONE_NEWNET))
		die("setns back");
	close(ns);
	close(self);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "pin", no_argument, NULL, 'P' },
		{ "closed", no_argument, NULL, 'C' },
		{ "unconnected", no_argument, NULL, 'U' },
		{ "addr", required_argument, NULL, 'A' },
		{ "tx-netns", required_argument, NULL, 'T' },
		{ "rx-netns", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts o = { .seconds = 5, .size = 64, .port = 9199, .addr = "127.0.0.1" };
	struct sockaddr_in a = { .sin_family = AF_INET };
	static char payload[MAX_SIZE];
	unsigned long long sent = 0;
	double t0, t1, next;
	struct rx rx;
	pthread_t th;
	int opt, tx, addressed, big = 32 << 20;

	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 's': o.seconds = atof(optarg); break;
		case 'b': o.size = atoi(optarg); break;
		case 'p': o.port = atoi(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'P': o.pin = 1; break;
		case 'C': o.closed = 1; break;
		case 'U': o.unconnected = 1; break;
		case 'A': o.addr = optarg; break;
		case 'T': o.tx_netns = optarg; break;
		case 'R': o.rx_netns = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.seconds <= 0 || o.size < 1 || o.size > MAX_SIZE || o.port < 1 || o.port > 65535 ||
	    o.rate < 0) {
		usage(stderr);
		return 2;
	}
	a.sin_port = htons(o.port);
	if (inet_pton(AF_INET, o.addr, &a.sin_addr) != 1) {
		fprintf(stderr, "udpbench: bad --addr '%s'\n", o.addr);
		return 2;
	}

	tx = udp_socket_in(o.tx_netns);
	if (tx < 0)
		die("socket");
	memset(payload, 'x', sizeof(payload));
	if (!o.closed) {
		rx.fd = udp_socket_in(o.rx_netns);
		rx.pin = o.pin;
		if (rx.fd < 0)
			die("socket");
		/* a deep receive queue: the receiver should not be what drops */
		if (setsockopt(rx.fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
			setsockopt(rx.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		if (bind(rx.fd, (struct sockaddr *)&a, sizeof(a)))
			die("bind");
		if (!o.unconnected && connect(tx, (struct sockaddr *)&a, sizeof(a)))
			die("connect");
		if (pthread_create(&th, NULL, receiver, &rx))
			die("pthread_create");
	}
	addressed = o.closed || o.unconnected;
	if (o.pin)
		pin(0);

	t0 = now();
	next = t0;
	for (;;) {
		/* check the clock every 256 datagrams */
		for (int i = 0; i < 256; i++) {
			if (sendto(tx, payload, o.size, 0, addressed ? (struct sockaddr *)&a : NULL,
				   addressed ? sizeof(a) : 0) == o.size)
				sent++;
			else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
				die("send");
		}
		t1 = now();
		if (t1 - t0 >= o.seconds)
			break;
		if (o.rate > 0) {
			next += 256 / o.rate;
			if (next > t1) {
				struct timespec ts;
				double d = next - t1;

				ts.tv_sec = (time_t)d;
				ts.tv_nsec = (long)((d - ts.tv_sec) * 1e9);
				nanosleep(&ts, NULL);
			}
		}
	}
	atomic_store(&sender_done, 1);
	if (!o.closed)
		pthread_join(th, NULL);
	printf("sent=%llu received=%llu seconds=%.3f send_pps=%.0f recv_pps=%.0f\n", sent,
	       received, t1 - t0, sent / (t1 - t0), received / (t1 - t0));
	return 0;
}
