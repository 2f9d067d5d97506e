/* `uplinkctl status [-j]`: what every uplink is doing, from the last plan and the kernel. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "dhcp6.h"

static const char *state_word(const struct uplink_rt *rt, const struct plan_uplink *pu)
{
	if (rt->admin_down)
		return "admin-down";
	if (pu && pu->usable)
		return "up";
	if (rt->held)
		return "held";
	return pu ? plan_state_name(pu->state) : "unknown";
}

static const char *health_word(enum health h)
{
	switch (h) {
	case HEALTH_NONE:
		return "none";
	case HEALTH_OK:
		return "ok";
	case HEALTH_FAILED:
		return "failed";
	}
	return "?";
}

static unsigned loss_pct(const struct uplink_rt *rt)
{
	unsigned ok = 0;

	if (!rt->window_n)
		return 0;
	for (unsigned i = 0; i < rt->window_n; i++)
		ok += rt->window[i];
	return (rt->window_n - ok) * 100 / rt->window_n;
}

static const struct kv_link *link_of(const struct daemon *d, const char *name)
{
	return kview_link_by_name(&d->ap.kv, name);
}

/* The addresses the kernel has on the uplink's interface (and its CE address, for MAP-E). */
static size_t addresses(const struct daemon *d, const struct cfg_uplink *u, char out[][PREFIX_STRLEN],
			size_t max)
{
	const struct kv_link *l = link_of(d, u->ifname);
	size_t n = 0;

	for (size_t i = 0; l && i < d->ap.kv.addrs.n && n < max; i++) {
		const struct kv_addr *a = &d->ap.kv.addrs.v[i];
		const uint8_t *b = a->addr.addr.b;

		if (a->ifindex != l->ifindex)
			continue;
		if (a->addr.addr.family == AF_INET6 && b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			continue;
		prefix_fmt(&a->addr, out[n++]);
	}
	return n;
}

static const char *session_word(const struct uplink_rt *rt, const struct plan_uplink *pu)
{
	if (rt->ppp_pid)
		return pu && pu->ready ? "up" : "connecting";
	return rt->ppp_timer.at_ms ? "redialling" : "stopped";
}

/* The PPP peer's address: the point-to-point address on the ppp interface. */
static const char *ppp_peer(const struct daemon *d, const struct cfg_uplink *u, char *buf)
{
	const struct kv_link *l = link_of(d, u->ifname);

	for (size_t i = 0; l && i < d->ap.kv.addrs.n; i++) {
		const struct kv_addr *a = &d->ap.kv.addrs.v[i];

		if (a->ifindex == l->ifindex && a->has_peer)
			return addr_fmt(&a->peer, buf);
	}
	return "";
}

static void ct_ports(struct daemon *d, const struct plan_uplink *pu, struct ct_usage *use)
{
	struct ul_err e;

	memset(use, 0, sizeof(*use));
	if (pu->has_ipv4)
		d->ap.k->ops->ct_usage(d->ap.k, &pu->ipv4, use, &e);
}

static void jstr(struct strbuf *sb, const char *k, const char *v, bool comma)
{
	sb_printf(sb, "%s\"%s\":", comma ? "," : "", k);
	sb_json_str(sb, v);
}

/* Seconds from now until obtained + secs, 0 when past. */
static unsigned long long left_s(uint64_t obtained_ms, uint32_t secs)
{
	uint64_t end = obtained_ms + (uint64_t)secs * 1000, now = now_ms();

	return end > now ? (unsigned long long)((end - now) / 1000) : 0;
}

static void pd_text(struct daemon *d, size_t i, struct strbuf *sb)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	const struct uplink_rt *rt = &d->rt[i];
	const struct dhcp6_lease *l = rt->pd ? dhcp6_lease(rt->pd) : NULL;
	char pfx[PREFIX_STRLEN];

	sb_printf(sb, "  DHCPv6-PD on %s: %s", u->type == CFG_PPPOE ? u->ifname : u->lower,
		  pd_state_word(rt));
	if (l && l->valid)
		sb_printf(sb, ", prefix %s, renew in %llus, valid %llus more", prefix_fmt(&l->prefix, pfx),
			  left_s(l->obtained_ms, l->t1_s), left_s(l->obtained_ms, l->valid_s));
	else
		sb_puts(sb, ", no prefix");
	if (rt->pd_sock.fd < 0 && rt->pd_why[0])
		sb_printf(sb, " (%s)", rt->pd_why);
	if (rt->pd_error[0])
		sb_printf(sb, "\n  last DHCPv6 error: %s", rt->pd_error);
	sb_puts(sb, "\n");
}

static void pd_json(struct daemon *d, size_t i, struct strbuf *sb)
{
	const struct uplink_rt *rt = &d->rt[i];
	const struct dhcp6_lease *l = rt->pd ? dhcp6_lease(rt->pd) : NULL;
	char pfx[PREFIX_STRLEN];

	sb_printf(sb, ",\"dhcpv6_pd\":{\"state\":\"%s\"", pd_state_word(rt));
	jstr(sb, "prefix", l && l->valid ? prefix_fmt(&l->prefix, pfx) : "", true);
	sb_printf(sb, ",\"renew_in_s\":%llu,\"rebind_in_s\":%llu,\"preferred_s\":%llu,\"valid_s\":%llu",
		  l && l->valid ? left_s(l->obtained_ms, l->t1_s) : 0ULL,
		  l && l->valid ? left_s(l->obtained_ms, l->t2_s) : 0ULL,
		  l && l->valid ? left_s(l->obtained_ms, l->preferred_s) : 0ULL,
		  l && l->valid ? left_s(l->obtained_ms, l->valid_s) : 0ULL);
	jstr(sb, "waiting", rt->pd_sock.fd < 0 ? rt->pd_why : "", true);
	jstr(sb, "last_error", rt->pd_error, true);
	sb_puts(sb, "}");
}

void status_text(struct daemon *d, struct strbuf *sb)
{
	time_t now = time(NULL);
	char buf[INET6_ADDRSTRLEN];

	sb_printf(sb, "configuration %s; IPv4 default via %s, IPv6 default via %s\n", d->config_path,
		  d->have_plan && d->plan.default4 ? d->plan.default4->name : "none",
		  d->have_plan && d->plan.default6 ?
			  (d->plan.default6->type == CFG_IPOE ? "RA" : d->plan.default6->name) : "none");
	for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &d->cfg->uplinks[i];
		const struct uplink_rt *rt = &d->rt[i];
		const struct plan_uplink *pu = d->have_plan ? &d->plan.uplinks[i] : NULL;
		const struct kv_link *l = link_of(d, u->ifname);
		char addrs[8][PREFIX_STRLEN];
		size_t na = addresses(d, u, addrs, 8);

		sb_printf(sb, "\n%s (%s): %s since %lds", u->name, cfg_type_name(u->type), state_word(rt, pu),
			  (long)(now - rt->since));
		if (pu && pu->reason[0] && strcmp(pu->reason, "up"))
			sb_printf(sb, " -- %s", pu->reason);
		sb_printf(sb, "\n  interface %s%s, table %u, priority ", u->ifname,
			  l ? "" : " (absent)", u->table);
		if (u->has_priority)
			sb_printf(sb, "%u\n", u->priority);
		else
			sb_puts(sb, "none\n");
		if (na) {
			sb_puts(sb, "  addresses");
			for (size_t k = 0; k < na; k++)
				sb_printf(sb, " %s", addrs[k]);
			sb_puts(sb, "\n");
		}
		if (l)
			sb_printf(sb, "  rx %llu bytes %llu packets, tx %llu bytes %llu packets\n",
				  (unsigned long long)l->rx_bytes, (unsigned long long)l->rx_packets,
				  (unsigned long long)l->tx_bytes, (unsigned long long)l->tx_packets);
		if (u->check != CFG_CHECK_NONE)
			sb_printf(sb, "  health %s: %s, loss %u%% of the last %u, rtt %.1f ms\n",
				  u->check_target, health_word(rt->health), loss_pct(rt), rt->window_n, rt->rtt_ms);
		if (pu && pu->has_mape) {
			const struct mape_result *m = &pu->mape;
			struct ct_usage use;

			ct_ports(d, pu, &use);
			sb_printf(sb, "  MAP-E IPv4 %s PSID %u/%u, %u port sets of %u: ",
				  inet_ntop(AF_INET, &m->ipv4, buf, sizeof(buf)), m->psid, m->psid_len,
				  m->port_sets, m->ports_per_set);
			for (unsigned k = 0; k < m->port_sets && k < 4; k++) {
				uint16_t lo, hi;

				mape_port_range(m, k, &lo, &hi);
				sb_printf(sb, "%s%u-%u", k ? " " : "", lo, hi);
			}
			sb_printf(sb, "%s\n  ports in use: %u TCP, %u UDP, %u ICMP of %u\n",
				  m->port_sets > 4 ? " ..." : "", use.tcp, use.udp, use.icmp, mape_port_count(m));
		}
		if (u->type == CFG_PPPOE) {
			char peer[PREFIX_STRLEN];

			sb_printf(sb, "  PPPoE on %s as %s: session %s", u->lower, u->ifname, session_word(rt, pu));
			if (rt->ppp_pid)
				sb_printf(sb, " (pppd %d, %llus)", (int)rt->ppp_pid,
					  (unsigned long long)((now_ms() - rt->ppp_started_ms) / 1000));
			if (ppp_peer(d, u, peer)[0])
				sb_printf(sb, ", peer %s", peer);
			if (rt->ppp_reason[0])
				sb_printf(sb, "\n  last disconnect: %s", rt->ppp_reason);
			sb_puts(sb, "\n");
		}
		if (pd_wanted(u))
			pd_text(d, i, sb);
		if (u->type == CFG_DSLITE)
			sb_printf(sb, "  AFTR %s %s\n", u->aftr_name ? u->aftr_name : "",
				  u->has_aftr_addr ? inet_ntop(AF_INET6, &u->aftr, buf, sizeof(buf)) :
				  rt->has_aftr ? inet_ntop(AF_INET6, &rt->aftr, buf, sizeof(buf)) : "(unresolved)");
		if (u->type == CFG_IPIP6 && u->update_url)
			sb_printf(sb, "  update request: %s%s%s\n",
				  rt->update_ok ? "registered " : rt->update_pid ? "sending for " : "pending for ",
				  inet_ntop(AF_INET6, &rt->update_local, buf, sizeof(buf)),
				  rt->update_msg[0] && !rt->update_ok ? " (last: failed)" : "");
	}
}

void status_json(struct daemon *d, struct strbuf *sb)
{
	time_t now = time(NULL);
	char buf[INET6_ADDRSTRLEN];

	sb_puts(sb, "{");
	jstr(sb, "config", d->config_path, false);
	jstr(sb, "default4", d->have_plan && d->plan.default4 ? d->plan.default4->name : "", true);
	jstr(sb, "default6", d->have_plan && d->plan.default6 ? d->plan.default6->name : "", true);
	sb_printf(sb, ",\"reconciles\":%lu,\"events\":%lu,\"event_overflows\":%lu,\"last_reconcile_us\":%llu,",
		  d->reconciles, d->events, d->event_overflows, (unsigned long long)d->last_reconcile_us);
	sb_printf(sb, "\"uptime_s\":%llu,\"uplinks\":[", (unsigned long long)((now_ms() - d->started_ms) / 1000));
	for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &d->cfg->uplinks[i];
		const struct uplink_rt *rt = &d->rt[i];
		const struct plan_uplink *pu = d->have_plan ? &d->plan.uplinks[i] : NULL;
		const struct kv_link *l = link_of(d, u->ifname);
		char addrs[8][PREFIX_STRLEN];
		size_t na = addresses(d, u, addrs, 8);

		sb_puts(sb, i ? ",{" : "{");
		jstr(sb, "name", u->name, false);
		jstr(sb, "type", cfg_type_name(u->type), true);
		jstr(sb, "state", state_word(rt, pu), true);
		jstr(sb, "reason", pu ? pu->reason : "", true);
		sb_printf(sb, ",\"since\":%lld,\"since_s\":%ld,\"usable\":%s", (long long)rt->since,
			  (long)(now - rt->since), pu && pu->usable ? "true" : "false");
		jstr(sb, "device", u->ifname, true);
		jstr(sb, "lower", u->lower[0] ? u->lower : u->over_uplink ? u->over_uplink->lower : "", true);
		sb_printf(sb, ",\"present\":%s,\"table\":%u,\"mark\":%u,\"priority\":", l ? "true" : "false",
			  u->table, pu ? pu->mark : 0);
		if (u->has_priority)
			sb_printf(sb, "%u", u->priority);
		else
			sb_puts(sb, "null");
		sb_puts(sb, ",\"addresses\":[");
		for (size_t k = 0; k < na; k++) {
			if (k)
				sb_puts(sb, ",");
			sb_json_str(sb, addrs[k]);
		}
		sb_printf(sb, "],\"counters\":{\"rx_bytes\":%llu,\"tx_bytes\":%llu,\"rx_packets\":%llu,\"tx_packets\":%llu}",
			  l ? (unsigned long long)l->rx_bytes : 0ULL, l ? (unsigned long long)l->tx_bytes : 0ULL,
			  l ? (unsigned long long)l->rx_packets : 0ULL, l ? (unsigned long long)l->tx_packets : 0ULL);
		sb_printf(sb, ",\"health\":{\"check\":");
		if (u->check != CFG_CHECK_NONE)
			sb_json_str(sb, u->check_target);
		else
			sb_puts(sb, "null");
		sb_printf(sb, ",\"state\":\"%s\",\"loss_pct\":%u,\"probes\":%u,\"rtt_ms\":%.2f}",
			  health_word(rt->health), loss_pct(rt), rt->window_n, rt->rtt_ms);
		if (pu && pu->has_ipv4)
			jstr(sb, "ipv4", inet_ntop(AF_INET, &pu->ipv4, buf, sizeof(buf)), true);
		if (pu && pu->has_mape) {
			const struct mape_result *m = &pu->mape;
			struct ct_usage use;

			ct_ports(d, pu, &use);
			sb_printf(sb, ",\"mape\":{\"ipv4\":\"%s\",\"psid\":%u,\"psid_len\":%u,\"psid_offset\":%u,\"ports\":[",
				  inet_ntop(AF_INET, &m->ipv4, buf, sizeof(buf)), m->psid, m->psid_len, m->psid_offset);
			for (unsigned k = 0; k < m->port_sets; k++) {
				uint16_t lo, hi;

				mape_port_range(m, k, &lo, &hi);
				sb_printf(sb, "%s[%u,%u]", k ? "," : "", lo, hi);
			}
			sb_printf(sb, "],\"port_count\":%u,\"ports_in_use\":{\"tcp\":%u,\"udp\":%u,\"icmp\":%u,\"entries\":%u}",
				  mape_port_count(m), use.tcp, use.udp, use.icmp, use.entries);
			jstr(sb, "ce_ipv6", inet_ntop(AF_INET6, &m->ce, buf, sizeof(buf)), true);
			sb_puts(sb, "}");
		}
		if (u->type == CFG_PPPOE) {
			char peer[PREFIX_STRLEN];

			sb_printf(sb, ",\"pppoe\":{\"session\":\"%s\",\"pid\":%d,\"starts\":%u",
				  session_word(rt, pu), (int)rt->ppp_pid, rt->ppp_starts);
			jstr(sb, "peer", ppp_peer(d, u, peer), true);
			jstr(sb, "last_disconnect", rt->ppp_reason, true);
			sb_puts(sb, "}");
		}
		if (pd_wanted(u))
			pd_json(d, i, sb);
		if (u->type == CFG_DSLITE)
			jstr(sb, "aftr", u->has_aftr_addr ? inet_ntop(AF_INET6, &u->aftr, buf, sizeof(buf)) :
				   rt->has_aftr ? inet_ntop(AF_INET6, &rt->aftr, buf, sizeof(buf)) : "", true);
		if (u->type == CFG_IPIP6 && u->update_url) {
			sb_printf(sb, ",\"update\":{\"registered\":%s", rt->update_ok ? "true" : "false");
			jstr(sb, "local", inet_ntop(AF_INET6, &rt->update_local, buf, sizeof(buf)), true);
			jstr(sb, "last_error", rt->update_ok ? "" : rt->update_msg, true);
			sb_puts(sb, "}");
		}
		sb_puts(sb, "}");
	}
	sb_puts(sb, "]}\n");
}
