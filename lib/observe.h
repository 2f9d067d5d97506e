/*
 * From the kernel view to the facts the planner needs: which devices are up, which prefix an
 * RA gave the WAN, the IPv6 router, a PPP session's addresses, the active-if condition.  Pure.
 */
#ifndef UPLINK_OBSERVE_H
#define UPLINK_OBSERVE_H

#include "config.h"
#include "facts.h"
#include "kview.h"
#include "state.h"

/* What only the daemon knows; all fields optional (NULL: nothing known). */
struct observe_extra {
	const struct in6_addr *const *aftr;   /* per uplink: the resolved AFTR, or NULL */
	const struct ip_prefix *const *pd;    /* per uplink: the delegated prefix, or NULL */
	const bool *health_failed;            /* per uplink */
	const bool *admin_down;               /* per uplink */
};

/* Fills f (already facts_init'ed for cfg) from kv. */
void facts_observe(const struct config *cfg, const struct kview *kv, const struct own_state *own,
		   const struct observe_extra *extra, struct facts *f);

#endif
