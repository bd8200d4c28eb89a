/* SPDX-License-Identifier: GPL-2.0 */
/* Turning event fields into text: addresses, tuples, MACs, interfaces. */
#ifndef PWHY_FORMAT_H
#define PWHY_FORMAT_H
#include <stddef.h>
#include <linux/types.h>

struct pwhy_tuple;

const char *fmt_addr(int family, const void *addr, char *buf, size_t len);
/* "10.0.1.1:5353" or "[2001:db8::1]:53" */
const char *fmt_endpoint(int family, const void *addr, __u16 port, char *buf, size_t len);
/* "10.0.1.1:5353->192.0.2.1:9999(udp)" */
const char *fmt_tuple(const struct pwhy_tuple *t, char *buf, size_t len);
const char *fmt_mac(const __u8 *mac, char *buf, size_t len);
const char *fmt_l4proto(int proto);
/* "eth0:3", or "3" when the name is unknown, "-" for 0 */
const char *fmt_ifname(const char *name, int ifindex, char *buf, size_t len);
/* JSON string body escaping into buf */
const char *fmt_json_escape(const char *s, char *buf, size_t len);
#endif
