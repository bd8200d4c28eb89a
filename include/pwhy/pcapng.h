/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal pcap-ng writer: one section, interfaces added on demand, enhanced packet blocks
 * with a comment. Just what `-w` needs; see src/pcapng.c for why it is not a library. */
#ifndef PWHY_PCAPNG_H
#define PWHY_PCAPNG_H
#include <stddef.h>
#include <stdint.h>

#define PCAPNG_LINKTYPE_ETHERNET 1
#define PCAPNG_LINKTYPE_RAW      101	/* raw IPv4/IPv6, version from the first nibble */

struct pcapng_writer;

/* Create (truncate) PATH and write the section header. NULL with errno set on failure. */
struct pcapng_writer *pcapng_open(const char *path, const char *app);
/* Describe an interface; returns its id (0, 1, ...) for pcapng_packet, or -errno.
 * Timestamps of its packets are in nanoseconds (if_tsresol 9). name/description may be NULL. */
int pcapng_interface(struct pcapng_writer *w, uint16_t linktype, uint32_t snaplen,
		     const char *name, const char *description);
/* One enhanced packet block. ts_ns: nanoseconds since the Unix epoch. comment may be NULL. */
int pcapng_packet(struct pcapng_writer *w, uint32_t ifid, uint64_t ts_ns, const void *data,
		  uint32_t caplen, uint32_t origlen, const char *comment);
/* Push buffered blocks to the file; -errno on a write error (also remembered for close). */
int pcapng_flush(struct pcapng_writer *w);
/* Flush and close; returns 0 or the first write error as -errno. */
int pcapng_close(struct pcapng_writer *w);
#endif
