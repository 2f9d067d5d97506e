// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The processes uplinkd runs, from the plan: pppd per PPPoE uplink, the DHCPv6-PD clients, the
 * transix update request.  Which of them should run is the planner's call (plan.procs lists
 * exactly those); after every reconcile supervise() hands each kind, per uplink it concerns,
 * what the plan wants (or NULL and why not), and the kind starts, keeps or stops it.  Children
 * are reaped here and handed to whoever registered them: the event loop knows no feature.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "daemon.h"
#include "log.h"

static bool is_pppoe(const struct cfg_uplink *u)
{
	return u->type == CFG_PPPOE;
}

static bool sends_update(const struct cfg_uplink *u)
{
	return u->type == CFG_IPIP6 && u->update_url;
}

static const struct proc_kind {
	enum plan_proc_kind kind;
	bool (*concerns)(const struct cfg_uplink *u);
	void (*sync)(struct daemon *d, size_t uplink, const struct plan_proc *want, const char *why_not);
} kinds[] = {
	{ PLAN_PROC_PPPD, is_pppoe, ppp_sync },
	{ PLAN_PROC_DHCPV6_PD, pd_wanted, pd_sync },
	{ PLAN_PROC_UPDATE, sends_update, updates_sync },
};

void supervise(struct daemon *d)
{
	if (!d->have_plan || !d->rt)
		return;
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
			const struct cfg_uplink *u = &d->cfg->uplinks[i];
			const struct plan_uplink *pu = &d->plan.uplinks[i];

			if (kinds[k].concerns(u))
				kinds[k].sync(d, i, plan_proc_of(&d->plan, kinds[k].kind, u->name), pu->reason);
		}
	}
}

/* ---- children ---- */

struct child {
	pid_t pid;
	void (*exited)(struct daemon *d, pid_t pid, int status);
};

static VEC(struct child) children;

int child_register(pid_t pid, void (*exited)(struct daemon *d, pid_t pid, int status))
{
	struct child *c = VEC_PUSH(&children);

	if (!c)
		return -ENOMEM;
	c->pid = pid;
	c->exited = exited;
	return 0;
}

void children_reap(struct daemon *d)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < children.n; i++) {
			struct child c = children.v[i];

			if (c.pid != pid)
				continue;
			children.v[i] = children.v[--children.n];
			c.exited(d, pid, status);
			break;
		}
	}
	if (!children.n)
		VEC_FREE(&children);
}
