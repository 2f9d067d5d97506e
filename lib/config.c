/* Loading and validating the configuration: structure, per-uplink rules, cross-references. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iniparser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"
#include "ini.h"

#define DEFAULT_UPDATE_URL "http://update.transix.jp/request"
#define DEFAULT_AFTR "gw.transix.jp"

void cfg_diag_add(struct cfg_diags *d, bool warning, unsigned line, const char *fmt, ...)
{
	struct cfg_diag *nv;
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (!text)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;

		nv = realloc(d->v, cap * sizeof(*nv));
		if (!nv) {
			free(text);
			return;
		}
		d->v = nv;
		d->cap = cap;
	}
	d->v[d->n] = (struct cfg_diag){ .text = text, .line = line, .seq = (unsigned)d->n,
					.warning = warning };
	d->n++;
	if (warning)
		d->warnings++;
	else
		d->errors++;
}

static void vdiag(struct cfg_ctx *ctx, bool warning, unsigned line, const char *key,
		  const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void vdiag(struct cfg_ctx *ctx, bool warning, unsigned line, const char *key,
		  const char *fmt, va_list ap)
{
	char reason[1024];

	vsnprintf(reason, sizeof(reason), fmt, ap);
	if (!ctx->section)
		cfg_diag_add(ctx->diags, warning, line, "%s:%u: %s%s", ctx->path, line,
			     warning ? "warning: " : "", reason);
	else if (key)
		cfg_diag_add(ctx->diags, warning, line, "%s:%u: [%s] %s: %s%s", ctx->path, line,
			     ctx->section, key, warning ? "warning: " : "", reason);
	else
		cfg_diag_add(ctx->diags, warning, line, "%s:%u: [%s]: %s%s", ctx->path, line,
			     ctx->section, warning ? "warning: " : "", reason);
}

void cfg_error(struct cfg_ctx *ctx, unsigned line, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(ctx, false, line, key, fmt, ap);
	va_end(ap);
}

void cfg_warn(struct cfg_ctx *ctx, unsigned line, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(ctx, true, line, key, fmt, ap);
	va_end(ap);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct cfg_diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void cfg_diags_free(struct cfg_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].text);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* ---- helpers for per-section checks ---- */

static unsigned key_index(enum cfg_section_kind sec, const char *name)
{
	const struct cfg_key *k = cfg_key_find(sec, name);

	return k ? (unsigned)(k - cfg_keys) : 0;
}

/* Line of a key in an object, or fallback (the section's line) when not given. */
static unsigned kline(const unsigned *key_line, enum cfg_section_kind sec, const char *name,
		      unsigned fallback)
{
	unsigned l = key_line[key_index(sec, name)];

	return l ? l : fallback;
}

static bool given(const unsigned *key_line, enum cfg_section_kind sec, const char *name)
{
	return key_line[key_index(sec, name)] != 0;
}

#define UGIVEN(u, k) given((u)->key_line, SEC_UPLINK, k)
#define ULINE(u, k) kline((u)->key_line, SEC_UPLINK, k, (u)->line)
#define PGIVEN(p, k) given((p)->key_line, SEC_POLICY, k)
#define PLINE(p, k) kline((p)->key_line, SEC_POLICY, k, (p)->line)

static bool valid_name(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > 32 || !isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	}
	return true;
}

static void set_uplink_ctx(struct cfg_ctx *ctx, const struct cfg_uplink *u, char *buf, size_t len)
{
	snprintf(buf, len, "uplink %s", u->name);
	ctx->section = buf;
}

static void set_policy_ctx(struct cfg_ctx *ctx, const struct cfg_policy *p, char *buf, size_t len)
{
	snprintf(buf, len, "policy %s", p->name);
	ctx->section = buf;
}

static const char *types_list(unsigned mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned t = 0; t < CFG_TYPE_COUNT; t++) {
		if (mask & T(t))
			off += snprintf(buf + off, off < len ? len - off : 0, "%s%s", off ? ", " : "",
					cfg_type_name((enum cfg_uplink_type)t));
	}
	return buf;
}

/* ---- section structure ---- */

struct section_ref {
	enum cfg_section_kind kind;
	void *obj;               /* config, uplink or policy; NULL = ignore its keys */
	const char *display;
	unsigned line;
	bool type_known;         /* uplinks: type parsed */
};

static int classify_sections(struct config *cfg, struct cfg_ctx *ctx, struct ini_file *ini,
			     struct section_ref *refs)
{
	size_t n_up = 0, n_pol = 0;

	for (size_t i = 0; i < ini->n_sections; i++) {
		const char *name = ini->sections[i].name;

		if (!strncmp(name, "uplink ", 7))
			n_up++;
		else if (!strncmp(name, "policy ", 7))
			n_pol++;
	}
	cfg->uplinks = calloc(n_up ? n_up : 1, sizeof(*cfg->uplinks));
	cfg->policies = calloc(n_pol ? n_pol : 1, sizeof(*cfg->policies));
	if (!cfg->uplinks || !cfg->policies)
		return -ENOMEM;

	for (size_t i = 0; i < ini->n_sections; i++) {
		struct ini_section *s = &ini->sections[i];
		struct section_ref *r = &refs[i];
		const char *rest;

		r->display = s->name;
		r->line = s->line;
		ctx->section = s->name;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(ini->sections[j].name, s->name)) {
				cfg_error(ctx, s->line, NULL, "duplicate section (first at line %u)",
					  ini->sections[j].line);
				r->obj = NULL;
				goto next;
			}
		}
		if (!strcmp(s->name, "global")) {
			r->kind = SEC_GLOBAL;
			r->obj = cfg;
			continue;
		}
		if (!strncmp(s->name, "uplink", 6) || !strncmp(s->name, "policy", 6)) {
			bool up = s->name[0] == 'u';

			rest = s->name + 6;
			if (*rest != ' ' || !rest[1]) {
				cfg_error(ctx, s->line, NULL, "needs a name: [%s NAME]", up ? "uplink" : "policy");
				goto next;
			}
			rest++;
			if (!valid_name(rest)) {
				cfg_error(ctx, s->line, NULL,
					  "invalid name \"%s\": use up to 32 letters, digits, '_', '-' or '.'",
					  rest);
				goto next;
			}
			if (up) {
				struct cfg_uplink *u = &cfg->uplinks[cfg->n_uplinks];

				u->index = cfg->n_uplinks++;
				u->name = strdup(rest);
				u->line = s->line;
				if (!u->name)
					return -ENOMEM;
				r->kind = SEC_UPLINK;
				r->obj = u;
			} else {
				struct cfg_policy *p = &cfg->policies[cfg->n_policies];

				p->index = cfg->n_policies++;
				p->name = strdup(rest);
				p->line = s->line;
				if (!p->name)
					return -ENOMEM;
				r->kind = SEC_POLICY;
				r->obj = p;
			}
			continue;
		}
		{
			const char *sugg = "[global], [uplink NAME] or [policy NAME]";
			char buf[64];

			if (edit_distance(s->name, "global") <= 2)
				sugg = "[global]";
			else if (strchr(s->name, ' ')) {
				size_t wl = strcspn(s->name, " ");

				snprintf(buf, sizeof(buf), "%.*s", (int)wl, s->name);
				if (edit_distance(buf, "uplink") <= 2)
					snprintf(buf, sizeof(buf), "[uplink %.40s]", s->name + wl + 1), sugg = buf;
				else if (edit_distance(buf, "policy") <= 2)
					snprintf(buf, sizeof(buf), "[policy %.40s]", s->name + wl + 1), sugg = buf;
			}
			cfg_error(ctx, s->line, NULL, "unknown section; did you mean %s?", sugg);
		}
next:
		r->obj = NULL;
	}
	return 0;
}

/* The value iniparser holds for an entry (the scanner's when iniparser refused the file). */
static const char *entry_value(dictionary *dict, const struct ini_entry *e)
{
	char key[2100];

	if (!dict)
		return e->value;
	snprintf(key, sizeof(key), "%s:%s", e->section, e->key);
	return iniparser_getstring(dict, key, e->value);
}

static unsigned *obj_key_lines(struct section_ref *r)
{
	switch (r->kind) {
	case SEC_GLOBAL:
		return ((struct config *)r->obj)->key_line;
	case SEC_UPLINK:
		return ((struct cfg_uplink *)r->obj)->key_line;
	case SEC_POLICY:
		return ((struct cfg_policy *)r->obj)->key_line;
	}
	return NULL;
}

/* Uplinks: the type decides which keys are valid and the defaults, so it is read first. */
static void read_types(struct cfg_ctx *ctx, struct ini_file *ini, dictionary *dict,
		       struct section_ref *refs, const size_t *owner)
{
	for (size_t i = 0; i < ini->n_sections; i++) {
		struct section_ref *r = &refs[i];
		struct cfg_uplink *u = r->obj;
		const struct ini_entry *type = NULL;

		if (!u || r->kind != SEC_UPLINK)
			continue;
		for (size_t j = 0; j < ini->n_entries; j++) {
			if (owner[j] == i && !strcmp(ini->entries[j].key, "type")) {
				type = &ini->entries[j];
				break;
			}
		}
		ctx->section = r->display;
		if (!type) {
			cfg_error(ctx, r->line, "type", "missing (one of pppoe, ipoe, dslite, ipip6, mape, static)");
			continue;
		}
		if (cfg_parse_type(entry_value(dict, type), &u->type))
			continue; /* k_type reports it with the other keys */
		r->type_known = true;
		cfg_uplink_defaults(u);
	}
}

static int apply_entries(struct cfg_ctx *ctx, struct ini_file *ini, dictionary *dict,
			 struct section_ref *refs, const size_t *owner)
{
	for (size_t j = 0; j < ini->n_entries; j++) {
		const struct ini_entry *e = &ini->entries[j];
		struct section_ref *r;
		const struct cfg_key *k;
		unsigned *lines, idx;
		struct ul_err err = { "" };
		int rc;

		if (owner[j] == SIZE_MAX) {
			ctx->section = NULL;
			cfg_error(ctx, e->line, NULL, "\"%s\" is outside of any section", e->key);
			continue;
		}
		r = &refs[owner[j]];
		if (!r->obj)
			continue;
		ctx->section = r->display;
		k = cfg_key_find(r->kind, e->key);
		if (!k) {
			const char *s = cfg_key_suggest(r->kind, e->key);

			if (s)
				cfg_error(ctx, e->line, e->key, "unknown key; did you mean \"%s\"?", s);
			else
				cfg_error(ctx, e->line, e->key, "unknown key");
			continue;
		}
		idx = (unsigned)(k - cfg_keys);
		lines = obj_key_lines(r);
		if (lines[idx]) {
			cfg_error(ctx, e->line, e->key, "duplicate key (first at line %u)", lines[idx]);
			continue;
		}
		lines[idx] = e->line;
		if (r->kind == SEC_UPLINK && strcmp(e->key, "type")) {
			struct cfg_uplink *u = r->obj;
			char tl[80];

			if (!r->type_known)
				continue;
			if (!(k->types & T(u->type))) {
				cfg_error(ctx, e->line, e->key, "not valid for type %s (only for %s)",
					  cfg_type_name(u->type), types_list(k->types, tl, sizeof(tl)));
				continue;
			}
		}
		ctx->key = e->key;
		ctx->line = e->line;
		rc = k->parse(ctx, r->obj, entry_value(dict, e), &err);
		if (rc == -ENOMEM)
			return rc;
		if (rc) {
			cfg_error(ctx, e->line, e->key, "%s", err.msg);
			if (r->kind == SEC_UPLINK)
				((struct cfg_uplink *)r->obj)->n_bad++;
		}
	}
	return 0;
}

/* ---- per-uplink semantics ---- */

static void resolve_path(const char *cfg_path, char **p)
{
	const char *slash;
	char *abs;

	if (!*p || (*p)[0] == '/')
		return;
	slash = strrchr(cfg_path, '/');
	if (!slash)
		return;
	if (asprintf(&abs, "%.*s/%s", (int)(slash - cfg_path), cfg_path, *p) < 0)
		return;
	free(*p);
	*p = abs;
}

/* What uplinkd will do with the file at run time, done now: cfg_read_secret decides. */
static void check_secret(struct cfg_ctx *ctx, struct cfg_uplink *u)
{
	unsigned line = ULINE(u, "password-file");
	struct ul_err e;
	struct stat st;
	int r;

	resolve_path(ctx->path, &u->password_file);
	r = cfg_read_secret(u->password_file, NULL, &e);
	/* uplinkd reads it as root; a check by another user may not be able to */
	if (r == -EACCES && geteuid() != 0) {
		cfg_warn(ctx, line, "password-file", "%s (checked as uid %u; uplinkd reads it as root)",
			 e.msg, (unsigned)geteuid());
		return;
	}
	if (r) {
		cfg_error(ctx, line, "password-file", "%s", e.msg);
		return;
	}
	if (!stat(u->password_file, &st) && (st.st_mode & 077))
		cfg_warn(ctx, line, "password-file",
			 "%s is readable by group or others (mode %04o); chmod 600 it",
			 u->password_file, (unsigned)(st.st_mode & 07777));
}

static void derive_names(struct cfg_ctx *ctx, struct cfg_uplink *u)
{
	bool creates = u->type == CFG_PPPOE || u->type == CFG_DSLITE || u->type == CFG_IPIP6 ||
		       u->type == CFG_MAPE;

	if (u->device[0]) {
		if (u->vlan) {
			if ((size_t)snprintf(u->lower, sizeof(u->lower), "%s.%u", u->device, u->vlan) >=
			    sizeof(u->lower))
				cfg_error(ctx, ULINE(u, "vlan"), "vlan",
					  "the VLAN interface name %s.%u would be longer than %d characters",
					  u->device, u->vlan, IFNAMSIZ - 1);
		} else {
			strcpy(u->lower, u->device);
		}
	}
	if (creates && !u->ifname[0]) {
		if (strlen(u->name) >= IFNAMSIZ)
			cfg_error(ctx, u->line, "ifname",
				  "the uplink's name is longer than %d characters; set an interface name",
				  IFNAMSIZ - 1);
		else
			strcpy(u->ifname, u->name);
	}
	if (!creates)
		strcpy(u->ifname, u->lower);
}

static void check_mape_rule(struct cfg_ctx *ctx, struct cfg_uplink *u)
{
	static const char *const need[] = { "rule-ipv6", "rule-ipv4", "ea-len", "psid-offset", "br" };
	struct ul_err err;
	bool missing = false;

	if (u->rule_auto) {
		if (UGIVEN(u, "psid-len") || UGIVEN(u, "iid") || UGIVEN(u, "br")) {
			/* Allowed: they refine the built-in rule (checked against it later). */
		}
		return;
	}
	if (UGIVEN(u, "rule")) {
		cfg_error(ctx, ULINE(u, "rule"), "rule",
			  "rule = auto conflicts with the explicit rule-ipv6/rule-ipv4/ea-len/psid-offset keys");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		if (!UGIVEN(u, need[i])) {
			cfg_error(ctx, u->line, need[i], "missing (an explicit MAP rule needs rule-ipv6, rule-ipv4, ea-len, psid-offset and br)");
			missing = true;
		}
	}
	if (missing || u->n_bad)
		return;
	if (mape_rule_validate(&u->rule, &err))
		cfg_error(ctx, ULINE(u, "rule-ipv6"), "rule-ipv6", "%s", err.msg);
}

static void check_uplink(struct cfg_ctx *ctx, struct cfg_uplink *u)
{
	bool needs_device = u->type == CFG_PPPOE || u->type == CFG_IPOE || u->type == CFG_STATIC;
	bool over_kind = u->type == CFG_DSLITE || u->type == CFG_IPIP6 || u->type == CFG_MAPE;

	if (needs_device && !UGIVEN(u, "device"))
		cfg_error(ctx, u->line, "device", "missing (the network interface this uplink uses)");
	if (over_kind && !UGIVEN(u, "over"))
		cfg_error(ctx, u->line, "over", "missing (the ipoe uplink this tunnel runs over)");
	derive_names(ctx, u);

	if ((UGIVEN(u, "check-interval") || UGIVEN(u, "check-fail") || UGIVEN(u, "check-recover")) &&
	    !UGIVEN(u, "check"))
		cfg_warn(ctx, u->line, "check", "check-interval/check-fail/check-recover have no effect without check");

	switch (u->type) {
	case CFG_PPPOE:
		if (!u->user)
			cfg_error(ctx, u->line, "user", "missing (the PPPoE user name, e.g. user@isp)");
		if (!u->password_file)
			cfg_error(ctx, u->line, "password-file", "missing (a file holding the PPPoE password)");
		else
			check_secret(ctx, u);
		if (!u->ipv4 && !u->ipv6)
			cfg_error(ctx, ULINE(u, "ipv4"), "ipv4", "ipv4 = no and ipv6 = no leave nothing to negotiate");
		if (!UGIVEN(u, "dhcpv6-pd"))
			u->dhcpv6_pd = u->ipv6;
		else if (u->dhcpv6_pd && !u->ipv6)
			cfg_error(ctx, ULINE(u, "dhcpv6-pd"), "dhcpv6-pd", "needs ipv6 = yes");
		if (!u->ipv4) {
			if (UGIVEN(u, "nat") && u->nat)
				cfg_error(ctx, ULINE(u, "nat"), "nat", "NAT is for IPv4 and this session has ipv4 = no");
			u->nat = false;
		}
		if ((UGIVEN(u, "pd-lan") || UGIVEN(u, "pd-subnet") || UGIVEN(u, "pd-iid")) && !u->dhcpv6_pd)
			cfg_error(ctx, ULINE(u, "pd-lan"), "pd-lan", "needs dhcpv6-pd = yes");
		break;
	case CFG_IPOE:
		if (u->prefix_source == CFG_PREFIX_STATIC && !u->has_token)
			cfg_error(ctx, ULINE(u, "prefix"), "prefix",
				  "a static prefix needs token (the interface id of the WAN address, e.g. ::1)");
		if ((UGIVEN(u, "pd-lan") || UGIVEN(u, "pd-subnet") || UGIVEN(u, "pd-iid")) &&
		    u->prefix_source != CFG_PREFIX_DHCPV6_PD)
			cfg_error(ctx, ULINE(u, "pd-lan"), "pd-lan", "needs prefix = dhcpv6-pd");
		if (u->mss_clamp && !u->mtu)
			cfg_warn(ctx, ULINE(u, "mss-clamp"), "mss-clamp", "has no effect without mtu");
		break;
	case CFG_DSLITE:
		if (!u->aftr_name && !u->has_aftr_addr) {
			u->aftr_name = strdup(DEFAULT_AFTR);
		}
		if (u->nat && UGIVEN(u, "nat"))
			cfg_warn(ctx, ULINE(u, "nat"), "nat", "the AFTR already translates; NAT here adds a second layer");
		break;
	case CFG_IPIP6:
		if (!UGIVEN(u, "remote"))
			cfg_error(ctx, u->line, "remote", "missing (the IPv6 address of the fixed-IPv4 tunnel endpoint)");
		if (!UGIVEN(u, "ipv4"))
			cfg_error(ctx, u->line, "ipv4", "missing (the fixed IPv4 address of the contract)");
		if (!!u->user != !!u->password_file)
			cfg_error(ctx, u->line, u->user ? "password-file" : "user",
				  "missing (the update request needs both user and password-file)");
		if (u->password_file)
			check_secret(ctx, u);
		if (u->user && !UGIVEN(u, "update-url"))
			u->update_url = strdup(DEFAULT_UPDATE_URL);
		if (u->update_url && !u->user)
			cfg_error(ctx, ULINE(u, "update-url"), "update-url", "needs user and password-file");
		break;
	case CFG_MAPE:
		if (!u->nat)
			cfg_error(ctx, ULINE(u, "nat"), "nat",
				  "MAP-E shares one IPv4 address: NAT to the port sets cannot be turned off");
		check_mape_rule(ctx, u);
		break;
	case CFG_STATIC: {
		char buf[PREFIX_STRLEN], nbuf[PREFIX_STRLEN];

		u->ipv4 = UGIVEN(u, "ipv4");
		if (!u->ipv4 && !u->ipv6)
			cfg_error(ctx, u->line, "ipv4", "missing (a static uplink needs ipv4 and/or ipv6)");
		if (u->ipv4 && !UGIVEN(u, "gateway"))
			cfg_error(ctx, u->line, "gateway", "missing (the IPv4 next hop)");
		if (u->ipv6 && !UGIVEN(u, "gateway6"))
			cfg_error(ctx, u->line, "gateway6", "missing (the IPv6 next hop)");
		if (!u->ipv4 && UGIVEN(u, "gateway"))
			cfg_error(ctx, ULINE(u, "gateway"), "gateway", "needs ipv4");
		if (!u->ipv6 && UGIVEN(u, "gateway6"))
			cfg_error(ctx, ULINE(u, "gateway6"), "gateway6", "needs ipv6");
		if (u->ipv4 && u->gateway4.family && u->addr4.len < 32) {
			struct ip_prefix net = u->addr4, gw = { u->gateway4, 32 };

			prefix_mask(&net);
			if (!prefix_contains(&net, &gw))
				cfg_error(ctx, ULINE(u, "gateway"), "gateway", "%s is not inside %s",
					  addr_fmt(&u->gateway4, buf), prefix_fmt(&net, nbuf));
		}
		if (u->ipv4 && u->gateway4.family && addr_equal(&u->gateway4, &u->addr4.addr))
			cfg_error(ctx, ULINE(u, "gateway"), "gateway", "%s is the uplink's own address",
				  addr_fmt(&u->gateway4, buf));
		if (u->ipv6 && u->gateway6.family) {
			struct ip_prefix net = u->addr6, gw = { u->gateway6, 128 };
			const uint8_t *b = u->gateway6.b;

			prefix_mask(&net);
			if (addr_equal(&u->gateway6, &u->addr6.addr))
				cfg_error(ctx, ULINE(u, "gateway6"), "gateway6", "%s is the uplink's own address",
					  addr_fmt(&u->gateway6, buf));
			else if (!(b[0] == 0xfe && (b[1] & 0xc0) == 0x80) &&
				 (u->addr6.len == 128 || !prefix_contains(&net, &gw)))
				cfg_error(ctx, ULINE(u, "gateway6"), "gateway6",
					  "%s is neither link-local nor inside %s", addr_fmt(&u->gateway6, buf),
					  prefix_fmt(&net, nbuf));
		}
		if (!u->ipv4 && UGIVEN(u, "nat") && u->nat)
			cfg_error(ctx, ULINE(u, "nat"), "nat", "NAT is for IPv4 and this uplink has no ipv4");
		if (!u->ipv4)
			u->nat = false;
		break;
	}
	}
}

/* ---- cross-references ---- */

static const char *nearest_uplink(const struct config *cfg, const char *name)
{
	const char *best = NULL;
	unsigned best_d = 3;

	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		unsigned d = edit_distance(name, cfg->uplinks[i].name);

		if (cfg->uplinks[i].name && d < best_d) {
			best_d = d;
			best = cfg->uplinks[i].name;
		}
	}
	return best;
}

static void unknown_uplink(struct cfg_ctx *ctx, const struct config *cfg, unsigned line,
			   const char *key, const char *name)
{
	const char *s = nearest_uplink(cfg, name);

	if (s)
		cfg_error(ctx, line, key, "no uplink named \"%s\"; did you mean \"%s\"?", name, s);
	else
		cfg_error(ctx, line, key, "no uplink named \"%s\"", name);
}

struct cfg_uplink *cfg_find_uplink(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		if (cfg->uplinks[i].name && !strcmp(cfg->uplinks[i].name, name))
			return &cfg->uplinks[i];
	}
	return NULL;
}

bool cfg_uses_interface(const struct config *cfg, const char *ifname)
{
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &cfg->uplinks[i];

		if (!strcmp(u->ifname, ifname) || !strcmp(u->lower, ifname) || !strcmp(u->device, ifname) ||
		    !strcmp(u->pd_lan, ifname))
			return true;
	}
	for (size_t i = 0; i < cfg->n_lan; i++) {
		if (!strcmp(cfg->lan[i], ifname))
			return true;
	}
	return cfg->active_if.set && !strcmp(cfg->active_if.dev, ifname);
}

bool cfg_uplink_has_ipv4(const struct cfg_uplink *u)
{
	switch (u->type) {
	case CFG_PPPOE:
	case CFG_STATIC:
		return u->ipv4;
	case CFG_IPOE:
		return false;
	case CFG_DSLITE:
	case CFG_IPIP6:
	case CFG_MAPE:
		return true;
	}
	return false;
}

bool cfg_uplink_has_ipv6(const struct cfg_uplink *u)
{
	switch (u->type) {
	case CFG_PPPOE:
	case CFG_STATIC:
		return u->ipv6;
	case CFG_IPOE:
		return true;
	case CFG_DSLITE:
	case CFG_IPIP6:
	case CFG_MAPE:
		return false;
	}
	return false;
}

static void check_over(struct cfg_ctx *ctx, struct config *cfg, struct cfg_uplink *u)
{
	struct cfg_uplink *o;

	if (!u->over)
		return;
	o = cfg_find_uplink(cfg, u->over);
	if (!o) {
		unknown_uplink(ctx, cfg, ULINE(u, "over"), "over", u->over);
		return;
	}
	if (o == u) {
		cfg_error(ctx, ULINE(u, "over"), "over", "an uplink cannot run over itself");
		return;
	}
	if (o->type != CFG_IPOE) {
		cfg_error(ctx, ULINE(u, "over"), "over", "\"%s\" is a %s uplink; tunnels run over an ipoe uplink",
			  o->name, cfg_type_name(o->type));
		return;
	}
	u->over_uplink = o;
	if (u->type == CFG_IPIP6 && !o->has_token)
		cfg_warn(ctx, ULINE(u, "over"), "over",
			 "transix fixed IPv4 registers the WAN address with interface id ::feed; set token = ::feed in [uplink %s]",
			 o->name);
}

static void assign_tables(struct cfg_ctx *ctx, struct config *cfg)
{
	char sec[64];
	uint32_t next = cfg->table_base;

	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		struct cfg_uplink *u = &cfg->uplinks[i];

		if (!u->name || !u->table)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (cfg->uplinks[j].table == u->table) {
				set_uplink_ctx(ctx, u, sec, sizeof(sec));
				cfg_error(ctx, ULINE(u, "table"), "table", "table %u is already used by [uplink %s]",
					  u->table, cfg->uplinks[j].name);
			}
		}
	}
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		struct cfg_uplink *u = &cfg->uplinks[i];
		bool used;

		if (!u->name || u->table)
			continue;
		do {
			used = next >= 253 && next <= 255;
			for (size_t j = 0; j < cfg->n_uplinks && !used; j++)
				used = cfg->uplinks[j].table == next;
			if (used)
				next++;
		} while (used);
		u->table = next++;
	}
}

static void check_devices(struct cfg_ctx *ctx, struct config *cfg)
{
	char sec[64];

	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		struct cfg_uplink *u = &cfg->uplinks[i];
		bool u_ip = u->type == CFG_IPOE || u->type == CFG_STATIC;

		if (!u->name)
			continue;
		set_uplink_ctx(ctx, u, sec, sizeof(sec));
		for (size_t j = 0; j < i; j++) {
			struct cfg_uplink *o = &cfg->uplinks[j];
			bool o_ip = o->type == CFG_IPOE || o->type == CFG_STATIC;

			if (!o->name)
				continue;
			if (u_ip && o_ip && u->lower[0] && !strcmp(u->lower, o->lower)) {
				const char *k = u->vlan ? "vlan" : "device";

				cfg_error(ctx, ULINE(u, k), k, "%s is already the WAN interface of [uplink %s]%s",
					  u->lower, o->name,
					  u->vlan ? " (duplicate VLAN)" : "");
				continue;
			}
			if (!u_ip && u->ifname[0] && (!strcmp(u->ifname, o->ifname) || !strcmp(u->ifname, o->lower) ||
						      !strcmp(u->ifname, o->device)))
				cfg_error(ctx, ULINE(u, "ifname"), "ifname", "interface %s is already used by [uplink %s]",
					  u->ifname, o->name);
			else if (!o_ip || !u_ip) {
				if (o->ifname[0] && o->type != CFG_IPOE && o->type != CFG_STATIC &&
				    (!strcmp(o->ifname, u->lower) || !strcmp(o->ifname, u->device)))
					cfg_error(ctx, ULINE(u, "device"), "device",
						  "interface %s is the tunnel/ppp interface of [uplink %s]",
						  o->ifname, o->name);
			}
			if (u->pd_lan[0] && o->pd_lan[0] && !strcmp(u->pd_lan, o->pd_lan) &&
			    u->pd_subnet == o->pd_subnet && u->dhcpv6_pd + o->dhcpv6_pd +
			    (u->prefix_source == CFG_PREFIX_DHCPV6_PD) + (o->prefix_source == CFG_PREFIX_DHCPV6_PD) >= 2)
				cfg_error(ctx, ULINE(u, "pd-lan"), "pd-lan",
					  "%s subnet %u is already delegated from [uplink %s]; set pd-subnet",
					  u->pd_lan, u->pd_subnet, o->name);
		}
		for (size_t l = 0; l < cfg->n_lan; l++) {
			if (!strcmp(cfg->lan[l], u->ifname) || !strcmp(cfg->lan[l], u->lower)) {
				const char *k = UGIVEN(u, "device") ? "device" : "ifname";

				cfg_error(ctx, ULINE(u, k), k, "interface %s is also listed in [global] lan",
					  cfg->lan[l]);
			}
		}
	}
}

static bool same_chain(const struct cfg_policy *a, const struct cfg_policy *b)
{
	if (a->uplink != b->uplink || a->n_fallback != b->n_fallback || a->fallback_none != b->fallback_none)
		return false;
	for (size_t i = 0; i < a->n_fallback; i++) {
		if (a->fallback[i] != b->fallback[i])
			return false;
	}
	return true;
}

static void check_policy_family(struct cfg_ctx *ctx, const struct cfg_policy *p, const char *key,
				const struct ip_prefix *v, size_t n, const struct cfg_uplink *u)
{
	char buf[PREFIX_STRLEN];

	for (size_t i = 0; i < n; i++) {
		bool v4 = v[i].addr.family == AF_INET;

		if (v4 ? cfg_uplink_has_ipv4(u) : cfg_uplink_has_ipv6(u))
			continue;
		cfg_error(ctx, PLINE(p, key), key, "%s is %s but [uplink %s] carries no %s",
			  prefix_fmt(&v[i], buf), v4 ? "IPv4" : "IPv6", u->name, v4 ? "IPv4" : "IPv6");
		return;
	}
}

static void check_policies(struct cfg_ctx *ctx, struct config *cfg)
{
	char sec[80];
	size_t classes = 0;

	for (size_t i = 0; i < cfg->n_policies; i++) {
		struct cfg_policy *p = &cfg->policies[i];

		if (!p->name)
			continue;
		set_policy_ctx(ctx, p, sec, sizeof(sec));
		if (!cfg->n_lan && i == 0)
			cfg_error(ctx, p->line, NULL, "policies choose uplinks for LAN traffic: set lan in [global]");
		if (!p->uplink_name) {
			cfg_error(ctx, p->line, "uplink", "missing (the uplink matching traffic leaves by)");
		} else {
			p->uplink = cfg_find_uplink(cfg, p->uplink_name);
			if (!p->uplink)
				unknown_uplink(ctx, cfg, PLINE(p, "uplink"), "uplink", p->uplink_name);
		}
		if (p->fallback_names) {
			size_t n;
			char **w = str_split_words(p->fallback_names, &n);

			if (!w)
				return;
			p->fallback = calloc(n ? n : 1, sizeof(*p->fallback));
			for (size_t k = 0; k < n && p->fallback; k++) {
				struct cfg_uplink *f;

				if (!strcmp(w[k], "none")) {
					if (n > 1)
						cfg_error(ctx, PLINE(p, "fallback"), "fallback",
							  "none cannot be combined with uplink names");
					p->fallback_none = true;
					continue;
				}
				f = cfg_find_uplink(cfg, w[k]);
				if (!f) {
					unknown_uplink(ctx, cfg, PLINE(p, "fallback"), "fallback", w[k]);
					continue;
				}
				if (f == p->uplink) {
					cfg_error(ctx, PLINE(p, "fallback"), "fallback",
						  "\"%s\" is the policy's own uplink", w[k]);
					continue;
				}
				for (size_t m = 0; m < p->n_fallback; m++) {
					if (p->fallback[m] == f) {
						cfg_error(ctx, PLINE(p, "fallback"), "fallback",
							  "\"%s\" is listed twice", w[k]);
						f = NULL;
						break;
					}
				}
				if (f)
					p->fallback[p->n_fallback++] = f;
			}
			free(w);
		}
		if (p->n_dport && p->proto_icmp && !p->proto_tcp && !p->proto_udp)
			cfg_error(ctx, PLINE(p, "dport"), "dport", "ports need proto tcp or udp");
		if (p->uplink) {
			check_policy_family(ctx, p, "from", p->from, p->n_from, p->uplink);
			check_policy_family(ctx, p, "to", p->to, p->n_to, p->uplink);
			if (!cfg_uplink_has_ipv4(p->uplink) && !cfg_uplink_has_ipv6(p->uplink))
				cfg_error(ctx, PLINE(p, "uplink"), "uplink", "[uplink %s] carries no traffic", p->uplink->name);
		}
		for (size_t k = 0; p->uplink && k < p->n_fallback; k++) {
			const struct cfg_uplink *f = p->fallback[k];

			if ((cfg_uplink_has_ipv4(p->uplink) && !cfg_uplink_has_ipv4(f) &&
			     !cfg_uplink_has_ipv6(p->uplink)) ||
			    (cfg_uplink_has_ipv6(p->uplink) && !cfg_uplink_has_ipv6(f) &&
			     !cfg_uplink_has_ipv4(p->uplink)))
				cfg_error(ctx, PLINE(p, "fallback"), "fallback",
					  "[uplink %s] does not carry the same address family as [uplink %s]",
					  f->name, p->uplink->name);
		}
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = cfg->policies[k].name && same_chain(&cfg->policies[k], p);
		if (!seen)
			classes++;
	}
	if (cfg->n_uplinks + classes > (cfg->fwmark_mask >> __builtin_ctz(cfg->fwmark_mask))) {
		ctx->section = "global";
		cfg_error(ctx, kline(cfg->key_line, SEC_GLOBAL, "fwmark-mask", 1), "fwmark-mask",
			  "%zu uplinks and %zu distinct policy uplink chains need more marks than mask 0x%08x holds",
			  cfg->n_uplinks, classes, cfg->fwmark_mask);
	}
}

static void check_global(struct cfg_ctx *ctx, struct config *cfg)
{
	ctx->section = "global";
	if (cfg->active_if.set) {
		for (size_t i = 0; i < cfg->n_uplinks; i++) {
			if (cfg->uplinks[i].name && !cfg->uplinks[i].active_if.set)
				cfg->uplinks[i].active_if = cfg->active_if;
		}
	}
}

/*
 * An empty or cut-short file must not read as "no uplinks wanted": applied, it would tear
 * everything down.  Said only when nothing else is wrong (a mistyped [uplnk x] has its own
 * message), and any [uplink ...] header counts.
 */
static void check_has_uplink(struct cfg_ctx *ctx, const struct ini_file *ini)
{
	if (ctx->diags->errors)
		return;
	for (size_t i = 0; i < ini->n_sections; i++) {
		if (!strncmp(ini->sections[i].name, "uplink", 6))
			return;
	}
	cfg_diag_add(ctx->diags, false, 0, "%s: no [uplink] section", ctx->path);
}

/* ---- entry point ---- */

static int silent(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

struct config *cfg_load(const char *path, struct cfg_diags *diags)
{
	struct cfg_ctx ctx = { .diags = diags, .path = path };
	struct ini_file ini;
	struct section_ref *refs = NULL;
	size_t *owner = NULL;
	dictionary *dict = NULL;
	struct config *cfg;
	char sec[80];
	int r;

	memset(diags, 0, sizeof(*diags));
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return NULL;
	ctx.cfg = cfg;
	cfg_global_defaults(cfg);
	cfg->path = strdup(path);

	r = ini_scan(path, &ini);
	if (r) {
		if (r == -ENOMEM)
			cfg_diag_add(diags, false, 0, "%s: out of memory", path);
		else
			cfg_diag_add(diags, false, 0, "%s: cannot read: %s", path, strerror(-r));
		goto fail;
	}
	for (size_t i = 0; i < ini.n_problems; i++)
		cfg_diag_add(diags, false, ini.problems[i].line, "%s:%u: %s", path,
			     ini.problems[i].line, ini.problems[i].msg);
	if (!ini.n_problems) {
		iniparser_set_error_callback(silent);
		dict = iniparser_load(path);
		if (!dict)
			cfg_diag_add(diags, false, 0, "%s: iniparser could not parse the file", path);
	}

	refs = calloc(ini.n_sections ? ini.n_sections : 1, sizeof(*refs));
	owner = calloc(ini.n_entries ? ini.n_entries : 1, sizeof(*owner));
	if (!refs || !owner)
		goto oom;
	/* An entry belongs to the last section header above it. */
	for (size_t j = 0, s = 0; j < ini.n_entries; j++) {
		while (s < ini.n_sections && ini.sections[s].line < ini.entries[j].line)
			s++;
		owner[j] = s ? s - 1 : SIZE_MAX;
	}
	if (classify_sections(cfg, &ctx, &ini, refs))
		goto oom;
	read_types(&ctx, &ini, dict, refs, owner);
	if (apply_entries(&ctx, &ini, dict, refs, owner))
		goto oom;

	for (size_t i = 0; i < ini.n_sections; i++) {
		if (refs[i].obj && refs[i].kind == SEC_UPLINK && refs[i].type_known) {
			ctx.section = refs[i].display;
			check_uplink(&ctx, refs[i].obj);
		}
	}
	/* Uplinks whose type is unknown take no further part. */
	for (size_t i = 0; i < ini.n_sections; i++) {
		if (refs[i].obj && refs[i].kind == SEC_UPLINK && !refs[i].type_known) {
			struct cfg_uplink *u = refs[i].obj;

			u->type = CFG_STATIC;
		}
	}
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		set_uplink_ctx(&ctx, &cfg->uplinks[i], sec, sizeof(sec));
		check_over(&ctx, cfg, &cfg->uplinks[i]);
	}
	assign_tables(&ctx, cfg);
	check_devices(&ctx, cfg);
	check_policies(&ctx, cfg);
	check_global(&ctx, cfg);
	check_has_uplink(&ctx, &ini);

	free(refs);
	free(owner);
	ini_free(&ini);
	if (dict)
		iniparser_freedict(dict);
	if (diags->n > 1)
		qsort(diags->v, diags->n, sizeof(*diags->v), diag_cmp);
	if (diags->errors) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
oom:
	cfg_diag_add(diags, false, 0, "%s: out of memory", path);
	free(refs);
	free(owner);
	ini_free(&ini);
	if (dict)
		iniparser_freedict(dict);
fail:
	cfg_free(cfg);
	return NULL;
}

void cfg_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_uplinks; i++) {
		struct cfg_uplink *u = &cfg->uplinks[i];

		free(u->name);
		free(u->user);
		free(u->password_file);
		free(u->service);
		free(u->ac_name);
		free(u->over);
		free(u->aftr_name);
		free(u->update_url);
		free(u->check_target);
		free(u->accept);
	}
	for (size_t i = 0; i < cfg->n_policies; i++) {
		struct cfg_policy *p = &cfg->policies[i];

		free(p->name);
		free(p->from);
		free(p->to);
		free(p->to_file);
		free(p->dport);
		free(p->uplink_name);
		free(p->fallback_names);
		free(p->fallback);
	}
	free(cfg->uplinks);
	free(cfg->policies);
	free(cfg->path);
	free(cfg);
}

int cfg_read_secret(const char *path, char **out, struct ul_err *e)
{
	char buf[512];
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	if (out)
		*out = NULL;
	/* O_NONBLOCK: a FIFO must not hang the daemon before fstat says what it is */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && errno == ELOOP)
		return ul_errf(e, ELOOP, "%s is a symbolic link (not followed): name the file itself", path);
	if (fd < 0)
		return ul_errf(e, errno, "cannot read %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		r = ul_errf(e, errno, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = ul_errf(e, EINVAL, "%s is not a regular file", path);
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		r = ul_errf(e, errno, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		r = ul_errf(e, EINVAL, "%s is empty (the password is its first line)", path);
		goto out;
	}
	if (out) {
		*out = strdup(buf);
		if (!*out)
			r = -ENOMEM;
	}
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}
