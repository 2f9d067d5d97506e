// SPDX-License-Identifier: GPL-2.0-or-later
/* Hold-down: the step function over flap sequences, and the planner's waiver. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "holddown.h"
#include "plan.h"
#include "testlib.h"

#define HOLD 30000

/* One reconcile: the fact before the plan, the plan (no waiver here), the observation after. */
static bool hold_step(struct hold_hist *h, bool would, enum hold_cause cause, uint64_t now,
		      uint64_t hold_ms)
{
	bool wanted = hold_wanted(h, now, hold_ms);

	hold_observe(h, would, cause, now, hold_ms);
	return would && wanted;
}

START_TEST(first_up_is_not_held)
{
	struct hold_hist h = { 0 };

	ck_assert(!hold_step(&h, false, HOLD_LINE, 0, HOLD));
	ck_assert(!hold_step(&h, true, HOLD_LINE, 1000, HOLD));
	ck_assert(!hold_step(&h, true, HOLD_LINE, 2000, HOLD));
}
END_TEST

START_TEST(recovery_is_held_for_hold_down)
{
	struct hold_hist h = { 0 };

	ck_assert(!hold_step(&h, true, HOLD_LINE, 0, HOLD));
	ck_assert(!hold_step(&h, false, HOLD_LINE, 1000, HOLD));   /* carrier lost */
	ck_assert(hold_step(&h, true, HOLD_LINE, 2000, HOLD));     /* back: held */
	ck_assert_uint_eq(h.until_ms, 2000 + HOLD);
	ck_assert(hold_step(&h, true, HOLD_LINE, 2000 + HOLD - 1, HOLD));
	ck_assert(!hold_step(&h, true, HOLD_LINE, 2000 + HOLD, HOLD));
	ck_assert(!hold_step(&h, true, HOLD_LINE, 2000 + HOLD + 5000, HOLD));
}
END_TEST

START_TEST(flapping_during_hold_starts_again)
{
	struct hold_hist h = { 0 };

	hold_step(&h, true, HOLD_LINE, 0, HOLD);
	hold_step(&h, false, HOLD_LINE, 1000, HOLD);
	ck_assert(hold_step(&h, true, HOLD_LINE, 2000, HOLD));
	ck_assert(!hold_step(&h, false, HOLD_LINE, 10000, HOLD)); /* lost again while held */
	ck_assert(hold_step(&h, true, HOLD_LINE, 11000, HOLD));   /* the hold starts anew */
	ck_assert_uint_eq(h.until_ms, 11000 + HOLD);
	ck_assert(hold_step(&h, true, HOLD_LINE, 11000 + HOLD - 1, HOLD));
	ck_assert(!hold_step(&h, true, HOLD_LINE, 11000 + HOLD, HOLD));
}
END_TEST

START_TEST(operator_decisions_are_not_damped)
{
	struct hold_hist h = { 0 };

	hold_step(&h, true, HOLD_LINE, 0, HOLD);
	ck_assert(!hold_step(&h, false, HOLD_OPERATOR, 1000, HOLD)); /* uplinkctl down */
	ck_assert(!hold_step(&h, true, HOLD_LINE, 2000, HOLD));      /* uplinkctl up: at once */
	/* held, then the operator takes it down and up: no hold */
	hold_step(&h, false, HOLD_LINE, 3000, HOLD);
	ck_assert(hold_step(&h, true, HOLD_LINE, 4000, HOLD));
	ck_assert(!hold_step(&h, false, HOLD_OPERATOR, 5000, HOLD));
	ck_assert(!hold_step(&h, true, HOLD_LINE, 6000, HOLD));
}
END_TEST

START_TEST(zero_hold_down_never_holds)
{
	struct hold_hist h = { 0 };

	hold_step(&h, true, HOLD_LINE, 0, 0);
	hold_step(&h, false, HOLD_LINE, 1000, 0);
	ck_assert(!hold_step(&h, true, HOLD_LINE, 2000, 0));
	ck_assert(!h.recovering);
}
END_TEST

/* ---- the planner: a hold never takes the last usable uplink away ---- */

#define TWO \
	"[global]\nlan = br0\n\n" \
	"[uplink a]\ntype = static\ndevice = eth1\nipv4 = 198.18.1.2/24\ngateway = 198.18.1.1\npriority = 10\n\n" \
	"[uplink b]\ntype = static\ndevice = eth2\nipv4 = 198.18.2.2/24\ngateway = 198.18.2.1\npriority = 20\n" \
	"\n[uplink c]\ntype = static\ndevice = eth3\nipv4 = 198.18.3.2/24\ngateway = 198.18.3.1\npriority = none\n" \
	"\n[policy p]\nfrom = 192.168.1.32/28\nuplink = c\nfallback = a\n"

static void plan_with(struct config *cfg, const char *facts, struct plan *p)
{
	struct facts f;
	struct ul_err e;
	char buf[256], *save = NULL;

	ck_assert_int_eq(facts_init(&f, cfg), 0);
	strcpy(buf, facts);
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!strncmp(tok, "held=", 5))
			f.u[cfg_find_uplink(cfg, tok + 5)->index].held = true;
		else
			ck_assert_msg(facts_set(&f, cfg, tok, &e) == 0, "%s", e.msg);
	}
	ck_assert_msg(plan_build(cfg, &f, p, &e) == 0, "%s", e.msg);
	facts_free(&f);
}

START_TEST(held_while_another_carries)
{
	struct config *cfg = tl_load_config_text(TWO);
	struct plan p;

	/* a is back but held: b carries the default, c the policy */
	plan_with(cfg, "held=a", &p);
	ck_assert_ptr_nonnull(p.default4);
	ck_assert_str_eq(p.default4->name, "b");
	ck_assert(!p.uplinks[0].usable);
	ck_assert(p.uplinks[0].held);
	ck_assert_int_eq(p.uplinks[0].state, PLAN_DOWN);
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

START_TEST(last_usable_is_never_held)
{
	struct config *cfg = tl_load_config_text(TWO);
	struct plan p;

	/* the sequence: a held after recovering, then b loses carrier */
	plan_with(cfg, "held=a b.state=down c.state=down", &p);
	ck_assert_ptr_nonnull(p.default4);
	ck_assert_str_eq(p.default4->name, "a");
	ck_assert(p.uplinks[0].usable);
	ck_assert_msg(strstr(p.uplinks[0].reason, "waived"), "%s", p.uplinks[0].reason);
	plan_free(&p);
	/* both recovered and held: the better one is released, the other stays held */
	plan_with(cfg, "held=a held=b c.state=down", &p);
	ck_assert_str_eq(p.default4->name, "a");
	ck_assert(!p.uplinks[1].usable);
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

START_TEST(last_member_of_a_policy_is_never_held)
{
	struct config *cfg = tl_load_config_text(TWO);
	struct plan p;

	/* b could carry the default, but a is the only usable member of policy p's chain */
	plan_with(cfg, "held=a c.state=down", &p);
	ck_assert(p.uplinks[0].usable);
	ck_assert(!p.uplinks[0].held);
	ck_assert_msg(strstr(p.uplinks[0].reason, "waived"), "%s", p.uplinks[0].reason);
	plan_free(&p);
	cfg_free(cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("holddown");
	TCase *tc = tcase_create("holddown");

	tcase_add_test(tc, first_up_is_not_held);
	tcase_add_test(tc, recovery_is_held_for_hold_down);
	tcase_add_test(tc, flapping_during_hold_starts_again);
	tcase_add_test(tc, operator_decisions_are_not_damped);
	tcase_add_test(tc, zero_hold_down_never_holds);
	tcase_add_test(tc, held_while_another_carries);
	tcase_add_test(tc, last_usable_is_never_held);
	tcase_add_test(tc, last_member_of_a_policy_is_never_held);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
