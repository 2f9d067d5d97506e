/* uplinkctl: check, explain, plan and apply the uplinkd configuration. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "uplinkctl.h"
#include "util.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "check", cmd_check, "validate the configuration" },
	{ "mape", cmd_mape, "compute a MAP-E mapping (IPv4, PSID, port sets, CE address)" },
	{ "plan", cmd_plan, "print the desired kernel state without touching the kernel" },
	{ "apply", cmd_apply, "converge the kernel to the configuration (through uplinkd if it runs)" },
	{ "status", cmd_status, "what every uplink is doing (from uplinkd)" },
	{ "up", cmd_up, "put an uplink back in use (uplinkd)" },
	{ "ifchange", cmd_ifchange, "an interface changed (for the ifupdown hook)" },
	{ "down", cmd_down, "remove everything uplinkd installed; with UPLINK: take it out of use" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: uplinkctl COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nRun uplinkctl COMMAND --help for its options.\n");
}

int main(int argc, char **argv)
{
	log_init("uplinkctl", LOG_TO_STDERR, LOG_INFO);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	}
	/* not listed: uplinkd's helper */
	if (!strcmp(argv[1], "transix-update"))
		return cmd_transix_update(argc - 1, argv + 1);
	fprintf(stderr, "uplinkctl: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 2;
}
