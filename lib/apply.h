/*
 * The reconcile: read the kernel, observe facts, plan, diff, and make the changes -- all or
 * nothing: when the kernel refuses one, the changes already made are undone.  `uplinkctl
 * apply` runs it once; the daemon runs it on every event.
 */
#ifndef UPLINK_APPLY_H
#define UPLINK_APPLY_H

#include <stdbool.h>

#include "config.h"
#include "diff.h"
#include "kernel.h"
#include "nft.h"
#include "observe.h"
#include "plan.h"
#include "state.h"

struct apply_opts {
	const char *run_dir;
	bool dry_run;
	/* Called with each change as it is made (or would be, with dry_run). */
	void (*on_change)(void *arg, const char *line);
	void *arg;
	/*
	 * Sends the transix update request for u from local (NULL: none are sent, as in
	 * benchmarks and dry runs).  A callback, so that the daemon need not link libcurl.
	 */
	int (*send_update)(const struct cfg_uplink *u, const struct in6_addr *local, struct ul_err *e);
	/*
	 * The hash of the table the daemon last installed, when it knows nobody touched it
	 * since (it watches nftables events): an unchanged plan then needs no query.
	 */
	bool nft_known;
	uint64_t nft_known_hash;
};

struct apply_result {
	unsigned changes;
	unsigned long rtnl_msgs, rtnl_mutating;
	unsigned long nft_msgs, nft_mutating;
	unsigned updates_sent;
	uint64_t nft_hash;       /* the hash of the table the kernel now holds */
};

/* A session with the kernel; reused by the daemon across reconciles. */
struct applier {
	struct kernel *k;
	struct kview kv;         /* what the last dump found */
};

/* The running kernel (applier_init: another, such as the in-memory twin; closed with it). */
int applier_open(struct applier *a, struct ul_err *e);
void applier_init(struct applier *a, struct kernel *k);
void applier_close(struct applier *a);

/*
 * The reconcile in phases: observe (read the kernel and what uplinkd owns, derive the facts),
 * then the caller adds what only it knows to obs->facts (the daemon: health, hold-down,
 * administrative state, AFTRs, delegated prefixes, held faults), then converge (plan once,
 * diff, change; isolate an uplink the kernel refuses).  No callback runs in between.
 */
struct observation {
	struct own_state own;
	struct facts facts;
	struct kernel_stats stats0;
};

int apply_observe(struct applier *a, const struct config *cfg, const char *run_dir,
		  struct observation *obs, struct ul_err *e);
void observation_free(struct observation *obs);
int apply_converge(struct applier *a, const struct config *cfg, struct observation *obs,
		   const struct apply_opts *o, struct plan *plan, struct apply_result *res,
		   struct ul_err *e);

/*
 * observe + converge, for uplinkctl: AFTR names are resolved here.
 * Converges the kernel to cfg.  On success *plan holds the plan (plan_free it), and res what
 * was done.  An uplink whose device is missing, or one of whose objects the kernel refuses,
 * is left out (its plan_uplink says why: waiting, failed) and the rest is applied.  A failure
 * of what is shared leaves the kernel as it was (rtnetlink changes undone, the nftables
 * table replaced only as the last, atomic step) and says why in e.
 */
int apply_run(struct applier *a, const struct config *cfg, const struct apply_opts *o,
	      struct plan *plan, struct apply_result *res, struct ul_err *e);

/* Records that the update request for uplink registered local (the daemon sends them itself). */
int apply_record_update(const char *run_dir, const char *uplink, const struct in6_addr *local,
			struct ul_err *e);

/* Removes everything uplinkd owns and restores what it changed. cfg may be NULL. */
int apply_down(struct applier *a, const struct config *cfg, const struct apply_opts *o,
	       struct apply_result *res, struct ul_err *e);

#endif
