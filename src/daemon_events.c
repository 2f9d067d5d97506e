/*
 * The kernel's events: rtnetlink (links, addresses, routes, rules, RA options) and nftables.
 * They only say "something changed"; the reconcile reads the whole state again, so a lost
 * event (ENOBUFS) costs nothing but a reconcile.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <netinet/icmp6.h>
#include <sys/epoll.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "rtnl.h"
#include "log.h"

static struct mnl_socket *rtnl_ev, *nft_ev;

/* RDNSS from a router advertisement: the NGN's resolvers, for the AFTR name. */
static void on_useropt(struct daemon *d, const struct nlmsghdr *nlh)
{
	struct in6_addr servers[3];
	size_t n = rtnl_useropt_rdnss(nlh, servers, 3);

	if (n)
		dns_set_rdnss(d, servers, n);
}

/* An interface the last reconcile did not see, or one under a new name. */
static bool link_is_new(struct daemon *d, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct kv_link *known;
	const struct nlattr *attr;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return false;
	known = kview_link_by_index(&d->ap.kv, ifi->ifi_index);
	if (!known)
		return true;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
			return strcmp(mnl_attr_get_str(attr), known->name) != 0;
	}
	return false;
}

static int rtnl_event_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct daemon *d = arg;

	d->events++;
	if (nlh->nlmsg_type == RTM_NEWNDUSEROPT) {
		on_useropt(d, nlh);
		return MNL_CB_OK;
	}
	/* Our own changes come back as events too; they need no reaction. */
	if (nlh->nlmsg_pid && nlh->nlmsg_pid == d->rtnl_portid)
		return MNL_CB_OK;
	if (nlh->nlmsg_type == RTM_NEWLINK && link_is_new(d, nlh))
		d->link_appeared = true;
	d->dirty = true;
	return MNL_CB_OK;
}

static void drain(struct daemon *d, struct mnl_socket *nl, mnl_cb_t cb, const char *what)
{
	char buf[64 * 1024] __attribute__((aligned(8)));

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ENOBUFS) {
				/* Events were lost: only a full re-read is right, and the reconcile is one. */
				d->event_overflows++;
				d->dirty = true;
				d->nft_tampered = true;
				log_warn("%s events overflowed; reading the whole kernel state again", what);
				continue;
			}
			log_warn("%s events: %s", what, strerror(errno));
			return;
		}
		mnl_cb_run(buf, (size_t)n, 0, 0, cb, d);
	}
}

static void on_rtnl(struct daemon *d, struct dsource *s, uint32_t events)
{
	(void)s;
	(void)events;
	drain(d, rtnl_ev, rtnl_event_cb, "rtnetlink");
}

/* The table name an nftables event is about. */
static const char *nft_event_table(const struct nlmsghdr *nlh)
{
	static const uint16_t table_attr[] = {
		[NFT_MSG_NEWTABLE] = NFTA_TABLE_NAME, [NFT_MSG_DELTABLE] = NFTA_TABLE_NAME,
		[NFT_MSG_NEWCHAIN] = NFTA_CHAIN_TABLE, [NFT_MSG_DELCHAIN] = NFTA_CHAIN_TABLE,
		[NFT_MSG_NEWRULE] = NFTA_RULE_TABLE, [NFT_MSG_DELRULE] = NFTA_RULE_TABLE,
		[NFT_MSG_NEWSET] = NFTA_SET_TABLE, [NFT_MSG_DELSET] = NFTA_SET_TABLE,
		[NFT_MSG_NEWSETELEM] = NFTA_SET_ELEM_LIST_TABLE,
		[NFT_MSG_DELSETELEM] = NFTA_SET_ELEM_LIST_TABLE,
	};
	unsigned type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	const struct nlattr *attr;

	if (type >= sizeof(table_attr) / sizeof(table_attr[0]) || !table_attr[type])
		return NULL;
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(attr) == table_attr[type] &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

static int nft_event_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct daemon *d = arg;
	const char *table;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return MNL_CB_OK;
	table = nft_event_table(nlh);
	if (!table || strcmp(table, d->cfg->nft_table))
		return MNL_CB_OK;
	if (nlh->nlmsg_pid && nlh->nlmsg_pid == d->nft_portid)
		return MNL_CB_OK;
	d->events++;
	d->nft_tampered = true;
	d->dirty = true;
	return MNL_CB_OK;
}

static void on_nft(struct daemon *d, struct dsource *s, uint32_t events)
{
	(void)s;
	(void)events;
	drain(d, nft_ev, nft_event_cb, "nftables");
}

static struct mnl_socket *open_group_socket(int bus, const unsigned *groups, size_t n)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int size = 8 << 20;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		unsigned group = groups[i];

		if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
			goto fail;
	}
	/* Big enough for a burst; an overflow still only costs a full re-read. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return nl;
fail:
	mnl_socket_close(nl);
	return NULL;
}

int events_open(struct daemon *d)
{
	static const unsigned rt_groups[] = {
		RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
		RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE, RTNLGRP_ND_USEROPT,
	};
	static const unsigned nft_groups[] = { NFNLGRP_NFTABLES };

	rtnl_ev = open_group_socket(NETLINK_ROUTE, rt_groups, sizeof(rt_groups) / sizeof(rt_groups[0]));
	nft_ev = open_group_socket(NETLINK_NETFILTER, nft_groups, 1);
	if (!rtnl_ev || !nft_ev) {
		log_err("cannot subscribe to kernel events: %s", strerror(errno));
		return -errno;
	}
	d->rtnl_ev.fd = mnl_socket_get_fd(rtnl_ev);
	d->rtnl_ev.fn = on_rtnl;
	d->nft_ev.fd = mnl_socket_get_fd(nft_ev);
	d->nft_ev.fn = on_nft;
	if (loop_add(d, &d->rtnl_ev, EPOLLIN) || loop_add(d, &d->nft_ev, EPOLLIN))
		return -errno;
	return 0;
}

void events_close(struct daemon *d)
{
	loop_del(d, &d->rtnl_ev);
	loop_del(d, &d->nft_ev);
	if (rtnl_ev)
		mnl_socket_close(rtnl_ev);
	if (nft_ev)
		mnl_socket_close(nft_ev);
	rtnl_ev = nft_ev = NULL;
}
