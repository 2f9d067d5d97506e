/* The normalised configuration: every effective value explicit, in a fixed order. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

static const char *yesno(bool b)
{
	return b ? "yes" : "no";
}

static const char *v4(const struct in_addr *a, char *buf)
{
	return inet_ntop(AF_INET, a, buf, INET6_ADDRSTRLEN);
}

static const char *v6(const struct in6_addr *a, char *buf)
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static void print_ms(struct strbuf *sb, const char *key, uint64_t ms)
{
	if (ms % 1000)
		sb_printf(sb, "%s = %llums\n", key, (unsigned long long)ms);
	else
		sb_printf(sb, "%s = %llus\n", key, (unsigned long long)(ms / 1000));
}

static void print_active_if(struct strbuf *sb, const struct cfg_active_if *a)
{
	char buf[PREFIX_STRLEN];

	if (a->set)
		sb_printf(sb, "active-if = address %s on %s\n", addr_fmt(&a->addr, buf), a->dev);
}

static void print_prefixes(struct strbuf *sb, const char *key, const struct ip_prefix *v, size_t n)
{
	char buf[PREFIX_STRLEN];

	if (!n)
		return;
	sb_printf(sb, "%s =", key);
	for (size_t i = 0; i < n; i++)
		sb_printf(sb, " %s", prefix_fmt(&v[i], buf));
	sb_puts(sb, "\n");
}

static void print_uplink(struct strbuf *sb, const struct cfg_uplink *u)
{
	char a[PREFIX_STRLEN], b[PREFIX_STRLEN];

	sb_printf(sb, "\n[uplink %s]\ntype = %s\n", u->name, cfg_type_name(u->type));
	if (u->device[0])
		sb_printf(sb, "device = %s\n", u->device);
	if (u->vlan)
		sb_printf(sb, "vlan = %u\n", u->vlan);
	if (u->type != CFG_IPOE && u->type != CFG_STATIC)
		sb_printf(sb, "ifname = %s\n", u->ifname);
	if (u->has_priority)
		sb_printf(sb, "priority = %u\n", u->priority);
	else
		sb_puts(sb, "priority = none\n");
	if (u->mtu)
		sb_printf(sb, "mtu = %u\n", u->mtu);
	if (u->type != CFG_IPOE)
		sb_printf(sb, "nat = %s\n", yesno(u->nat));
	sb_printf(sb, "mss-clamp = %s\ntable = %u\n", yesno(u->mss_clamp), u->table);
	if (u->disabled)
		sb_puts(sb, "disabled = yes\n");

	switch (u->type) {
	case CFG_PPPOE:
		sb_printf(sb, "user = %s\npassword-file = %s\nipv4 = %s\nipv6 = %s\ndhcpv6-pd = %s\n",
			  u->user, u->password_file, yesno(u->ipv4), yesno(u->ipv6), yesno(u->dhcpv6_pd));
		if (u->service)
			sb_printf(sb, "service = %s\n", u->service);
		if (u->ac_name)
			sb_printf(sb, "ac-name = %s\n", u->ac_name);
		sb_printf(sb, "lcp-echo-interval = %u\nlcp-echo-failure = %u\n", u->lcp_echo_interval,
			  u->lcp_echo_failure);
		break;
	case CFG_IPOE:
		if (u->has_token)
			sb_printf(sb, "token = %s\n", v6(&u->token, a));
		if (u->prefix_source == CFG_PREFIX_STATIC)
			sb_printf(sb, "prefix = %s\n", prefix_fmt(&u->prefix, a));
		else
			sb_printf(sb, "prefix = %s\n", u->prefix_source == CFG_PREFIX_RA ? "ra" : "dhcpv6-pd");
		break;
	case CFG_DSLITE:
		sb_printf(sb, "over = %s\naftr = %s\nb4 = %s\n", u->over,
			  u->aftr_name ? u->aftr_name : v6(&u->aftr, a), v4(&u->b4, b));
		break;
	case CFG_IPIP6:
		sb_printf(sb, "over = %s\nremote = %s\nipv4 = %s\n", u->over, v6(&u->remote, a),
			  v4(&u->fixed_ipv4, b));
		if (u->user)
			sb_printf(sb, "user = %s\npassword-file = %s\n", u->user, u->password_file);
		sb_printf(sb, "update-url = %s\n", u->update_url ? u->update_url : "none");
		if (u->update_interval_ms)
			print_ms(sb, "update-interval", u->update_interval_ms);
		break;
	case CFG_MAPE:
		sb_printf(sb, "over = %s\n", u->over);
		if (u->rule_auto) {
			sb_puts(sb, "rule = auto\n");
		} else {
			sb_printf(sb, "rule-ipv6 = %s\n", prefix_fmt(&u->rule.ipv6, a));
			sb_printf(sb, "rule-ipv4 = %s\n", prefix_fmt(&u->rule.ipv4, a));
			sb_printf(sb, "ea-len = %u\npsid-offset = %u\n", u->rule.ea_len, u->rule.psid_offset);
		}
		if (u->rule.psid_len >= 0)
			sb_printf(sb, "psid-len = %d\n", u->rule.psid_len);
		if (u->rule.has_br)
			sb_printf(sb, "br = %s\n", v6(&u->rule.br, a));
		sb_printf(sb, "iid = %s\n", u->rule.iid == MAPE_IID_DRAFT03 ? "draft03" : "rfc7597");
		break;
	case CFG_STATIC:
		if (u->ipv4)
			sb_printf(sb, "ipv4 = %s\ngateway = %s\n", prefix_fmt(&u->addr4, a),
				  addr_fmt(&u->gateway4, b));
		if (u->ipv6)
			sb_printf(sb, "ipv6 = %s\ngateway6 = %s\n", prefix_fmt(&u->addr6, a),
				  addr_fmt(&u->gateway6, b));
		break;
	}
	if (u->dhcpv6_pd || (u->type == CFG_IPOE && u->prefix_source == CFG_PREFIX_DHCPV6_PD)) {
		if (u->pd_lan[0])
			sb_printf(sb, "pd-lan = %s\n", u->pd_lan);
		sb_printf(sb, "pd-subnet = %u\npd-iid = %s\n", u->pd_subnet, v6(&u->pd_iid, a));
	}
	if (u->check != CFG_CHECK_NONE) {
		static const char *const kinds[] = { "none", "icmp", "tcp", "http" };

		sb_printf(sb, "check = %s %s\n", kinds[u->check], u->check_target);
		print_ms(sb, "check-interval", u->check_interval_ms);
		sb_printf(sb, "check-fail = %u\ncheck-recover = %u\n", u->check_fail, u->check_recover);
	}
	if (u->n_accept) {
		sb_puts(sb, "accept =");
		for (size_t i = 0; i < u->n_accept; i++) {
			const struct cfg_accept *x = &u->accept[i];

			sb_printf(sb, " %s/%u", x->proto == IPPROTO_TCP ? "tcp" : "udp", x->ports.lo);
			if (x->ports.hi != x->ports.lo)
				sb_printf(sb, "-%u", x->ports.hi);
		}
		sb_puts(sb, "\n");
	}
	print_active_if(sb, &u->active_if);
}

static void print_policy(struct strbuf *sb, const struct cfg_policy *p)
{
	sb_printf(sb, "\n[policy %s]\n", p->name);
	print_prefixes(sb, "from", p->from, p->n_from);
	if (p->to_file && p->n_to > 16)
		sb_printf(sb, "to = (%zu prefixes, from %s)\n", p->n_to, p->to_file);
	else
		print_prefixes(sb, "to", p->to, p->n_to);
	if (p->proto_tcp || p->proto_udp || p->proto_icmp)
		sb_printf(sb, "proto =%s%s%s\n", p->proto_tcp ? " tcp" : "", p->proto_udp ? " udp" : "",
			  p->proto_icmp ? " icmp" : "");
	if (p->n_dport) {
		sb_puts(sb, "dport =");
		for (size_t i = 0; i < p->n_dport; i++) {
			sb_printf(sb, " %u", p->dport[i].lo);
			if (p->dport[i].hi != p->dport[i].lo)
				sb_printf(sb, "-%u", p->dport[i].hi);
		}
		sb_puts(sb, "\n");
	}
	sb_printf(sb, "uplink = %s\n", p->uplink->name);
	if (p->fallback_none)
		sb_puts(sb, "fallback = none\n");
	else if (p->n_fallback) {
		sb_puts(sb, "fallback =");
		for (size_t i = 0; i < p->n_fallback; i++)
			sb_printf(sb, " %s", p->fallback[i]->name);
		sb_puts(sb, "\n");
	}
}

void cfg_print(const struct config *cfg, struct strbuf *sb)
{
	sb_puts(sb, "[global]\nlan =");
	for (size_t i = 0; i < cfg->n_lan; i++)
		sb_printf(sb, " %s", cfg->lan[i]);
	sb_printf(sb, "\ntable-base = %u\nrule-priority = %u\nfwmark-mask = 0x%08x\n"
		  "route-protocol = %u\nnft-table = %s\nfirewall = %s\n",
		  cfg->table_base, cfg->rule_priority, cfg->fwmark_mask, cfg->route_protocol,
		  cfg->nft_table, yesno(cfg->firewall));
	print_ms(sb, "hold-down", cfg->hold_down_ms);
	print_active_if(sb, &cfg->active_if);
	for (size_t i = 0; i < cfg->n_uplinks; i++)
		print_uplink(sb, &cfg->uplinks[i]);
	for (size_t i = 0; i < cfg->n_policies; i++)
		print_policy(sb, &cfg->policies[i]);
}
