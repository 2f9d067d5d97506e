/*
 * The differ and the observer, without a kernel: a simulated kernel view takes each change
 * as the kernel would, so "apply, then diff again" must come out empty.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "observe.h"
#include "plan.h"
#include "testlib.h"

#define PROTO 117

static int next_ifindex = 100;

static struct kv_link *sim_link(struct kview *kv, const char *name, const char *kind, unsigned flags)
{
	struct kv_link *l = VEC_PUSH(&kv->links);

	l->ifindex = next_ifindex++;
	strcpy(l->name, name);
	strcpy(l->kind, kind);
	l->flags = flags;
	l->mtu = 1500;
	return l;
}

static struct kv_link *sim_find(struct kview *kv, const char *name)
{
	return (struct kv_link *)kview_link_by_name(kv, name);
}

static void sim_del_link(struct kview *kv, const char *name)
{
	struct kv_link *l = sim_find(kv, name);
	int idx;

	if (!l)
		return;
	idx = l->ifindex;
	for (size_t i = 0; i < kv->addrs.n;) {
		if (kv->addrs.v[i].ifindex == idx)
			kv->addrs.v[i] = kv->addrs.v[--kv->addrs.n];
		else
			i++;
	}
	for (size_t i = 0; i < kv->routes.n;) {
		if (kv->routes.v[i].oif == idx)
			kv->routes.v[i] = kv->routes.v[--kv->routes.n];
		else
			i++;
	}
	*l = kv->links.v[--kv->links.n];
}

static void sim_route(struct kview *kv, const struct plan_route *pr, uint8_t proto)
{
	struct kv_route *r = NULL;

	for (size_t i = 0; i < kv->routes.n; i++) {
		struct kv_route *k = &kv->routes.v[i];

		if (k->table == pr->table && k->metric == pr->metric && !prefix_cmp(&k->dst, &pr->dst))
			r = k;
	}
	if (!r)
		r = VEC_PUSH(&kv->routes);
	memset(r, 0, sizeof(*r));
	r->table = pr->table;
	r->dst = pr->dst;
	r->metric = pr->metric;
	r->protocol = proto;
	r->type = pr->type == PLAN_RT_UNREACHABLE ? RTN_UNREACHABLE : RTN_UNICAST;
	r->gw = pr->gw;
	if (pr->type == PLAN_RT_UNICAST)
		r->oif = sim_find(kv, pr->dev)->ifindex;
}

static void sim_rule(struct kview *kv, const struct plan_rule *pr, bool del)
{
	if (del) {
		for (size_t i = 0; i < kv->rules.n; i++) {
			struct kv_rule *k = &kv->rules.v[i];

			if (k->priority == pr->priority && k->family == pr->family && k->fwmark == pr->fwmark &&
			    k->protocol == PROTO && k->has_src == pr->has_src &&
			    (!k->has_src || !prefix_cmp(&k->src, &pr->src))) {
				*k = kv->rules.v[--kv->rules.n];
				return;
			}
		}
		ck_abort_msg("deleting a rule that is not there");
	}
	struct kv_rule *k = VEC_PUSH(&kv->rules);
	k->family = pr->family;
	k->priority = pr->priority;
	k->action = pr->action == PLAN_RULE_PROHIBIT ? FR_ACT_PROHIBIT : FR_ACT_TO_TBL;
	k->table = pr->table;
	k->protocol = PROTO;
	k->has_src = pr->has_src;
	k->src = pr->src;
	k->fwmark = pr->fwmark;
	k->fwmask = pr->fwmask;
	k->suppress_prefixlen = pr->suppress_prefixlen;
}

static void sim_set_sysctl(struct kview *kv, const char *key, const char *value)
{
	for (size_t i = 0; i < kv->sysctls.n; i++) {
		if (!strcmp(kv->sysctls.v[i].key, key)) {
			strcpy(kv->sysctls.v[i].value, value);
			return;
		}
	}
	struct kv_sysctl *s = VEC_PUSH(&kv->sysctls);
	strcpy(s->key, key);
	strcpy(s->value, value);
}

/* Does to kv what the kernel does for c; records ownership like the apply engine. */
static void sim_apply(struct kview *kv, struct own_state *own, bool *nft, const struct change *c)
{
	struct kv_link *l;
	struct kv_addr *a;

	switch (c->kind) {
	case CH_SYSCTL:
		if (c->old[0])
			state_remember(&own->sysctls, c->sysctl.key, c->old);
		sim_set_sysctl(kv, c->sysctl.key, c->sysctl.value);
		break;
	case CH_RESTORE_SYSCTL:
		sim_set_sysctl(kv, c->sysctl.key, c->old);
		state_forget(&own->sysctls, c->sysctl.key);
		break;
	case CH_LINK_ADD:
		ck_assert_ptr_null(sim_find(kv, c->link.name));
		l = sim_link(kv, c->link.name, c->link.kind == PLAN_LINK_VLAN ? "vlan" : "ip6tnl",
			     c->link.kind == PLAN_LINK_VLAN ? IFF_LOWER_UP : IFF_UP | IFF_LOWER_UP);
		l->link = sim_find(kv, c->link.parent)->ifindex;
		l->vlan_id = c->link.vlan_id;
		if (c->link.has_local)
			l->local = c->link.local;
		l->remote = c->link.remote;
		l->tnl_proto = IPPROTO_IPIP;
		l->tnl_flags = KV_IP6_TNL_F_IGN_ENCAP_LIMIT;
		if (c->link.mtu)
			l->mtu = c->link.mtu;
		strcpy(l->alias, STATE_ALIAS);
		state_add_link(own, c->link.name);
		break;
	case CH_LINK_CHANGE:
		l = sim_find(kv, c->link.name);
		memset(&l->local, 0, 16);
		if (c->link.has_local)
			l->local = c->link.local;
		l->remote = c->link.remote;
		if (c->link.mtu)
			l->mtu = c->link.mtu;
		break;
	case CH_LINK_DEL:
		sim_del_link(kv, c->dev);
		state_del_link(own, c->dev);
		state_del_dev_addrs(own, c->dev);
		break;
	case CH_LINK_UP:
		sim_find(kv, c->dev)->flags |= IFF_UP;
		if (!c->owned)
			state_remember(&own->ups, c->dev, "down");
		break;
	case CH_RESTORE_DOWN:
		sim_find(kv, c->dev)->flags &= ~(unsigned)IFF_UP;
		state_forget(&own->ups, c->dev);
		break;
	case CH_MTU:
		sim_find(kv, c->dev)->mtu = c->mtu;
		state_remember(&own->mtus, c->dev, c->old);
		break;
	case CH_RESTORE_MTU:
		sim_find(kv, c->dev)->mtu = (uint32_t)atoi(c->old);
		state_forget(&own->mtus, c->dev);
		break;
	case CH_TOKEN:
		l = sim_find(kv, c->dev);
		l->has_token = true;
		l->token = c->token;
		state_remember(&own->tokens, c->dev, c->old);
		break;
	case CH_RESTORE_TOKEN:
		l = sim_find(kv, c->dev);
		inet_pton(AF_INET6, c->old, &l->token);
		state_forget(&own->tokens, c->dev);
		break;
	case CH_ADDR_ADD:
		a = VEC_PUSH(&kv->addrs);
		a->ifindex = sim_find(kv, c->addr.dev)->ifindex;
		a->addr = c->addr.addr;
		state_add_addr(own, c->addr.dev, &c->addr.addr);
		break;
	case CH_ADDR_DEL:
		l = sim_find(kv, c->addr.dev);
		for (size_t i = 0; i < kv->addrs.n; i++) {
			if (kv->addrs.v[i].ifindex == l->ifindex && !prefix_cmp(&kv->addrs.v[i].addr, &c->addr.addr)) {
				kv->addrs.v[i] = kv->addrs.v[--kv->addrs.n];
				break;
			}
		}
		state_del_addr(own, c->addr.dev, &c->addr.addr);
		break;
	case CH_ROUTE_SET:
		sim_route(kv, &c->route, PROTO);
		break;
	case CH_ROUTE_DEL:
		for (size_t i = 0; i < kv->routes.n; i++) {
			struct kv_route *k = &kv->routes.v[i];

			if (k->table == c->route.table && k->metric == c->route.metric &&
			    !prefix_cmp(&k->dst, &c->route.dst) && k->protocol == PROTO) {
				*k = kv->routes.v[--kv->routes.n];
				break;
			}
		}
		break;
	case CH_RULE_ADD:
		sim_rule(kv, &c->rule, false);
		break;
	case CH_RULE_DEL:
		sim_rule(kv, &c->rule, true);
		break;
	case CH_NFT_REPLACE:
		*nft = true;
		break;
	case CH_NFT_DELETE:
		*nft = false;
		break;
	}
}

/* A router with a WAN NIC that got an RA prefix, and a LAN bridge. */
static void base_kernel(struct kview *kv)
{
	struct kv_link *wan = sim_link(kv, "enp2s0", "", IFF_UP | IFF_LOWER_UP);
	struct kv_addr *a;
	struct kv_route *r;

	sim_link(kv, "br0", "bridge", IFF_UP | IFF_LOWER_UP);
	a = VEC_PUSH(&kv->addrs);
	a->ifindex = wan->ifindex;
	prefix_parse(&a->addr, "240b:10:3f6c:d400:21e:10ff:fe20:3040/64", AF_INET6, true);
	a->preferred_lft = 3600;
	r = VEC_PUSH(&kv->routes);
	r->table = RT_TABLE_MAIN;
	prefix_parse(&r->dst, "::/0", AF_INET6, false);
	addr_parse(&r->gw, "fe80::1", AF_INET6);
	r->oif = wan->ifindex;
	r->metric = 1024;
	r->protocol = RTPROT_RA;
	r->type = RTN_UNICAST;
	sim_set_sysctl(kv, "net/ipv4/ip_forward", "0");
	sim_set_sysctl(kv, "net/ipv6/conf/all/forwarding", "0");
	sim_set_sysctl(kv, "net/ipv6/conf/enp2s0/accept_ra", "1");
}

struct world {
	struct config *cfg;
	struct kview kv;
	struct own_state own;
	bool nft;
	char *nft_text;          /* the table the simulated kernel holds */
	struct plan plan;
};

/* Whether the simulated kernel's table is the plan's (nft_table_matches' answer). */
static bool nft_same(struct world *w)
{
	struct strbuf sb = { 0 };
	bool same;

	nftp_print(&w->plan.nft, &sb);
	same = w->nft && w->nft_text && !strcmp(sb.s, w->nft_text);
	sb_free(&sb);
	return same;
}

/* What apply_run() tells the differ about the kernel's table. */
static enum diff_nft nft_state(struct world *w)
{
	return !w->nft ? DIFF_NFT_ABSENT : nft_same(w) ? DIFF_NFT_SAME : DIFF_NFT_DIFFERS;
}

static void nft_took(struct world *w, const struct change *c)
{
	struct strbuf sb = { 0 };

	if (c->kind != CH_NFT_REPLACE)
		return;
	nftp_print(&w->plan.nft, &sb);
	free(w->nft_text);
	w->nft_text = sb.s;
}

static void plan_from_kernel(struct world *w, const char *const *extra_facts)
{
	struct facts f;
	struct ul_err e = { "" };

	ck_assert_int_eq(facts_init(&f, w->cfg), 0);
	facts_observe(w->cfg, &w->kv, &w->own, NULL, &f);
	for (; extra_facts && *extra_facts; extra_facts++)
		ck_assert_msg(facts_set(&f, w->cfg, *extra_facts, &e) == 0, "%s", e.msg);
	ck_assert_msg(plan_build(w->cfg, &f, &w->plan, &e) == 0, "%s", e.msg);
	facts_free(&f);
}

/* diff, simulate, and return how many changes there were */
static size_t converge(struct world *w, const char *const *facts)
{
	struct changes ch;
	struct ul_err e = { "" };
	size_t n;

	plan_from_kernel(w, facts);
	ck_assert_msg(diff_build(&w->plan, &w->kv, &w->own, nft_state(w), &ch, &e) == 0, "%s", e.msg);
	for (size_t i = 0; i < ch.n; i++) {
		if (getenv("DIFF_DEBUG")) {
			struct strbuf sb = { 0 };

			change_describe(&ch.v[i], "uplinkd", PROTO, &sb);
			fprintf(stderr, "  %s\n", sb.s);
			sb_free(&sb);
		}
		sim_apply(&w->kv, &w->own, &w->nft, &ch.v[i]);
		nft_took(w, &ch.v[i]);
	}
	if (getenv("DIFF_DEBUG"))
		fprintf(stderr, "--\n");
	n = ch.n;
	changes_free(&ch);
	plan_free(&w->plan);
	return n;
}

static void world_init(struct world *w, const char *conf)
{
	memset(w, 0, sizeof(*w));
	w->cfg = NULL;
	{
		const char *path = tl_stage_config(conf);
		struct cfg_diags d;

		w->cfg = cfg_load(path, &d);
		ck_assert_msg(w->cfg != NULL, "%s", d.n ? d.v[0].text : "");
		cfg_diags_free(&d);
	}
	base_kernel(&w->kv);
}

static void world_free(struct world *w)
{
	free(w->nft_text);
	kview_free(&w->kv);
	state_free(&w->own);
	cfg_free(w->cfg);
}

#define POLICY "conf/examples/pppoe-mape-policy.conf"

START_TEST(second_run_is_empty)
{
	struct world w;

	world_init(&w, POLICY);
	ck_assert_uint_gt(converge(&w, NULL), 10);
	ck_assert_uint_eq(converge(&w, NULL), 0);
	ck_assert(w.nft);
	/* the MAP-E tunnel exists with the CE address as its local end */
	ck_assert_ptr_nonnull(sim_find(&w.kv, "v6plus"));
	ck_assert(state_owns_link(&w.own, "v6plus"));
	ck_assert_ptr_nonnull(state_find(&w.own.sysctls, "net/ipv4/ip_forward"));
	ck_assert_str_eq(state_find(&w.own.sysctls, "net/ipv4/ip_forward")->old, "0");
	world_free(&w);
}
END_TEST

START_TEST(order_is_safe)
{
	struct world w;
	struct changes ch;
	struct ul_err e;
	int link_at = -1, addr_at = -1, route_at = -1, nft_at = -1;

	world_init(&w, POLICY);
	plan_from_kernel(&w, NULL);
	ck_assert_int_eq(diff_build(&w.plan, &w.kv, &w.own, nft_state(&w), &ch, &e), 0);
	for (size_t i = 0; i < ch.n; i++) {
		const struct change *c = &ch.v[i];

		if (c->kind == CH_LINK_ADD && !strcmp(c->link.name, "v6plus"))
			link_at = (int)i;
		if (c->kind == CH_ADDR_ADD && !strcmp(c->addr.dev, "v6plus"))
			addr_at = (int)i;
		if (c->kind == CH_ROUTE_SET && !strcmp(c->route.dev, "v6plus") && route_at < 0)
			route_at = (int)i;
		if (c->kind == CH_NFT_REPLACE)
			nft_at = (int)i;
	}
	ck_assert_int_ge(link_at, 0);
	ck_assert_int_gt(addr_at, link_at);
	ck_assert_int_gt(route_at, addr_at);
	ck_assert_int_eq(nft_at, 0); /* a cold apply: the firewall before anything else */
	changes_free(&ch);
	plan_free(&w.plan);
	world_free(&w);
}
END_TEST

/* Where the first forwarding sysctl and the table replace are in ch (-1: absent). */
static void forwarding_and_table(const struct changes *ch, int *fwd_at, int *nft_at)
{
	*fwd_at = *nft_at = -1;
	for (size_t i = 0; i < ch->n; i++) {
		const struct change *c = &ch->v[i];

		if (c->kind == CH_SYSCTL && *fwd_at < 0 && (!strcmp(c->sysctl.key, "net/ipv4/ip_forward") ||
							    !strcmp(c->sysctl.key, "net/ipv6/conf/all/forwarding")))
			*fwd_at = (int)i;
		if (c->kind == CH_NFT_REPLACE)
			*nft_at = (int)i;
	}
}

START_TEST(forwarding_waits_for_the_table)
{
	struct world w;
	struct changes ch;
	struct ul_err e;
	int fwd_at, nft_at;

	/* forwarding is being switched on, the table differs: the table, then forwarding */
	world_init(&w, POLICY);
	plan_from_kernel(&w, NULL);
	ck_assert_int_eq(diff_build(&w.plan, &w.kv, &w.own, DIFF_NFT_DIFFERS, &ch, &e), 0);
	forwarding_and_table(&ch, &fwd_at, &nft_at);
	ck_assert_int_ge(nft_at, 0);
	ck_assert_int_ge(fwd_at, 0);
	ck_assert_msg(nft_at < fwd_at, "forwarding (change %d) goes on before the table (change %d)",
		      fwd_at, nft_at);
	ck_assert(!ch.v[nft_at].owned);
	changes_free(&ch);
	/* no table at all: it comes first, before the links it names, and is new */
	ck_assert_int_eq(diff_build(&w.plan, &w.kv, &w.own, DIFF_NFT_ABSENT, &ch, &e), 0);
	forwarding_and_table(&ch, &fwd_at, &nft_at);
	ck_assert_int_eq(nft_at, 0);
	ck_assert(ch.v[0].owned);
	ck_assert_int_gt(fwd_at, nft_at);
	changes_free(&ch);
	/* the table is there and right: forwarding still goes on last, after every other change */
	ck_assert_int_eq(diff_build(&w.plan, &w.kv, &w.own, DIFF_NFT_SAME, &ch, &e), 0);
	forwarding_and_table(&ch, &fwd_at, &nft_at);
	ck_assert_int_eq(nft_at, -1);
	ck_assert_int_ge(fwd_at, 0);
	for (size_t i = (size_t)fwd_at; i < ch.n; i++)
		ck_assert_int_eq(ch.v[i].kind, CH_SYSCTL);
	changes_free(&ch);
	plan_free(&w.plan);
	world_free(&w);
}
END_TEST

START_TEST(prefix_change_moves_mape)
{
	struct world w;
	struct changes ch;
	struct ul_err e;
	struct kv_addr *a;
	bool changed_tunnel = false, removed_old_ce = false;

	world_init(&w, POLICY);
	converge(&w, NULL);
	/* the NGN renumbers: the old address is deprecated, a new one arrives */
	w.kv.addrs.v[0].flags |= IFA_F_DEPRECATED;
	w.kv.addrs.v[0].preferred_lft = 0;
	a = VEC_PUSH(&w.kv.addrs);
	a->ifindex = sim_find(&w.kv, "enp2s0")->ifindex;
	prefix_parse(&a->addr, "240b:10:abcd:ef00:21e:10ff:fe20:3040/64", AF_INET6, true);
	a->preferred_lft = 3600;
	plan_from_kernel(&w, NULL);
	ck_assert_int_eq(diff_build(&w.plan, &w.kv, &w.own, nft_state(&w), &ch, &e), 0);
	for (size_t i = 0; i < ch.n; i++) {
		changed_tunnel |= ch.v[i].kind == CH_LINK_CHANGE && !strcmp(ch.v[i].link.name, "v6plus");
		removed_old_ce |= ch.v[i].kind == CH_ADDR_DEL && !strcmp(ch.v[i].addr.dev, "enp2s0");
		sim_apply(&w.kv, &w.own, &w.nft, &ch.v[i]);
		nft_took(&w, &ch.v[i]);
	}
	ck_assert(changed_tunnel);
	ck_assert(removed_old_ce);
	ck_assert_int_eq(ch.v[ch.n - 1].kind, CH_NFT_REPLACE); /* new IPv4 and port sets */
	changes_free(&ch);
	plan_free(&w.plan);
	ck_assert_uint_eq(converge(&w, NULL), 0);
	world_free(&w);
}
END_TEST

START_TEST(foreign_objects_are_not_touched)
{
	struct world w;
	struct changes ch;
	struct kv_route *r;
	struct kv_rule *rule;

	world_init(&w, POLICY);
	/* a foreign rule, a foreign route in another table: ignored */
	rule = VEC_PUSH(&w.kv.rules);
	rule->family = AF_INET;
	rule->priority = 10000;
	rule->action = FR_ACT_TO_TBL;
	rule->table = 42;
	rule->protocol = RTPROT_BOOT;
	rule->suppress_prefixlen = -1;
	r = VEC_PUSH(&w.kv.routes);
	r->table = 42;
	prefix_parse(&r->dst, "0.0.0.0/0", AF_INET, false);
	r->protocol = RTPROT_BOOT;
	r->type = RTN_UNICAST;
	r->oif = sim_find(&w.kv, "br0")->ifindex;
	converge(&w, NULL);
	ck_assert_uint_eq(converge(&w, NULL), 0);
	ck_assert_uint_eq(w.kv.rules.v[0].table, 42);
	plan_from_kernel(&w, NULL);
	ck_assert_int_eq(diff_teardown(&w.kv, &w.own, PROTO, w.nft, &ch), 0);
	for (size_t i = 0; i < ch.n; i++)
		sim_apply(&w.kv, &w.own, &w.nft, &ch.v[i]);
	changes_free(&ch);
	plan_free(&w.plan);
	/* down leaves only the foreign objects and the original settings */
	ck_assert(!w.nft);
	ck_assert_uint_eq(w.kv.rules.n, 1);
	ck_assert_uint_eq(w.kv.routes.n, 2);
	ck_assert_ptr_null(sim_find(&w.kv, "v6plus"));
	ck_assert_str_eq(kview_sysctl(&w.kv, "net/ipv4/ip_forward"), "0");
	ck_assert_str_eq(kview_sysctl(&w.kv, "net/ipv6/conf/enp2s0/accept_ra"), "1");
	ck_assert_uint_eq(w.own.links.n + w.own.addrs.n + w.own.sysctls.n, 0);
	world_free(&w);
}
END_TEST

/* down deletes the VLAN it made: the VLAN's token and sysctls need no restoring (and none is listed). */
START_TEST(teardown_skips_deleted_devices)
{
	struct world w;
	struct changes ch;
	char buf[96], path[256];
	bool vlan_del = false;

	snprintf(path, sizeof(path), "%s/vlan.conf", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(path, "[global]\nlan = br0\n[uplink wan]\ntype = ipoe\n"
				       "device = enp2s0\nvlan = 1000\ntoken = ::feed\n", 0600), 0);
	world_init(&w, path);
	converge(&w, NULL);
	ck_assert(state_owns_link(&w.own, "enp2s0.1000"));
	ck_assert_ptr_nonnull(state_find(&w.own.tokens, "enp2s0.1000"));
	ck_assert_str_eq(state_setting_dev("net/ipv6/conf/enp2s0.1000/accept_ra", buf, sizeof(buf)), "enp2s0.1000");
	ck_assert_str_eq(state_setting_dev("net/ipv4/ip_forward", buf, sizeof(buf)), "");
	ck_assert_str_eq(state_setting_dev("net/ipv6/conf/all/forwarding", buf, sizeof(buf)), "");
	ck_assert_str_eq(state_setting_dev("net/ipv6/conf/default/accept_ra", buf, sizeof(buf)), "");
	ck_assert_str_eq(state_setting_dev("br0", buf, sizeof(buf)), "br0");
	ck_assert_int_eq(diff_teardown(&w.kv, &w.own, PROTO, w.nft, &ch), 0);
	for (size_t i = 0; i < ch.n; i++) {
		const struct change *c = &ch.v[i];

		vlan_del |= c->kind == CH_LINK_DEL && !strcmp(c->dev, "enp2s0.1000");
		ck_assert_msg(!((c->kind == CH_RESTORE_TOKEN || c->kind == CH_RESTORE_MTU ||
				 c->kind == CH_RESTORE_DOWN) && !strcmp(c->dev, "enp2s0.1000")),
			      "a restore of the deleted VLAN is listed (kind %d)", c->kind);
		ck_assert_msg(!(c->kind == CH_RESTORE_SYSCTL && strstr(c->sysctl.key, "/enp2s0.1000/")),
			      "a sysctl of the deleted VLAN is restored: %s", c->sysctl.key);
	}
	ck_assert(vlan_del);
	changes_free(&ch);
	world_free(&w);
}
END_TEST

START_TEST(conflicts_are_refused)
{
	struct world w;
	struct changes ch;
	struct ul_err e = { "" };
	struct kv_route *r;

	world_init(&w, POLICY);
	sim_link(&w.kv, "v6plus", "veth", IFF_UP);
	plan_from_kernel(&w, NULL);
	ck_assert_int_eq(diff_build(&w.plan, &w.kv, &w.own, nft_state(&w), &ch, &e), -EEXIST);
	ck_assert_str_eq(e.msg, "interface v6plus exists with other settings (it is veth), and uplinkd changes only interfaces it created; remove it or set ifname");
	plan_free(&w.plan);
	world_free(&w);

	world_init(&w, POLICY);
	r = VEC_PUSH(&w.kv.routes);
	r->table = RT_TABLE_MAIN;
	prefix_parse(&r->dst, "0.0.0.0/0", AF_INET, false);
	r->protocol = RTPROT_STATIC;
	r->type = RTN_UNICAST;
	r->oif = sim_find(&w.kv, "br0")->ifindex;
	plan_from_kernel(&w, NULL);
	ck_assert_int_eq(diff_build(&w.plan, &w.kv, &w.own, nft_state(&w), &ch, &e), -EEXIST);
	ck_assert_str_eq(e.msg, "table 254 already has a IPv4 route to default with metric 0 that uplinkd did not install (protocol 4); uplinkd does not replace it");
	plan_free(&w.plan);
	world_free(&w);
}
END_TEST

START_TEST(failover_changes_only_routes_and_rules)
{
	struct world w;
	const char *ocn_down[] = { "ocn.state=down", NULL };
	struct changes ch;
	struct ul_err e;
	struct kv_addr *a;

	world_init(&w, POLICY);
	a = VEC_PUSH(&w.kv.addrs);
	a->ifindex = sim_link(&w.kv, "ocn", "ppp", IFF_UP | IFF_LOWER_UP)->ifindex;
	prefix_parse(&a->addr, "198.51.100.7/32", AF_INET, false);
	converge(&w, NULL);
	ck_assert_uint_eq(converge(&w, NULL), 0);
	plan_from_kernel(&w, ocn_down);
	ck_assert_int_eq(diff_build(&w.plan, &w.kv, &w.own, nft_state(&w), &ch, &e), 0);
	for (size_t i = 0; i < ch.n; i++) {
		enum change_kind k = ch.v[i].kind;

		ck_assert_msg(k == CH_ROUTE_SET || k == CH_ROUTE_DEL || k == CH_RULE_ADD || k == CH_RULE_DEL,
			      "failover made a change of kind %d", k);
	}
	ck_assert_uint_gt(ch.n, 0);
	changes_free(&ch);
	plan_free(&w.plan);
	world_free(&w);
}
END_TEST

START_TEST(observe_pppoe_and_active_if)
{
	struct world w;
	struct kv_link *ppp;
	struct kv_addr *a;
	struct facts f;
	char buf[64];

	world_init(&w, "conf/examples/redundant-pppoe.conf");
	ppp = sim_link(&w.kv, "isp", "ppp", IFF_UP | IFF_LOWER_UP);
	sim_link(&w.kv, "enp3s0", "", IFF_UP | IFF_LOWER_UP);
	a = VEC_PUSH(&w.kv.addrs);
	a->ifindex = ppp->ifindex;
	prefix_parse(&a->addr, "203.0.113.77/32", AF_INET, false);
	a->has_peer = true;
	addr_parse(&a->peer, "203.0.113.1", AF_INET);
	facts_init(&f, w.cfg);
	facts_observe(w.cfg, &w.kv, &w.own, NULL, &f);
	ck_assert(f.u[0].has_local4);
	ck_assert_str_eq(inet_ntop(AF_INET, &f.u[0].local4, buf, sizeof(buf)), "203.0.113.77");
	ck_assert_str_eq(inet_ntop(AF_INET, &f.u[0].peer4, buf, sizeof(buf)), "203.0.113.1");
	ck_assert(f.u[0].inactive); /* 192.168.0.10 is not on br0: we are the backup */
	a = VEC_PUSH(&w.kv.addrs);
	a->ifindex = sim_find(&w.kv, "br0")->ifindex;
	prefix_parse(&a->addr, "192.168.0.10/24", AF_INET, true);
	facts_observe(w.cfg, &w.kv, &w.own, NULL, &f);
	ck_assert(!f.u[0].inactive);
	facts_free(&f);
	world_free(&w);
}
END_TEST

START_TEST(observe_wan_prefers_token_and_fresh_prefix)
{
	struct world w;
	struct kv_addr *a;
	struct facts f;
	char buf[PREFIX_STRLEN];

	world_init(&w, "conf/examples/transix-fixed-ipv4.conf");
	sim_link(&w.kv, "ens224", "", IFF_UP | IFF_LOWER_UP);
	a = VEC_PUSH(&w.kv.addrs);
	a->ifindex = sim_link(&w.kv, "ens224.1000", "vlan", IFF_UP | IFF_LOWER_UP)->ifindex;
	prefix_parse(&a->addr, "2404:7a80:1:2:abcd::1/64", AF_INET6, true);
	a->preferred_lft = 100;
	a = VEC_PUSH(&w.kv.addrs);
	*a = w.kv.addrs.v[w.kv.addrs.n - 2];
	prefix_parse(&a->addr, "2404:7a80:1:2::feed/64", AF_INET6, true);
	facts_init(&f, w.cfg);
	facts_observe(w.cfg, &w.kv, &w.own, NULL, &f);
	ck_assert_str_eq(inet_ntop(AF_INET6, &f.u[0].addr6, buf, sizeof(buf)), "2404:7a80:1:2::feed");
	ck_assert_str_eq(prefix_fmt(&f.u[0].prefix, buf), "2404:7a80:1:2::/64");
	ck_assert(!f.u[0].link_down);
	/* no carrier on the parent: down */
	sim_find(&w.kv, "ens224")->flags = IFF_UP;
	facts_observe(w.cfg, &w.kv, &w.own, NULL, &f);
	ck_assert(!f.u[0].link_down); /* the VLAN exists: its own carrier counts */
	sim_find(&w.kv, "ens224.1000")->flags = IFF_UP;
	facts_observe(w.cfg, &w.kv, &w.own, NULL, &f);
	ck_assert(f.u[0].link_down);
	facts_free(&f);
	world_free(&w);
}
END_TEST

/* The ::feed token must be set before the WAN comes up and sees its first RA. */
START_TEST(token_before_up)
{
	struct world w;
	struct changes ch;
	struct ul_err e;
	int token_at = -1, vlan_add_at = -1, vlan_up_at = -1, parent_up_at = -1;

	world_init(&w, "conf/examples/transix-fixed-ipv4.conf");
	sim_link(&w.kv, "ens224", "", 0); /* present, down */
	plan_from_kernel(&w, NULL);
	ck_assert_int_eq(diff_build(&w.plan, &w.kv, &w.own, nft_state(&w), &ch, &e), 0);
	for (size_t i = 0; i < ch.n; i++) {
		const struct change *c = &ch.v[i];

		if (c->kind == CH_TOKEN)
			token_at = (int)i;
		if (c->kind == CH_LINK_ADD && !strcmp(c->link.name, "ens224.1000"))
			vlan_add_at = (int)i;
		if (c->kind == CH_LINK_UP && !strcmp(c->dev, "ens224.1000"))
			vlan_up_at = (int)i;
		if (c->kind == CH_LINK_UP && !strcmp(c->dev, "ens224"))
			parent_up_at = (int)i;
	}
	ck_assert_int_ge(vlan_add_at, 0);
	ck_assert_int_gt(token_at, vlan_add_at);
	ck_assert_int_gt(parent_up_at, token_at);
	ck_assert_int_gt(vlan_up_at, parent_up_at);
	for (size_t i = 0; i < ch.n; i++)
		sim_apply(&w.kv, &w.own, &w.nft, &ch.v[i]);
	changes_free(&ch);
	plan_free(&w.plan);
	ck_assert(sim_find(&w.kv, "ens224.1000")->flags & IFF_UP);
	ck_assert_ptr_nonnull(state_find(&w.own.ups, "ens224")); /* put back down by `down` */
	world_free(&w);
}
END_TEST

START_TEST(describe)
{
	struct change c = { .kind = CH_ROUTE_SET };
	struct strbuf sb = { 0 };

	strcpy(c.route.dev, "v6plus");
	c.route.table = 101;
	prefix_parse(&c.route.dst, "0.0.0.0/0", AF_INET, false);
	change_describe(&c, "uplinkd", PROTO, &sb);
	ck_assert_str_eq(sb.s, "ip route add default dev v6plus table 101 proto 117 metric 0");
	sb_free(&sb);
	c.kind = CH_SYSCTL;
	strcpy(c.sysctl.key, "net/ipv6/conf/ens224.1000/accept_ra");
	strcpy(c.sysctl.value, "2");
	strcpy(c.old, "1");
	change_describe(&c, "uplinkd", PROTO, &sb);
	ck_assert_str_eq(sb.s, "sysctl net.ipv6.conf.ens224/1000.accept_ra=2 (was 1)");
	sb_free(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("diff");
	TCase *tc = tcase_create("diff");

	tcase_add_test(tc, second_run_is_empty);
	tcase_add_test(tc, order_is_safe);
	tcase_add_test(tc, forwarding_waits_for_the_table);
	tcase_add_test(tc, prefix_change_moves_mape);
	tcase_add_test(tc, foreign_objects_are_not_touched);
	tcase_add_test(tc, teardown_skips_deleted_devices);
	tcase_add_test(tc, conflicts_are_refused);
	tcase_add_test(tc, failover_changes_only_routes_and_rules);
	tcase_add_test(tc, observe_pppoe_and_active_if);
	tcase_add_test(tc, observe_wan_prefers_token_and_fresh_prefix);
	tcase_add_test(tc, token_before_up);
	tcase_add_test(tc, describe);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
