// SPDX-License-Identifier: GPL-2.0
/* Events → pcap-ng packets. Each event's copied bytes become one enhanced packet block on an
 * interface that stands for (link type, netns, device): Ethernet when the bytes start at the MAC
 * header, raw IP when they start at the network header. Packets are held for a short while in
 * arrival order so that findings reported after their event can still go into the comment. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pwhy/format.h"
#include "pwhy/ksyms.h"
#include "pwhy/pcap_out.h"
#include "pwhy/pcapng.h"

#define ONCE_SLOTS (1u << 16)	/* skbs remembered by --pcap-once (open addressing) */
#define PENDING_FINDINGS 32

struct held {
	unsigned long long skb, ts_ns;
	unsigned caplen, origlen;
	int ifid;
	char *comment;
	unsigned char data[PWHY_PKT_SNAP];
};

struct iface {
	unsigned short linktype;
	unsigned netns;
	int ifindex;
	char ifname[PWHY_IFNAMSIZ];
	int file_id;		/* pcap-ng interface id once its IDB is written, else -1 */
};

struct pcap_out {
	struct pcapng_writer *w;
	char *path;
	bool once;
	const struct render *names;
	long long wall_minus_mono_ns;
	/* interfaces described so far; an IDB is written when its first packet is */
	struct iface *ifs;
	int nifs, ifs_cap;
	/* FIFO of held packets */
	struct held q[PCAP_OUT_MAX_HELD];
	unsigned head, count;
	/* findings that came when no packet of their skb was held */
	struct { unsigned long long skb; char *text; } pending[PENDING_FINDINGS];
	unsigned next_pending;
	/* --pcap-once: skbs already written (address; freed skbs are forgotten) */
	unsigned long long *seen;
	unsigned nseen;
	long long written;
	int err;
	unsigned long long last_flush_ns;
};

static long long ts_of(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Offset from CLOCK_MONOTONIC (bpf_ktime_get_ns) to wall time; the tightest of a few samples. */
static long long wall_offset(void)
{
	long long best = 0, best_gap = -1;

	for (int i = 0; i < 5; i++) {
		long long m1 = ts_of(CLOCK_MONOTONIC), r = ts_of(CLOCK_REALTIME);
		long long m2 = ts_of(CLOCK_MONOTONIC);

		if (best_gap < 0 || m2 - m1 < best_gap) {
			best_gap = m2 - m1;
			best = r - (m1 + (m2 - m1) / 2);
		}
	}
	return best;
}

/* ------------------------------------------------------------------- comment strings */

static void str_append(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void str_append(char **s, const char *fmt, ...)
{
	size_t old = *s ? strlen(*s) : 0;
	char *more = NULL, *n;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&more, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	n = realloc(*s, old + len + 1);
	if (n) {
		memcpy(n + old, more, len + 1);
		*s = n;
	}
	free(more);
}

/* "pwhy: kfree_skb(NO_SOCKET) @__udp4_lib_rcv+0x4bc skb=0x... netns=... if=lo:1 mark=0x0
 *  proc=nettool:42" — the probe named as the text output names it. */
static char *event_comment(const struct pcap_out *p, const struct pwhy_event *ev)
{
	char probe[64], ifname[48], reason[64], loc[96];
	char *s = NULL;

	render_probe_name(p->names, ev, probe, sizeof(probe));
	str_append(&s, "pwhy: %s", probe);
	if (ev->kind == PWHY_EV_DROP) {
		render_drop_reason(p->names, ev->drop.reason, reason, sizeof(reason));
		ksym_format(ev->drop.location, loc, sizeof(loc));
		str_append(&s, "(%s) @%s", reason, loc);
	}
	fmt_ifname(ev->ifname, ev->ifindex, ifname, sizeof(ifname));
	str_append(&s, " skb=0x%llx netns=%u if=%s mark=0x%x proc=%.*s:%u",
		   (unsigned long long)ev->skb, ev->netns, ifname, ev->mark,
		   (int)sizeof(ev->comm), ev->comm, ev->pid);
	return s;
}

static void add_finding_text(char **comment, const char *text)
{
	str_append(comment, " [finding %s]", text);
}

/* -------------------------------------------------------------------- interfaces */

static int iface_id(struct pcap_out *p, const struct pwhy_event *ev)
{
	unsigned short lt = ev->pkt_l2 ? PCAPNG_LINKTYPE_ETHERNET : PCAPNG_LINKTYPE_RAW;

	for (int i = 0; i < p->nifs; i++)
		if (p->ifs[i].linktype == lt && p->ifs[i].netns == ev->netns &&
		    p->ifs[i].ifindex == ev->ifindex &&
		    !strncmp(p->ifs[i].ifname, ev->ifname, PWHY_IFNAMSIZ))
			return i;
	if (p->nifs == p->ifs_cap) {
		int cap = p->ifs_cap ? p->ifs_cap * 2 : 16;
		struct iface *n = realloc(p->ifs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->ifs = n;
		p->ifs_cap = cap;
	}
	p->ifs[p->nifs] = (struct iface){ .linktype = lt, .netns = ev->netns, .ifindex = ev->ifindex,
					  .file_id = -1 };
	memcpy(p->ifs[p->nifs].ifname, ev->ifname, PWHY_IFNAMSIZ);
	p->ifs[p->nifs].ifname[PWHY_IFNAMSIZ - 1] = 0;
	return p->nifs++;
}

/* pcap-ng interface ids are assigned in the order IDBs are written, which is the order of
 * first use in the file, not of first sight. */
static int iface_block(struct pcap_out *p, int id)
{
	struct iface *f = &p->ifs[id];
	char name[80], desc[160], dev[48];
	int r;

	if (f->file_id >= 0)
		return f->file_id;
	fmt_ifname(f->ifname, f->ifindex, dev, sizeof(dev));
	snprintf(name, sizeof(name), "%s netns=%u", dev, f->netns);
	snprintf(desc, sizeof(desc), "pwhy: skbs on %s in netns %u, packet bytes from the %s header",
		 dev, f->netns, f->linktype == PCAPNG_LINKTYPE_ETHERNET ? "MAC" : "network");
	r = pcapng_interface(p->w, f->linktype, PWHY_PKT_SNAP, name, desc);
	if (r < 0)
		return r;
	f->file_id = r;
	return r;
}

/* ------------------------------------------------------------------ --pcap-once set */

static unsigned long long hash64(unsigned long long x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static unsigned seen_slot(const struct pcap_out *p, unsigned long long skb)
{
	unsigned i = hash64(skb) & (ONCE_SLOTS - 1);

	while (p->seen[i] && p->seen[i] != skb)
		i = (i + 1) & (ONCE_SLOTS - 1);
	return i;
}

/* Returns true when skb was there already. */
static bool seen_add(struct pcap_out *p, unsigned long long skb)
{
	unsigned i;

	if (p->nseen >= ONCE_SLOTS / 2) {
		/* skbs whose free we never saw pile up: start over rather than grow */
		memset(p->seen, 0, ONCE_SLOTS * sizeof(*p->seen));
		p->nseen = 0;
	}
	i = seen_slot(p, skb);
	if (p->seen[i])
		return true;
	p->seen[i] = skb;
	p->nseen++;
	return false;
}

/* Deletion with backward shift keeps probe chains intact without tombstones. */
static bool seen_del(struct pcap_out *p, unsigned long long skb)
{
	unsigned i = seen_slot(p, skb), j = i;

	if (!p->seen[i])
		return false;
	p->seen[i] = 0;
	p->nseen--;
	for (;;) {
		unsigned home;

		j = (j + 1) & (ONCE_SLOTS - 1);
		if (!p->seen[j])
			return true;
		home = hash64(p->seen[j]) & (ONCE_SLOTS - 1);
		/* move j back to i unless its home lies cyclically in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			p->seen[i] = p->seen[j];
			p->seen[j] = 0;
			i = j;
		}
	}
}

/* --------------------------------------------------------------------------- queue */

static struct held *held_at(struct pcap_out *p, unsigned k)
{
	return &p->q[(p->head + k) % PCAP_OUT_MAX_HELD];
}

static void write_oldest(struct pcap_out *p)
{
	struct held *h = held_at(p, 0);
	int ifid = iface_block(p, h->ifid);

	if (ifid >= 0)
		ifid = pcapng_packet(p->w, ifid, h->ts_ns + p->wall_minus_mono_ns, h->data,
				     h->caplen, h->origlen, h->comment);
	if (ifid < 0 && !p->err)
		p->err = ifid;
	else if (ifid >= 0)
		p->written++;
	free(h->comment);
	h->comment = NULL;
	p->head = (p->head + 1) % PCAP_OUT_MAX_HELD;
	p->count--;
}

static struct held *newest_held(struct pcap_out *p, unsigned long long skb)
{
	for (unsigned k = p->count; k-- > 0;) {
		struct held *h = held_at(p, k);

		if (h->skb == skb)
			return h;
	}
	return NULL;
}

/* ------------------------------------------------------------------------------- API */

struct pcap_out *pcap_out_open(const char *path, bool once, const struct render *names)
{
	struct pcap_out *p = calloc(1, sizeof(*p));
	int e;

	if (!p)
		return NULL;
	p->w = pcapng_open(path, "pwhy");
	if (!p->w)
		goto fail;
	p->path = strdup(path);
	p->once = once;
	p->names = names;
	p->wall_minus_mono_ns = wall_offset();
	p->last_flush_ns = ts_of(CLOCK_MONOTONIC);
	if (once) {
		p->seen = calloc(ONCE_SLOTS, sizeof(*p->seen));
		if (!p->seen) {
			errno = ENOMEM;
			goto fail;
		}
	}
	return p;
fail:
	e = errno;
	if (p->w)
		pcapng_close(p->w);
	free(p->path);
	free(p);
	errno = e;
	return NULL;
}

void pcap_out_event(struct pcap_out *p, const struct pwhy_event *ev)
{
	bool freed = ev->kind == PWHY_EV_DROP || ev->probe == PWHY_PROBE_CONSUME_SKB;
	struct held *h;
	int id;

	if (ev->kind != PWHY_EV_PATH && ev->kind != PWHY_EV_DROP)
		return;
	if (p->once) {
		bool dup = freed ? seen_del(p, ev->skb) : seen_add(p, ev->skb);

		if (dup) {
			/* the skb's packet is out already (or held): a drop still says how it ended */
			h = newest_held(p, ev->skb);
			if (h && ev->kind == PWHY_EV_DROP) {
				char reason[64], loc[96];

				render_drop_reason(p->names, ev->drop.reason, reason, sizeof(reason));
				ksym_format(ev->drop.location, loc, sizeof(loc));
				str_append(&h->comment, " [then dropped %s @%s]", reason, loc);
			}
			return;
		}
		/* an skb seen first at its free is written, and forgotten at once */
	}
	id = iface_id(p, ev);
	if (id < 0)
		return;
	if (p->count == PCAP_OUT_MAX_HELD)
		write_oldest(p);
	h = held_at(p, p->count++);
	h->skb = ev->skb;
	h->ts_ns = ev->ts_ns;
	h->caplen = ev->pkt_len < PWHY_PKT_SNAP ? ev->pkt_len : PWHY_PKT_SNAP;
	h->origlen = ev->pkt_wirelen;
	h->ifid = id;
	memcpy(h->data, ev->pkt, h->caplen);
	h->comment = event_comment(p, ev);
	for (int i = 0; i < PENDING_FINDINGS; i++)
		if (p->pending[i].text && p->pending[i].skb == ev->skb) {
			add_finding_text(&h->comment, p->pending[i].text);
			free(p->pending[i].text);
			p->pending[i].text = NULL;
		}
}

void pcap_out_finding(struct pcap_out *p, const struct finding *f)
{
	struct held *h;
	char *text = NULL;

	if (!f->skb)	/* a send that never became a traced skb */
		return;
	h = newest_held(p, f->skb);
	str_append(&text, "%s: %s", finding_kind_name(f->kind), f->summary);
	if (!text)
		return;
	if (h) {
		add_finding_text(&h->comment, text);
		free(text);
		return;
	}
	free(p->pending[p->next_pending].text);
	p->pending[p->next_pending].skb = f->skb;
	p->pending[p->next_pending].text = text;
	p->next_pending = (p->next_pending + 1) % PENDING_FINDINGS;
}

void pcap_out_tick(struct pcap_out *p, unsigned long long now_ns)
{
	bool wrote = false;

	while (p->count && held_at(p, 0)->ts_ns + PCAP_OUT_HOLD_NS <= now_ns) {
		write_oldest(p);
		wrote = true;
	}
	if (wrote || now_ns - p->last_flush_ns >= 1000000000ull) {
		int r = pcapng_flush(p->w);

		if (r && !p->err)
			p->err = r;
		p->last_flush_ns = now_ns;
	}
}

long long pcap_out_close(struct pcap_out *p)
{
	long long r;
	int e;

	while (p->count)
		write_oldest(p);
	e = pcapng_close(p->w);
	if (e && !p->err)
		p->err = e;
	if (p->err)
		fprintf(stderr, "pwhy: writing %s: %s\n", p->path, strerror(-p->err));
	r = p->err ? p->err : p->written;
	for (int i = 0; i < PENDING_FINDINGS; i++)
		free(p->pending[i].text);
	free(p->seen);
	free(p->ifs);
	free(p->path);
	free(p);
	return r;
}
