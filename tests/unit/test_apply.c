// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * apply against the in-memory kernel: rollback, ownership, stale and foreign objects, and
 * one uplink's fault (a missing device, a refusal, a foreign object in its way) staying its
 * own.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "kernel.h"
#include "testlib.h"

#define TWO_STATIC \
	"[global]\nlan = br0\nhold-down = 0\n\n" \
	"[uplink a]\ntype = static\ndevice = eth1\nipv4 = 198.18.1.2/24\ngateway = 198.18.1.1\npriority = 10\ntable = 201\n\n" \
	"[uplink b]\ntype = static\ndevice = wan9\nipv4 = 198.18.9.2/24\ngateway = 198.18.9.1\npriority = 20\ntable = 202\n"

/* A real router: IPoE with MAP-E over it, a plain Ethernet line, a policy. */
#define ROUTER \
	"[global]\nlan = br0\n\n" \
	"[uplink wan]\ntype = ipoe\ndevice = enp2s0\npriority = 30\n\n" \
	"[uplink v6plus]\ntype = mape\nover = wan\nrule = auto\npriority = 10\n\n" \
	"[uplink st]\ntype = static\ndevice = eth1\nipv4 = 198.18.1.2/24\ngateway = 198.18.1.1\npriority = 20\nmtu = 1400\n\n" \
	"[policy lan2]\nfrom = 192.168.1.32/28\nuplink = st\nfallback = v6plus\n"

struct rig {
	struct config *cfg;
	struct applier a;
	struct kernel *k;
	char run_dir[256];
	struct plan plan;
	bool have_plan;
};

/* A router's kernel before uplinkd: a WAN that got an RA, a LAN bridge, an Ethernet line. */
static struct kernel *base_kernel(void)
{
	struct kernel *k = kmem_new();

	kmem_add_dev(k, "enp2s0", "", true);
	kmem_add_dev(k, "br0", "bridge", true);
	kmem_add_dev(k, "eth1", "", true);
	kmem_add_addr(k, "enp2s0", "240b:10:3f6c:d400:21e:10ff:fe20:3040/64");
	kmem_add_route(k, 254, "::/0", "fe80::1", "enp2s0", 9 /* RTPROT_RA */);
	kmem_add_addr(k, "eth1", "198.18.1.2/24");
	kmem_add_sysctl(k, "net/ipv6/conf/enp2s0/accept_ra", "1");
	/* foreign: another program's route and address */
	kmem_add_route(k, 254, "10.0.0.0/8", "198.18.1.254", "eth1", 4 /* RTPROT_STATIC */);
	kmem_add_addr(k, "br0", "192.168.1.1/24");
	return k;
}

static void rig_init(struct rig *r, const char *conf)
{
	static unsigned n;

	memset(r, 0, sizeof(*r));
	r->cfg = tl_load_config_text(conf);
	r->k = base_kernel();
	applier_init(&r->a, r->k);
	snprintf(r->run_dir, sizeof(r->run_dir), "%s/run-%u", tl_tmpdir(), n++);
}

static void rig_free(struct rig *r)
{
	if (r->have_plan)
		plan_free(&r->plan);
	applier_close(&r->a);
	cfg_free(r->cfg);
}

static char *snapshot(struct kernel *k)
{
	struct strbuf sb = { 0 };

	kmem_print(k, &sb);
	return sb.s;
}

static void debug_change(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "  %s\n", line);
}

/*
 * A reconcile in its phases, as the daemon makes it: observe, add the faults the caller holds
 * (per uplink, NULL: none), converge.  Returns its result, *changes what it did.
 */
static int apply(struct rig *r, const char *const *fault, unsigned *changes, struct ul_err *e)
{
	struct apply_opts o = { .run_dir = r->run_dir,
				.on_change = getenv("APPLY_DEBUG") ? debug_change : NULL };
	struct observation obs;
	struct apply_result res = { 0 };
	int ret;

	if (r->have_plan)
		plan_free(&r->plan);
	r->have_plan = false;
	e->msg[0] = '\0';
	ret = apply_observe(&r->a, r->cfg, r->run_dir, &obs, e);
	if (ret)
		return ret;
	for (size_t i = 0; fault && i < r->cfg->n_uplinks; i++) {
		if (fault[i])
			strlcpy_ul(obs.facts.u[i].fault, fault[i], sizeof(obs.facts.u[i].fault));
	}
	ret = apply_converge(&r->a, r->cfg, &obs, &o, &r->plan, &res, e);
	observation_free(&obs);
	r->have_plan = ret == 0;
	if (changes)
		*changes = res.changes;
	return ret;
}

static const struct plan_uplink *pu(struct rig *r, const char *name)
{
	ck_assert(r->have_plan);
	for (size_t i = 0; i < r->cfg->n_uplinks; i++) {
		if (!strcmp(r->cfg->uplinks[i].name, name))
			return &r->plan.uplinks[i];
	}
	ck_abort_msg("no uplink %s", name);
	return NULL;
}

START_TEST(cold_apply_then_nothing)
{
	struct rig r;
	struct ul_err e;
	unsigned n;

	rig_init(&r, ROUTER);
	ck_assert_msg(apply(&r, NULL, &n, &e) == 0, "%s", e.msg);
	ck_assert_uint_gt(n, 10);
	ck_assert_int_eq(pu(&r, "v6plus")->state, PLAN_UP);
	ck_assert_int_eq(pu(&r, "st")->state, PLAN_UP);
	ck_assert_msg(apply(&r, NULL, &n, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(n, 0);
	rig_free(&r);
}
END_TEST

/*
 * The kernel refuses the nth change of a cold apply, for every n: the refused uplink is left
 * out and the kernel ends exactly as if it had been left out from the start; a refusal of
 * something shared leaves the kernel exactly as it was.
 */
START_TEST(refusal_at_every_position)
{
	struct rig r;
	struct ul_err e;
	unsigned total, isolated = 0, restored = 0;

	rig_init(&r, ROUTER);
	ck_assert_msg(apply(&r, NULL, &total, &e) == 0, "%s", e.msg);
	rig_free(&r);
	for (unsigned nth = 1; nth <= total; nth++) {
		const char *fault[8] = { 0 };
		char reason[sizeof(r.plan.uplinks[0].reason)];
		char *before, *after, *want;
		int ret;

		if (getenv("APPLY_DEBUG"))
			fprintf(stderr, "== refusing change %u\n", nth);
		rig_init(&r, ROUTER);
		before = snapshot(r.k);
		kmem_refuse_nth(r.k, nth, EINVAL, "test refusal");
		ret = apply(&r, NULL, NULL, &e);
		after = snapshot(r.k);
		if (ret) {
			ck_assert_msg(strstr(e.msg, "test refusal"), "change %u: %s", nth, e.msg);
			ck_assert_msg(!strcmp(before, after), "change %u refused (%s): the kernel changed:\n%s\n--- was:\n%s",
				      nth, e.msg, after, before);
			restored++;
		} else {
			size_t bad = r.cfg->n_uplinks;
			struct rig ref;

			for (size_t i = 0; i < r.cfg->n_uplinks; i++) {
				if (r.plan.uplinks[i].state == PLAN_FAILED) {
					ck_assert_msg(bad == r.cfg->n_uplinks, "change %u: two uplinks failed", nth);
					bad = i;
				}
			}
			ck_assert_msg(bad < r.cfg->n_uplinks, "change %u: refused, yet nothing failed", nth);
			ck_assert_msg(strstr(r.plan.uplinks[bad].reason, "test refusal"), "%s",
				      r.plan.uplinks[bad].reason);
			strcpy(reason, r.plan.uplinks[bad].reason);
			fault[bad] = reason;
			rig_init(&ref, ROUTER);
			ck_assert_int_eq(apply(&ref, fault, NULL, &e), 0);
			want = snapshot(ref.k);
			ck_assert_msg(!strcmp(want, after), "change %u: left out %s, but the kernel is\n%s\n--- not\n%s",
				      nth, r.cfg->uplinks[bad].name, after, want);
			/* and what was recorded is consistent: nothing more to do */
			{
				unsigned n;

				ck_assert_int_eq(apply(&r, fault, &n, &e), 0);
				ck_assert_msg(n == 0, "change %u: %u changes after", nth, n);
			}
			free(want);
			rig_free(&ref);
			isolated++;
		}
		free(before);
		free(after);
		rig_free(&r);
	}
	ck_assert_uint_gt(isolated, 5);
	ck_assert_uint_gt(restored, 0);
}
END_TEST

START_TEST(down_removes_exactly_what_was_recorded)
{
	struct apply_opts o = { 0 };
	struct apply_result res;
	struct rig r;
	struct ul_err e;
	char *before, *after;

	rig_init(&r, ROUTER);
	before = snapshot(r.k);
	ck_assert_msg(apply(&r, NULL, NULL, &e) == 0, "%s", e.msg);
	o.run_dir = r.run_dir;
	ck_assert_msg(apply_down(&r.a, r.cfg, &o, &res, &e) == 0, "%s", e.msg);
	ck_assert_uint_gt(res.changes, 10);
	after = snapshot(r.k);
	ck_assert_msg(!strcmp(before, after), "after down:\n%s\n--- before:\n%s", after, before);
	/* foreign objects were there all along */
	ck_assert_ptr_nonnull(strstr(after, "route table 254 10.0.0.0/8"));
	ck_assert_ptr_nonnull(strstr(after, "addr 192.168.1.1/24 dev br0"));
	free(before);
	free(after);
	rig_free(&r);
}
END_TEST

START_TEST(stale_objects_of_an_older_config_go)
{
	struct rig r, ref;
	struct ul_err e;
	char *got, *want;
	const char *smaller = "[global]\nlan = br0\n\n"
			      "[uplink st]\ntype = static\ndevice = eth1\nipv4 = 198.18.1.2/24\n"
			      "gateway = 198.18.1.1\npriority = 20\nmtu = 1400\n";

	rig_init(&r, ROUTER);
	ck_assert_msg(apply(&r, NULL, NULL, &e) == 0, "%s", e.msg);
	ck_assert_ptr_nonnull(strstr(snapshot(r.k), "link v6plus kind ip6tnl"));
	plan_free(&r.plan);
	r.have_plan = false;
	cfg_free(r.cfg);
	r.cfg = tl_load_config_text(smaller);
	ck_assert_msg(apply(&r, NULL, NULL, &e) == 0, "%s", e.msg);
	rig_init(&ref, smaller);
	ck_assert_int_eq(apply(&ref, NULL, NULL, &e), 0);
	got = snapshot(r.k);
	want = snapshot(ref.k);
	ck_assert_msg(!strcmp(got, want), "got:\n%s\n--- want:\n%s", got, want);
	free(got);
	free(want);
	rig_free(&r);
	rig_free(&ref);
}
END_TEST

START_TEST(missing_device_isolates_its_uplink)
{
	struct rig r;
	struct ul_err e;
	char *k;
	unsigned n;

	rig_init(&r, TWO_STATIC);
	ck_assert_msg(apply(&r, NULL, NULL, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pu(&r, "a")->state, PLAN_UP);
	ck_assert_int_eq(pu(&r, "b")->state, PLAN_WAITING);
	ck_assert_str_eq(pu(&r, "b")->reason, "no device wan9");
	k = snapshot(r.k);
	ck_assert_msg(strstr(k, "route table 254 0.0.0.0/0 type 1 via 198.18.1.1 dev eth1"), "%s", k);
	ck_assert_msg(strstr(k, "route table 201 0.0.0.0/0 type 1 via 198.18.1.1 dev eth1"), "%s", k);
	ck_assert_msg(!strstr(k, "table 202"), "%s", k);
	free(k);
	/* nothing more to do while it is missing: no storm of changes */
	ck_assert_int_eq(apply(&r, NULL, &n, &e), 0);
	ck_assert_uint_eq(n, 0);
	/* the device appears: b comes up, a stays */
	kmem_add_dev(r.k, "wan9", "", true);
	ck_assert_msg(apply(&r, NULL, &n, &e) == 0, "%s", e.msg);
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(pu(&r, "b")->state, PLAN_UP);
	k = snapshot(r.k);
	ck_assert_msg(strstr(k, "route table 202 0.0.0.0/0 type 1 via 198.18.9.1 dev wan9"), "%s", k);
	ck_assert_msg(strstr(k, "route table 254 0.0.0.0/0 type 1 via 198.18.1.1 dev eth1"), "%s", k);
	free(k);
	rig_free(&r);
}
END_TEST

/* An absent IPoE NIC: no accept_ra sysctl on it, the tunnels over it wait, the rest is applied. */
START_TEST(missing_ipoe_device_isolates_it_and_its_tunnels)
{
	struct rig r;
	struct ul_err e;
	char *k;

	rig_init(&r, "[global]\nlan = br0\n\n"
		     "[uplink wan]\ntype = ipoe\ndevice = enp9s0\npriority = 30\n\n"
		     "[uplink v6plus]\ntype = mape\nover = wan\nrule = auto\npriority = 10\n\n"
		     "[uplink st]\ntype = static\ndevice = eth1\nipv4 = 198.18.1.2/24\n"
		     "gateway = 198.18.1.1\npriority = 20\n");
	ck_assert_msg(apply(&r, NULL, NULL, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pu(&r, "st")->state, PLAN_UP);
	ck_assert_int_eq(pu(&r, "wan")->state, PLAN_WAITING);
	ck_assert_str_eq(pu(&r, "wan")->reason, "no device enp9s0");
	ck_assert_int_eq(pu(&r, "v6plus")->state, PLAN_WAITING);
	ck_assert_msg(strstr(pu(&r, "v6plus")->reason, "[uplink wan] below it is waiting (no device enp9s0)"),
		      "%s", pu(&r, "v6plus")->reason);
	k = snapshot(r.k);
	ck_assert_msg(strstr(k, "route table 254 0.0.0.0/0 type 1 via 198.18.1.1 dev eth1"), "%s", k);
	ck_assert_msg(!strstr(k, "dev enp9s0") && !strstr(k, "conf/enp9s0"), "%s", k);
	free(k);
	rig_free(&r);
}
END_TEST

START_TEST(foreign_route_in_its_table_isolates_it)
{
	struct rig r;
	struct ul_err e;
	char *k;

	rig_init(&r, TWO_STATIC);
	kmem_add_dev(r.k, "wan9", "", true);
	kmem_add_route(r.k, 202, "0.0.0.0/0", "198.18.9.254", "wan9", 4);
	ck_assert_msg(apply(&r, NULL, NULL, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pu(&r, "a")->state, PLAN_UP);
	ck_assert_int_eq(pu(&r, "b")->state, PLAN_FAILED);
	ck_assert_msg(strstr(pu(&r, "b")->reason, "table 202 already has"), "%s", pu(&r, "b")->reason);
	k = snapshot(r.k);
	ck_assert_msg(strstr(k, "route table 254 0.0.0.0/0 type 1 via 198.18.1.1 dev eth1"), "%s", k);
	ck_assert_msg(strstr(k, "nft table inet uplinkd"), "the table was not installed:\n%s", k);
	free(k);
	rig_free(&r);
}
END_TEST

START_TEST(kernel_refusal_isolates_the_uplink)
{
	struct rig r;
	struct ul_err e;
	unsigned n;

	rig_init(&r, TWO_STATIC);
	kmem_add_dev(r.k, "wan9", "", true);
	kmem_refuse_matching(r.k, "table 202", ENETUNREACH, "Nexthop has invalid gateway");
	ck_assert_msg(apply(&r, NULL, NULL, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pu(&r, "a")->state, PLAN_UP);
	ck_assert_int_eq(pu(&r, "b")->state, PLAN_FAILED);
	ck_assert_msg(strstr(pu(&r, "b")->reason, "(kernel: Nexthop has invalid gateway)"), "%s",
		      pu(&r, "b")->reason);
	ck_assert_msg(strstr(pu(&r, "b")->reason, "table 202"), "%s", pu(&r, "b")->reason);
	/* its address, added before the refusal, was taken back */
	ck_assert_ptr_null(strstr(snapshot(r.k), "198.18.9.2/24"));
	/* the refusal ends: b comes up */
	kmem_refuse_none(r.k);
	ck_assert_msg(apply(&r, NULL, &n, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pu(&r, "b")->state, PLAN_UP);
	rig_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("apply");
	TCase *tc = tcase_create("apply");

	tcase_add_test(tc, cold_apply_then_nothing);
	tcase_add_test(tc, refusal_at_every_position);
	tcase_add_test(tc, down_removes_exactly_what_was_recorded);
	tcase_add_test(tc, stale_objects_of_an_older_config_go);
	tcase_add_test(tc, missing_device_isolates_its_uplink);
	tcase_add_test(tc, missing_ipoe_device_isolates_it_and_its_tunnels);
	tcase_add_test(tc, foreign_route_in_its_table_isolates_it);
	tcase_add_test(tc, kernel_refusal_isolates_the_uplink);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
