/*
 * uplinkd's nftables table as data: sets, chains and rules made of a small vocabulary of
 * matches and statements.  The planner fills it, nftplan_print() renders it as `nft -f`
 * input, and the nftables backend turns each match/statement into libnftnl expressions.
 */
#ifndef UPLINK_NFTPLAN_H
#define UPLINK_NFTPLAN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

enum nftp_set_type {
	NFTP_SET_IFNAME,
	NFTP_SET_IPV4,       /* interval */
	NFTP_SET_IPV6,       /* interval */
};

/* An inclusive address range, network byte order (IPv4 in the first 4 bytes). */
struct nftp_range {
	uint8_t lo[16], hi[16];
};

struct nftp_ifname {
	char name[IFNAMSIZ];
};

struct nftp_set {
	char name[64];
	enum nftp_set_type type;
	VEC(struct nftp_ifname) ifnames;
	VEC(struct ip_prefix) prefixes;  /* as added */
	VEC(struct nftp_range) ranges;   /* after nftp_set_normalize: sorted, merged, disjoint */
};

enum nftp_hook {
	NFTP_HOOK_NONE,       /* a regular chain, reached by jump */
	NFTP_HOOK_PREROUTING,
	NFTP_HOOK_INPUT,
	NFTP_HOOK_FORWARD,
	NFTP_HOOK_OUTPUT,
	NFTP_HOOK_POSTROUTING,
};

enum nftp_chain_type {
	NFTP_CHAIN_FILTER,
	NFTP_CHAIN_NAT,
	NFTP_CHAIN_ROUTE,
};

/* ct state bits, as the kernel numbers them (NF_CT_STATE_BIT). */
#define NFTP_CT_INVALID 1u
#define NFTP_CT_ESTABLISHED 2u
#define NFTP_CT_RELATED 4u
#define NFTP_CT_NEW 8u
#define NFTP_CT_UNTRACKED 64u

enum nftp_match_kind {
	NFTP_M_NFPROTO,       /* meta nfproto ipv4|ipv6: .family */
	NFTP_M_IIFNAME,       /* .name */
	NFTP_M_OIFNAME,       /* .name */
	NFTP_M_IIFNAME_IN,    /* iifname @set: .name */
	NFTP_M_OIFNAME_IN,    /* oifname @set: .name */
	NFTP_M_SADDR_IN,      /* ip[6] saddr @set: .name, .family */
	NFTP_M_DADDR_IN,      /* ip[6] daddr @set: .name, .family */
	NFTP_M_SADDR,         /* ip[6] saddr PREFIX: .prefix */
	NFTP_M_L4PROTO,       /* meta l4proto { ... }: .protos[.n] */
	NFTP_M_L4PROTO_NOT,   /* meta l4proto != { ... } */
	NFTP_M_DPORT_IN,      /* th dport { ranges }: .ports[.n] (needs an L4PROTO match before) */
	NFTP_M_UDP_PORTS,     /* udp sport .ports[0].lo udp dport .ports[1].lo */
	NFTP_M_CT_STATE,      /* ct state & .bits != 0 */
	NFTP_M_CT_STATUS_DNAT,
	NFTP_M_MARK_ZERO,     /* meta mark & .mask == 0 */
	NFTP_M_CTMARK_NONZERO,/* ct mark & .mask != 0 */
	NFTP_M_TCP_SYN,       /* tcp flags syn / syn,rst */
	NFTP_M_ICMPV6_TYPE_IN,/* icmpv6 type { ... }: .types[.n] (needs an L4PROTO match before) */
	NFTP_M_FIB_OIF_IN,    /* fib daddr oifname { the names in ifname set .name } */
	NFTP_M_SADDR_NOT,     /* ip saddr != .prefix (an address) */
	NFTP_M_DADDR,         /* ip[6] daddr .prefix (an address) */
	NFTP_M_ICMP_TYPE,     /* icmp type .types[0] */
	NFTP_M_TH_MASK_NE,    /* th sport / icmp id (.off 0 / 4) & .mask != .bits (16-bit fields) */
	NFTP_M_TH_LT,         /* th sport / icmp id (.off 0 / 4) < .bits */
};

#define NFTP_MAX_PORTS 16
#define NFTP_MAX_TYPES 8

struct nftp_port_range {
	uint16_t lo, hi;
};

struct nftp_match {
	enum nftp_match_kind kind;
	int family;
	char name[64];
	struct ip_prefix prefix;
	uint8_t protos[4];
	uint8_t types[NFTP_MAX_TYPES];
	struct nftp_port_range ports[NFTP_MAX_PORTS];
	size_t n;
	uint32_t bits, mask;
	uint8_t off;          /* NFTP_M_TH_*: the field's offset in the transport header */
};

enum nftp_stmt_kind {
	NFTP_S_ACCEPT,
	NFTP_S_DROP,
	NFTP_S_RETURN,
	NFTP_S_JUMP,          /* .chain */
	NFTP_S_COUNTER,
	NFTP_S_MASQUERADE,
	NFTP_S_SNAT,          /* snat ip to .addr[:.ports] */
	NFTP_S_NUMGEN_VMAP,   /* numgen inc mod .n vmap { i : jump <.chain>_<i> } */
	NFTP_S_MSS_PMTU,      /* tcp option maxseg size set rt mtu */
	NFTP_S_MARK_SET,      /* meta mark set meta mark & ~.mask | .value */
	NFTP_S_CTMARK_SET,    /* ct mark set ct mark & ~.mask | .value */
	NFTP_S_MARK_FROM_CT,  /* meta mark set ct mark & .mask */
	NFTP_S_DNAT,          /* dnat ip to .addr */
};

struct nftp_stmt {
	enum nftp_stmt_kind kind;
	char chain[64];
	struct in_addr addr;
	bool has_ports;
	struct nftp_port_range ports;
	uint32_t n;
	uint32_t value, mask;
};

struct nftp_rule {
	struct nftp_match m[8];
	size_t n_m;
	struct nftp_stmt s[4];
	size_t n_s;
	char comment[96];
};

struct nftp_chain {
	char name[64];
	enum nftp_hook hook;
	enum nftp_chain_type type;
	int priority;
	bool policy_drop;
	VEC(struct nftp_rule) rules;
};

struct nftp_table {
	char name[32];           /* family inet */
	VEC(struct nftp_set) sets;
	VEC(struct nftp_chain) chains;
};

/* Builders: return the new object or NULL on ENOMEM. */
struct nftp_set *nftp_add_set(struct nftp_table *t, const char *name, enum nftp_set_type type);
int nftp_set_add_ifname(struct nftp_set *s, const char *ifname);
/* Adds prefixes; nftp_set_normalize() then turns them into sorted, merged ranges. */
int nftp_set_add_prefix(struct nftp_set *s, const struct ip_prefix *p);
int nftp_set_normalize(struct nftp_set *s);
struct nftp_chain *nftp_add_chain(struct nftp_table *t, const char *name, enum nftp_hook hook,
				  enum nftp_chain_type type, int priority);
struct nftp_rule *nftp_add_rule(struct nftp_chain *c, const char *comment);
struct nftp_match *nftp_rule_match(struct nftp_rule *r, enum nftp_match_kind kind);
struct nftp_stmt *nftp_rule_stmt(struct nftp_rule *r, enum nftp_stmt_kind kind);
struct nftp_chain *nftp_find_chain(struct nftp_table *t, const char *name);
const struct nftp_set *nftp_find_set(const struct nftp_table *t, const char *name);

void nftp_free(struct nftp_table *t);

/* `nft -f` input for the whole table (without a flush or delete line). */
void nftp_print(const struct nftp_table *t, struct strbuf *sb);
/* "filter", "nat" or "route", as nftables names a base chain's type. */
const char *nftp_chain_type_name(enum nftp_chain_type t);

#endif
