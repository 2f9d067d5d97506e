/* Shared by uplinkctl's subcommands. */
#ifndef UPLINKCTL_H
#define UPLINKCTL_H

#include "config.h"

#define DEFAULT_CONFIG SYSCONFDIR "/uplinkd/uplinkd.conf"
#define DEFAULT_RUN_DIR "/run/uplinkd"

int cmd_check(int argc, char **argv);
int cmd_mape(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_down(int argc, char **argv);

/* Loads a config, printing every diagnostic to stderr; NULL on errors. */
struct config *ctl_load_config(const char *path);
void ctl_print_out(const char *s);

#endif
