/*
 * The rtnetlink seam, through libnl-3 / libnl-route-3: read the kernel into a kview, and make
 * one change at a time.  Every refusal comes back with the object and the kernel's
 * extended-ack message.
 */
#ifndef UPLINK_RTNL_H
#define UPLINK_RTNL_H

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

/* Makes one change (not CH_NFT_*); routes and rules get protocol proto. */
int rtnl_exec(struct rtnl *r, const struct change *c, uint8_t proto, struct ul_err *e);

/* /proc/sys/KEY: read the value (trailing newline removed), write a value. */
int sysctl_read(const char *key, char *buf, size_t len);
int sysctl_write(const char *key, const char *value, struct ul_err *e);

#endif
