/*
 * What uplinkd owns in the kernel beyond what the kernel itself marks (routes and rules carry
 * uplinkd's protocol number, its links an "uplinkd" alias, its nftables table its name): the
 * links it created, the addresses it added, and the original values of the settings it changed
 * (sysctls, tokens, MTUs), so that `down` restores the kernel as it was.  Kept in
 * RUN_DIR/state, mode 0600.
 */
#ifndef UPLINK_STATE_H
#define UPLINK_STATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "util.h"

#define STATE_ALIAS "uplinkd"

struct own_link {
	char name[IFNAMSIZ];
};

struct own_addr {
	char dev[IFNAMSIZ];
	struct ip_prefix addr;
};

struct own_setting {
	char key[96];            /* sysctl path, or device name */
	char old[64];            /* the value before uplinkd changed it */
};

struct own_settings {
	struct own_setting *v;
	size_t n, cap;
};

struct own_update {
	char uplink[40];
	struct in6_addr local;   /* the address the last successful update registered */
};

struct own_state {
	uint32_t protocol;                 /* the route/rule protocol used, 0: unknown */
	char nft_table[32];                /* the nftables table used, "": unknown */
	VEC(struct own_link) links;
	VEC(struct own_addr) addrs;
	struct own_settings sysctls;       /* key: path under /proc/sys */
	struct own_settings tokens;        /* key: device, old: token */
	struct own_settings mtus;          /* key: device, old: MTU */
	struct own_settings ups;           /* key: device uplinkd set up */
	VEC(struct own_update) updates;
};

/* A missing file is an empty state. */
int state_load(const char *run_dir, struct own_state *s, struct ul_err *e);
int state_save(const char *run_dir, const struct own_state *s, struct ul_err *e);
int state_remove(const char *run_dir, struct ul_err *e);
void state_free(struct own_state *s);
int state_copy(struct own_state *dst, const struct own_state *src);

bool state_owns_link(const struct own_state *s, const char *name);
int state_add_link(struct own_state *s, const char *name);
void state_del_link(struct own_state *s, const char *name);
bool state_owns_addr(const struct own_state *s, const char *dev, const struct ip_prefix *a);
int state_add_addr(struct own_state *s, const char *dev, const struct ip_prefix *a);
void state_del_addr(struct own_state *s, const char *dev, const struct ip_prefix *a);
/* A deleted link takes its addresses with it. */
void state_del_dev_addrs(struct own_state *s, const char *dev);

/* Records the original value of a setting the first time uplinkd changes it. */
int state_remember(struct own_settings *v, const char *key, const char *old);
const struct own_setting *state_find(const struct own_settings *v, const char *key);
void state_forget(struct own_settings *v, const char *key);
/* The device a setting belongs to: the key of a token/MTU/up, DEV of net/ipv?/conf/DEV/...; "" if none. */
const char *state_setting_dev(const char *key, char *buf, size_t n);
/* A deleted device has nothing left to restore: forget its settings. */
void state_forget_dev(struct own_state *s, const char *dev);

const struct own_update *state_update(const struct own_state *s, const char *uplink);
int state_set_update(struct own_state *s, const char *uplink, const struct in6_addr *local);

#endif
