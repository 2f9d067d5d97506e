/*
 * uplinkctl apply [-c FILE] [--run-dir DIR] [--dry-run]
 * uplinkctl down  [-c FILE] [--run-dir DIR] [--dry-run]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "apply.h"
#include "transix.h"
#include "uplinkctl.h"

static void print_change(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

static int run(int argc, char **argv, bool down)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = DEFAULT_CONFIG, *cmd = down ? "down" : "apply";
	struct apply_opts o = { .run_dir = DEFAULT_RUN_DIR, .on_change = print_change,
				.send_update = ctl_send_update };
	struct apply_result res;
	struct applier a;
	struct config *cfg = NULL;
	struct ul_err e = { "" };
	struct plan plan;
	bool path_given = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			path_given = true;
			break;
		case 'r':
			o.run_dir = optarg;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case 'h':
			printf("Usage: uplinkctl %s [-c FILE] [--run-dir DIR] [--dry-run]\n", cmd);
			if (down)
				printf("  Removes everything uplinkd installed and restores what it changed.\n"
				       "  With uplinkd running, uplinkd does it and then stops (systemd shows it\n"
				       "  stopped; start it again to rebuild).\n"
				       "  (uplinkctl down UPLINK takes one uplink out of use instead.)\n");
			else
				printf("  Converges the kernel to the configuration and prints each change.\n");
			printf("  -c FILE        the configuration (default %s)\n"
			       "  --run-dir DIR  uplinkd's state (default %s)\n"
			       "  --dry-run      print the changes, make none\n", DEFAULT_CONFIG, DEFAULT_RUN_DIR);
			return 0;
		default:
			return 2;
		}
	}
	if (down && optind + 1 == argc) {
		optind = 0; /* glibc: 0 restarts getopt from scratch for cmd_admin's own options */
		return cmd_admin(argc, argv, true);
	}
	if (optind != argc) {
		fprintf(stderr, "uplinkctl %s: unexpected argument \"%s\"\n", cmd, argv[optind]);
		return 2;
	}
	/* down works from the state file alone; a broken config must not keep it from running */
	if (!down || path_given || access(path, R_OK) == 0) {
		cfg = ctl_load_config(path);
		if (!cfg && !down)
			return 1;
	}
	if (o.dry_run)
		o.send_update = NULL;
	/* A running daemon owns the kernel state: it removes everything and stops. */
	if (down && !o.dry_run) {
		bool present;

		r = ctl_request(o.run_dir, "teardown", &present);
		if (present) {
			cfg_free(cfg);
			return r ? 1 : 0;
		}
	}
	/* A running daemon owns the kernel state: it reloads, and its answer is ours. */
	if (!down && !o.dry_run) {
		char request[PATH_MAX + 16], full[PATH_MAX];
		bool present;

		snprintf(request, sizeof(request), "reload %s", realpath(path, full) ? full : path);
		r = ctl_request(o.run_dir, request, &present);
		if (present) {
			cfg_free(cfg);
			return r ? 1 : 0;
		}
	}
	r = applier_open(&a, &e);
	if (r) {
		fprintf(stderr, "uplinkctl %s: %s\n", cmd, e.msg);
		cfg_free(cfg);
		return 1;
	}
	if (down)
		r = apply_down(&a, cfg, &o, &res, &e);
	else
		r = apply_run(&a, cfg, &o, &plan, &res, &e);
	if (r) {
		fprintf(stderr, "uplinkctl %s: %s\n", cmd, e.msg[0] ? e.msg : strerror(-r));
		if (!o.dry_run)
			fprintf(stderr, "uplinkctl %s: nothing was changed%s\n", cmd,
				res.changes ? " (the changes made were undone)" : "");
	} else {
		unsigned broken = 0;

		if (!down) {
			for (size_t i = 0; i < cfg->n_uplinks; i++) {
				const struct plan_uplink *pu = &plan.uplinks[i];
				/* left out for a missing device or a refusal: the operator must act */
				bool fault = pu->excluded && pu->state != PLAN_DISABLED;

				if (pu->state == PLAN_UP)
					continue;
				fprintf(fault ? stderr : stdout, "%suplink %s: %s (%s)\n",
					fault ? "uplinkctl apply: " : "", pu->cfg->name,
					plan_state_name(pu->state), pu->reason);
				broken += fault;
			}
			plan_free(&plan);
		}
		printf("%s: %u change%s\n", o.dry_run ? "would apply" : down ? "removed" : "applied",
		       res.changes, res.changes == 1 ? "" : "s");
		if (broken)
			fprintf(stderr, "uplinkctl apply: %u uplink%s left out; everything else was applied\n",
				broken, broken == 1 ? "" : "s");
		if (broken)
			r = -EAGAIN;
	}
	applier_close(&a);
	cfg_free(cfg);
	return r ? 1 : 0;
}

int cmd_apply(int argc, char **argv)
{
	return run(argc, argv, false);
}

int cmd_down(int argc, char **argv)
{
	return run(argc, argv, true);
}

/* uplinkctl ifchange [-c FILE] [--run-dir DIR] IFACE: from the ifupdown hook. */
int cmd_ifchange(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = DEFAULT_CONFIG, *run_dir = DEFAULT_RUN_DIR;
	struct apply_opts o = { .on_change = print_change, .send_update = ctl_send_update };
	struct apply_result res;
	struct config *cfg;
	struct applier a;
	struct ul_err e = { "" };
	struct plan plan;
	char request[64];
	bool present;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 'h':
			printf("Usage: uplinkctl ifchange [-c FILE] [--run-dir DIR] IFACE\n"
			       "  IFACE changed (the ifupdown hook calls this): uplinkd reconciles, or, with no\n"
			       "  uplinkd running, the configuration is applied once if it uses IFACE.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc || strlen(argv[optind]) >= IFNAMSIZ) {
		fprintf(stderr, "uplinkctl ifchange: needs one interface name\n");
		return 2;
	}
	snprintf(request, sizeof(request), "ifchange %s", argv[optind]);
	r = ctl_request(run_dir, request, &present);
	if (present)
		return r ? 1 : 0;
	cfg = ctl_load_config(path);
	if (!cfg)
		return 1;
	if (!cfg_uses_interface(cfg, argv[optind])) {
		cfg_free(cfg);
		return 0;
	}
	o.run_dir = run_dir;
	r = applier_open(&a, &e);
	if (!r)
		r = apply_run(&a, cfg, &o, &plan, &res, &e);
	if (r) {
		fprintf(stderr, "uplinkctl ifchange: %s\n", e.msg);
	} else {
		printf("applied: %u change%s\n", res.changes, res.changes == 1 ? "" : "s");
		plan_free(&plan);
	}
	applier_close(&a);
	cfg_free(cfg);
	return r ? 1 : 0;
}

int ctl_send_update(const struct cfg_uplink *u, const struct in6_addr *local, struct ul_err *e)
{
	return transix_update(u->update_url, u->user, u->password_file, local, 5000, e);
}

/*
 * uplinkctl transix-update -c FILE UPLINK ADDRESS: the update request for UPLINK from ADDRESS.
 * uplinkd runs this (so that the daemon itself does not carry libcurl); the password is read
 * from its file here, never passed.  Prints the reason on failure.
 */
int cmd_transix_update(int argc, char **argv)
{
	struct cfg_uplink *u;
	struct config *cfg;
	struct in6_addr local;
	struct ul_err e = { "" };
	int r;

	if (argc != 5 || strcmp(argv[1], "-c") || inet_pton(AF_INET6, argv[4], &local) != 1) {
		fprintf(stderr, "usage: uplinkctl transix-update -c FILE UPLINK ADDRESS\n");
		return 2;
	}
	cfg = ctl_load_config(argv[2]);
	if (!cfg)
		return 1;
	u = cfg_find_uplink(cfg, argv[3]);
	if (!u || u->type != CFG_IPIP6 || !u->update_url) {
		printf("no update request is configured for \"%s\"\n", argv[3]);
		cfg_free(cfg);
		return 1;
	}
	r = transix_update(u->update_url, u->user, u->password_file, &local, 10000, &e);
	if (r)
		printf("%s\n", e.msg);
	cfg_free(cfg);
	return r ? 1 : 0;
}
