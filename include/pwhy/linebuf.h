/* SPDX-License-Identifier: GPL-2.0 */
/* Building a text line without printf: an event line is formatted hundreds of thousands of
 * times a second, and printf's format parsing was most of that. Writes stop at the end of the
 * buffer (one byte is kept for the terminating NUL, written by lb_end). */
#ifndef PWHY_LINEBUF_H
#define PWHY_LINEBUF_H

#include <stddef.h>

struct linebuf {
	char *p, *end;
};

static inline struct linebuf lb_init(char *buf, size_t size)
{
	struct linebuf b = { buf, buf + size - 1 };

	return b;
}

static inline char *lb_end(struct linebuf *b)
{
	*b->p = 0;
	return b->p;
}

static inline void lb_putc(struct linebuf *b, char c)
{
	if (b->p < b->end)
		*b->p++ = c;
}

static inline void lb_puts(struct linebuf *b, const char *s)
{
	while (*s && b->p < b->end)
		*b->p++ = *s++;
}

/* "%-Ns": spaces after what was written since from, up to width */
static inline void lb_pad(struct linebuf *b, const char *from, long width)
{
	while (b->p - from < width && b->p < b->end)
		*b->p++ = ' ';
}

static inline void lb_u(struct linebuf *b, unsigned long long v);

/* A left-aligned column ("%-Nu" / "%-Ns") and the space after it */
static inline void lb_ucol(struct linebuf *b, unsigned long long v, long width)
{
	const char *from = b->p;

	lb_u(b, v);
	lb_pad(b, from, width);
	lb_putc(b, ' ');
}

static inline void lb_scol(struct linebuf *b, const char *s, long width)
{
	const char *from = b->p;

	lb_puts(b, s);
	lb_pad(b, from, width);
	lb_putc(b, ' ');
}

static inline void lb_u(struct linebuf *b, unsigned long long v)
{
	char t[20];
	int n = 0;

	do
		t[n++] = '0' + v % 10;
	while (v /= 10);
	while (n)
		lb_putc(b, t[--n]);
}

static inline void lb_d(struct linebuf *b, long long v)
{
	if (v < 0) {
		lb_putc(b, '-');
		lb_u(b, -(unsigned long long)v);
	} else {
		lb_u(b, v);
	}
}

/* "%0Nx" (lower case, at least digits digits) */
static inline void lb_hex(struct linebuf *b, unsigned long long v, int digits)
{
	char t[16];
	int n = 0;

	do
		t[n++] = "0123456789abcdef"[v & 15];
	while (v >>= 4);
	while (n < digits && n < 16)
		t[n++] = '0';
	while (n)
		lb_putc(b, t[--n]);
}

#endif
