/*
 * apply_bench: apply_run() (lib/apply.h) against the running kernel, cold and then again with
 * nothing to do, for tests/bench/bench_apply.sh.  Run it only inside a network namespace of
 * your own: it converges the namespace it runs in to the configuration (it refuses to run
 * anywhere but in a namespace made with `ip netns add`, and never in PID 1's, the machine's own).
 *
 *   apply_bench -c CONFIG --run-dir DIR [--label NAME] [--noop N] [--profile]
 *   apply_bench --gen-prefixes N [--seed S]
 *
 * Default: one cold apply_run(), then N (default 3) no-op apply_run()s, each timed with
 * CLOCK_MONOTONIC around the call alone (the configuration is loaded before):
 *
 *   NAME-load: 40.1 ms (cfg_load)
 *   NAME-cold: 12.3 ms, rtnl 34 msgs (20 mutating), nft 130 msgs (127 mutating), 45 changes
 *   NAME-noop: 1.9 ms, rtnl 4 msgs (0 mutating), nft 6 msgs (0 mutating), 0 changes
 *
 * (one -noop line per run; the first is the contract "a re-apply sends no mutating message").
 * Exit status 3 when a no-op run changed something or sent a mutating message, 1 on errors.
 * --profile also prints where the time goes: a dry run before the cold apply (reading the
 * kernel, observing, planning, comparing the nftables table, diffing: what precedes the first
 * change), the cold apply's changes grouped by kind (the time between consecutive on_change
 * calls, i.e. per kernel request), and the no-op apply's stages timed one by one with the
 * library's own functions (the same steps apply_run takes), as "NAME-prof ..." lines.
 *
 * --gen-prefixes writes N prefixes to stdout, one a line: the destination set of nft_apply's
 * --big-set (same generator, same seed -> same prefixes): /24s and /32s in distinct, never
 * adjacent /24s from 11.0.0.0 on (11.0.0.0 - 18.161.255.255 for 100 000), so none merge and none
 * overlaps 10/8, 172.16/12, 192.168/16 or 198.18/15.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "apply.h"
#include "rtnl.h"
#include "bench.h"
#include "config.h"
#include "facts.h"
#include "observe.h"
#include "plan.h"

/*
 * Only in a namespace made with `ip netns add` (one of /run/netns), and never in PID 1's (the
 * machine's own; when /proc/1 can be read at all).
 */
static void refuse_own_netns(void)
{
	struct stat self, init, st;
	char path[512];
	bool named = false;
	struct dirent *de;
	DIR *dir;

	if (stat("/proc/self/ns/net", &self))
		die("cannot stat /proc/self/ns/net: %s", strerror(errno));
	if (!stat("/proc/1/ns/net", &init) && self.st_dev == init.st_dev && self.st_ino == init.st_ino)
		die("%s", "refusing to run in the machine's own network namespace");
	dir = opendir("/run/netns");
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (!stat(path, &st) && st.st_dev == self.st_dev && st.st_ino == self.st_ino)
			named = true;
	}
	if (dir)
		closedir(dir);
	if (!named)
		die("%s", "refusing to run outside a network namespace made with `ip netns add` "
			  "(run it with ip netns exec in a namespace of your own)");
}

static void gen_prefixes(unsigned n, uint64_t seed)
{
	uint64_t state = bench_prefix_seed(seed);
	char buf[PREFIX_STRLEN];

	printf("# %u destination prefixes, apply_bench --gen-prefixes %u --seed %llu\n", n, n,
	       (unsigned long long)seed);
	for (unsigned i = 0; i < n; i++) {
		struct ip_prefix p = bench_prefix(i, &state);

		printf("%s\n", prefix_fmt(&p, buf));
	}
	if (fflush(stdout) || ferror(stdout))
		die("%s", "cannot write the prefixes");
}

/* ---- the cold apply's changes, timed one by one through on_change ---- */

#define MAX_KINDS 32

struct kind_stat {
	char name[40];
	unsigned n;
	double ms, max_ms;
};

struct change_clock {
	double last;
	unsigned n;
	double first_ms;           /* the first change's delta: everything before it too */
	struct kind_stat kinds[MAX_KINDS];
	unsigned n_kinds;
};

/* "ip -6 route add default ..." -> "ip -6 route add"; "sysctl net..." -> "sysctl" */
static void kind_of(const char *line, char *out, size_t len)
{
	static const char *const words[] = { "ip", "-4", "-6", "link", "address", "addr", "route",
		"rule", "token", "add", "set", "del", "delete", "replace", "change", "nft", "table",
		"flush", "restore", "sysctl", NULL };
	size_t o = 0;
	const char *p = line;

	out[0] = '\0';
	while (*p) {
		size_t w = strcspn(p, " ");
		bool known = false;

		for (size_t i = 0; words[i]; i++)
			if (strlen(words[i]) == w && !strncmp(p, words[i], w))
				known = true;
		if (!known || o + w + 2 > len)
			break;
		if (o)
			out[o++] = ' ';
		memcpy(out + o, p, w);
		o += w;
		out[o] = '\0';
		p += w;
		while (*p == ' ')
			p++;
	}
	if (!o)
		snprintf(out, len, "%.*s", (int)strcspn(line, " "), line);
}

static void on_change(void *arg, const char *line)
{
	struct change_clock *cc = arg;
	double t = now_ms(), d = t - cc->last;
	struct kind_stat *k = NULL;
	char name[40];

	cc->last = t;
	if (cc->n++ == 0) {
		cc->first_ms = d;
		return; /* holds the reading, planning and diffing: reported apart */
	}
	kind_of(line, name, sizeof(name));
	for (unsigned i = 0; i < cc->n_kinds; i++)
		if (!strcmp(cc->kinds[i].name, name))
			k = &cc->kinds[i];
	if (!k && cc->n_kinds < MAX_KINDS) {
		k = &cc->kinds[cc->n_kinds++];
		strlcpy_ul(k->name, name, sizeof(k->name));
	}
	if (!k)
		return;
	k->n++;
	k->ms += d;
	if (d > k->max_ms)
		k->max_ms = d;
}

static void print_result(const char *label, const char *what, double ms, const struct apply_result *r)
{
	printf("%s-%s: %.1f ms, rtnl %lu msgs (%lu mutating), nft %lu msgs (%lu mutating), %u changes\n",
	       label, what, ms, r->rtnl_msgs, r->rtnl_mutating, r->nft_msgs, r->nft_mutating, r->changes);
	fflush(stdout);
}

/* ---- the no-op apply's stages, one by one (the steps of apply_run, without the changes) ---- */

/* apply.c's read_sysctls(): the current values of the sysctls the plan sets or own restores */
static void read_sysctls(struct kview *kv, const struct plan *p, const struct own_state *own)
{
	kv->sysctls.n = 0;
	for (size_t i = 0; i < p->sysctls.n + own->sysctls.n; i++) {
		const char *key = i < p->sysctls.n ? p->sysctls.v[i].key : own->sysctls.v[i - p->sysctls.n].key;
		struct kv_sysctl *s;
		char value[64];

		if (kview_sysctl(kv, key) || sysctl_read(key, value, sizeof(value)))
			continue;
		s = VEC_PUSH(&kv->sysctls);
		if (!s)
			die("%s", "out of memory");
		strlcpy_ul(s->key, key, sizeof(s->key));
		strlcpy_ul(s->value, value, sizeof(s->value));
	}
}

static void profile_stages(struct applier *a, const struct config *cfg, const char *run_dir,
			   const char *label)
{
	struct own_state own;
	struct facts facts;
	struct plan plan;
	struct changes ch = { 0 };
	struct observe_extra none = { 0 };
	struct ul_err e = { "" };
	double t[9];
	int m;

	t[0] = now_ms();
	if (state_load(run_dir, &own, &e))
		die("%s", e.msg);
	t[1] = now_ms();
	if (a->k->ops->dump(a->k, &a->kv, (uint8_t)cfg->route_protocol, &e))
		die("%s", e.msg);
	t[2] = now_ms();
	if (facts_init(&facts, cfg))
		die("%s", "out of memory");
	facts_observe(cfg, &a->kv, &own, &none, &facts);
	t[3] = now_ms();
	if (plan_build(cfg, &facts, &plan, &e))
		die("%s", e.msg);
	t[4] = now_ms();
	read_sysctls(&a->kv, &plan, &own);
	t[5] = now_ms();
	(void)nft_table_hash(&plan.nft);
	t[6] = now_ms();
	m = a->k->ops->nft_matches(a->k, &plan.nft, &e);
	if (m < 0)
		die("%s", e.msg);
	t[7] = now_ms();
	if (diff_build(&plan, &a->kv, &own, m == 1 ? DIFF_NFT_SAME : DIFF_NFT_DIFFERS, &ch, &e))
		die("%s", e.msg);
	t[8] = now_ms();
	printf("%s-prof noop stages: state_load %.2f, rtnl_dump %.2f, observe %.2f, plan_build %.2f, "
	       "read_sysctls %.2f, nft_table_hash %.2f, nft_table_matches %.2f (result %d), "
	       "diff_build %.2f (%zu changes) ms\n",
	       label, t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4], t[6] - t[5],
	       t[7] - t[6], m, t[8] - t[7], ch.n);
	changes_free(&ch);
	plan_free(&plan);
	facts_free(&facts);
	state_free(&own);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "label", required_argument, NULL, 'l' },
		{ "noop", required_argument, NULL, 'N' },
		{ "profile", no_argument, NULL, 'p' },
		{ "gen-prefixes", required_argument, NULL, 'G' },
		{ "seed", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *run_dir = NULL, *label = "apply";
	unsigned noop = 3, gen = 0;
	uint64_t seed = 1;
	bool profile = false;
	struct cfg_diags d = { 0 };
	struct change_clock cc = { 0 };
	struct apply_opts o = { 0 };
	struct apply_result res;
	struct applier a;
	struct ul_err e = { "" };
	struct config *cfg;
	struct plan plan;
	double t0, t1;
	int opt, ret = 0;

	while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'N':
			noop = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			profile = true;
			break;
		case 'G':
			gen = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: apply_bench -c CONFIG --run-dir DIR [--label NAME] [--noop N] "
				"[--profile]\n       apply_bench --gen-prefixes N [--seed S]\n");
			return 2;
		}
	}
	if (gen) {
		gen_prefixes(gen, seed);
		return 0;
	}
	if (!config || !run_dir)
		die("%s", "-c CONFIG and --run-dir DIR are required");
	refuse_own_netns();

	t0 = now_ms();
	cfg = cfg_load(config, &d);
	t1 = now_ms();
	if (!cfg)
		die("%s", d.n ? d.v[0].text : "cannot load the configuration");
	cfg_diags_free(&d);
	printf("%s-load: %.1f ms (cfg_load)\n", label, t1 - t0);

	if (applier_open(&a, &e))
		die("%s", e.msg);
	o.run_dir = run_dir;
	o.send_update = NULL;

	if (profile) {
		struct apply_opts dry = o;

		dry.dry_run = true;
		t0 = now_ms();
		if (apply_run(&a, cfg, &dry, &plan, &res, &e))
			die("dry run: %s", e.msg);
		t1 = now_ms();
		plan_free(&plan);
		printf("%s-prof dry-run: %.1f ms, %u changes planned (reading, planning, diffing only)\n",
		       label, t1 - t0, res.changes);
	}

	o.on_change = on_change;
	o.arg = &cc;
	t0 = now_ms();
	cc.last = t0;
	if (apply_run(&a, cfg, &o, &plan, &res, &e))
		die("cold apply: %s", e.msg);
	t1 = now_ms();
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct plan_uplink *pu = &plan.uplinks[i];

		if (pu->state != PLAN_UP)
			fprintf(stderr, "apply_bench: uplink %s: %s (%s)\n", pu->cfg->name,
				plan_state_name(pu->state), pu->reason);
	}
	plan_free(&plan);
	print_result(label, "cold", t1 - t0, &res);
	if (profile) {
		printf("%s-prof cold: up to and with the first change %.2f ms; after the last change "
		       "(state file) %.2f ms\n", label, cc.first_ms, t1 - cc.last);
		for (unsigned i = 0; i < cc.n_kinds; i++)
			printf("%s-prof cold change: %-24s %5u x, %8.2f ms total, %6.3f ms each, max %.3f\n",
			       label, cc.kinds[i].name, cc.kinds[i].n, cc.kinds[i].ms,
			       cc.kinds[i].ms / cc.kinds[i].n, cc.kinds[i].max_ms);
	}

	o.on_change = NULL;
	for (unsigned i = 0; i < noop; i++) {
		t0 = now_ms();
		if (apply_run(&a, cfg, &o, &plan, &res, &e))
			die("no-op apply: %s", e.msg);
		t1 = now_ms();
		plan_free(&plan);
		print_result(label, "noop", t1 - t0, &res);
		if (res.changes || res.rtnl_mutating || res.nft_mutating)
			ret = 3;
	}
	if (profile)
		profile_stages(&a, cfg, run_dir, label);

	applier_close(&a);
	cfg_free(cfg);
	return ret;
}
