#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftplan.h"

struct nftp_set *nftp_add_set(struct nftp_table *t, const char *name, enum nftp_set_type type)
{
	struct nftp_set *s = VEC_PUSH(&t->sets);

	if (!s)
		return NULL;
	strlcpy_ul(s->name, name, sizeof(s->name));
	s->type = type;
	return s;
}

int nftp_set_add_ifname(struct nftp_set *s, const char *ifname)
{
	struct nftp_ifname *n;

	for (size_t i = 0; i < s->ifnames.n; i++) {
		if (!strcmp(s->ifnames.v[i].name, ifname))
			return 0;
	}
	n = VEC_PUSH(&s->ifnames);
	if (!n)
		return -ENOMEM;
	strlcpy_ul(n->name, ifname, sizeof(n->name));
	return 0;
}

int nftp_set_add_prefix(struct nftp_set *s, const struct ip_prefix *p)
{
	struct ip_prefix *n = VEC_PUSH(&s->prefixes);

	if (!n)
		return -ENOMEM;
	*n = *p;
	prefix_mask(n);
	return 0;
}

static size_t set_addr_len(const struct nftp_set *s)
{
	return s->type == NFTP_SET_IPV4 ? 4 : 16;
}

static int range_cmp(const void *a, const void *b)
{
	const struct nftp_range *x = a, *y = b;
	int r = memcmp(x->lo, y->lo, 16);

	return r ? r : memcmp(x->hi, y->hi, 16);
}

/* a + 1 == b, for big-endian numbers of len bytes */
static bool adjacent(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t t[16];
	int i;

	memcpy(t, a, len);
	for (i = (int)len - 1; i >= 0; i--) {
		if (++t[i])
			break;
	}
	if (i < 0)
		return false; /* a is the top address */
	return !memcmp(t, b, len);
}

int nftp_set_normalize(struct nftp_set *s)
{
	size_t len = set_addr_len(s), n = 0;
	struct nftp_range *r;

	if (s->type == NFTP_SET_IFNAME)
		return 0;
	VEC_FREE(&s->ranges);
	if (!s->prefixes.n)
		return 0;
	r = calloc(s->prefixes.n, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < s->prefixes.n; i++) {
		const struct ip_prefix *p = &s->prefixes.v[i];
		unsigned bits = len * 8;

		memcpy(r[i].lo, p->addr.b, len);
		memcpy(r[i].hi, p->addr.b, len);
		for (unsigned b = p->len; b < bits; b++)
			r[i].hi[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	}
	qsort(r, s->prefixes.n, sizeof(*r), range_cmp);
	for (size_t i = 0; i < s->prefixes.n; i++) {
		if (n && (memcmp(r[i].lo, r[n - 1].hi, len) <= 0 || adjacent(r[n - 1].hi, r[i].lo, len))) {
			if (memcmp(r[i].hi, r[n - 1].hi, len) > 0)
				memcpy(r[n - 1].hi, r[i].hi, len);
			continue;
		}
		r[n++] = r[i];
	}
	s->ranges.v = r;
	s->ranges.n = n;
	s->ranges.cap = s->prefixes.n;
	return 0;
}

struct nftp_chain *nftp_add_chain(struct nftp_table *t, const char *name, enum nftp_hook hook,
				  enum nftp_chain_type type, int priority)
{
	struct nftp_chain *c = VEC_PUSH(&t->chains);

	if (!c)
		return NULL;
	strlcpy_ul(c->name, name, sizeof(c->name));
	c->hook = hook;
	c->type = type;
	c->priority = priority;
	return c;
}

struct nftp_rule *nftp_add_rule(struct nftp_chain *c, const char *comment)
{
	struct nftp_rule *r = VEC_PUSH(&c->rules);

	if (r && comment)
		strlcpy_ul(r->comment, comment, sizeof(r->comment));
	return r;
}

struct nftp_match *nftp_rule_match(struct nftp_rule *r, enum nftp_match_kind kind)
{
	struct nftp_match *m;

	if (r->n_m == ARRAY_SIZE(r->m))
		return NULL;
	m = &r->m[r->n_m++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	return m;
}

struct nftp_stmt *nftp_rule_stmt(struct nftp_rule *r, enum nftp_stmt_kind kind)
{
	struct nftp_stmt *s;

	if (r->n_s == ARRAY_SIZE(r->s))
		return NULL;
	s = &r->s[r->n_s++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	return s;
}

struct nftp_chain *nftp_find_chain(struct nftp_table *t, const char *name)
{
	for (size_t i = 0; i < t->chains.n; i++) {
		if (!strcmp(t->chains.v[i].name, name))
			return &t->chains.v[i];
	}
	return NULL;
}

const struct nftp_set *nftp_find_set(const struct nftp_table *t, const char *name)
{
	for (size_t i = 0; i < t->sets.n; i++) {
		if (!strcmp(t->sets.v[i].name, name))
			return &t->sets.v[i];
	}
	return NULL;
}

void nftp_free(struct nftp_table *t)
{
	for (size_t i = 0; i < t->sets.n; i++) {
		VEC_FREE(&t->sets.v[i].ifnames);
		VEC_FREE(&t->sets.v[i].prefixes);
		VEC_FREE(&t->sets.v[i].ranges);
	}
	for (size_t i = 0; i < t->chains.n; i++)
		VEC_FREE(&t->chains.v[i].rules);
	VEC_FREE(&t->sets);
	VEC_FREE(&t->chains);
}

/* ---- printing ---- */

static const char *proto_name(uint8_t p, char *buf)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "ipv6-icmp";
	case IPPROTO_IPIP:
		return "ipencap";
	}
	sprintf(buf, "%u", p);
	return buf;
}

static void print_protos(struct strbuf *sb, const struct nftp_match *m)
{
	char buf[8];

	if (m->n == 1) {
		sb_puts(sb, proto_name(m->protos[0], buf));
		return;
	}
	sb_puts(sb, "{ ");
	for (size_t i = 0; i < m->n; i++)
		sb_printf(sb, "%s%s", i ? ", " : "", proto_name(m->protos[i], buf));
	sb_puts(sb, " }");
}

static void print_port(struct strbuf *sb, const struct nftp_port_range *p)
{
	if (p->lo == p->hi)
		sb_printf(sb, "%u", p->lo);
	else
		sb_printf(sb, "%u-%u", p->lo, p->hi);
}

static void print_icmpv6_type(struct strbuf *sb, uint8_t type)
{
	static const char *const names[] = {
		[1] = "destination-unreachable", [2] = "packet-too-big", [3] = "time-exceeded",
		[4] = "parameter-problem", [128] = "echo-request", [129] = "echo-reply",
	};

	if (type < ARRAY_SIZE(names) && names[type])
		sb_puts(sb, names[type]);
	else
		sb_printf(sb, "%u", type);
}

static void print_ct_state(struct strbuf *sb, uint32_t bits)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ NFTP_CT_INVALID, "invalid" }, { NFTP_CT_ESTABLISHED, "established" },
		{ NFTP_CT_RELATED, "related" }, { NFTP_CT_NEW, "new" },
		{ NFTP_CT_UNTRACKED, "untracked" },
	};
	bool first = true;

	sb_puts(sb, "ct state ");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (bits & names[i].bit) {
			sb_printf(sb, "%s%s", first ? "" : ",", names[i].name);
			first = false;
		}
	}
}

static const char *ipkw(int family)
{
	return family == AF_INET ? "ip" : "ip6";
}

/* nft types fib's oifname as a string, not an ifname: the set's names go in the rule. */
static void print_fib_oif(struct strbuf *sb, const struct nftp_table *t, const struct nftp_match *m)
{
	const struct nftp_set *s = nftp_find_set(t, m->name);
	size_t n = s ? s->ifnames.n : 0;

	sb_puts(sb, "fib daddr oifname ");
	if (n != 1)
		sb_puts(sb, "{ ");
	for (size_t i = 0; i < n; i++)
		sb_printf(sb, "%s\"%s\"", i ? ", " : "", s->ifnames.v[i].name);
	if (n != 1)
		sb_puts(sb, " }");
}

static void print_match(struct strbuf *sb, const struct nftp_table *t, const struct nftp_match *m)
{
	char buf[PREFIX_STRLEN];

	switch (m->kind) {
	case NFTP_M_NFPROTO:
		sb_printf(sb, "meta nfproto %s", m->family == AF_INET ? "ipv4" : "ipv6");
		break;
	case NFTP_M_IIFNAME:
		sb_printf(sb, "iifname \"%s\"", m->name);
		break;
	case NFTP_M_OIFNAME:
		sb_printf(sb, "oifname \"%s\"", m->name);
		break;
	case NFTP_M_IIFNAME_IN:
		sb_printf(sb, "iifname @%s", m->name);
		break;
	case NFTP_M_OIFNAME_IN:
		sb_printf(sb, "oifname @%s", m->name);
		break;
	case NFTP_M_SADDR_IN:
		sb_printf(sb, "%s saddr @%s", ipkw(m->family), m->name);
		break;
	case NFTP_M_DADDR_IN:
		sb_printf(sb, "%s daddr @%s", ipkw(m->family), m->name);
		break;
	case NFTP_M_SADDR:
		sb_printf(sb, "%s saddr %s", ipkw(m->prefix.addr.family), prefix_fmt(&m->prefix, buf));
		break;
	case NFTP_M_L4PROTO:
		sb_puts(sb, "meta l4proto ");
		print_protos(sb, m);
		break;
	case NFTP_M_L4PROTO_NOT:
		sb_puts(sb, "meta l4proto != ");
		print_protos(sb, m);
		break;
	case NFTP_M_DPORT_IN:
		sb_puts(sb, "th dport ");
		if (m->n == 1) {
			print_port(sb, &m->ports[0]);
			break;
		}
		sb_puts(sb, "{ ");
		for (size_t i = 0; i < m->n; i++) {
			if (i)
				sb_puts(sb, ", ");
			print_port(sb, &m->ports[i]);
		}
		sb_puts(sb, " }");
		break;
	case NFTP_M_UDP_PORTS:
		sb_printf(sb, "udp sport %u udp dport %u", m->ports[0].lo, m->ports[1].lo);
		break;
	case NFTP_M_CT_STATE:
		print_ct_state(sb, m->bits);
		break;
	case NFTP_M_CT_STATUS_DNAT:
		sb_puts(sb, "ct status dnat");
		break;
	case NFTP_M_MARK_ZERO:
		sb_printf(sb, "meta mark & 0x%08x == 0x00000000", m->mask);
		break;
	case NFTP_M_CTMARK_NONZERO:
		sb_printf(sb, "ct mark & 0x%08x != 0x00000000", m->mask);
		break;
	case NFTP_M_TCP_SYN:
		sb_puts(sb, "tcp flags syn / syn,rst");
		break;
	case NFTP_M_FIB_OIF_IN:
		print_fib_oif(sb, t, m);
		break;
	case NFTP_M_ICMPV6_TYPE_IN:
		sb_puts(sb, "icmpv6 type ");
		if (m->n != 1)
			sb_puts(sb, "{ ");
		for (size_t i = 0; i < m->n && i < NFTP_MAX_TYPES; i++) {
			if (i)
				sb_puts(sb, ", ");
			print_icmpv6_type(sb, m->types[i]);
		}
		if (m->n != 1)
			sb_puts(sb, " }");
		break;
	case NFTP_M_SADDR_NOT:
		sb_printf(sb, "%s saddr != %s", ipkw(m->prefix.addr.family), addr_fmt(&m->prefix.addr, buf));
		break;
	case NFTP_M_DADDR:
		sb_printf(sb, "%s daddr %s", ipkw(m->prefix.addr.family), addr_fmt(&m->prefix.addr, buf));
		break;
	case NFTP_M_ICMP_TYPE:
		if (m->types[0] == 0 || m->types[0] == 8)
			sb_printf(sb, "icmp type %s", m->types[0] ? "echo-request" : "echo-reply");
		else
			sb_printf(sb, "icmp type %u", m->types[0]);
		break;
	case NFTP_M_TH_MASK_NE:
		sb_printf(sb, "%s & 0x%04x != 0x%04x", m->off == 4 ? "icmp id" : "th sport", m->mask, m->bits);
		break;
	case NFTP_M_TH_LT:
		sb_printf(sb, "%s < %u", m->off == 4 ? "icmp id" : "th sport", m->bits);
		break;
	}
}

static void print_stmt(struct strbuf *sb, const struct nftp_stmt *s)
{
	char buf[INET6_ADDRSTRLEN];

	switch (s->kind) {
	case NFTP_S_ACCEPT:
		sb_puts(sb, "accept");
		break;
	case NFTP_S_DROP:
		sb_puts(sb, "drop");
		break;
	case NFTP_S_RETURN:
		sb_puts(sb, "return");
		break;
	case NFTP_S_JUMP:
		sb_printf(sb, "jump %s", s->chain);
		break;
	case NFTP_S_COUNTER:
		sb_puts(sb, "counter");
		break;
	case NFTP_S_MASQUERADE:
		sb_puts(sb, "masquerade");
		break;
	case NFTP_S_SNAT:
		inet_ntop(AF_INET, &s->addr, buf, sizeof(buf));
		sb_printf(sb, "snat ip to %s", buf);
		if (s->has_ports)
			sb_printf(sb, ":%u-%u", s->ports.lo, s->ports.hi);
		break;
	case NFTP_S_DNAT:
		inet_ntop(AF_INET, &s->addr, buf, sizeof(buf));
		sb_printf(sb, "dnat ip to %s", buf);
		break;
	case NFTP_S_NUMGEN_VMAP:
		sb_printf(sb, "numgen inc mod %u vmap { ", s->n);
		for (uint32_t i = 0; i < s->n; i++)
			sb_printf(sb, "%s%u : jump %s_%u", i ? ", " : "", i, s->chain, i);
		sb_puts(sb, " }");
		break;
	case NFTP_S_MSS_PMTU:
		sb_puts(sb, "tcp option maxseg size set rt mtu");
		break;
	case NFTP_S_MARK_SET:
		sb_printf(sb, "meta mark set meta mark & 0x%08x | 0x%08x", ~s->mask, s->value);
		break;
	case NFTP_S_CTMARK_SET:
		sb_printf(sb, "ct mark set ct mark & 0x%08x | 0x%08x", ~s->mask, s->value);
		break;
	case NFTP_S_MARK_FROM_CT:
		sb_printf(sb, "meta mark set ct mark & 0x%08x", s->mask);
		break;
	}
}

static void print_range(struct strbuf *sb, const struct nftp_set *s, const struct nftp_range *r)
{
	int family = s->type == NFTP_SET_IPV4 ? AF_INET : AF_INET6;
	unsigned bits = family == AF_INET ? 32 : 128, host = 0, plen;
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];

	inet_ntop(family, r->lo, lo, sizeof(lo));
	/* A prefix: lo ends in `host` zero bits, hi in as many one bits, and the rest agree. */
	while (host < bits) {
		unsigned b = bits - 1 - host;

		if (((r->lo[b / 8] >> (7 - b % 8)) & 1) != 0 || ((r->hi[b / 8] >> (7 - b % 8)) & 1) != 1)
			break;
		host++;
	}
	plen = bits - host;
	if (addr_get_bits(r->lo, 0, plen > 64 ? 64 : plen) == addr_get_bits(r->hi, 0, plen > 64 ? 64 : plen) &&
	    (plen <= 64 || addr_get_bits(r->lo, 64, plen - 64) == addr_get_bits(r->hi, 64, plen - 64))) {
		if (plen == bits)
			sb_puts(sb, lo);
		else
			sb_printf(sb, "%s/%u", lo, plen);
		return;
	}
	inet_ntop(family, r->hi, hi, sizeof(hi));
	sb_printf(sb, "%s-%s", lo, hi);
}

static void print_set(struct strbuf *sb, const struct nftp_set *s)
{
	static const char *const types[] = { "ifname", "ipv4_addr", "ipv6_addr" };

	sb_printf(sb, "\tset %s {\n\t\ttype %s\n", s->name, types[s->type]);
	if (s->type != NFTP_SET_IFNAME)
		sb_puts(sb, "\t\tflags interval\n");
	if (s->type == NFTP_SET_IFNAME && s->ifnames.n) {
		sb_puts(sb, "\t\telements = { ");
		for (size_t i = 0; i < s->ifnames.n; i++)
			sb_printf(sb, "%s\"%s\"", i ? ", " : "", s->ifnames.v[i].name);
		sb_puts(sb, " }\n");
	} else if (s->ranges.n) {
		sb_puts(sb, "\t\telements = { ");
		for (size_t i = 0; i < s->ranges.n; i++) {
			if (i)
				sb_puts(sb, i % 8 ? ", " : ",\n\t\t\t     ");
			print_range(sb, s, &s->ranges.v[i]);
		}
		sb_puts(sb, " }\n");
	}
	sb_puts(sb, "\t}\n");
}

static const char *hook_name(enum nftp_hook h)
{
	switch (h) {
	case NFTP_HOOK_NONE:
		return "";
	case NFTP_HOOK_PREROUTING:
		return "prerouting";
	case NFTP_HOOK_INPUT:
		return "input";
	case NFTP_HOOK_FORWARD:
		return "forward";
	case NFTP_HOOK_OUTPUT:
		return "output";
	case NFTP_HOOK_POSTROUTING:
		return "postrouting";
	}
	return "";
}

const char *nftp_chain_type_name(enum nftp_chain_type t)
{
	switch (t) {
	case NFTP_CHAIN_FILTER:
		return "filter";
	case NFTP_CHAIN_NAT:
		return "nat";
	case NFTP_CHAIN_ROUTE:
		return "route";
	}
	return "filter";
}

void nftp_print(const struct nftp_table *t, struct strbuf *sb)
{
	sb_printf(sb, "table inet %s {\n", t->name);
	for (size_t i = 0; i < t->sets.n; i++)
		print_set(sb, &t->sets.v[i]);
	for (size_t i = 0; i < t->chains.n; i++) {
		const struct nftp_chain *c = &t->chains.v[i];

		sb_printf(sb, "\n\tchain %s {\n", c->name);
		if (c->hook != NFTP_HOOK_NONE)
			sb_printf(sb, "\t\ttype %s hook %s priority %d; policy %s;\n",
				  nftp_chain_type_name(c->type), hook_name(c->hook), c->priority,
				  c->policy_drop ? "drop" : "accept");
		for (size_t j = 0; j < c->rules.n; j++) {
			const struct nftp_rule *r = &c->rules.v[j];

			sb_puts(sb, "\t\t");
			for (size_t k = 0; k < r->n_m; k++) {
				print_match(sb, t, &r->m[k]);
				sb_puts(sb, " ");
			}
			for (size_t k = 0; k < r->n_s; k++) {
				if (k)
					sb_puts(sb, " ");
				print_stmt(sb, &r->s[k]);
			}
			if (r->comment[0])
				sb_printf(sb, " comment \"%s\"", r->comment);
			sb_puts(sb, "\n");
		}
		sb_puts(sb, "\t}\n");
	}
	sb_puts(sb, "}\n");
}
