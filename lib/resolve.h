/* Name resolution for the AFTR (DS-Lite): AAAA through the system's resolver. */
#ifndef UPLINK_RESOLVE_H
#define UPLINK_RESOLVE_H

#include <netinet/in.h>
#include <stdbool.h>

#include "util.h"

/* The usable (resolve_usable) AAAA addresses of name, up to max; returns how many, or -errno. */
int resolve_aaaa(const char *name, struct in6_addr *out, size_t max, struct ul_err *e);

/*
 * Whether a DNS answer may be a tunnel's remote end: global unicast (2000::/3) only, not ::,
 * ::1, link-local, multicast, unique-local or IPv4-mapped, whatever the resolver said.
 */
bool resolve_usable(const struct in6_addr *a);

/*
 * Names like gw.transix.jp answer with several AFTRs in turn: keep the one in use while it is
 * still among them, else take the lowest, so that repeated lookups do not move the tunnel.
 * Answers that are not resolve_usable() are skipped.  One answer at a time, so that any
 * number of them can be weighed without a copy: start with { .current = IN_USE or NULL }.
 */
struct resolve_choice {
	const struct in6_addr *current; /* in: the address in use, or NULL */
	const struct in6_addr *pick;    /* out: points at the chosen answer, or NULL */
	size_t answers, usable;
};
void resolve_consider(struct resolve_choice *c, const struct in6_addr *a);

/* The same over an array; returns a pointer into addrs or NULL. */
const struct in6_addr *resolve_pick(const struct in6_addr *addrs, size_t n, const struct in6_addr *current);

#endif
