/* Every configuration key: where it is valid and how its value is parsed. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "resolve.h"

#define BAD(...) ul_errf(err, EINVAL, __VA_ARGS__)

static const char *const type_names[CFG_TYPE_COUNT] = {
	[CFG_PPPOE] = "pppoe",
	[CFG_IPOE] = "ipoe",
	[CFG_DSLITE] = "dslite",
	[CFG_IPIP6] = "ipip6",
	[CFG_MAPE] = "mape",
	[CFG_STATIC] = "static",
};

const char *cfg_type_name(enum cfg_uplink_type t)
{
	return (unsigned)t < CFG_TYPE_COUNT ? type_names[t] : "?";
}

int cfg_parse_type(const char *value, enum cfg_uplink_type *t)
{
	for (unsigned i = 0; i < CFG_TYPE_COUNT; i++) {
		if (!strcmp(value, type_names[i])) {
			*t = (enum cfg_uplink_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

void cfg_global_defaults(struct config *cfg)
{
	cfg->table_base = 100;
	cfg->rule_priority = 10000;
	cfg->fwmark_mask = 0x00ff0000;
	cfg->route_protocol = 117;
	strcpy(cfg->nft_table, "uplinkd");
	cfg->firewall = true;
	cfg->hold_down_ms = 30000;
}

void cfg_uplink_defaults(struct cfg_uplink *u)
{
	u->has_priority = true;
	u->priority = 100;
	u->check_interval_ms = 1000;
	u->check_fail = 3;
	u->check_recover = 5;
	u->pd_iid.s6_addr[15] = 1;
	switch (u->type) {
	case CFG_PPPOE:
		u->ipv4 = true;
		u->mtu = 1454;
		u->nat = true;
		u->mss_clamp = true;
		u->lcp_echo_interval = 10;
		u->lcp_echo_failure = 3;
		break;
	case CFG_IPOE:
		u->prefix_source = CFG_PREFIX_RA;
		break;
	case CFG_DSLITE:
		u->mtu = 1460;
		u->mss_clamp = true;
		u->b4.s_addr = htonl(0xc0000002); /* 192.0.0.2 */
		break;
	case CFG_IPIP6:
		u->mtu = 1460;
		u->nat = true;
		u->mss_clamp = true;
		break;
	case CFG_MAPE:
		u->mtu = 1460;
		u->nat = true;
		u->mss_clamp = true;
		u->rule_auto = true;
		u->rule.psid_len = -1;
		u->rule.iid = MAPE_IID_DRAFT03;
		break;
	case CFG_STATIC:
		u->nat = true;
		break;
	}
}

/* ---- value parsers ---- */

static int parse_ifname(char *dst, const char *v, struct ul_err *err)
{
	size_t len = strlen(v);

	if (!len)
		return BAD("missing interface name");
	if (len >= IFNAMSIZ)
		return BAD("interface name \"%s\" is longer than %d characters", v, IFNAMSIZ - 1);
	for (const char *p = v; *p; p++) {
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			return BAD("\"%s\" is not a valid interface name", v);
	}
	if (!strcmp(v, ".") || !strcmp(v, ".."))
		return BAD("\"%s\" is not a valid interface name", v);
	strcpy(dst, v);
	return 0;
}

static int parse_range(const char *v, uint32_t min, uint32_t max, uint32_t *out,
		       struct ul_err *err)
{
	int r = parse_u32(v, min, max, out);

	if (r == -ERANGE)
		return BAD("must be %u..%u, got %s", min, max, v);
	if (r)
		return BAD("must be a number (%u..%u), got \"%s\"", min, max, v);
	return 0;
}

static int parse_yesno(const char *v, bool *out, struct ul_err *err)
{
	if (parse_bool(v, out))
		return BAD("must be yes or no, got \"%s\"", v);
	return 0;
}

static int parse_dur(const char *v, uint64_t min_ms, uint64_t *out, struct ul_err *err)
{
	if (parse_duration_ms(v, out))
		return BAD("must be a duration such as 500ms, 5s, 2m or 1h, got \"%s\"", v);
	if (*out < min_ms)
		return BAD("must be at least %llums, got %s", (unsigned long long)min_ms, v);
	return 0;
}

static int parse_v4(const char *v, struct in_addr *out, struct ul_err *err)
{
	struct ip_addr a;

	if (addr_parse(&a, v, AF_UNSPEC))
		return BAD("not an IPv4 address: \"%s\"", v);
	if (a.family != AF_INET)
		return BAD("must be an IPv4 address, got IPv6 %s", v);
	*out = a.v4;
	return 0;
}

static int parse_v6(const char *v, struct in6_addr *out, struct ul_err *err)
{
	struct ip_addr a;

	if (addr_parse(&a, v, AF_UNSPEC))
		return BAD("not an IPv6 address: \"%s\"", v);
	if (a.family != AF_INET6)
		return BAD("must be an IPv6 address, got IPv4 %s", v);
	*out = a.v6;
	return 0;
}

static int parse_pfx(const char *v, int family, bool host_bits, struct ip_prefix *out,
		     struct ul_err *err)
{
	const char *fam = family == AF_INET ? "an IPv4 " : family == AF_INET6 ? "an IPv6 " : "a ";
	int r = prefix_parse(out, v, AF_UNSPEC, host_bits);
	char buf[PREFIX_STRLEN];

	if (r == -EDOM) {
		struct ip_prefix m = *out;

		prefix_mask(&m);
		return BAD("%s has host bits set (did you mean %s?)", v, prefix_fmt(&m, buf));
	}
	if (r)
		return BAD("not %sprefix: \"%s\"", fam, v);
	if (family && out->addr.family != family)
		return BAD("must be %sprefix, got %s", fam, v);
	return 0;
}

/* An interface identifier: the low 64 bits of an IPv6 address, written ::feed. */
static int parse_iid(const char *v, struct in6_addr *out, struct ul_err *err)
{
	struct in6_addr a;

	if (parse_v6(v, &a, err))
		return -EINVAL;
	for (int i = 0; i < 8; i++) {
		if (a.s6_addr[i])
			return BAD("must be an interface identifier such as ::feed (upper 64 bits zero), got %s", v);
	}
	*out = a;
	return 0;
}

static bool is_hostname(const char *v)
{
	size_t len = strlen(v);

	if (!len || len > 253 || v[0] == '.' || v[0] == '-')
		return false;
	for (const char *p = v; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	}
	return strchr(v, '.') != NULL;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

/* Section names are lower-cased by iniparser, so references to them are too. */
static int set_name_ref(char **dst, const char *v)
{
	if (set_str(dst, v))
		return -ENOMEM;
	for (char *p = *dst; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static int parse_active_if(const char *v, struct cfg_active_if *out, struct ul_err *err)
{
	size_t n;
	char **w = str_split_words(v, &n);
	int r = 0;

	if (!w)
		return -ENOMEM;
	if (n != 4 || strcmp(w[0], "address") || strcmp(w[2], "on")) {
		r = BAD("must be \"address ADDR on DEVICE\", got \"%s\"", v);
		goto out;
	}
	if (addr_parse(&out->addr, w[1], AF_UNSPEC)) {
		r = BAD("not an IP address: \"%s\"", w[1]);
		goto out;
	}
	r = parse_ifname(out->dev, w[3], err);
	out->set = r == 0;
out:
	free(w);
	return r;
}

static int parse_port_range(const char *w, struct cfg_port_range *out, struct ul_err *err)
{
	const char *dash = strchr(w, '-');
	char lo[8];
	uint32_t a, b;

	if (dash) {
		if ((size_t)(dash - w) >= sizeof(lo))
			return BAD("not a port or port range: \"%s\"", w);
		memcpy(lo, w, dash - w);
		lo[dash - w] = '\0';
		if (parse_u32(lo, 1, 65535, &a) || parse_u32(dash + 1, 1, 65535, &b))
			return BAD("not a port range (1..65535): \"%s\"", w);
		if (a > b)
			return BAD("port range %s is reversed", w);
	} else {
		if (parse_u32(w, 1, 65535, &a))
			return BAD("not a port (1..65535): \"%s\"", w);
		b = a;
	}
	out->lo = (uint16_t)a;
	out->hi = (uint16_t)b;
	return 0;
}

/* ---- [global] ---- */

static int k_lan(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	struct config *cfg = obj;
	size_t n;
	char **w = str_split_words(v, &n);
	int r = 0;

	(void)c;
	if (!w)
		return -ENOMEM;
	if (n > ARRAY_SIZE(cfg->lan)) {
		r = BAD("at most %zu interfaces", ARRAY_SIZE(cfg->lan));
		goto out;
	}
	for (size_t i = 0; i < n && !r; i++)
		r = parse_ifname(cfg->lan[i], w[i], err);
	cfg->n_lan = r ? 0 : n;
out:
	free(w);
	return r;
}

static int k_table_base(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_range(v, 1, 0x7fffffff, &((struct config *)obj)->table_base, err);
}

static int k_rule_priority(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_range(v, 1, 30000, &((struct config *)obj)->rule_priority, err);
}

static int k_fwmark_mask(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	uint32_t m, low;

	(void)c;
	if (parse_u32(v, 1, UINT32_MAX, &m))
		return BAD("must be a 32-bit mask such as 0x00ff0000, got \"%s\"", v);
	low = m & -m;
	if (((m + low) & m) != 0)
		return BAD("must be one run of contiguous bits, got %s", v);
	if (__builtin_popcount(m) < 4)
		return BAD("needs at least 4 bits, got %s", v);
	((struct config *)obj)->fwmark_mask = m;
	return 0;
}

static int k_route_protocol(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_range(v, 5, 255, &((struct config *)obj)->route_protocol, err);
}

static int k_nft_table(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	struct config *cfg = obj;
	size_t len = strlen(v);

	(void)c;
	if (!len || len >= sizeof(cfg->nft_table))
		return BAD("must be 1..%zu characters", sizeof(cfg->nft_table) - 1);
	for (const char *p = v; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return BAD("may hold only letters, digits, '_' and '-', got \"%s\"", v);
	}
	strcpy(cfg->nft_table, v);
	return 0;
}

static int k_firewall(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_yesno(v, &((struct config *)obj)->firewall, err);
}

static int k_hold_down(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_dur(v, 0, &((struct config *)obj)->hold_down_ms, err);
}

static int k_global_active_if(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_active_if(v, &((struct config *)obj)->active_if, err);
}

/* ---- [uplink NAME] ---- */

#define U ((struct cfg_uplink *)obj)

static int k_type(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	/* Read first, before the other keys (see config.c); here it only has to be valid. */
	(void)c;
	(void)obj;
	enum cfg_uplink_type t;

	if (cfg_parse_type(v, &t))
		return BAD("must be one of pppoe, ipoe, dslite, ipip6, mape, static, got \"%s\"", v);
	return 0;
}

static int k_device(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_ifname(U->device, v, err);
}

static int k_vlan(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	uint32_t id;

	(void)c;
	if (parse_range(v, 1, 4094, &id, err))
		return -EINVAL;
	U->vlan = (uint16_t)id;
	return 0;
}

static int k_ifname(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_ifname(U->ifname, v, err);
}

static int k_priority(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!strcmp(v, "none")) {
		U->has_priority = false;
		return 0;
	}
	U->has_priority = true;
	if (parse_u32(v, 0, 65535, &U->priority))
		return BAD("must be 0..65535 or none, got \"%s\"", v);
	return 0;
}

static int k_mtu(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	uint32_t min = U->type == CFG_IPOE ? 1280 : 576;

	(void)c;
	return parse_range(v, min, 9000, &U->mtu, err);
}

static int k_nat(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_yesno(v, &U->nat, err);
}

static int k_mss_clamp(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_yesno(v, &U->mss_clamp, err);
}

static int k_disabled(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_yesno(v, &U->disabled, err);
}

static int k_table(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!strcmp(v, "auto")) {
		U->table = 0;
		return 0;
	}
	if (parse_u32(v, 1, 0x7fffffff, &U->table))
		return BAD("must be auto or a table number 1..2147483647, got \"%s\"", v);
	if (U->table >= 253 && U->table <= 255)
		return BAD("table %u is reserved (253 default, 254 main, 255 local)", U->table);
	return 0;
}

static int k_user(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!*v)
		return BAD("must not be empty");
	for (const char *p = v; *p; p++) {
		if (!isgraph((unsigned char)*p) || *p == '"' || *p == '\\')
			return BAD("may not contain blanks, quotes or backslashes");
	}
	return set_str(&U->user, v);
}

static int k_password_file(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!*v)
		return BAD("must name a file");
	return set_str(&U->password_file, v);
}

static int k_ipv4(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	switch (U->type) {
	case CFG_IPIP6:
		return parse_v4(v, &U->fixed_ipv4, err);
	case CFG_STATIC:
		if (parse_pfx(v, AF_INET, true, &U->addr4, err))
			return -EINVAL;
		if (!strchr(v, '/'))
			return BAD("needs a prefix length: ADDRESS/LENGTH, got %s", v);
		if (U->addr4.len == 0 || U->addr4.len > 32)
			return BAD("prefix length must be 1..32");
		return 0;
	case CFG_PPPOE:
	case CFG_IPOE:
	case CFG_DSLITE:
	case CFG_MAPE:
		break;
	}
	return parse_yesno(v, &U->ipv4, err);
}

static int k_ipv6(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (U->type == CFG_STATIC) {
		if (parse_pfx(v, AF_INET6, true, &U->addr6, err))
			return -EINVAL;
		if (!strchr(v, '/'))
			return BAD("needs a prefix length: ADDRESS/LENGTH, got %s", v);
		U->ipv6 = true;
		return 0;
	}
	return parse_yesno(v, &U->ipv6, err);
}

static int k_dhcpv6_pd(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_yesno(v, &U->dhcpv6_pd, err);
}

static int k_pd_lan(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_ifname(U->pd_lan, v, err);
}

static int k_pd_subnet(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_range(v, 0, 65535, &U->pd_subnet, err);
}

static int k_pd_iid(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_iid(v, &U->pd_iid, err);
}

static int k_service(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	for (const char *p = v; *p; p++) {
		if (!isgraph((unsigned char)*p) || *p == '"' || *p == '\\')
			return BAD("may not contain blanks, quotes or backslashes");
	}
	return set_str(!strcmp(c->key, "service") ? &U->service : &U->ac_name, v);
}

static int k_lcp_echo_interval(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_range(v, 0, 3600, &U->lcp_echo_interval, err);
}

static int k_lcp_echo_failure(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_range(v, 0, 100, &U->lcp_echo_failure, err);
}

static int k_token(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	static const struct in6_addr zero;

	(void)c;
	if (parse_iid(v, &U->token, err))
		return -EINVAL;
	if (!memcmp(&U->token, &zero, sizeof(zero)))
		return BAD("must not be ::");
	U->has_token = true;
	return 0;
}

static int k_prefix(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!strcmp(v, "ra")) {
		U->prefix_source = CFG_PREFIX_RA;
		return 0;
	}
	if (!strcmp(v, "dhcpv6-pd")) {
		U->prefix_source = CFG_PREFIX_DHCPV6_PD;
		return 0;
	}
	if (parse_pfx(v, AF_INET6, false, &U->prefix, err)) {
		if (!strchr(v, ':'))
			return BAD("must be ra, dhcpv6-pd or an IPv6 prefix, got \"%s\"", v);
		return -EINVAL;
	}
	if (U->prefix.len > 64)
		return BAD("must be /64 or shorter, got /%u", U->prefix.len);
	U->prefix_source = CFG_PREFIX_STATIC;
	return 0;
}

static int k_over(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!*v)
		return BAD("must name an ipoe uplink");
	return set_name_ref(&U->over, v);
}

static int k_aftr(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	struct ip_addr a;

	(void)c;
	free(U->aftr_name);
	U->aftr_name = NULL;
	U->has_aftr_addr = false;
	if (!addr_parse(&a, v, AF_UNSPEC)) {
		if (a.family != AF_INET6)
			return BAD("the AFTR must be an IPv6 address or a name, got IPv4 %s", v);
		if (!resolve_usable(&a.v6))
			return BAD("the AFTR must be a global unicast IPv6 address (2000::/3), got %s", v);
		U->aftr = a.v6;
		U->has_aftr_addr = true;
		return 0;
	}
	if (!is_hostname(v))
		return BAD("not an IPv6 address or a DNS name: \"%s\"", v);
	return set_str(&U->aftr_name, v);
}

static int k_b4(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_v4(v, &U->b4, err);
}

static int k_remote(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_v6(v, &U->remote, err);
}

static int k_update_url(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!strcmp(v, "none")) {
		free(U->update_url);
		U->update_url = NULL;
		return 0;
	}
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
		return BAD("must be an http:// or https:// URL, or none, got \"%s\"", v);
	if (strchr(v, '?'))
		return BAD("must not carry a query: uplinkd appends ?username=USER&password=... itself");
	for (const char *p = v; *p; p++) {
		if (!isgraph((unsigned char)*p))
			return BAD("may not contain blanks or control characters");
	}
	return set_str(&U->update_url, v);
}

static int k_update_interval(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!strcmp(v, "0")) {
		U->update_interval_ms = 0;
		return 0;
	}
	return parse_dur(v, 60000, &U->update_interval_ms, err);
}

static int k_rule(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (strcmp(v, "auto"))
		return BAD("must be auto (the built-in rule table); give an explicit rule with rule-ipv6, rule-ipv4, ea-len and psid-offset");
	U->rule_auto = true;
	return 0;
}

static int k_rule_ipv6(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (parse_pfx(v, AF_INET6, false, &U->rule.ipv6, err))
		return -EINVAL;
	if (U->rule.ipv6.len > 64)
		return BAD("must be /64 or shorter, got /%u", U->rule.ipv6.len);
	U->rule_auto = false;
	return 0;
}

static int k_rule_ipv4(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (parse_pfx(v, AF_INET, false, &U->rule.ipv4, err))
		return -EINVAL;
	U->rule_auto = false;
	return 0;
}

static int k_ea_len(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	uint32_t n;

	(void)c;
	if (parse_range(v, 0, 48, &n, err))
		return -EINVAL;
	U->rule.ea_len = n;
	U->rule_auto = false;
	return 0;
}

static int k_psid_offset(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	uint32_t n;

	(void)c;
	if (parse_range(v, 0, 15, &n, err))
		return -EINVAL;
	U->rule.psid_offset = n;
	U->rule_auto = false;
	return 0;
}

static int k_psid_len(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	uint32_t n;

	(void)c;
	if (parse_range(v, 0, 16, &n, err))
		return -EINVAL;
	U->rule.psid_len = (int)n;
	return 0;
}

static int k_br(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (parse_v6(v, &U->rule.br, err))
		return -EINVAL;
	U->rule.has_br = true;
	return 0;
}

static int k_iid(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!strcmp(v, "draft03"))
		U->rule.iid = MAPE_IID_DRAFT03;
	else if (!strcmp(v, "rfc7597"))
		U->rule.iid = MAPE_IID_RFC7597;
	else
		return BAD("must be draft03 or rfc7597, got \"%s\"", v);
	return 0;
}

static int k_gateway(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (parse_v4(v, &U->gateway4.v4, err))
		return -EINVAL;
	U->gateway4.family = AF_INET;
	return 0;
}

static int k_gateway6(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (parse_v6(v, &U->gateway6.v6, err))
		return -EINVAL;
	U->gateway6.family = AF_INET6;
	return 0;
}

/*
 * A health check's URL: http://ADDR[:PORT][/PATH] with ADDR an address literal ([V6] in
 * brackets).  The probe runs before (and without) any resolver reachable through the uplink,
 * so a name would never work.
 */
static bool http_check_url_ok(const char *url)
{
	const char *auth = url + 7;
	size_t al = strcspn(auth, "/");
	char host[INET6_ADDRSTRLEN + 8], *h = host, *port = NULL;
	struct ip_addr a;

	if (strncmp(url, "http://", 7) || al == 0 || al >= sizeof(host))
		return false;
	memcpy(host, auth, al);
	host[al] = '\0';
	if (h[0] == '[') {
		char *rb = strchr(h, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return false;
		*rb = '\0';
		port = rb[1] ? rb + 2 : NULL;
		if (addr_parse(&a, h + 1, AF_INET6))
			return false;
	} else {
		port = strchr(h, ':');
		if (port)
			*port++ = '\0';
		if (addr_parse(&a, h, AF_INET))
			return false;
	}
	if (port) {
		char *endp;
		unsigned long p;

		errno = 0;
		p = strtoul(port, &endp, 10);
		if (!*port || *endp || errno || p < 1 || p > 65535 || *port == '+' || *port == '-')
			return false;
	}
	return true;
}

static int k_check(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	size_t n;
	char **w;
	int r = 0;

	(void)c;
	if (!strcmp(v, "none")) {
		U->check = CFG_CHECK_NONE;
		return 0;
	}
	w = str_split_words(v, &n);
	if (!w)
		return -ENOMEM;
	if (n != 2) {
		r = BAD("must be \"icmp ADDR\", \"tcp ADDR:PORT\", \"http URL\" or none, got \"%s\"", v);
		goto out;
	}
	if (!strcmp(w[0], "icmp")) {
		struct ip_addr a;

		if (addr_parse(&a, w[1], AF_UNSPEC)) {
			r = BAD("icmp needs an IP address, got \"%s\"", w[1]);
			goto out;
		}
		U->check = CFG_CHECK_ICMP;
	} else if (!strcmp(w[0], "tcp")) {
		char *colon = strrchr(w[1], ':');
		char host[INET6_ADDRSTRLEN + 2];
		struct ip_addr a;
		struct cfg_port_range pr;
		size_t hl = colon ? (size_t)(colon - w[1]) : 0;

		if (!colon || hl >= sizeof(host)) {
			r = BAD("tcp needs ADDR:PORT (IPv6 as [ADDR]:PORT), got \"%s\"", w[1]);
			goto out;
		}
		memcpy(host, w[1], hl);
		host[hl] = '\0';
		if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
			memmove(host, host + 1, hl - 2);
			host[hl - 2] = '\0';
		}
		if (addr_parse(&a, host, AF_UNSPEC) || parse_port_range(colon + 1, &pr, err) ||
		    pr.lo != pr.hi) {
			r = BAD("tcp needs ADDR:PORT (IPv6 as [ADDR]:PORT), got \"%s\"", w[1]);
			goto out;
		}
		U->check = CFG_CHECK_TCP;
	} else if (!strcmp(w[0], "http")) {
		if (!http_check_url_ok(w[1])) {
			r = BAD("http needs http://ADDR[:PORT][/PATH] with an IP address (IPv6 in brackets), "
				"got \"%s\"", w[1]);
			goto out;
		}
		U->check = CFG_CHECK_HTTP;
	} else {
		r = BAD("unknown check \"%s\": must be icmp, tcp, http or none", w[0]);
		goto out;
	}
	r = set_str(&U->check_target, w[1]);
out:
	free(w);
	return r;
}

static int k_check_interval(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_dur(v, 100, &U->check_interval_ms, err);
}

static int k_check_fail(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_range(v, 1, 100, &U->check_fail, err);
}

static int k_check_recover(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_range(v, 1, 100, &U->check_recover, err);
}

static int k_accept(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	size_t n;
	char **w = str_split_words(v, &n);
	struct cfg_accept *acc;
	int r = 0;

	(void)c;
	if (!w)
		return -ENOMEM;
	acc = calloc(n ? n : 1, sizeof(*acc));
	if (!acc) {
		free(w);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *slash = strchr(w[i], '/');

		if (!slash || (strncmp(w[i], "tcp/", 4) && strncmp(w[i], "udp/", 4))) {
			r = BAD("must be a list of tcp/PORT[-PORT] or udp/PORT[-PORT], got \"%s\"", w[i]);
			break;
		}
		acc[i].proto = w[i][0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		r = parse_port_range(slash + 1, &acc[i].ports, err);
		if (r)
			break;
	}
	free(w);
	if (r) {
		free(acc);
		return r;
	}
	free(U->accept);
	U->accept = acc;
	U->n_accept = n;
	return 0;
}

static int k_uplink_active_if(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	return parse_active_if(v, &U->active_if, err);
}

#undef U

/* ---- [policy NAME] ---- */

#define P ((struct cfg_policy *)obj)

static int prefix_list_add(struct ip_prefix **v, size_t *n, const struct ip_prefix *p)
{
	struct ip_prefix *nv;

	if ((*n & (*n - 1)) == 0) {
		nv = realloc(*v, (*n ? *n * 2 : 4) * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
	}
	(*v)[(*n)++] = *p;
	return 0;
}

static int k_from(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	size_t n;
	char **w = str_split_words(v, &n);
	struct ip_prefix p;
	int r = 0;

	(void)c;
	if (!w)
		return -ENOMEM;
	if (!n)
		r = BAD("needs at least one address or prefix");
	for (size_t i = 0; i < n && !r; i++) {
		r = parse_pfx(w[i], 0, false, &p, err);
		if (!r)
			r = prefix_list_add(&P->from, &P->n_from, &p);
	}
	free(w);
	return r;
}

/* One prefix a line; blank lines and # comments allowed.  Errors name FILE:LINE. */
static int read_prefix_file(struct cfg_ctx *c, struct cfg_policy *pol, const char *word,
			    struct ul_err *err)
{
	char path[4096], line[256];
	const char *name = word + 1;
	unsigned lineno = 0, bad = 0;
	struct ip_prefix p;
	FILE *f;
	int r = 0;

	if (!*name)
		return BAD("\"@\" needs a file name");
	const char *slash = strrchr(c->path, '/');

	if (name[0] == '/' || !slash)
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - c->path), c->path, name);
	f = fopen(path, "r");
	if (!f)
		return BAD("cannot read %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;

		lineno++;
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strcspn(s, "#\r\n");
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		if (!*s)
			continue;
		struct ul_err perr;
		if (parse_pfx(s, 0, false, &p, &perr)) {
			/* Report each bad line as its own error, like the config file's own lines. */
			cfg_diag_add(c->diags, false, c->line, "%s:%u: %s", path, lineno, perr.msg);
			bad++;
			continue;
		}
		r = prefix_list_add(&pol->to, &pol->n_to, &p);
		if (r)
			break;
	}
	fclose(f);
	if (!r && bad)
		return BAD("%u bad line%s in %s", bad, bad == 1 ? "" : "s", path);
	if (!r && !pol->to_file)
		r = set_str(&pol->to_file, path);
	return r;
}

static int k_to(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	size_t n;
	char **w = str_split_words(v, &n);
	struct ip_prefix p;
	int r = 0;

	if (!w)
		return -ENOMEM;
	if (!n)
		r = BAD("needs at least one prefix or @FILE");
	for (size_t i = 0; i < n && !r; i++) {
		if (w[i][0] == '@') {
			r = read_prefix_file(c, P, w[i], err);
			continue;
		}
		r = parse_pfx(w[i], 0, false, &p, err);
		if (!r)
			r = prefix_list_add(&P->to, &P->n_to, &p);
	}
	free(w);
	return r;
}

static int k_proto(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	size_t n;
	char **w = str_split_words(v, &n);
	int r = 0;

	(void)c;
	if (!w)
		return -ENOMEM;
	if (!n)
		r = BAD("needs tcp, udp or icmp");
	for (size_t i = 0; i < n && !r; i++) {
		if (!strcmp(w[i], "tcp"))
			P->proto_tcp = true;
		else if (!strcmp(w[i], "udp"))
			P->proto_udp = true;
		else if (!strcmp(w[i], "icmp"))
			P->proto_icmp = true;
		else
			r = BAD("must be tcp, udp or icmp, got \"%s\"", w[i]);
	}
	free(w);
	return r;
}

static int k_dport(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	size_t n;
	char **w = str_split_words(v, &n);
	int r = 0;

	(void)c;
	if (!w)
		return -ENOMEM;
	free(P->dport);
	P->dport = calloc(n ? n : 1, sizeof(*P->dport));
	P->n_dport = 0;
	if (!P->dport)
		r = -ENOMEM;
	else if (!n)
		r = BAD("needs a port or port range");
	for (size_t i = 0; i < n && !r; i++) {
		r = parse_port_range(w[i], &P->dport[i], err);
		if (!r)
			P->n_dport++;
	}
	free(w);
	return r;
}

static int k_policy_uplink(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!*v || strchr(v, ' '))
		return BAD("must name one uplink");
	return set_name_ref(&P->uplink_name, v);
}

static int k_fallback(struct cfg_ctx *c, void *obj, const char *v, struct ul_err *err)
{
	(void)c;
	if (!*v)
		return BAD("must name uplinks, or none");
	return set_name_ref(&P->fallback_names, v);
}

#undef P

const struct cfg_key cfg_keys[] = {
	{ "lan", SEC_GLOBAL, 0, k_lan },
	{ "table-base", SEC_GLOBAL, 0, k_table_base },
	{ "rule-priority", SEC_GLOBAL, 0, k_rule_priority },
	{ "fwmark-mask", SEC_GLOBAL, 0, k_fwmark_mask },
	{ "route-protocol", SEC_GLOBAL, 0, k_route_protocol },
	{ "nft-table", SEC_GLOBAL, 0, k_nft_table },
	{ "firewall", SEC_GLOBAL, 0, k_firewall },
	{ "hold-down", SEC_GLOBAL, 0, k_hold_down },
	{ "active-if", SEC_GLOBAL, 0, k_global_active_if },

	{ "type", SEC_UPLINK, T_ALL, k_type },
	{ "device", SEC_UPLINK, T(CFG_PPPOE) | T(CFG_IPOE) | T(CFG_STATIC), k_device },
	{ "vlan", SEC_UPLINK, T(CFG_PPPOE) | T(CFG_IPOE) | T(CFG_STATIC), k_vlan },
	{ "ifname", SEC_UPLINK, T(CFG_PPPOE) | T(CFG_DSLITE) | T(CFG_IPIP6) | T(CFG_MAPE), k_ifname },
	{ "priority", SEC_UPLINK, T_ALL, k_priority },
	{ "mtu", SEC_UPLINK, T_ALL, k_mtu },
	{ "nat", SEC_UPLINK, T_ALL & ~T(CFG_IPOE), k_nat },
	{ "mss-clamp", SEC_UPLINK, T_ALL, k_mss_clamp },
	{ "table", SEC_UPLINK, T_ALL, k_table },
	{ "disabled", SEC_UPLINK, T_ALL, k_disabled },
	{ "user", SEC_UPLINK, T(CFG_PPPOE) | T(CFG_IPIP6), k_user },
	{ "password-file", SEC_UPLINK, T(CFG_PPPOE) | T(CFG_IPIP6), k_password_file },
	{ "ipv4", SEC_UPLINK, T(CFG_PPPOE) | T(CFG_IPIP6) | T(CFG_STATIC), k_ipv4 },
	{ "ipv6", SEC_UPLINK, T(CFG_PPPOE) | T(CFG_STATIC), k_ipv6 },
	{ "dhcpv6-pd", SEC_UPLINK, T(CFG_PPPOE), k_dhcpv6_pd },
	{ "pd-lan", SEC_UPLINK, T(CFG_PPPOE) | T(CFG_IPOE), k_pd_lan },
	{ "pd-subnet", SEC_UPLINK, T(CFG_PPPOE) | T(CFG_IPOE), k_pd_subnet },
	{ "pd-iid", SEC_UPLINK, T(CFG_PPPOE) | T(CFG_IPOE), k_pd_iid },
	{ "service", SEC_UPLINK, T(CFG_PPPOE), k_service },
	{ "ac-name", SEC_UPLINK, T(CFG_PPPOE), k_service },
	{ "lcp-echo-interval", SEC_UPLINK, T(CFG_PPPOE), k_lcp_echo_interval },
	{ "lcp-echo-failure", SEC_UPLINK, T(CFG_PPPOE), k_lcp_echo_failure },
	{ "token", SEC_UPLINK, T(CFG_IPOE), k_token },
	{ "prefix", SEC_UPLINK, T(CFG_IPOE), k_prefix },
	{ "over", SEC_UPLINK, T(CFG_DSLITE) | T(CFG_IPIP6) | T(CFG_MAPE), k_over },
	{ "aftr", SEC_UPLINK, T(CFG_DSLITE), k_aftr },
	{ "b4", SEC_UPLINK, T(CFG_DSLITE), k_b4 },
	{ "remote", SEC_UPLINK, T(CFG_IPIP6), k_remote },
	{ "update-url", SEC_UPLINK, T(CFG_IPIP6), k_update_url },
	{ "update-interval", SEC_UPLINK, T(CFG_IPIP6), k_update_interval },
	{ "rule", SEC_UPLINK, T(CFG_MAPE), k_rule },
	{ "rule-ipv6", SEC_UPLINK, T(CFG_MAPE), k_rule_ipv6 },
	{ "rule-ipv4", SEC_UPLINK, T(CFG_MAPE), k_rule_ipv4 },
	{ "ea-len", SEC_UPLINK, T(CFG_MAPE), k_ea_len },
	{ "psid-offset", SEC_UPLINK, T(CFG_MAPE), k_psid_offset },
	{ "psid-len", SEC_UPLINK, T(CFG_MAPE), k_psid_len },
	{ "br", SEC_UPLINK, T(CFG_MAPE), k_br },
	{ "iid", SEC_UPLINK, T(CFG_MAPE), k_iid },
	{ "gateway", SEC_UPLINK, T(CFG_STATIC), k_gateway },
	{ "gateway6", SEC_UPLINK, T(CFG_STATIC), k_gateway6 },
	{ "check", SEC_UPLINK, T_ALL, k_check },
	{ "check-interval", SEC_UPLINK, T_ALL, k_check_interval },
	{ "check-fail", SEC_UPLINK, T_ALL, k_check_fail },
	{ "check-recover", SEC_UPLINK, T_ALL, k_check_recover },
	{ "accept", SEC_UPLINK, T_ALL, k_accept },
	{ "active-if", SEC_UPLINK, T_ALL, k_uplink_active_if },

	{ "from", SEC_POLICY, 0, k_from },
	{ "to", SEC_POLICY, 0, k_to },
	{ "proto", SEC_POLICY, 0, k_proto },
	{ "dport", SEC_POLICY, 0, k_dport },
	{ "uplink", SEC_POLICY, 0, k_policy_uplink },
	{ "fallback", SEC_POLICY, 0, k_fallback },
};
const size_t cfg_key_count = ARRAY_SIZE(cfg_keys);

_Static_assert(ARRAY_SIZE(cfg_keys) <= CFG_KEY_SLOTS, "CFG_KEY_SLOTS too small");

const struct cfg_key *cfg_key_find(enum cfg_section_kind sec, const char *name)
{
	for (size_t i = 0; i < cfg_key_count; i++) {
		if (cfg_keys[i].section == sec && !strcmp(cfg_keys[i].name, name))
			return &cfg_keys[i];
	}
	return NULL;
}

const char *cfg_key_suggest(enum cfg_section_kind sec, const char *name)
{
	const char *best = NULL;
	unsigned best_d = 4;

	for (size_t i = 0; i < cfg_key_count; i++) {
		unsigned d;

		if (cfg_keys[i].section != sec)
			continue;
		d = edit_distance(name, cfg_keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = cfg_keys[i].name;
		}
	}
	return best;
}
