/*
 * Every reaction goes through here: the same plan -> diff -> apply path as `uplinkctl apply`,
 * with what only the daemon knows (health, hold-downs, administrative state, AFTR names).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

static void on_change(void *arg, const char *line)
{
	struct daemon *d = arg;

	log_info("change: %s", line);
	if (d->capture)
		sb_printf(d->capture, "%s\n", line);
}

static void hold_expired(struct daemon *d, struct dtimer *t)
{
	log_notice("uplink %s: hold-down over, taking traffic back", d->cfg->uplinks[t->uplink].name);
	d->dirty = true;
}

/*
 * Between observing and planning: what only the daemon knows enters as facts (health,
 * administrative state, delegated prefixes, resolved AFTRs, held faults, hold-down).
 */
static void daemon_facts(struct daemon *d, struct facts *f)
{
	uint64_t now = now_ms();

	for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
		struct uplink_rt *rt = &d->rt[i];
		struct uplink_facts *uf = &f->u[i];

		uf->admin_down = rt->admin_down;
		uf->health_failed = rt->health == HEALTH_FAILED;
		rt->inactive = uf->inactive;
		pd_fact(d, i, uf);
		if (rt->has_aftr && !uf->has_aftr) {
			uf->has_aftr = true;
			uf->aftr = rt->aftr;
		}
		strlcpy_ul(uf->aftr_error, rt->aftr_error, sizeof(uf->aftr_error));
		if (rt->fault_held)
			strlcpy_ul(uf->fault, rt->fault, sizeof(uf->fault));
		uf->held = hold_wanted(&rt->hold, now, d->cfg->hold_down_ms);
	}
}

/* After the plan: whether each uplink would have been usable, for its hold-down. */
static void hold_after(struct daemon *d, const struct facts *f, const struct plan *p)
{
	uint64_t now = now_ms();

	for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
		const struct plan_uplink *pu = &p->uplinks[i];
		const struct uplink_facts *uf = &f->u[i];
		struct uplink_rt *rt = &d->rt[i];
		bool would = pu->usable || pu->held;
		/* a refusal is not a flapping line either: no damping once it is fixed */
		enum hold_cause cause = !would && (uf->admin_down || uf->inactive || uf->fault[0]) ?
						HOLD_OPERATOR : HOLD_LINE;

		hold_observe(&rt->hold, would, cause, now, d->cfg->hold_down_ms);
		if (pu->held && !rt->held)
			log_notice("uplink %s: back, held down for %llums before it takes traffic back",
				   pu->cfg->name, (unsigned long long)d->cfg->hold_down_ms);
		rt->held = pu->held;
		if (rt->hold.until_ms > now) {
			if (rt->hold_timer.at_ms != rt->hold.until_ms) {
				rt->hold_timer.fn = hold_expired;
				rt->hold_timer.uplink = i;
				timer_disarm(&rt->hold_timer);
				timer_arm(d, &rt->hold_timer, rt->hold.until_ms - now);
			}
		} else {
			timer_disarm(&rt->hold_timer);
		}
	}
}

static void fault_retry(struct daemon *d, struct dtimer *t)
{
	struct uplink_rt *rt = &d->rt[t->uplink];

	rt->fault_held = false;
	log_info("uplink %s: retrying after %llums", d->cfg->uplinks[t->uplink].name,
		 (unsigned long long)rt->fault_backoff_ms);
	d->dirty = true;
}

/*
 * An uplink the kernel refused stays left out (failed) until its retry: 1 s, doubling to
 * 60 s; a new interface retries it at once.  Logged once per step.
 */
static void track_fault(struct daemon *d, size_t i, const struct plan_uplink *pu)
{
	struct uplink_rt *rt = &d->rt[i];

	if (pu->state != PLAN_FAILED) {
		if (rt->fault_backoff_ms && !rt->fault_held)
			log_notice("uplink %s: the kernel took it this time", pu->cfg->name);
		rt->fault_backoff_ms = 0;
		rt->fault_held = false;
		rt->fault[0] = '\0';
		timer_disarm(&rt->fault_timer);
		return;
	}
	if (rt->fault_held)
		return;
	rt->fault_backoff_ms = rt->fault_backoff_ms ? rt->fault_backoff_ms * 2 : 1000;
	if (rt->fault_backoff_ms > 60000)
		rt->fault_backoff_ms = 60000;
	strlcpy_ul(rt->fault, pu->reason, sizeof(rt->fault));
	rt->fault_held = true;
	rt->fault_timer.fn = fault_retry;
	rt->fault_timer.uplink = i;
	timer_arm(d, &rt->fault_timer, rt->fault_backoff_ms);
	log_warn("uplink %s: failed (%s); the others are applied; retrying in %llus", pu->cfg->name,
		 pu->reason, (unsigned long long)(rt->fault_backoff_ms / 1000));
}

/* A new interface, or a rename: what failed or waited for it may work now. */
static void retry_faults_now(struct daemon *d)
{
	d->link_appeared = false;
	for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
		if (d->rt[i].fault_held) {
			d->rt[i].fault_held = false;
			timer_disarm(&d->rt[i].fault_timer);
		}
	}
}

/* The connections of an uplink that stopped carrying traffic: they re-establish elsewhere. */
static void flush_uplink(struct daemon *d, size_t i)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];
	struct ct_match m = { .has_mark = true, .mask = d->cfg->fwmark_mask };
	struct ul_err e;
	unsigned n = 0;

	m.mark = d->have_plan ? d->plan.uplinks[i].mark : 0;
	if (rt->has_nat4 && u->nat) {
		m.has_nat4 = true;
		m.nat4 = rt->nat4;
	}
	if (d->ap.k->ops->ct_flush(d->ap.k, &m, &n, &e))
		log_warn("uplink %s: flushing its connections: %s", u->name, e.msg);
	else if (n)
		log_info("uplink %s: flushed %u connections", u->name, n);
}

/*
 * The uplink's NAT address or port sets changed (a renumbered MAP-E, a new PPPoE address): the
 * connections NATed to what is no longer ours are flushed, exactly those, so their next packet
 * is a new flow NATed anew instead of leaving with a source the line does not route back.
 */
static void flush_stale_nat(struct daemon *d, size_t i, const struct plan_uplink *pu)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];
	struct ct_match m = { .has_nat4 = true, .nat4 = rt->nat4 };
	uint16_t mask = 0, bits = 0, min = 1;
	char was[INET_ADDRSTRLEN], now[INET_ADDRSTRLEN];
	struct ul_err e;
	unsigned n = 0;

	if (pu->has_mape)
		mape_port_mask(&pu->mape, &mask, &bits, &min);
	if (!rt->has_nat4 || !u->nat ||
	    (rt->nat4.s_addr == pu->ipv4.s_addr && rt->nat_mask == mask && rt->nat_bits == bits &&
	     rt->nat_min == min))
		return;
	if (rt->nat4.s_addr == pu->ipv4.s_addr) {
		m.keep_psid = true;
		m.psid_mask = mask;
		m.psid_bits = bits;
		m.port_min = min;
	}
	inet_ntop(AF_INET, &rt->nat4, was, sizeof(was));
	inet_ntop(AF_INET, &pu->ipv4, now, sizeof(now));
	if (d->ap.k->ops->ct_flush(d->ap.k, &m, &n, &e))
		log_warn("uplink %s: flushing connections NATed to %s: %s", u->name, was, e.msg);
	else
		log_info("uplink %s: NAT moved from %s to %s (port sets %#x/%#x): flushed %u connections",
			 u->name, was, now, bits, mask, n);
}

/* systemd's STATUS line: the count, the default, and what is wrong with which uplink. */
static void summarize(struct daemon *d)
{
	struct strbuf sb = { 0 };
	unsigned up = 0;

	for (size_t i = 0; i < d->cfg->n_uplinks; i++)
		up += d->rt[i].usable;
	sb_printf(&sb, "%u/%zu uplinks up, IPv4 default via %s", up, d->cfg->n_uplinks,
		  d->plan.default4 ? d->plan.default4->name : "none");
	for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
		const struct plan_uplink *pu = &d->plan.uplinks[i];

		if (pu->excluded && pu->state != PLAN_DISABLED)
			sb_printf(&sb, "; %s %s (%.80s)", pu->cfg->name, plan_state_name(pu->state),
				  pu->reason);
	}
	notify("STATUS=%s", sb.s ? sb.s : "");
	sb_free(&sb);
}

static void retry(struct daemon *d, struct dtimer *t)
{
	(void)t;
	daemon_reconcile(d, "retry");
}

/* After a failed reconcile, events reconcile once a second at most: no storm. */
static void calm_over(struct daemon *d, struct dtimer *t)
{
	(void)t;
	if (d->dirty)
		daemon_reconcile(d, "events");
}

void daemon_reconcile_events(struct daemon *d)
{
	if (!d->failed_last) {
		daemon_reconcile(d, "events");
		return;
	}
	if (!d->calm_timer.at_ms) {
		d->calm_timer.fn = calm_over;
		timer_arm(d, &d->calm_timer, 1000);
	}
}

int daemon_reconcile(struct daemon *d, const char *why)
{
	struct apply_opts o = {
		.run_dir = d->run_dir, .on_change = on_change, .arg = d,
		.nft_known = d->nft_known && !d->nft_tampered, .nft_known_hash = d->nft_hash,
	};
	struct observation obs;
	struct apply_result res = { 0 };
	struct plan plan;
	struct ul_err e = { "" };
	uint64_t t0 = now_us();
	bool *was_usable;
	int r;

	d->dirty = false;
	d->nft_tampered = false;
	d->reconciles++;
	timer_disarm(&d->calm_timer);
	if (d->link_appeared)
		retry_faults_now(d);
	was_usable = calloc(d->cfg->n_uplinks + 1, sizeof(bool));
	for (size_t i = 0; was_usable && i < d->cfg->n_uplinks; i++)
		was_usable[i] = d->rt[i].usable;
	/* observe -> the daemon's facts -> plan once and converge */
	r = apply_observe(&d->ap, d->cfg, d->run_dir, &obs, &e);
	if (!r) {
		daemon_facts(d, &obs.facts);
		r = apply_converge(&d->ap, d->cfg, &obs, &o, &plan, &res, &e);
		if (!r)
			hold_after(d, &obs.facts, &plan);
		observation_free(&obs);
	}
	d->last_reconcile_us = now_us() - t0;
	if (r) {
		const char *msg = e.msg[0] ? e.msg : strerror(-r);

		d->retry_backoff_ms = d->retry_backoff_ms ? d->retry_backoff_ms * 2 : 1000;
		if (d->retry_backoff_ms > 60000)
			d->retry_backoff_ms = 60000;
		/* the same error again is logged once per backoff step, not per attempt */
		if (strcmp(msg, d->last_error) || !d->retry_timer.at_ms)
			log_err("reconcile (%s): %s; retrying in %llus", why, msg,
				(unsigned long long)(d->retry_backoff_ms / 1000));
		strlcpy_ul(d->last_error, msg, sizeof(d->last_error));
		if (d->capture)
			sb_printf(d->capture, "error: %s\n", e.msg);
		d->nft_known = false;
		d->failed_last = true;
		if (!d->retry_timer.at_ms) {
			d->retry_timer.fn = retry;
			timer_arm(d, &d->retry_timer, d->retry_backoff_ms);
		}
		free(was_usable);
		supervise(d); /* the last plan still says what runs */
		return r;
	}
	d->failed_last = false;
	d->retry_backoff_ms = 0;
	d->last_error[0] = '\0';
	timer_disarm(&d->retry_timer);
	d->nft_known = true;
	d->nft_hash = res.nft_hash;
	d->changes_total += res.changes;
	if (res.changes)
		log_info("reconcile (%s): %u change%s in %llu us", why, res.changes,
			 res.changes == 1 ? "" : "s", (unsigned long long)d->last_reconcile_us);
	if (d->have_plan)
		plan_free(&d->plan);
	d->plan = plan;
	d->have_plan = true;

	for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
		const struct plan_uplink *pu = &plan.uplinks[i];
		struct uplink_rt *rt = &d->rt[i];
		bool changed = rt->state != pu->state || rt->usable != pu->usable ||
			       strcmp(rt->reason, pu->reason);

		if (changed) {
			const char *what = pu->usable ? "up" : rt->held ? "held down" : plan_state_name(pu->state);

			log_notice("uplink %s: %s (%s)", pu->cfg->name, what, pu->reason);
			if (rt->usable != pu->usable || rt->state != pu->state)
				rt->since = time(NULL);
		}
		track_fault(d, i, pu);
		if (d->capture && pu->excluded && pu->state != PLAN_DISABLED)
			sb_printf(d->capture, "uplink %s: %s (%s)\n", pu->cfg->name,
				  plan_state_name(pu->state), pu->reason);
		rt->state = pu->state;
		rt->usable = pu->usable;
		strlcpy_ul(rt->reason, pu->reason, sizeof(rt->reason));
		if (was_usable && was_usable[i] && !pu->usable)
			flush_uplink(d, i);
		else if (pu->has_ipv4)
			flush_stale_nat(d, i, pu);
		if (pu->has_ipv4) {
			rt->has_nat4 = true;
			rt->nat4 = pu->ipv4;
			rt->nat_mask = rt->nat_bits = 0;
			rt->nat_min = 1;
			if (pu->has_mape)
				mape_port_mask(&pu->mape, &rt->nat_mask, &rt->nat_bits, &rt->nat_min);
		}
	}
	free(was_usable);
	supervise(d);
	summarize(d);
	return 0;
}

void daemon_set_admin(struct daemon *d, size_t i, bool down)
{
	if (d->rt[i].admin_down == down)
		return;
	d->rt[i].admin_down = down;
	log_notice("uplink %s: administratively %s", d->cfg->uplinks[i].name, down ? "down" : "up");
	d->dirty = true;
}

void daemon_free_runtime(struct daemon *d)
{
	if (!d->rt)
		return;
	health_stop(d);
	updates_stop(d);
	pd_stop_all(d);
	ppp_stop_all(d);
	for (size_t i = 0; d->cfg && i < d->cfg->n_uplinks; i++) {
		timer_disarm(&d->rt[i].hold_timer);
		timer_disarm(&d->rt[i].fault_timer);
		timer_disarm(&d->rt[i].resolve_timer);
		timer_disarm(&d->rt[i].update_timer);
	}
	free(d->rt);
	d->rt = NULL;
}

int daemon_init_runtime(struct daemon *d)
{
	d->rt = calloc(d->cfg->n_uplinks + 1, sizeof(*d->rt));
	if (!d->rt)
		return -ENOMEM;
	for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
		struct uplink_rt *rt = &d->rt[i];

		rt->probe.fd = -1;
		rt->update_out.fd = -1;
		rt->ppp_out.fd = -1;
		rt->pd_sock.fd = -1;
		rt->state = PLAN_WAITING;
		rt->since = time(NULL);
		rt->health = d->cfg->uplinks[i].check == CFG_CHECK_NONE ? HEALTH_NONE : HEALTH_OK;
	}
	return 0;
}

/*
 * A new configuration replaces the old only when it is valid; what the daemon learned about
 * uplinks that keep their name (health, AFTR, administrative state) carries over.
 */
int daemon_reload(struct daemon *d, const char *path, struct strbuf *out)
{
	struct cfg_diags diags;
	struct config *cfg, *old = d->cfg;
	struct uplink_rt *old_rt = d->rt;
	int r;

	notify("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)now_us());
	cfg = cfg_load(path ? path : d->config_path, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		if (diags.v[i].warning)
			log_warn("%s", diags.v[i].text);
		else
			log_err("%s", diags.v[i].text);
		if (out)
			sb_printf(out, "%s\n", diags.v[i].text);
	}
	if (!cfg) {
		if (out)
			sb_printf(out, "error: %s has %u error%s; the running configuration is unchanged\n",
				  path ? path : d->config_path, diags.errors, diags.errors == 1 ? "" : "s");
		cfg_diags_free(&diags);
		notify("READY=1");
		return -EINVAL;
	}
	cfg_diags_free(&diags);
	if (path) {
		free(d->config_owned);
		d->config_path = d->config_owned = strdup(path);
	}
	health_stop(d);
	updates_stop(d);
	d->cfg = cfg;
	d->cfg_gen++;
	d->rt = NULL;
	r = daemon_init_runtime(d);
	if (r) {
		d->cfg = old;
		d->rt = old_rt;
		notify("READY=1");
		return r;
	}
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		struct cfg_uplink *o = cfg_find_uplink(old, cfg->uplinks[i].name);

		if (!o || o->type != cfg->uplinks[i].type)
			continue;
		d->rt[i].admin_down = old_rt[o->index].admin_down;
		d->rt[i].has_aftr = old_rt[o->index].has_aftr;
		d->rt[i].aftr = old_rt[o->index].aftr;
		d->rt[i].hold = old_rt[o->index].hold;
		d->rt[i].update_ok = old_rt[o->index].update_ok;
		d->rt[i].update_local = old_rt[o->index].update_local;
		d->rt[i].state = old_rt[o->index].state;
		d->rt[i].usable = old_rt[o->index].usable;
		d->rt[i].since = old_rt[o->index].since;
		/* the same check keeps its verdict; a new one starts from healthy */
		if (o->check == cfg->uplinks[i].check && o->check != CFG_CHECK_NONE &&
		    !strcmp(o->check_target, cfg->uplinks[i].check_target)) {
			struct uplink_rt *n = &d->rt[i], *p = &old_rt[o->index];

			n->health = p->health;
			n->fails = p->fails;
			n->oks = p->oks;
			memcpy(n->window, p->window, sizeof(n->window));
			n->window_n = p->window_n;
			n->window_pos = p->window_pos;
			n->rtt_ms = p->rtt_ms;
		}
	}
	ppp_carry_over(d, old_rt, old);
	pd_carry_over(d, old_rt, old);
	for (size_t i = 0; i < old->n_uplinks; i++) {
		timer_disarm(&old_rt[i].hold_timer);
		timer_disarm(&old_rt[i].fault_timer);
		timer_disarm(&old_rt[i].resolve_timer);
		timer_disarm(&old_rt[i].update_timer);
	}
	free(old_rt);
	/* The plan refers to the old config: drop it before freeing that. */
	if (d->have_plan) {
		plan_free(&d->plan);
		d->have_plan = false;
	}
	cfg_free(old);
	d->capture = out;
	r = daemon_reconcile(d, "reload");
	d->capture = NULL;
	dns_resolve_all(d);
	health_start(d);
	notify("READY=1");
	return r;
}
