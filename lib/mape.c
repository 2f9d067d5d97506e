#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mape.h"

/* q = o - p, or 0 when o < p (the CE then gets an IPv4 prefix and no PSID). */
static unsigned derived_psid_len(unsigned ea_len, unsigned v4_len)
{
	unsigned p = 32 - v4_len;

	return ea_len > p ? ea_len - p : 0;
}

static int check_family(const struct ip_prefix *pfx, int family, const char *what,
			struct ul_err *e)
{
	char buf[PREFIX_STRLEN];

	if (pfx->addr.family == family)
		return 0;
	if (pfx->addr.family != AF_INET && pfx->addr.family != AF_INET6)
		return ul_errf(e, EINVAL, "%s is missing", what);
	return ul_errf(e, EINVAL, "%s %s is not an %s prefix", what, prefix_fmt(pfx, buf),
		       family == AF_INET ? "IPv4" : "IPv6");
}

int mape_rule_validate(const struct mape_rule *rule, struct ul_err *e)
{
	char buf[PREFIX_STRLEN];
	unsigned n, r, o, a, q;
	int ret;

	ret = check_family(&rule->ipv6, AF_INET6, "rule IPv6 prefix", e);
	if (ret)
		return ret;
	ret = check_family(&rule->ipv4, AF_INET, "rule IPv4 prefix", e);
	if (ret)
		return ret;
	n = rule->ipv6.len;
	r = rule->ipv4.len;
	o = rule->ea_len;
	a = rule->psid_offset;
	if (n > 64)
		return ul_errf(e, EINVAL, "rule IPv6 prefix length must be 0..64, got %u", n);
	if (r > 32)
		return ul_errf(e, EINVAL, "rule IPv4 prefix length must be 0..32, got %u", r);
	if (prefix_has_host_bits(&rule->ipv6))
		return ul_errf(e, EINVAL, "rule IPv6 prefix %s has bits set past /%u",
			       prefix_fmt(&rule->ipv6, buf), n);
	if (prefix_has_host_bits(&rule->ipv4))
		return ul_errf(e, EINVAL, "rule IPv4 prefix %s has bits set past /%u",
			       prefix_fmt(&rule->ipv4, buf), r);
	if (o > 48)
		return ul_errf(e, EINVAL, "EA-bits length must be 0..48, got %u", o);
	if (a > 15)
		return ul_errf(e, EINVAL, "PSID offset must be 0..15, got %u", a);
	if (n + o > 64)
		return ul_errf(e, EINVAL,
			       "rule IPv6 prefix length + EA-bits length must be <= 64 "
			       "(the EA bits lie inside the /64), got %u + %u = %u", n, o, n + o);
	q = derived_psid_len(o, r);
	if (rule->has_psid) {
		if (rule->psid_len < 0)
			return ul_errf(e, EINVAL, "an explicit PSID needs its length (psid-len)");
		if (o < 32 - r)
			return ul_errf(e, EINVAL,
				       "an explicit PSID needs EA bits that give a whole IPv4 address "
				       "(ea-len >= 32 - %u)", r);
		/* EA bits without PSID bits: the PSID and its length are provisioned. */
		if (!q)
			q = (unsigned)rule->psid_len;
		if (q <= 16 && rule->psid >> q)
			return ul_errf(e, EINVAL, "PSID %u does not fit in %u bits", rule->psid, q);
	}
	if (rule->psid_len != -1 && (rule->psid_len < 0 || (unsigned)rule->psid_len != q)) {
		if (o < 32 - r)
			return ul_errf(e, EINVAL,
				       "psid-len %d does not match ea-len %u - (32 - %u) < 0 "
				       "(the CE gets an IPv4 prefix, psid-len 0)", rule->psid_len, o, r);
		return ul_errf(e, EINVAL, "psid-len %d does not match ea-len %u - (32 - %u) = %u",
			       rule->psid_len, o, r, q);
	}
	if (q > 16)
		return ul_errf(e, EINVAL, "PSID length %u > 16", q);
	if (a + q > 16)
		return ul_errf(e, EINVAL, "PSID offset + PSID length must be <= 16, got %u + %u",
			       a, q);
	if (rule->iid != MAPE_IID_DRAFT03 && rule->iid != MAPE_IID_RFC7597)
		return ul_errf(e, EINVAL, "unknown interface-id layout %d", (int)rule->iid);
	return 0;
}

static void build_ce(struct mape_result *out, enum mape_iid iid)
{
	uint8_t *b = out->ce.s6_addr;
	/* RFC 7597 puts the IPv4 field 16 bits into the IID, draft-03 only 8. */
	unsigned v4_at = iid == MAPE_IID_RFC7597 ? 10 : 9;

	memset(&out->ce, 0, sizeof(out->ce));
	memcpy(b, out->end_user.addr.v6.s6_addr, 8);
	memcpy(b + v4_at, &out->ipv4.s_addr, 4);
	b[v4_at + 4] = (uint8_t)(out->psid >> 8);
	b[v4_at + 5] = (uint8_t)out->psid;
}

int mape_compute(const struct mape_rule *rule, const struct ip_prefix *end_user,
		 struct mape_result *out, struct ul_err *e)
{
	char buf[PREFIX_STRLEN], rbuf[PREFIX_STRLEN];
	struct ip_prefix eu, outer;
	unsigned n, r, o, p, q, a;
	uint64_t ea, suffix;
	uint32_t v4;
	int ret;

	ret = mape_rule_validate(rule, e);
	if (ret)
		return ret;
	ret = check_family(end_user, AF_INET6, "end-user prefix", e);
	if (ret)
		return ret;
	eu = *end_user;
	if (eu.len > 64)
		return ul_errf(e, EINVAL, "end-user prefix %s is longer than /64",
			       prefix_fmt(&eu, buf));
	prefix_mask(&eu);
	n = rule->ipv6.len;
	r = rule->ipv4.len;
	o = rule->ea_len;
	a = rule->psid_offset;
	p = 32 - r;

	/* Compare only the bits both have, so a short prefix gets the "shorter" message. */
	outer = rule->ipv6;
	if (outer.len > eu.len)
		outer.len = eu.len;
	if (!prefix_contains(&outer, &eu))
		return ul_errf(e, EINVAL, "end-user prefix %s is not inside rule prefix %s",
			       prefix_fmt(&eu, buf), prefix_fmt(&rule->ipv6, rbuf));
	if (eu.len < n + o)
		return ul_errf(e, EINVAL,
			       "end-user prefix %s is shorter than rule length + EA bits (%u)",
			       prefix_fmt(&eu, buf), n + o);

	memset(out, 0, sizeof(*out));
	ea = addr_get_bits(eu.addr.b, n, o);
	v4 = ntohl(rule->ipv4.addr.v4.s_addr);
	if (o >= p) {
		q = o - p;
		suffix = ea >> q;
		out->psid = (unsigned)(ea & ((UINT64_C(1) << q) - 1));
		out->ipv4_len = 32;
	} else {
		q = 0;
		suffix = ea << (p - o);
		out->ipv4_len = r + o;
	}
	out->ipv4.s_addr = htonl(v4 | (uint32_t)suffix);
	if (rule->has_psid) {
		if (q && rule->psid != out->psid)
			return ul_errf(e, EINVAL, "PSID %u was given, but the EA bits of %s give %u",
				       rule->psid, prefix_fmt(&eu, buf), out->psid);
		q = (unsigned)rule->psid_len;
		out->psid = rule->psid;
	}
	/* a = 0, q = 16: PSID 0's one port would be port 0 */
	if (q == 16 && !out->psid)
		return ul_errf(e, EINVAL, "PSID 0 with PSID offset 0 and PSID length 16 has only port 0, "
			       "which is not usable: no port is left");
	out->psid_len = q;
	out->psid_offset = a;
	/* Without a PSID nothing is shared: every port, whatever the offset says. */
	if (!q) {
		out->port_sets = 1;
		out->ports_per_set = 65536;
	} else {
		out->port_sets = a ? (1u << a) - 1 : 1;
		out->ports_per_set = 1u << (16 - a - q);
	}
	out->end_user = eu;
	build_ce(out, rule->iid);
	out->has_br = rule->has_br;
	if (rule->has_br)
		out->br = rule->br;
	return 0;
}

void mape_port_range(const struct mape_result *r, unsigned i, uint16_t *lo, uint16_t *hi)
{
	unsigned a = r->psid_offset, q = r->psid_len, m, base;

	/* Port 0 is no transport's port: it leaves the one set that holds it. */
	if (!q) {
		*lo = 1;
		*hi = 65535;
		return;
	}
	m = 16 - a - q;
	/* A = 0 would be the system ports 0..2^(16-a)-1, which RFC 7597 excludes. */
	base = a ? (i + 1) << (16 - a) : 0;
	base |= r->psid << m;
	*lo = (uint16_t)(base ? base : 1);
	*hi = (uint16_t)(base + (1u << m) - 1);
}

/* Port 0 lies in a set only without a PSID, or for PSID 0 when a = 0. */
static bool holds_port0(const struct mape_result *r)
{
	return !r->psid_len || (!r->psid_offset && !r->psid);
}

unsigned mape_port_count(const struct mape_result *r)
{
	return r->port_sets * r->ports_per_set - holds_port0(r);
}

bool mape_port_in_sets(const struct mape_result *r, uint16_t port)
{
	unsigned a = r->psid_offset, q = r->psid_len, m;

	if (!port)
		return false;
	if (!q)
		return true;
	m = 16 - a - q;
	if (a && !(port >> (16 - a)))
		return false;
	return ((port >> m) & ((1u << q) - 1)) == r->psid;
}

static int builtin_to_rule(const struct mape_builtin_rule *b, struct mape_rule *rule)
{
	memset(rule, 0, sizeof(*rule));
	if (prefix_parse(&rule->ipv6, b->rule_v6, AF_INET6, false) ||
	    prefix_parse(&rule->ipv4, b->rule_v4, AF_INET, false))
		return -EINVAL;
	rule->ea_len = b->ea_len;
	rule->psid_offset = b->psid_offset;
	rule->psid_len = -1;
	rule->iid = MAPE_IID_DRAFT03;
	if (b->br) {
		if (inet_pton(AF_INET6, b->br, &rule->br) != 1)
			return -EINVAL;
		rule->has_br = true;
	}
	return 0;
}

int mape_rule_lookup(const struct ip_prefix *end_user, struct mape_rule *rule,
		     const char **service, struct ul_err *e)
{
	const struct mape_builtin_rule *best = NULL;
	struct ip_prefix eu, p, best_p;
	char buf[PREFIX_STRLEN];
	int ret;

	ret = check_family(end_user, AF_INET6, "end-user prefix", e);
	if (ret)
		return ret;
	eu = *end_user;
	prefix_mask(&eu);
	for (unsigned i = 0; i < mape_builtin_rule_count; i++) {
		const struct mape_builtin_rule *b = &mape_builtin_rules[i];

		if (prefix_parse(&p, b->rule_v6, AF_INET6, false))
			continue;
		if (prefix_contains(&p, &eu) && (!best || p.len > best_p.len)) {
			best = b;
			best_p = p;
		}
	}
	if (!best)
		return ul_errf(e, ENOENT, "no built-in MAP-E rule covers %s",
			       prefix_fmt(&eu, buf));
	if (builtin_to_rule(best, rule))
		return ul_errf(e, EINVAL, "built-in MAP-E rule %s is malformed", best->rule_v6);
	if (service)
		*service = best->service;
	return 0;
}

void mape_port_mask(const struct mape_result *r, uint16_t *mask, uint16_t *bits, uint16_t *min)
{
	unsigned m = 16 - r->psid_offset - r->psid_len;

	*mask = (uint16_t)((((1u << r->psid_len) - 1) << m) & 0xffff);
	*bits = (uint16_t)((r->psid << m) & 0xffff);
	*min = (uint16_t)(r->psid_offset ? 1u << (16 - r->psid_offset) : 1);
	if (!r->psid_len) {
		*mask = *bits = 0;
		*min = 1;
	}
}
