/* rtnetlink through libnl: dumps into a kview, and one change at a time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/ip6tnl.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nlack.h"
#include "rtnl.h"
#include "state.h"


struct rtnl {
	struct nl_sock *sk;
	struct rtnl_stats stats;
	int kernel_errno;          /* from the last NLMSG_ERROR */
	char extack[256];          /* its NLMSGERR_ATTR_MSG */
	bool dump_intr;            /* the last dump was interrupted by changes */
};

/* Keeps the kernel's errno and extended-ack text of a refusal. */
static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct rtnl *r = arg;
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)((char *)err - NLMSG_HDRLEN);

	(void)nla;
	r->kernel_errno = -err->error;
	nlack_parse(nlh, r->extack, sizeof(r->extack), NULL);
	return NL_STOP;
}

int rtnl_open(struct rtnl **out, struct ul_err *e)
{
	struct rtnl *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->sk = nl_socket_alloc();
	if (!r->sk) {
		free(r);
		return -ENOMEM;
	}
	if (nl_connect(r->sk, NETLINK_ROUTE) < 0) {
		nl_socket_free(r->sk);
		free(r);
		return ul_errf(e, EPROTO, "cannot open an rtnetlink socket");
	}
	nl_socket_set_buffer_size(r->sk, 4 << 20, 1 << 20);
	nlack_enable(nl_socket_get_fd(r->sk));
	nl_socket_modify_err_cb(r->sk, NL_CB_CUSTOM, on_error, r);
	*out = r;
	return 0;
}

void rtnl_close(struct rtnl *r)
{
	if (!r)
		return;
	nl_socket_free(r->sk);
	free(r);
}

const struct rtnl_stats *rtnl_get_stats(const struct rtnl *r)
{
	return &r->stats;
}

uint32_t rtnl_portid(const struct rtnl *r)
{
	return nl_socket_get_local_port(r->sk);
}

/* Sends msg and waits for the kernel's answer; what names the object for the message. */
static int request(struct rtnl *r, struct nl_msg *msg, const char *what, struct ul_err *e)
{
	int err;

	r->kernel_errno = 0;
	r->stats.msgs_sent++;
	r->stats.mutating_msgs++;
	err = nl_send_auto(r->sk, msg);
	if (err >= 0)
		err = nl_wait_for_ack(r->sk);
	nlmsg_free(msg);
	if (err >= 0)
		return 0;
	if (r->kernel_errno) {
		if (r->extack[0])
			return ul_errf(e, r->kernel_errno, "%s: %s (kernel: %s)", what,
				       strerror(r->kernel_errno), r->extack);
		return ul_errf(e, r->kernel_errno, "%s: %s", what, strerror(r->kernel_errno));
	}
	return ul_errf(e, EIO, "%s: %s", what, nl_geterror(err));
}

/* ---- dumps ---- */

static void to_prefix(struct nl_addr *a, struct ip_prefix *p)
{
	memset(p, 0, sizeof(*p));
	if (!a)
		return;
	p->addr.family = nl_addr_get_family(a);
	if (p->addr.family != AF_INET && p->addr.family != AF_INET6) {
		p->addr.family = 0;
		return;
	}
	if (nl_addr_get_len(a) <= sizeof(p->addr.b))
		memcpy(p->addr.b, nl_addr_get_binary_addr(a), nl_addr_get_len(a));
	p->len = (uint8_t)nl_addr_get_prefixlen(a);
}

static void to_addr(struct nl_addr *a, struct ip_addr *out)
{
	struct ip_prefix p;

	to_prefix(a, &p);
	*out = p.addr;
}

struct dump_ctx {
	struct kview *kv;
	uint8_t keep_proto;
	bool kind_data;          /* the link message has IFLA_INFO_DATA: its kind's fields */
	int err;
};

/* An address of the family's size (libnl compares them by the family's width). */
static bool alen_ok(struct nl_addr *a, int family)
{
	return !a || nl_addr_get_len(a) == (family == AF_INET ? 4u : 16u);
}

/* A prefix length the family can have. */
static bool plen_ok(int family, unsigned len)
{
	return len <= (family == AF_INET ? 32u : 128u);
}

static void link_cb(struct nl_object *obj, void *arg)
{
	struct dump_ctx *d = arg;
	struct rtnl_link *l = (struct rtnl_link *)obj;
	struct kv_link *k = VEC_PUSH(&d->kv->links);
	struct nl_addr *token = NULL;
	const char *kind = rtnl_link_get_type(l), *alias = rtnl_link_get_ifalias(l);

	if (!k) {
		d->err = -ENOMEM;
		return;
	}
	k->ifindex = rtnl_link_get_ifindex(l);
	strlcpy_ul(k->name, rtnl_link_get_name(l) ? rtnl_link_get_name(l) : "", sizeof(k->name));
	strlcpy_ul(k->kind, kind ? kind : "", sizeof(k->kind));
	strlcpy_ul(k->alias, alias ? alias : "", sizeof(k->alias));
	k->flags = rtnl_link_get_flags(l);
	k->mtu = rtnl_link_get_mtu(l);
	k->rx_bytes = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
	k->tx_bytes = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
	k->rx_packets = rtnl_link_get_stat(l, RTNL_LINK_RX_PACKETS);
	k->tx_packets = rtnl_link_get_stat(l, RTNL_LINK_TX_PACKETS);
	k->link = rtnl_link_get_link(l);
	/* libnl reads its kind data without checking that the message had any */
	if (rtnl_link_is_vlan(l) && d->kind_data)
		k->vlan_id = (uint16_t)rtnl_link_vlan_get_id(l);
	if (rtnl_link_is_ip6_tnl(l) && d->kind_data) {
		rtnl_link_ip6_tnl_get_local(l, &k->local);
		rtnl_link_ip6_tnl_get_remote(l, &k->remote);
		k->tnl_proto = rtnl_link_ip6_tnl_get_proto(l);
		k->tnl_flags = rtnl_link_ip6_tnl_get_flags(l);
		k->tnl_ttl = rtnl_link_ip6_tnl_get_ttl(l);
		k->link = (int)rtnl_link_ip6_tnl_get_link(l);
	}
	if (rtnl_link_inet6_get_token(l, &token) == 0 && token) {
		if (nl_addr_get_len(token) == 16) {
			memcpy(&k->token, nl_addr_get_binary_addr(token), 16);
			k->has_token = true;
		}
		nl_addr_put(token);
	}
}

static void addr_cb(struct nl_object *obj, void *arg)
{
	struct dump_ctx *d = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct kv_addr *k;
	struct nl_addr *local = rtnl_addr_get_local(a), *peer = rtnl_addr_get_peer(a);

	if (!plen_ok(rtnl_addr_get_family(a), (unsigned)rtnl_addr_get_prefixlen(a)) ||
	    !alen_ok(local, rtnl_addr_get_family(a)) || !alen_ok(peer, rtnl_addr_get_family(a)))
		return;
	k = VEC_PUSH(&d->kv->addrs);
	if (!k) {
		d->err = -ENOMEM;
		return;
	}
	k->ifindex = rtnl_addr_get_ifindex(a);
	to_prefix(local ? local : peer, &k->addr);
	k->addr.len = (uint8_t)rtnl_addr_get_prefixlen(a);
	if (local && peer && nl_addr_cmp_prefix(local, peer) != 0) {
		k->has_peer = true;
		to_addr(peer, &k->peer);
	}
	k->flags = rtnl_addr_get_flags(a);
	k->scope = (uint8_t)rtnl_addr_get_scope(a);
	k->valid_lft = rtnl_addr_get_valid_lifetime(a);
	k->preferred_lft = rtnl_addr_get_preferred_lifetime(a);
}

static void route_cb(struct nl_object *obj, void *arg)
{
	struct dump_ctx *d = arg;
	struct rtnl_route *rt = (struct rtnl_route *)obj;
	struct nl_addr *dst = rtnl_route_get_dst(rt);
	uint8_t proto = rtnl_route_get_protocol(rt);
	struct rtnl_nexthop *nh;
	struct kv_route *k;

	/* Keep what uplinkd owns and every default route (for conflicts and the RA router). */
	if (proto != d->keep_proto && dst && nl_addr_get_prefixlen(dst) != 0)
		return;
	if (rtnl_route_get_family(rt) != AF_INET && rtnl_route_get_family(rt) != AF_INET6)
		return;
	if (dst && !plen_ok(rtnl_route_get_family(rt), nl_addr_get_prefixlen(dst)))
		return;
	k = VEC_PUSH(&d->kv->routes);
	if (!k) {
		d->err = -ENOMEM;
		return;
	}
	k->table = rtnl_route_get_table(rt);
	to_prefix(dst, &k->dst);
	if (!k->dst.addr.family)
		k->dst.addr.family = rtnl_route_get_family(rt);
	k->type = rtnl_route_get_type(rt);
	k->protocol = proto;
	k->metric = rtnl_route_get_priority(rt);
	nh = rtnl_route_nexthop_n(rt, 0);
	if (nh) {
		k->oif = rtnl_route_nh_get_ifindex(nh);
		if (rtnl_route_nh_get_gateway(nh))
			to_addr(rtnl_route_nh_get_gateway(nh), &k->gw);
	}
}

static struct nla_policy rule_policy[FRA_MAX + 1] = {
	[FRA_TABLE] = { .type = NLA_U32 },
	[FRA_PRIORITY] = { .type = NLA_U32 },
	[FRA_PROTOCOL] = { .type = NLA_U8 },
	[FRA_FWMARK] = { .type = NLA_U32 },
	[FRA_FWMASK] = { .type = NLA_U32 },
	[FRA_SUPPRESS_PREFIXLEN] = { .type = NLA_U32 },
};

static int rule_parse(struct dump_ctx *d, struct nlmsghdr *nlh)
{
	struct fib_rule_hdr *frh = nlmsg_data(nlh);
	struct nlattr *tb[FRA_MAX + 1];
	struct kv_rule *k;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWRULE || nlmsg_parse(nlh, sizeof(*frh), tb, FRA_MAX, rule_policy) < 0)
		return NL_SKIP;
	if (frh->family != AF_INET && frh->family != AF_INET6)
		return NL_SKIP;
	alen = frh->family == AF_INET ? 4 : 16;
	if (!plen_ok(frh->family, frh->src_len) || !plen_ok(frh->family, frh->dst_len) ||
	    (tb[FRA_SRC] && (size_t)nla_len(tb[FRA_SRC]) < alen))
		return NL_SKIP;
	k = VEC_PUSH(&d->kv->rules);
	if (!k) {
		d->err = -ENOMEM;
		return NL_STOP;
	}
	k->family = frh->family;
	k->action = frh->action;
	k->table = tb[FRA_TABLE] ? nla_get_u32(tb[FRA_TABLE]) : frh->table;
	k->priority = tb[FRA_PRIORITY] ? nla_get_u32(tb[FRA_PRIORITY]) : 0;
	k->protocol = tb[FRA_PROTOCOL] ? nla_get_u8(tb[FRA_PROTOCOL]) : 0;
	k->fwmark = tb[FRA_FWMARK] ? nla_get_u32(tb[FRA_FWMARK]) : 0;
	k->fwmask = tb[FRA_FWMASK] ? nla_get_u32(tb[FRA_FWMASK]) : 0;
	if (!tb[FRA_FWMARK] && k->fwmask == 0xffffffff)
		k->fwmask = 0;
	k->suppress_prefixlen = -1;
	if (tb[FRA_SUPPRESS_PREFIXLEN]) {
		uint32_t v = nla_get_u32(tb[FRA_SUPPRESS_PREFIXLEN]);

		if (v != 0xffffffff)
			k->suppress_prefixlen = (int)v;
	}
	if (tb[FRA_SRC] && frh->src_len) {
		k->has_src = true;
		k->src.addr.family = frh->family;
		memcpy(k->src.addr.b, nla_data(tb[FRA_SRC]), alen);
		k->src.len = frh->src_len;
	}
	k->has_other = frh->dst_len || frh->tos || tb[FRA_IIFNAME] || tb[FRA_OIFNAME] ||
		       tb[FRA_GOTO] || tb[FRA_IP_PROTO] || tb[FRA_SPORT_RANGE] || tb[FRA_DPORT_RANGE] ||
		       tb[FRA_L3MDEV] || tb[FRA_UID_RANGE] || tb[FRA_SUPPRESS_IFGROUP];
	return NL_OK;
}

static int dump_valid(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *d = arg;
	int r = rtnl_parse(nlmsg_hdr(msg), d->kv, d->keep_proto);

	if (r == -ENOMEM) {
		d->err = r;
		return NL_STOP;
	}
	return NL_OK;
}

/* One dump (type, with the family header hdr), each message through rtnl_parse. */
static int dump(struct rtnl *r, int type, const void *hdr, size_t len, struct dump_ctx *d,
		const char *what, struct ul_err *e)
{
	struct nl_cb *cb, *sk_cb;
	struct nl_msg *msg;
	int err;

	msg = nlmsg_alloc_simple(type, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, (void *)hdr, len, NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	r->stats.msgs_sent++;
	err = nl_send_auto(r->sk, msg);
	nlmsg_free(msg);
	if (err < 0)
		return ul_errf(e, EIO, "dumping %s: %s", what, nl_geterror(err));
	sk_cb = nl_socket_get_cb(r->sk);
	cb = nl_cb_clone(sk_cb);
	nl_cb_put(sk_cb);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_valid, d);
	err = nl_recvmsgs(r->sk, cb);
	nl_cb_put(cb);
	r->dump_intr = err == -NLE_DUMP_INTR;
	if (err < 0)
		return ul_errf(e, EIO, "dumping %s: %s", what, nl_geterror(err));
	return d->err;
}

int rtnl_dump(struct rtnl *r, struct kview *kv, uint8_t keep_proto, const char *const *sysctls,
	      size_t n_sysctls, struct ul_err *e)
{
	struct dump_ctx d = { .kv = kv, .keep_proto = keep_proto };
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC };
	struct rtgenmsg addr = { .rtgen_family = AF_UNSPEC };
	struct rtmsg route = { .rtm_family = AF_UNSPEC };
	struct fib_rule_hdr rule = { .family = AF_UNSPEC };
	int err;

	/* A dump the kernel's changes interrupted (NLM_F_DUMP_INTR) is read again, all of it. */
	for (int tries = 0;; tries++) {
		kview_clear(kv);
		r->dump_intr = false;
		if ((err = dump(r, RTM_GETLINK, &link, sizeof(link), &d, "links", e)) ||
		    (err = dump(r, RTM_GETADDR, &addr, sizeof(addr), &d, "addresses", e)) ||
		    (err = dump(r, RTM_GETROUTE, &route, sizeof(route), &d, "routes", e)) ||
		    (err = dump(r, RTM_GETRULE, &rule, sizeof(rule), &d, "rules", e))) {
			if (r->dump_intr && tries < 8)
				continue;
			return err;
		}
		break;
	}
	for (size_t i = 0; i < n_sysctls; i++) {
		struct kv_sysctl *s;
		char value[64];

		if (sysctl_read(sysctls[i], value, sizeof(value)))
			continue;
		s = VEC_PUSH(&kv->sysctls);
		if (!s)
			return -ENOMEM;
		strlcpy_ul(s->key, sysctls[i], sizeof(s->key));
		strlcpy_ul(s->value, value, sizeof(s->value));
	}
	return 0;
}

int rtnl_parse(const struct nlmsghdr *nlh, struct kview *kv, uint8_t keep_proto)
{
	struct dump_ctx d = { .kv = kv, .keep_proto = keep_proto };
	void (*cb)(struct nl_object *, void *);
	struct nl_msg *msg;
	int err;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
		cb = link_cb;
		break;
	case RTM_NEWADDR:
		cb = addr_cb;
		break;
	case RTM_NEWROUTE:
		cb = route_cb;
		break;
	case RTM_NEWRULE:
		cb = NULL;
		break;
	default:
		return 0;
	}
	msg = nlmsg_convert((struct nlmsghdr *)nlh);
	if (!msg)
		return -ENOMEM;
	if (nlh->nlmsg_type == RTM_NEWLINK) {
		struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];

		if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0) {
			nlmsg_free(msg);
			return -EINVAL;
		}
		if (tb[IFLA_LINKINFO] && !nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL)) {
			struct nlattr *a;
			int rem;

			d.kind_data = li[IFLA_INFO_DATA];
			/*
			 * Unused, and libnl trusts them: it parses the kind's data when only
			 * statistics come, and copies the slave kind without a length check.
			 */
			nla_for_each_nested(a, tb[IFLA_LINKINFO], rem) {
				if (nla_type(a) == IFLA_INFO_XSTATS || nla_type(a) == IFLA_INFO_SLAVE_KIND)
					a->nla_type = IFLA_INFO_UNSPEC;
			}
		}
	}
	if (cb) {
		nlmsg_set_proto(msg, NETLINK_ROUTE);
		err = nl_msg_parse(msg, cb, &d);
	} else {
		rule_parse(&d, nlmsg_hdr(msg));
		err = 0;
	}
	nlmsg_free(msg);
	if (d.err)
		return d.err;
	return err < 0 ? -EINVAL : 0;
}

/* Router advertisement options the kernel passes on (RDNSS): type, length in 8 bytes, ... */
#define ND_OPT_RDNSS_TYPE 25

size_t rtnl_useropt_rdnss(const struct nlmsghdr *nlh, struct in6_addr *servers, size_t max)
{
	const struct nduseroptmsg *m = mnl_nlmsg_get_payload(nlh);
	const uint8_t *opt = (const uint8_t *)(m + 1);
	size_t len, n = 0;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return 0;
	len = m->nduseropt_opts_len;
	if (m->nduseropt_family != AF_INET6 || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) + len)
		return 0;
	while (len >= 8) {
		size_t olen = (size_t)opt[1] * 8;

		if (!olen || olen > len)
			break;
		/* type, length, reserved(2), lifetime(4), addresses */
		if (opt[0] == ND_OPT_RDNSS_TYPE && olen >= 24) {
			uint32_t lifetime;

			memcpy(&lifetime, opt + 4, 4);
			for (size_t off = 8; off + 16 <= olen && n < max && lifetime; off += 16)
				memcpy(&servers[n++], opt + off, 16);
		}
		opt += olen;
		len -= olen;
	}
	return n;
}

/* ---- sysctls ---- */

int sysctl_read(const char *key, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int sysctl_write(const char *key, const char *value, struct ul_err *e)
{
	char path[256];
	size_t len = strlen(value);
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ul_errf(e, errno, "sysctl %s: %s", key, strerror(errno));
	if (write(fd, value, len) != (ssize_t)len)
		r = ul_errf(e, errno, "sysctl %s = %s: %s", key, value, strerror(errno));
	close(fd);
	return r;
}

/* ---- changes ---- */

static int ifindex_of(const char *name, struct ul_err *e)
{
	unsigned idx = if_nametoindex(name);

	if (!idx)
		return ul_errf(e, ENODEV, "interface %s does not exist", name);
	return (int)idx;
}

static struct nl_addr *nladdr(int family, const void *bytes, unsigned prefixlen)
{
	struct nl_addr *a = nl_addr_build(family, bytes, family == AF_INET ? 4 : 16);

	if (a)
		nl_addr_set_prefixlen(a, prefixlen);
	return a;
}

static int link_msg(struct rtnl *r, const struct change *c, struct ul_err *e)
{
	const struct plan_link *pl = &c->link;
	struct rtnl_link *l;
	struct nl_msg *msg = NULL;
	char what[160];
	int parent, err, flags = NLM_F_CREATE | NLM_F_EXCL;

	parent = ifindex_of(pl->parent, e);
	if (parent < 0)
		return parent;
	l = pl->kind == PLAN_LINK_VLAN ? rtnl_link_vlan_alloc() : rtnl_link_ip6_tnl_alloc();
	if (!l)
		return -ENOMEM;
	if (pl->mtu)
		rtnl_link_set_mtu(l, pl->mtu);
	/* a VLAN comes up later, once its token and accept_ra are set (see diff.c) */
	if (pl->kind == PLAN_LINK_IP6TNL)
		rtnl_link_set_flags(l, IFF_UP);
	if (c->kind == CH_LINK_ADD) {
		rtnl_link_set_name(l, pl->name);
		rtnl_link_set_ifalias(l, STATE_ALIAS);
	} else {
		/*
		 * By index only: Linux before 6.4 refuses even a same-name "rename" of an
		 * interface that is up (EBUSY), so the name must not be in the message.
		 */
		err = ifindex_of(pl->name, e);
		if (err < 0)
			goto out;
		rtnl_link_set_ifindex(l, err);
		flags = 0;
	}
	if (pl->kind == PLAN_LINK_VLAN) {
		rtnl_link_set_link(l, parent);
		rtnl_link_vlan_set_id(l, pl->vlan_id);
	} else {
		struct in6_addr local = pl->local, remote = pl->remote, any = IN6ADDR_ANY_INIT;

		rtnl_link_ip6_tnl_set_link(l, (uint32_t)parent);
		rtnl_link_ip6_tnl_set_local(l, pl->has_local ? &local : &any);
		rtnl_link_ip6_tnl_set_remote(l, &remote);
		rtnl_link_ip6_tnl_set_proto(l, IPPROTO_IPIP);
		rtnl_link_ip6_tnl_set_flags(l, KV_IP6_TNL_F_IGN_ENCAP_LIMIT);
		rtnl_link_ip6_tnl_set_ttl(l, 64);
	}
	err = rtnl_link_build_add_request(l, flags, &msg);
	if (err < 0) {
		err = ul_errf(e, EINVAL, "link %s: %s", pl->name, nl_geterror(err));
		goto out;
	}
	snprintf(what, sizeof(what), "%s interface %s", c->kind == CH_LINK_ADD ? "creating" : "changing",
		 pl->name);
	err = request(r, msg, what, e);
out:
	rtnl_link_put(l);
	return err;
}

/*
 * `ip token set`: RTM_SETLINK, family AF_INET6, IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_TOKEN } }.
 * Built by hand: libnl's rtnl_link_inet6_set_token() stores the token but never sends it.
 */
static int token_set(struct rtnl *r, const struct change *c, int idx, struct ul_err *e)
{
	struct ifinfomsg ifi = { .ifi_family = AF_INET6, .ifi_index = idx };
	struct in6_addr t = c->token;
	struct nlattr *spec, *inet6;
	struct nl_msg *msg;
	char what[96];

	if (c->kind == CH_RESTORE_TOKEN && inet_pton(AF_INET6, c->old, &t) != 1)
		return ul_errf(e, EINVAL, "bad saved token \"%s\" for %s", c->old, c->dev);
	msg = nlmsg_alloc_simple(RTM_SETLINK, 0);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(spec = nla_nest_start(msg, IFLA_AF_SPEC)) || !(inet6 = nla_nest_start(msg, AF_INET6)) ||
	    nla_put(msg, IFLA_INET6_TOKEN, sizeof(t), &t) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nla_nest_end(msg, inet6);
	nla_nest_end(msg, spec);
	snprintf(what, sizeof(what), "setting the IPv6 token of %s", c->dev);
	return request(r, msg, what, e);
}

/* Changes to an existing interface: up/down, MTU, IPv6 token. */
static int link_set(struct rtnl *r, const struct change *c, struct ul_err *e)
{
	struct rtnl_link *l = rtnl_link_alloc();
	struct nl_msg *msg = NULL;
	char what[160];
	int idx, err;

	if (!l)
		return -ENOMEM;
	idx = ifindex_of(c->dev, e);
	if (idx < 0) {
		rtnl_link_put(l);
		return idx;
	}
	rtnl_link_set_ifindex(l, idx);
	switch (c->kind) {
	case CH_LINK_UP:
		rtnl_link_set_flags(l, IFF_UP);
		snprintf(what, sizeof(what), "setting %s up", c->dev);
		break;
	case CH_RESTORE_DOWN:
		rtnl_link_unset_flags(l, IFF_UP);
		snprintf(what, sizeof(what), "setting %s down", c->dev);
		break;
	case CH_MTU:
	case CH_RESTORE_MTU: {
		uint32_t mtu = c->mtu;

		if (c->kind == CH_RESTORE_MTU && parse_u32(c->old, 68, 65535, &mtu))
			return ul_errf(e, EINVAL, "bad saved MTU \"%s\" for %s", c->old, c->dev);
		rtnl_link_set_mtu(l, mtu);
		snprintf(what, sizeof(what), "setting the MTU of %s to %u", c->dev, mtu);
		break;
	}
	case CH_TOKEN:
	case CH_RESTORE_TOKEN:
		rtnl_link_put(l);
		return token_set(r, c, idx, e);
	default:
		rtnl_link_put(l);
		return -EINVAL;
	}
	err = rtnl_link_build_add_request(l, 0, &msg);
	rtnl_link_put(l);
	if (err < 0)
		return ul_errf(e, EINVAL, "%s: %s", what, nl_geterror(err));
	return request(r, msg, what, e);
}

static int link_del(struct rtnl *r, const struct change *c, struct ul_err *e)
{
	struct rtnl_link *l = rtnl_link_alloc();
	struct nl_msg *msg = NULL;
	char what[64];
	int idx, err;

	if (!l)
		return -ENOMEM;
	idx = (int)if_nametoindex(c->dev);
	if (!idx) {
		rtnl_link_put(l);
		return 0; /* already gone */
	}
	rtnl_link_set_ifindex(l, idx);
	err = rtnl_link_build_delete_request(l, &msg);
	rtnl_link_put(l);
	if (err < 0)
		return ul_errf(e, EINVAL, "deleting %s: %s", c->dev, nl_geterror(err));
	snprintf(what, sizeof(what), "deleting interface %s", c->dev);
	return request(r, msg, what, e);
}

static int addr_msg(struct rtnl *r, const struct change *c, struct ul_err *e)
{
	const struct plan_addr *pa = &c->addr;
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local;
	struct nl_msg *msg = NULL;
	char what[160], buf[PREFIX_STRLEN];
	int idx, err;

	if (!a)
		return -ENOMEM;
	idx = ifindex_of(pa->dev, e);
	if (idx < 0) {
		rtnl_addr_put(a);
		return c->kind == CH_ADDR_DEL ? 0 : idx;
	}
	local = nladdr(pa->addr.addr.family, pa->addr.addr.b, pa->addr.len);
	if (!local) {
		rtnl_addr_put(a);
		return -ENOMEM;
	}
	rtnl_addr_set_ifindex(a, idx);
	rtnl_addr_set_family(a, pa->addr.addr.family);
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_prefixlen(a, pa->addr.len);
	nl_addr_put(local);
	if (pa->nodad)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	if (c->kind == CH_ADDR_ADD)
		err = rtnl_addr_build_add_request(a, NLM_F_CREATE | NLM_F_REPLACE, &msg);
	else
		err = rtnl_addr_build_delete_request(a, 0, &msg);
	rtnl_addr_put(a);
	snprintf(what, sizeof(what), "%s address %s on %s", c->kind == CH_ADDR_ADD ? "adding" : "removing",
		 prefix_fmt(&pa->addr, buf), pa->dev);
	if (err < 0)
		return ul_errf(e, EINVAL, "%s: %s", what, nl_geterror(err));
	err = request(r, msg, what, e);
	if (err == -EADDRNOTAVAIL && c->kind == CH_ADDR_DEL)
		return 0;
	return err;
}

static int route_msg(struct rtnl *r, const struct plan_route *pr, bool del, uint8_t proto,
		     struct ul_err *e)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	int family = pr->dst.addr.family;
	struct nl_addr *dst;
	struct nl_msg *msg = NULL;
	struct strbuf what = { 0 };
	int err;

	if (!rt)
		return -ENOMEM;
	dst = nladdr(family, pr->dst.addr.b, pr->dst.len);
	if (!dst) {
		rtnl_route_put(rt);
		return -ENOMEM;
	}
	rtnl_route_set_family(rt, family);
	rtnl_route_set_dst(rt, dst);
	nl_addr_put(dst);
	rtnl_route_set_table(rt, pr->table);
	rtnl_route_set_protocol(rt, proto);
	rtnl_route_set_priority(rt, pr->metric);
	if (pr->type == PLAN_RT_UNREACHABLE) {
		rtnl_route_set_type(rt, RTN_UNREACHABLE);
		rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
	} else {
		struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
		int idx = ifindex_of(pr->dev, e);

		if (!nh || idx < 0) {
			rtnl_route_nh_free(nh);
			rtnl_route_put(rt);
			return idx < 0 ? (del ? 0 : idx) : -ENOMEM;
		}
		rtnl_route_set_type(rt, RTN_UNICAST);
		rtnl_route_nh_set_ifindex(nh, idx);
		if (pr->onlink)
			rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
		if (pr->gw.family) {
			struct nl_addr *gw = nladdr(pr->gw.family, pr->gw.b, pr->gw.family == AF_INET ? 32 : 128);

			if (gw) {
				rtnl_route_nh_set_gateway(nh, gw);
				nl_addr_put(gw);
			}
		}
		rtnl_route_add_nexthop(rt, nh);
	}
	if (del)
		err = rtnl_route_build_del_request(rt, 0, &msg);
	else
		err = rtnl_route_build_add_request(rt, NLM_F_CREATE | NLM_F_REPLACE, &msg);
	rtnl_route_put(rt);
	plan_route_str(&what, pr, proto, del ? "del" : "replace");
	if (err < 0) {
		err = ul_errf(e, EINVAL, "%s: %s", what.s ? what.s : "route", nl_geterror(err));
	} else {
		err = request(r, msg, what.s ? what.s : "route", e);
		if (del && err == -ESRCH)
			err = 0;
	}
	sb_free(&what);
	return err;
}

static int rule_msg(struct rtnl *r, const struct plan_rule *pr, bool del, uint8_t proto,
		    struct ul_err *e)
{
	struct rtnl_rule *rule = rtnl_rule_alloc();
	struct nl_msg *msg = NULL;
	struct strbuf what = { 0 };
	int err;

	if (!rule)
		return -ENOMEM;
	rtnl_rule_set_family(rule, pr->family);
	rtnl_rule_set_prio(rule, pr->priority);
	rtnl_rule_set_protocol(rule, proto);
	if (pr->action == PLAN_RULE_PROHIBIT) {
		rtnl_rule_set_action(rule, FR_ACT_PROHIBIT);
		rtnl_rule_set_table(rule, 0);
	} else {
		rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
		rtnl_rule_set_table(rule, pr->table);
	}
	if (pr->fwmask) {
		rtnl_rule_set_mark(rule, pr->fwmark);
		rtnl_rule_set_mask(rule, pr->fwmask);
	}
	if (pr->has_src) {
		struct nl_addr *src = nladdr(pr->src.addr.family, pr->src.addr.b, pr->src.len);

		if (!src) {
			rtnl_rule_put(rule);
			return -ENOMEM;
		}
		rtnl_rule_set_src(rule, src);
		nl_addr_put(src);
	}
	if (del)
		err = rtnl_rule_build_delete_request(rule, 0, &msg);
	else
		err = rtnl_rule_build_add_request(rule, NLM_F_CREATE, &msg);
	rtnl_rule_put(rule);
	/* libnl has no setter for suppress_prefixlength; the attribute is appended here. */
	if (err >= 0 && pr->suppress_prefixlen >= 0 &&
	    nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, (uint32_t)pr->suppress_prefixlen) < 0)
		err = -NLE_NOMEM;
	plan_rule_str(&what, pr, proto, del ? "del" : "add");
	if (err < 0) {
		nlmsg_free(msg);
		err = ul_errf(e, EINVAL, "%s: %s", what.s ? what.s : "rule", nl_geterror(err));
	} else {
		err = request(r, msg, what.s ? what.s : "rule", e);
		if (del && err == -ENOENT)
			err = 0;
	}
	sb_free(&what);
	return err;
}

int rtnl_exec(struct rtnl *r, const struct change *c, uint8_t proto, struct ul_err *e)
{
	switch (c->kind) {
	case CH_SYSCTL:
		return sysctl_write(c->sysctl.key, c->sysctl.value, e);
	case CH_RESTORE_SYSCTL:
		return sysctl_write(c->sysctl.key, c->old, e);
	case CH_LINK_ADD:
	case CH_LINK_CHANGE:
		return link_msg(r, c, e);
	case CH_LINK_DEL:
		return link_del(r, c, e);
	case CH_LINK_UP:
	case CH_MTU:
	case CH_TOKEN:
	case CH_RESTORE_TOKEN:
	case CH_RESTORE_MTU:
	case CH_RESTORE_DOWN:
		if (!if_nametoindex(c->dev) && c->kind >= CH_RESTORE_SYSCTL)
			return 0; /* nothing left to restore */
		return link_set(r, c, e);
	case CH_ADDR_ADD:
	case CH_ADDR_DEL:
		return addr_msg(r, c, e);
	case CH_ROUTE_SET:
		return route_msg(r, &c->route, false, proto, e);
	case CH_ROUTE_DEL:
		return route_msg(r, &c->route, true, proto, e);
	case CH_RULE_ADD:
		return rule_msg(r, &c->rule, false, proto, e);
	case CH_RULE_DEL:
		return rule_msg(r, &c->rule, true, proto, e);
	case CH_NFT_REPLACE:
	case CH_NFT_DELETE:
		break;
	}
	return ul_errf(e, EINVAL, "not an rtnetlink change");
}
