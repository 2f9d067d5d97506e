/* Name resolution for the AFTR (DS-Lite): AAAA through the system's resolver. */
#ifndef UPLINK_RESOLVE_H
#define UPLINK_RESOLVE_H

#include <netinet/in.h>

#include "util.h"

/* All AAAA addresses of name (up to max); returns how many, or -errno. */
int resolve_aaaa(const char *name, struct in6_addr *out, size_t max, struct ul_err *e);

/*
 * Names like gw.transix.jp answer with several AFTRs in turn: keep the one in use while it is
 * still among them, else take the lowest, so that repeated lookups do not move the tunnel.
 */
const struct in6_addr *resolve_pick(const struct in6_addr *addrs, size_t n, const struct in6_addr *current);

#endif
