#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>

#include "observe.h"

/* Up administratively but without carrier, or missing: the uplink cannot carry traffic. */
static bool dev_down(const struct kview *kv, const char *name)
{
	const struct kv_link *l;

	if (!name[0])
		return true;
	l = kview_link_by_name(kv, name);
	if (!l)
		return true;
	/* An administratively-down device is brought up by apply; only a dead carrier counts. */
	return (l->flags & IFF_UP) && !(l->flags & IFF_LOWER_UP);
}

/* The device whose state decides: a VLAN uplinkd builds follows its parent. */
static const char *carrier_dev(const struct cfg_uplink *u, const struct kview *kv)
{
	if (u->vlan && !kview_link_by_name(kv, u->lower))
		return u->device;
	return u->lower;
}

static bool is_global6(const struct kv_addr *a)
{
	const uint8_t *b = a->addr.addr.b;

	return a->addr.addr.family == AF_INET6 && a->scope == RT_SCOPE_UNIVERSE &&
	       !(b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

/*
 * The WAN's SLAAC address: a global /64 the kernel formed from an RA.  Addresses uplinkd
 * added itself (the MAP-E CE address) are not it.  A fresh prefix beats a deprecated one,
 * which is how a prefix change shows up; the token's address beats others.
 */
static const struct kv_addr *wan_address(const struct cfg_uplink *u, const struct kview *kv,
					 const struct own_state *own, int ifindex)
{
	const struct kv_addr *best = NULL;
	int best_score = -1;

	for (size_t i = 0; i < kv->addrs.n; i++) {
		const struct kv_addr *a = &kv->addrs.v[i];
		int score = 0;

		if (a->ifindex != ifindex || !is_global6(a) || a->addr.len != 64)
			continue;
		if (own && state_owns_addr(own, u->lower, &a->addr))
			continue;
		if (a->flags & IFA_F_TENTATIVE && !(a->flags & IFA_F_NODAD))
			score -= 1;
		if (!(a->flags & IFA_F_DEPRECATED) && a->preferred_lft)
			score += 4;
		if (u->has_token && !memcmp(a->addr.addr.v6.s6_addr + 8, u->token.s6_addr + 8, 8))
			score += 2;
		if (score > best_score) {
			best_score = score;
			best = a;
		}
	}
	return best;
}

static void observe_ipoe(const struct cfg_uplink *u, const struct kview *kv,
			 const struct own_state *own, struct uplink_facts *uf)
{
	const struct kv_link *l = kview_link_by_name(kv, u->lower);
	const struct kv_addr *a;

	uf->link_down = dev_down(kv, carrier_dev(u, kv));
	if (!l)
		return;
	a = wan_address(u, kv, own, l->ifindex);
	if (a) {
		if (u->prefix_source == CFG_PREFIX_RA) {
			uf->has_prefix = true;
			uf->prefix = a->addr;
			prefix_mask(&uf->prefix);
		}
		uf->has_addr6 = true;
		uf->addr6 = a->addr.addr.v6;
	}
	/* The router the RA named: the kernel's default route out of this WAN. */
	for (size_t i = 0; i < kv->routes.n; i++) {
		const struct kv_route *r = &kv->routes.v[i];

		if (r->table == RT_TABLE_MAIN && r->dst.addr.family == AF_INET6 && !r->dst.len &&
		    r->oif == l->ifindex && r->gw.family == AF_INET6 && r->type == RTN_UNICAST) {
			uf->has_gw6 = true;
			uf->gw6 = r->gw.v6;
			break;
		}
	}
}

static void observe_pppoe(const struct cfg_uplink *u, const struct kview *kv, struct uplink_facts *uf)
{
	const struct kv_link *ppp = kview_link_by_name(kv, u->ifname);

	uf->link_down = dev_down(kv, carrier_dev(u, kv));
	if (!ppp || !(ppp->flags & IFF_UP))
		return;
	for (size_t i = 0; i < kv->addrs.n; i++) {
		const struct kv_addr *a = &kv->addrs.v[i];

		if (a->ifindex != ppp->ifindex)
			continue;
		if (a->addr.addr.family == AF_INET && !uf->has_local4) {
			uf->has_local4 = true;
			uf->local4 = a->addr.addr.v4;
			if (a->has_peer && a->peer.family == AF_INET) {
				uf->has_peer4 = true;
				uf->peer4 = a->peer.v4;
			}
		}
		if (a->addr.addr.family == AF_INET6 && a->has_peer && a->peer.family == AF_INET6 &&
		    !uf->has_gw6) {
			uf->has_gw6 = true;
			uf->gw6 = a->peer.v6;
		}
	}
	/* IPv6CP up without a peer address in the dump: the link-local alone proves it. */
	if (u->ipv6 && !uf->has_gw6 && !u->ipv4) {
		for (size_t i = 0; i < kv->addrs.n; i++) {
			const struct kv_addr *a = &kv->addrs.v[i];

			if (a->ifindex == ppp->ifindex && a->addr.addr.family == AF_INET6 &&
			    !is_global6(a)) {
				uf->has_gw6 = true; /* the route is "dev pppN": no gateway needed */
				memset(&uf->gw6, 0, sizeof(uf->gw6));
				break;
			}
		}
	}
}

static bool active_if_holds(const struct cfg_active_if *c, const struct kview *kv)
{
	const struct kv_link *l;

	if (!c->set)
		return true;
	l = kview_link_by_name(kv, c->dev);
	if (!l)
		return false;
	for (size_t i = 0; i < kv->addrs.n; i++) {
		const struct kv_addr *a = &kv->addrs.v[i];

		if (a->ifindex == l->ifindex && addr_equal(&a->addr.addr, &c->addr))
			return true;
	}
	return false;
}

/* The device an uplink runs on that uplinkd cannot create: a NIC, a VLAN's parent. */
static const char *needed_dev(const struct cfg_uplink *u)
{
	switch (u->type) {
	case CFG_IPOE:
	case CFG_PPPOE:
	case CFG_STATIC:
		return u->vlan ? u->device : u->lower;
	case CFG_DSLITE:
	case CFG_IPIP6:
	case CFG_MAPE:
		return NULL;
	}
	return NULL;
}

void facts_observe(const struct config *cfg, const struct kview *kv, const struct own_state *own,
		   const struct observe_extra *extra, struct facts *f)
{
	for (size_t i = 0; i < cfg->n_uplinks && i < f->n; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];
		struct uplink_facts *uf = &f->u[i];
		const char *need;

		memset(uf, 0, sizeof(*uf));
		switch (u->type) {
		case CFG_IPOE:
			observe_ipoe(u, kv, own, uf);
			break;
		case CFG_PPPOE:
			observe_pppoe(u, kv, uf);
			break;
		case CFG_STATIC:
			uf->link_down = dev_down(kv, carrier_dev(u, kv));
			break;
		case CFG_DSLITE:
		case CFG_IPIP6:
		case CFG_MAPE:
			break;
		}
		uf->inactive = !active_if_holds(&u->active_if, kv);
		need = needed_dev(u);
		if (need && need[0] && !kview_link_by_name(kv, need))
			strlcpy_ul(uf->missing, need, sizeof(uf->missing));
		if (!extra)
			continue;
		if (extra->aftr && extra->aftr[i]) {
			uf->has_aftr = true;
			uf->aftr = *extra->aftr[i];
		}
		if (extra->pd && extra->pd[i]) {
			uf->has_prefix = true;
			uf->prefix = *extra->pd[i];
		}
		if (extra->health_failed)
			uf->health_failed = extra->health_failed[i];
		if (extra->admin_down)
			uf->admin_down = extra->admin_down[i];
	}
}
