// SPDX-License-Identifier: GPL-2.0-or-later
/* Address helpers: bit access and prefix tests stay inside the 16 bytes of an address. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "testlib.h"

/* An address followed by bytes that no helper may touch. */
struct guarded {
	uint8_t b[16];
	uint8_t guard[48];
};

static bool guard_intact(const struct guarded *g)
{
	for (size_t i = 0; i < sizeof(g->guard); i++) {
		if (g->guard[i] != 0xa5)
			return false;
	}
	return true;
}

static void fill(struct guarded *g)
{
	memset(g->b, 0, sizeof(g->b));
	memset(g->guard, 0xa5, sizeof(g->guard));
}

START_TEST(set_bits_in_range)
{
	struct guarded g;

	fill(&g);
	ck_assert_int_eq(addr_set_bits(g.b, 56, 8, 0xab), 0);
	ck_assert_uint_eq(g.b[7], 0xab);
	ck_assert_uint_eq(addr_get_bits(g.b, 56, 8), 0xab);
	ck_assert_int_eq(addr_set_bits(g.b, 64, 64, UINT64_MAX), 0);
	ck_assert_uint_eq(g.b[15], 0xff);
	ck_assert_uint_eq(addr_get_bits(g.b, 64, 64), UINT64_MAX);
	ck_assert_int_eq(addr_set_bits(g.b, 128, 0, 1), 0);
	ck_assert(guard_intact(&g));
}
END_TEST

/* What a /72 or /128 delegation made of the pd-lan subnet: "64 - len" wrapped around. */
START_TEST(set_bits_out_of_range)
{
	struct guarded g;

	fill(&g);
	ck_assert_int_eq(addr_set_bits(g.b, 72, (unsigned)(64 - 72), 0), -ERANGE);
	ck_assert_int_eq(addr_set_bits(g.b, 128, (unsigned)(64 - 128), 5), -ERANGE);
	ck_assert_int_eq(addr_set_bits(g.b, 120, 16, 0xffff), -ERANGE);
	ck_assert_int_eq(addr_set_bits(g.b, 0, 65, 1), -ERANGE);
	ck_assert_int_eq(addr_set_bits(g.b, 200, 1, 1), -ERANGE);
	ck_assert(guard_intact(&g));
	for (size_t i = 0; i < sizeof(g.b); i++)
		ck_assert_uint_eq(g.b[i], 0);
	memset(g.b, 0xff, sizeof(g.b));
	ck_assert_uint_eq(addr_get_bits(g.b, 120, 16), 0);
	ck_assert_uint_eq(addr_get_bits(g.b, 72, (unsigned)(64 - 72)), 0);
	ck_assert_uint_eq(addr_get_bits(g.b, 0, 65), 0);
}
END_TEST

START_TEST(contains_with_bad_length)
{
	struct ip_prefix outer, inner;

	ck_assert_int_eq(prefix_parse(&outer, "2001:db8::/32", AF_INET6, false), 0);
	inner = outer;
	ck_assert(prefix_contains(&outer, &inner));
	/* a length no address has: never contains anything, reads nothing past the address */
	outer.len = 255;
	inner.len = 255;
	ck_assert(!prefix_contains(&outer, &inner));
	ck_assert(!prefix_overlaps(&outer, &inner));
}
END_TEST

START_TEST(pd_problem)
{
	static const struct {
		const char *p;
		const char *why; /* NULL: usable */
	} v[] = {
		{ "2001:db8:1200::/56", NULL },
		{ "2001:db8:1200::/64", NULL },
		{ "2001:db8::/32", NULL },
		{ "2001:db8:1200::/72", "longer than /64" },
		{ "2001:db8:1200::1/128", "longer than /64" },
		{ "2001::/31", "shorter than /32" },
		{ "::/0", "shorter than /32" },
		{ "192.0.2.0/24", "not an IPv6 prefix" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct ip_prefix p;
		const char *why;

		ck_assert_int_eq(prefix_parse(&p, v[i].p, AF_UNSPEC, false), 0);
		why = prefix_pd_problem(&p);
		if (!v[i].why)
			ck_assert_msg(!why, "%s: %s", v[i].p, why);
		else
			ck_assert_msg(why && strstr(why, v[i].why), "%s: %s", v[i].p, why ? why : "(none)");
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("bits");

	tcase_add_test(tc, set_bits_in_range);
	tcase_add_test(tc, set_bits_out_of_range);
	tcase_add_test(tc, contains_with_bad_length);
	tcase_add_test(tc, pd_problem);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
