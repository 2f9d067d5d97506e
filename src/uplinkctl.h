/* Shared by uplinkctl's subcommands. */
#ifndef UPLINKCTL_H
#define UPLINKCTL_H

#include <stdbool.h>

#include "config.h"

#define DEFAULT_CONFIG SYSCONFDIR "/uplinkd/uplinkd.conf"
#define DEFAULT_RUN_DIR "/run/uplinkd"

int cmd_check(int argc, char **argv);
int cmd_mape(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_ifchange(int argc, char **argv);
int cmd_transix_update(int argc, char **argv);
int ctl_send_update(const struct cfg_uplink *u, const struct in6_addr *local, struct ul_err *e);
int cmd_admin(int argc, char **argv, bool down);

/*
 * Sends one request to a running uplinkd and prints its answer.  *present says whether a daemon
 * answered; returns 0 for OK, 1 for FAIL, 2 for a broken conversation.
 */
int ctl_request(const char *run_dir, const char *request, bool *present);

/* Loads a config, printing every diagnostic to stderr; NULL on errors. */
struct config *ctl_load_config(const char *path);
void ctl_print_out(const char *s);

#endif
