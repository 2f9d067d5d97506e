// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The seam's in-memory twin: a kernel made of a kview, a sysctl store and the text of one
 * nftables table.  It takes each change as Linux does (a missing device is ENODEV, a second
 * link of the same name EEXIST, a device's sysctls and routes go with it) and can be told to
 * refuse changes, so apply's isolation and rollback are tested without root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

struct kmem {
	struct kernel k;
	struct kview kv;          /* its sysctls vector is the sysctl store */
	int next_ifindex;
	bool nft;
	char nft_name[64];
	char *nft_text;
	unsigned long changes, msgs;
	unsigned refuse_nth;      /* 0: off */
	char refuse_text[128];
	int refuse_err;
	char refuse_msg[128];
};

#define KM(k) ((struct kmem *)(k))

static struct kv_link *find_link(struct kmem *m, const char *name)
{
	return (struct kv_link *)kview_link_by_name(&m->kv, name);
}

/* "net/ipv6/conf/DEV/x": DEV, or "" for a key of no device. */
static void key_dev(const char *key, char *dev, size_t len)
{
	const char *p = strstr(key, "/conf/");
	size_t n;

	dev[0] = '\0';
	if (!p)
		return;
	p += 6;
	n = strcspn(p, "/");
	if (n >= len || !p[n])
		return;
	memcpy(dev, p, n);
	dev[n] = '\0';
	if (!strcmp(dev, "all") || !strcmp(dev, "default"))
		dev[0] = '\0';
}

static struct kv_sysctl *find_sysctl(struct kmem *m, const char *key)
{
	for (size_t i = 0; i < m->kv.sysctls.n; i++) {
		if (!strcmp(m->kv.sysctls.v[i].key, key))
			return &m->kv.sysctls.v[i];
	}
	return NULL;
}

static void set_sysctl(struct kmem *m, const char *key, const char *value)
{
	struct kv_sysctl *s = find_sysctl(m, key);

	if (!s)
		s = VEC_PUSH(&m->kv.sysctls);
	if (!s)
		abort();
	strlcpy_ul(s->key, key, sizeof(s->key));
	strlcpy_ul(s->value, value, sizeof(s->value));
}

/* A device's own keys exist while it does; unset ones read as Linux's defaults. */
static int read_sysctl(struct kmem *m, const char *key, char *buf, size_t len)
{
	const struct kv_sysctl *s = find_sysctl(m, key);
	char dev[IFNAMSIZ + 8];

	key_dev(key, dev, sizeof(dev));
	if (dev[0] && !find_link(m, dev))
		return -ENOENT;
	if (s) {
		strlcpy_ul(buf, s->value, len);
		return 0;
	}
	if (!dev[0] && !strstr(key, "/conf/all/") && !strstr(key, "/conf/default/") &&
	    strcmp(key, "net/ipv4/ip_forward"))
		return -ENOENT;
	strlcpy_ul(buf, strstr(key, "accept_ra") ? "1" : "0", len);
	return 0;
}

static struct kv_link *new_link(struct kmem *m, const char *name, const char *kind, unsigned flags)
{
	struct kv_link *l = VEC_PUSH(&m->kv.links);

	if (!l)
		abort();
	l->ifindex = m->next_ifindex++;
	strlcpy_ul(l->name, name, sizeof(l->name));
	strlcpy_ul(l->kind, kind, sizeof(l->kind));
	l->flags = flags;
	l->mtu = 1500;
	return l;
}

static void drop_link(struct kmem *m, const char *name)
{
	struct kv_link *l = find_link(m, name);
	int idx;

	if (!l)
		return;
	idx = l->ifindex;
	for (size_t i = 0; i < m->kv.addrs.n;) {
		if (m->kv.addrs.v[i].ifindex == idx)
			m->kv.addrs.v[i] = m->kv.addrs.v[--m->kv.addrs.n];
		else
			i++;
	}
	for (size_t i = 0; i < m->kv.routes.n;) {
		if (m->kv.routes.v[i].oif == idx)
			m->kv.routes.v[i] = m->kv.routes.v[--m->kv.routes.n];
		else
			i++;
	}
	for (size_t i = 0; i < m->kv.sysctls.n;) {
		char dev[IFNAMSIZ + 8];

		key_dev(m->kv.sysctls.v[i].key, dev, sizeof(dev));
		if (!strcmp(dev, name))
			m->kv.sysctls.v[i] = m->kv.sysctls.v[--m->kv.sysctls.n];
		else
			i++;
	}
	/* links on top of it (a VLAN, a tunnel's underlay) go too, as in Linux for VLANs */
	*l = m->kv.links.v[--m->kv.links.n];
	for (size_t i = 0; i < m->kv.links.n; i++) {
		if (m->kv.links.v[i].link == idx && !strcmp(m->kv.links.v[i].kind, "vlan")) {
			char child[IFNAMSIZ];

			strlcpy_ul(child, m->kv.links.v[i].name, sizeof(child));
			drop_link(m, child);
			i = (size_t)-1;
		}
	}
}

static int no_dev(struct ul_err *e, const char *what, const char *dev)
{
	return ul_errf(e, ENODEV, "%s: interface %s does not exist", what, dev);
}

static struct kv_route *find_route(struct kmem *m, uint32_t table, const struct ip_prefix *dst,
				   uint32_t metric)
{
	for (size_t i = 0; i < m->kv.routes.n; i++) {
		struct kv_route *r = &m->kv.routes.v[i];

		if (r->table == table && r->metric == metric && !prefix_cmp(&r->dst, dst))
			return r;
	}
	return NULL;
}

static bool rule_is(const struct kv_rule *k, const struct plan_rule *pr, uint8_t proto)
{
	return k->priority == pr->priority && k->family == pr->family && k->fwmark == pr->fwmark &&
	       k->protocol == proto && k->has_src == pr->has_src &&
	       (!k->has_src || !prefix_cmp(&k->src, &pr->src));
}

static int take(struct kmem *m, const struct change *c, uint8_t proto, const char *what,
		struct ul_err *e)
{
	struct kv_link *l, *parent;
	struct kv_addr *a;
	struct kv_route *r;
	struct kv_rule *k;
	char cur[64];

	switch (c->kind) {
	case CH_SYSCTL:
	case CH_RESTORE_SYSCTL:
		if (read_sysctl(m, c->sysctl.key, cur, sizeof(cur)))
			return ul_errf(e, ENOENT, "sysctl %s: %s", c->sysctl.key, strerror(ENOENT));
		set_sysctl(m, c->sysctl.key, c->kind == CH_SYSCTL ? c->sysctl.value : c->old);
		return 0;
	case CH_LINK_ADD:
		if (find_link(m, c->link.name))
			return ul_errf(e, EEXIST, "%s: %s", what, strerror(EEXIST));
		parent = find_link(m, c->link.parent);
		if (!parent)
			return no_dev(e, what, c->link.parent);
		{
			int pidx = parent->ifindex;
			unsigned pflags = parent->flags;
			bool vlan = c->link.kind == PLAN_LINK_VLAN;

			l = new_link(m, c->link.name, vlan ? "vlan" : "ip6tnl",
				     vlan ? 0 : IFF_UP | IFF_LOWER_UP);
			if (vlan && (pflags & IFF_LOWER_UP))
				l->flags |= IFF_LOWER_UP;
			l->link = pidx;
		}
		l->vlan_id = c->link.vlan_id;
		if (c->link.has_local)
			l->local = c->link.local;
		l->remote = c->link.remote;
		l->tnl_proto = IPPROTO_IPIP;
		l->tnl_flags = KV_IP6_TNL_F_IGN_ENCAP_LIMIT;
		l->tnl_ttl = 64;
		if (c->link.mtu)
			l->mtu = c->link.mtu;
		strlcpy_ul(l->alias, STATE_ALIAS, sizeof(l->alias));
		return 0;
	case CH_LINK_CHANGE:
		l = find_link(m, c->link.name);
		if (!l)
			return no_dev(e, what, c->link.name);
		memset(&l->local, 0, sizeof(l->local));
		if (c->link.has_local)
			l->local = c->link.local;
		l->remote = c->link.remote;
		if (c->link.mtu)
			l->mtu = c->link.mtu;
		return 0;
	case CH_LINK_DEL:
		if (!find_link(m, c->dev))
			return no_dev(e, what, c->dev);
		drop_link(m, c->dev);
		return 0;
	case CH_LINK_UP:
	case CH_RESTORE_DOWN:
		l = find_link(m, c->dev);
		if (!l)
			return no_dev(e, what, c->dev);
		if (c->kind == CH_LINK_UP)
			l->flags |= IFF_UP;
		else
			l->flags &= ~(unsigned)IFF_UP;
		return 0;
	case CH_MTU:
	case CH_RESTORE_MTU:
		l = find_link(m, c->dev);
		if (!l)
			return no_dev(e, what, c->dev);
		l->mtu = c->kind == CH_MTU ? c->mtu : (uint32_t)atoi(c->old);
		return 0;
	case CH_TOKEN:
	case CH_RESTORE_TOKEN:
		l = find_link(m, c->dev);
		if (!l)
			return no_dev(e, what, c->dev);
		l->has_token = true;
		if (c->kind == CH_TOKEN)
			l->token = c->token;
		else if (inet_pton(AF_INET6, c->old, &l->token) != 1)
			memset(&l->token, 0, sizeof(l->token));
		return 0;
	case CH_ADDR_ADD:
		l = find_link(m, c->addr.dev);
		if (!l)
			return no_dev(e, what, c->addr.dev);
		for (size_t i = 0; i < m->kv.addrs.n; i++) {
			if (m->kv.addrs.v[i].ifindex == l->ifindex &&
			    !prefix_cmp(&m->kv.addrs.v[i].addr, &c->addr.addr))
				return ul_errf(e, EEXIST, "%s: %s", what, strerror(EEXIST));
		}
		a = VEC_PUSH(&m->kv.addrs);
		if (!a)
			abort();
		a->ifindex = l->ifindex;
		a->addr = c->addr.addr;
		a->flags = c->addr.nodad ? 0x02 /* IFA_F_NODAD */ : 0;
		return 0;
	case CH_ADDR_DEL:
		l = find_link(m, c->addr.dev);
		if (!l)
			return no_dev(e, what, c->addr.dev);
		for (size_t i = 0; i < m->kv.addrs.n; i++) {
			if (m->kv.addrs.v[i].ifindex == l->ifindex &&
			    !prefix_cmp(&m->kv.addrs.v[i].addr, &c->addr.addr)) {
				m->kv.addrs.v[i] = m->kv.addrs.v[--m->kv.addrs.n];
				return 0;
			}
		}
		return ul_errf(e, EADDRNOTAVAIL, "%s: %s", what, strerror(EADDRNOTAVAIL));
	case CH_ROUTE_SET:
		l = NULL;
		if (c->route.type == PLAN_RT_UNICAST) {
			l = find_link(m, c->route.dev);
			if (!l)
				return no_dev(e, what, c->route.dev);
			if (!(l->flags & IFF_UP))
				return ul_errf(e, ENETDOWN, "%s: %s", what, strerror(ENETDOWN));
		}
		r = find_route(m, c->route.table, &c->route.dst, c->route.metric);
		if (!r)
			r = VEC_PUSH(&m->kv.routes);
		if (!r)
			abort();
		memset(r, 0, sizeof(*r));
		r->table = c->route.table;
		r->dst = c->route.dst;
		r->metric = c->route.metric;
		r->protocol = proto;
		r->type = c->route.type == PLAN_RT_UNREACHABLE ? RTN_UNREACHABLE : RTN_UNICAST;
		r->gw = c->route.gw;
		r->oif = l ? l->ifindex : 0;
		return 0;
	case CH_ROUTE_DEL:
		r = find_route(m, c->route.table, &c->route.dst, c->route.metric);
		if (!r)
			return ul_errf(e, ESRCH, "%s: %s", what, strerror(ESRCH));
		*r = m->kv.routes.v[--m->kv.routes.n];
		return 0;
	case CH_RULE_ADD:
		k = VEC_PUSH(&m->kv.rules);
		if (!k)
			abort();
		k->family = c->rule.family;
		k->priority = c->rule.priority;
		k->action = c->rule.action == PLAN_RULE_PROHIBIT ? FR_ACT_PROHIBIT : FR_ACT_TO_TBL;
		k->table = c->rule.table;
		k->protocol = proto;
		k->has_src = c->rule.has_src;
		k->src = c->rule.src;
		k->fwmark = c->rule.fwmark;
		k->fwmask = c->rule.fwmask;
		k->suppress_prefixlen = c->rule.suppress_prefixlen;
		return 0;
	case CH_RULE_DEL:
		for (size_t i = 0; i < m->kv.rules.n; i++) {
			if (rule_is(&m->kv.rules.v[i], &c->rule, proto)) {
				m->kv.rules.v[i] = m->kv.rules.v[--m->kv.rules.n];
				return 0;
			}
		}
		return ul_errf(e, ENOENT, "%s: %s", what, strerror(ENOENT));
	case CH_NFT_REPLACE:
	case CH_NFT_DELETE:
		return ul_errf(e, EINVAL, "%s: not an rtnetlink change", what);
	}
	return -EINVAL;
}

/* Whether this change is one the test told it to refuse. */
static bool refused(struct kmem *m, const char *what)
{
	if (m->refuse_nth && --m->refuse_nth == 0)
		return true;
	return m->refuse_text[0] && strstr(what, m->refuse_text);
}

static int refuse(struct kmem *m, const char *what, struct ul_err *e)
{
	return ul_errf(e, m->refuse_err, "%s: %s (kernel: %s)", what, strerror(m->refuse_err),
		       m->refuse_msg);
}

static int km_exec(struct kernel *k, const struct change *c, uint8_t proto, struct ul_err *e)
{
	struct kmem *m = KM(k);
	struct strbuf sb = { 0 };
	int r;

	change_describe(c, m->nft_name[0] ? m->nft_name : "uplinkd", proto, &sb);
	m->msgs++;
	if (refused(m, sb.s ? sb.s : ""))
		r = refuse(m, sb.s ? sb.s : "", e);
	else
		r = take(m, c, proto, sb.s ? sb.s : "", e);
	if (!r)
		m->changes++;
	sb_free(&sb);
	return r;
}

static int km_dump(struct kernel *k, struct kview *kv, uint8_t keep_proto, struct ul_err *e)
{
	struct kmem *m = KM(k);

	(void)keep_proto;
	(void)e;
	kview_clear(kv);
	m->msgs += 4;
#define COPY(field) \
	for (size_t i = 0; i < m->kv.field.n; i++) { \
		__typeof__(kv->field.v) x = VEC_PUSH(&kv->field); \
		if (!x) \
			return -ENOMEM; \
		*x = m->kv.field.v[i]; \
	}
	COPY(links)
	COPY(addrs)
	COPY(routes)
	COPY(rules)
#undef COPY
	return 0;
}

static int km_sysctl_read(struct kernel *k, const char *key, char *buf, size_t len)
{
	return read_sysctl(KM(k), key, buf, len);
}

static int km_nft_matches(struct kernel *k, const struct nftp_table *t, struct ul_err *e)
{
	struct kmem *m = KM(k);
	struct strbuf sb = { 0 };
	int same;

	(void)e;
	m->msgs++;
	nftp_print(t, &sb);
	same = m->nft && m->nft_text && sb.s && !strcmp(sb.s, m->nft_text);
	sb_free(&sb);
	return same;
}

static int km_nft_replace(struct kernel *k, const struct nftp_table *t, struct ul_err *e)
{
	struct kmem *m = KM(k);
	struct strbuf sb = { 0 };
	char what[96];

	m->msgs++;
	snprintf(what, sizeof(what), "replacing table inet %s", t->name);
	if (refused(m, what))
		return refuse(m, what, e);
	nftp_print(t, &sb);
	free(m->nft_text);
	m->nft_text = sb.s;
	m->nft = true;
	strlcpy_ul(m->nft_name, t->name, sizeof(m->nft_name));
	m->changes++;
	return 0;
}

static int km_nft_delete(struct kernel *k, const char *name, bool *existed, struct ul_err *e)
{
	struct kmem *m = KM(k);
	char what[96];

	m->msgs++;
	*existed = m->nft && !strcmp(m->nft_name, name);
	if (!*existed)
		return 0;
	snprintf(what, sizeof(what), "deleting table inet %s", name);
	if (refused(m, what))
		return refuse(m, what, e);
	free(m->nft_text);
	m->nft_text = NULL;
	m->nft = false;
	m->changes++;
	return 0;
}

static int km_nft_exists(struct kernel *k, const char *name, struct ul_err *e)
{
	struct kmem *m = KM(k);

	(void)e;
	m->msgs++;
	return m->nft && !strcmp(m->nft_name, name);
}

static int km_ct_flush(struct kernel *k, const struct ct_match *cm, unsigned *deleted, struct ul_err *e)
{
	(void)k;
	(void)cm;
	(void)e;
	*deleted = 0;
	return 0;
}

static int km_ct_usage(struct kernel *k, const struct in_addr *addr, struct ct_usage *u,
		       struct ul_err *e)
{
	(void)k;
	(void)addr;
	(void)e;
	memset(u, 0, sizeof(*u));
	return 0;
}

static void km_stats(struct kernel *k, struct kernel_stats *out)
{
	struct kmem *m = KM(k);

	memset(out, 0, sizeof(*out));
	out->rtnl_msgs = m->msgs;
	out->rtnl_mutating = m->changes;
}

static void km_close(struct kernel *k)
{
	struct kmem *m = KM(k);

	kview_free(&m->kv);
	free(m->nft_text);
	free(m);
}

static const struct kernel_ops mem_ops = {
	.dump = km_dump,
	.sysctl_read = km_sysctl_read,
	.exec = km_exec,
	.nft_matches = km_nft_matches,
	.nft_replace = km_nft_replace,
	.nft_delete = km_nft_delete,
	.nft_exists = km_nft_exists,
	.ct_flush = km_ct_flush,
	.ct_usage = km_ct_usage,
	.stats = km_stats,
	.close = km_close,
};

struct kernel *kmem_new(void)
{
	struct kmem *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->k.ops = &mem_ops;
	m->next_ifindex = 1;
	new_link(m, "lo", "", IFF_UP | IFF_LOWER_UP);
	set_sysctl(m, "net/ipv4/ip_forward", "0");
	set_sysctl(m, "net/ipv6/conf/all/forwarding", "0");
	return &m->k;
}

void kmem_add_dev(struct kernel *k, const char *name, const char *kind, bool carrier)
{
	new_link(KM(k), name, kind, IFF_UP | (carrier ? IFF_LOWER_UP : 0));
}

void kmem_del_dev(struct kernel *k, const char *name)
{
	drop_link(KM(k), name);
}

void kmem_set_carrier(struct kernel *k, const char *name, bool carrier)
{
	struct kv_link *l = find_link(KM(k), name);

	if (!l)
		return;
	if (carrier)
		l->flags |= IFF_LOWER_UP;
	else
		l->flags &= ~(unsigned)IFF_LOWER_UP;
}

void kmem_add_addr(struct kernel *k, const char *dev, const char *prefix)
{
	struct kmem *m = KM(k);
	struct kv_link *l = find_link(m, dev);
	struct kv_addr *a;
	bool v6 = strchr(prefix, ':') != NULL;

	if (!l || !(a = VEC_PUSH(&m->kv.addrs)))
		abort();
	a->ifindex = l->ifindex;
	if (prefix_parse(&a->addr, prefix, v6 ? AF_INET6 : AF_INET, true))
		abort();
	a->preferred_lft = a->valid_lft = 3600;
}

void kmem_add_route(struct kernel *k, uint32_t table, const char *dst, const char *gw, const char *dev,
		    uint8_t protocol)
{
	struct kmem *m = KM(k);
	struct kv_route *r = VEC_PUSH(&m->kv.routes);
	int family = strchr(dst, ':') ? AF_INET6 : AF_INET;

	if (!r || prefix_parse(&r->dst, dst, family, false))
		abort();
	r->table = table;
	r->protocol = protocol;
	r->type = RTN_UNICAST;
	r->metric = family == AF_INET6 ? 1024 : 0;
	if (gw && addr_parse(&r->gw, gw, family))
		abort();
	if (dev) {
		struct kv_link *l = find_link(m, dev);

		if (!l)
			abort();
		r->oif = l->ifindex;
	}
}

void kmem_add_sysctl(struct kernel *k, const char *key, const char *value)
{
	set_sysctl(KM(k), key, value);
}

void kmem_refuse_nth(struct kernel *k, unsigned nth, int err, const char *msg)
{
	struct kmem *m = KM(k);

	m->refuse_nth = nth;
	m->refuse_err = err;
	strlcpy_ul(m->refuse_msg, msg, sizeof(m->refuse_msg));
}

void kmem_refuse_matching(struct kernel *k, const char *text, int err, const char *msg)
{
	struct kmem *m = KM(k);

	strlcpy_ul(m->refuse_text, text, sizeof(m->refuse_text));
	m->refuse_err = err;
	strlcpy_ul(m->refuse_msg, msg, sizeof(m->refuse_msg));
}

void kmem_refuse_none(struct kernel *k)
{
	struct kmem *m = KM(k);

	m->refuse_nth = 0;
	m->refuse_text[0] = '\0';
}

unsigned long kmem_changes(struct kernel *k)
{
	return KM(k)->changes;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void kmem_print(struct kernel *k, struct strbuf *sb)
{
	struct kmem *m = KM(k);
	struct kview *kv = &m->kv;
	VEC(char *) lines = { 0 };
	char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8], buf[IFNAMSIZ];

#define LINE(...) do { \
		char **p = VEC_PUSH(&lines); \
		if (!p || asprintf(p, __VA_ARGS__) < 0) \
			abort(); \
	} while (0)
	for (size_t i = 0; i < kv->links.n; i++) {
		const struct kv_link *l = &kv->links.v[i];

		LINE("link %s kind %s flags %#x mtu %u parent %s vlan %u alias %s token %s", l->name,
		     l->kind, l->flags, l->mtu, l->link ? kview_ifname(kv, l->link, buf) : "-",
		     l->vlan_id, l->alias, l->has_token ? inet_ntop(AF_INET6, &l->token, a, sizeof(a)) : "-");
	}
	for (size_t i = 0; i < kv->addrs.n; i++) {
		const struct kv_addr *x = &kv->addrs.v[i];

		prefix_fmt(&x->addr, a);
		LINE("addr %s dev %s", a, kview_ifname(kv, x->ifindex, buf));
	}
	for (size_t i = 0; i < kv->routes.n; i++) {
		const struct kv_route *r = &kv->routes.v[i];

		prefix_fmt(&r->dst, a);
		if (r->gw.family)
			addr_fmt(&r->gw, b);
		else
			strcpy(b, "-");
		LINE("route table %u %s type %u via %s dev %s metric %u proto %u", r->table, a, r->type, b,
		     r->oif ? kview_ifname(kv, r->oif, buf) : "-", r->metric, r->protocol);
	}
	for (size_t i = 0; i < kv->rules.n; i++) {
		const struct kv_rule *r = &kv->rules.v[i];

		if (r->has_src)
			prefix_fmt(&r->src, a);
		else
			strcpy(a, "all");
		LINE("rule family %d prio %u from %s fwmark %#x/%#x action %u table %u suppress %d",
		     r->family, r->priority, a, r->fwmark, r->fwmask, r->action, r->table,
		     r->suppress_prefixlen);
	}
	for (size_t i = 0; i < kv->sysctls.n; i++)
		LINE("sysctl %s = %s", kv->sysctls.v[i].key, kv->sysctls.v[i].value);
	if (m->nft)
		LINE("nft table inet %s\n%s", m->nft_name, m->nft_text ? m->nft_text : "");
#undef LINE
	if (lines.n > 1)
		qsort(lines.v, lines.n, sizeof(*lines.v), cmp_line);
	for (size_t i = 0; i < lines.n; i++) {
		sb_printf(sb, "%s\n", lines.v[i]);
		free(lines.v[i]);
	}
	VEC_FREE(&lines);
}
