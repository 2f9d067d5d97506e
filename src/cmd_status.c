/*
 * uplinkctl status [-j] [--run-dir DIR]
 * uplinkctl up UPLINK | uplinkctl down UPLINK   (administrative state, kept by uplinkd)
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "uplinkctl.h"

static int parse_run_dir(int argc, char **argv, const char **run_dir, bool *json, const char *usage)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			*run_dir = optarg;
			break;
		case 'j':
			if (!json)
				return 2;
			*json = true;
			break;
		case 'h':
			printf("%s", usage);
			return -1;
		default:
			return 2;
		}
	}
	return 0;
}

int cmd_status(int argc, char **argv)
{
	const char *run_dir = DEFAULT_RUN_DIR;
	bool json = false, present;
	int r = parse_run_dir(argc, argv, &run_dir, &json,
			      "Usage: uplinkctl status [-j] [--run-dir DIR]\n"
			      "  What every uplink is doing, from the running uplinkd (-j: JSON).\n");

	if (r)
		return r < 0 ? 0 : r;
	if (optind != argc) {
		fprintf(stderr, "uplinkctl status: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	r = ctl_request(run_dir, json ? "status json" : "status", &present);
	if (!present && r == 0) {
		fprintf(stderr, "uplinkctl status: uplinkd is not running (no %s/control)\n", run_dir);
		return 1;
	}
	return r;
}

int cmd_admin(int argc, char **argv, bool down)
{
	const char *run_dir = DEFAULT_RUN_DIR;
	char request[128];
	bool present;
	int r = parse_run_dir(argc, argv, &run_dir, NULL,
			      down ? "Usage: uplinkctl down UPLINK [--run-dir DIR]\n"
				     "  Takes UPLINK out of use until `uplinkctl up UPLINK`.\n"
				   : "Usage: uplinkctl up UPLINK [--run-dir DIR]\n"
				     "  Puts UPLINK back in use after `uplinkctl down UPLINK`.\n");

	if (r)
		return r < 0 ? 0 : r;
	if (optind + 1 != argc) {
		fprintf(stderr, "uplinkctl %s: needs one uplink name\n", down ? "down" : "up");
		return 2;
	}
	snprintf(request, sizeof(request), "%s %s", down ? "down" : "up", argv[optind]);
	r = ctl_request(run_dir, request, &present);
	if (!present && r == 0) {
		fprintf(stderr, "uplinkctl %s: uplinkd is not running; the administrative state of an uplink lives in the daemon\n",
			down ? "down" : "up");
		return 1;
	}
	return r;
}

int cmd_up(int argc, char **argv)
{
	return cmd_admin(argc, argv, false);
}
