// SPDX-License-Identifier: GPL-2.0-or-later
/* Name resolution for the AFTR (DS-Lite): AAAA through c-ares, the NGN's resolvers first. */
#ifndef UPLINK_RESOLVE_H
#define UPLINK_RESOLVE_H

#include <netinet/in.h>
#include <stdbool.h>

#include "util.h"

#define RESOLVE_TIMEOUT_MS 2000
#define RESOLVE_TRIES 2
#define RESOLVE_MAX_SERVERS 3

/*
 * A c-ares channel (ares_channel) asking servers (the NGN's; n = 0: the system's).  With
 * sock_state, the caller drives it from its own loop (ares_process_fd).
 */
int resolve_open(void **channel, const struct in6_addr *servers, size_t n,
		 void (*sock_state)(void *data, int fd, int readable, int writable), void *data,
		 struct ul_err *e);
void resolve_close(void *channel);
int resolve_set_servers(void *channel, const struct in6_addr *servers, size_t n);

/* RUN_DIR/rdnss: the NGN's resolvers the daemon last learned from a router advertisement. */
int resolve_rdnss_save(const char *run_dir, const struct in6_addr *servers, size_t n);
size_t resolve_rdnss_load(const char *run_dir, struct in6_addr *servers, size_t max);

/*
 * The usable (resolve_usable) AAAA addresses of name, up to max, asking servers as
 * resolve_open() does and waiting for the answer; returns how many, or -errno.
 */
int resolve_aaaa(const char *name, const struct in6_addr *servers, size_t n_servers,
		 struct in6_addr *out, size_t max, struct ul_err *e);

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
