/*
 * MAP-E (RFC 7597) arithmetic: from a Basic Mapping Rule and an end-user IPv6 prefix to the
 * CE's IPv4 address (or prefix), PSID, port sets and CE IPv6 address.  Both interface-id
 * layouts are supported: RFC 7597 section 6 and draft-ietf-softwire-map-03 (used by the
 * Japanese VNEs: v6plus, OCN Virtual Connect, BIGLOBE).
 */
#ifndef UPLINK_MAPE_H
#define UPLINK_MAPE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

enum mape_iid {
	MAPE_IID_DRAFT03, /* 8 zero bits | IPv4 (32) | PSID (16) | 8 zero bits */
	MAPE_IID_RFC7597, /* 16 zero bits | IPv4 (32) | PSID (16) */
};

struct mape_rule {
	struct ip_prefix ipv6;  /* rule IPv6 prefix, length n */
	struct ip_prefix ipv4;  /* rule IPv4 prefix, length r */
	unsigned ea_len;        /* o: 0..48 */
	unsigned psid_offset;   /* a: 0..15 */
	int psid_len;           /* q: -1 = derive as o - (32 - r); else must agree with o and r */
	bool has_psid;          /* a PSID provisioned explicitly: for rules whose EA bits carry */
	unsigned psid;          /* none (o = 32 - r), with psid_len; otherwise a cross-check */
	bool has_br;
	struct in6_addr br;
	enum mape_iid iid;
};

struct mape_result {
	struct in_addr ipv4;    /* the CE's IPv4 address (network part when ipv4_len < 32) */
	unsigned ipv4_len;      /* 32, or r + o when o < p (the CE gets an IPv4 prefix) */
	unsigned psid;
	unsigned psid_len;      /* q */
	unsigned psid_offset;   /* a */
	unsigned port_sets;     /* number of port sets: 2^a - 1, or 1 when a = 0 (or q = 0) */
	unsigned ports_per_set; /* 2^m, m = 16 - a - q */
	struct in6_addr ce;     /* CE IPv6 address */
	struct ip_prefix end_user; /* the end-user prefix as given, bits past its length zeroed */
	bool has_br;
	struct in6_addr br;
};

/* Checks a rule on its own (lengths, ranges, address families). 0 or -EINVAL with e->msg. */
int mape_rule_validate(const struct mape_rule *rule, struct ul_err *e);

/*
 * Computes the mapping for an end-user prefix.  -EINVAL with a reason in e when the prefix
 * does not lie in the rule's IPv6 prefix, is shorter than n + o, is longer than /64, or the
 * rule is invalid.
 */
int mape_compute(const struct mape_rule *rule, const struct ip_prefix *end_user,
		 struct mape_result *out, struct ul_err *e);

/*
 * Port set i (0 <= i < port_sets): ports [*lo, *hi].  Never port 0: the set that would hold
 * it (no PSID, or PSID 0 with a = 0) starts at 1.
 */
void mape_port_range(const struct mape_result *r, unsigned i, uint16_t *lo, uint16_t *hi);
/* Total ports available to the CE: port_sets * ports_per_set, less port 0. */
unsigned mape_port_count(const struct mape_result *r);
/*
 * The port sets as arithmetic (RFC 7597 5.1, ports A.PSID.M with A != 0): port is ours when
 * (port & *mask) == *bits and port >= *min.  *mask is 0 when the CE has every port.
 */
void mape_port_mask(const struct mape_result *r, uint16_t *mask, uint16_t *bits, uint16_t *min);
/* True if port lies in one of the CE's port sets. */
bool mape_port_in_sets(const struct mape_result *r, uint16_t port);

/* The built-in rule table, generated from lib/mape-rules/mape-rules.json. */
struct mape_builtin_rule {
	const char *service;    /* "v6plus", "ocn", ... */
	const char *rule_v6;    /* "240b:10::/31" */
	const char *rule_v4;    /* "106.72.0.0/15" */
	unsigned ea_len;
	unsigned psid_offset;
	const char *br;         /* IPv6 address, or NULL */
};
extern const struct mape_builtin_rule mape_builtin_rules[];
extern const unsigned mape_builtin_rule_count;

/*
 * Finds the built-in rule whose IPv6 prefix contains the end-user prefix (longest match)
 * and fills rule (draft-03 layout, BR set when known).  0, or -ENOENT with e->msg.
 */
int mape_rule_lookup(const struct ip_prefix *end_user, struct mape_rule *rule,
		     const char **service, struct ul_err *e);

#endif
