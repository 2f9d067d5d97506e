/*
 * ct_probe: lib/conntrack.c against the running kernel, for tests/integration/t_conntrack.sh.
 * Run it only inside a network namespace of your own: flush deletes conntrack entries of the
 * namespace it runs in.
 *
 *   ct_probe flush [--nat4 ADDR] [--mark MARK --mask MASK] [--oif NAME]
 *       prints "deleted N in T ms"
 *   ct_probe usage ADDR
 *       prints "entries N tcp N udp N icmp N"
 *
 * Errors go to stderr as "ct_probe: <the library's message>", exit status 1; usage errors 2.
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
#include "conntrack.h"

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ct_probe: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static int parse_ipv4(const char *s, struct in_addr *out)
{
	return inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

static int cmd_flush(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nat4", required_argument, NULL, 'n' },
		{ "mark", required_argument, NULL, 'm' },
		{ "mask", required_argument, NULL, 'k' },
		{ "oif", required_argument, NULL, 'o' },
		{ 0 },
	};
	struct ct_match m = { 0 };
	bool has_mask = false;
	struct ct_conn *c;
	struct ul_err e;
	unsigned deleted;
	double t0;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (parse_ipv4(optarg, &m.nat4))
				return usage_error("--nat4: not an IPv4 address: %s", optarg);
			m.has_nat4 = true;
			break;
		case 'm':
			if (parse_u32(optarg, 0, UINT32_MAX, &m.mark))
				return usage_error("--mark: not a 32-bit number: %s", optarg);
			m.has_mark = true;
			break;
		case 'k':
			if (parse_u32(optarg, 0, UINT32_MAX, &m.mask))
				return usage_error("--mask: not a 32-bit number: %s", optarg);
			has_mask = true;
			break;
		case 'o':
			strlcpy_ul(m.oif, optarg, sizeof(m.oif));
			break;
		default:
			return 2;
		}
	}
	if (optind != argc)
		return usage_error("flush: unexpected argument %s", argv[optind]);
	if (m.has_mark != has_mask)
		return usage_error("flush: --mark and --mask go together");
	if (ct_open(&c, &e)) {
		fprintf(stderr, "ct_probe: %s\n", e.msg);
		return 1;
	}
	t0 = now_ms();
	err = ct_flush(c, &m, &deleted, &e);
	if (err)
		fprintf(stderr, "ct_probe: %s (after %u deleted)\n", e.msg, deleted);
	else
		printf("deleted %u in %.1f ms\n", deleted, now_ms() - t0);
	ct_close(c);
	return err ? 1 : 0;
}

static int cmd_usage(int argc, char **argv)
{
	struct in_addr addr;
	struct ct_usage u;
	struct ct_conn *c;
	struct ul_err e;
	int err;

	if (argc != 2)
		return usage_error("usage: ct_probe usage ADDR");
	if (parse_ipv4(argv[1], &addr))
		return usage_error("usage: not an IPv4 address: %s", argv[1]);
	if (ct_open(&c, &e)) {
		fprintf(stderr, "ct_probe: %s\n", e.msg);
		return 1;
	}
	err = ct_usage(c, &addr, &u, &e);
	if (err)
		fprintf(stderr, "ct_probe: %s\n", e.msg);
	else
		printf("entries %u tcp %u udp %u icmp %u\n", u.entries, u.tcp, u.udp, u.icmp);
	ct_close(c);
	return err ? 1 : 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "flush", cmd_flush, "[--nat4 ADDR] [--mark MARK --mask MASK] [--oif NAME]" },
	{ "usage", cmd_usage, "ADDR" },
};

int main(int argc, char **argv)
{
	if (argc >= 2) {
		for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
			if (!strcmp(argv[1], commands[i].name))
				return commands[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "usage:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(stderr, "  ct_probe %s %s\n", commands[i].name, commands[i].help);
	return 2;
}
