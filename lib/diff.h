/*
 * The difference between the plan and the kernel, as an ordered list of changes to objects
 * uplinkd owns.  Pure: the apply engine executes the list (and undoes it on a refusal), and
 * `apply --dry-run` prints it.
 */
#ifndef UPLINK_DIFF_H
#define UPLINK_DIFF_H

#include "kview.h"
#include "plan.h"
#include "state.h"

enum change_kind {
	CH_SYSCTL,          /* write sysctl.key = sysctl.value (old: what was there) */
	CH_LINK_ADD,        /* create link */
	CH_LINK_CHANGE,     /* change link's parameters (ip6tnl ends, MTU) in place */
	CH_LINK_DEL,        /* delete dev (an owned link no longer planned) */
	CH_LINK_UP,         /* set dev administratively up */
	CH_MTU,             /* set dev's MTU to mtu (old: what it was) */
	CH_TOKEN,           /* set dev's IPv6 token (old: what it was) */
	CH_ADDR_ADD,
	CH_ADDR_DEL,
	CH_ROUTE_SET,       /* add, or replace the route with the same key */
	CH_ROUTE_DEL,
	CH_RULE_ADD,
	CH_RULE_DEL,
	CH_NFT_REPLACE,     /* replace the whole nftables table */
	CH_NFT_DELETE,
	CH_RESTORE_SYSCTL,  /* put back a sysctl uplinkd no longer sets */
	CH_RESTORE_TOKEN,
	CH_RESTORE_MTU,
	CH_RESTORE_DOWN,    /* set down a device uplinkd had set up */
};

struct change {
	enum change_kind kind;
	char dev[IFNAMSIZ];
	struct plan_sysctl sysctl;
	char old[64];
	struct plan_link link;
	struct plan_link old_link;   /* CH_LINK_CHANGE: the parameters before */
	uint32_t mtu;
	struct in6_addr token;
	struct plan_addr addr;
	struct plan_route route;
	bool has_old_route;          /* CH_ROUTE_SET replaces this one */
	struct plan_route old_route;
	struct plan_rule rule;
	bool owned;                  /* CH_LINK_DEL etc.: the object is uplinkd's; CH_NFT_REPLACE: the table is new */
	const char *uplink;          /* the uplink the object is for; NULL: shared */
};

struct changes {
	struct change *v;
	size_t n, cap;
	const char *conflict_uplink; /* diff_build's -EEXIST: the uplink whose object it was */
};

/* The kernel's nftables table against the plan's. */
enum diff_nft {
	DIFF_NFT_DIFFERS,
	DIFF_NFT_SAME,
	DIFF_NFT_ABSENT,    /* no table yet: a cold apply */
};

/*
 * The changes that take the kernel (kv) to the plan, in a safe order: settings, links,
 * addresses, routes, rules, then what is no longer planned, the nftables table, and last the
 * forwarding sysctls that go on, so that nothing is forwarded before the firewall is there.
 * A table that does not exist yet comes first of all (change.owned: undone by deleting it):
 * its rules name interfaces, so it needs none of them, and the WAN interfaces come up behind
 * it.  Fails with -EEXIST and a message naming the object when something uplinkd does not own
 * stands in the way (and out->conflict_uplink names the uplink the planned object was for).
 */
int diff_build(const struct plan *p, const struct kview *kv, const struct own_state *own,
	       enum diff_nft nft, struct changes *out, struct ul_err *e);

/*
 * The changes that remove everything uplinkd owns and restore what it changed (`down`):
 * rules and routes with its protocol, its table, its addresses and links, the settings.
 */
int diff_teardown(const struct kview *kv, const struct own_state *own, uint32_t protocol,
		  bool nft_exists, struct changes *out);

void changes_free(struct changes *c);

/* One line in ip/sysctl/nft vocabulary: "add route default dev v6plus table 101". */
void change_describe(const struct change *c, const char *nft_table, uint32_t protocol,
		     struct strbuf *sb);


#endif
