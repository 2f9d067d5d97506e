/*
 * nft_apply: the nftables backend against the running kernel, for
 * tests/integration/t_nft_backend.sh and the benchmarks.  Run it only inside a network
 * namespace of your own: it replaces table inet <nft-table> of the namespace it runs in.
 *
 *   nft_apply -c CONFIG [--facts FILE] [--fact UPLINK.KEY=VALUE]... [--big-set N [--seed S]]
 *             [--print-to FILE] [--break WHAT] [--no-verify]
 *             [--check | --delete | --plan-only]
 *
 * Default: plan, nft_table_replace(), then nft_table_matches() (must say 1 and send no
 * mutating message; --no-verify skips it).  --check: only nft_table_matches(), exit 3 when
 * it says 0.  --delete: nft_table_delete().  --plan-only: no kernel at all (with --print-to).  --big-set adds a
 * destination set of N random non-adjacent /24s and /32s and a rule using it.  --break makes
 * the plan one the kernel refuses: route-postrouting (a route chain on the postrouting hook)
 * or jump-nowhere (a rule jumping to a missing chain).
 * Figures go to stdout as "nft-replace: 12.3 ms, 57 messages".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "config.h"
#include "facts.h"
#include "nft.h"
#include "plan.h"

static void add_fact(struct facts *f, const struct config *cfg, const char *kv)
{
	struct ul_err e;

	if (facts_set(f, cfg, kv, &e))
		die("%s", e.msg);
}

static void load_facts(struct facts *f, const struct config *cfg, const char *path)
{
	char line[512];
	FILE *fp = fopen(path, "r");

	if (!fp)
		die("cannot read %s", path);
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] && line[0] != '#')
			add_fact(f, cfg, line);
	}
	fclose(fp);
}

static void add_big_set(struct nftp_table *t, unsigned n, uint64_t seed)
{
	struct nftp_set *s = nftp_add_set(t, "big_dst4", NFTP_SET_IPV4);
	struct nftp_chain *c = nftp_find_chain(t, "prerouting");
	struct nftp_rule *r;
	struct nftp_match *m;
	struct nftp_stmt *st;
	uint64_t state = bench_prefix_seed(seed);

	if (!s || !c)
		die("%s", "no prerouting chain to hang the big set on");
	for (unsigned i = 0; i < n; i++) {
		struct ip_prefix p = bench_prefix(i, &state);

		if (nftp_set_add_prefix(s, &p))
			die("%s", "out of memory");
	}
	if (nftp_set_normalize(s) || s->ranges.n != n)
		die("%s", "big set: prefixes merged");
	r = nftp_add_rule(c, "big destination set");
	m = r ? nftp_rule_match(r, NFTP_M_NFPROTO) : NULL;
	if (!m)
		die("%s", "out of memory");
	m->family = AF_INET;
	m = nftp_rule_match(r, NFTP_M_DADDR_IN);
	strcpy(m->name, "big_dst4");
	m->family = AF_INET;
	nftp_rule_stmt(r, NFTP_S_COUNTER);
	st = nftp_rule_stmt(r, NFTP_S_MARK_SET);
	st->mask = 0x00ff0000;
	st->value = 0x00ee0000;
}

static void break_plan(struct nftp_table *t, const char *what)
{
	struct nftp_chain *c;
	struct nftp_rule *r;
	struct nftp_stmt *s;

	if (!strcmp(what, "route-postrouting")) {
		c = nftp_find_chain(t, "postrouting");
		if (!c)
			die("%s", "no postrouting chain");
		c->type = NFTP_CHAIN_ROUTE;
	} else if (!strcmp(what, "jump-nowhere")) {
		c = nftp_find_chain(t, "input");
		r = c ? nftp_add_rule(c, "to a chain that is not there") : NULL;
		s = r ? nftp_rule_stmt(r, NFTP_S_JUMP) : NULL;
		if (!s)
			die("%s", "no input chain");
		strcpy(s->chain, "nowhere");
	} else {
		die("unknown --break %s", what);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "facts", required_argument, NULL, 'F' },
		{ "fact", required_argument, NULL, 'f' },
		{ "big-set", required_argument, NULL, 'B' },
		{ "seed", required_argument, NULL, 'S' },
		{ "print-to", required_argument, NULL, 'p' },
		{ "break", required_argument, NULL, 'x' },
		{ "check", no_argument, NULL, 'k' },
		{ "delete", no_argument, NULL, 'd' },
		{ "plan-only", no_argument, NULL, 'P' },
		{ "no-verify", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *facts_file = NULL, *print_to = NULL, *breakage = NULL;
	const char *fact_args[64];
	unsigned n_facts = 0, big = 0;
	uint64_t seed = 1;
	bool check = false, del = false, plan_only = false, verify = true;
	struct cfg_diags d = { 0 };
	struct nft_conn *c;
	struct ul_err e = { "" };
	struct config *cfg;
	struct facts f;
	struct plan p;
	double t0, t1;
	unsigned long msgs, mut;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'F':
			facts_file = optarg;
			break;
		case 'f':
			if (n_facts == sizeof(fact_args) / sizeof(fact_args[0]))
				die("%s", "too many --fact");
			fact_args[n_facts++] = optarg;
			break;
		case 'B':
			big = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			print_to = optarg;
			break;
		case 'x':
			breakage = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'd':
			del = true;
			break;
		case 'P':
			plan_only = true;
			break;
		case 'n':
			verify = false;
			break;
		default:
			fprintf(stderr, "usage: nft_apply -c CONFIG [--facts FILE] [--fact U.K=V]... "
				"[--big-set N [--seed S]] [--print-to FILE] [--break WHAT] [--no-verify] "
				"[--check | --delete | --plan-only]\n");
			return 1;
		}
	}
	if (!config)
		die("%s", "-c CONFIG is required");
	cfg = cfg_load(config, &d);
	if (!cfg)
		die("%s", d.n ? d.v[0].text : "cannot load the configuration");
	cfg_diags_free(&d);
	if (facts_init(&f, cfg))
		die("%s", "out of memory");
	if (facts_file)
		load_facts(&f, cfg, facts_file);
	for (unsigned i = 0; i < n_facts; i++)
		add_fact(&f, cfg, fact_args[i]);
	if (plan_build(cfg, &f, &p, &e))
		die("%s", e.msg);
	if (big)
		add_big_set(&p.nft, big, seed);
	if (breakage)
		break_plan(&p.nft, breakage);
	if (print_to) {
		struct strbuf sb = { 0 };
		FILE *fp = fopen(print_to, "w");

		nftp_print(&p.nft, &sb);
		if (!fp || sb.oom || fputs(sb.s, fp) < 0 || fclose(fp))
			die("cannot write %s", print_to);
		sb_free(&sb);
	}
	if (plan_only)
		return 0;

	if (nft_open(&c, &e))
		die("%s", e.msg);
	ret = 0;
	if (del) {
		bool existed;

		if (nft_table_delete(c, p.nft.name, &existed, &e))
			die("%s", e.msg);
		printf("nft-delete: %s, %lu messages\n", existed ? "existed" : "absent",
		       nft_stats(c)->msgs_sent);
	} else if (check) {
		t0 = now_ms();
		ret = nft_table_matches(c, &p.nft, &e);
		t1 = now_ms();
		if (ret < 0)
			die("%s", e.msg);
		printf("nft-matches: %.1f ms, %lu messages, %lu mutating, result %d\n", t1 - t0,
		       nft_stats(c)->msgs_sent, nft_stats(c)->mutating_msgs, ret);
		ret = ret == 1 ? 0 : 3;
	} else {
		t0 = now_ms();
		if (nft_table_replace(c, &p.nft, &e)) {
			fprintf(stderr, "nft_apply: %s\n", e.msg);
			ret = 1;
			goto out;
		}
		t1 = now_ms();
		msgs = nft_stats(c)->msgs_sent;
		printf("nft-replace: %.1f ms, %lu messages\n", t1 - t0, msgs);
		if (!verify)
			goto out;
		mut = nft_stats(c)->mutating_msgs;
		t0 = now_ms();
		ret = nft_table_matches(c, &p.nft, &e);
		t1 = now_ms();
		if (ret < 0)
			die("%s", e.msg);
		printf("nft-matches: %.1f ms, %lu messages, %lu mutating, result %d\n", t1 - t0,
		       nft_stats(c)->msgs_sent - msgs, nft_stats(c)->mutating_msgs - mut, ret);
		if (ret != 1 || nft_stats(c)->mutating_msgs != mut) {
			fprintf(stderr, "nft_apply: the table just written does not match the plan\n");
			ret = 2;
		} else {
			ret = 0;
		}
	}
out:
	nft_close(c);
	plan_free(&p);
	facts_free(&f);
	cfg_free(cfg);
	return ret;
}
