/* The reconcile: kernel -> facts -> plan -> changes, made all or nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "resolve.h"

int applier_open(struct applier *a, struct ul_err *e)
{
	memset(a, 0, sizeof(*a));
	return kernel_linux_open(&a->k, e);
}

void applier_init(struct applier *a, struct kernel *k)
{
	memset(a, 0, sizeof(*a));
	a->k = k;
}

void applier_close(struct applier *a)
{
	kernel_close(a->k);
	kview_free(&a->kv);
	memset(a, 0, sizeof(*a));
}

static void read_sysctl_into(struct kernel *k, struct kview *kv, const char *key)
{
	struct kv_sysctl *s;
	char value[64];

	if (kview_sysctl(kv, key) || k->ops->sysctl_read(k, key, value, sizeof(value)))
		return;
	s = VEC_PUSH(&kv->sysctls);
	if (!s)
		return;
	strlcpy_ul(s->key, key, sizeof(s->key));
	strlcpy_ul(s->value, value, sizeof(s->value));
}

static void read_sysctls(struct applier *a, const struct plan *p, const struct own_state *own)
{
	a->kv.sysctls.n = 0;
	for (size_t i = 0; p && i < p->sysctls.n; i++)
		read_sysctl_into(a->k, &a->kv, p->sysctls.v[i].key);
	for (size_t i = 0; i < own->sysctls.n; i++)
		read_sysctl_into(a->k, &a->kv, own->sysctls.v[i].key);
}

static void stats_into(struct applier *a, struct apply_result *res, const struct kernel_stats *s0)
{
	struct kernel_stats s;

	a->k->ops->stats(a->k, &s);
	res->rtnl_msgs = s.rtnl_msgs - s0->rtnl_msgs;
	res->rtnl_mutating = s.rtnl_mutating - s0->rtnl_mutating;
	res->nft_msgs = s.nft_msgs - s0->nft_msgs;
	res->nft_mutating = s.nft_mutating - s0->nft_mutating;
}

/* ---- making one change, and knowing how to take it back ---- */

struct run {
	struct applier *a;
	const struct plan *plan;
	const char *nft_table;
	struct own_state *own;
	struct changes undo;
	uint8_t proto;
};

static int push_undo(struct run *run, const struct change *inv)
{
	struct change *u = VEC_PUSH(&run->undo);

	if (!u)
		return -ENOMEM;
	*u = *inv;
	return 0;
}

static const struct kv_link *kv_link(struct run *run, const char *name)
{
	return kview_link_by_name(&run->a->kv, name);
}

static int exec_one(struct run *run, const struct change *c, struct ul_err *e)
{
	struct kernel *k = run->a->k;
	struct change inv = { .kind = c->kind };
	bool has_inv = true;
	char cur[64] = "";
	int r;

	switch (c->kind) {
	case CH_SYSCTL:
		if (k->ops->sysctl_read(k, c->sysctl.key, cur, sizeof(cur)))
			cur[0] = '\0';
		inv.kind = CH_RESTORE_SYSCTL;
		inv.sysctl = c->sysctl;
		strlcpy_ul(inv.old, cur, sizeof(inv.old));
		has_inv = cur[0] != '\0';
		break;
	case CH_RESTORE_SYSCTL:
		if (k->ops->sysctl_read(k, c->sysctl.key, cur, sizeof(cur))) {
			state_forget(&run->own->sysctls, c->sysctl.key); /* the device is gone */
			return 0;
		}
		inv.kind = CH_SYSCTL;
		strlcpy_ul(inv.sysctl.key, c->sysctl.key, sizeof(inv.sysctl.key));
		strlcpy_ul(inv.sysctl.value, cur, sizeof(inv.sysctl.value));
		break;
	case CH_LINK_ADD:
		inv.kind = CH_LINK_DEL;
		strcpy(inv.dev, c->link.name);
		break;
	case CH_LINK_CHANGE:
		inv.link = c->old_link;
		break;
	case CH_LINK_DEL:
		inv.kind = CH_LINK_ADD;
		inv.link = c->old_link;
		break;
	case CH_LINK_UP:
		inv.kind = CH_RESTORE_DOWN;
		strcpy(inv.dev, c->dev);
		break;
	case CH_RESTORE_DOWN:
		inv.kind = CH_LINK_UP;
		strcpy(inv.dev, c->dev);
		break;
	case CH_MTU:
		inv.kind = CH_RESTORE_MTU;
		strcpy(inv.dev, c->dev);
		strlcpy_ul(inv.old, c->old, sizeof(inv.old));
		break;
	case CH_RESTORE_MTU: {
		const struct kv_link *l = kv_link(run, c->dev);

		inv.kind = CH_MTU;
		strcpy(inv.dev, c->dev);
		inv.mtu = l ? l->mtu : 0;
		has_inv = l != NULL;
		break;
	}
	case CH_TOKEN:
		inv.kind = CH_RESTORE_TOKEN;
		strcpy(inv.dev, c->dev);
		strlcpy_ul(inv.old, c->old, sizeof(inv.old));
		break;
	case CH_RESTORE_TOKEN: {
		const struct kv_link *l = kv_link(run, c->dev);

		inv.kind = CH_TOKEN;
		strcpy(inv.dev, c->dev);
		if (l && l->has_token)
			inv.token = l->token;
		has_inv = l != NULL;
		break;
	}
	case CH_ADDR_ADD:
		inv.kind = CH_ADDR_DEL;
		inv.addr = c->addr;
		break;
	case CH_ADDR_DEL:
		inv.kind = CH_ADDR_ADD;
		inv.addr = c->addr;
		break;
	case CH_ROUTE_SET:
		if (c->has_old_route) {
			inv.route = c->old_route;
		} else {
			inv.kind = CH_ROUTE_DEL;
			inv.route = c->route;
		}
		break;
	case CH_ROUTE_DEL:
		inv.kind = CH_ROUTE_SET;
		inv.route = c->route;
		break;
	case CH_RULE_ADD:
		inv.kind = CH_RULE_DEL;
		inv.rule = c->rule;
		break;
	case CH_RULE_DEL:
		inv.kind = CH_RULE_ADD;
		inv.rule = c->rule;
		break;
	case CH_NFT_REPLACE:
		r = k->ops->nft_replace(k, &run->plan->nft, e);
		/* a table made first, on a cold apply, goes again if a later change fails */
		if (!r && c->owned && push_undo(run, &(struct change){ .kind = CH_NFT_DELETE }))
			return ul_errf(e, ENOMEM, "out of memory");
		return r;
	case CH_NFT_DELETE: {
		bool existed;

		return k->ops->nft_delete(k, run->nft_table, &existed, e);
	}
	}

	r = k->ops->exec(k, c, run->proto, e);
	if (r)
		return r;
	if (has_inv && push_undo(run, &inv))
		return ul_errf(e, ENOMEM, "out of memory");

	/* What uplinkd now owns, and what it must restore on `down`. */
	switch (c->kind) {
	case CH_SYSCTL:
		if (cur[0])
			r = state_remember(&run->own->sysctls, c->sysctl.key, cur);
		break;
	case CH_RESTORE_SYSCTL:
		state_forget(&run->own->sysctls, c->sysctl.key);
		break;
	case CH_LINK_ADD:
		r = state_add_link(run->own, c->link.name);
		break;
	case CH_LINK_DEL:
		state_del_link(run->own, c->dev);
		state_del_dev_addrs(run->own, c->dev);
		state_forget_dev(run->own, c->dev);
		break;
	case CH_LINK_UP:
		if (!c->owned)
			r = state_remember(&run->own->ups, c->dev, "down");
		break;
	case CH_RESTORE_DOWN:
		state_forget(&run->own->ups, c->dev);
		break;
	case CH_MTU:
		r = state_remember(&run->own->mtus, c->dev, c->old);
		break;
	case CH_RESTORE_MTU:
		state_forget(&run->own->mtus, c->dev);
		break;
	case CH_TOKEN:
		r = state_remember(&run->own->tokens, c->dev, c->old);
		break;
	case CH_RESTORE_TOKEN:
		state_forget(&run->own->tokens, c->dev);
		break;
	case CH_ADDR_ADD:
		r = state_add_addr(run->own, c->addr.dev, &c->addr.addr);
		break;
	case CH_ADDR_DEL:
		state_del_addr(run->own, c->addr.dev, &c->addr.addr);
		break;
	case CH_LINK_CHANGE:
	case CH_ROUTE_SET:
	case CH_ROUTE_DEL:
	case CH_RULE_ADD:
	case CH_RULE_DEL:
	case CH_NFT_REPLACE:
	case CH_NFT_DELETE:
		break;
	}
	return r ? ul_errf(e, ENOMEM, "out of memory") : 0;
}

/* Takes back what was done, newest first; says in e what could not be undone. */
static void rollback(struct run *run, struct ul_err *e)
{
	size_t failed = 0;
	struct ul_err ue;

	for (size_t i = run->undo.n; i-- > 0;) {
		const struct change *u = &run->undo.v[i];
		struct kernel *k = run->a->k;
		bool existed;

		if (u->kind == CH_NFT_DELETE ? k->ops->nft_delete(k, run->nft_table, &existed, &ue) :
		    k->ops->exec(k, u, run->proto, &ue))
			failed++;
	}
	if (failed) {
		size_t len = strlen(e->msg);

		snprintf(e->msg + len, sizeof(e->msg) - len, "; %zu change%s could not be undone (last: %s)",
			 failed, failed == 1 ? "" : "s", ue.msg);
	}
}

/*
 * Makes the changes in order; on a refusal undoes those made and says in *refused_uplink
 * whose object it was (NULL: a shared one).
 */
static int run_changes(struct applier *a, const struct changes *ch, const struct plan *p,
		       const char *nft_table, uint8_t proto, struct own_state *own,
		       const struct apply_opts *o, struct apply_result *res,
		       const char **refused_uplink, struct ul_err *e)
{
	struct run run = { .a = a, .plan = p, .nft_table = nft_table, .own = own, .proto = proto };
	struct own_state saved;
	unsigned made = 0;
	int r = 0;

	if (state_copy(&saved, own))
		return ul_errf(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < ch->n; i++) {
		struct strbuf sb = { 0 };

		change_describe(&ch->v[i], nft_table, proto, &sb);
		r = exec_one(&run, &ch->v[i], e);
		if (r) {
			if (refused_uplink)
				*refused_uplink = ch->v[i].uplink;
			rollback(&run, e);
			res->changes -= made;
			if (o->on_change && made) {
				char line[64];

				snprintf(line, sizeof(line), "undone: the %u change%s before it", made,
					 made == 1 ? "" : "s");
				o->on_change(o->arg, line);
			}
			state_free(own);
			*own = saved;
			memset(&saved, 0, sizeof(saved));
			sb_free(&sb);
			break;
		}
		res->changes++;
		made++;
		if (o->on_change && sb.s)
			o->on_change(o->arg, sb.s);
		sb_free(&sb);
	}
	state_free(&saved);
	changes_free(&run.undo);
	return r;
}

/* ---- the transix update request ---- */

static int send_updates(const struct config *cfg, const struct plan *p, struct own_state *own,
			const struct apply_opts *o, struct apply_result *res, struct ul_err *e)
{
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];
		const struct plan_uplink *pu = &p->uplinks[i];
		const struct own_update *last = state_update(own, u->name);
		char line[256], addr[INET6_ADDRSTRLEN];
		struct ul_err ue = { "" };
		int r = -EIO;

		if (u->type != CFG_IPIP6 || !u->update_url || !pu->ready || !pu->has_local6)
			continue;
		if (last && !memcmp(&last->local, &pu->local6, 16))
			continue;
		/* The tunnel and its route are new: give the path a moment, then back off. */
		for (unsigned attempt = 0, delay_ms = 500; attempt < 4; attempt++, delay_ms *= 2) {
			r = o->send_update(u, &pu->local6, &ue);
			if (!r || r == -EACCES)
				break;
			nanosleep(&(struct timespec){ delay_ms / 1000, (long)(delay_ms % 1000) * 1000000 }, NULL);
		}
		if (r)
			return ul_errf(e, -r, "[uplink %s] %s", u->name, ue.msg);
		res->updates_sent++;
		if (state_set_update(own, u->name, &pu->local6))
			return -ENOMEM;
		snprintf(line, sizeof(line), "update request for %s registered %s: OK", u->name,
			 inet_ntop(AF_INET6, &pu->local6, addr, sizeof(addr)));
		if (o->on_change)
			o->on_change(o->arg, line);
	}
	return 0;
}


/* Settings of devices that are gone (deleted by hand, a ppp session over) cannot be restored. */
static void forget_gone_devs(struct own_state *own, const struct kview *kv)
{
	struct own_settings *all[] = { &own->sysctls, &own->tokens, &own->mtus, &own->ups };
	char buf[96];

	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
		for (size_t i = 0; i < all[k]->n;) {
			const char *dev = state_setting_dev(all[k]->v[i].key, buf, sizeof(buf));

			if (dev[0] && !kview_link_by_name(kv, dev)) {
				char gone[96];

				strlcpy_ul(gone, dev, sizeof(gone));
				state_forget_dev(own, gone);
				i = 0;
				continue;
			}
			i++;
		}
	}
}

/* ---- entry points ---- */

/* Leaves the uplink named by a refusal out of the next plan; false when it cannot be. */
static bool isolate(const struct config *cfg, struct facts *f, const char *uplink, struct ul_err *e)
{
	const struct cfg_uplink *u = uplink ? cfg_find_uplink(cfg, uplink) : NULL;

	if (!u || f->u[u->index].fault[0])
		return false;
	strlcpy_ul(f->u[u->index].fault, e->msg[0] ? e->msg : "refused by the kernel",
		   sizeof(f->u[u->index].fault));
	e->msg[0] = '\0';
	return true;
}

int apply_observe(struct applier *a, const struct config *cfg, const char *run_dir,
		  struct observation *obs, struct ul_err *e)
{
	int r;

	memset(obs, 0, sizeof(*obs));
	a->k->ops->stats(a->k, &obs->stats0);
	r = state_load(run_dir, &obs->own, e);
	if (r)
		return r;
	r = a->k->ops->dump(a->k, &a->kv, (uint8_t)cfg->route_protocol, e);
	if (!r)
		r = facts_init(&obs->facts, cfg);
	if (r) {
		observation_free(obs);
		return r;
	}
	forget_gone_devs(&obs->own, &a->kv);
	facts_observe(cfg, &a->kv, &obs->own, NULL, &obs->facts);
	return 0;
}

void observation_free(struct observation *obs)
{
	facts_free(&obs->facts);
	state_free(&obs->own);
}

/*
 * uplinkctl: AFTR names resolved here, asking the NGN's resolvers the daemon recorded, as the
 * daemon does (it resolves them without blocking its loop).
 */
static void resolve_aftrs(struct applier *a, const struct config *cfg, const char *run_dir,
			  struct facts *f)
{
	struct in6_addr servers[RESOLVE_MAX_SERVERS];
	size_t n_servers = resolve_rdnss_load(run_dir, servers, RESOLVE_MAX_SERVERS);

	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];
		const struct kv_link *tnl = kview_link_by_name(&a->kv, u->ifname);
		struct in6_addr found[8];
		const struct in6_addr *pick;
		int n;

		if (u->type != CFG_DSLITE || !u->aftr_name || u->disabled || f->u[i].has_aftr)
			continue;
		n = resolve_aaaa(u->aftr_name, servers, n_servers, found, ARRAY_SIZE(found), NULL);
		pick = n > 0 ? resolve_pick(found, (size_t)n, tnl ? &tnl->remote : NULL) : NULL;
		if (pick) {
			f->u[i].has_aftr = true;
			f->u[i].aftr = *pick;
		}
	}
}

int apply_converge(struct applier *a, const struct config *cfg, struct observation *obs,
		   const struct apply_opts *o, struct plan *plan, struct apply_result *res,
		   struct ul_err *e)
{
	uint8_t proto = (uint8_t)cfg->route_protocol;
	struct own_state *own = &obs->own;
	struct changes ch = { 0 };
	bool planned = false;
	int r, m;

	memset(res, 0, sizeof(*res));
	memset(plan, 0, sizeof(*plan));
	own->protocol = cfg->route_protocol;
	strlcpy_ul(own->nft_table, cfg->nft_table, sizeof(own->nft_table));
	/*
	 * When the kernel refuses an uplink's object (or a foreign object stands in its way),
	 * what was done is undone and the plan is made again without that uplink: one uplink's
	 * fault never keeps the others from being applied.  Each round leaves out one more.
	 */
	for (;;) {
		const char *culprit = NULL;

		r = plan_build(cfg, &obs->facts, plan, e);
		if (r)
			goto out;
		planned = true;
		read_sysctls(a, plan, own);
		res->nft_hash = nft_table_hash(&plan->nft);
		if (o->nft_known && o->nft_known_hash == res->nft_hash) {
			m = 1;
		} else {
			m = a->k->ops->nft_matches(a->k, &plan->nft, e);
			if (m == 0) /* differs, or is not there at all (then it goes first) */
				m = a->k->ops->nft_exists(a->k, plan->nft.name, e) == 0 ? 2 : m;
			if (m < 0) {
				r = m;
				goto out;
			}
		}
		r = diff_build(plan, &a->kv, own,
			       m == 1 ? DIFF_NFT_SAME : m == 2 ? DIFF_NFT_ABSENT : DIFF_NFT_DIFFERS, &ch, e);
		if (r == -EEXIST)
			culprit = ch.conflict_uplink;
		if (!r && o->dry_run) {
			for (size_t i = 0; i < ch.n; i++) {
				struct strbuf sb = { 0 };

				change_describe(&ch.v[i], cfg->nft_table, proto, &sb);
				if (o->on_change && sb.s)
					o->on_change(o->arg, sb.s);
				sb_free(&sb);
			}
			res->changes = (unsigned)ch.n;
			goto out;
		}
		if (!r)
			r = run_changes(a, &ch, plan, cfg->nft_table, proto, own, o, res, &culprit, e);
		if (!r || !isolate(cfg, &obs->facts, culprit, e))
			break;
		changes_free(&ch);
		plan_free(plan);
		planned = false;
		/* the rollback restored it; read it again all the same, it is what the diff trusts */
		r = a->k->ops->dump(a->k, &a->kv, proto, e);
		if (r)
			goto out;
		forget_gone_devs(own, &a->kv);
	}
	if (!r && o->send_update)
		r = send_updates(cfg, plan, own, o, res, e);
	/* Saved also after a failed update: the kernel did change and the state must say so. */
	if (ch.n || res->updates_sent || r) {
		struct ul_err se;

		if (state_save(o->run_dir, own, &se) && !r)
			r = ul_errf(e, EIO, "%s", se.msg);
	}
out:
	stats_into(a, res, &obs->stats0);
	if (r == -ENOMEM && !e->msg[0])
		ul_errf(e, ENOMEM, "out of memory");
	if (r && planned)
		plan_free(plan);
	changes_free(&ch);
	return r;
}

int apply_run(struct applier *a, const struct config *cfg, const struct apply_opts *o,
	      struct plan *plan, struct apply_result *res, struct ul_err *e)
{
	struct observation obs;
	int r;

	memset(res, 0, sizeof(*res));
	memset(plan, 0, sizeof(*plan));
	r = apply_observe(a, cfg, o->run_dir, &obs, e);
	if (r)
		return r;
	resolve_aftrs(a, cfg, o->run_dir, &obs.facts);
	r = apply_converge(a, cfg, &obs, o, plan, res, e);
	observation_free(&obs);
	return r;
}

int apply_record_update(const char *run_dir, const char *uplink, const struct in6_addr *local,
			struct ul_err *e)
{
	struct own_state own;
	int r = state_load(run_dir, &own, e);

	if (r)
		return r;
	r = state_set_update(&own, uplink, local);
	if (!r)
		r = state_save(run_dir, &own, e);
	state_free(&own);
	return r;
}

int apply_down(struct applier *a, const struct config *cfg, const struct apply_opts *o,
	       struct apply_result *res, struct ul_err *e)
{
	struct kernel_stats s0;
	struct changes ch = { 0 };
	struct own_state own;
	char table[32];
	uint8_t proto;
	int r, exists;

	memset(res, 0, sizeof(*res));
	a->k->ops->stats(a->k, &s0);
	r = state_load(o->run_dir, &own, e);
	if (r)
		return r;
	proto = (uint8_t)(own.protocol ? own.protocol : cfg ? cfg->route_protocol : 117);
	strlcpy_ul(table, own.nft_table[0] ? own.nft_table : cfg ? cfg->nft_table : "uplinkd",
		   sizeof(table));
	r = a->k->ops->dump(a->k, &a->kv, proto, e);
	if (r)
		goto out;
	forget_gone_devs(&own, &a->kv);
	read_sysctls(a, NULL, &own);
	exists = a->k->ops->nft_exists(a->k, table, e);
	if (exists < 0) {
		r = exists;
		goto out;
	}
	r = diff_teardown(&a->kv, &own, proto, exists == 1, &ch);
	if (r)
		goto out;
	if (o->dry_run) {
		for (size_t i = 0; i < ch.n; i++) {
			struct strbuf sb = { 0 };

			change_describe(&ch.v[i], table, proto, &sb);
			if (o->on_change && sb.s)
				o->on_change(o->arg, sb.s);
			sb_free(&sb);
		}
		res->changes = (unsigned)ch.n;
		goto out;
	}
	r = run_changes(a, &ch, NULL, table, proto, &own, o, res, NULL, e);
	if (!r)
		r = state_remove(o->run_dir, e);
	else
		state_save(o->run_dir, &own, NULL);
out:
	stats_into(a, res, &s0);
	changes_free(&ch);
	state_free(&own);
	return r;
}
