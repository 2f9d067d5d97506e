/* uplinkctl check [-c FILE] [-v] */
#include <getopt.h>
#include <stdio.h>

#include "uplinkctl.h"

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = DEFAULT_CONFIG;
	bool verbose = false;
	struct config *cfg;
	int c;

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			printf("Usage: uplinkctl check [-c FILE] [-v]\n"
			       "  -c FILE  the configuration (default %s)\n"
			       "  -v       print the normalised configuration (secrets masked)\n", DEFAULT_CONFIG);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "uplinkctl check: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	cfg = ctl_load_config(path);
	if (!cfg)
		return 1;
	if (verbose) {
		struct strbuf sb = { 0 };

		cfg_print(cfg, &sb);
		ctl_print_out(sb.s);
		sb_free(&sb);
	}
	printf("configuration OK\n");
	cfg_free(cfg);
	return 0;
}
