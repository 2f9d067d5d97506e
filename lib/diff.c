/* Plan against kernel: the changes, in the order they can be made. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <linux/fib_rules.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "diff.h"

struct differ {
	const struct plan *p;
	const struct kview *kv;
	const struct own_state *own;
	struct changes *out;
	struct ul_err *e;
	int err;
};

void changes_free(struct changes *c)
{
	VEC_FREE(c);
}

static struct change *emit(struct differ *d, enum change_kind kind)
{
	struct change *c = VEC_PUSH(d->out);

	if (!c) {
		d->err = -ENOMEM;
		return NULL;
	}
	c->kind = kind;
	return c;
}

static bool link_owned(const struct differ *d, const struct kv_link *l)
{
	return state_owns_link(d->own, l->name) || !strcmp(l->alias, STATE_ALIAS);
}

/* ---- sysctls ---- */

enum sysctl_group { SYSCTL_GLOBAL, SYSCTL_DEVICE, SYSCTL_FORWARDING };

/* Forwarding on: the one setting that must wait for the firewall. */
static bool forwarding_on(const struct plan_sysctl *s)
{
	return (!strcmp(s->key, "net/ipv4/ip_forward") || !strcmp(s->key, "net/ipv6/conf/all/forwarding")) &&
	       strcmp(s->value, "0") != 0;
}

static void diff_sysctls(struct differ *d, enum sysctl_group group)
{
	for (size_t i = 0; i < d->p->sysctls.n; i++) {
		const struct plan_sysctl *s = &d->p->sysctls.v[i];
		const char *cur = kview_sysctl(d->kv, s->key);
		enum sysctl_group g = forwarding_on(s) ? SYSCTL_FORWARDING :
				      plan_sysctl_is_device(s->key) ? SYSCTL_DEVICE : SYSCTL_GLOBAL;
		struct change *c;

		if (g != group || (cur && !strcmp(cur, s->value)))
			continue;
		c = emit(d, CH_SYSCTL);
		if (!c)
			return;
		c->sysctl = *s;
		c->uplink = s->uplink;
		if (cur)
			strlcpy_ul(c->old, cur, sizeof(c->old));
	}
}

/* ---- links ---- */

static bool vlan_matches(const struct differ *d, const struct plan_link *pl, const struct kv_link *kl)
{
	const struct kv_link *parent = kview_link_by_index(d->kv, kl->link);

	return !strcmp(kl->kind, "vlan") && kl->vlan_id == pl->vlan_id && parent &&
	       !strcmp(parent->name, pl->parent) && (!pl->mtu || kl->mtu == pl->mtu);
}

static bool tnl_matches(const struct differ *d, const struct plan_link *pl, const struct kv_link *kl)
{
	const struct kv_link *under = kview_link_by_index(d->kv, kl->link);
	struct in6_addr any = IN6ADDR_ANY_INIT;
	const struct in6_addr *local = pl->has_local ? &pl->local : &any;

	return !strcmp(kl->kind, "ip6tnl") && !memcmp(&kl->local, local, 16) &&
	       !memcmp(&kl->remote, &pl->remote, 16) && under && !strcmp(under->name, pl->parent) &&
	       kl->tnl_proto == IPPROTO_IPIP && (kl->tnl_flags & KV_IP6_TNL_F_IGN_ENCAP_LIMIT) &&
	       (!pl->mtu || kl->mtu == pl->mtu);
}

/* What the kernel's link is, as a plan_link, so a change can be undone. */
static void link_as_plan(const struct differ *d, const struct kv_link *kl, struct plan_link *out)
{
	const struct kv_link *under = kview_link_by_index(d->kv, kl->link);

	memset(out, 0, sizeof(*out));
	strcpy(out->name, kl->name);
	out->kind = !strcmp(kl->kind, "vlan") ? PLAN_LINK_VLAN : PLAN_LINK_IP6TNL;
	if (under)
		strcpy(out->parent, under->name);
	out->vlan_id = kl->vlan_id;
	out->local = kl->local;
	out->has_local = !IN6_IS_ADDR_UNSPECIFIED(&kl->local);
	out->remote = kl->remote;
	out->mtu = kl->mtu;
}

static void diff_links(struct differ *d, enum plan_link_kind kind)
{
	for (size_t i = 0; i < d->p->links.n; i++) {
		const struct plan_link *pl = &d->p->links.v[i];
		const struct kv_link *kl;
		struct change *c;
		bool ok;

		if (pl->kind != kind)
			continue;
		kl = kview_link_by_name(d->kv, pl->name);
		if (!kl) {
			c = emit(d, CH_LINK_ADD);
			if (c) {
				c->link = *pl;
				c->uplink = pl->uplink;
			}
			continue;
		}
		ok = kind == PLAN_LINK_VLAN ? vlan_matches(d, pl, kl) : tnl_matches(d, pl, kl);
		if (ok) {
			/* VLANs come up in diff_devs_up, after their token and sysctls */
			if (kind == PLAN_LINK_IP6TNL && !(kl->flags & IFF_UP) && (c = emit(d, CH_LINK_UP))) {
				strcpy(c->dev, pl->name);
				c->owned = link_owned(d, kl);
				c->uplink = pl->uplink;
			}
			continue;
		}
		if (!link_owned(d, kl)) {
			const char *is = kl->kind[0] ? kl->kind : "a device without a kind";

			d->out->conflict_uplink = pl->uplink;
			if (kind == PLAN_LINK_VLAN)
				d->err = ul_errf(d->e, EEXIST,
						 "interface %s exists but is not VLAN %u on %s (it is %s), and uplinkd changes only interfaces it created",
						 pl->name, pl->vlan_id, pl->parent, is);
			else
				d->err = ul_errf(d->e, EEXIST,
						 "interface %s exists with other settings (it is %s), and uplinkd changes only interfaces it created; remove it or set ifname",
						 pl->name, is);
			return;
		}
		if (kind == PLAN_LINK_IP6TNL && !strcmp(kl->kind, "ip6tnl")) {
			c = emit(d, CH_LINK_CHANGE);
			if (c) {
				c->link = *pl;
				c->uplink = pl->uplink;
				link_as_plan(d, kl, &c->old_link);
			}
			continue;
		}
		c = emit(d, CH_LINK_DEL);
		if (c) {
			strcpy(c->dev, pl->name);
			c->owned = true;
			c->uplink = pl->uplink;
			link_as_plan(d, kl, &c->old_link);
		}
		c = emit(d, CH_LINK_ADD);
		if (c) {
			c->link = *pl;
			c->uplink = pl->uplink;
		}
	}
}

static bool link_planned(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->links.n; i++) {
		if (!strcmp(p->links.v[i].name, name))
			return true;
	}
	return false;
}

/* Owned links no longer planned: tunnels first, since they may sit on a VLAN. */
static void diff_stale_links(struct differ *d)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < d->kv->links.n; i++) {
			const struct kv_link *kl = &d->kv->links.v[i];
			bool tunnel = strcmp(kl->kind, "vlan") != 0;
			struct change *c;

			if (tunnel != (pass == 0) || !link_owned(d, kl) || link_planned(d->p, kl->name))
				continue;
			c = emit(d, CH_LINK_DEL);
			if (!c)
				return;
			strcpy(c->dev, kl->name);
			c->owned = true;
			link_as_plan(d, kl, &c->old_link);
		}
	}
}

static void diff_devs_mtu(struct differ *d)
{
	for (size_t i = 0; i < d->p->devs.n; i++) {
		const struct plan_dev *pd = &d->p->devs.v[i];
		const struct kv_link *kl = kview_link_by_name(d->kv, pd->name);
		struct change *c;

		if (kl && pd->mtu && kl->mtu != pd->mtu && (c = emit(d, CH_MTU))) {
			strcpy(c->dev, pd->name);
			c->uplink = pd->uplink;
			c->mtu = pd->mtu;
			snprintf(c->old, sizeof(c->old), "%u", kl->mtu);
		}
	}
}

/*
 * Interfaces come up only once their token and sysctls are set: the first router
 * advertisement must already find the ::feed token (ip token acts only through SLAAC).
 * VLAN parents first, then the devices and VLANs on them.
 */
static void diff_devs_up(struct differ *d)
{
	for (size_t i = 0; i < d->p->devs.n; i++) {
		const struct plan_dev *pd = &d->p->devs.v[i];
		const struct kv_link *kl = kview_link_by_name(d->kv, pd->name);
		struct change *c;

		if (!kl || (kl->flags & IFF_UP))
			continue; /* missing: the uplink is down, nothing to set */
		c = emit(d, CH_LINK_UP);
		if (c) {
			strcpy(c->dev, pd->name);
			c->owned = link_owned(d, kl);
			c->uplink = pd->uplink;
		}
	}
	for (size_t i = 0; i < d->p->links.n; i++) {
		const struct plan_link *pl = &d->p->links.v[i];
		const struct kv_link *kl = kview_link_by_name(d->kv, pl->name);
		struct change *c;

		if (pl->kind != PLAN_LINK_VLAN || (kl && (kl->flags & IFF_UP) && vlan_matches(d, pl, kl)))
			continue;
		c = emit(d, CH_LINK_UP);
		if (c) {
			strcpy(c->dev, pl->name);
			c->owned = true;
			c->uplink = pl->uplink;
		}
	}
}

static void diff_tokens(struct differ *d)
{
	for (size_t i = 0; i < d->p->tokens.n; i++) {
		const struct plan_token *t = &d->p->tokens.v[i];
		const struct kv_link *kl = kview_link_by_name(d->kv, t->dev);
		struct in6_addr cur = IN6ADDR_ANY_INIT;
		struct change *c;

		if (kl && kl->has_token)
			cur = kl->token;
		if (kl && !memcmp(&cur, &t->token, 16))
			continue;
		c = emit(d, CH_TOKEN);
		if (!c)
			return;
		c->uplink = t->uplink;
		strcpy(c->dev, t->dev);
		c->token = t->token;
		inet_ntop(AF_INET6, &cur, c->old, sizeof(c->old));
	}
}

/* ---- addresses ---- */

static bool addr_present(const struct kview *kv, const char *dev, const struct ip_prefix *a)
{
	const struct kv_link *l = kview_link_by_name(kv, dev);

	if (!l)
		return false;
	for (size_t i = 0; i < kv->addrs.n; i++) {
		if (kv->addrs.v[i].ifindex == l->ifindex && !prefix_cmp(&kv->addrs.v[i].addr, a))
			return true;
	}
	return false;
}

static bool addr_planned(const struct plan *p, const char *dev, const struct ip_prefix *a)
{
	for (size_t i = 0; i < p->addrs.n; i++) {
		if (!strcmp(p->addrs.v[i].dev, dev) && !prefix_cmp(&p->addrs.v[i].addr, a))
			return true;
	}
	return false;
}

static void diff_addrs(struct differ *d)
{
	for (size_t i = 0; i < d->p->addrs.n; i++) {
		const struct plan_addr *pa = &d->p->addrs.v[i];
		struct change *c;

		if (addr_present(d->kv, pa->dev, &pa->addr))
			continue;
		c = emit(d, CH_ADDR_ADD);
		if (c) {
			c->addr = *pa;
			c->uplink = pa->uplink;
		}
	}
}

static void diff_stale_addrs(struct differ *d)
{
	for (size_t i = 0; i < d->own->addrs.n; i++) {
		const struct own_addr *o = &d->own->addrs.v[i];
		struct change *c;

		if (addr_planned(d->p, o->dev, &o->addr) || !addr_present(d->kv, o->dev, &o->addr))
			continue;
		/* a link that goes away takes its addresses with it */
		if (!link_planned(d->p, o->dev) && kview_link_by_name(d->kv, o->dev) &&
		    link_owned(d, kview_link_by_name(d->kv, o->dev)))
			continue;
		c = emit(d, CH_ADDR_DEL);
		if (!c)
			return;
		strcpy(c->addr.dev, o->dev);
		c->addr.addr = o->addr;
		c->owned = true;
	}
}

/* ---- routes ---- */

static void route_as_plan(const struct kview *kv, const struct kv_route *kr, struct plan_route *out)
{
	char buf[IFNAMSIZ];

	memset(out, 0, sizeof(*out));
	out->table = kr->table;
	out->dst = kr->dst;
	out->metric = kr->metric;
	out->type = kr->type == RTN_UNREACHABLE ? PLAN_RT_UNREACHABLE : PLAN_RT_UNICAST;
	out->gw = kr->gw;
	if (kr->oif && out->type == PLAN_RT_UNICAST)
		strlcpy_ul(out->dev, kview_ifname(kv, kr->oif, buf), sizeof(out->dev));
}

static bool same_route_key(const struct plan_route *p, const struct kv_route *k)
{
	return p->table == k->table && p->metric == k->metric && !prefix_cmp(&p->dst, &k->dst);
}

static bool route_matches(const struct kview *kv, const struct plan_route *p, const struct kv_route *k)
{
	char buf[IFNAMSIZ];

	if (p->type == PLAN_RT_UNREACHABLE)
		return k->type == RTN_UNREACHABLE;
	return k->type == RTN_UNICAST && addr_equal(&p->gw, &k->gw) &&
	       !strcmp(p->dev, kview_ifname(kv, k->oif, buf));
}

static void diff_routes(struct differ *d, uint8_t proto, struct ul_err *e)
{
	for (size_t i = 0; i < d->p->routes.n; i++) {
		const struct plan_route *pr = &d->p->routes.v[i];
		const struct kv_route *found = NULL;
		struct change *c;

		for (size_t k = 0; k < d->kv->routes.n && !found; k++) {
			if (same_route_key(pr, &d->kv->routes.v[k]))
				found = &d->kv->routes.v[k];
		}
		if (found && found->protocol != proto) {
			char buf[PREFIX_STRLEN];

			d->out->conflict_uplink = pr->uplink;
			d->err = ul_errf(e, EEXIST,
					 "table %u already has a %s route to %s with metric %u that uplinkd did not install (protocol %u); uplinkd does not replace it",
					 pr->table, pr->dst.addr.family == AF_INET ? "IPv4" : "IPv6",
					 pr->dst.len ? prefix_fmt(&pr->dst, buf) : "default", pr->metric,
					 found->protocol);
			return;
		}
		if (found && route_matches(d->kv, pr, found))
			continue;
		c = emit(d, CH_ROUTE_SET);
		if (!c)
			return;
		c->route = *pr;
		c->uplink = pr->uplink;
		if (found) {
			c->has_old_route = true;
			route_as_plan(d->kv, found, &c->old_route);
		}
	}
}

static void diff_stale_routes(struct differ *d, uint8_t proto)
{
	for (size_t k = 0; k < d->kv->routes.n; k++) {
		const struct kv_route *kr = &d->kv->routes.v[k];
		bool planned = false;
		struct change *c;

		if (kr->protocol != proto)
			continue;
		for (size_t i = 0; i < d->p->routes.n && !planned; i++)
			planned = same_route_key(&d->p->routes.v[i], kr);
		if (planned)
			continue;
		c = emit(d, CH_ROUTE_DEL);
		if (!c)
			return;
		route_as_plan(d->kv, kr, &c->route);
		c->owned = true;
	}
}

/* ---- rules ---- */

static bool rule_equal(const struct plan_rule *p, const struct kv_rule *k)
{
	uint8_t action = p->action == PLAN_RULE_PROHIBIT ? FR_ACT_PROHIBIT : FR_ACT_TO_TBL;

	if (k->family != p->family || k->priority != p->priority || k->action != action ||
	    k->fwmark != p->fwmark || k->fwmask != p->fwmask || k->has_src != p->has_src ||
	    k->suppress_prefixlen != p->suppress_prefixlen || k->has_other)
		return false;
	if (action == FR_ACT_TO_TBL && k->table != p->table)
		return false;
	return !p->has_src || !prefix_cmp(&p->src, &k->src);
}

static void rule_as_plan(const struct kv_rule *k, struct plan_rule *out)
{
	memset(out, 0, sizeof(*out));
	out->family = k->family;
	out->priority = k->priority;
	out->action = k->action == FR_ACT_PROHIBIT ? PLAN_RULE_PROHIBIT : PLAN_RULE_LOOKUP;
	out->table = k->table;
	out->has_src = k->has_src;
	out->src = k->src;
	out->fwmark = k->fwmark;
	out->fwmask = k->fwmask;
	out->suppress_prefixlen = k->suppress_prefixlen;
}

static void diff_rules(struct differ *d, uint8_t proto, bool stale)
{
	if (!stale) {
		for (size_t i = 0; i < d->p->rules.n; i++) {
			const struct plan_rule *pr = &d->p->rules.v[i];
			bool present = false;
			struct change *c;

			for (size_t k = 0; k < d->kv->rules.n && !present; k++)
				present = d->kv->rules.v[k].protocol == proto && rule_equal(pr, &d->kv->rules.v[k]);
			if (present)
				continue;
			c = emit(d, CH_RULE_ADD);
			if (c) {
				c->rule = *pr;
				c->uplink = pr->uplink;
			}
		}
		return;
	}
	for (size_t k = 0; k < d->kv->rules.n; k++) {
		const struct kv_rule *kr = &d->kv->rules.v[k];
		bool planned = false;
		struct change *c;

		if (kr->protocol != proto)
			continue;
		for (size_t i = 0; i < d->p->rules.n && !planned; i++)
			planned = rule_equal(&d->p->rules.v[i], kr);
		if (planned)
			continue;
		c = emit(d, CH_RULE_DEL);
		if (!c)
			return;
		rule_as_plan(kr, &c->rule);
		c->owned = true;
	}
}

/* ---- settings no longer planned ---- */

static bool sysctl_planned(const struct plan *p, const char *key)
{
	for (size_t i = 0; i < p->sysctls.n; i++) {
		if (!strcmp(p->sysctls.v[i].key, key))
			return true;
	}
	return false;
}

static bool dev_planned(const struct plan *p, const char *name, bool with_mtu)
{
	for (size_t i = 0; i < p->devs.n; i++) {
		if (!strcmp(p->devs.v[i].name, name) && (!with_mtu || p->devs.v[i].mtu))
			return true;
	}
	return false;
}

static bool token_planned(const struct plan *p, const char *dev)
{
	for (size_t i = 0; i < p->tokens.n; i++) {
		if (!strcmp(p->tokens.v[i].dev, dev))
			return true;
	}
	return false;
}

static void restore(struct differ *d, enum change_kind kind, const struct own_setting *s)
{
	struct change *c = emit(d, kind);

	if (!c)
		return;
	strlcpy_ul(c->dev, s->key, sizeof(c->dev));
	strlcpy_ul(c->sysctl.key, s->key, sizeof(c->sysctl.key));
	strlcpy_ul(c->old, s->old, sizeof(c->old));
	c->owned = true;
}

/* Is the setting's device deleted by this very diff?  Then there is nothing to restore. */
static bool dev_deleted(const struct differ *d, const struct own_setting *s)
{
	char buf[96];
	const char *dev = state_setting_dev(s->key, buf, sizeof(buf));

	for (size_t i = 0; dev[0] && i < d->out->n; i++) {
		if (d->out->v[i].kind == CH_LINK_DEL && !strcmp(d->out->v[i].dev, dev))
			return true;
	}
	return false;
}

static void diff_restores(struct differ *d, const struct plan *p)
{
	for (size_t i = 0; i < d->own->tokens.n; i++) {
		if ((!p || !token_planned(p, d->own->tokens.v[i].key)) && !dev_deleted(d, &d->own->tokens.v[i]))
			restore(d, CH_RESTORE_TOKEN, &d->own->tokens.v[i]);
	}
	for (size_t i = 0; i < d->own->mtus.n; i++) {
		if ((!p || !dev_planned(p, d->own->mtus.v[i].key, true)) && !dev_deleted(d, &d->own->mtus.v[i]))
			restore(d, CH_RESTORE_MTU, &d->own->mtus.v[i]);
	}
	for (size_t i = 0; i < d->own->ups.n; i++) {
		if ((!p || !dev_planned(p, d->own->ups.v[i].key, false)) && !dev_deleted(d, &d->own->ups.v[i]))
			restore(d, CH_RESTORE_DOWN, &d->own->ups.v[i]);
	}
	for (size_t i = 0; i < d->own->sysctls.n; i++) {
		if ((!p || !sysctl_planned(p, d->own->sysctls.v[i].key)) && !dev_deleted(d, &d->own->sysctls.v[i]))
			restore(d, CH_RESTORE_SYSCTL, &d->own->sysctls.v[i]);
	}
}

/* ---- entry points ---- */

static void diff_nft(struct differ *d, bool created)
{
	struct change *c = emit(d, CH_NFT_REPLACE);

	if (!c)
		return;
	strlcpy_ul(c->sysctl.key, d->p->nft.name, sizeof(c->sysctl.key));
	c->owned = created;
}

int diff_build(const struct plan *p, const struct kview *kv, const struct own_state *own,
	       enum diff_nft nft, struct changes *out, struct ul_err *e)
{
	struct differ d = { .p = p, .kv = kv, .own = own, .out = out, .e = e };
	uint8_t proto = (uint8_t)p->cfg->route_protocol;

	memset(out, 0, sizeof(*out));
	if (nft == DIFF_NFT_ABSENT)
		diff_nft(&d, true);
	diff_sysctls(&d, SYSCTL_GLOBAL);
	diff_links(&d, PLAN_LINK_VLAN);
	if (d.err)
		goto fail;
	diff_sysctls(&d, SYSCTL_DEVICE);
	diff_tokens(&d);
	diff_devs_mtu(&d);
	diff_devs_up(&d);
	diff_links(&d, PLAN_LINK_IP6TNL);
	if (d.err)
		goto fail;
	diff_addrs(&d);
	diff_routes(&d, proto, e);
	if (d.err)
		goto fail;
	diff_rules(&d, proto, false);
	diff_rules(&d, proto, true);
	diff_stale_routes(&d, proto);
	diff_stale_addrs(&d);
	diff_stale_links(&d);
	diff_restores(&d, p);
	if (nft == DIFF_NFT_DIFFERS)
		diff_nft(&d, false);
	diff_sysctls(&d, SYSCTL_FORWARDING);
	if (d.err)
		goto fail;
	return 0;
fail:
	if (d.err == -ENOMEM)
		ul_errf(e, ENOMEM, "out of memory");
	changes_free(out);
	return d.err;
}

int diff_teardown(const struct kview *kv, const struct own_state *own, uint32_t protocol,
		  bool nft_exists, struct changes *out)
{
	struct plan empty = { 0 };
	struct differ d = { .p = &empty, .kv = kv, .own = own, .out = out };

	memset(out, 0, sizeof(*out));
	diff_rules(&d, (uint8_t)protocol, true);
	diff_stale_routes(&d, (uint8_t)protocol);
	diff_stale_addrs(&d);
	diff_stale_links(&d);
	diff_restores(&d, NULL);
	/* last, like in diff_build: everything before it can be undone */
	if (nft_exists)
		emit(&d, CH_NFT_DELETE);
	if (d.err) {
		changes_free(out);
		return d.err;
	}
	return 0;
}

/* ---- describing ---- */

void change_describe(const struct change *c, const char *nft_table, uint32_t protocol,
		     struct strbuf *sb)
{
	char name[128], a[INET6_ADDRSTRLEN];

	switch (c->kind) {
	case CH_SYSCTL:
		plan_sysctl_name(c->sysctl.key, name, sizeof(name));
		sb_printf(sb, "sysctl %s=%s", name, c->sysctl.value);
		if (c->old[0])
			sb_printf(sb, " (was %s)", c->old);
		break;
	case CH_LINK_ADD:
		plan_link_str(sb, &c->link);
		if (c->link.mtu)
			sb_printf(sb, " mtu %u", c->link.mtu);
		break;
	case CH_LINK_CHANGE:
		sb_printf(sb, "ip link change %s type ip6tnl local %s", c->link.name,
			  c->link.has_local ? inet_ntop(AF_INET6, &c->link.local, a, sizeof(a)) : "any");
		sb_printf(sb, " remote %s dev %s", inet_ntop(AF_INET6, &c->link.remote, a, sizeof(a)),
			  c->link.parent);
		if (c->link.mtu)
			sb_printf(sb, " mtu %u", c->link.mtu);
		break;
	case CH_LINK_DEL:
		sb_printf(sb, "ip link del %s", c->dev);
		break;
	case CH_LINK_UP:
		sb_printf(sb, "ip link set dev %s up", c->dev);
		break;
	case CH_MTU:
		sb_printf(sb, "ip link set dev %s mtu %u (was %s)", c->dev, c->mtu, c->old);
		break;
	case CH_TOKEN:
		sb_printf(sb, "ip token set %s dev %s (was %s)",
			  inet_ntop(AF_INET6, &c->token, a, sizeof(a)), c->dev, c->old);
		break;
	case CH_ADDR_ADD:
		plan_addr_str(sb, &c->addr, "add");
		break;
	case CH_ADDR_DEL:
		plan_addr_str(sb, &c->addr, "del");
		break;
	case CH_ROUTE_SET:
		plan_route_str(sb, &c->route, protocol, c->has_old_route ? "replace" : "add");
		break;
	case CH_ROUTE_DEL:
		plan_route_str(sb, &c->route, protocol, "del");
		break;
	case CH_RULE_ADD:
		plan_rule_str(sb, &c->rule, protocol, "add");
		break;
	case CH_RULE_DEL:
		plan_rule_str(sb, &c->rule, protocol, "del");
		break;
	case CH_NFT_REPLACE:
		sb_printf(sb, "nft replace table inet %s", nft_table);
		break;
	case CH_NFT_DELETE:
		sb_printf(sb, "nft delete table inet %s", nft_table);
		break;
	case CH_RESTORE_SYSCTL:
		plan_sysctl_name(c->sysctl.key, name, sizeof(name));
		sb_printf(sb, "sysctl %s=%s (restored)", name, c->old);
		break;
	case CH_RESTORE_TOKEN:
		sb_printf(sb, "ip token set %s dev %s (restored)", c->old, c->dev);
		break;
	case CH_RESTORE_MTU:
		sb_printf(sb, "ip link set dev %s mtu %s (restored)", c->dev, c->old);
		break;
	case CH_RESTORE_DOWN:
		sb_printf(sb, "ip link set dev %s down (restored)", c->dev);
		break;
	}
}
