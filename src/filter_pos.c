// SPDX-License-Identifier: GPL-2.0
/*
 * Where in a pcap-filter expression libpcap's error lies. libpcap reports "syntax error" with no
 * position, so it is recovered here: a semantic error quotes the offending word ("unknown port
 * 'xyz'"), and otherwise the error is at the first token after the longest prefix of tokens that
 * some short completion turns into a valid expression.
 */
#define bpf_insn pcap_bpf_insn
#include <pcap/pcap.h>
#undef bpf_insn

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/filter.h"

#define MAX_TOKENS 128

/* Suffixes that complete the usual kinds of unfinished expression. */
static const char *const completions[] = {
	"", " ip", " 1", " )", " ip)", " 1)", " = 1", " = 1)", " 1 = 1", " 1 = 1)", " ] = 1",
	" 1] = 1", " :1] = 1", " 1:1] = 1", " port 1", " host 1.2.3.4", " 1.2.3.4", " 1 and ip",
	" 1:2:3:4:5:6", " ::1",
};

static bool word_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-' || c == '/' || c >= 0x80;
}

/* Token start offsets: words (names, numbers, addresses) and operators, one or two chars. */
static int tokenize(const char *s, size_t *starts, int max)
{
	size_t i = 0;
	int n = 0;

	while (s[i] && n < max) {
		if (isspace((unsigned char)s[i])) {
			i++;
			continue;
		}
		starts[n++] = i;
		if (word_char(s[i])) {
			while (s[i] && word_char(s[i]))
				i++;
		} else if (s[i + 1] && strchr("!=<>&|", s[i]) && strchr("=<>&|", s[i + 1])) {
			i += 2;
		} else {
			i++;
		}
	}
	return n;
}

static bool compiles(pcap_t *p, const char *expr)
{
	struct bpf_program prog;

	if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
		return false;
	pcap_freecode(&prog);
	return true;
}

/* Can the first `len` bytes of expr be completed into a valid expression? */
static bool viable_prefix(pcap_t *p, const char *expr, size_t len)
{
	size_t sz = len + 32;
	char *buf = malloc(sz);
	bool ok = false;

	if (!buf)
		return false;
	for (size_t i = 0; i < sizeof(completions) / sizeof(completions[0]) && !ok; i++) {
		memcpy(buf, expr, len);
		strcpy(buf + len, completions[i]);
		ok = compiles(p, buf);
	}
	free(buf);
	return ok;
}

/* A word quoted in libpcap's message ('xyz') that occurs in the expression as a token */
static long quoted_word(const char *expr, const char *msg, size_t *toklen)
{
	const char *a = strchr(msg, '\''), *b = a ? strchr(a + 1, '\'') : NULL;
	size_t starts[MAX_TOKENS];
	int n;

	if (!a || !b || b == a + 1)
		return -1;
	n = tokenize(expr, starts, MAX_TOKENS);
	for (int i = 0; i < n; i++) {
		const char *t = expr + starts[i];

		if (!strncmp(t, a + 1, b - a - 1)) {
			*toklen = b - a - 1;
			return starts[i];
		}
	}
	/* "unknown port in range '5-x'": the word may span several tokens */
	{
		char *w = strndup(a + 1, b - a - 1);
		const char *at = w ? strstr(expr, w) : NULL;

		free(w);
		if (at) {
			*toklen = b - a - 1;
			return at - expr;
		}
	}
	return -1;
}

long pwhy_filter_error_pos(const char *expr, int dlt, const char *pcap_msg, size_t *toklen)
{
	size_t starts[MAX_TOKENS];
	long pos;
	int n, k;
	pcap_t *p;

	*toklen = 0;
	if (!expr || !*expr)
		return -1;
	if (pcap_msg && (pos = quoted_word(expr, pcap_msg, toklen)) >= 0)
		return pos;
	n = tokenize(expr, starts, MAX_TOKENS);
	if (n == 0 || n == MAX_TOKENS)
		return -1;
	p = pcap_open_dead(dlt, PWHY_FILTER_SNAPLEN);
	if (!p)
		return -1;
	/* the longest viable prefix of k tokens: the error is at token k (the end when k == n) */
	for (k = n; k > 0; k--)
		if (viable_prefix(p, expr, k < n ? starts[k] : strlen(expr)))
			break;
	pcap_close(p);
	if (k == 0)
		return -1;
	if (k == n)
		return strlen(expr);
	pos = starts[k];
	*toklen = k + 1 < n ? starts[k + 1] - starts[k] : strlen(expr) - starts[k];
	while (*toklen && isspace((unsigned char)expr[pos + *toklen - 1]))
		(*toklen)--;
	return pos;
}
