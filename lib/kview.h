/*
 * The kernel as uplinkd sees it: links, addresses, the routes and rules that matter.  Plain
 * data, filled from rtnetlink dumps (lib/rtnl.c) or kept current by the daemon's events, and
 * read by the pure functions that observe facts and diff against the plan.
 */
#ifndef UPLINK_KVIEW_H
#define UPLINK_KVIEW_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

/* From <linux/if.h> and <linux/ip6_tunnel.h>, which clash with <net/if.h>. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif
#define KV_IP6_TNL_F_IGN_ENCAP_LIMIT 0x1

struct kv_link {
	int ifindex;
	char name[IFNAMSIZ];
	char kind[16];           /* IFLA_INFO_KIND: "vlan", "ip6tnl", "ppp", "" for a NIC */
	unsigned flags;          /* IFF_UP, IFF_LOWER_UP, ... */
	uint32_t mtu;
	int link;                /* IFLA_LINK: a VLAN's parent, a tunnel's underlay */
	uint16_t vlan_id;
	struct in6_addr local, remote; /* ip6tnl */
	uint8_t tnl_proto;
	uint32_t tnl_flags;
	uint8_t tnl_ttl;
	bool has_token;
	struct in6_addr token;
	char alias[64];
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
};

struct kv_addr {
	int ifindex;
	struct ip_prefix addr;   /* IFA_LOCAL (or IFA_ADDRESS), with its prefix length */
	bool has_peer;
	struct ip_addr peer;     /* IFA_ADDRESS on a point-to-point link */
	uint32_t flags;          /* IFA_F_* (IFA_FLAGS) */
	uint8_t scope;
	uint32_t valid_lft, preferred_lft;
};

struct kv_route {
	uint32_t table;
	struct ip_prefix dst;
	uint8_t type;            /* RTN_* */
	uint8_t protocol;        /* RTPROT_* */
	struct ip_addr gw;
	int oif;
	uint32_t metric;
};

struct kv_rule {
	int family;
	uint32_t priority;
	uint8_t action;          /* FR_ACT_* */
	uint8_t protocol;
	uint32_t table;
	bool has_src;
	struct ip_prefix src;
	uint32_t fwmark, fwmask;
	int suppress_prefixlen;  /* -1: none */
	bool has_other;          /* a match uplinkd never sets (iif, dst, tos, ...) */
};

/* A sysctl's current value (only those uplinkd sets or restores are read). */
struct kv_sysctl {
	char key[96];            /* path under /proc/sys */
	char value[64];
};

struct kview {
	VEC(struct kv_link) links;
	VEC(struct kv_addr) addrs;
	VEC(struct kv_route) routes;
	VEC(struct kv_rule) rules;
	VEC(struct kv_sysctl) sysctls;
};

void kview_free(struct kview *kv);
void kview_clear(struct kview *kv);

const struct kv_link *kview_link_by_name(const struct kview *kv, const char *name);
const struct kv_link *kview_link_by_index(const struct kview *kv, int ifindex);
/* The name of ifindex, or "if%d". */
const char *kview_ifname(const struct kview *kv, int ifindex, char *buf);
const char *kview_sysctl(const struct kview *kv, const char *key);

#endif
