/* IPv4/IPv6 addresses and prefixes. */
#ifndef UPLINK_ADDR_H
#define UPLINK_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct ip_addr {
	int family; /* AF_INET, AF_INET6, or 0 when unset */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	};
};

struct ip_prefix {
	struct ip_addr addr;
	uint8_t len;
};

/* Longest text form: an IPv6 address, '/', three digits. */
#define PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

/* family: AF_INET, AF_INET6 or AF_UNSPEC (either). 0 or -EINVAL. */
int addr_parse(struct ip_addr *a, const char *s, int family);
/*
 * "A/L" or a bare "A" (host prefix). Host bits beyond L must be zero unless allow_host_bits;
 * then they are kept (an interface address such as 192.0.2.1/24).
 */
int prefix_parse(struct ip_prefix *p, const char *s, int family, bool allow_host_bits);

/* Canonical text (RFC 5952 for IPv6); buf must hold PREFIX_STRLEN bytes. Return buf. */
const char *addr_fmt(const struct ip_addr *a, char *buf);
/* "A/L", always with the length. */
const char *prefix_fmt(const struct ip_prefix *p, char *buf);

int addr_bits(int family);
bool addr_equal(const struct ip_addr *a, const struct ip_addr *b);
int addr_cmp(const struct ip_addr *a, const struct ip_addr *b);
int prefix_cmp(const struct ip_prefix *a, const struct ip_prefix *b);
/* True if p (of any length) lies inside outer. */
bool prefix_contains(const struct ip_prefix *outer, const struct ip_prefix *p);
bool prefix_overlaps(const struct ip_prefix *a, const struct ip_prefix *b);
/* Zero the bits past len. */
void prefix_mask(struct ip_prefix *p);
bool prefix_has_host_bits(const struct ip_prefix *p);

/*
 * count (<= 64) bits from bit start (0 = most significant) of a 16-byte address in network
 * order.  A run outside the 128 bits reads as 0 and is not written (-ERANGE).
 */
uint64_t addr_get_bits(const uint8_t *bytes, unsigned start, unsigned count);
int addr_set_bits(uint8_t *bytes, unsigned start, unsigned count, uint64_t value);

/*
 * The lengths a delegated prefix (DHCPv6-PD) may have: a LAN needs a /64 of it, and uplinkd
 * routes all of it (an unreachable route), so a peer must not hand out a huge one.
 */
#define PD_MIN_LEN 32
#define PD_MAX_LEN 64
/* Why p cannot be used as a delegated prefix, or NULL. */
const char *prefix_pd_problem(const struct ip_prefix *p);

struct ip_addr addr_v4(uint32_t host_order);
struct ip_addr addr_v6(const struct in6_addr *a);

#endif
