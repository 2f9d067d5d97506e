/*
 * libFuzzer target for the MAP-E arithmetic: arbitrary rule parameters and end-user prefix
 * into mape_rule_validate / mape_compute / mape_rule_lookup; on success the result's
 * invariants are checked against an independent recomputation.
 *
 * Input (zero-padded to 44 bytes): n r o a psid_len flags | rule IPv6 (16) | rule IPv4 (4) |
 * end-user length | end-user IPv6 (16) | iid.  flags: 1 = tidy the numbers into range and
 * the rule's bits into the end-user prefix (reaches the arithmetic more often), 2/4/8 =
 * wrong family for rule IPv6 / rule IPv4 / end-user prefix, 16 = use the built-in table,
 * 32 = set a BR.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "mape.h"
#include "util.h"
#include "fuzz.h"

enum {
	F_TIDY = 1, F_V6_FAMILY = 2, F_V4_FAMILY = 4, F_EU_FAMILY = 8, F_LOOKUP = 16, F_BR = 32,
};

static void check_msg(const struct ul_err *e)
{
	ensure(memchr(e->msg, '\0', sizeof(e->msg)));
	ensure(e->msg[0]);
}

static void check_result(const struct mape_rule *rule, const struct ip_prefix *eu_in,
			 const struct mape_result *res)
{
	unsigned n = rule->ipv6.len, r = rule->ipv4.len, o = rule->ea_len;
	unsigned a = rule->psid_offset, p = 32 - r, q = o > p ? o - p : 0;
	unsigned keep, v4_at, total = 0, prev_hi = 0, zero;
	struct ip_prefix eu = *eu_in, v4;
	uint64_t ea, suffix;
	uint16_t lo, hi;

	prefix_mask(&eu);
	ensure(!prefix_cmp(&eu, &res->end_user));
	ensure(eu.len >= n + o && eu.len <= 64);
	ensure(res->psid_len == q && res->psid_offset == a);
	ensure(res->psid < (1u << q));
	ensure(res->ipv4_len == (o >= p ? 32 : r + o));
	v4 = (struct ip_prefix){ .addr = addr_v4(ntohl(res->ipv4.s_addr)), .len = rule->ipv4.len };
	ensure(prefix_contains(&rule->ipv4, &v4));

	ea = addr_get_bits(eu.addr.b, n, o);
	suffix = ntohl(res->ipv4.s_addr) & ((UINT64_C(1) << p) - 1);
	if (o >= p)
		ensure(((suffix << q) | res->psid) == ea);
	else
		ensure(suffix == ea << (p - o));

	keep = eu.len;
	ensure(addr_get_bits(res->ce.s6_addr, 0, keep) == addr_get_bits(eu.addr.b, 0, keep));
	ensure(addr_get_bits(res->ce.s6_addr, keep, 64 - keep) == 0);
	v4_at = rule->iid == MAPE_IID_RFC7597 ? 80 : 72;
	ensure(addr_get_bits(res->ce.s6_addr, 64, v4_at - 64) == 0);
	ensure(addr_get_bits(res->ce.s6_addr, v4_at, 32) == ntohl(res->ipv4.s_addr));
	ensure(addr_get_bits(res->ce.s6_addr, v4_at + 32, 16) == res->psid);
	ensure(addr_get_bits(res->ce.s6_addr, v4_at + 48, 128 - v4_at - 48) == 0);
	ensure(res->has_br == rule->has_br);

	if (!q) {
		ensure(res->port_sets == 1 && res->ports_per_set == 65536);
	} else {
		ensure(res->port_sets == (a ? (1u << a) - 1 : 1));
		ensure(res->ports_per_set == 1u << (16 - a - q));
	}
	/* port 0 is in no set: the one set that would start with it starts at 1 */
	zero = !q || (!a && res->psid == 0);
	ensure(mape_port_count(res) == res->port_sets * res->ports_per_set - zero);
	ensure(mape_port_count(res) <= 65535);
	for (unsigned i = 0; i < res->port_sets; i++) {
		mape_port_range(res, i, &lo, &hi);
		ensure(lo > 0 && lo <= hi);
		ensure(hi - lo + 1u == res->ports_per_set - (zero && i == 0));
		ensure(i == 0 || lo > prev_hi);
		if (!q)
			ensure(lo == 1 && hi == 65535);
		else if (a)
			ensure(lo >= 1u << (16 - a));
		ensure(mape_port_in_sets(res, lo) && mape_port_in_sets(res, hi));
		if (q && lo > 0)
			ensure(!mape_port_in_sets(res, (uint16_t)(lo - 1)));
		if (q && hi < 65535)
			ensure(!mape_port_in_sets(res, (uint16_t)(hi + 1)));
		total += hi - lo + 1u;
		prev_hi = hi;
	}
	ensure(total == mape_port_count(res));
}

static void run(const struct mape_rule *rule, const struct ip_prefix *eu)
{
	struct mape_result res;
	struct ul_err e = { "" }, ve = { "" };
	int ret, vret;

	vret = mape_rule_validate(rule, &ve);
	ensure(vret == 0 || vret == -EINVAL);
	if (vret)
		check_msg(&ve);
	memset(&res, 0xa5, sizeof(res));
	ret = mape_compute(rule, eu, &res, &e);
	if (vret) {
		ensure(ret == vret && !strcmp(e.msg, ve.msg));
		return;
	}
	if (ret) {
		ensure(ret == -EINVAL);
		check_msg(&e);
		return;
	}
	check_result(rule, eu, &res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t in[44] = { 0 };
	struct mape_rule rule;
	struct ip_prefix eu;
	struct ul_err e = { "" };
	const char *service = NULL;
	unsigned flags;
	int ret;

	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	flags = in[5];
	memset(&rule, 0, sizeof(rule));
	rule.ipv6.addr.family = flags & F_V6_FAMILY ? AF_INET : AF_INET6;
	memcpy(rule.ipv6.addr.b, in + 6, 16);
	rule.ipv6.len = in[0];
	rule.ipv4.addr.family = flags & F_V4_FAMILY ? AF_INET6 : AF_INET;
	memcpy(rule.ipv4.addr.b, in + 22, 4);
	rule.ipv4.len = in[1];
	rule.ea_len = in[2];
	rule.psid_offset = in[3];
	rule.psid_len = (int8_t)in[4];
	rule.iid = (enum mape_iid)(in[43] % 3);
	if (flags & F_BR) {
		rule.has_br = true;
		memcpy(&rule.br, in + 26, sizeof(rule.br));
	}
	memset(&eu, 0, sizeof(eu));
	eu.addr.family = flags & F_EU_FAMILY ? AF_INET : AF_INET6;
	memcpy(eu.addr.b, in + 27, 16);
	eu.len = in[26];

	if (flags & F_TIDY) {
		rule.ipv6.len %= 65;
		rule.ipv4.len %= 33;
		rule.ea_len %= 49;
		rule.psid_offset %= 16;
		if (rule.psid_len < -1 || rule.psid_len > 16)
			rule.psid_len = -1;
		prefix_mask(&rule.ipv6);
		prefix_mask(&rule.ipv4);
		addr_set_bits(eu.addr.b, 0, rule.ipv6.len,
			      addr_get_bits(rule.ipv6.addr.b, 0, rule.ipv6.len));
		if (rule.ipv6.len + rule.ea_len <= 64)
			eu.len = (uint8_t)(rule.ipv6.len + rule.ea_len +
					   eu.len % (65 - rule.ipv6.len - rule.ea_len));
	}

	if (flags & F_LOOKUP) {
		ret = mape_rule_lookup(&eu, &rule, &service, &e);
		if (ret) {
			ensure(ret == -ENOENT || ret == -EINVAL);
			check_msg(&e);
			return 0;
		}
		ensure(service && service[0]);
		ensure(mape_rule_validate(&rule, NULL) == 0);
	}
	run(&rule, &eu);
	return 0;
}
