/*
 * uplinkctl mape [-j] --prefix P/L [--rule-v6 P/L --rule-v4 A/L --ea-len N --psid-offset A
 *                [--psid-len Q [--psid P]] [--iid rfc7597|draft03] [--br IPV6]]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mape.h"
#include "uplinkctl.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: uplinkctl mape [-j] --prefix P/L                 (rule from the built-in table)\n"
		"       uplinkctl mape [-j] --prefix P/L --rule-v6 P/L --rule-v4 A/L --ea-len N\n"
		"                      --psid-offset A [--psid-len Q [--psid P]] [--iid rfc7597|draft03]\n"
		"                      [--br IPV6]\n"
		"  --prefix     the end-user IPv6 prefix (delegated /56, or the WAN /64)\n"
		"  --psid P     an explicitly provisioned PSID, for rules whose EA bits carry none\n"
		"  --iid        interface-id layout of the CE address (default draft03, as the\n"
		"               Japanese VNEs use; rfc7597 for RFC 7597 section 6)\n"
		"  -j           one JSON object\n");
}

static int bad(const char *what, const char *v)
{
	fprintf(stderr, "uplinkctl mape: %s: invalid value \"%s\"\n", what, v);
	return 2;
}

static void print_json(const struct mape_result *m, const struct mape_rule *rule, const char *service)
{
	char a[INET6_ADDRSTRLEN], b[PREFIX_STRLEN];

	printf("{\"ipv4\":\"%s\",\"ipv4_prefix_len\":%u,\"psid\":%u,\"psid_len\":%u,\"psid_offset\":%u,",
	       inet_ntop(AF_INET, &m->ipv4, a, sizeof(a)), m->ipv4_len, m->psid, m->psid_len,
	       m->psid_offset);
	printf("\"ports\":[");
	for (unsigned i = 0; i < m->port_sets; i++) {
		uint16_t lo, hi;

		mape_port_range(m, i, &lo, &hi);
		printf("%s[%u,%u]", i ? "," : "", lo, hi);
	}
	printf("],\"port_sets\":%u,\"ports_per_set\":%u,\"port_count\":%u,", m->port_sets,
	       m->ports_per_set, mape_port_count(m));
	printf("\"ce_ipv6\":\"%s\",", inet_ntop(AF_INET6, &m->ce, a, sizeof(a)));
	if (m->has_br)
		printf("\"br\":\"%s\",", inet_ntop(AF_INET6, &m->br, a, sizeof(a)));
	else
		printf("\"br\":null,");
	printf("\"rule\":{\"ipv6\":\"%s\",", prefix_fmt(&rule->ipv6, b));
	printf("\"ipv4\":\"%s\",\"ea_len\":%u,\"psid_offset\":%u,\"iid\":\"%s\",\"service\":",
	       prefix_fmt(&rule->ipv4, b), rule->ea_len, rule->psid_offset,
	       rule->iid == MAPE_IID_DRAFT03 ? "draft03" : "rfc7597");
	if (service)
		printf("\"%s\"}}\n", service);
	else
		printf("null}}\n");
}

static void print_human(const struct mape_result *m, const struct mape_rule *rule, const char *service)
{
	char a[INET6_ADDRSTRLEN], b[PREFIX_STRLEN], c[PREFIX_STRLEN];

	printf("IPv4 address   %s", inet_ntop(AF_INET, &m->ipv4, a, sizeof(a)));
	if (m->ipv4_len < 32)
		printf("/%u", m->ipv4_len);
	printf("\nPSID           %u (0x%x), length %u, offset %u\n", m->psid, m->psid, m->psid_len,
	       m->psid_offset);
	printf("Port sets      %u of %u ports = %u ports\n", m->port_sets, m->ports_per_set,
	       mape_port_count(m));
	for (unsigned i = 0; i < m->port_sets; i++) {
		uint16_t lo, hi;

		mape_port_range(m, i, &lo, &hi);
		printf("%s%u-%u", i % 6 ? "  " : (i ? "\n               " : "               "), lo, hi);
	}
	printf("\nCE IPv6        %s\n", inet_ntop(AF_INET6, &m->ce, a, sizeof(a)));
	if (m->has_br)
		printf("BR             %s\n", inet_ntop(AF_INET6, &m->br, a, sizeof(a)));
	else
		printf("BR             (not given)\n");
	printf("Rule           %s -> %s, EA %u, PSID offset %u, %s IID%s%s%s\n",
	       prefix_fmt(&rule->ipv6, b), prefix_fmt(&rule->ipv4, c), rule->ea_len, rule->psid_offset,
	       rule->iid == MAPE_IID_DRAFT03 ? "draft03" : "RFC 7597", service ? " (built-in: " : "",
	       service ? service : "", service ? ")" : "");
}

int cmd_mape(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "rule-v6", required_argument, NULL, '6' },
		{ "rule-v4", required_argument, NULL, '4' },
		{ "ea-len", required_argument, NULL, 'e' },
		{ "psid-offset", required_argument, NULL, 'o' },
		{ "psid-len", required_argument, NULL, 'q' },
		{ "psid", required_argument, NULL, 'P' },
		{ "iid", required_argument, NULL, 'i' },
		{ "br", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct mape_rule rule = { .psid_len = -1, .iid = MAPE_IID_DRAFT03 };
	bool json = false, have_prefix = false, have_iid = false, have_br = false;
	bool have[4] = { false };
	struct ip_prefix prefix;
	struct mape_result res;
	const char *service = NULL;
	struct in6_addr br;
	struct ul_err err;
	uint32_t n, psid = 0;
	bool have_psid = false;
	int c, manual;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (prefix_parse(&prefix, optarg, AF_INET6, true))
				return bad("--prefix", optarg);
			prefix_mask(&prefix);
			have_prefix = true;
			break;
		case '6':
			if (prefix_parse(&rule.ipv6, optarg, AF_INET6, false))
				return bad("--rule-v6 (an IPv6 prefix without host bits)", optarg);
			have[0] = true;
			break;
		case '4':
			if (prefix_parse(&rule.ipv4, optarg, AF_INET, false))
				return bad("--rule-v4 (an IPv4 prefix without host bits)", optarg);
			have[1] = true;
			break;
		case 'e':
			if (parse_u32(optarg, 0, 48, &n))
				return bad("--ea-len (0..48)", optarg);
			rule.ea_len = n;
			have[2] = true;
			break;
		case 'o':
			if (parse_u32(optarg, 0, 15, &n))
				return bad("--psid-offset (0..15)", optarg);
			rule.psid_offset = n;
			have[3] = true;
			break;
		case 'q':
			if (parse_u32(optarg, 0, 16, &n))
				return bad("--psid-len (0..16)", optarg);
			rule.psid_len = (int)n;
			break;
		case 'P':
			if (parse_u32(optarg, 0, 65535, &psid))
				return bad("--psid (0..65535)", optarg);
			have_psid = true;
			break;
		case 'i':
			if (!strcmp(optarg, "rfc7597"))
				rule.iid = MAPE_IID_RFC7597;
			else if (!strcmp(optarg, "draft03"))
				rule.iid = MAPE_IID_DRAFT03;
			else
				return bad("--iid (rfc7597 or draft03)", optarg);
			have_iid = true;
			break;
		case 'b':
			if (inet_pton(AF_INET6, optarg, &br) != 1)
				return bad("--br (an IPv6 address)", optarg);
			have_br = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "uplinkctl mape: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!have_prefix) {
		fprintf(stderr, "uplinkctl mape: --prefix is required\n");
		return 2;
	}
	manual = have[0] + have[1] + have[2] + have[3];
	if (manual && manual != 4) {
		fprintf(stderr, "uplinkctl mape: an explicit rule needs all of --rule-v6, --rule-v4, --ea-len and --psid-offset\n");
		return 2;
	}
	if (have_psid && rule.psid_len < 0) {
		fprintf(stderr, "uplinkctl mape: --psid needs --psid-len\n");
		return 2;
	}
	if (!manual) {
		int psid_len = rule.psid_len;
		enum mape_iid iid = rule.iid;

		if (mape_rule_lookup(&prefix, &rule, &service, &err)) {
			fprintf(stderr, "uplinkctl mape: %s\n", err.msg);
			return 1;
		}
		rule.psid_len = psid_len;
		if (have_iid)
			rule.iid = iid;
	}
	if (have_br) {
		rule.has_br = true;
		rule.br = br;
	}
	if (have_psid) {
		rule.has_psid = true;
		rule.psid = psid;
	}
	if (mape_compute(&rule, &prefix, &res, &err)) {
		fprintf(stderr, "uplinkctl mape: %s\n", err.msg);
		return 1;
	}
	if (json)
		print_json(&res, &rule, service);
	else
		print_human(&res, &rule, service);
	return 0;
}
