// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one seam to the kernel: everything apply reads from or changes in the kernel goes through
 * a struct kernel.  Two implementations: Linux (lib/kernel_linux.c: rtnetlink through libnl,
 * /proc/sys, nftables through libnftnl, conntrack) and an in-memory twin (lib/kernel_mem.c)
 * that the unit tests drive, which can be told to lack a device or to refuse a change.
 */
#ifndef UPLINK_KERNEL_H
#define UPLINK_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conntrack.h"
#include "diff.h"
#include "kview.h"
#include "nftplan.h"
#include "util.h"

struct kernel;

struct kernel_stats {
	unsigned long rtnl_msgs, rtnl_mutating;
	unsigned long nft_msgs, nft_mutating;
};

struct kernel_ops {
	/* Links, addresses, routes (default ones and those with protocol keep_proto), rules. */
	int (*dump)(struct kernel *k, struct kview *kv, uint8_t keep_proto, struct ul_err *e);
	/* /proc/sys/KEY without its newline; -ENOENT when there is no such key. */
	int (*sysctl_read)(struct kernel *k, const char *key, char *buf, size_t len);
	/* One change of a diff (sysctls and rtnetlink objects; not CH_NFT_*). */
	int (*exec)(struct kernel *k, const struct change *c, uint8_t proto, struct ul_err *e);
	/* 1: the kernel's table is t, 0: it differs or is absent. */
	int (*nft_matches)(struct kernel *k, const struct nftp_table *t, struct ul_err *e);
	int (*nft_replace)(struct kernel *k, const struct nftp_table *t, struct ul_err *e);
	int (*nft_delete)(struct kernel *k, const char *name, bool *existed, struct ul_err *e);
	int (*nft_exists)(struct kernel *k, const char *name, struct ul_err *e);
	int (*ct_flush)(struct kernel *k, const struct ct_match *m, unsigned *deleted, struct ul_err *e);
	int (*ct_usage)(struct kernel *k, const struct in_addr *addr, struct ct_usage *u,
			struct ul_err *e);
	void (*stats)(struct kernel *k, struct kernel_stats *out);
	void (*close)(struct kernel *k);
};

struct kernel {
	const struct kernel_ops *ops;
};

/* The running kernel, in the current network namespace. */
int kernel_linux_open(struct kernel **out, struct ul_err *e);
/* Netlink ports of its rtnetlink and nftables sockets (events caused by our own requests). */
void kernel_linux_portids(struct kernel *k, uint32_t *rtnl, uint32_t *nft);

static inline void kernel_close(struct kernel *k)
{
	if (k)
		k->ops->close(k);
}

/* ---- the in-memory twin ---- */

struct kernel *kmem_new(void);
/* A device that exists without uplinkd (a NIC, a bridge): up, with carrier unless told. */
void kmem_add_dev(struct kernel *k, const char *name, const char *kind, bool carrier);
void kmem_del_dev(struct kernel *k, const char *name);
void kmem_set_carrier(struct kernel *k, const char *name, bool carrier);
/* A foreign address / route / rule, as another program or the kernel (RA) puts them. */
void kmem_add_addr(struct kernel *k, const char *dev, const char *prefix);
void kmem_add_route(struct kernel *k, uint32_t table, const char *dst, const char *gw, const char *dev,
		    uint8_t protocol);
void kmem_add_sysctl(struct kernel *k, const char *key, const char *value);
/*
 * Refuse a change: the nth mutating change from now (1 = the next), or every change whose
 * description (change_describe) contains text.  The refusal says msg, as an ext-ack would.
 */
void kmem_refuse_nth(struct kernel *k, unsigned nth, int err, const char *msg);
void kmem_refuse_matching(struct kernel *k, const char *text, int err, const char *msg);
void kmem_refuse_none(struct kernel *k);
/* How many mutating changes it took (refused ones not counted). */
unsigned long kmem_changes(struct kernel *k);
/* Everything it holds, one object a line, sorted: equal texts mean equal kernels. */
void kmem_print(struct kernel *k, struct strbuf *sb);

#endif
