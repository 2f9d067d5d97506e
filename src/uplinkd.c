/* uplinkd: applies the configuration at boot and keeps the kernel matching it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/uplinkd/uplinkd.conf"

static void usage(FILE *f)
{
	fprintf(f, "Usage: uplinkd [-c FILE] -n\n"
		   "  -c FILE  the configuration (default %s)\n"
		   "  -n       check the configuration and exit\n", DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = DEFAULT_CONFIG;
	bool check_only = false;
	struct cfg_diags diags;
	struct config *cfg;
	int c;

	log_init("uplinkd", LOG_TO_STDERR, LOG_INFO);
	while ((c = getopt_long(argc, argv, "c:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	cfg = cfg_load(path, &diags);
	for (size_t i = 0; i < diags.n; i++)
		fprintf(stderr, "%s\n", diags.v[i].text);
	cfg_diags_free(&diags);
	if (!cfg)
		return 1;
	if (check_only) {
		printf("configuration OK\n");
		cfg_free(cfg);
		return 0;
	}
	cfg_free(cfg);
	log_err("only -n is available in this build");
	return 2;
}
