/* uplinkctl plan [-c FILE] [--fact UPLINK.KEY=VALUE ...] [-j] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "plan.h"
#include "uplinkctl.h"

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "fact", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = DEFAULT_CONFIG;
	char **fact_args = calloc(argc + 1, sizeof(char *));
	size_t n_facts = 0;
	struct strbuf sb = { 0 };
	struct facts facts = { 0 };
	struct config *cfg = NULL;
	struct plan plan;
	struct ul_err err;
	bool json = false;
	int c, ret = 1;

	if (!fact_args)
		return 1;
	while ((c = getopt_long(argc, argv, "c:f:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			fact_args[n_facts++] = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("Usage: uplinkctl plan [-c FILE] [--fact UPLINK.KEY=VALUE ...] [-j]\n"
			       "  Prints the kernel state uplinkd wants for the configuration and the\n"
			       "  given facts, as ip/sysctl/nft commands (or JSON with -j), touching nothing.\n"
			       "  Facts: UPLINK.prefix=P/L  UPLINK.address=IPV6  UPLINK.gateway6=IPV6\n"
			       "         UPLINK.aftr=IPV6  UPLINK.ipv4=A  UPLINK.peer=A\n"
			       "         UPLINK.state=up|down|failed|admin-down|inactive\n");
			ret = 0;
			goto out;
		default:
			ret = 2;
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "uplinkctl plan: unexpected argument \"%s\"\n", argv[optind]);
		ret = 2;
		goto out;
	}
	cfg = ctl_load_config(path);
	if (!cfg)
		goto out;
	if (facts_init(&facts, cfg))
		goto out;
	for (size_t i = 0; i < n_facts; i++) {
		if (facts_set(&facts, cfg, fact_args[i], &err)) {
			fprintf(stderr, "uplinkctl plan: %s\n", err.msg);
			ret = 2;
			goto out;
		}
	}
	if (plan_build(cfg, &facts, &plan, &err)) {
		fprintf(stderr, "uplinkctl plan: %s\n", err.msg);
		goto out;
	}
	if (json)
		plan_print_json(&plan, &sb);
	else
		plan_print(&plan, &sb);
	plan_free(&plan);
	if (sb.oom) {
		fprintf(stderr, "uplinkctl plan: out of memory\n");
		goto out;
	}
	ctl_print_out(sb.s);
	ret = 0;
out:
	sb_free(&sb);
	facts_free(&facts);
	cfg_free(cfg);
	free(fact_args);
	return ret;
}
