/* The configuration: one INI file of [global], [uplink NAME] and [policy NAME] sections. */
#ifndef UPLINK_CONFIG_H
#define UPLINK_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "mape.h"
#include "util.h"

/* Line of each key as written, indexed like the key table; 0 = not given. */
#define CFG_KEY_SLOTS 96

enum cfg_uplink_type {
	CFG_PPPOE,
	CFG_IPOE,
	CFG_DSLITE,
	CFG_IPIP6,
	CFG_MAPE,
	CFG_STATIC,
};
#define CFG_TYPE_COUNT 6

enum cfg_prefix_source {
	CFG_PREFIX_RA,
	CFG_PREFIX_DHCPV6_PD,
	CFG_PREFIX_STATIC,
};

enum cfg_check_kind {
	CFG_CHECK_NONE,
	CFG_CHECK_ICMP,
	CFG_CHECK_TCP,
	CFG_CHECK_HTTP,
};

/* A condition on the host: `address A on DEV` (the master of a VRRP/CARP pair holds A). */
struct cfg_active_if {
	bool set;
	struct ip_addr addr;
	char dev[IFNAMSIZ];
};

struct cfg_port_range {
	uint16_t lo, hi;
};

/* A router service reachable from this uplink when the firewall is on: tcp/22, udp/500. */
struct cfg_accept {
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP */
	struct cfg_port_range ports;
};

struct cfg_uplink {
	char *name;
	unsigned line;
	unsigned index;              /* position in the file, 0-based */
	unsigned key_line[CFG_KEY_SLOTS];
	unsigned n_bad;              /* keys whose values were rejected */
	enum cfg_uplink_type type;

	char device[IFNAMSIZ];       /* parent NIC (pppoe, ipoe, static) */
	uint16_t vlan;               /* 0: none */
	char ifname[IFNAMSIZ];       /* the uplink's own interface (WAN, VLAN, tunnel or ppp) */
	char lower[IFNAMSIZ];        /* device or device.vlan: where pppd / addresses go */
	bool has_priority;           /* false: priority = none, never the main default route */
	uint32_t priority;
	uint32_t mtu;                /* 0: leave alone */
	bool nat;
	bool mss_clamp;
	uint32_t table;
	bool disabled;

	/* pppoe */
	char *user;
	char *password_file;
	bool ipv4, ipv6;             /* pppoe: NCPs; static: families present */
	bool dhcpv6_pd;
	char *service;               /* PPPoE service name, NULL = any */
	char *ac_name;
	uint32_t lcp_echo_interval, lcp_echo_failure;

	/* prefix delegation (pppoe with dhcpv6-pd, ipoe with prefix = dhcpv6-pd) */
	char pd_lan[IFNAMSIZ];
	uint32_t pd_subnet;          /* which /64 of the delegated prefix goes to pd-lan */
	struct in6_addr pd_iid;      /* the router's interface id on pd-lan */

	/* ipoe */
	bool has_token;
	struct in6_addr token;
	enum cfg_prefix_source prefix_source;
	struct ip_prefix prefix;     /* CFG_PREFIX_STATIC */

	/* dslite, ipip6, mape */
	char *over;
	struct cfg_uplink *over_uplink;

	/* dslite */
	char *aftr_name;             /* NULL when an address is given */
	bool has_aftr_addr;
	struct in6_addr aftr;
	struct in_addr b4;

	/* ipip6 */
	struct in6_addr remote;
	struct in_addr fixed_ipv4;
	char *update_url;            /* NULL: no update request */
	uint64_t update_interval_ms; /* re-send period, 0 = only on changes */

	/* mape */
	bool rule_auto;
	struct mape_rule rule;

	/* static */
	struct ip_prefix addr4, addr6;
	struct ip_addr gateway4, gateway6;

	/* health check */
	enum cfg_check_kind check;
	char *check_target;          /* "ADDR", "ADDR:PORT" or a URL */
	uint64_t check_interval_ms;
	uint32_t check_fail, check_recover;

	struct cfg_accept *accept;
	size_t n_accept;

	struct cfg_active_if active_if;
};

struct cfg_policy {
	char *name;
	unsigned line;
	unsigned index;
	unsigned key_line[CFG_KEY_SLOTS];
	struct ip_prefix *from;
	size_t n_from;
	struct ip_prefix *to;
	size_t n_to;
	char *to_file;               /* the @file the destinations came from, for messages */
	bool proto_tcp, proto_udp, proto_icmp; /* none set: any protocol */
	struct cfg_port_range *dport;
	size_t n_dport;
	char *uplink_name;
	char *fallback_names;        /* as written */
	struct cfg_uplink *uplink;
	struct cfg_uplink **fallback;
	size_t n_fallback;
	bool fallback_none;          /* fail closed when no uplink of the chain is usable */
};

struct config {
	char *path;
	unsigned key_line[CFG_KEY_SLOTS];
	char lan[8][IFNAMSIZ];
	size_t n_lan;
	uint32_t table_base;
	uint32_t rule_priority;
	uint32_t fwmark_mask;
	uint32_t route_protocol;
	char nft_table[32];
	bool firewall;
	uint64_t hold_down_ms;
	struct cfg_active_if active_if;

	struct cfg_uplink *uplinks;
	size_t n_uplinks;
	struct cfg_policy *policies;
	size_t n_policies;
};

/* One message for the user, already formatted as FILE:LINE: [section] key: reason. */
struct cfg_diag {
	char *text;
	unsigned line;
	unsigned seq;
	bool warning;
};

struct cfg_diags {
	struct cfg_diag *v;
	size_t n, cap;
	unsigned errors, warnings;
};

/*
 * Loads and validates path.  Returns the config, or NULL when there is at least one error;
 * every error and warning found is in diags (sorted by line).  Secrets are not read, only
 * their files' existence and permissions checked.
 */
struct config *cfg_load(const char *path, struct cfg_diags *diags);
void cfg_free(struct config *cfg);
void cfg_diags_free(struct cfg_diags *diags);

/* The normalised configuration, every key explicit, secrets masked. */
void cfg_print(const struct config *cfg, struct strbuf *sb);

const char *cfg_type_name(enum cfg_uplink_type t);
struct cfg_uplink *cfg_find_uplink(const struct config *cfg, const char *name);

/*
 * Reads a secret file (first line, trailing newline stripped). Caller frees and wipes. Refuses
 * a symbolic link, anything but a regular file and an empty first line; the one judge of a
 * password file, for the check (out = NULL: read, judged, wiped) and at run time alike.
 */
int cfg_read_secret(const char *path, char **out, struct ul_err *e);

/* Whether the configuration uses an interface (as an uplink's, a LAN or a pd-lan). */
bool cfg_uses_interface(const struct config *cfg, const char *ifname);

/* Families an uplink carries: IPv4 to the internet, IPv6 to the internet. */
bool cfg_uplink_has_ipv4(const struct cfg_uplink *u);
bool cfg_uplink_has_ipv6(const struct cfg_uplink *u);

#endif
