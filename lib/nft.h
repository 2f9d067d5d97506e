/*
 * uplinkd's nftables table in the kernel, through libnftnl + libmnl: build the table described
 * by an nftp_table as libnftnl objects, compare it with the kernel's, and replace it in one
 * transaction (all or nothing).
 */
#ifndef UPLINK_NFT_H
#define UPLINK_NFT_H

#include <stdbool.h>
#include <stdint.h>

#include "nftplan.h"
#include "util.h"

struct nft_conn;

/* Counters for benchmarks and the "no mutating message" contract. */
struct nft_stats {
	unsigned long msgs_sent;      /* netlink messages sent, queries included */
	unsigned long mutating_msgs;  /* of those, messages that change state */
	unsigned long batches;        /* transactions committed */
};

/* A netlink socket for nftables in the current network namespace. */
int nft_open(struct nft_conn **out, struct ul_err *e);
void nft_close(struct nft_conn *c);
const struct nft_stats *nft_stats(const struct nft_conn *c);
/* The socket's netlink port: events caused by our own batches carry it. */
uint32_t nft_portid(const struct nft_conn *c);

/*
 * 1 when the kernel holds table inet t->name exactly as t describes it (same sets and
 * elements, chains, rules), 0 when it differs or is absent, -errno on failure.  Sends only
 * queries.
 */
int nft_table_matches(struct nft_conn *c, const struct nftp_table *t, struct ul_err *e);

/*
 * Replaces table inet t->name by t in one transaction: the table is created if absent,
 * emptied and rebuilt otherwise.  On a kernel refusal nothing changes; e names the object
 * (table/set/chain/rule) and carries the kernel's extended-ack message.
 */
int nft_table_replace(struct nft_conn *c, const struct nftp_table *t, struct ul_err *e);

/*
 * The digest of t stored in the table's userdata; nft_table_matches() compares it first.
 * Stable across runs and hosts for the same table and the same builder.
 */
uint64_t nft_table_hash(const struct nftp_table *t);

/* Deletes table inet name if it exists (*existed says whether it did). */
int nft_table_delete(struct nft_conn *c, const char *name, bool *existed, struct ul_err *e);

/* 1 if table inet name exists, 0 if not. */
int nft_table_exists(struct nft_conn *c, const char *name, struct ul_err *e);

/*
 * The libnftnl rendering of one planned rule, as `nft --debug=netlink` prints rules
 * ("[ meta load iifname => reg 1 ]" ...), preceded like there by the anonymous sets the rule
 * uses, for the builders' unit tests.  NULL on an invalid rule.  Caller frees.
 */
char *nft_rule_debug(const struct nftp_table *t, const struct nftp_chain *chain,
		     const struct nftp_rule *rule);

/*
 * The same for a named set: the set, then its elements as decoded from the NEWSETELEM
 * messages nft_table_replace() sends ("\telement 0000000a  : 0 [end]" ...).  Caller frees.
 */
char *nft_set_debug(const struct nftp_table *t, const struct nftp_set *set);

#endif
