// SPDX-License-Identifier: GPL-2.0-or-later
/* The seam's Linux side: rtnetlink (lib/rtnl.c), /proc/sys, nftables (lib/nft.c), conntrack. */
#include <errno.h>
#include <stdlib.h>

#include "kernel.h"
#include "nft.h"
#include "rtnl.h"

struct klinux {
	struct kernel k;
	struct rtnl *rtnl;
	struct nft_conn *nft;
	struct ct_conn *ct;      /* opened on first use: not every kernel has conntrack */
	int ct_err;
};

#define KL(k) ((struct klinux *)(k))

static int kl_dump(struct kernel *k, struct kview *kv, uint8_t keep_proto, struct ul_err *e)
{
	return rtnl_dump(KL(k)->rtnl, kv, keep_proto, NULL, 0, e);
}

static int kl_sysctl_read(struct kernel *k, const char *key, char *buf, size_t len)
{
	(void)k;
	return sysctl_read(key, buf, len);
}

static int kl_exec(struct kernel *k, const struct change *c, uint8_t proto, struct ul_err *e)
{
	return rtnl_exec(KL(k)->rtnl, c, proto, e);
}

static int kl_nft_matches(struct kernel *k, const struct nftp_table *t, struct ul_err *e)
{
	return nft_table_matches(KL(k)->nft, t, e);
}

static int kl_nft_replace(struct kernel *k, const struct nftp_table *t, struct ul_err *e)
{
	return nft_table_replace(KL(k)->nft, t, e);
}

static int kl_nft_delete(struct kernel *k, const char *name, bool *existed, struct ul_err *e)
{
	return nft_table_delete(KL(k)->nft, name, existed, e);
}

static int kl_nft_exists(struct kernel *k, const char *name, struct ul_err *e)
{
	return nft_table_exists(KL(k)->nft, name, e);
}

static int kl_ct(struct klinux *l, struct ul_err *e)
{
	if (l->ct)
		return 0;
	if (!l->ct_err)
		l->ct_err = ct_open(&l->ct, e);
	else
		ul_errf(e, -l->ct_err, "conntrack is not available");
	return l->ct_err;
}

static int kl_ct_flush(struct kernel *k, const struct ct_match *m, unsigned *deleted, struct ul_err *e)
{
	int r = kl_ct(KL(k), e);

	return r ? r : ct_flush(KL(k)->ct, m, deleted, e);
}

static int kl_ct_usage(struct kernel *k, const struct in_addr *addr, struct ct_usage *u,
		       struct ul_err *e)
{
	int r = kl_ct(KL(k), e);

	return r ? r : ct_usage(KL(k)->ct, addr, u, e);
}

static void kl_stats(struct kernel *k, struct kernel_stats *out)
{
	const struct rtnl_stats *r = rtnl_get_stats(KL(k)->rtnl);
	const struct nft_stats *n = nft_stats(KL(k)->nft);

	out->rtnl_msgs = r->msgs_sent;
	out->rtnl_mutating = r->mutating_msgs;
	out->nft_msgs = n->msgs_sent;
	out->nft_mutating = n->mutating_msgs;
}

static void kl_close(struct kernel *k)
{
	struct klinux *l = KL(k);

	rtnl_close(l->rtnl);
	nft_close(l->nft);
	if (l->ct)
		ct_close(l->ct);
	free(l);
}

static const struct kernel_ops linux_ops = {
	.dump = kl_dump,
	.sysctl_read = kl_sysctl_read,
	.exec = kl_exec,
	.nft_matches = kl_nft_matches,
	.nft_replace = kl_nft_replace,
	.nft_delete = kl_nft_delete,
	.nft_exists = kl_nft_exists,
	.ct_flush = kl_ct_flush,
	.ct_usage = kl_ct_usage,
	.stats = kl_stats,
	.close = kl_close,
};

int kernel_linux_open(struct kernel **out, struct ul_err *e)
{
	struct klinux *l = calloc(1, sizeof(*l));
	int r;

	*out = NULL;
	if (!l)
		return ul_errf(e, ENOMEM, "out of memory");
	l->k.ops = &linux_ops;
	r = rtnl_open(&l->rtnl, e);
	if (!r)
		r = nft_open(&l->nft, e);
	if (r) {
		if (l->rtnl)
			rtnl_close(l->rtnl);
		free(l);
		return r;
	}
	*out = &l->k;
	return 0;
}

void kernel_linux_portids(struct kernel *k, uint32_t *rtnl, uint32_t *nft)
{
	*rtnl = rtnl_portid(KL(k)->rtnl);
	*nft = nft_portid(KL(k)->nft);
}
