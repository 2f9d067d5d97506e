/* The planner: configuration + observed facts -> desired kernel state.  No I/O. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#define RT_TABLE_MAIN 254

struct planner {
	const struct config *cfg;
	const struct facts *facts;
	struct plan *p;
	unsigned shift;          /* position of the fwmark mask's lowest bit */
	size_t *cls;             /* policy index -> class (policies sharing an uplink chain) */
	int err;                 /* first -ENOMEM */
};

static const struct uplink_facts no_facts;

static const struct uplink_facts *facts_of(struct planner *pl, const struct cfg_uplink *u)
{
	if (!pl->facts || u->index >= pl->facts->n)
		return &no_facts;
	return &pl->facts->u[u->index];
}

#define PUSH(pl, vec) ({ __typeof__((vec)->v) _x = VEC_PUSH(vec); if (!_x) (pl)->err = -ENOMEM; _x; })

static void state(struct plan_uplink *pu, enum plan_uplink_state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void state(struct plan_uplink *pu, enum plan_uplink_state s, const char *fmt, ...)
{
	va_list ap;

	pu->state = s;
	va_start(ap, fmt);
	vsnprintf(pu->reason, sizeof(pu->reason), fmt, ap);
	va_end(ap);
}

/* ---- object helpers ---- */

static struct plan_sysctl *add_sysctl(struct planner *pl, const char *path, const char *value)
{
	struct plan_sysctl *s;

	for (size_t i = 0; i < pl->p->sysctls.n; i++) {
		if (!strcmp(pl->p->sysctls.v[i].key, path))
			return NULL;
	}
	s = PUSH(pl, &pl->p->sysctls);
	if (!s)
		return NULL;
	strlcpy_ul(s->key, path, sizeof(s->key));
	strlcpy_ul(s->value, value, sizeof(s->value));
	return s;
}

static void add_dev_sysctl(struct planner *pl, const struct cfg_uplink *u, const char *family,
			   const char *dev, const char *name, const char *value)
{
	struct plan_sysctl *s;
	char path[96];

	snprintf(path, sizeof(path), "net/%s/conf/%s/%s", family, dev, name);
	s = add_sysctl(pl, path, value);
	if (s)
		s->uplink = u->name;
}

static void add_vlan(struct planner *pl, const struct cfg_uplink *u)
{
	struct plan_link *l;

	if (!u->vlan)
		return;
	for (size_t i = 0; i < pl->p->links.n; i++) {
		if (!strcmp(pl->p->links.v[i].name, u->lower))
			return; /* a PPPoE session may share the VLAN with the IPoE uplink */
	}
	l = PUSH(pl, &pl->p->links);
	if (!l)
		return;
	strcpy(l->name, u->lower);
	l->kind = PLAN_LINK_VLAN;
	strcpy(l->parent, u->device);
	l->vlan_id = u->vlan;
	l->mtu = u->type == CFG_PPPOE ? 0 : u->mtu; /* pppd sets the ppp interface's MTU */
	l->uplink = u->name;
}

static void push_dev(struct planner *pl, const struct cfg_uplink *u, const char *name, uint32_t mtu)
{
	struct plan_dev *d;

	for (size_t i = 0; i < pl->p->devs.n; i++) {
		d = &pl->p->devs.v[i];
		if (!strcmp(d->name, name)) {
			if (mtu)
				d->mtu = mtu;
			return;
		}
	}
	d = PUSH(pl, &pl->p->devs);
	if (!d)
		return;
	strlcpy_ul(d->name, name, sizeof(d->name));
	d->mtu = mtu;
	d->uplink = u->name;
}

/* The interfaces an uplink runs on must be up: its own, and a VLAN's parent. */
static void add_dev(struct planner *pl, const struct cfg_uplink *u, uint32_t mtu)
{
	if (u->vlan)
		push_dev(pl, u, u->device, 0);
	else
		push_dev(pl, u, u->lower, mtu);
}

static void add_tunnel(struct planner *pl, const struct cfg_uplink *u, const char *parent,
		       const struct in6_addr *local, const struct in6_addr *remote)
{
	struct plan_link *l = PUSH(pl, &pl->p->links);

	if (!l)
		return;
	strcpy(l->name, u->ifname);
	l->kind = PLAN_LINK_IP6TNL;
	strlcpy_ul(l->parent, parent, sizeof(l->parent));
	if (local) {
		l->has_local = true;
		l->local = *local;
	}
	l->remote = *remote;
	l->mtu = u->mtu;
	l->uplink = u->name;
}

static void add_addr(struct planner *pl, const struct cfg_uplink *u, const char *dev,
		     const struct ip_prefix *a, bool nodad)
{
	struct plan_addr *x = PUSH(pl, &pl->p->addrs);

	if (!x)
		return;
	strlcpy_ul(x->dev, dev, sizeof(x->dev));
	x->addr = *a;
	x->nodad = nodad && a->addr.family == AF_INET6;
	x->uplink = u->name;
}

static struct ip_prefix host_prefix4(struct in_addr a, unsigned len)
{
	struct ip_prefix p = { .addr = { .family = AF_INET }, .len = len };

	p.addr.v4 = a;
	return p;
}

static struct ip_prefix host_prefix6(const struct in6_addr *a, unsigned len)
{
	struct ip_prefix p = { .addr = { .family = AF_INET6 }, .len = len };

	p.addr.v6 = *a;
	return p;
}

static struct ip_prefix default_route(int family)
{
	struct ip_prefix p = { .addr = { .family = family }, .len = 0 };

	return p;
}

static void add_route(struct planner *pl, const struct cfg_uplink *u, uint32_t table, int family,
		      const struct ip_addr *gw, const char *dev, bool reachable)
{
	struct plan_route *r = PUSH(pl, &pl->p->routes);

	if (!r)
		return;
	r->table = table;
	r->dst = default_route(family);
	r->uplink = u->name;
	/* IPv6 turns metric 0 into 1024, the RA routes' metric; 1 stays apart from them. */
	r->metric = family == AF_INET6 ? 1 : 0;
	if (!reachable) {
		r->type = PLAN_RT_UNREACHABLE;
		return;
	}
	r->type = PLAN_RT_UNICAST;
	if (gw)
		r->gw = *gw;
	strlcpy_ul(r->dev, dev, sizeof(r->dev));
}

static struct plan_rule *add_rule(struct planner *pl, int family, uint32_t prio_offset,
				  uint32_t table, const char *comment)
{
	struct plan_rule *r = PUSH(pl, &pl->p->rules);

	if (!r)
		return NULL;
	r->family = family;
	r->priority = pl->cfg->rule_priority + prio_offset;
	r->action = PLAN_RULE_LOOKUP;
	r->table = table;
	r->suppress_prefixlen = -1;
	strlcpy_ul(r->comment, comment, sizeof(r->comment));
	return r;
}

static void add_source_rule(struct planner *pl, const struct cfg_uplink *u,
			    const struct ip_prefix *src)
{
	char c[64];
	struct plan_rule *r;

	snprintf(c, sizeof(c), "from %s's address", u->name);
	r = add_rule(pl, src->addr.family, PLAN_PRIO_SOURCE + u->index, u->table, c);
	if (!r)
		return;
	r->uplink = u->name;
	r->has_src = true;
	r->src = *src;
	prefix_mask(&r->src);
}

/*
 * A process to run for u.  Not while the operator or the pair holds the uplink down: pppd
 * hangs up, a delegated prefix is given back.
 */
static struct plan_proc *add_proc(struct planner *pl, const struct cfg_uplink *u,
				  enum plan_proc_kind kind, const char *dev, const char *ifname)
{
	struct plan_proc *pr;

	if (!plan_runs_procs(u, facts_of(pl, u)))
		return NULL;
	pr = PUSH(pl, &pl->p->procs);
	if (!pr)
		return NULL;
	pr->kind = kind;
	pr->uplink = u->name;
	strlcpy_ul(pr->dev, dev, sizeof(pr->dev));
	if (ifname)
		strlcpy_ul(pr->ifname, ifname, sizeof(pr->ifname));
	return pr;
}

bool plan_runs_procs(const struct cfg_uplink *u, const struct uplink_facts *f)
{
	return !u->disabled && !f->admin_down && !f->inactive;
}

const struct plan_proc *plan_proc_of(const struct plan *p, enum plan_proc_kind kind, const char *uplink)
{
	for (size_t i = 0; i < p->procs.n; i++) {
		if (p->procs.v[i].kind == kind && !strcmp(p->procs.v[i].uplink, uplink))
			return &p->procs.v[i];
	}
	return NULL;
}

/* ---- per uplink kind ---- */

/*
 * A delegated prefix fit for use, or NULL: a DHCPv6 server can delegate anything, and the
 * planner trusts no caller to have checked it.
 */
static const struct ip_prefix *pd_prefix(struct planner *pl, const struct cfg_uplink *u)
{
	const struct uplink_facts *f = facts_of(pl, u);

	return f->has_prefix && !prefix_pd_problem(&f->prefix) ? &f->prefix : NULL;
}

static bool ipoe_prefix(struct planner *pl, const struct cfg_uplink *u, struct ip_prefix *out)
{
	const struct uplink_facts *f = facts_of(pl, u);

	if (u->prefix_source == CFG_PREFIX_STATIC) {
		*out = u->prefix;
		return true;
	}
	if (u->prefix_source == CFG_PREFIX_DHCPV6_PD) {
		if (!pd_prefix(pl, u))
			return false;
		*out = *pd_prefix(pl, u);
		prefix_mask(out);
		return true;
	}
	if (f->has_prefix) {
		*out = f->prefix;
		return true;
	}
	return false;
}

/* The IPv6 address an ipoe WAN has (prefix + token, or as observed). */
static bool ipoe_local6(struct planner *pl, const struct cfg_uplink *u, struct in6_addr *out)
{
	const struct uplink_facts *f = facts_of(pl, u);
	struct ip_prefix pfx;

	if (!ipoe_prefix(pl, u, &pfx)) {
		if (!f->has_addr6)
			return false;
		*out = f->addr6;
		return true;
	}
	if (!u->has_token) {
		if (f->has_addr6) {
			*out = f->addr6;
			return true;
		}
		return false;
	}
	*out = pfx.addr.v6;
	memcpy(out->s6_addr + 8, u->token.s6_addr + 8, 8);
	return true;
}

/*
 * A PD uplink without a prefix it can use waits, and says why (the client's last refusal, or
 * what is wrong with the prefix), unless it carries IPv4 too: that must not stop for it.
 */
static void pd_wait(struct planner *pl, const struct cfg_uplink *u, struct plan_uplink *pu)
{
	const struct uplink_facts *f = facts_of(pl, u);
	char buf[PREFIX_STRLEN];

	if (pd_prefix(pl, u) || cfg_uplink_has_ipv4(u))
		return;
	if (f->has_prefix)
		state(pu, PLAN_WAITING, "delegated prefix %s not used: %s", prefix_fmt(&f->prefix, buf),
		      prefix_pd_problem(&f->prefix));
	else if (f->pd_error[0])
		state(pu, PLAN_WAITING, "no delegated prefix: %s", f->pd_error);
	else
		return;
	pu->ready = false;
}

/*
 * RFC 7084 WPD-5: packets to the parts of the delegated prefix no LAN uses are refused here
 * rather than sent back to the ISP, which would return them until their hop limit runs out.
 * In the main table, which the first rule consults; the LAN's /64 routes are more specific,
 * and the highest metric lets any route the operator adds for the prefix win.
 */
static void add_pd_unreachable(struct planner *pl, const struct cfg_uplink *u, const struct ip_prefix *pd)
{
	struct plan_route *r = PUSH(pl, &pl->p->routes);

	if (!r)
		return;
	r->table = RT_TABLE_MAIN;
	r->dst = *pd;
	r->type = PLAN_RT_UNREACHABLE;
	r->metric = PLAN_PD_UNREACHABLE_METRIC;
	r->uplink = u->name;
}

/* The pd-lan address: the pd-subnet'th /64 of the delegated prefix + pd-iid. */
static void plan_pd_lan(struct planner *pl, const struct cfg_uplink *u, const struct ip_prefix *pd,
			struct plan_uplink *pu)
{
	struct ip_prefix a = *pd;
	unsigned room;

	add_pd_unreachable(pl, u, pd);
	if (!u->pd_lan[0])
		return;
	room = PD_MAX_LEN - pd->len; /* pd_prefix() keeps len in PD_MIN_LEN..PD_MAX_LEN */
	if ((room < 32 && u->pd_subnet >> room) || addr_set_bits(a.addr.b, pd->len, room, u->pd_subnet)) {
		char buf[PREFIX_STRLEN];

		state(pu, PLAN_DOWN, "pd-subnet %u does not fit in the delegated %s", u->pd_subnet,
		      prefix_fmt(pd, buf));
		return;
	}
	memcpy(a.addr.b + 8, u->pd_iid.s6_addr + 8, 8);
	a.len = 64;
	add_addr(pl, u, u->pd_lan, &a, true);
	add_sysctl(pl, "net/ipv6/conf/all/forwarding", "1");
}

/* Its table routes through it: ready and not withdrawn by the administrator or active-if. */
static bool routed(struct planner *pl, const struct cfg_uplink *u, const struct plan_uplink *pu)
{
	const struct uplink_facts *f = facts_of(pl, u);

	return pu->ready && !f->admin_down && !f->inactive;
}

static bool uplink_link_ok(struct planner *pl, const struct cfg_uplink *u, struct plan_uplink *pu)
{
	const struct uplink_facts *f = facts_of(pl, u);

	if (f->link_down) {
		state(pu, PLAN_DOWN, "link down");
		return false;
	}
	return true;
}

static void plan_ipoe(struct planner *pl, const struct cfg_uplink *u, struct plan_uplink *pu)
{
	const struct uplink_facts *f = facts_of(pl, u);
	struct ip_prefix pfx;

	add_vlan(pl, u);
	add_dev(pl, u, u->mtu);
	add_dev_sysctl(pl, u, "ipv6", u->lower, "accept_ra", "2");
	if (u->has_token) {
		struct plan_token *t = PUSH(pl, &pl->p->tokens);

		if (t) {
			strcpy(t->dev, u->lower);
			t->token = u->token;
			t->uplink = u->name;
		}
	}
	if (u->prefix_source == CFG_PREFIX_STATIC) {
		struct ip_prefix a = u->prefix;

		memcpy(a.addr.b + 8, u->token.s6_addr + 8, 8);
		a.len = 64;
		add_addr(pl, u, u->lower, &a, false);
	}
	if (u->prefix_source == CFG_PREFIX_DHCPV6_PD)
		add_proc(pl, u, PLAN_PROC_DHCPV6_PD, u->lower, NULL);
	pu->has_local6 = ipoe_local6(pl, u, &pu->local6);
	pu->ready = uplink_link_ok(pl, u, pu);
	if (pu->ready && u->prefix_source == CFG_PREFIX_DHCPV6_PD)
		pd_wait(pl, u, pu);
	if (ipoe_prefix(pl, u, &pfx)) {
		if (u->prefix_source == CFG_PREFIX_DHCPV6_PD)
			plan_pd_lan(pl, u, &pfx, pu);
		if (routed(pl, u, pu) && f->has_gw6)
			add_source_rule(pl, u, &pfx);
	}
	/*
	 * Without a learned router the table stays empty and marked traffic falls through to
	 * the main table, where the kernel's RA default route leads out of this same WAN.
	 */
	if (routed(pl, u, pu) && f->has_gw6) {
		struct ip_addr gw = addr_v6(&f->gw6);

		add_route(pl, u, u->table, AF_INET6, &gw, u->lower, true);
	} else if (!routed(pl, u, pu)) {
		add_route(pl, u, u->table, AF_INET6, NULL, NULL, false);
	}
}

static void plan_pppoe(struct planner *pl, const struct cfg_uplink *u, struct plan_uplink *pu)
{
	const struct uplink_facts *f = facts_of(pl, u);

	add_vlan(pl, u);
	add_dev(pl, u, 0);
	add_proc(pl, u, PLAN_PROC_PPPD, u->lower, u->ifname);
	if (u->dhcpv6_pd)
		add_proc(pl, u, PLAN_PROC_DHCPV6_PD, u->ifname, NULL);
	pu->ready = uplink_link_ok(pl, u, pu) && ((u->ipv4 && f->has_local4) || (!u->ipv4 && f->has_gw6));
	if (!pu->ready && !f->link_down)
		state(pu, PLAN_WAITING, "no PPP session yet");
	if (pu->ready && u->ipv6) {
		add_dev_sysctl(pl, u, "ipv6", u->ifname, "accept_ra", "2");
		add_sysctl(pl, "net/ipv6/conf/all/forwarding", "1");
	}
	if (u->ipv4) {
		add_route(pl, u, u->table, AF_INET, NULL, u->ifname, routed(pl, u, pu));
		if (pu->ready) {
			pu->has_ipv4 = true;
			pu->ipv4 = f->local4;
		}
		if (routed(pl, u, pu)) {
			struct ip_prefix src = host_prefix4(f->local4, 32);

			add_source_rule(pl, u, &src);
		}
	}
	if (u->ipv6) {
		const struct ip_prefix *pd = u->dhcpv6_pd ? pd_prefix(pl, u) : NULL;

		if (pu->ready && u->dhcpv6_pd)
			pd_wait(pl, u, pu);
		add_route(pl, u, u->table, AF_INET6, NULL, u->ifname, routed(pl, u, pu));
		if (pd) {
			struct ip_prefix pfx = *pd;

			prefix_mask(&pfx);
			if (routed(pl, u, pu))
				add_source_rule(pl, u, &pfx);
			plan_pd_lan(pl, u, &pfx, pu);
		}
	}
}

/* Shared by the tunnels over an ipoe uplink: is the underlay there? */
static bool over_ok(struct planner *pl, const struct cfg_uplink *u, struct plan_uplink *pu)
{
	const struct plan_uplink *po = &pl->p->uplinks[u->over_uplink->index];

	if (po->state == PLAN_DISABLED) {
		state(pu, PLAN_DOWN, "runs over [uplink %s], which is disabled", u->over_uplink->name);
		return false;
	}
	if (po->excluded) {
		state(pu, PLAN_WAITING, "[uplink %s] below it is %s (%s)", u->over_uplink->name,
		      plan_state_name(po->state), po->reason);
		return false;
	}
	if (facts_of(pl, u->over_uplink)->link_down) {
		state(pu, PLAN_DOWN, "[uplink %s] below it is down", u->over_uplink->name);
		return false;
	}
	return true;
}

static void plan_dslite(struct planner *pl, const struct cfg_uplink *u, struct plan_uplink *pu)
{
	const struct uplink_facts *f = facts_of(pl, u);
	const struct plan_uplink *po = &pl->p->uplinks[u->over_uplink->index];
	const struct in6_addr *aftr = u->has_aftr_addr ? &u->aftr : f->has_aftr ? &f->aftr : NULL;
	struct ip_prefix b4 = host_prefix4(u->b4, 29);

	pu->has_ipv4 = true;
	pu->ipv4 = u->b4;
	if (po->has_local6) {
		pu->has_local6 = true;
		pu->local6 = po->local6;
	}
	if (!aftr) {
		state(pu, PLAN_WAITING, "AFTR %s not resolved%s%s", u->aftr_name, f->aftr_error[0] ? ": " : " yet",
		      f->aftr_error);
	} else {
		add_tunnel(pl, u, u->over_uplink->lower, pu->has_local6 ? &pu->local6 : NULL, aftr);
		add_addr(pl, u, u->ifname, &b4, false);
		pu->ready = over_ok(pl, u, pu) && uplink_link_ok(pl, u, pu);
	}
	add_route(pl, u, u->table, AF_INET, NULL, u->ifname, routed(pl, u, pu));
	if (routed(pl, u, pu)) {
		struct ip_prefix src = host_prefix4(u->b4, 32);

		add_source_rule(pl, u, &src);
	}
}

static void plan_ipip6(struct planner *pl, const struct cfg_uplink *u, struct plan_uplink *pu)
{
	const struct plan_uplink *po = &pl->p->uplinks[u->over_uplink->index];
	struct ip_prefix a = host_prefix4(u->fixed_ipv4, 32);

	pu->has_ipv4 = true;
	pu->ipv4 = u->fixed_ipv4;
	if (!po->has_local6) {
		state(pu, PLAN_WAITING, "no WAN address on [uplink %s] yet", u->over_uplink->name);
	} else {
		pu->has_local6 = true;
		pu->local6 = po->local6;
		add_tunnel(pl, u, u->over_uplink->lower, &pu->local6, &u->remote);
		add_addr(pl, u, u->ifname, &a, false);
		pu->ready = over_ok(pl, u, pu) && uplink_link_ok(pl, u, pu);
	}
	add_route(pl, u, u->table, AF_INET, NULL, u->ifname, routed(pl, u, pu));
	if (routed(pl, u, pu))
		add_source_rule(pl, u, &a);
}

/* 192.0.0.4: in the IPv4 Service Continuity Prefix (RFC 7335), never seen outside the host */
static struct in_addr mape_local4(void)
{
	struct in_addr a = { htonl(0xc0000004) };

	return a;
}

static void plan_mape(struct planner *pl, const struct cfg_uplink *u, struct plan_uplink *pu)
{
	struct mape_rule rule = u->rule;
	struct ip_prefix pfx, a;
	struct ul_err err;

	if (pl->p->uplinks[u->over_uplink->index].excluded && !over_ok(pl, u, pu))
		goto out;
	if (!ipoe_prefix(pl, u->over_uplink, &pfx)) {
		state(pu, PLAN_WAITING, "no IPv6 prefix on [uplink %s] yet", u->over_uplink->name);
		goto out;
	}
	if (u->rule_auto) {
		struct mape_rule builtin;

		if (mape_rule_lookup(&pfx, &builtin, &pu->mape_service, &err)) {
			state(pu, PLAN_DOWN, "%s", err.msg);
			goto out;
		}
		builtin.iid = u->rule.iid;
		builtin.psid_len = u->rule.psid_len;
		if (u->rule.has_br) {
			builtin.has_br = true;
			builtin.br = u->rule.br;
		}
		rule = builtin;
	}
	if (mape_compute(&rule, &pfx, &pu->mape, &err)) {
		state(pu, PLAN_DOWN, "MAP-E: %s", err.msg);
		goto out;
	}
	if (!rule.has_br) {
		state(pu, PLAN_DOWN, "MAP-E: the rule has no BR address; set br");
		goto out;
	}
	pu->has_mape = true;
	pu->has_ipv4 = true;
	pu->ipv4 = pu->mape.ipv4;
	pu->has_local6 = true;
	pu->local6 = pu->mape.ce;
	a = host_prefix6(&pu->mape.ce, 128);
	add_addr(pl, u, u->over_uplink->lower, &a, true);
	add_tunnel(pl, u, u->over_uplink->lower, &pu->mape.ce, &rule.br);
	/*
	 * Not the shared IPv4: the kernel would deliver a LAN host's packet to another CE's port of
	 * it to the router itself.  The tunnel's address is a host-internal one (RFC 7335), SNAT
	 * maps the router's own traffic to the shared IPv4 like the LAN's and DNAT maps inbound
	 * traffic to our ports back to it (plan_mape_nat).  No source rule: replies follow the
	 * connection's mark.
	 */
	a = host_prefix4(mape_local4(), 32);
	add_addr(pl, u, u->ifname, &a, false);
	pu->ready = over_ok(pl, u, pu) && uplink_link_ok(pl, u, pu);
out:
	add_route(pl, u, u->table, AF_INET, NULL, u->ifname, routed(pl, u, pu));
}

static void plan_static(struct planner *pl, const struct cfg_uplink *u, struct plan_uplink *pu)
{
	add_vlan(pl, u);
	add_dev(pl, u, u->mtu);
	if (u->ipv4) {
		add_addr(pl, u, u->lower, &u->addr4, false);
		pu->has_ipv4 = true;
		pu->ipv4 = u->addr4.addr.v4;
	}
	if (u->ipv6) {
		add_addr(pl, u, u->lower, &u->addr6, true);
		pu->has_local6 = true;
		pu->local6 = u->addr6.addr.v6;
		add_dev_sysctl(pl, u, "ipv6", u->lower, "accept_ra", "0");
	}
	pu->ready = uplink_link_ok(pl, u, pu);
	if (u->ipv4) {
		struct ip_prefix gw = { .addr = u->gateway4, .len = 32 };

		add_route(pl, u, u->table, AF_INET, &u->gateway4, u->lower, routed(pl, u, pu));
		/* a /32 (or any address whose subnet lacks the gateway): the gateway is on the wire */
		if (!prefix_contains(&u->addr4, &gw) && pl->p->routes.n)
			pl->p->routes.v[pl->p->routes.n - 1].onlink = routed(pl, u, pu);
		if (routed(pl, u, pu)) {
			struct ip_prefix src = host_prefix4(u->addr4.addr.v4, 32);

			add_source_rule(pl, u, &src);
		}
	}
	if (u->ipv6) {
		add_route(pl, u, u->table, AF_INET6, &u->gateway6, u->lower, routed(pl, u, pu));
		if (routed(pl, u, pu))
			add_source_rule(pl, u, &u->addr6);
	}
}

/* ---- choosing uplinks ---- */

static bool better(const struct cfg_uplink *a, const struct cfg_uplink *b)
{
	if (!b)
		return true;
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->index < b->index;
}

/* The route an uplink's own table holds for a family, copied into the main table. */
static void add_main_default(struct planner *pl, const struct cfg_uplink *u, int family)
{
	for (size_t i = 0; i < pl->p->routes.n; i++) {
		struct plan_route r = pl->p->routes.v[i];

		if (r.table != u->table || r.dst.addr.family != family || r.type != PLAN_RT_UNICAST)
			continue;
		r.table = RT_TABLE_MAIN;
		struct plan_route *n = PUSH(pl, &pl->p->routes);
		if (n)
			*n = r;
		return;
	}
}

/* Whether traffic that uplink i would carry has another usable uplink to take it. */
static bool has_alternative(struct planner *pl, size_t i)
{
	const struct config *cfg = pl->cfg;
	const struct cfg_uplink *u = &cfg->uplinks[i];

	for (int fam = 0; fam < 2 && u->has_priority; fam++) {
		bool carries = fam ? cfg_uplink_has_ipv6(u) : cfg_uplink_has_ipv4(u);
		bool other = false;

		for (size_t j = 0; carries && j < cfg->n_uplinks && !other; j++) {
			const struct cfg_uplink *v = &cfg->uplinks[j];

			other = j != i && pl->p->uplinks[j].usable && v->has_priority &&
				(fam ? cfg_uplink_has_ipv6(v) : cfg_uplink_has_ipv4(v));
		}
		if (carries && !other)
			return false;
	}
	for (size_t k = 0; k < cfg->n_policies; k++) {
		const struct cfg_policy *p = &cfg->policies[k];
		bool member = p->uplink->index == i, other = false;

		for (size_t f = 0; f < p->n_fallback; f++)
			member |= p->fallback[f]->index == i;
		if (!member)
			continue;
		other = p->uplink->index != i && pl->p->uplinks[p->uplink->index].usable;
		for (size_t f = 0; f < p->n_fallback && !other; f++)
			other = p->fallback[f]->index != i && pl->p->uplinks[p->fallback[f]->index].usable;
		if (!other)
			return false;
	}
	return true;
}

/*
 * Uplinks in hold-down stay out of use only while another usable uplink carries their
 * traffic: the best of them is released first when nothing else is left.
 */
static void apply_holds(struct planner *pl)
{
	const struct config *cfg = pl->cfg;
	size_t n = cfg->n_uplinks;
	bool released = true;

	for (size_t i = 0; i < n; i++) {
		struct plan_uplink *pu = &pl->p->uplinks[i];

		pu->held = pu->usable && facts_of(pl, &cfg->uplinks[i])->held;
		if (pu->held)
			pu->usable = false;
	}
	while (released) {
		const struct cfg_uplink *best = NULL;

		released = false;
		for (size_t i = 0; i < n; i++) {
			const struct cfg_uplink *u = &cfg->uplinks[i];

			if (pl->p->uplinks[i].held && !has_alternative(pl, i) &&
			    (!best || u->priority < best->priority))
				best = u;
		}
		if (best) {
			pl->p->uplinks[best->index].held = false;
			pl->p->uplinks[best->index].usable = true;
			state(&pl->p->uplinks[best->index], PLAN_UP,
			      "up (hold-down waived: no other uplink can carry its traffic)");
			released = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (pl->p->uplinks[i].held)
			state(&pl->p->uplinks[i], PLAN_DOWN, "held down: recovered less than hold-down ago");
	}
}

static void choose_defaults(struct planner *pl)
{
	const struct config *cfg = pl->cfg;
	const struct cfg_uplink *best4 = NULL, *best6 = NULL;

	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];

		if (!pl->p->uplinks[i].usable || !u->has_priority)
			continue;
		if (cfg_uplink_has_ipv4(u) && better(u, best4))
			best4 = u;
		if (cfg_uplink_has_ipv6(u) && better(u, best6))
			best6 = u;
	}
	pl->p->default4 = best4;
	pl->p->default6 = best6;
	if (best4)
		add_main_default(pl, best4, AF_INET);
	/* An ipoe WAN's default route is the kernel's, from the RA. */
	if (best6 && best6->type != CFG_IPOE)
		add_main_default(pl, best6, AF_INET6);
}

static uint32_t mark_of(const struct planner *pl, unsigned id)
{
	return (uint32_t)id << pl->shift;
}

/* Policies with the same uplink and fallback chain share one mark: a "class". */
static int policy_classes(struct planner *pl)
{
	const struct config *cfg = pl->cfg;
	size_t next = 0;

	pl->cls = calloc(cfg->n_policies ? cfg->n_policies : 1, sizeof(*pl->cls));
	if (!pl->cls)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_policies; i++) {
		const struct cfg_policy *p = &cfg->policies[i];
		size_t j;

		for (j = 0; j < i; j++) {
			const struct cfg_policy *q = &cfg->policies[j];
			bool same = q->uplink == p->uplink && q->n_fallback == p->n_fallback &&
				    q->fallback_none == p->fallback_none;

			for (size_t k = 0; same && k < p->n_fallback; k++)
				same = q->fallback[k] == p->fallback[k];
			if (same)
				break;
		}
		pl->cls[i] = j < i ? pl->cls[j] : next++;
	}
	return 0;
}

static bool class_first(const struct planner *pl, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (pl->cls[j] == pl->cls[i])
			return false;
	}
	return true;
}

static void class_mark(struct planner *pl, struct plan_rule *r, size_t cls, bool prohibit)
{
	if (!r)
		return;
	r->fwmark = mark_of(pl, pl->cfg->n_uplinks + 1 + cls);
	r->fwmask = pl->cfg->fwmark_mask;
	if (prohibit) {
		r->action = PLAN_RULE_PROHIBIT;
		r->table = 0;
	}
}

static void plan_rules(struct planner *pl)
{
	const struct config *cfg = pl->cfg;
	bool any4 = false, any6 = false;

	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		any4 |= cfg_uplink_has_ipv4(&cfg->uplinks[i]);
		any6 |= cfg_uplink_has_ipv6(&cfg->uplinks[i]);
	}
	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		struct plan_rule *r;

		if (!(fam ? any6 : any4))
			continue;
		r = add_rule(pl, family, PLAN_PRIO_SUPPRESS, RT_TABLE_MAIN,
			     "main table first, except its default route");
		if (r)
			r->suppress_prefixlen = 0;
	}
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];
		char c[64];

		if (pl->p->uplinks[i].excluded)
			continue;
		snprintf(c, sizeof(c), "marked for %s", u->name);
		for (int fam = 0; fam < 2; fam++) {
			struct plan_rule *r;

			if (!(fam ? cfg_uplink_has_ipv6(u) : cfg_uplink_has_ipv4(u)))
				continue;
			r = add_rule(pl, fam ? AF_INET6 : AF_INET, PLAN_PRIO_UPLINK + i, u->table, c);
			if (r) {
				r->fwmark = pl->p->uplinks[i].mark;
				r->fwmask = cfg->fwmark_mask;
				r->uplink = u->name;
			}
		}
	}
	for (size_t i = 0; i < cfg->n_policies; i++) {
		const struct cfg_policy *p = &cfg->policies[i];
		const struct cfg_uplink *target = NULL;
		size_t cls = pl->cls[i];
		char c[64];

		if (!class_first(pl, i))
			continue;
		if (pl->p->uplinks[p->uplink->index].usable)
			target = p->uplink;
		for (size_t k = 0; !target && k < p->n_fallback; k++) {
			if (pl->p->uplinks[p->fallback[k]->index].usable)
				target = p->fallback[k];
		}
		for (int fam = 0; fam < 2; fam++) {
			int family = fam ? AF_INET6 : AF_INET;
			bool carries = fam ? cfg_uplink_has_ipv6(p->uplink) : cfg_uplink_has_ipv4(p->uplink);
			struct plan_rule *r;

			if (!carries)
				continue;
			if (target)
				snprintf(c, sizeof(c), "policy %s via %s", p->name, target->name);
			else if (p->fallback_none)
				snprintf(c, sizeof(c), "policy %s: no uplink, fail closed", p->name);
			else
				snprintf(c, sizeof(c), "policy %s: no uplink, main table", p->name);
			r = add_rule(pl, family, p->fallback_none ? PLAN_PRIO_CLOSED + 2 * cls : PLAN_PRIO_CLASS + cls,
				     target ? target->table : RT_TABLE_MAIN, c);
			class_mark(pl, r, cls, !target && p->fallback_none);
			if (!p->fallback_none)
				continue;
			/* whatever the table lacks (a route the kernel removed with its device) stops here */
			snprintf(c, sizeof(c), "policy %s: fail closed", p->name);
			r = add_rule(pl, family, PLAN_PRIO_CLOSED + 2 * cls + 1, 0, c);
			class_mark(pl, r, cls, true);
		}
	}
}

/* ---- nftables ---- */

static void set_name(char *buf, size_t len, const char *prefix, const char *name, const char *suffix)
{
	size_t off = (size_t)snprintf(buf, len, "%s", prefix);

	for (const char *p = name; *p && off + 1 < len; p++)
		buf[off++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_');
	buf[off < len ? off : len - 1] = '\0';
	strncat(buf, suffix, len - strlen(buf) - 1);
}

static const char *policy_set(struct planner *pl, const struct cfg_policy *p, const char *what,
			      int family, const struct ip_prefix *v, size_t n, char *name, size_t len)
{
	struct nftp_set *s;
	size_t count = 0;
	char suffix[16];

	for (size_t i = 0; i < n; i++)
		count += v[i].addr.family == family;
	if (!count)
		return NULL;
	snprintf(suffix, sizeof(suffix), "_%s%d", what, family == AF_INET ? 4 : 6);
	set_name(name, len, "pol_", p->name, suffix);
	if (nftp_find_set(&pl->p->nft, name)) {
		/* names that sanitise alike: keep them apart by index */
		snprintf(suffix, sizeof(suffix), "_%u_%s%d", p->index, what, family == AF_INET ? 4 : 6);
		set_name(name, len, "pol_", p->name, suffix);
	}
	s = nftp_add_set(&pl->p->nft, name, family == AF_INET ? NFTP_SET_IPV4 : NFTP_SET_IPV6);
	if (!s) {
		pl->err = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].addr.family == family && nftp_set_add_prefix(s, &v[i]))
			pl->err = -ENOMEM;
	}
	if (nftp_set_normalize(s))
		pl->err = -ENOMEM;
	return name;
}

#define MATCH(pl, r, k) ({ struct nftp_match *_m = nftp_rule_match(r, k); if (!_m) (pl)->err = -ENOMEM; _m; })
#define STMT(pl, r, k) ({ struct nftp_stmt *_s = nftp_rule_stmt(r, k); if (!_s) (pl)->err = -ENOMEM; _s; })

static struct nftp_rule *rule(struct planner *pl, const char *chain, const char *comment)
{
	struct nftp_chain *c = nftp_find_chain(&pl->p->nft, chain);
	struct nftp_rule *r = c ? nftp_add_rule(c, comment) : NULL;

	if (!r)
		pl->err = -ENOMEM;
	return r;
}

static void match_name(struct planner *pl, struct nftp_rule *r, enum nftp_match_kind k, const char *name)
{
	struct nftp_match *m = MATCH(pl, r, k);

	if (m)
		strlcpy_ul(m->name, name, sizeof(m->name));
}

static void match_protos(struct planner *pl, struct nftp_rule *r, enum nftp_match_kind k,
			 const uint8_t *protos, size_t n)
{
	struct nftp_match *m = MATCH(pl, r, k);

	if (!m)
		return;
	memcpy(m->protos, protos, n);
	m->n = n;
}

static void match_family(struct planner *pl, struct nftp_rule *r, int family)
{
	struct nftp_match *m = MATCH(pl, r, NFTP_M_NFPROTO);

	if (m)
		m->family = family;
}

static void stmt_mark(struct planner *pl, struct nftp_rule *r, enum nftp_stmt_kind k, uint32_t value)
{
	struct nftp_stmt *s = STMT(pl, r, k);

	if (s) {
		s->value = value;
		s->mask = pl->cfg->fwmark_mask;
	}
}

/*
 * A chain that fails closed never consults the main table (PLAN_PRIO_CLOSED), so its mark
 * must not reach traffic the LAN keeps to itself: to another LAN interface's subnet, or a
 * route the operator has through a LAN router.  Such destinations stay unmarked; the lookup
 * (without a mark) finds where the main routing sends them.  Only with such a chain: it costs
 * a route lookup per LAN packet.
 */
static void plan_lan_exempt(struct planner *pl)
{
	const struct config *cfg = pl->cfg;
	struct nftp_rule *r;
	bool closed = false;

	for (size_t i = 0; i < cfg->n_policies; i++)
		closed |= cfg->policies[i].fallback_none;
	if (!closed || !cfg->n_lan)
		return;
	r = rule(pl, "prerouting", "to the LAN: no policy");
	if (!r)
		return;
	match_name(pl, r, NFTP_M_IIFNAME_IN, "lan_ifs");
	match_name(pl, r, NFTP_M_FIB_OIF_IN, "lan_ifs");
	STMT(pl, r, NFTP_S_RETURN);
}

static void plan_policy_marks(struct planner *pl)
{
	const struct config *cfg = pl->cfg;

	for (size_t i = 0; i < cfg->n_policies; i++) {
		const struct cfg_policy *p = &cfg->policies[i];
		size_t cls = pl->cls[i];
		uint32_t mark = mark_of(pl, cfg->n_uplinks + 1 + cls);
		char comment[96];

		snprintf(comment, sizeof(comment), "policy %s", p->name);
		for (int fam = 0; fam < 2; fam++) {
			int family = fam ? AF_INET6 : AF_INET;
			bool carries = fam ? cfg_uplink_has_ipv6(p->uplink) : cfg_uplink_has_ipv4(p->uplink);
			char src[64], dst[64];
			const char *sname, *dname;
			struct nftp_rule *r;

			if (!carries)
				continue;
			sname = policy_set(pl, p, "src", family, p->from, p->n_from, src, sizeof(src));
			dname = policy_set(pl, p, "dst", family, p->to, p->n_to, dst, sizeof(dst));
			/* a policy that lists only the other family's addresses does not apply here */
			if ((p->n_from && !sname) || (p->n_to && !dname))
				continue;
			r = rule(pl, "prerouting", comment);
			if (!r)
				return;
			match_name(pl, r, NFTP_M_IIFNAME_IN, "lan_ifs");
			match_family(pl, r, family);
			if (sname) {
				struct nftp_match *m = MATCH(pl, r, NFTP_M_SADDR_IN);
				if (m) {
					strcpy(m->name, sname);
					m->family = family;
				}
			}
			if (dname) {
				struct nftp_match *m = MATCH(pl, r, NFTP_M_DADDR_IN);
				if (m) {
					strcpy(m->name, dname);
					m->family = family;
				}
			}
			if (p->proto_tcp || p->proto_udp || p->proto_icmp || p->n_dport) {
				uint8_t protos[4];
				size_t n = 0;
				bool any = !p->proto_tcp && !p->proto_udp && !p->proto_icmp;

				if (p->proto_tcp || any)
					protos[n++] = IPPROTO_TCP;
				if (p->proto_udp || any)
					protos[n++] = IPPROTO_UDP;
				if (p->proto_icmp && !p->n_dport)
					protos[n++] = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
				match_protos(pl, r, NFTP_M_L4PROTO, protos, n);
			}
			if (p->n_dport) {
				struct nftp_match *m = MATCH(pl, r, NFTP_M_DPORT_IN);

				if (m) {
					for (size_t k = 0; k < p->n_dport && k < NFTP_MAX_PORTS; k++) {
						m->ports[k].lo = p->dport[k].lo;
						m->ports[k].hi = p->dport[k].hi;
					}
					m->n = p->n_dport;
				}
			}
			stmt_mark(pl, r, NFTP_S_MARK_SET, mark);
			STMT(pl, r, NFTP_S_RETURN);
		}
	}
}

static void plan_mape_nat(struct planner *pl, const struct cfg_uplink *u, const struct plan_uplink *pu)
{
	static const uint8_t others[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	static const uint8_t tcpudp[] = { IPPROTO_TCP, IPPROTO_UDP };
	static const uint8_t icmp[] = { IPPROTO_ICMP };
	unsigned sets = pu->mape.port_sets;
	char prefix[48], name[64], comment[96];
	struct nftp_rule *r;
	struct nftp_stmt *s;

	snprintf(comment, sizeof(comment), "%s: MAP-E has no port for other protocols", u->name);
	r = rule(pl, "postrouting", comment);
	if (!r)
		return;
	match_name(pl, r, NFTP_M_OIFNAME, u->ifname);
	match_family(pl, r, AF_INET);
	match_protos(pl, r, NFTP_M_L4PROTO_NOT, others, ARRAY_SIZE(others));
	STMT(pl, r, NFTP_S_COUNTER);
	STMT(pl, r, NFTP_S_DROP);

	set_name(prefix, sizeof(prefix), "mape_", u->name, "");
	snprintf(comment, sizeof(comment), "%s: spread new flows over %u port sets", u->name, sets);
	r = rule(pl, "postrouting", comment);
	if (!r)
		return;
	match_name(pl, r, NFTP_M_OIFNAME, u->ifname);
	match_family(pl, r, AF_INET);
	s = STMT(pl, r, NFTP_S_NUMGEN_VMAP);
	if (s) {
		s->n = sets;
		strlcpy_ul(s->chain, prefix, sizeof(s->chain));
	}
	for (unsigned i = 0; i < sets; i++) {
		uint16_t lo, hi;

		mape_port_range(&pu->mape, i, &lo, &hi);
		if (lo == 0)
			lo = 1; /* PSID offset 0 puts port 0 in PSID 0's set; it is not a usable port */
		snprintf(name, sizeof(name), "%s_%u", prefix, i);
		if (!nftp_add_chain(&pl->p->nft, name, NFTP_HOOK_NONE, NFTP_CHAIN_FILTER, 0)) {
			pl->err = -ENOMEM;
			return;
		}
		for (int k = 0; k < 2; k++) {
			r = rule(pl, name, NULL);
			if (!r)
				return;
			if (k == 0)
				match_protos(pl, r, NFTP_M_L4PROTO, tcpudp, 2);
			else
				match_protos(pl, r, NFTP_M_L4PROTO, icmp, 1);
			s = STMT(pl, r, NFTP_S_SNAT);
			if (s) {
				s->addr = pu->mape.ipv4;
				s->has_ports = true;
				s->ports.lo = lo;
				s->ports.hi = hi;
			}
		}
	}
}

static struct nftp_rule *guard_rule(struct planner *pl, const struct cfg_uplink *u, const char *what)
{
	char comment[96];
	struct nftp_rule *r;

	snprintf(comment, sizeof(comment), "%s: %s", u->name, what);
	r = rule(pl, "postrouting_guard", comment);
	if (r)
		match_name(pl, r, NFTP_M_OIFNAME, u->ifname);
	return r;
}

static void guard_drop(struct planner *pl, struct nftp_rule *r)
{
	STMT(pl, r, NFTP_S_COUNTER);
	STMT(pl, r, NFTP_S_DROP);
}

static void guard_saddr(struct planner *pl, const struct cfg_uplink *u, struct in_addr a)
{
	struct nftp_rule *r = guard_rule(pl, u, "nothing leaves with another source address");
	struct nftp_match *m;

	if (!r)
		return;
	match_family(pl, r, AF_INET);
	m = MATCH(pl, r, NFTP_M_SADDR_NOT);
	if (m)
		m->prefix = host_prefix4(a, 32);
	guard_drop(pl, r);
}

/*
 * RFC 7597 5.1: the CE's ports are A.PSID.M with the A field (offset bits) not zero.  So a
 * port is ours when (port & psid_mask) == psid << m and port >= 2^(16 - a), and an ICMP
 * echo's identifier likewise.  Two rules per field, whatever the number of port sets.
 */
static void guard_ports(struct planner *pl, const struct cfg_uplink *u, const struct mape_result *mr)
{
	static const uint8_t tcpudp[] = { IPPROTO_TCP, IPPROTO_UDP };
	uint16_t mask, bits, min;

	mape_port_mask(mr, &mask, &bits, &min);
	if (!mask)
		return; /* the whole address: every port (but 0, which NAT never picks) */
	for (int f = 0; f < 3; f++) {
		for (int lt = 0; lt < 2; lt++) {
			struct nftp_rule *r = guard_rule(pl, u, f ? "ICMP ids of other PSIDs" :
							 "ports of other PSIDs");
			struct nftp_match *x;

			if (!r)
				return;
			if (!f) {
				match_protos(pl, r, NFTP_M_L4PROTO, tcpudp, 2);
			} else if ((x = MATCH(pl, r, NFTP_M_ICMP_TYPE))) {
				x->types[0] = f == 1 ? 8 : 0;
				x->n = 1;
			}
			x = MATCH(pl, r, lt ? NFTP_M_TH_LT : NFTP_M_TH_MASK_NE);
			if (x) {
				x->off = f ? 4 : 0;
				x->mask = lt ? 0 : mask;
				x->bits = lt ? min : bits;
			}
			guard_drop(pl, r);
		}
	}
}

/*
 * After NAT (postrouting, priority 200): what leaves by an uplink that NATs must carry its
 * source.  conntrack's invalid and untracked packets are never NATed, so they would leave with
 * the LAN's private addresses; a flow whose NAT binding is from before a renumbering would
 * leave with the old address.  The BR of a real VNE drops both.  Last, each new flow takes the
 * mark of the uplink it leaves by: prerouting and output restore it, so the flow stays on that
 * uplink (and its NAT) while the uplink is usable, whatever the default or a policy says later.
 */
static void plan_guard(struct planner *pl)
{
	const struct config *cfg = pl->cfg;

	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];
		const struct plan_uplink *pu = &pl->p->uplinks[i];
		struct nftp_rule *r;
		struct nftp_match *m;

		if (pu->state == PLAN_DISABLED)
			continue;
		if (u->nat && cfg_uplink_has_ipv4(u)) {
			r = guard_rule(pl, u, "conntrack cannot NAT it");
			if (!r)
				return;
			match_family(pl, r, AF_INET);
			if ((m = MATCH(pl, r, NFTP_M_CT_STATE)))
				m->bits = NFTP_CT_INVALID | NFTP_CT_UNTRACKED;
			guard_drop(pl, r);
		}
		if (u->type == CFG_MAPE && pu->has_mape) {
			guard_saddr(pl, u, pu->mape.ipv4);
			guard_ports(pl, u, &pu->mape);
		} else if (u->type == CFG_IPIP6 && u->nat) {
			guard_saddr(pl, u, u->fixed_ipv4);
		}
		r = guard_rule(pl, u, "a new flow stays on this uplink");
		if (!r)
			return;
		if ((m = MATCH(pl, r, NFTP_M_CT_STATE)))
			m->bits = NFTP_CT_NEW;
		stmt_mark(pl, r, NFTP_S_CTMARK_SET, pu->mark);
	}
}

static void plan_nat(struct planner *pl)
{
	const struct config *cfg = pl->cfg;

	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];
		const struct plan_uplink *pu = &pl->p->uplinks[i];
		char comment[96];
		struct nftp_rule *r;
		struct nftp_match *m;
		struct nftp_stmt *s;

		if (pu->state == PLAN_DISABLED || !u->nat || !cfg_uplink_has_ipv4(u))
			continue;
		if (u->type == CFG_MAPE) {
			if (pu->has_mape)
				plan_mape_nat(pl, u, pu);
			if (pu->has_mape && (r = rule(pl, "prerouting_nat", NULL))) {
				snprintf(comment, sizeof(comment), "%s: inbound to our ports", u->name);
				strlcpy_ul(r->comment, comment, sizeof(r->comment));
				match_name(pl, r, NFTP_M_IIFNAME, u->ifname);
				match_family(pl, r, AF_INET);
				if ((m = MATCH(pl, r, NFTP_M_DADDR)))
					m->prefix = host_prefix4(pu->mape.ipv4, 32);
				if ((s = STMT(pl, r, NFTP_S_DNAT)))
					s->addr = mape_local4();
			}
			continue;
		}
		snprintf(comment, sizeof(comment), "%s: NAT", u->name);
		r = rule(pl, "postrouting", comment);
		if (!r)
			return;
		match_name(pl, r, NFTP_M_OIFNAME, u->ifname);
		match_family(pl, r, AF_INET);
		if (u->type == CFG_IPIP6) {
			s = STMT(pl, r, NFTP_S_SNAT);
			if (s)
				s->addr = u->fixed_ipv4;
		} else {
			STMT(pl, r, NFTP_S_MASQUERADE);
		}
	}
}

static void plan_mss(struct planner *pl)
{
	const struct config *cfg = pl->cfg;

	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];
		char comment[96];
		struct nftp_rule *r;

		if (pl->p->uplinks[i].state == PLAN_DISABLED || !u->mss_clamp)
			continue;
		snprintf(comment, sizeof(comment), "%s: clamp MSS to the path MTU", u->name);
		r = rule(pl, "forward_mangle", comment);
		if (!r)
			return;
		match_name(pl, r, NFTP_M_OIFNAME, u->ifname);
		MATCH(pl, r, NFTP_M_TCP_SYN);
		STMT(pl, r, NFTP_S_MSS_PMTU);
	}
}

static void plan_connmark(struct planner *pl)
{
	const struct config *cfg = pl->cfg;
	struct nftp_rule *r;

	if (cfg->n_lan) {
		r = rule(pl, "prerouting", "a connection stays on its uplink (replies, pinned flows)");
		if (!r)
			return;
		match_name(pl, r, NFTP_M_IIFNAME_IN, "lan_ifs");
		MATCH(pl, r, NFTP_M_CTMARK_NONZERO)->mask = cfg->fwmark_mask;
		stmt_mark(pl, r, NFTP_S_MARK_FROM_CT, 0);
		STMT(pl, r, NFTP_S_RETURN);
	}
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];
		char comment[96];
		struct nftp_match *m;

		if (pl->p->uplinks[i].state == PLAN_DISABLED)
			continue;
		snprintf(comment, sizeof(comment), "connections that came in by %s", u->name);
		r = rule(pl, "prerouting", comment);
		if (!r)
			return;
		match_name(pl, r, NFTP_M_IIFNAME, u->ifname);
		m = MATCH(pl, r, NFTP_M_CT_STATE);
		if (m)
			m->bits = NFTP_CT_NEW;
		stmt_mark(pl, r, NFTP_S_CTMARK_SET, pl->p->uplinks[i].mark);
	}
	r = rule(pl, "output", "the router's replies leave by the uplink the connection came in on");
	if (!r)
		return;
	MATCH(pl, r, NFTP_M_CTMARK_NONZERO)->mask = cfg->fwmark_mask;
	stmt_mark(pl, r, NFTP_S_MARK_FROM_CT, 0);
}

/*
 * Every interface that faces the ISP is filtered: the uplink's own (ppp, tunnel, VLAN, NIC),
 * the Ethernet NIC PPPoE runs on and a VLAN's parent, which carry whatever else the ISP's
 * segment sends.  A LAN interface is never one: a VLAN parent that is also in `lan` (one NIC,
 * the WAN tagged) carries the LAN untagged.
 */
static void wan_ifname(struct planner *pl, struct nftp_set *wan, const char *name)
{
	if (!name[0])
		return;
	for (size_t i = 0; i < pl->cfg->n_lan; i++) {
		if (!strcmp(pl->cfg->lan[i], name))
			return;
	}
	if (nftp_set_add_ifname(wan, name))
		pl->err = -ENOMEM;
}

static void plan_firewall(struct planner *pl)
{
	static const uint8_t icmp4[] = { IPPROTO_ICMP };
	static const uint8_t icmp6[] = { IPPROTO_ICMPV6 };
	/*
	 * To LAN hosts, only what RFC 4890 4.3.1 says must not be dropped: destination unreachable,
	 * packet too big, time exceeded, parameter problem (all codes: 4.3.2 adds the codes 4.3.1
	 * leaves out) and echo request/reply (IPv6 scanning is impractical, Teredo needs them).
	 * Not node information (4.3.5), router renumbering, or anything unallocated.  Errors about
	 * the LAN's own flows arrive as `related` anyway; errors about no known flow are `invalid`.
	 */
	static const uint8_t icmp6_transit[] = { 1, 2, 3, 4, 128, 129 };
	static const uint8_t ipip[] = { IPPROTO_IPIP };
	const struct config *cfg = pl->cfg;
	struct nftp_set *wan;
	struct nftp_rule *r;
	struct nftp_match *m;
	struct nftp_stmt *s;
	bool tunnels = false, dhcp6 = false;

	wan = nftp_add_set(&pl->p->nft, "wan_ifs", NFTP_SET_IFNAME);
	if (!wan) {
		pl->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];

		/* a disabled uplink's interfaces still face the ISP while forwarding is on */
		wan_ifname(pl, wan, u->ifname);
		wan_ifname(pl, wan, u->lower);
		wan_ifname(pl, wan, u->device);
		if (pl->p->uplinks[i].state == PLAN_DISABLED)
			continue;
		tunnels |= u->over_uplink != NULL;
		dhcp6 |= u->dhcpv6_pd || (u->type == CFG_IPOE && u->prefix_source == CFG_PREFIX_DHCPV6_PD);
	}

	r = rule(pl, "input", "traffic from the uplinks");
	if (r) {
		match_name(pl, r, NFTP_M_IIFNAME_IN, "wan_ifs");
		s = STMT(pl, r, NFTP_S_JUMP);
		if (s)
			strcpy(s->chain, "wan_input");
	}
	r = rule(pl, "forward", "traffic from the uplinks");
	if (r) {
		match_name(pl, r, NFTP_M_IIFNAME_IN, "wan_ifs");
		s = STMT(pl, r, NFTP_S_JUMP);
		if (s)
			strcpy(s->chain, "wan_forward");
	}

	for (int fwd = 0; fwd < 2; fwd++) {
		const char *chain = fwd ? "wan_forward" : "wan_input";

		r = rule(pl, chain, NULL);
		if (r && (m = MATCH(pl, r, NFTP_M_CT_STATE)))
			m->bits = NFTP_CT_ESTABLISHED | NFTP_CT_RELATED;
		if (r)
			STMT(pl, r, NFTP_S_ACCEPT);
		r = rule(pl, chain, NULL);
		if (r && (m = MATCH(pl, r, NFTP_M_CT_STATE)))
			m->bits = NFTP_CT_INVALID;
		if (r)
			STMT(pl, r, NFTP_S_DROP);
		if (fwd) {
			r = rule(pl, chain, "port forwards");
			if (r) {
				MATCH(pl, r, NFTP_M_CT_STATUS_DNAT);
				STMT(pl, r, NFTP_S_ACCEPT);
			}
		} else {
			r = rule(pl, chain, NULL);
			if (r) {
				match_family(pl, r, AF_INET);
				match_protos(pl, r, NFTP_M_L4PROTO, icmp4, 1);
				STMT(pl, r, NFTP_S_ACCEPT);
			}
		}
		r = rule(pl, chain, fwd ? "RFC 4890 4.3.1: errors, echo" :
			 "neighbour discovery, router advertisements, PMTU");
		if (r) {
			match_family(pl, r, AF_INET6);
			match_protos(pl, r, NFTP_M_L4PROTO, icmp6, 1);
			if (fwd && (m = MATCH(pl, r, NFTP_M_ICMPV6_TYPE_IN))) {
				memcpy(m->types, icmp6_transit, sizeof(icmp6_transit));
				m->n = sizeof(icmp6_transit);
			}
			STMT(pl, r, NFTP_S_ACCEPT);
		}
		if (!fwd && tunnels) {
			r = rule(pl, chain, "IPv4-in-IPv6 tunnels (DS-Lite, MAP-E, fixed IPv4)");
			if (r) {
				match_family(pl, r, AF_INET6);
				match_protos(pl, r, NFTP_M_L4PROTO, ipip, 1);
				STMT(pl, r, NFTP_S_ACCEPT);
			}
		}
		if (!fwd && dhcp6) {
			r = rule(pl, chain, "DHCPv6 replies are unicast and not RELATED to the Solicit");
			if (r) {
				m = MATCH(pl, r, NFTP_M_SADDR);
				if (m)
					prefix_parse(&m->prefix, "fe80::/10", AF_INET6, false);
				m = MATCH(pl, r, NFTP_M_UDP_PORTS);
				if (m) {
					m->ports[0].lo = 547;
					m->ports[1].lo = 546;
				}
				STMT(pl, r, NFTP_S_ACCEPT);
			}
		}
		if (!fwd) {
			for (size_t i = 0; i < cfg->n_uplinks; i++) {
				const struct cfg_uplink *u = &cfg->uplinks[i];
				char comment[96];

				for (size_t k = 0; k < u->n_accept; k++) {
					const struct cfg_accept *a = &u->accept[k];

					snprintf(comment, sizeof(comment), "%s: accept", u->name);
					r = rule(pl, chain, comment);
					if (!r)
						break;
					match_name(pl, r, NFTP_M_IIFNAME, u->ifname);
					match_protos(pl, r, NFTP_M_L4PROTO, &a->proto, 1);
					m = MATCH(pl, r, NFTP_M_DPORT_IN);
					if (m) {
						m->ports[0].lo = a->ports.lo;
						m->ports[0].hi = a->ports.hi;
						m->n = 1;
					}
					STMT(pl, r, NFTP_S_ACCEPT);
				}
			}
		}
		r = rule(pl, chain, NULL);
		if (r) {
			STMT(pl, r, NFTP_S_COUNTER);
			STMT(pl, r, NFTP_S_DROP);
		}
	}
}

static void plan_nft(struct planner *pl)
{
	const struct config *cfg = pl->cfg;
	struct nftp_table *t = &pl->p->nft;

	strlcpy_ul(t->name, cfg->nft_table, sizeof(t->name));
	if (cfg->n_lan) {
		struct nftp_set *lan = nftp_add_set(t, "lan_ifs", NFTP_SET_IFNAME);

		for (size_t i = 0; lan && i < cfg->n_lan; i++) {
			if (nftp_set_add_ifname(lan, cfg->lan[i]))
				pl->err = -ENOMEM;
		}
		if (!lan)
			pl->err = -ENOMEM;
	}
	/* Base chains first, regular chains after, in the order the rules jump. */
	if (!nftp_add_chain(t, "prerouting", NFTP_HOOK_PREROUTING, NFTP_CHAIN_FILTER, -150) ||
	    !nftp_add_chain(t, "output", NFTP_HOOK_OUTPUT, NFTP_CHAIN_ROUTE, -150) ||
	    !nftp_add_chain(t, "forward_mangle", NFTP_HOOK_FORWARD, NFTP_CHAIN_FILTER, -150) ||
	    !nftp_add_chain(t, "postrouting", NFTP_HOOK_POSTROUTING, NFTP_CHAIN_NAT, 100) ||
	    !nftp_add_chain(t, "postrouting_guard", NFTP_HOOK_POSTROUTING, NFTP_CHAIN_FILTER, 200)) {
		pl->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		if (pl->p->uplinks[i].has_mape && pl->p->uplinks[i].state != PLAN_DISABLED) {
			if (!nftp_add_chain(t, "prerouting_nat", NFTP_HOOK_PREROUTING, NFTP_CHAIN_NAT, -100))
				pl->err = -ENOMEM;
			break;
		}
	}
	if (cfg->firewall &&
	    (!nftp_add_chain(t, "input", NFTP_HOOK_INPUT, NFTP_CHAIN_FILTER, 0) ||
	     !nftp_add_chain(t, "forward", NFTP_HOOK_FORWARD, NFTP_CHAIN_FILTER, 0) ||
	     !nftp_add_chain(t, "wan_input", NFTP_HOOK_NONE, NFTP_CHAIN_FILTER, 0) ||
	     !nftp_add_chain(t, "wan_forward", NFTP_HOOK_NONE, NFTP_CHAIN_FILTER, 0))) {
		pl->err = -ENOMEM;
		return;
	}
	plan_connmark(pl);
	plan_lan_exempt(pl);
	plan_policy_marks(pl);
	plan_mss(pl);
	plan_nat(pl);
	plan_guard(pl);
	if (cfg->firewall)
		plan_firewall(pl);
}

/* ---- sorting: the plan is deterministic whatever order the config lists things in ---- */

static int cmp_sysctl(const void *a, const void *b)
{
	return strcmp(((const struct plan_sysctl *)a)->key, ((const struct plan_sysctl *)b)->key);
}

static int cmp_link(const void *a, const void *b)
{
	const struct plan_link *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct plan_dev *)a)->name, ((const struct plan_dev *)b)->name);
}

static int cmp_token(const void *a, const void *b)
{
	return strcmp(((const struct plan_token *)a)->dev, ((const struct plan_token *)b)->dev);
}

static int cmp_addr(const void *a, const void *b)
{
	const struct plan_addr *x = a, *y = b;
	int r = strcmp(x->dev, y->dev);

	return r ? r : prefix_cmp(&x->addr, &y->addr);
}

static int cmp_route(const void *a, const void *b)
{
	const struct plan_route *x = a, *y = b;

	if (x->dst.addr.family != y->dst.addr.family)
		return x->dst.addr.family < y->dst.addr.family ? -1 : 1;
	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	if (x->metric != y->metric)
		return x->metric < y->metric ? -1 : 1;
	return prefix_cmp(&x->dst, &y->dst);
}

static int cmp_rule(const void *a, const void *b)
{
	const struct plan_rule *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return x->priority < y->priority ? -1 : x->priority > y->priority;
}

static void plan_sort(struct plan *p)
{
	if (p->sysctls.n > 1)
		qsort(p->sysctls.v, p->sysctls.n, sizeof(*p->sysctls.v), cmp_sysctl);
	if (p->links.n > 1)
		qsort(p->links.v, p->links.n, sizeof(*p->links.v), cmp_link);
	if (p->devs.n > 1)
		qsort(p->devs.v, p->devs.n, sizeof(*p->devs.v), cmp_dev);
	if (p->tokens.n > 1)
		qsort(p->tokens.v, p->tokens.n, sizeof(*p->tokens.v), cmp_token);
	if (p->addrs.n > 1)
		qsort(p->addrs.v, p->addrs.n, sizeof(*p->addrs.v), cmp_addr);
	if (p->routes.n > 1)
		qsort(p->routes.v, p->routes.n, sizeof(*p->routes.v), cmp_route);
	if (p->rules.n > 1)
		qsort(p->rules.v, p->rules.n, sizeof(*p->rules.v), cmp_rule);
}

/* ---- entry ---- */

int plan_build(const struct config *cfg, const struct facts *facts, struct plan *out,
	       struct ul_err *e)
{
	struct planner pl = { .cfg = cfg, .facts = facts, .p = out };
	bool any4 = false;

	memset(out, 0, sizeof(*out));
	out->cfg = cfg;
	if (facts && facts->n != cfg->n_uplinks)
		return ul_errf(e, EINVAL, "facts describe %zu uplinks, the config has %zu", facts->n,
			       cfg->n_uplinks);
	out->uplinks = calloc(cfg->n_uplinks ? cfg->n_uplinks : 1, sizeof(*out->uplinks));
	if (!out->uplinks)
		return -ENOMEM;
	pl.shift = (unsigned)__builtin_ctz(cfg->fwmark_mask);
	if (policy_classes(&pl)) {
		plan_free(out);
		return -ENOMEM;
	}

	/* Underlays (ipoe) first: the tunnels over them read their results. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < cfg->n_uplinks; i++) {
			const struct cfg_uplink *u = &cfg->uplinks[i];
			struct plan_uplink *pu = &out->uplinks[i];
			const struct uplink_facts *f = facts_of(&pl, u);

			if ((u->type == CFG_IPOE) != (pass == 0))
				continue;
			pu->cfg = u;
			pu->mark = mark_of(&pl, (unsigned)i + 1);
			state(pu, PLAN_UP, "up");
			if (u->disabled) {
				state(pu, PLAN_DISABLED, "disabled in the configuration");
				pu->excluded = true;
				continue;
			}
			any4 |= cfg_uplink_has_ipv4(u);
			/* One uplink's missing device or refused object leaves the others alone. */
			if (f->missing[0] || f->fault[0]) {
				struct plan_proc *pr = NULL;

				if (f->missing[0])
					state(pu, PLAN_WAITING, "no device %s", f->missing);
				else
					state(pu, PLAN_FAILED, "%s", f->fault);
				pu->excluded = true;
				/* a delegated prefix outlives the fault: the LAN keeps its addresses */
				if (u->type == CFG_IPOE && u->prefix_source == CFG_PREFIX_DHCPV6_PD)
					pr = add_proc(&pl, u, PLAN_PROC_DHCPV6_PD, u->lower, NULL);
				else if (u->type == CFG_PPPOE && u->dhcpv6_pd)
					pr = add_proc(&pl, u, PLAN_PROC_DHCPV6_PD, u->ifname, NULL);
				if (pr)
					pr->paused = true;
				continue;
			}
			switch (u->type) {
			case CFG_IPOE:
				plan_ipoe(&pl, u, pu);
				break;
			case CFG_PPPOE:
				plan_pppoe(&pl, u, pu);
				break;
			case CFG_DSLITE:
				plan_dslite(&pl, u, pu);
				break;
			case CFG_IPIP6:
				plan_ipip6(&pl, u, pu);
				break;
			case CFG_MAPE:
				plan_mape(&pl, u, pu);
				break;
			case CFG_STATIC:
				plan_static(&pl, u, pu);
				break;
			}
			if (pu->state != PLAN_UP)
				pu->ready = false;
			/* the fixed IPv4 is registered for the tunnel's local address once it stands */
			if (u->type == CFG_IPIP6 && u->update_url && pu->ready && pu->has_local6) {
				struct plan_proc *pr = add_proc(&pl, u, PLAN_PROC_UPDATE, u->ifname, NULL);

				if (pr)
					pr->local = pu->local6;
			}
			/* the operator's and the pair's decisions name the state even when not ready */
			if (f->admin_down)
				state(pu, PLAN_DOWN, "administratively down");
			else if (f->inactive)
				state(pu, PLAN_DOWN, "inactive: the active-if condition does not hold");
			else if (pu->ready && f->health_failed)
				state(pu, PLAN_DOWN, "health check failing");
			pu->usable = pu->ready && pu->state == PLAN_UP;
		}
	}
	if (any4)
		add_sysctl(&pl, "net/ipv4/ip_forward", "1");
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		if (cfg_uplink_has_ipv6(&cfg->uplinks[i]) && !cfg->uplinks[i].disabled)
			add_sysctl(&pl, "net/ipv6/conf/all/forwarding", "1");
	}
	apply_holds(&pl);
	choose_defaults(&pl);
	plan_rules(&pl);
	plan_nft(&pl);
	plan_sort(out);
	free(pl.cls);
	if (pl.err) {
		plan_free(out);
		return pl.err;
	}
	return 0;
}

void plan_free(struct plan *p)
{
	VEC_FREE(&p->sysctls);
	VEC_FREE(&p->links);
	VEC_FREE(&p->devs);
	VEC_FREE(&p->tokens);
	VEC_FREE(&p->addrs);
	VEC_FREE(&p->routes);
	VEC_FREE(&p->rules);
	VEC_FREE(&p->procs);
	free(p->uplinks);
	p->uplinks = NULL;
	nftp_free(&p->nft);
}

const char *plan_state_name(enum plan_uplink_state s)
{
	switch (s) {
	case PLAN_UP:
		return "up";
	case PLAN_WAITING:
		return "waiting";
	case PLAN_DOWN:
		return "down";
	case PLAN_DISABLED:
		return "disabled";
	case PLAN_FAILED:
		return "failed";
	}
	return "?";
}
