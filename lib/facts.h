/*
 * Observed facts: what the world told us that the config cannot know (a WAN prefix, a PPP
 * address, a resolved AFTR, an uplink's health).  The daemon learns them from the kernel and
 * its peers; `uplinkctl plan --fact UPLINK.key=value` supplies them by hand.
 */
#ifndef UPLINK_FACTS_H
#define UPLINK_FACTS_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "addr.h"
#include "config.h"
#include "util.h"

struct uplink_facts {
	bool link_down;        /* device missing, no carrier, or the session is not up */
	bool admin_down;       /* `uplinkctl down UPLINK` */
	bool health_failed;    /* the health check says the upstream is dead */
	bool inactive;         /* active-if does not hold (we are the backup of a pair) */
	bool held;             /* recovered less than hold-down ago (lib/holddown.c) */
	/* Either leaves the uplink out of the plan (nothing of it is built): */
	char missing[IFNAMSIZ]; /* a device it needs does not exist (waiting for it) */
	char fault[256];       /* the kernel refused one of its objects (failed) */

	bool has_prefix;       /* ipoe: the RA /64 or the delegated prefix; pppoe: delegated */
	struct ip_prefix prefix;
	char pd_error[160];    /* no delegated prefix: why (what the DHCPv6 client refused), or "" */
	bool has_addr6;        /* ipoe: the WAN's global address (when no token decides it) */
	struct in6_addr addr6;
	bool has_gw6;          /* ipoe: the RA router; pppoe: the peer's link-local address */
	struct in6_addr gw6;
	bool has_aftr;         /* dslite: the AFTR name resolved */
	struct in6_addr aftr;
	char aftr_error[96];   /* dslite: why the AFTR name did not resolve (the last answer), or "" */
	bool has_local4;       /* pppoe: IPCP addresses */
	struct in_addr local4;
	bool has_peer4;
	struct in_addr peer4;
};

/* Indexed like cfg->uplinks. */
struct facts {
	struct uplink_facts *u;
	size_t n;
};

int facts_init(struct facts *f, const struct config *cfg);
void facts_free(struct facts *f);

/*
 * Applies "UPLINK.key=value": key is prefix, address, gateway6, aftr, ipv4, peer, or state
 * (up, down, failed, admin-down, inactive).  -EINVAL with a reason in e.
 */
int facts_set(struct facts *f, const struct config *cfg, const char *assignment, struct ul_err *e);

/* Prints the facts as --fact arguments would give them, one a line. */
void facts_print(const struct facts *f, const struct config *cfg, struct strbuf *sb);

#endif
