/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal unit-test helpers: each test binary prints one "ok - NAME" or "not ok - NAME: why"
 * line per case; tests/run-host.sh counts them. Exit status is non-zero when a case failed. */
#ifndef PWHY_TEST_CHECK_H
#define PWHY_TEST_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_failed_cases;
static int check_case_failed;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check_case_failed = 1;                                       \
		}                                                                    \
	} while (0)

#define CHECK_STR(got, want)                                                         \
	do {                                                                         \
		const char *g_ = (got), *w_ = (want);                               \
		if (!g_ || strcmp(g_, w_)) {                                         \
			printf("#   %s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
			       g_ ? g_ : "(null)", w_);                              \
			check_case_failed = 1;                                       \
		}                                                                    \
	} while (0)

#define RUN_TEST(fn)                                                                 \
	do {                                                                         \
		check_case_failed = 0;                                               \
		fn();                                                                \
		printf("%s - %s\n", check_case_failed ? "not ok" : "ok", #fn);      \
		check_failed_cases += check_case_failed;                             \
	} while (0)

#define TEST_EXIT() return check_failed_cases ? 1 : 0

#endif
