// SPDX-License-Identifier: GPL-2.0-or-later
/* Choosing the AFTR from a DNS answer: only global unicast addresses, a stable choice. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"
#include "testlib.h"

static struct in6_addr a6(const char *s)
{
	struct in6_addr a;

	ck_assert_int_eq(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static const char *fmt(const struct in6_addr *a)
{
	static char buf[INET6_ADDRSTRLEN];

	return a ? inet_ntop(AF_INET6, a, buf, sizeof(buf)) : "(none)";
}

static const char *const junk[] = {
	"::", "::1", "fe80::1", "ff02::1", "ff0e::1", "::ffff:192.0.2.1", "fd00::1", "fec0::1",
	"::192.0.2.1", "4000::1", "e000::1",
};

START_TEST(only_global_unicast)
{
	for (size_t i = 0; i < sizeof(junk) / sizeof(*junk); i++) {
		struct in6_addr a = a6(junk[i]);

		ck_assert_msg(!resolve_usable(&a), "%s taken as a tunnel end", junk[i]);
	}
	for (const char *const *g = (const char *const[]){ "2404:8e00::feed:100", "2001:db8::1",
							    "3fff:ffff::1", NULL }; *g; g++) {
		struct in6_addr a = a6(*g);

		ck_assert_msg(resolve_usable(&a), "%s refused", *g);
	}
}
END_TEST

START_TEST(pick_skips_junk)
{
	struct in6_addr v[8], cur;
	size_t n = 0;

	v[n++] = a6("::");
	v[n++] = a6("::1");
	v[n++] = a6("fe80::1");
	v[n++] = a6("ff02::1");
	ck_assert_ptr_null(resolve_pick(v, n, NULL));
	cur = a6("::1");
	ck_assert_ptr_null(resolve_pick(v, n, &cur)); /* not even the one in use */
	v[n++] = a6("2404:8e00::feed:101");
	v[n++] = a6("2404:8e00::feed:100");
	ck_assert_str_eq(fmt(resolve_pick(v, n, NULL)), "2404:8e00::feed:100");
	cur = a6("2404:8e00::feed:101");
	ck_assert_str_eq(fmt(resolve_pick(v, n, &cur)), "2404:8e00::feed:101");
}
END_TEST

/* A hundred AAAA records: junk first does not crowd out the good ones, the current one stays. */
START_TEST(hundred_answers)
{
	struct in6_addr v[100], cur;
	struct resolve_choice c;
	char buf[64];

	for (size_t i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), i < 60 ? "fe80::%zx" : "2404:8e00::feed:%zx", i);
		v[i] = a6(buf);
	}
	ck_assert_str_eq(fmt(resolve_pick(v, 100, NULL)), "2404:8e00::feed:3c");
	cur = a6("2404:8e00::feed:50");
	ck_assert_str_eq(fmt(resolve_pick(v, 100, &cur)), "2404:8e00::feed:50");

	c = (struct resolve_choice){ .current = &cur };
	for (size_t i = 0; i < 100; i++)
		resolve_consider(&c, &v[i]);
	ck_assert_uint_eq(c.answers, 100);
	ck_assert_uint_eq(c.usable, 40);
	ck_assert_ptr_eq(c.pick, &v[80]);
}
END_TEST

/* getaddrinfo's path: a literal answers itself, without a resolver. */
START_TEST(aaaa_literals)
{
	struct in6_addr out[4];

	ck_assert_int_eq(resolve_aaaa("2404:8e00::feed:100", NULL, 0, out, 4, NULL), 1);
	ck_assert_str_eq(fmt(&out[0]), "2404:8e00::feed:100");
	ck_assert_int_eq(resolve_aaaa("::1", NULL, 0, out, 4, NULL), 0);
	ck_assert_int_eq(resolve_aaaa("::", NULL, 0, out, 4, NULL), 0);
	ck_assert_int_eq(resolve_aaaa("ff02::1", NULL, 0, out, 4, NULL), 0);
}
END_TEST

/* The NGN's resolvers the daemon records are what uplinkctl asks; junk in the file is skipped. */
START_TEST(rdnss_file)
{
	struct in6_addr in[2], out[3];
	char path[512];

	inet_pton(AF_INET6, "2404:1a8:7f01:a::3", &in[0]);
	inet_pton(AF_INET6, "2404:1a8:7f01:b::3", &in[1]);
	ck_assert_uint_eq(resolve_rdnss_load(tl_tmpdir(), out, 3), 0);
	ck_assert_int_eq(resolve_rdnss_save(tl_tmpdir(), in, 2), 0);
	ck_assert_uint_eq(resolve_rdnss_load(tl_tmpdir(), out, 3), 2);
	ck_assert(!memcmp(out, in, sizeof(in)));
	snprintf(path, sizeof(path), "%s/rdnss", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(path, "::\nff02::1\nnot-an-address\n2404:1a8:7f01:b::3\n", 0644), 0);
	ck_assert_uint_eq(resolve_rdnss_load(tl_tmpdir(), out, 3), 1);
	ck_assert(!memcmp(&out[0], &in[1], 16));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, only_global_unicast);
	tcase_add_test(tc, pick_skips_junk);
	tcase_add_test(tc, hundred_answers);
	tcase_add_test(tc, aaaa_literals);
	tcase_add_test(tc, rdnss_file);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
