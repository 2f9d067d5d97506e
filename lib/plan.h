/*
 * The desired kernel state.  plan_build() is a pure function of the configuration and the
 * observed facts; the apply engine diffs its result against the kernel and changes only what
 * differs.  Every object here is one uplinkd owns (or, for sysctls and tokens, sets and
 * restores on `down`).
 */
#ifndef UPLINK_PLAN_H
#define UPLINK_PLAN_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "facts.h"
#include "mape.h"
#include "nftplan.h"
#include "util.h"

enum plan_link_kind {
	PLAN_LINK_VLAN,
	PLAN_LINK_IP6TNL, /* mode ipip6, encaplimit none */
};

struct plan_link {
	char name[IFNAMSIZ];
	enum plan_link_kind kind;
	char parent[IFNAMSIZ];   /* VLAN: the NIC; ip6tnl: the underlay device (IFLA_IPTUN_LINK) */
	uint16_t vlan_id;
	bool has_local;          /* ip6tnl: false = any (the kernel picks by route) */
	struct in6_addr local, remote;
	uint32_t mtu;            /* 0: kernel default */
	const char *uplink;
};

/*
 * An interface uplinkd uses but does not create (a WAN NIC, a VLAN's parent): it must be up,
 * and have this MTU if one is set.
 */
struct plan_dev {
	char name[IFNAMSIZ];
	uint32_t mtu;            /* 0: leave */
	const char *uplink;
};

struct plan_sysctl {
	char key[96];            /* dotted, as sysctl(8) writes it: net.ipv6.conf.wan.accept_ra */
	char value[16];
	const char *uplink;      /* a device's setting: the uplink it is for; NULL: shared */
};

struct plan_token {
	char dev[IFNAMSIZ];
	struct in6_addr token;
	const char *uplink;
};

struct plan_addr {
	char dev[IFNAMSIZ];
	struct ip_prefix addr;   /* address with its prefix length (host bits kept) */
	bool nodad;
	bool noprefixroute;
	const char *uplink;
};

enum plan_route_type {
	PLAN_RT_UNICAST,
	PLAN_RT_UNREACHABLE,
};

struct plan_route {
	uint32_t table;
	struct ip_prefix dst;
	enum plan_route_type type;
	struct ip_addr gw;       /* family 0: none */
	char dev[IFNAMSIZ];      /* "" for unreachable */
	bool onlink;             /* the gateway lies outside the device's subnet (a /32 line) */
	uint32_t metric;
	const char *uplink;
};

enum plan_rule_action {
	PLAN_RULE_LOOKUP,
	PLAN_RULE_PROHIBIT,
};

struct plan_rule {
	int family;
	uint32_t priority;
	enum plan_rule_action action;
	uint32_t table;
	bool has_src;
	struct ip_prefix src;
	uint32_t fwmark, fwmask; /* fwmask 0: no fwmark match */
	int suppress_prefixlen;  /* -1: none */
	char comment[64];
	const char *uplink;      /* an uplink's own rule; NULL: shared (policies, main table) */
};

/*
 * A process uplinkd runs for an uplink, listed only while it should run: the daemon's
 * supervisor (src/daemon_supervisor.c) starts what is listed and stops what is not.
 */
enum plan_proc_kind {
	PLAN_PROC_PPPD,
	PLAN_PROC_DHCPV6_PD,
	PLAN_PROC_UPDATE,        /* the transix update request for local */
};

struct plan_proc {
	enum plan_proc_kind kind;
	const char *uplink;
	char dev[IFNAMSIZ];      /* pppd: the Ethernet device; dhcp6: the interface it asks on */
	char ifname[IFNAMSIZ];   /* pppd: the ppp interface name */
	struct in6_addr local;   /* update: the tunnel's local address to register */
	bool paused;             /* dhcp6: its uplink is left out for now: keep the lease, ask not */
};

/*
 * Whether u's processes may run at all: not disabled, not held down by the operator or the pair
 * (pppd hangs up, a delegated prefix is given back).
 */
bool plan_runs_procs(const struct cfg_uplink *u, const struct uplink_facts *f);

struct plan;
/* The process of that kind the plan lists for the uplink, or NULL. */
const struct plan_proc *plan_proc_of(const struct plan *p, enum plan_proc_kind kind, const char *uplink);

enum plan_uplink_state {
	PLAN_UP,        /* ready and chosen when it is the best */
	PLAN_WAITING,   /* missing a fact (prefix, AFTR, session) */
	PLAN_DOWN,      /* link down, health check failed, administratively down, or inactive */
	PLAN_DISABLED,  /* disabled = yes */
	PLAN_FAILED,    /* the kernel refused one of its objects: left out until a retry */
};

/* What the plan says about each uplink, for messages and `status`. */
struct plan_uplink {
	const struct cfg_uplink *cfg;
	enum plan_uplink_state state;
	char reason[256];
	uint32_t mark;
	bool excluded;           /* nothing of it is planned: disabled, missing device, failed */
	bool ready;              /* its table has a route through it */
	bool usable;             /* ready, healthy, up, active, not held down */
	bool held;               /* would be usable, but held down (hold-down after recovery) */
	bool has_ipv4;
	struct in_addr ipv4;     /* the IPv4 address traffic leaves with (NAT source) */
	bool has_local6;
	struct in6_addr local6;  /* tunnel local / WAN address */
	bool has_mape;
	struct mape_result mape;
	const char *mape_service;
};

struct plan {
	const struct config *cfg;
	VEC(struct plan_sysctl) sysctls;
	VEC(struct plan_link) links;
	VEC(struct plan_dev) devs;
	VEC(struct plan_token) tokens;
	VEC(struct plan_addr) addrs;
	VEC(struct plan_route) routes;
	VEC(struct plan_rule) rules;
	VEC(struct plan_proc) procs;
	struct plan_uplink *uplinks; /* indexed like cfg->uplinks */
	struct nftp_table nft;
	const struct cfg_uplink *default4, *default6; /* main table's default route, or NULL */
};

/*
 * Rule priorities, relative to [global] rule-priority.  A chain that fails closed (fallback =
 * none) comes before the main table: its uplink's table, then prohibit, whatever the main
 * table holds (LAN destinations never get its mark: see plan_lan_exempt()).
 */
#define PLAN_PRIO_CLOSED 0      /* + 2 x class index: fwmark <chain mark> lookup <uplink>; + 1: prohibit */
#define PLAN_PRIO_SUPPRESS 512
#define PLAN_PRIO_SOURCE 513    /* + uplink index: from <uplink address> */
#define PLAN_PRIO_UPLINK 768    /* + uplink index: fwmark <uplink mark> */
#define PLAN_PRIO_CLASS 1024    /* + class index: fwmark <policy chain mark> */
#define PLAN_PRIO_SPAN 1280

/* The unreachable route for a delegated prefix: the last resort (as OpenWrt's). */
#define PLAN_PD_UNREACHABLE_METRIC 2147483647u

/* 0, or -ENOMEM / -EINVAL (with e) for an inconsistent config or facts. */
int plan_build(const struct config *cfg, const struct facts *facts, struct plan *out,
	       struct ul_err *e);
void plan_free(struct plan *p);

/* The plan as commands in ip/sysctl/nft vocabulary (a runnable script), sorted. */
void plan_print(const struct plan *p, struct strbuf *sb);
void plan_print_json(const struct plan *p, struct strbuf *sb);

const char *plan_state_name(enum plan_uplink_state s);

/* One object as an ip command; verb is "add", "del", "replace", ... */
void plan_link_str(struct strbuf *sb, const struct plan_link *l);
void plan_addr_str(struct strbuf *sb, const struct plan_addr *a, const char *verb);
void plan_route_str(struct strbuf *sb, const struct plan_route *r, unsigned proto, const char *verb);
void plan_rule_str(struct strbuf *sb, const struct plan_rule *r, unsigned proto, const char *verb);
/* A per-interface sysctl (net/ipv6/conf/DEV/...): it can be set only once DEV exists. */
bool plan_sysctl_is_device(const char *key);
/* "net/ipv6/conf/ens224.1000/accept_ra" -> "net.ipv6.conf.ens224/1000.accept_ra" */
void plan_sysctl_name(const char *path, char *out, size_t len);

#endif
