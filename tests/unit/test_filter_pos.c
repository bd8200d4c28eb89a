// SPDX-License-Identifier: GPL-2.0
/* Filter compile errors say where the expression is wrong, on one line. */
#include <stdlib.h>
#include "check.h"
#include "pwhy/filter.h"

/* the error of compiling EXPR must contain WANT */
static void expect_err(const char *expr, const char *want)
{
	struct sock_filter *cbpf = NULL;
	size_t n;
	char err[512] = "";

	CHECK(pwhy_filter_compile(expr, PWHY_DLT_EN10MB, &cbpf, &n, err, sizeof(err)) != 0);
	CHECK(cbpf == NULL);
	CHECK(strchr(err, '\n') == NULL);
	if (!strstr(err, want)) {
		printf("#   '%s': \"%s\" lacks \"%s\"\n", expr, err, want);
		check_case_failed = 1;
	}
}

static void test_syntax_error_position(void)
{
	expect_err("udp and and", "syntax error at column 9 ('and')");
	expect_err("udp port 1 or or tcp", "at column 15 ('or')");
	expect_err("udp)", "at column 4 (')')");
	expect_err("len > x", "at column 7 ('x')");
	expect_err("tcp[tcpflags] & tcp-bogus", "at column 17 ('tcp-bogus')");
}

static void test_unfinished_expression(void)
{
	expect_err("udp and (", "at column 10 (end of expression)");
	expect_err("tcp port", "at column 9 (end of expression)");
	expect_err("ip[1", "at column 5 (end of expression)");
}

static void test_quoted_word_position(void)
{
	expect_err("udp and port xyz", "unknown port 'xyz' at column 14 ('xyz')");
	expect_err("ip host 999.1.1.1", "at column 9 ('999.1.1.1')");
	expect_err("portrange 5-x", "at column 11 ('5-x')");
	expect_err("ether host 1:2:3:4:5:6:7", "at column 12 ('1:2:3:4:5:6:7')");
}

static void test_control_chars_stay_on_one_line(void)
{
	expect_err("udp\nand port", "filter 'udp?and port'");
}

static void test_no_position_when_unknown(void)
{
	size_t len = 99;

	CHECK(pwhy_filter_error_pos("", PWHY_DLT_EN10MB, "syntax error", &len) == -1 && len == 0);
	CHECK(pwhy_filter_error_pos(NULL, PWHY_DLT_EN10MB, "syntax error", &len) == -1);
	/* nothing in it can start a valid expression */
	CHECK(pwhy_filter_error_pos(") (", PWHY_DLT_EN10MB, "syntax error", &len) == -1);
}

int main(void)
{
	RUN_TEST(test_syntax_error_position);
	RUN_TEST(test_unfinished_expression);
	RUN_TEST(test_quoted_word_position);
	RUN_TEST(test_control_chars_stay_on_one_line);
	RUN_TEST(test_no_position_when_unknown);
	TEST_EXIT();
}
