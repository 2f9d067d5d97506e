#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"

int facts_init(struct facts *f, const struct config *cfg)
{
	f->n = cfg->n_uplinks;
	f->u = calloc(f->n ? f->n : 1, sizeof(*f->u));
	return f->u ? 0 : -ENOMEM;
}

void facts_free(struct facts *f)
{
	free(f->u);
	f->u = NULL;
	f->n = 0;
}

static int v6(const char *v, struct in6_addr *out, const char *what, struct ul_err *e)
{
	if (inet_pton(AF_INET6, v, out) != 1)
		return ul_errf(e, EINVAL, "%s must be an IPv6 address, got \"%s\"", what, v);
	return 0;
}

static int v4(const char *v, struct in_addr *out, const char *what, struct ul_err *e)
{
	if (inet_pton(AF_INET, v, out) != 1)
		return ul_errf(e, EINVAL, "%s must be an IPv4 address, got \"%s\"", what, v);
	return 0;
}

int facts_set(struct facts *f, const struct config *cfg, const char *assignment, struct ul_err *e)
{
	const char *dot = strchr(assignment, '.'), *eq = strchr(assignment, '=');
	char name[64], key[32];
	const struct cfg_uplink *u;
	struct uplink_facts *uf;
	const char *v;

	if (!dot || !eq || dot > eq || (size_t)(dot - assignment) >= sizeof(name) ||
	    (size_t)(eq - dot - 1) >= sizeof(key))
		return ul_errf(e, EINVAL, "fact \"%s\" must look like UPLINK.KEY=VALUE", assignment);
	memcpy(name, assignment, dot - assignment);
	name[dot - assignment] = '\0';
	memcpy(key, dot + 1, eq - dot - 1);
	key[eq - dot - 1] = '\0';
	v = eq + 1;
	u = cfg_find_uplink(cfg, name);
	if (!u)
		return ul_errf(e, EINVAL, "fact \"%s\": no uplink named \"%s\"", assignment, name);
	uf = &f->u[u->index];

	if (!strcmp(key, "prefix")) {
		if (u->type != CFG_IPOE && u->type != CFG_PPPOE)
			return ul_errf(e, EINVAL, "fact %s.prefix: only ipoe and pppoe uplinks have a prefix (%s is %s)",
				       name, name, cfg_type_name(u->type));
		if (prefix_parse(&uf->prefix, v, AF_INET6, true) || uf->prefix.len > 64)
			return ul_errf(e, EINVAL, "fact %s.prefix must be an IPv6 prefix of /64 or shorter, got \"%s\"",
				       name, v);
		prefix_mask(&uf->prefix);
		uf->has_prefix = true;
	} else if (!strcmp(key, "address")) {
		if (v6(v, &uf->addr6, "address", e))
			return -EINVAL;
		uf->has_addr6 = true;
	} else if (!strcmp(key, "gateway6")) {
		if (v6(v, &uf->gw6, "gateway6", e))
			return -EINVAL;
		uf->has_gw6 = true;
	} else if (!strcmp(key, "aftr")) {
		if (u->type != CFG_DSLITE)
			return ul_errf(e, EINVAL, "fact %s.aftr: %s is not a dslite uplink", name, name);
		if (v6(v, &uf->aftr, "aftr", e))
			return -EINVAL;
		uf->has_aftr = true;
	} else if (!strcmp(key, "ipv4")) {
		if (u->type != CFG_PPPOE)
			return ul_errf(e, EINVAL, "fact %s.ipv4: only pppoe uplinks learn their IPv4 address", name);
		if (v4(v, &uf->local4, "ipv4", e))
			return -EINVAL;
		uf->has_local4 = true;
	} else if (!strcmp(key, "peer")) {
		if (u->type != CFG_PPPOE)
			return ul_errf(e, EINVAL, "fact %s.peer: only pppoe uplinks have a peer", name);
		if (v4(v, &uf->peer4, "peer", e))
			return -EINVAL;
		uf->has_peer4 = true;
	} else if (!strcmp(key, "state")) {
		uf->link_down = uf->admin_down = uf->health_failed = uf->inactive = false;
		if (!strcmp(v, "down"))
			uf->link_down = true;
		else if (!strcmp(v, "failed"))
			uf->health_failed = true;
		else if (!strcmp(v, "admin-down"))
			uf->admin_down = true;
		else if (!strcmp(v, "inactive"))
			uf->inactive = true;
		else if (strcmp(v, "up"))
			return ul_errf(e, EINVAL, "fact %s.state must be up, down, failed, admin-down or inactive, got \"%s\"",
				       name, v);
	} else {
		return ul_errf(e, EINVAL,
			       "fact \"%s\": unknown key \"%s\" (prefix, address, gateway6, aftr, ipv4, peer, state)",
			       assignment, key);
	}
	return 0;
}

void facts_print(const struct facts *f, const struct config *cfg, struct strbuf *sb)
{
	char buf[PREFIX_STRLEN];

	for (size_t i = 0; i < f->n && i < cfg->n_uplinks; i++) {
		const struct uplink_facts *uf = &f->u[i];
		const char *n = cfg->uplinks[i].name;

		if (uf->link_down)
			sb_printf(sb, "%s.state=down\n", n);
		else if (uf->health_failed)
			sb_printf(sb, "%s.state=failed\n", n);
		else if (uf->admin_down)
			sb_printf(sb, "%s.state=admin-down\n", n);
		else if (uf->inactive)
			sb_printf(sb, "%s.state=inactive\n", n);
		if (uf->has_prefix)
			sb_printf(sb, "%s.prefix=%s\n", n, prefix_fmt(&uf->prefix, buf));
		if (uf->has_addr6)
			sb_printf(sb, "%s.address=%s\n", n, inet_ntop(AF_INET6, &uf->addr6, buf, sizeof(buf)));
		if (uf->has_gw6)
			sb_printf(sb, "%s.gateway6=%s\n", n, inet_ntop(AF_INET6, &uf->gw6, buf, sizeof(buf)));
		if (uf->has_aftr)
			sb_printf(sb, "%s.aftr=%s\n", n, inet_ntop(AF_INET6, &uf->aftr, buf, sizeof(buf)));
		if (uf->has_local4)
			sb_printf(sb, "%s.ipv4=%s\n", n, inet_ntop(AF_INET, &uf->local4, buf, sizeof(buf)));
		if (uf->has_peer4)
			sb_printf(sb, "%s.peer=%s\n", n, inet_ntop(AF_INET, &uf->peer4, buf, sizeof(buf)));
	}
}
