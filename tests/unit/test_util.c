// SPDX-License-Identifier: GPL-2.0-or-later
/* Helpers: untrusted text made safe to log and show. */
#include <check.h>
#include <string.h>

#include "testlib.h"
#include "util.h"

static const char *clean(char *buf, size_t size, const char *src, size_t len)
{
	memset(buf, 'x', size);
	return str_sanitize(buf, size, src, len);
}

START_TEST(sanitize_escapes)
{
	static const char evil[] = "\x1b[2J\x1b]0;owned\x07 LCP terminated\r\x7f\x9b" "31m";
	char buf[128];

	ck_assert_str_eq(clean(buf, sizeof(buf), "Remote message: Authentication failed", 37),
			 "Remote message: Authentication failed");
	ck_assert_str_eq(clean(buf, sizeof(buf), evil, strlen(evil)),
			 "?[2J?]0;owned? LCP terminated???31m");
	/* UTF-8 is not passed either: C1 controls hide in it (U+009B is CSI) */
	ck_assert_str_eq(clean(buf, sizeof(buf), "\xc2\x9b" "1m caf\xc3\xa9", 10), "??1m caf??");
	/* the length given is the text, NUL bytes included */
	ck_assert_str_eq(clean(buf, sizeof(buf), "a\0b", 3), "a?b");
	ck_assert_str_eq(clean(buf, sizeof(buf), "", 0), "");
}
END_TEST

START_TEST(sanitize_cuts)
{
	char buf[16], big[4096];

	memset(big, 'A', sizeof(big));
	ck_assert_str_eq(clean(buf, sizeof(buf), big, sizeof(big)), "AAAAAAAAAAAA...");
	ck_assert_str_eq(clean(buf, sizeof(buf), big, 15), "AAAAAAAAAAAAAAA");
	ck_assert_str_eq(clean(buf, sizeof(buf), big, 16), "AAAAAAAAAAAA...");
	ck_assert_str_eq(clean(buf, 3, big, 10), "AA");
	memset(buf, 'x', sizeof(buf));
	ck_assert_str_eq(str_sanitize(buf, 1, big, 10), "");
	ck_assert_int_eq(buf[1], 'x'); /* nothing written past size */
	ck_assert_ptr_eq(str_sanitize(buf, 0, big, 10), buf);
	ck_assert_int_eq(buf[0], '\0');
}
END_TEST

int main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("sanitize");

	tcase_add_test(tc, sanitize_escapes);
	tcase_add_test(tc, sanitize_cuts);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
