/* uplinkd: applies the configuration at boot and keeps the kernel matching it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/uplinkd/uplinkd.conf"
#define DEFAULT_RUN_DIR "/run/uplinkd"

static void usage(FILE *f)
{
	fprintf(f, "Usage: uplinkd [-c FILE] [--run-dir DIR] [-n | --oneshot] [--log TARGET] [-v]\n"
		   "  -c FILE        the configuration (default %s)\n"
		   "  --run-dir DIR  state and control socket (default %s)\n"
		   "  -n             check the configuration and exit\n"
		   "  --oneshot      apply the configuration once and exit\n"
		   "  --log TARGET   stderr, syslog, journal (default: journal under systemd,\n"
		   "                 stderr on a terminal, syslog otherwise)\n"
		   "  -v             log debug messages too\n", DEFAULT_CONFIG, DEFAULT_RUN_DIR);
}

static enum log_target pick_log(const char *want)
{
	if (want && !strcmp(want, "stderr"))
		return LOG_TO_STDERR;
	if (want && !strcmp(want, "syslog"))
		return LOG_TO_SYSLOG;
	if (want && !strcmp(want, "journal"))
		return LOG_TO_JOURNAL;
	if (getenv("JOURNAL_STREAM"))
		return LOG_TO_JOURNAL;
	return isatty(STDERR_FILENO) ? LOG_TO_STDERR : LOG_TO_SYSLOG;
}

static struct config *load(const char *path)
{
	struct cfg_diags diags;
	struct config *cfg = cfg_load(path, &diags);

	for (size_t i = 0; i < diags.n; i++) {
		if (diags.v[i].warning)
			log_warn("%s", diags.v[i].text);
		else
			log_err("%s", diags.v[i].text);
	}
	cfg_diags_free(&diags);
	return cfg;
}

static void print_change(void *arg, const char *line)
{
	(void)arg;
	log_info("change: %s", line);
}

static int oneshot(struct config *cfg, const char *run_dir)
{
	struct apply_opts o = { .run_dir = run_dir, .on_change = print_change,
				.send_update = updates_send_sync };
	struct apply_result res;
	struct applier a;
	struct ul_err e = { "" };
	struct plan plan;
	int r;

	r = applier_open(&a, &e);
	if (!r)
		r = apply_run(&a, cfg, &o, &plan, &res, &e);
	if (r) {
		log_err("apply: %s", e.msg);
	} else {
		log_notice("applied: %u change%s", res.changes, res.changes == 1 ? "" : "s");
		plan_free(&plan);
	}
	applier_close(&a);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "check", no_argument, NULL, 'n' },
		{ "oneshot", no_argument, NULL, 'o' },
		{ "log", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct daemon d = { .config_path = DEFAULT_CONFIG, .run_dir = DEFAULT_RUN_DIR };
	const char *log_want = NULL;
	bool check_only = false, once = false;
	int c, r, level = LOG_INFO;
	struct ul_err e = { "" };

	while ((c = getopt_long(argc, argv, "c:nvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'r':
			d.run_dir = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'o':
			once = true;
			break;
		case 'l':
			log_want = optarg;
			if (strcmp(optarg, "stderr") && strcmp(optarg, "syslog") && strcmp(optarg, "journal")) {
				fprintf(stderr, "uplinkd: --log must be stderr, syslog or journal\n");
				return 2;
			}
			break;
		case 'v':
			level = LOG_DEBUG;
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
		fprintf(stderr, "uplinkd: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	log_init("uplinkd", check_only ? LOG_TO_STDERR : pick_log(log_want), level);
	d.cfg = load(d.config_path);
	if (!d.cfg)
		return 1;
	if (check_only) {
		printf("configuration OK\n");
		cfg_free(d.cfg);
		return 0;
	}
	umask(077);
	if (once) {
		updates_set_config(d.config_path);
		r = oneshot(d.cfg, d.run_dir);
		cfg_free(d.cfg);
		return r;
	}

	d.started_ms = now_ms();
	d.ctl.fd = d.rtnl_ev.fd = d.nft_ev.fd = -1;
	r = loop_init(&d);
	if (r) {
		log_err("cannot set up the event loop: %s", strerror(-r));
		return 1;
	}
	r = ctl_open(&d);
	if (r)
		return 1;
	r = applier_open(&d.ap, &e);
	if (r) {
		log_err("%s", e.msg);
		ctl_close(&d);
		return 1;
	}
	kernel_linux_portids(d.ap.k, &d.rtnl_portid, &d.nft_portid);
	/* Subscribe before the first reconcile, so nothing that happens during it is missed. */
	if (events_open(&d) || daemon_init_runtime(&d) || dns_init(&d)) {
		ctl_close(&d);
		return 1;
	}
	log_notice("starting with %s: %zu uplinks, %zu policies", d.config_path, d.cfg->n_uplinks,
		   d.cfg->n_policies);
	dns_resolve_all(&d);
	daemon_reconcile(&d, "start");
	health_start(&d);
	notify("READY=1");

	r = loop_run(&d);

	notify("STOPPING=1");
	if (d.torn_down)
		log_notice("stopped after uplinkctl down: nothing of uplinkd is left in the kernel");
	else
		log_notice("stopped; the kernel keeps its routes (uplinkctl down removes them)");
	daemon_free_runtime(&d);
	dns_close(&d);
	events_close(&d);
	ctl_close(&d);
	if (d.have_plan)
		plan_free(&d.plan);
	applier_close(&d.ap);
	cfg_free(d.cfg);
	free(d.config_owned);
	return r ? 1 : 0;
}
