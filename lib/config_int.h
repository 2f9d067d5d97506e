/* Internals shared by config.c (structure, cross-checks) and config_keys.c (key table). */
#ifndef UPLINK_CONFIG_INT_H
#define UPLINK_CONFIG_INT_H

#include "config.h"

enum cfg_section_kind {
	SEC_GLOBAL,
	SEC_UPLINK,
	SEC_POLICY,
};

/* One key = value being applied; everything a message needs to say where it is. */
struct cfg_ctx {
	struct config *cfg;
	struct cfg_diags *diags;
	const char *path;
	const char *section;   /* display form: "uplink v6plus" */
	const char *key;
	unsigned line;
};

/*
 * A key handler parses value into obj (struct config, cfg_uplink or cfg_policy).  On a bad
 * value it returns -EINVAL and leaves the reason in err (no file/line: the caller adds them).
 */
typedef int (*cfg_key_fn)(struct cfg_ctx *ctx, void *obj, const char *value, struct ul_err *err);

struct cfg_key {
	const char *name;
	enum cfg_section_kind section;
	unsigned types;    /* SEC_UPLINK: bit mask of 1 << enum cfg_uplink_type */
	cfg_key_fn parse;
};

#define T(x) (1u << (x))
#define T_ALL ((1u << CFG_TYPE_COUNT) - 1)

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_key_count;

const struct cfg_key *cfg_key_find(enum cfg_section_kind sec, const char *name);
/* The valid key closest to name (edit distance <= 3), or NULL. */
const char *cfg_key_suggest(enum cfg_section_kind sec, const char *name);

void cfg_diag_add(struct cfg_diags *d, bool warning, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "FILE:LINE: [section] key: reason" (key may be NULL). */
void cfg_error(struct cfg_ctx *ctx, unsigned line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void cfg_warn(struct cfg_ctx *ctx, unsigned line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

int cfg_parse_type(const char *value, enum cfg_uplink_type *t);
void cfg_uplink_defaults(struct cfg_uplink *u);
void cfg_global_defaults(struct config *cfg);

#endif
