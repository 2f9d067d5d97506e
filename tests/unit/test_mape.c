#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "mape.h"
#include "util.h"

static struct mape_rule mk_rule(const char *v6, const char *v4, unsigned ea, unsigned offset,
				enum mape_iid iid)
{
	struct mape_rule r = {
		.ea_len = ea, .psid_offset = offset, .psid_len = -1, .iid = iid,
	};

	/* Any family and host bits are accepted here so validation itself can be tested. */
	ck_assert_int_eq(prefix_parse(&r.ipv6, v6, AF_UNSPEC, true), 0);
	ck_assert_int_eq(prefix_parse(&r.ipv4, v4, AF_UNSPEC, true), 0);
	return r;
}

static struct ip_prefix mk_prefix(const char *s)
{
	struct ip_prefix p;

	ck_assert_msg(prefix_parse(&p, s, AF_UNSPEC, true) == 0, "bad prefix %s", s);
	return p;
}

static void compute_ok(const struct mape_rule *rule, const char *eu, struct mape_result *res)
{
	struct ip_prefix p = mk_prefix(eu);
	struct ul_err e = { "" };
	int ret;

	ret = mape_compute(rule, &p, res, &e);
	ck_assert_msg(ret == 0, "%s: %d %s", eu, ret, e.msg);
}

static void expect_ipv4(const struct mape_result *res, const char *v4, unsigned len)
{
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &res->ipv4, buf, sizeof(buf));
	ck_assert_str_eq(buf, v4);
	ck_assert_uint_eq(res->ipv4_len, len);
}

static void expect_ce(const struct mape_result *res, const char *ce)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, &res->ce, buf, sizeof(buf));
	ck_assert_str_eq(buf, ce);
}

static void expect_range(const struct mape_result *res, unsigned i, unsigned lo, unsigned hi)
{
	uint16_t l, h;

	mape_port_range(res, i, &l, &h);
	ck_assert_msg(l == lo && h == hi, "set %u: got %u-%u, want %u-%u", i, l, h, lo, hi);
}

static void expect_sets(const struct mape_result *res, unsigned psid, unsigned q,
			unsigned sets, unsigned per)
{
	ck_assert_uint_eq(res->psid, psid);
	ck_assert_uint_eq(res->psid_len, q);
	ck_assert_uint_eq(res->port_sets, sets);
	ck_assert_uint_eq(res->ports_per_set, per);
	/* port 0 is in no set: without a PSID it leaves the one set, with a = 0 PSID 0's */
	ck_assert_uint_eq(mape_port_count(res),
			  sets * per - (!q || (!res->psid_offset && !psid)));
}

static void expect_err(const struct mape_rule *rule, const char *eu, int err, const char *msg)
{
	struct mape_result res;
	struct ul_err e = { "" };
	struct ip_prefix p;
	int ret;

	if (eu) {
		p = mk_prefix(eu);
		ret = mape_compute(rule, &p, &res, &e);
	} else {
		ret = mape_rule_validate(rule, &e);
	}
	ck_assert_int_eq(ret, -err);
	ck_assert_str_eq(e.msg, msg);
}

START_TEST(rfc7597_example1)
{
	struct mape_rule rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 16, 6, MAPE_IID_RFC7597);
	struct mape_result res;

	ck_assert_int_eq(mape_rule_validate(&rule, NULL), 0);
	compute_ok(&rule, "2001:db8:12:3400::/56", &res);
	expect_ipv4(&res, "192.0.2.18", 32);
	expect_sets(&res, 0x34, 8, 63, 4);
	ck_assert_uint_eq(res.psid_offset, 6);
	expect_range(&res, 0, 1232, 1235);
	expect_range(&res, 1, 2256, 2259);
	expect_range(&res, 62, 64720, 64723);
	ck_assert_uint_eq(mape_port_count(&res), 252);
	expect_ce(&res, "2001:db8:12:3400:0:c000:212:34");
	ck_assert(!res.has_br);
	ck_assert(mape_port_in_sets(&res, 1232));
	ck_assert(mape_port_in_sets(&res, 1235));
	ck_assert(!mape_port_in_sets(&res, 1231));
	ck_assert(!mape_port_in_sets(&res, 1236));
	ck_assert(!mape_port_in_sets(&res, 208));
}
END_TEST

START_TEST(v6plus_example)
{
	struct mape_rule rule = mk_rule("240b:10::/31", "106.72.0.0/15", 25, 4, MAPE_IID_DRAFT03);
	struct mape_result res;
	char buf[PREFIX_STRLEN];

	rule.has_br = true;
	inet_pton(AF_INET6, "2404:9200:225:100::64", &rule.br);
	compute_ok(&rule, "240b:10:3f6c:d400::/56", &res);
	expect_ipv4(&res, "106.72.63.108", 32);
	expect_sets(&res, 212, 8, 15, 16);
	ck_assert_uint_eq(mape_port_count(&res), 240);
	expect_range(&res, 0, 7488, 7503);
	expect_range(&res, 1, 11584, 11599);
	expect_range(&res, 14, 64832, 64847);
	expect_ce(&res, "240b:10:3f6c:d400:6a:483f:6c00:d400");
	ck_assert(res.has_br);
	ck_assert(!memcmp(&res.br, &rule.br, sizeof(rule.br)));
	ck_assert_str_eq(prefix_fmt(&res.end_user, buf), "240b:10:3f6c:d400::/56");
}
END_TEST

/*
 * OCN Virtual Connect, rule 2400:4050::/34 -> 153.240.0.0/16, EA 22, offset 6 (aios list):
 * q = 22 - (32 - 16) = 6, m = 16 - 6 - 6 = 4.  Prefix 2400:4050:1234:5600::/56:
 * EA = bits 34..55 = 0x1234 (bits 34..47) . 0x56 = 0x123456; IPv4 suffix = EA >> 6 = 0x48d1
 * -> 153.240.72.209; PSID = EA & 63 = 22.  Sets: A << 10 | 22 << 4 = A * 1024 + 352, so
 * 1376-1391, 2400-2415, ..., 64864-64879: 63 sets x 16 = 1008 ports.  draft-03 IID:
 * 00 | 99 f0 48 d1 | 00 16 | 00.
 */
START_TEST(ocn_example)
{
	struct mape_rule rule = mk_rule("2400:4050::/34", "153.240.0.0/16", 22, 6,
					MAPE_IID_DRAFT03);
	struct mape_result res;

	compute_ok(&rule, "2400:4050:1234:5600::/56", &res);
	expect_ipv4(&res, "153.240.72.209", 32);
	expect_sets(&res, 22, 6, 63, 16);
	ck_assert_uint_eq(mape_port_count(&res), 1008);
	expect_range(&res, 0, 1376, 1391);
	expect_range(&res, 1, 2400, 2415);
	expect_range(&res, 62, 64864, 64879);
	expect_ce(&res, "2400:4050:1234:5600:99:f048:d100:1600");
}
END_TEST

START_TEST(psid_offset_zero)
{
	struct mape_rule rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 16, 0, MAPE_IID_RFC7597);
	struct mape_result res;

	compute_ok(&rule, "2001:db8:12:3400::/56", &res);
	expect_ipv4(&res, "192.0.2.18", 32);
	expect_sets(&res, 0x34, 8, 1, 256);
	expect_range(&res, 0, 0x3400, 0x34ff);
	ck_assert(mape_port_in_sets(&res, 0x3400));
	ck_assert(!mape_port_in_sets(&res, 0x3500));
	ck_assert(!mape_port_in_sets(&res, 0x33ff));

	/*
	 * With a = 0 no A > 0 keeps PSID 0's set off the low ports, so it starts at port 0,
	 * which no transport may use: the set is 1-255.
	 */
	compute_ok(&rule, "2001:db8:12::/56", &res);
	ck_assert_uint_eq(res.port_sets, 1);
	ck_assert_uint_eq(res.ports_per_set, 256);
	expect_range(&res, 0, 1, 255);
	ck_assert_uint_eq(mape_port_count(&res), 255);
	ck_assert(!mape_port_in_sets(&res, 0));
	ck_assert(mape_port_in_sets(&res, 1));
	ck_assert(mape_port_in_sets(&res, 255));
	ck_assert(!mape_port_in_sets(&res, 256));

	/* q = 16: PSID 0 would have port 0 alone */
	rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 24, 0, MAPE_IID_RFC7597);
	compute_ok(&rule, "2001:db8:12:1::/64", &res);
	expect_range(&res, 0, 1, 1);
	ck_assert_uint_eq(mape_port_count(&res), 1);
	expect_err(&rule, "2001:db8:12::/64", EINVAL,
		   "PSID 0 with PSID offset 0 and PSID length 16 has only port 0, which is not usable: "
		   "no port is left");
}
END_TEST

START_TEST(psid_len_zero)
{
	/* o = p: a whole IPv4 address, no PSID, every port. */
	struct mape_rule rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 8, 6, MAPE_IID_RFC7597);
	struct mape_result res;

	compute_ok(&rule, "2001:db8:12::/48", &res);
	expect_ipv4(&res, "192.0.2.18", 32);
	ck_assert_uint_eq(res.psid_len, 0);
	ck_assert_uint_eq(res.port_sets, 1);
	ck_assert_uint_eq(mape_port_count(&res), 65535);
	expect_range(&res, 0, 1, 65535);
	ck_assert(!mape_port_in_sets(&res, 0));
	ck_assert(mape_port_in_sets(&res, 1));
	ck_assert(mape_port_in_sets(&res, 1023));
	ck_assert(mape_port_in_sets(&res, 65535));
	expect_ce(&res, "2001:db8:12::c000:212:0");

	/* A /32 rule with no EA bits is a 1:1 mapping. */
	rule = mk_rule("2001:db8::/40", "192.0.2.1/32", 0, 0, MAPE_IID_DRAFT03);
	compute_ok(&rule, "2001:db8:ff::/48", &res);
	expect_ipv4(&res, "192.0.2.1", 32);
	ck_assert_uint_eq(mape_port_count(&res), 65535);
	expect_ce(&res, "2001:db8:ff:0:c0:2:100:0");
}
END_TEST

START_TEST(ipv4_prefix)
{
	/* o < p: the CE gets 192.0.2.x/28, padded with zeros in the IID, PSID 0. */
	struct mape_rule rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 4, 6, MAPE_IID_RFC7597);
	struct mape_result res;

	compute_ok(&rule, "2001:db8:a0::/44", &res);
	expect_ipv4(&res, "192.0.2.160", 28);
	expect_sets(&res, 0, 0, 1, 65536);
	expect_range(&res, 0, 1, 65535);
	expect_ce(&res, "2001:db8:a0::c000:2a0:0");

	/* No EA bits at all: the CE gets the whole rule prefix. */
	rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 0, 6, MAPE_IID_RFC7597);
	compute_ok(&rule, "2001:db8:a0::/44", &res);
	expect_ipv4(&res, "192.0.2.0", 24);

	/* r = 0, o = 0: p = 32, a shift by 32 in 32-bit arithmetic would be undefined. */
	rule = mk_rule("::/0", "0.0.0.0/0", 0, 0, MAPE_IID_RFC7597);
	compute_ok(&rule, "2001:db8::/64", &res);
	expect_ipv4(&res, "0.0.0.0", 0);
	rule = mk_rule("::/0", "0.0.0.0/0", 31, 0, MAPE_IID_RFC7597);
	compute_ok(&rule, "c000:20a::/31", &res);
	expect_ipv4(&res, "192.0.2.10", 31);
	ck_assert_uint_eq(res.psid_len, 0);

	/* r = 0, o = 32, n + o = 64. */
	rule = mk_rule("2001:db8::/32", "0.0.0.0/0", 32, 6, MAPE_IID_RFC7597);
	compute_ok(&rule, "2001:db8:c000:201::/64", &res);
	expect_ipv4(&res, "192.0.2.1", 32);
	expect_sets(&res, 0, 0, 1, 65536);
	expect_ce(&res, "2001:db8:c000:201:0:c000:201:0");
}
END_TEST

START_TEST(prefix_60_64)
{
	struct mape_rule rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 16, 6, MAPE_IID_RFC7597);
	struct mape_rule v6plus = mk_rule("240b:10::/31", "106.72.0.0/15", 25, 4,
					  MAPE_IID_DRAFT03);
	struct mape_result res;

	/* /60: the bits past the EA bits stay, the rest of the /64 (subnet id) is zero. */
	compute_ok(&rule, "2001:db8:12:3450::/60", &res);
	expect_ipv4(&res, "192.0.2.18", 32);
	expect_sets(&res, 0x34, 8, 63, 4);
	expect_ce(&res, "2001:db8:12:3450:0:c000:212:34");

	/* Host bits past the prefix length are ignored, not copied into the CE address. */
	compute_ok(&rule, "2001:db8:12:345f:1::/60", &res);
	expect_ce(&res, "2001:db8:12:3450:0:c000:212:34");

	/* v6plus without Hikari Denwa: a /64 from RA; the whole /64 is the CE's prefix. */
	compute_ok(&v6plus, "240b:10:3f6c:d400::/64", &res);
	expect_ipv4(&res, "106.72.63.108", 32);
	expect_sets(&res, 212, 8, 15, 16);
	expect_ce(&res, "240b:10:3f6c:d400:6a:483f:6c00:d400");
	compute_ok(&v6plus, "240b:10:3f6c:d4a1::/64", &res);
	expect_ipv4(&res, "106.72.63.108", 32);
	expect_ce(&res, "240b:10:3f6c:d4a1:6a:483f:6c00:d400");

	/* n + o = 64 with a PSID: EA = 0x123456, q = 8, a = 5, m = 3. */
	rule = mk_rule("2001:db8:ff00::/40", "198.51.0.0/16", 24, 5, MAPE_IID_DRAFT03);
	compute_ok(&rule, "2001:db8:ff12:3456::/64", &res);
	expect_ipv4(&res, "198.51.18.52", 32);
	expect_sets(&res, 0x56, 8, 31, 8);
	expect_range(&res, 0, 2736, 2743);
	expect_range(&res, 30, 64176, 64183);
	expect_ce(&res, "2001:db8:ff12:3456:c6:3312:3400:5600");
	expect_err(&rule, "2001:db8:ff12:3450::/60", EINVAL,
		   "end-user prefix 2001:db8:ff12:3450::/60 is shorter than rule length + EA bits (64)");
}
END_TEST

START_TEST(invalid_rules)
{
	struct mape_rule rule;

	rule = mk_rule("240b:10::/31", "106.72.0.0/15", 60, 4, MAPE_IID_DRAFT03);
	expect_err(&rule, NULL, EINVAL, "EA-bits length must be 0..48, got 60");

	rule = mk_rule("2001:db8::/30", "106.72.0.0/15", 34, 0, MAPE_IID_DRAFT03);
	expect_err(&rule, NULL, EINVAL, "PSID length 17 > 16");
	rule.psid_len = 17;
	expect_err(&rule, NULL, EINVAL, "PSID length 17 > 16");

	rule = mk_rule("240b:10::/31", "106.72.0.0/15", 25, 4, MAPE_IID_DRAFT03);
	rule.psid_len = 7;
	expect_err(&rule, NULL, EINVAL, "psid-len 7 does not match ea-len 25 - (32 - 15) = 8");
	rule.psid_len = -2;
	expect_err(&rule, NULL, EINVAL, "psid-len -2 does not match ea-len 25 - (32 - 15) = 8");
	rule.psid_len = 8;
	ck_assert_int_eq(mape_rule_validate(&rule, NULL), 0);

	rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 4, 6, MAPE_IID_RFC7597);
	rule.psid_len = 2;
	expect_err(&rule, NULL, EINVAL, "psid-len 2 does not match ea-len 4 - (32 - 24) < 0 "
		   "(the CE gets an IPv4 prefix, psid-len 0)");
	rule.psid_len = 0;
	ck_assert_int_eq(mape_rule_validate(&rule, NULL), 0);

	rule = mk_rule("240b:10::/31", "106.72.0.0/15", 25, 9, MAPE_IID_DRAFT03);
	expect_err(&rule, NULL, EINVAL, "PSID offset + PSID length must be <= 16, got 9 + 8");
	rule.psid_offset = 8;
	ck_assert_int_eq(mape_rule_validate(&rule, NULL), 0);
	rule.psid_offset = 16;
	expect_err(&rule, NULL, EINVAL, "PSID offset must be 0..15, got 16");

	rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 30, 0, MAPE_IID_RFC7597);
	expect_err(&rule, NULL, EINVAL, "rule IPv6 prefix length + EA-bits length must be <= 64 "
		   "(the EA bits lie inside the /64), got 40 + 30 = 70");

	rule = mk_rule("2001:db8::/96", "192.0.2.0/24", 0, 0, MAPE_IID_RFC7597);
	expect_err(&rule, NULL, EINVAL, "rule IPv6 prefix length must be 0..64, got 96");

	rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 16, 6, MAPE_IID_RFC7597);
	rule.ipv4.len = 33;
	expect_err(&rule, NULL, EINVAL, "rule IPv4 prefix length must be 0..32, got 33");

	rule = mk_rule("2001:db8::1/40", "192.0.2.0/24", 16, 6, MAPE_IID_RFC7597);
	expect_err(&rule, NULL, EINVAL, "rule IPv6 prefix 2001:db8::1/40 has bits set past /40");
	rule = mk_rule("2001:db8::/40", "192.0.2.1/24", 16, 6, MAPE_IID_RFC7597);
	expect_err(&rule, NULL, EINVAL, "rule IPv4 prefix 192.0.2.1/24 has bits set past /24");

	rule = mk_rule("192.0.2.0/24", "192.0.2.0/24", 16, 6, MAPE_IID_RFC7597);
	expect_err(&rule, NULL, EINVAL, "rule IPv6 prefix 192.0.2.0/24 is not an IPv6 prefix");
	rule = mk_rule("2001:db8::/40", "2001:db8::/40", 16, 6, MAPE_IID_RFC7597);
	expect_err(&rule, NULL, EINVAL, "rule IPv4 prefix 2001:db8::/40 is not an IPv4 prefix");
	memset(&rule, 0, sizeof(rule));
	expect_err(&rule, NULL, EINVAL, "rule IPv6 prefix is missing");

	rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 16, 6, (enum mape_iid)7);
	expect_err(&rule, NULL, EINVAL, "unknown interface-id layout 7");
}
END_TEST

START_TEST(invalid_prefixes)
{
	struct mape_rule rule = mk_rule("2001:db8::/40", "192.0.2.0/24", 16, 6, MAPE_IID_RFC7597);

	expect_err(&rule, "2001:db8::/48", EINVAL,
		   "end-user prefix 2001:db8::/48 is shorter than rule length + EA bits (56)");
	expect_err(&rule, "2001:db8::/32", EINVAL,
		   "end-user prefix 2001:db8::/32 is shorter than rule length + EA bits (56)");
	expect_err(&rule, "2001:db9:12:3400::/56", EINVAL,
		   "end-user prefix 2001:db9:12:3400::/56 is not inside rule prefix 2001:db8::/40");
	expect_err(&rule, "2001::/16", EINVAL,
		   "end-user prefix 2001::/16 is shorter than rule length + EA bits (56)");
	expect_err(&rule, "2002::/16", EINVAL,
		   "end-user prefix 2002::/16 is not inside rule prefix 2001:db8::/40");
	expect_err(&rule, "2001:db8:12:3400::/72", EINVAL,
		   "end-user prefix 2001:db8:12:3400::/72 is longer than /64");
	expect_err(&rule, "192.0.2.0/24", EINVAL,
		   "end-user prefix 192.0.2.0/24 is not an IPv6 prefix");

	/* An invalid rule is reported before anything about the prefix. */
	rule.ea_len = 60;
	expect_err(&rule, "2001:db9::/56", EINVAL, "EA-bits length must be 0..48, got 60");
}
END_TEST

START_TEST(lookup)
{
	struct mape_rule rule;
	struct mape_result res;
	struct ip_prefix p;
	struct ul_err e = { "" };
	const char *service = NULL;
	char buf[PREFIX_STRLEN];

	p = mk_prefix("240b:10:3f6c:d400::/56");
	ck_assert_int_eq(mape_rule_lookup(&p, &rule, &service, &e), 0);
	ck_assert_str_eq(service, "v6plus");
	ck_assert_str_eq(prefix_fmt(&rule.ipv6, buf), "240b:10::/31");
	ck_assert_str_eq(prefix_fmt(&rule.ipv4, buf), "106.72.0.0/15");
	ck_assert_uint_eq(rule.ea_len, 25);
	ck_assert_uint_eq(rule.psid_offset, 4);
	ck_assert_int_eq(rule.psid_len, -1);
	ck_assert_int_eq(rule.iid, MAPE_IID_DRAFT03);
	ck_assert(rule.has_br);
	inet_ntop(AF_INET6, &rule.br, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2404:9200:225:100::64");
	ck_assert_int_eq(mape_compute(&rule, &p, &res, &e), 0);
	expect_ipv4(&res, "106.72.63.108", 32);
	expect_ce(&res, "240b:10:3f6c:d400:6a:483f:6c00:d400");

	/* The same line seen as a /64 from RA. */
	p = mk_prefix("240b:10:3f6c:d400::/64");
	ck_assert_int_eq(mape_rule_lookup(&p, &rule, NULL, &e), 0);
	ck_assert_str_eq(prefix_fmt(&rule.ipv6, buf), "240b:10::/31");

	/* OCN: the /38 nested in the /34 wins and maps the same way (see ocn_example). */
	p = mk_prefix("2400:4050:1234:5600::/56");
	ck_assert_int_eq(mape_rule_lookup(&p, &rule, &service, &e), 0);
	ck_assert_str_eq(service, "ocn");
	ck_assert_str_eq(prefix_fmt(&rule.ipv6, buf), "2400:4050:1000::/38");
	ck_assert_str_eq(prefix_fmt(&rule.ipv4, buf), "153.240.64.0/20");
	ck_assert_uint_eq(rule.ea_len, 18);
	ck_assert_uint_eq(rule.psid_offset, 6);
	inet_ntop(AF_INET6, &rule.br, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2001:380:a120::9");
	ck_assert_int_eq(mape_compute(&rule, &p, &res, &e), 0);
	expect_ipv4(&res, "153.240.72.209", 32);
	expect_sets(&res, 22, 6, 63, 16);
	expect_ce(&res, "2400:4050:1234:5600:99:f048:d100:1600");

	/* BIGLOBE (labelled v6plus in the data), its own BR. */
	p = mk_prefix("2404:7a82:400::/56");
	ck_assert_int_eq(mape_rule_lookup(&p, &rule, &service, &e), 0);
	ck_assert_str_eq(prefix_fmt(&rule.ipv6, buf), "2404:7a82:400::/38");
	inet_ntop(AF_INET6, &rule.br, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2001:260:700:1::1:275");

	p = mk_prefix("2001:db8:12:3400::/56");
	ck_assert_int_eq(mape_rule_lookup(&p, &rule, &service, &e), -ENOENT);
	ck_assert_str_eq(e.msg, "no built-in MAP-E rule covers 2001:db8:12:3400::/56");
	/* Shorter than every rule that would contain it. */
	p = mk_prefix("240b::/16");
	ck_assert_int_eq(mape_rule_lookup(&p, &rule, &service, &e), -ENOENT);
	ck_assert_str_eq(e.msg, "no built-in MAP-E rule covers 240b::/16");
	p = mk_prefix("192.0.2.0/24");
	ck_assert_int_eq(mape_rule_lookup(&p, &rule, &service, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "end-user prefix 192.0.2.0/24 is not an IPv6 prefix");
}
END_TEST

START_TEST(builtin_table)
{
	struct ip_prefix prev = { 0 };
	struct ul_err e = { "" };

	ck_assert_uint_gt(mape_builtin_rule_count, 800);
	for (unsigned i = 0; i < mape_builtin_rule_count; i++) {
		const struct mape_builtin_rule *b = &mape_builtin_rules[i];
		struct mape_rule rule = { .ea_len = b->ea_len, .psid_offset = b->psid_offset,
					  .psid_len = -1, .iid = MAPE_IID_DRAFT03 };
		struct in6_addr br;

		ck_assert_int_eq(prefix_parse(&rule.ipv6, b->rule_v6, AF_INET6, false), 0);
		ck_assert_int_eq(prefix_parse(&rule.ipv4, b->rule_v4, AF_INET, false), 0);
		ck_assert_msg(mape_rule_validate(&rule, &e) == 0, "%s: %s", b->rule_v6, e.msg);
		ck_assert(b->br && inet_pton(AF_INET6, b->br, &br) == 1);
		ck_assert(!strcmp(b->service, "v6plus") || !strcmp(b->service, "ocn"));
		/* Sorted and free of duplicates, so the longest match is unambiguous. */
		if (i)
			ck_assert_msg(prefix_cmp(&prev, &rule.ipv6) < 0, "%s out of order",
				      b->rule_v6);
		prev = rule.ipv6;
	}
}
END_TEST

/*
 * check's ck_assert_* record every passing assertion through a pipe, which is far too slow
 * for the property test's inner loops: these only call into check on failure.
 */
#define CHECK_MSG(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)
#define CHECK(cond) CHECK_MSG(cond, "%s:%d: %s", __FILE__, __LINE__, #cond)
#define CHECK_CMP(x, op, y) do { \
	unsigned long long x_ = (x), y_ = (y); \
	CHECK_MSG(x_ op y_, "%s:%d: %s %s %s: %llu vs %llu", __FILE__, __LINE__, \
		  #x, #op, #y, x_, y_); \
} while (0)
#define CHECK_EQ(x, y) CHECK_CMP(x, ==, y)
#define CHECK_LE(x, y) CHECK_CMP(x, <=, y)

/* xorshift64*: a fixed sequence on every platform, unlike rand(). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned rng_below(unsigned n)
{
	return (unsigned)(rng() % n);
}

static void random_rule(struct mape_rule *rule)
{
	unsigned r, o, q, a, n, max_a;

	memset(rule, 0, sizeof(*rule));
	r = rng_below(33);
	if (rng_below(4)) {
		q = 1 + rng_below(16);
		o = 32 - r + q;
	} else {
		do {
			o = rng_below(49);
			q = o > 32 - r ? o - (32 - r) : 0;
		} while (q > 16);
	}
	max_a = 16 - q > 15 ? 15 : 16 - q;
	a = rng_below(max_a + 1);
	n = rng_below(64 - o + 1);
	/* Japanese VNE-like rules (n + o = 56, q > 0) are the interesting case: favour them. */
	if (rng_below(2) && o <= 56 && q && n + o < 56)
		n = 56 - o;

	rule->ipv6.addr.family = AF_INET6;
	for (unsigned i = 0; i < 16; i++)
		rule->ipv6.addr.b[i] = (uint8_t)rng();
	rule->ipv6.len = (uint8_t)n;
	prefix_mask(&rule->ipv6);
	rule->ipv4 = (struct ip_prefix){ .addr = addr_v4((uint32_t)rng()), .len = (uint8_t)r };
	prefix_mask(&rule->ipv4);
	rule->ea_len = o;
	rule->psid_offset = a;
	rule->psid_len = rng_below(2) ? -1 : (int)q;
	rule->iid = rng_below(2) ? MAPE_IID_RFC7597 : MAPE_IID_DRAFT03;
}

static void random_prefix(const struct mape_rule *rule, struct ip_prefix *p)
{
	unsigned min = rule->ipv6.len + rule->ea_len;

	*p = rule->ipv6;
	for (unsigned i = rule->ipv6.len; i < 128; i++)
		addr_set_bits(p->addr.b, i, 1, rng() & 1);
	p->len = (uint8_t)(min + rng_below(64 - min + 1));
	prefix_mask(p);
}

/* EA bits rebuilt from the CE's IPv4 address and PSID, read back out of the IID. */
static uint64_t ea_from_ce(const struct mape_rule *rule, const struct mape_result *res)
{
	unsigned v4_at = rule->iid == MAPE_IID_RFC7597 ? 80 : 72;
	unsigned r = rule->ipv4.len, o = rule->ea_len, p = 32 - r, q = res->psid_len;
	uint64_t v4 = addr_get_bits(res->ce.s6_addr, v4_at, 32);
	uint64_t psid = addr_get_bits(res->ce.s6_addr, v4_at + 32, 16);
	uint64_t suffix = v4 & ((UINT64_C(1) << p) - 1);

	CHECK_EQ(v4, ntohl(res->ipv4.s_addr));
	CHECK_EQ(psid, res->psid);
	if (o < p)
		return suffix >> (p - o);
	return (suffix << q) | psid;
}

static void check_one(const struct mape_rule *rule, const struct ip_prefix *p,
		      const struct mape_result *res)
{
	unsigned n = rule->ipv6.len, o = rule->ea_len, a = rule->psid_offset;
	unsigned q = res->psid_len, keep = p->len;
	uint64_t ea = addr_get_bits(p->addr.b, n, o);
	struct ip_prefix v4 = { .addr = addr_v4(ntohl(res->ipv4.s_addr)), .len = rule->ipv4.len };
	uint16_t lo, hi, prev_hi = 0;

	CHECK_EQ(ea_from_ce(rule, res), ea);
	CHECK_EQ(addr_get_bits(res->ce.s6_addr, n, o), ea);
	CHECK(prefix_contains(&rule->ipv4, &v4));
	CHECK(!memcmp(res->ce.s6_addr, p->addr.b, keep / 8));
	CHECK_EQ(addr_get_bits(res->ce.s6_addr, 0, keep), addr_get_bits(p->addr.b, 0, keep));
	CHECK_EQ(addr_get_bits(res->ce.s6_addr, keep, 64 - keep), 0);
	if (rule->iid == MAPE_IID_RFC7597) {
		CHECK_EQ(addr_get_bits(res->ce.s6_addr, 64, 16), 0);
	} else {
		CHECK_EQ(addr_get_bits(res->ce.s6_addr, 64, 8), 0);
		CHECK_EQ(addr_get_bits(res->ce.s6_addr, 120, 8), 0);
	}

	/* port 0 is nobody's: it is in the one set without a PSID, and PSID 0's when a = 0 */
	if (!q) {
		CHECK_EQ(res->port_sets, 1);
		CHECK_EQ(mape_port_count(res), 65535);
	} else if (!a) {
		CHECK_EQ(res->port_sets, 1);
		CHECK_EQ(mape_port_count(res), (1u << (16 - q)) - !res->psid);
	} else {
		CHECK_EQ(res->port_sets, (1u << a) - 1);
		CHECK_EQ(mape_port_count(res), ((1u << a) - 1) << (16 - a - q));
	}
	for (unsigned i = 0; i < res->port_sets; i++) {
		mape_port_range(res, i, &lo, &hi);
		CHECK_LE(lo, hi);
		CHECK_LE(1, lo);
		CHECK_EQ(hi - lo + 1u, res->ports_per_set - (lo == 1 && res->ports_per_set > 1));
		CHECK(i == 0 || lo > prev_hi);
		if (a && q)
			CHECK_LE(1u << (16 - a), lo);
		prev_hi = hi;
	}
}

/*
 * Marks the ports of res in owner[] (PSID + 1; 0 = nobody yet) and checks mape_port_in_sets
 * against the ranges: all 65536 ports when scan_all, else a sample.
 */
static void mark_ports(const struct mape_result *res, uint32_t *owner, bool scan_all)
{
	uint32_t tag = res->psid + 1;
	uint16_t lo, hi;

	for (unsigned i = 0; i < res->port_sets; i++) {
		mape_port_range(res, i, &lo, &hi);
		for (unsigned port = lo; port <= hi; port++) {
			CHECK_MSG(!owner[port], "port %u in the sets of PSIDs %u and %u",
				      port, owner[port] - 1, res->psid);
			owner[port] = tag;
		}
	}
	for (unsigned k = 0; k < (scan_all ? 65536u : 16u); k++) {
		unsigned port = scan_all ? k : rng_below(65536);

		CHECK_MSG(mape_port_in_sets(res, (uint16_t)port) == (owner[port] == tag),
			      "psid %u port %u", res->psid, port);
	}
}

/* RFC 7597 lets a PSID be provisioned when the EA bits give only the IPv4 address. */
START_TEST(explicit_psid)
{
	struct mape_rule r = mk_rule("2001:db8::/40", "192.0.2.0/24", 8, 4, MAPE_IID_RFC7597);
	struct ip_prefix p = mk_prefix("2001:db8:12:3400::/56");
	struct mape_result res;
	struct ul_err e = { "" };
	uint16_t lo, hi;
	char buf[64];

	r.has_psid = true;
	r.psid = 5;
	r.psid_len = 4;
	compute_ok(&r, "2001:db8:12:3400::/56", &res);
	ck_assert_str_eq(inet_ntop(AF_INET, &res.ipv4, buf, sizeof(buf)), "192.0.2.18");
	ck_assert_uint_eq(res.psid, 5);
	ck_assert_uint_eq(res.psid_len, 4);
	ck_assert_uint_eq(res.port_sets, 15);
	ck_assert_uint_eq(res.ports_per_set, 256);
	mape_port_range(&res, 0, &lo, &hi);
	ck_assert_uint_eq(lo, 4096 | (5 << 8));
	ck_assert_uint_eq(hi, (4096 | (5 << 8)) + 255);

	r.psid = 16;
	ck_assert_int_eq(mape_compute(&r, &p, &res, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "PSID 16 does not fit in 4 bits");
	r.psid = 5;
	r.psid_len = -1;
	ck_assert_int_eq(mape_compute(&r, &p, &res, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "an explicit PSID needs its length (psid-len)");

	/* where the EA bits carry the PSID an explicit one must agree with them */
	r = mk_rule("2001:db8::/40", "192.0.2.0/24", 16, 6, MAPE_IID_RFC7597);
	r.has_psid = true;
	r.psid = 0x35;
	r.psid_len = 8;
	ck_assert_int_eq(mape_compute(&r, &p, &res, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "PSID 53 was given, but the EA bits of 2001:db8:12:3400::/56 give 52");
	r.psid = 0x34;
	compute_ok(&r, "2001:db8:12:3400::/56", &res);
}
END_TEST

START_TEST(random_rules)
{
	static uint32_t owner[65536];
	struct mape_result res;
	struct mape_rule rule;
	struct ip_prefix p;
	struct ul_err e = { "" };
	unsigned full_scans = 0, psid_rules = 0;

	for (unsigned iter = 0; iter < 600; iter++) {
		unsigned q, a, covered = 0;

		random_rule(&rule);
		random_prefix(&rule, &p);
		if (mape_compute(&rule, &p, &res, &e) && strstr(e.msg, "has only port 0"))
			continue; /* PSID 0 of a = 0, q = 16: checked below */
		CHECK_MSG(mape_compute(&rule, &p, &res, &e) == 0, "iter %u: %s", iter, e.msg);
		check_one(&rule, &p, &res);
		q = res.psid_len;
		a = res.psid_offset;
		psid_rules += q > 0;
		/* the arithmetic form the nftables guard and the conntrack flush use agrees */
		if (iter < 60) {
			uint16_t mask, bits, min;

			mape_port_mask(&res, &mask, &bits, &min);
			for (unsigned port = 1; port < 65536; port++) {
				bool in = (port & mask) == bits && port >= min;

				if (in != mape_port_in_sets(&res, (uint16_t)port))
					CHECK_MSG(false, "iter %u port %u", iter, port);
			}
		}

		/* Every PSID of the rule: the sets must tile the usable ports exactly once. */
		memset(owner, 0, sizeof(owner));
		for (unsigned psid = 0; psid < (1u << q); psid++) {
			struct mape_result other;
			struct ip_prefix op = p;

			addr_set_bits(op.addr.b, rule.ipv6.len + rule.ea_len - q, q, psid);
			if (q == 16 && !psid) {
				/* its one port would be port 0: refused, no set at all */
				CHECK_EQ(mape_compute(&rule, &op, &other, &e), -EINVAL);
				CHECK(strstr(e.msg, "has only port 0") != NULL);
				continue;
			}
			CHECK_EQ(mape_compute(&rule, &op, &other, &e), 0);
			CHECK_EQ(other.psid, psid);
			CHECK_EQ(other.ipv4.s_addr, res.ipv4.s_addr);
			check_one(&rule, &op, &other);
			mark_ports(&other, owner, psid < 4 && full_scans < 300);
			full_scans += psid < 4;
		}
		for (unsigned port = 0; port < 65536; port++)
			covered += owner[port] != 0;
		CHECK_EQ(covered, q && a ? 65536 - (1u << (16 - a)) : 65535);
		CHECK(!owner[0]);
	}
	CHECK_MSG(psid_rules > 400, "psid_rules %u", psid_rules);
}
END_TEST

static Suite *mape_suite(void)
{
	Suite *s = suite_create("mape");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rfc7597_example1);
	tcase_add_test(tc, v6plus_example);
	tcase_add_test(tc, ocn_example);
	tcase_add_test(tc, psid_offset_zero);
	tcase_add_test(tc, psid_len_zero);
	tcase_add_test(tc, ipv4_prefix);
	tcase_add_test(tc, prefix_60_64);
	tcase_add_test(tc, invalid_rules);
	tcase_add_test(tc, invalid_prefixes);
	tcase_add_test(tc, lookup);
	tcase_add_test(tc, builtin_table);
	tcase_add_test(tc, explicit_psid);
	tcase_add_test(tc, random_rules);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mape_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
