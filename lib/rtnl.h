/*
 * The rtnetlink seam, through libnl-3 / libnl-route-3: read the kernel into a kview, and make
 * one change at a time.  Every refusal comes back with the object and the kernel's
 * extended-ack message.
 */
#ifndef UPLINK_RTNL_H
#define UPLINK_RTNL_H

#include <linux/netlink.h>
#include <netinet/in.h>

#include "diff.h"
#include "kview.h"
#include "util.h"

struct rtnl;

struct rtnl_stats {
	unsigned long msgs_sent;      /* all requests, dumps included */
	unsigned long mutating_msgs;  /* requests that change the kernel */
};

int rtnl_open(struct rtnl **out, struct ul_err *e);
void rtnl_close(struct rtnl *r);
const struct rtnl_stats *rtnl_get_stats(const struct rtnl *r);
/* The socket's netlink port: events caused by our own requests carry it. */
uint32_t rtnl_portid(const struct rtnl *r);

/*
 * Reads links, addresses, routes (those with a default destination or protocol keep_proto,
 * in every table) and rules into kv, and the values of the given sysctls (paths under
 * /proc/sys; missing ones are left out).
 */
int rtnl_dump(struct rtnl *r, struct kview *kv, uint8_t keep_proto, const char *const *sysctls,
	      size_t n_sysctls, struct ul_err *e);

/*
 * One rtnetlink message as a dump returns it: RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE (kept as
 * rtnl_dump keeps them) or RTM_NEWRULE becomes an entry of kv; other types are skipped.
 * nlh->nlmsg_len bytes must be readable.  -EINVAL for a link, address or route message that
 * libnl cannot parse (a rule that does not parse is skipped, as in a dump).
 */
int rtnl_parse(const struct nlmsghdr *nlh, struct kview *kv, uint8_t keep_proto);

/*
 * The resolvers of an RTM_NEWNDUSEROPT message (the RDNSS options of a router advertisement,
 * passed on by the kernel), those with a lifetime, at most max; returns how many.
 * nlh->nlmsg_len bytes must be readable.
 */
size_t rtnl_useropt_rdnss(const struct nlmsghdr *nlh, struct in6_addr *servers, size_t max);

/* Makes one change (not CH_NFT_*); routes and rules get protocol proto. */
int rtnl_exec(struct rtnl *r, const struct change *c, uint8_t proto, struct ul_err *e);

/* /proc/sys/KEY: read the value (trailing newline removed), write a value. */
int sysctl_read(const char *key, char *buf, size_t len);
int sysctl_write(const char *key, const char *value, struct ul_err *e);

#endif
