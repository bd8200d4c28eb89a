// SPDX-License-Identifier: GPL-2.0
/* pcap-ng writer (draft-ietf-opsawg-pcapng): SHB, IDB and EPB blocks, host byte order (the SHB's
 * byte-order magic tells readers which).
 *
 * Why our own: `-w` must put a comment on every packet. libpcap 1.10 (Debian 12) reads pcap-ng
 * but its dumper writes only classic pcap, which has no comments. Debian 12's other writers are
 * Wireshark's libwiretap (4.0: an API and soname that change with every Wireshark release, plus
 * GLib and libwsutil) and DPDK's librte-pcapng (22.11: no comment argument yet, and it needs
 * DPDK mbufs and mempools). The three block types needed here are small and fully specified;
 * tests/unit/test_pcapng.c reads the result back with libpcap and with an independent parser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/pcapng.h"

#define PCAPNG_IO_BUF (1 << 20)	/* whole blocks of the file per write */

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du

#define OPT_ENDOFOPT   0
#define OPT_COMMENT    1
#define SHB_USERAPPL   4
#define IF_NAME        2
#define IF_DESCRIPTION 3
#define IF_TSRESOL     9

struct pcapng_writer {
	FILE *f;
	int err;		/* first write error (positive errno) */
	int nifs;
	/* the block being built */
	unsigned char *buf;
	size_t len, cap;
	char *iobuf;		/* the FILE's buffer (glibc ignores a size without one) */
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int reserve(struct pcapng_writer *w, size_t more)
{
	unsigned char *nb;
	size_t cap = w->cap ? w->cap : 512;

	if (w->len + more <= w->cap)
		return 0;
	while (cap < w->len + more)
		cap *= 2;
	nb = realloc(w->buf, cap);
	if (!nb)
		return -ENOMEM;
	w->buf = nb;
	w->cap = cap;
	return 0;
}

/* Append bytes, zero-padded to a multiple of 4 */
static int put(struct pcapng_writer *w, const void *p, size_t n)
{
	size_t padded = pad4(n);

	if (reserve(w, padded)) {
		w->err = ENOMEM;	/* block_end refuses to write a partial block */
		return -ENOMEM;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	memset(w->buf + w->len + n, 0, padded - n);
	w->len += padded;
	return 0;
}

static int put32(struct pcapng_writer *w, uint32_t v)
{
	return put(w, &v, 4);
}

/* An option: code, length, value padded to 4. Option values are limited to 65535 bytes. */
static int put_opt(struct pcapng_writer *w, uint16_t code, const void *val, size_t n)
{
	uint16_t hdr[2] = { code, n > 0xffff ? 0xffff : (uint16_t)n };

	if (put(w, hdr, sizeof(hdr)))
		return -ENOMEM;
	return put(w, val, hdr[1]);
}

static int put_opt_str(struct pcapng_writer *w, uint16_t code, const char *s)
{
	if (!s || !*s)
		return 0;
	return put_opt(w, code, s, strlen(s));
}

static void block_begin(struct pcapng_writer *w, uint32_t type)
{
	w->len = 0;
	put32(w, type);
	put32(w, 0);		/* total length, patched in block_end */
}

/* Close the options, patch both length fields and write the block. */
static int block_end(struct pcapng_writer *w, int had_options)
{
	uint32_t total;

	if (had_options)
		put_opt(w, OPT_ENDOFOPT, NULL, 0);
	if (reserve(w, 4))
		w->err = ENOMEM;
	if (w->err)
		return -w->err;
	total = w->len + 4;
	memcpy(w->buf + 4, &total, 4);
	put32(w, total);
	errno = 0;
	if (fwrite(w->buf, 1, w->len, w->f) != w->len) {
		w->err = errno ? errno : EIO;
		return -w->err;
	}
	return 0;
}

struct pcapng_writer *pcapng_open(const char *path, const char *app)
{
	struct pcapng_writer *w = calloc(1, sizeof(*w));
	uint16_t version[2] = { 1, 0 };
	uint64_t section_len = UINT64_MAX;	/* not known in advance */
	int e;

	if (!w)
		return NULL;
	w->f = fopen(path, "w");
	if (!w->f) {
		e = errno;
		free(w);
		errno = e;
		return NULL;
	}
	w->iobuf = malloc(PCAPNG_IO_BUF);
	if (w->iobuf)
		setvbuf(w->f, w->iobuf, _IOFBF, PCAPNG_IO_BUF);
	block_begin(w, BT_SHB);
	put32(w, BYTE_ORDER_MAGIC);
	put(w, version, sizeof(version));
	put(w, &section_len, sizeof(section_len));
	put_opt_str(w, SHB_USERAPPL, app);
	e = block_end(w, app && *app);
	if (!e)
		e = pcapng_flush(w);
	if (e) {
		fclose(w->f);
		free(w->buf);
		free(w->iobuf);
		free(w);
		errno = -e;
		return NULL;
	}
	return w;
}

int pcapng_interface(struct pcapng_writer *w, uint16_t linktype, uint32_t snaplen,
		     const char *name, const char *description)
{
	uint16_t lt[2] = { linktype, 0 };
	uint8_t tsresol = 9;	/* 10^-9 s */
	int r;

	block_begin(w, BT_IDB);
	put(w, lt, sizeof(lt));
	put32(w, snaplen);
	put_opt_str(w, IF_NAME, name);
	put_opt_str(w, IF_DESCRIPTION, description);
	put_opt(w, IF_TSRESOL, &tsresol, 1);
	r = block_end(w, 1);
	return r ? r : w->nifs++;
}

int pcapng_packet(struct pcapng_writer *w, uint32_t ifid, uint64_t ts_ns, const void *data,
		  uint32_t caplen, uint32_t origlen, const char *comment)
{
	if ((int)ifid >= w->nifs)
		return -EINVAL;
	block_begin(w, BT_EPB);
	put32(w, ifid);
	put32(w, ts_ns >> 32);
	put32(w, (uint32_t)ts_ns);
	put32(w, caplen);
	put32(w, origlen < caplen ? caplen : origlen);
	put(w, data, caplen);
	put_opt_str(w, OPT_COMMENT, comment);
	return block_end(w, comment && *comment);
}

int pcapng_flush(struct pcapng_writer *w)
{
	if (!w->err && fflush(w->f))
		w->err = errno ? errno : EIO;
	return -w->err;
}

int pcapng_close(struct pcapng_writer *w)
{
	int r;

	if (!w)
		return 0;
	r = pcapng_flush(w);
	if (fclose(w->f) && !r)
		r = -(errno ? errno : EIO);
	free(w->buf);
	free(w->iobuf);
	free(w);
	return r;
}
