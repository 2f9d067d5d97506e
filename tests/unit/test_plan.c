/* The planner: golden outputs for every example, and the decisions it makes. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "testlib.h"

#define GOLDEN_DIR "tests/unit/golden"

static char **examples;
static size_t n_examples;

static const char *example_name(size_t i)
{
	return i == n_examples ? "uplinkd.conf.example" : examples[i];
}

static struct config *load(const char *src)
{
	const char *path = tl_stage_config(src);
	struct cfg_diags d;
	struct config *cfg = cfg_load(path, &d);

	ck_assert_msg(cfg != NULL, "%s: %s", src, d.n ? d.v[0].text : "?");
	cfg_diags_free(&d);
	return cfg;
}

static void set_facts(struct facts *f, const struct config *cfg, const char *const *kv)
{
	struct ul_err e;

	ck_assert_int_eq(facts_init(f, cfg), 0);
	for (; kv && *kv; kv++)
		ck_assert_msg(facts_set(f, cfg, *kv, &e) == 0, "%s: %s", *kv, e.msg);
}

static char *plan_text(const struct config *cfg, const struct facts *f, struct plan *p)
{
	struct strbuf sb = { 0 };
	struct ul_err e = { "" };
	char *out, prefix[128];

	ck_assert_msg(plan_build(cfg, f, p, &e) == 0, "plan_build: %s", e.msg);
	plan_print(p, &sb);
	ck_assert(!sb.oom);
	snprintf(prefix, sizeof(prefix), "%s/", tl_tmpdir());
	out = tl_replace(sb.s, prefix, "/etc/uplinkd/");
	sb_free(&sb);
	return out;
}

/* Facts for an example: tests/unit/golden/NAME.facts, one UPLINK.KEY=VALUE a line. */
static void golden_facts(const char *name, const struct config *cfg, struct facts *f)
{
	char path[512], *text, *line, *save = NULL;
	struct ul_err e;

	ck_assert_int_eq(facts_init(f, cfg), 0);
	snprintf(path, sizeof(path), "%s/%s.facts", GOLDEN_DIR, name);
	text = tl_read_file(path);
	if (!text)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || !line[0])
			continue;
		ck_assert_msg(facts_set(f, cfg, line, &e) == 0, "%s: %s", path, e.msg);
	}
	free(text);
}

START_TEST(golden)
{
	const char *name = example_name(_i);
	char src[256], path[512], *got, *want;
	struct config *cfg;
	struct facts f;
	struct plan p;

	if (_i == (int)n_examples)
		snprintf(src, sizeof(src), "conf/%s", name);
	else
		snprintf(src, sizeof(src), "conf/examples/%s", name);
	cfg = load(src);
	golden_facts(name, cfg, &f);
	got = plan_text(cfg, &f, &p);
	snprintf(path, sizeof(path), "%s/%s.plan", GOLDEN_DIR, name);
	want = tl_golden(path, got);
	ck_assert_msg(want != NULL, "missing %s (run with UPDATE_GOLDEN=1 to create it)", path);
	ck_assert_msg(!strcmp(got, want), "%s differs from the plan:\n%s", path, got);

	/* pure: the same inputs give the same plan */
	plan_free(&p);
	free(want);
	want = plan_text(cfg, &f, &p);
	ck_assert_str_eq(got, want);
	free(want);
	free(got);
	plan_free(&p);
	facts_free(&f);
	cfg_free(cfg);
}
END_TEST

static const struct plan_rule *find_rule(const struct plan *p, int family, uint32_t prio)
{
	for (size_t i = 0; i < p->rules.n; i++) {
		if (p->rules.v[i].family == family && p->rules.v[i].priority == prio)
			return &p->rules.v[i];
	}
	return NULL;
}

static const struct plan_route *find_route(const struct plan *p, int family, uint32_t table)
{
	for (size_t i = 0; i < p->routes.n; i++) {
		if (p->routes.v[i].dst.addr.family == family && p->routes.v[i].table == table &&
		    p->routes.v[i].dst.len == 0)
			return &p->routes.v[i];
	}
	return NULL;
}

static const struct plan_link *find_link(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->links.n; i++) {
		if (!strcmp(p->links.v[i].name, name))
			return &p->links.v[i];
	}
	return NULL;
}

#define POLICY_CONF "conf/examples/pppoe-mape-policy.conf"
#define V6PLUS_PREFIX "wan.prefix=240b:10:3f6c:d400::/64"

static void build(const char *conf, const char *const *kv, struct config **cfg, struct plan *p)
{
	struct facts f;
	struct ul_err e = { "" };

	*cfg = load(conf);
	set_facts(&f, *cfg, kv);
	ck_assert_msg(plan_build(*cfg, &f, p, &e) == 0, "%s", e.msg);
	facts_free(&f);
}

START_TEST(all_up_defaults_to_best_priority)
{
	const char *kv[] = { V6PLUS_PREFIX, "ocn.ipv4=198.51.100.7", NULL };
	const struct plan_route *r;
	const struct plan_rule *rule;
	struct config *cfg;
	struct plan p;

	build(POLICY_CONF, kv, &cfg, &p);
	ck_assert_str_eq(p.default4->name, "v6plus");
	r = find_route(&p, AF_INET, 254);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->dev, "v6plus");
	/* both policies share the chain ocn -> v6plus: one class, mark 4, table of ocn */
	rule = find_rule(&p, AF_INET, 10000 + PLAN_PRIO_CLASS);
	ck_assert_ptr_nonnull(rule);
	ck_assert_uint_eq(rule->fwmark, 4u << 16);
	ck_assert_uint_eq(rule->table, 102);
	ck_assert_ptr_null(find_rule(&p, AF_INET, 10000 + PLAN_PRIO_CLASS + 1));
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

START_TEST(pppoe_down_fails_policy_over)
{
	const char *kv[] = { V6PLUS_PREFIX, "ocn.state=down", NULL };
	const struct plan_rule *rule;
	const struct plan_route *r;
	struct config *cfg;
	struct plan p;

	build(POLICY_CONF, kv, &cfg, &p);
	rule = find_rule(&p, AF_INET, 10000 + PLAN_PRIO_CLASS);
	ck_assert_uint_eq(rule->table, 101); /* v6plus */
	ck_assert_int_eq(rule->action, PLAN_RULE_LOOKUP);
	r = find_route(&p, AF_INET, 102);
	ck_assert_int_eq(r->type, PLAN_RT_UNREACHABLE); /* marked traffic never leaks elsewhere */
	ck_assert_int_eq(p.uplinks[2].state, PLAN_DOWN);
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

START_TEST(admin_down_names_the_state)
{
	/* ocn has no session (not ready): what the operator decided is still what status says */
	const char *kv[] = { V6PLUS_PREFIX, "ocn.state=admin-down", NULL };
	const char *kv2[] = { V6PLUS_PREFIX, "ocn.state=inactive", NULL };
	struct config *cfg;
	struct plan p;

	build(POLICY_CONF, kv, &cfg, &p);
	ck_assert_int_eq(p.uplinks[2].state, PLAN_DOWN);
	ck_assert_str_eq(p.uplinks[2].reason, "administratively down");
	ck_assert(!p.uplinks[2].usable);
	plan_free(&p);
	cfg_free(cfg);
	build(POLICY_CONF, kv2, &cfg, &p);
	ck_assert_int_eq(p.uplinks[2].state, PLAN_DOWN);
	ck_assert_str_eq(p.uplinks[2].reason, "inactive: the active-if condition does not hold");
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

/* A static line with a /32 and its gateway outside: the route says onlink (the kernel needs it). */
START_TEST(static_slash32_gateway_onlink)
{
	char path[256];
	struct config *cfg;
	struct plan p;
	const struct plan_route *r;
	struct strbuf sb = { 0 };

	snprintf(path, sizeof(path), "%s/st32.conf", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(path, "[uplink st]\ntype = static\ndevice = st0\n"
				       "ipv4 = 198.18.99.2/32\ngateway = 198.18.99.1\n"
				       "[uplink lan]\ntype = static\ndevice = st1\n"
				       "ipv4 = 198.18.98.2/24\ngateway = 198.18.98.1\npriority = 200\n", 0600), 0);
	build(path, NULL, &cfg, &p);
	r = find_route(&p, AF_INET, cfg->uplinks[0].table);
	ck_assert_ptr_nonnull(r);
	ck_assert(r->onlink);
	r = find_route(&p, AF_INET, 254);  /* the main default is the same route */
	ck_assert(r->onlink);
	ck_assert(!find_route(&p, AF_INET, cfg->uplinks[1].table)->onlink);
	plan_print(&p, &sb);
	ck_assert_ptr_nonnull(strstr(sb.s, "default via 198.18.99.1 dev st0 onlink table"));
	sb_free(&sb);
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

START_TEST(mape_health_failure_moves_default)
{
	const char *kv[] = { V6PLUS_PREFIX, "ocn.ipv4=198.51.100.7", "v6plus.state=failed", NULL };
	const struct plan_route *r;
	struct config *cfg;
	struct plan p;

	build(POLICY_CONF, kv, &cfg, &p);
	ck_assert_str_eq(p.default4->name, "ocn");
	r = find_route(&p, AF_INET, 254);
	ck_assert_str_eq(r->dev, "ocn");
	/* a failed health check keeps the uplink's own table, so its probes still get out */
	r = find_route(&p, AF_INET, 101);
	ck_assert_int_eq(r->type, PLAN_RT_UNICAST);
	ck_assert_str_eq(r->dev, "v6plus");
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

START_TEST(mape_waits_for_prefix)
{
	struct config *cfg;
	struct plan p;

	build(POLICY_CONF, NULL, &cfg, &p);
	ck_assert_int_eq(p.uplinks[1].state, PLAN_WAITING);
	ck_assert_ptr_null(find_link(&p, "v6plus"));
	ck_assert_int_eq(find_route(&p, AF_INET, 101)->type, PLAN_RT_UNREACHABLE);
	ck_assert_ptr_null(p.default4); /* ocn has no session either */
	ck_assert_ptr_null(find_route(&p, AF_INET, 254));
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

START_TEST(prefix_change_recomputes_mape)
{
	const char *a[] = { V6PLUS_PREFIX, NULL };
	const char *b[] = { "wan.prefix=240b:10:abcd:ef00::/64", NULL };
	struct config *cfg1, *cfg2;
	struct plan p1, p2;
	char buf[64];

	build(POLICY_CONF, a, &cfg1, &p1);
	build(POLICY_CONF, b, &cfg2, &p2);
	ck_assert_str_eq(inet_ntop(AF_INET, &p1.uplinks[1].ipv4, buf, sizeof(buf)), "106.72.63.108");
	ck_assert_uint_eq(p1.uplinks[1].mape.psid, 212);
	/* 240b:10:abcd:ef00::/56: EA = bits 31..56 */
	ck_assert_str_ne(inet_ntop(AF_INET, &p2.uplinks[1].ipv4, buf, sizeof(buf)), "106.72.63.108");
	ck_assert(memcmp(&find_link(&p1, "v6plus")->local, &find_link(&p2, "v6plus")->local, 16) != 0);
	plan_free(&p1);
	plan_free(&p2);
	cfg_free(cfg1);
	cfg_free(cfg2);
}
END_TEST

/* Two policies on one uplink: one fails closed, the other follows the main table. */
#define CLOSED_CONF \
	"[global]\nlan = br0\n[uplink wan]\ntype = ipoe\ndevice = eth1\n" \
	"[uplink ds]\ntype = dslite\nover = wan\naftr = 2001:db8::1\n" \
	"[uplink map]\ntype = mape\nover = wan\n" \
	"[policy strict]\nfrom = 192.168.1.5\nuplink = ds\nfallback = none\n" \
	"[policy loose]\nfrom = 192.168.1.6\nuplink = ds\n"

START_TEST(fallback_none_fails_closed)
{
	char conf[512];
	const char *kv[] = { "wan.prefix=240b:10:3f6c:d400::/64", "ds.state=down", NULL };
	const struct plan_rule *rule;
	struct config *cfg;
	struct plan p;

	snprintf(conf, sizeof(conf), "%s/closed.conf", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(conf, CLOSED_CONF, 0644), 0);
	build(conf, kv, &cfg, &p);
	rule = find_rule(&p, AF_INET, 10000 + PLAN_PRIO_CLOSED);
	ck_assert_int_eq(rule->action, PLAN_RULE_PROHIBIT);
	rule = find_rule(&p, AF_INET, 10000 + PLAN_PRIO_CLASS + 1);
	ck_assert_int_eq(rule->action, PLAN_RULE_LOOKUP);
	ck_assert_uint_eq(rule->table, 254); /* no fallback given: the main table's default */
	ck_assert_str_eq(p.default4->name, "map");
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

static bool set_has(const struct nftp_set *s, const char *name)
{
	for (size_t i = 0; i < s->ifnames.n; i++) {
		if (!strcmp(s->ifnames.v[i].name, name))
			return true;
	}
	return false;
}

START_TEST(firewall_covers_every_wan_interface)
{
	char conf[512];
	const struct nftp_set *wan;
	struct config *cfg;
	struct plan p;

	snprintf(conf, sizeof(conf), "%s/wanifs.conf", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(conf,
		"[global]\nlan = br0 eth3\n"
		"[uplink ppp]\ntype = pppoe\ndevice = eth0\nuser = u@isp\npassword-file = /etc/uplinkd/ocn.password\n"
		"[uplink v]\ntype = ipoe\ndevice = eth1\nvlan = 20\n"
		"[uplink pv]\ntype = pppoe\ndevice = eth4\nvlan = 30\nuser = u@isp\npassword-file = /etc/uplinkd/ocn.password\n"
		"[uplink stick]\ntype = ipoe\ndevice = eth3\nvlan = 40\n"
		"[uplink off]\ntype = static\ndevice = eth2\nipv4 = 192.0.2.2/24\ngateway = 192.0.2.1\n"
		"disabled = yes\n", 0644), 0);
	build(conf, NULL, &cfg, &p);
	wan = nftp_find_set(&p.nft, "wan_ifs");
	ck_assert_ptr_nonnull(wan);
	/* the uplinks' own interfaces */
	ck_assert(set_has(wan, "ppp"));
	ck_assert(set_has(wan, "eth1.20"));
	ck_assert(set_has(wan, "pv"));
	ck_assert(set_has(wan, "eth4.30"));
	/* and every other interface facing the ISP: PPPoE's NIC, VLAN parents, a disabled uplink's */
	ck_assert(set_has(wan, "eth0"));
	ck_assert(set_has(wan, "eth1"));
	ck_assert(set_has(wan, "eth4"));
	ck_assert(set_has(wan, "eth2"));
	/* a VLAN parent that is a LAN interface too carries the LAN untagged: not the WAN's */
	ck_assert(set_has(wan, "eth3.40"));
	ck_assert(!set_has(wan, "eth3"));
	ck_assert(!set_has(wan, "br0"));
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

/* The rules of one chain of the plan's table, as nft prints them. */
static char *chain_text(const struct plan *p, const char *chain)
{
	struct strbuf sb = { 0 };
	char head[96], *start, *end, *out;

	nftp_print(&p->nft, &sb);
	snprintf(head, sizeof(head), "\tchain %s {\n", chain);
	start = strstr(sb.s, head);
	ck_assert_msg(start != NULL, "no chain %s", chain);
	end = strstr(start, "\n\t}\n");
	ck_assert_ptr_nonnull(end);
	out = strndup(start, (size_t)(end - start));
	sb_free(&sb);
	return out;
}

START_TEST(wan_forward_passes_rfc4890_icmpv6_only)
{
	const char *kv[] = { V6PLUS_PREFIX, "ocn.ipv4=198.51.100.7", NULL };
	struct config *cfg;
	struct plan p;
	char *fwd, *in;

	build(POLICY_CONF, kv, &cfg, &p);
	fwd = chain_text(&p, "wan_forward");
	/* RFC 4890 4.3.1 (and 4.3.2's other codes of types 3 and 4): errors and echo, nothing else */
	ck_assert_msg(strstr(fwd, "meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type { "
			      "destination-unreachable, packet-too-big, time-exceeded, parameter-problem, "
			      "echo-request, echo-reply } accept"), "%s", fwd);
	ck_assert_msg(!strstr(fwd, "ipv6-icmp accept"), "every ICMPv6 type is forwarded:\n%s", fwd);
	/* what the conntrack knows (replies, errors about the LAN's own flows) stays allowed */
	ck_assert_msg(strstr(fwd, "ct state established,related accept"), "%s", fwd);
	/* the router itself needs neighbour discovery and router advertisements */
	in = chain_text(&p, "wan_input");
	ck_assert_msg(strstr(in, "meta nfproto ipv6 meta l4proto ipv6-icmp accept"), "%s", in);
	free(fwd);
	free(in);
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

/* The rules that carry mark (IPv4), by priority: the plan's rules are sorted. */
static size_t rules_of_mark(const struct plan *p, uint32_t mark, const struct plan_rule **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < p->rules.n && n < max; i++) {
		if (p->rules.v[i].family == AF_INET && p->rules.v[i].fwmark == mark)
			out[n++] = &p->rules.v[i];
	}
	return n;
}

static uint32_t suppress_priority(const struct plan *p)
{
	for (size_t i = 0; i < p->rules.n; i++) {
		if (p->rules.v[i].family == AF_INET && p->rules.v[i].suppress_prefixlen == 0)
			return p->rules.v[i].priority;
	}
	ck_abort_msg("no suppress rule");
	return 0;
}

/*
 * fallback = none is airtight: the chain's marked traffic looks up its uplink's table and then
 * meets prohibit, both before the main table is consulted at all, so neither a more specific
 * main-table route (another WAN's subnet, a VPN's 0.0.0.0/1) nor a table emptied by the kernel
 * (the ppp device gone) lets it out another way; LAN destinations never get the mark.
 */
START_TEST(fallback_none_is_airtight)
{
	char conf[512];
	const char *up[] = { "wan.prefix=240b:10:3f6c:d400::/64", NULL };
	const char *down[] = { "wan.prefix=240b:10:3f6c:d400::/64", "ds.state=down", NULL };
	const struct plan_rule *r[8];
	uint32_t strict = 4u << 16, loose = 5u << 16; /* 3 uplinks, then the classes */
	struct config *cfg;
	struct plan p;
	char *pre;
	size_t n;

	snprintf(conf, sizeof(conf), "%s/airtight.conf", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(conf, CLOSED_CONF, 0644), 0);
	for (int pass = 0; pass < 2; pass++) {
		build(conf, pass ? down : up, &cfg, &p);
		n = rules_of_mark(&p, strict, r, ARRAY_SIZE(r));
		ck_assert_uint_eq(n, 2);
		if (pass) {
			ck_assert_int_eq(r[0]->action, PLAN_RULE_PROHIBIT);
		} else {
			ck_assert_int_eq(r[0]->action, PLAN_RULE_LOOKUP);
			ck_assert_uint_eq(r[0]->table, cfg->uplinks[1].table);
		}
		ck_assert_int_eq(r[1]->action, PLAN_RULE_PROHIBIT);
		ck_assert_uint_lt(r[1]->priority, suppress_priority(&p));
		/* a chain with a fallback keeps its place after the main table's specific routes */
		n = rules_of_mark(&p, loose, r, ARRAY_SIZE(r));
		ck_assert_uint_eq(n, 1);
		ck_assert_uint_gt(r[0]->priority, suppress_priority(&p));
		/* LAN destinations are not marked: the main table's LAN routes take them */
		pre = chain_text(&p, "prerouting");
		ck_assert_msg(strstr(pre, "iifname @lan_ifs fib daddr oifname \"br0\" return"), "%s", pre);
		ck_assert(strstr(pre, "fib daddr") < strstr(pre, "policy strict"));
		free(pre);
		plan_free(&p);
		cfg_free(cfg);
	}
}
END_TEST

/*
 * Nothing leaves a MAP-E tunnel with a source it does not own (after NAT): not another address
 * (a NAT binding from before a renumbering), not a port outside the PSID's sets, and nothing
 * conntrack could not NAT.  Every flow is pinned to the uplink it started on by its ct mark.
 */
START_TEST(mape_source_guard)
{
	const char *kv[] = { V6PLUS_PREFIX, "ocn.ipv4=198.51.100.7", NULL };
	struct config *cfg;
	struct plan p;
	char *g, *pre;

	build(POLICY_CONF, kv, &cfg, &p);
	g = chain_text(&p, "postrouting_guard");
	ck_assert_msg(strstr(g, "type filter hook postrouting priority 200; policy accept;"), "%s", g);
	ck_assert_msg(strstr(g, "oifname \"v6plus\" meta nfproto ipv4 ct state invalid,untracked counter drop"), "%s", g);
	ck_assert_msg(strstr(g, "oifname \"ocn\" meta nfproto ipv4 ct state invalid,untracked counter drop"), "%s", g);
	ck_assert_msg(strstr(g, "oifname \"v6plus\" meta nfproto ipv4 ip saddr != 106.72.63.108 counter drop"), "%s", g);
	/* PSID 212 of 8 bits at offset 4: ports A.0xd4.M with A != 0 */
	ck_assert_msg(strstr(g, "oifname \"v6plus\" meta l4proto { tcp, udp } th sport & 0x0ff0 != 0x0d40 counter drop"), "%s", g);
	ck_assert_msg(strstr(g, "oifname \"v6plus\" meta l4proto { tcp, udp } th sport < 4096 counter drop"), "%s", g);
	ck_assert_msg(strstr(g, "oifname \"v6plus\" icmp type echo-request icmp id & 0x0ff0 != 0x0d40 counter drop"), "%s", g);
	ck_assert_msg(strstr(g, "oifname \"v6plus\" icmp type echo-reply icmp id < 4096 counter drop"), "%s", g);
	/* PPPoE's masquerade owns whatever the session's address is: no address check there */
	ck_assert_msg(!strstr(g, "oifname \"ocn\" meta nfproto ipv4 ip saddr"), "%s", g);
	/* each new flow takes its uplink's mark; the LAN's packets follow the ct mark */
	ck_assert_msg(strstr(g, "oifname \"v6plus\" ct state new ct mark set ct mark & 0xff00ffff | 0x00020000"), "%s", g);
	ck_assert_msg(strstr(g, "oifname \"ocn\" ct state new ct mark set ct mark & 0xff00ffff | 0x00030000"), "%s", g);
	pre = chain_text(&p, "prerouting");
	ck_assert_msg(strstr(pre, "iifname @lan_ifs ct mark & 0x00ff0000 != 0x00000000 meta mark set ct mark & 0x00ff0000 return"), "%s", pre);
	free(g);
	free(pre);
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

/*
 * The MAP-E IPv4 is shared with other CEs (other PSIDs): it must not be a local address, or the
 * kernel delivers a LAN host's packet to another subscriber's port to the router itself.  The
 * tunnel gets 192.0.0.4 (RFC 7335) for the router's own sockets; inbound to our ports is
 * DNATed to it; the router's own traffic is SNATed like the LAN's.
 */
START_TEST(mape_ipv4_not_local)
{
	const char *kv[] = { V6PLUS_PREFIX, "ocn.ipv4=198.51.100.7", NULL };
	struct config *cfg;
	struct plan p;
	char buf[PREFIX_STRLEN], *nat;
	bool placeholder = false;

	build(POLICY_CONF, kv, &cfg, &p);
	for (size_t i = 0; i < p.addrs.n; i++) {
		const struct plan_addr *a = &p.addrs.v[i];

		prefix_fmt(&a->addr, buf);
		ck_assert_msg(strcmp(buf, "106.72.63.108/32"), "the shared IPv4 is local on %s", a->dev);
		placeholder |= !strcmp(a->dev, "v6plus") && !strcmp(buf, "192.0.0.4/32");
	}
	ck_assert(placeholder);
	for (size_t i = 0; i < p.rules.n; i++) {
		const struct plan_rule *r = &p.rules.v[i];

		if (r->family == AF_INET && r->has_src) {
			prefix_fmt(&r->src, buf);
			ck_assert_msg(strcmp(buf, "106.72.63.108/32"), "a source rule for the shared IPv4");
		}
	}
	nat = chain_text(&p, "prerouting_nat");
	ck_assert_msg(strstr(nat, "type nat hook prerouting priority -100; policy accept;"), "%s", nat);
	ck_assert_msg(strstr(nat, "iifname \"v6plus\" meta nfproto ipv4 ip daddr 106.72.63.108 dnat ip to 192.0.0.4"), "%s", nat);
	free(nat);
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

START_TEST(ipip6_local_uses_token)
{
	const char *kv[] = { "ngn.prefix=2001:db8:1234:5600::/64", NULL };
	const struct plan_link *l;
	struct config *cfg;
	struct plan p;
	char buf[64];

	build("conf/examples/transix-fixed-ipv4.conf", kv, &cfg, &p);
	l = find_link(&p, "fixed");
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(inet_ntop(AF_INET6, &l->local, buf, sizeof(buf)), "2001:db8:1234:5600::feed");
	ck_assert_str_eq(l->parent, "ens224.1000");
	ck_assert_ptr_nonnull(find_link(&p, "ens224.1000"));
	ck_assert_int_eq(find_link(&p, "ens224.1000")->kind, PLAN_LINK_VLAN);
	/* DS-Lite waits for its AFTR name to resolve */
	ck_assert_int_eq(p.uplinks[2].state, PLAN_WAITING);
	ck_assert_ptr_null(find_link(&p, "transix"));
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

START_TEST(pd_gives_lan_its_subnet)
{
	const char *kv[] = { "ocn6.prefix=2001:db8:aa00:100::/56", "ocn6.gateway6=fe80::1", NULL };
	struct config *cfg;
	struct plan p;
	char buf[PREFIX_STRLEN];
	bool found = false;

	build("conf/examples/pppoe-ipv4-ipv6-pd.conf", kv, &cfg, &p);
	for (size_t i = 0; i < p.addrs.n; i++) {
		if (!strcmp(p.addrs.v[i].dev, "eth0")) {
			ck_assert_str_eq(prefix_fmt(&p.addrs.v[i].addr, buf), "2001:db8:aa00:100::1/64");
			found = true;
		}
	}
	ck_assert(found);
	ck_assert_str_eq(p.default6->name, "ocn6");
	ck_assert_str_eq(find_route(&p, AF_INET6, 254)->dev, "ppp1");
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

#define PD_CONF "conf/examples/pppoe-ipv4-ipv6-pd.conf"

static const struct plan_route *find_route_to(const struct plan *p, const char *dst, uint32_t table)
{
	struct ip_prefix want;

	ck_assert_int_eq(prefix_parse(&want, dst, AF_UNSPEC, false), 0);
	for (size_t i = 0; i < p->routes.n; i++) {
		if (p->routes.v[i].table == table && !prefix_cmp(&p->routes.v[i].dst, &want))
			return &p->routes.v[i];
	}
	return NULL;
}

static size_t n_addrs_on(const struct plan *p, const char *dev)
{
	size_t n = 0;

	for (size_t i = 0; i < p->addrs.n; i++)
		n += !strcmp(p->addrs.v[i].dev, dev);
	return n;
}

/* RFC 7084 WPD-5: the delegated prefix is unreachable, but for the LAN's /64 (more specific). */
/*
 * The plan lists exactly the processes that should run: pppd and the DHCPv6-PD client go with
 * the operator's down; a missing device hangs pppd up but only pauses the client (the LAN keeps
 * its prefix); the update request runs once the tunnel has its address.
 */
START_TEST(processes_follow_the_plan)
{
	const char *down[] = { "ocn6.state=admin-down", NULL };
	struct config *cfg = load("conf/examples/pppoe-ipv4-ipv6-pd.conf");
	const struct plan_proc *pr;
	struct facts f;
	struct plan p;
	struct ul_err e;

	set_facts(&f, cfg, NULL);
	ck_assert_int_eq(plan_build(cfg, &f, &p, &e), 0);
	ck_assert_ptr_nonnull(plan_proc_of(&p, PLAN_PROC_PPPD, "ocn4"));
	ck_assert_ptr_nonnull(plan_proc_of(&p, PLAN_PROC_PPPD, "ocn6"));
	pr = plan_proc_of(&p, PLAN_PROC_DHCPV6_PD, "ocn6");
	ck_assert_ptr_nonnull(pr);
	ck_assert(!pr->paused);
	ck_assert_ptr_null(plan_proc_of(&p, PLAN_PROC_DHCPV6_PD, "ocn4"));
	plan_free(&p);
	/* the device is gone: pppd is not listed, the client is paused */
	strcpy(f.u[cfg_find_uplink(cfg, "ocn6")->index].missing, "eth1");
	ck_assert_int_eq(plan_build(cfg, &f, &p, &e), 0);
	ck_assert_ptr_null(plan_proc_of(&p, PLAN_PROC_PPPD, "ocn6"));
	pr = plan_proc_of(&p, PLAN_PROC_DHCPV6_PD, "ocn6");
	ck_assert_ptr_nonnull(pr);
	ck_assert(pr->paused);
	plan_free(&p);
	facts_free(&f);
	/* administratively down: neither */
	set_facts(&f, cfg, down);
	ck_assert_int_eq(plan_build(cfg, &f, &p, &e), 0);
	ck_assert_ptr_null(plan_proc_of(&p, PLAN_PROC_PPPD, "ocn6"));
	ck_assert_ptr_null(plan_proc_of(&p, PLAN_PROC_DHCPV6_PD, "ocn6"));
	ck_assert_ptr_nonnull(plan_proc_of(&p, PLAN_PROC_PPPD, "ocn4"));
	plan_free(&p);
	facts_free(&f);
	cfg_free(cfg);
	/* the update request: only for a tunnel that has its local address */
	cfg = load("conf/examples/transix-fixed-ipv4.conf");
	set_facts(&f, cfg, NULL);
	ck_assert_int_eq(plan_build(cfg, &f, &p, &e), 0);
	ck_assert_ptr_null(plan_proc_of(&p, PLAN_PROC_UPDATE, "fixed"));
	plan_free(&p);
	facts_free(&f);
	cfg_free(cfg);
}
END_TEST

START_TEST(pd_unreachable_route)
{
	const char *kv[] = { "ocn6.prefix=2001:db8:aa00:100::/56", "ocn6.gateway6=fe80::1", NULL };
	const char *none[] = { "ocn6.gateway6=fe80::1", NULL };
	const struct plan_route *r;
	struct strbuf sb = { 0 };
	struct config *cfg;
	struct plan p;

	build(PD_CONF, kv, &cfg, &p);
	r = find_route_to(&p, "2001:db8:aa00:100::/56", 254);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, PLAN_RT_UNREACHABLE);
	ck_assert_str_eq(r->uplink, "ocn6");
	/* only in the main table: the rule "lookup main suppress_prefixlength 0" comes first */
	for (size_t i = 0, n = 0; i < p.routes.n; i++) {
		n += p.routes.v[i].dst.len != 0;
		ck_assert_uint_le(n, 1);
	}
	plan_print(&p, &sb);
	ck_assert_ptr_nonnull(strstr(sb.s, "ip -6 route add unreachable 2001:db8:aa00:100::/56 proto 117 metric "));
	sb_free(&sb);
	plan_free(&p);
	cfg_free(cfg);
	/* no lease, no route */
	build(PD_CONF, none, &cfg, &p);
	ck_assert_ptr_null(find_route_to(&p, "2001:db8:aa00:100::/56", 254));
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

/*
 * A delegated prefix that cannot be used, handed to the planner whatever checked it before:
 * the uplink waits with the reason, nothing of the prefix is planned, and nothing crashes
 * (a /72 made "64 - len" wrap and the pd-lan address be written far past its 16 bytes).
 */
START_TEST(pd_refuses_unusable_prefix)
{
	static const struct {
		const char *prefix;
		unsigned subnet;
		const char *why;
		bool routed; /* a usable prefix not fit for the LAN is still refused here (WPD-5) */
	} v[] = {
		{ "2001:db8:aa00:100::/72", 0,
		  "delegated prefix 2001:db8:aa00:100::/72 not used: longer than /64: no /64 for a LAN in it", false },
		{ "2001:db8:aa00:100::1/128", 0,
		  "delegated prefix 2001:db8:aa00:100::1/128 not used: longer than /64: no /64 for a LAN in it", false },
		{ "::/0", 0, "delegated prefix ::/0 not used: shorter than /32: more than any ISP delegates", false },
		{ "2001:db8:aa00:100::/64", 1, "pd-subnet 1 does not fit in the delegated 2001:db8:aa00:100::/64", true },
		{ "2001:db8:aa00:100::/56", 256, "pd-subnet 256 does not fit in the delegated 2001:db8:aa00:100::/56", true },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct config *cfg = load(PD_CONF);
		struct cfg_uplink *u = (struct cfg_uplink *)cfg_find_uplink(cfg, "ocn6");
		const struct plan_uplink *pu;
		struct ul_err e = { "" };
		struct facts f;
		struct plan p;

		u->pd_subnet = v[i].subnet;
		set_facts(&f, cfg, (const char *[]){ "ocn6.gateway6=fe80::1", NULL });
		f.u[u->index].has_prefix = true;
		ck_assert_int_eq(prefix_parse(&f.u[u->index].prefix, v[i].prefix, AF_INET6, true), 0);
		ck_assert_int_eq(plan_build(cfg, &f, &p, &e), 0);
		pu = &p.uplinks[u->index];
		ck_assert_msg(pu->state == PLAN_WAITING || pu->state == PLAN_DOWN, "%s: %s", v[i].prefix,
			      plan_state_name(pu->state));
		ck_assert_str_eq(pu->reason, v[i].why);
		ck_assert(!pu->usable);
		ck_assert_uint_eq(n_addrs_on(&p, "eth0"), 0);
		ck_assert(!find_route_to(&p, v[i].prefix, 254) == !v[i].routed);
		ck_assert_ptr_null(p.default6);
		plan_free(&p);
		facts_free(&f);
		cfg_free(cfg);
	}
}
END_TEST

/* The DHCPv6 client refused what the server offered: status says why the uplink waits. */
START_TEST(pd_error_is_the_reason)
{
	struct config *cfg = load(PD_CONF);
	const struct cfg_uplink *u = cfg_find_uplink(cfg, "ocn6");
	struct ul_err e = { "" };
	struct facts f;
	struct plan p;

	set_facts(&f, cfg, (const char *[]){ "ocn6.gateway6=fe80::1", NULL });
	snprintf(f.u[u->index].pd_error, sizeof(f.u[u->index].pd_error), "%s",
		 "server sent no usable prefix: 2001:db8::/72 is longer than /64");
	ck_assert_int_eq(plan_build(cfg, &f, &p, &e), 0);
	ck_assert_int_eq(p.uplinks[u->index].state, PLAN_WAITING);
	ck_assert_str_eq(p.uplinks[u->index].reason,
			 "no delegated prefix: server sent no usable prefix: 2001:db8::/72 is longer than /64");
	ck_assert(!p.uplinks[u->index].usable);
	plan_free(&p);
	/* with a prefix, an old error says nothing */
	f.u[u->index].has_prefix = true;
	ck_assert_int_eq(prefix_parse(&f.u[u->index].prefix, "2001:db8:aa00:100::/56", AF_INET6, false), 0);
	ck_assert_int_eq(plan_build(cfg, &f, &p, &e), 0);
	ck_assert_int_eq(p.uplinks[u->index].state, PLAN_UP);
	ck_assert(p.uplinks[u->index].usable);
	plan_free(&p);
	facts_free(&f);
	cfg_free(cfg);
}
END_TEST

/* A DS-Lite uplink whose AFTR name does not resolve says what the resolver answered. */
START_TEST(aftr_error_is_the_reason)
{
	struct config *cfg = tl_load_config_text("[global]\nlan = br0\n[uplink wan]\ntype = ipoe\ndevice = eth1\n"
						 "[uplink ds]\ntype = dslite\nover = wan\naftr = gw.transix.jp\n");
	const struct cfg_uplink *u = cfg_find_uplink(cfg, "ds");
	struct ul_err e = { "" };
	struct facts f;
	struct plan p;

	set_facts(&f, cfg, (const char *[]){ "wan.prefix=2409:10:2a40:3400::/64", NULL });
	ck_assert_int_eq(plan_build(cfg, &f, &p, &e), 0);
	ck_assert_str_eq(p.uplinks[u->index].reason, "AFTR gw.transix.jp not resolved yet");
	plan_free(&p);
	snprintf(f.u[u->index].aftr_error, sizeof(f.u[u->index].aftr_error), "%s", "Domain name not found");
	ck_assert_int_eq(plan_build(cfg, &f, &p, &e), 0);
	ck_assert_int_eq(p.uplinks[u->index].state, PLAN_WAITING);
	ck_assert_str_eq(p.uplinks[u->index].reason, "AFTR gw.transix.jp not resolved: Domain name not found");
	plan_free(&p);
	facts_free(&f);
	cfg_free(cfg);
}
END_TEST

/* 64 static uplinks on VLANs, 1000 policies, a 100 000-prefix destination set. */
START_TEST(scaled_config)
{
	struct strbuf sb = { 0 };
	char conf[512], list[512];
	struct config *cfg;
	struct facts f;
	struct plan p;
	struct ul_err e;
	const struct nftp_set *s;
	FILE *fp;

	snprintf(list, sizeof(list), "%s/big.txt", tl_tmpdir());
	fp = fopen(list, "w");
	for (unsigned i = 0; i < 100000; i++)
		fprintf(fp, "%u.%u.%u.0/24\n", 11 + i / 65536 * 2, (i / 256) % 256, i % 256);
	fclose(fp);
	sb_printf(&sb, "[global]\nlan = br0\nfwmark-mask = 0xffff0000\n");
	for (int i = 0; i < 64; i++)
		sb_printf(&sb, "[uplink s%d]\ntype = static\ndevice = eth1\nvlan = %d\nipv4 = 10.%d.0.2/24\n"
			       "gateway = 10.%d.0.1\npriority = %d\n", i, 100 + i, i, i, i);
	for (int i = 0; i < 1000; i++)
		sb_printf(&sb, "[policy p%d]\nfrom = 192.168.%d.%d\nuplink = s%d\nfallback = s%d\n", i,
			  i / 250, i % 250 + 1, i % 64, (i + 1) % 64);
	sb_printf(&sb, "[policy big]\nto = @%s\nuplink = s0\n", list);
	snprintf(conf, sizeof(conf), "%s/big.conf", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(conf, sb.s, 0644), 0);
	sb_free(&sb);
	cfg = load(conf);
	ck_assert_int_eq(facts_init(&f, cfg), 0);
	ck_assert_int_eq(plan_build(cfg, &f, &p, &e), 0);
	ck_assert_uint_eq(p.links.n, 64);
	s = nftp_find_set(&p.nft, "pol_big_dst4");
	ck_assert_ptr_nonnull(s);
	/* adjacent /24s merge: 100 000 consecutive /24s are 2 ranges (the 11.x and 13.x blocks) */
	ck_assert_uint_eq(s->prefixes.n, 100000);
	ck_assert_uint_eq(s->ranges.n, 2);
	plan_free(&p);
	facts_free(&f);
	cfg_free(cfg);
}
END_TEST

static Suite *plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("golden");

	n_examples = tl_list("conf/examples", ".conf", &examples);
	tcase_add_loop_test(tc, golden, 0, (int)n_examples + 1);
	suite_add_tcase(s, tc);

	tc = tcase_create("decisions");
	tcase_add_test(tc, all_up_defaults_to_best_priority);
	tcase_add_test(tc, pppoe_down_fails_policy_over);
	tcase_add_test(tc, admin_down_names_the_state);
	tcase_add_test(tc, static_slash32_gateway_onlink);
	tcase_add_test(tc, mape_health_failure_moves_default);
	tcase_add_test(tc, mape_waits_for_prefix);
	tcase_add_test(tc, prefix_change_recomputes_mape);
	tcase_add_test(tc, fallback_none_fails_closed);
	tcase_add_test(tc, firewall_covers_every_wan_interface);
	tcase_add_test(tc, wan_forward_passes_rfc4890_icmpv6_only);
	tcase_add_test(tc, fallback_none_is_airtight);
	tcase_add_test(tc, mape_source_guard);
	tcase_add_test(tc, mape_ipv4_not_local);
	tcase_add_test(tc, ipip6_local_uses_token);
	tcase_add_test(tc, pd_gives_lan_its_subnet);
	tcase_add_test(tc, processes_follow_the_plan);
	tcase_add_test(tc, pd_unreachable_route);
	tcase_add_test(tc, pd_refuses_unusable_prefix);
	tcase_add_test(tc, pd_error_is_the_reason);
	tcase_add_test(tc, aftr_error_is_the_reason);
	tcase_add_test(tc, scaled_config);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tl_run(plan_suite());
}
