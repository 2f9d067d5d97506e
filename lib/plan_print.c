/* The plan in ip/sysctl/nft vocabulary (a runnable shell script) and as JSON. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "plan.h"

static const char *v6(const struct in6_addr *a, char *buf)
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static const char *v4(const struct in_addr *a, char *buf)
{
	return inet_ntop(AF_INET, a, buf, INET6_ADDRSTRLEN);
}

bool plan_sysctl_is_device(const char *key)
{
	return strstr(key, "/conf/") && !strstr(key, "/conf/all/") && !strstr(key, "/conf/default/");
}

void plan_sysctl_name(const char *path, char *out, size_t len)
{
	size_t i;

	for (i = 0; path[i] && i + 1 < len; i++) {
		if (path[i] == '/')
			out[i] = '.';
		else if (path[i] == '.')
			out[i] = '/';
		else
			out[i] = path[i];
	}
	out[i] = '\0';
}

static const char *family_flag(int family)
{
	return family == AF_INET6 ? "-6 " : "";
}

static void print_ports(struct strbuf *sb, const struct mape_result *m, unsigned max)
{
	unsigned n = m->port_sets < max ? m->port_sets : max;

	for (unsigned i = 0; i < n; i++) {
		uint16_t lo, hi;

		mape_port_range(m, i, &lo, &hi);
		sb_printf(sb, "%s%u-%u", i ? " " : "", lo, hi);
	}
	if (n < m->port_sets)
		sb_printf(sb, " ... (%u more)", m->port_sets - n);
}

static void print_uplink_comment(struct strbuf *sb, const struct plan_uplink *pu)
{
	const struct cfg_uplink *u = pu->cfg;
	char a[INET6_ADDRSTRLEN];

	sb_printf(sb, "# uplink %s: %s on %s, table %u, mark 0x%08x: %s", u->name, cfg_type_name(u->type),
		  u->over_uplink ? u->over_uplink->ifname : u->lower, u->table, pu->mark,
		  plan_state_name(pu->state));
	if (pu->state != PLAN_UP)
		sb_printf(sb, " (%s)", pu->reason);
	sb_puts(sb, "\n");
	if (pu->has_mape) {
		const struct mape_result *m = &pu->mape;

		sb_printf(sb, "#   MAP-E%s%s: IPv4 %s", pu->mape_service ? " rule " : "",
			  pu->mape_service ? pu->mape_service : "", v4(&m->ipv4, a));
		if (m->ipv4_len < 32)
			sb_printf(sb, "/%u", m->ipv4_len);
		sb_printf(sb, ", PSID %u (length %u, offset %u), %u port sets of %u = %u ports\n#   ports ",
			  m->psid, m->psid_len, m->psid_offset, m->port_sets, m->ports_per_set,
			  mape_port_count(m));
		print_ports(sb, m, 8);
		sb_printf(sb, "\n#   CE %s", v6(&m->ce, a));
		if (m->has_br)
			sb_printf(sb, ", BR %s", v6(&m->br, a));
		sb_puts(sb, "\n");
	} else if (pu->has_ipv4 && pu->state == PLAN_UP) {
		sb_printf(sb, "#   IPv4 %s\n", v4(&pu->ipv4, a));
	}
	if (u->type == CFG_IPIP6 && u->update_url && pu->has_local6)
		sb_printf(sb, "#   then: GET %s?username=%s&password=(from %s) from %s\n", u->update_url,
			  u->user, u->password_file, v6(&pu->local6, a));
}

void plan_route_str(struct strbuf *sb, const struct plan_route *r, unsigned proto, const char *verb)
{
	char a[PREFIX_STRLEN];
	const char *dst = r->dst.len ? prefix_fmt(&r->dst, a) : "default";

	sb_printf(sb, "ip %sroute %s ", family_flag(r->dst.addr.family), verb);
	if (r->type == PLAN_RT_UNREACHABLE) {
		sb_printf(sb, "unreachable %s", dst);
	} else {
		sb_printf(sb, "%s", dst);
		if (r->gw.family) {
			char g[INET6_ADDRSTRLEN];

			sb_printf(sb, " via %s", addr_fmt(&r->gw, g));
		}
		sb_printf(sb, " dev %s", r->dev);
		if (r->onlink)
			sb_puts(sb, " onlink");
	}
	if (r->table != 254)
		sb_printf(sb, " table %u", r->table);
	sb_printf(sb, " proto %u metric %u", proto, r->metric);
}

void plan_rule_str(struct strbuf *sb, const struct plan_rule *r, unsigned proto, const char *verb)
{
	char a[PREFIX_STRLEN];

	sb_printf(sb, "ip %srule %s priority %u", family_flag(r->family), verb, r->priority);
	if (r->has_src)
		sb_printf(sb, " from %s", prefix_fmt(&r->src, a));
	if (r->fwmask)
		sb_printf(sb, " fwmark 0x%x/0x%x", r->fwmark, r->fwmask);
	if (r->action == PLAN_RULE_PROHIBIT)
		sb_puts(sb, " prohibit");
	else if (r->table == 254)
		sb_puts(sb, " lookup main");
	else
		sb_printf(sb, " lookup %u", r->table);
	if (r->suppress_prefixlen >= 0)
		sb_printf(sb, " suppress_prefixlength %d", r->suppress_prefixlen);
	sb_printf(sb, " proto %u", proto);
}

void plan_link_str(struct strbuf *sb, const struct plan_link *l)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (l->kind == PLAN_LINK_VLAN)
		sb_printf(sb, "ip link add link %s name %s type vlan id %u", l->parent, l->name, l->vlan_id);
	else
		sb_printf(sb, "ip link add %s type ip6tnl mode ipip6 local %s remote %s dev %s encaplimit none",
			  l->name, l->has_local ? v6(&l->local, a) : "any", v6(&l->remote, b), l->parent);
}

void plan_addr_str(struct strbuf *sb, const struct plan_addr *x, const char *verb)
{
	char a[PREFIX_STRLEN];

	sb_printf(sb, "ip %saddress %s %s dev %s%s", family_flag(x->addr.addr.family), verb,
		  prefix_fmt(&x->addr, a), x->dev, x->nodad ? " nodad" : "");
}

static void print_sysctls(struct strbuf *sb, const struct plan *p, bool devices)
{
	for (size_t i = 0; i < p->sysctls.n; i++) {
		char name[128];

		if (plan_sysctl_is_device(p->sysctls.v[i].key) != devices)
			continue;
		plan_sysctl_name(p->sysctls.v[i].key, name, sizeof(name));
		sb_printf(sb, "sysctl -qw %s=%s\n", name, p->sysctls.v[i].value);
	}
}

void plan_print(const struct plan *p, struct strbuf *sb)
{
	const struct config *cfg = p->cfg;
	char a[PREFIX_STRLEN];

	sb_printf(sb, "#!/bin/sh\n# uplinkd plan for %s\n", cfg->path);
	for (size_t i = 0; i < cfg->n_uplinks; i++)
		print_uplink_comment(sb, &p->uplinks[i]);
	sb_printf(sb, "# main table default route: IPv4 %s, IPv6 %s\n",
		  p->default4 ? p->default4->name : "none",
		  p->default6 ? (p->default6->type == CFG_IPOE ? "from RA" : p->default6->name) : "none");
	for (size_t i = 0; i < p->procs.n; i++) {
		const struct plan_proc *pr = &p->procs.v[i];

		char addr[INET6_ADDRSTRLEN];

		switch (pr->kind) {
		case PLAN_PROC_PPPD:
			sb_printf(sb, "# uplinkd runs: pppd (PPPoE) on %s as %s for %s\n", pr->dev, pr->ifname,
				  pr->uplink);
			break;
		case PLAN_PROC_DHCPV6_PD:
			sb_printf(sb, "# uplinkd runs: DHCPv6-PD client on %s for %s%s\n", pr->dev, pr->uplink,
				  pr->paused ? " (paused, keeping its lease)" : "");
			break;
		case PLAN_PROC_UPDATE:
			sb_printf(sb, "# uplinkd runs: the update request registering %s for %s\n",
				  inet_ntop(AF_INET6, &pr->local, addr, sizeof(addr)), pr->uplink);
			break;
		}
	}
	sb_puts(sb, "set -e\n\n");

	print_sysctls(sb, p, false);
	for (size_t i = 0; i < p->devs.n; i++) {
		if (p->devs.v[i].mtu)
			sb_printf(sb, "ip link set dev %s mtu %u up\n", p->devs.v[i].name, p->devs.v[i].mtu);
		else
			sb_printf(sb, "ip link set dev %s up\n", p->devs.v[i].name);
	}
	for (size_t i = 0; i < p->links.n; i++) {
		const struct plan_link *l = &p->links.v[i];

		plan_link_str(sb, l);
		sb_puts(sb, "\n");
		if (l->mtu)
			sb_printf(sb, "ip link set dev %s mtu %u up\n", l->name, l->mtu);
		else
			sb_printf(sb, "ip link set dev %s up\n", l->name);
	}
	print_sysctls(sb, p, true);
	for (size_t i = 0; i < p->tokens.n; i++)
		sb_printf(sb, "ip token set %s dev %s\n", v6(&p->tokens.v[i].token, a), p->tokens.v[i].dev);
	for (size_t i = 0; i < p->addrs.n; i++) {
		plan_addr_str(sb, &p->addrs.v[i], "add");
		sb_puts(sb, "\n");
	}
	for (size_t i = 0; i < p->routes.n; i++) {
		plan_route_str(sb, &p->routes.v[i], cfg->route_protocol, "add");
		sb_puts(sb, "\n");
	}
	for (size_t i = 0; i < p->rules.n; i++) {
		plan_rule_str(sb, &p->rules.v[i], cfg->route_protocol, "add");
		sb_printf(sb, "  # %s\n", p->rules.v[i].comment);
	}
	sb_printf(sb, "nft -f - <<'EOF'\ntable inet %s\ndelete table inet %s\n", p->nft.name, p->nft.name);
	nftp_print(&p->nft, sb);
	sb_puts(sb, "EOF\n");
}

/* ---- JSON ---- */

static void jkey(struct strbuf *sb, bool *first, const char *k)
{
	sb_printf(sb, "%s\"%s\":", *first ? "" : ",", k);
	*first = false;
}

static void jstr(struct strbuf *sb, bool *first, const char *k, const char *v)
{
	jkey(sb, first, k);
	sb_json_str(sb, v);
}

static void jnum(struct strbuf *sb, bool *first, const char *k, unsigned long long v)
{
	jkey(sb, first, k);
	sb_printf(sb, "%llu", v);
}

static void jbool(struct strbuf *sb, bool *first, const char *k, bool v)
{
	jkey(sb, first, k);
	sb_puts(sb, v ? "true" : "false");
}

void plan_print_json(const struct plan *p, struct strbuf *sb)
{
	const struct config *cfg = p->cfg;
	char a[PREFIX_STRLEN];
	bool f;

	sb_puts(sb, "{\"uplinks\":[");
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct plan_uplink *pu = &p->uplinks[i];

		f = true;
		sb_puts(sb, i ? ",{" : "{");
		jstr(sb, &f, "name", pu->cfg->name);
		jstr(sb, &f, "type", cfg_type_name(pu->cfg->type));
		jstr(sb, &f, "state", plan_state_name(pu->state));
		jstr(sb, &f, "reason", pu->reason);
		jstr(sb, &f, "ifname", pu->cfg->ifname);
		jnum(sb, &f, "table", pu->cfg->table);
		jnum(sb, &f, "mark", pu->mark);
		jbool(sb, &f, "usable", pu->usable);
		if (pu->has_ipv4)
			jstr(sb, &f, "ipv4", v4(&pu->ipv4, a));
		if (pu->has_local6)
			jstr(sb, &f, "local6", v6(&pu->local6, a));
		if (pu->has_mape) {
			const struct mape_result *m = &pu->mape;

			jkey(sb, &f, "mape");
			sb_puts(sb, "{");
			bool g = true;
			jstr(sb, &g, "ipv4", v4(&m->ipv4, a));
			jnum(sb, &g, "psid", m->psid);
			jnum(sb, &g, "psid_len", m->psid_len);
			jnum(sb, &g, "port_count", mape_port_count(m));
			jstr(sb, &g, "ce_ipv6", v6(&m->ce, a));
			jkey(sb, &g, "ports");
			sb_puts(sb, "[");
			for (unsigned k = 0; k < m->port_sets; k++) {
				uint16_t lo, hi;

				mape_port_range(m, k, &lo, &hi);
				sb_printf(sb, "%s[%u,%u]", k ? "," : "", lo, hi);
			}
			sb_puts(sb, "]}");
		}
		sb_puts(sb, "}");
	}
	sb_puts(sb, "],\"sysctls\":[");
	for (size_t i = 0; i < p->sysctls.n; i++) {
		f = true;
		sb_puts(sb, i ? ",{" : "{");
		jstr(sb, &f, "key", p->sysctls.v[i].key);
		jstr(sb, &f, "value", p->sysctls.v[i].value);
		sb_puts(sb, "}");
	}
	sb_puts(sb, "],\"links\":[");
	for (size_t i = 0; i < p->links.n; i++) {
		const struct plan_link *l = &p->links.v[i];

		f = true;
		sb_puts(sb, i ? ",{" : "{");
		jstr(sb, &f, "name", l->name);
		jstr(sb, &f, "kind", l->kind == PLAN_LINK_VLAN ? "vlan" : "ip6tnl");
		jstr(sb, &f, "parent", l->parent);
		if (l->kind == PLAN_LINK_VLAN) {
			jnum(sb, &f, "vlan", l->vlan_id);
		} else {
			jstr(sb, &f, "local", l->has_local ? v6(&l->local, a) : "any");
			jstr(sb, &f, "remote", v6(&l->remote, a));
		}
		if (l->mtu)
			jnum(sb, &f, "mtu", l->mtu);
		sb_puts(sb, "}");
	}
	sb_puts(sb, "],\"tokens\":[");
	for (size_t i = 0; i < p->tokens.n; i++) {
		f = true;
		sb_puts(sb, i ? ",{" : "{");
		jstr(sb, &f, "dev", p->tokens.v[i].dev);
		jstr(sb, &f, "token", v6(&p->tokens.v[i].token, a));
		sb_puts(sb, "}");
	}
	sb_puts(sb, "],\"addresses\":[");
	for (size_t i = 0; i < p->addrs.n; i++) {
		f = true;
		sb_puts(sb, i ? ",{" : "{");
		jstr(sb, &f, "dev", p->addrs.v[i].dev);
		jstr(sb, &f, "address", prefix_fmt(&p->addrs.v[i].addr, a));
		sb_puts(sb, "}");
	}
	sb_puts(sb, "],\"routes\":[");
	for (size_t i = 0; i < p->routes.n; i++) {
		const struct plan_route *r = &p->routes.v[i];

		f = true;
		sb_puts(sb, i ? ",{" : "{");
		jnum(sb, &f, "table", r->table);
		jstr(sb, &f, "dst", prefix_fmt(&r->dst, a));
		jstr(sb, &f, "type", r->type == PLAN_RT_UNREACHABLE ? "unreachable" : "unicast");
		if (r->gw.family)
			jstr(sb, &f, "via", addr_fmt(&r->gw, a));
		if (r->onlink)
			jbool(sb, &f, "onlink", true);
		if (r->dev[0])
			jstr(sb, &f, "dev", r->dev);
		sb_puts(sb, "}");
	}
	sb_puts(sb, "],\"rules\":[");
	for (size_t i = 0; i < p->rules.n; i++) {
		const struct plan_rule *r = &p->rules.v[i];

		f = true;
		sb_puts(sb, i ? ",{" : "{");
		jstr(sb, &f, "family", r->family == AF_INET ? "ipv4" : "ipv6");
		jnum(sb, &f, "priority", r->priority);
		if (r->has_src)
			jstr(sb, &f, "from", prefix_fmt(&r->src, a));
		if (r->fwmask) {
			jnum(sb, &f, "fwmark", r->fwmark);
			jnum(sb, &f, "fwmask", r->fwmask);
		}
		jstr(sb, &f, "action", r->action == PLAN_RULE_PROHIBIT ? "prohibit" : "lookup");
		if (r->action == PLAN_RULE_LOOKUP)
			jnum(sb, &f, "table", r->table);
		sb_puts(sb, "}");
	}
	sb_puts(sb, "],\"nftables\":");
	{
		struct strbuf nft = { 0 };

		nftp_print(&p->nft, &nft);
		sb_json_str(sb, nft.s ? nft.s : "");
		sb_free(&nft);
	}
	sb_puts(sb, "}\n");
}
