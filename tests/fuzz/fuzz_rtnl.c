// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for what the kernel tells uplinkd over rtnetlink: any bytes as a stream of
 * netlink messages (each copied to a buffer of exactly its length).  Links, addresses, routes and
 * rules go through lib/rtnl.c's parser into a kview, as a dump would put them; RTM_NEWNDUSEROPT
 * through the RDNSS parser the daemon's events use (router advertisements are the kernel's: what
 * uplinkd learns from them arrives as these address, route and option messages).  The kview then
 * goes the reconcile's way: facts, plan, diff, with a configuration of every IPoE-side uplink
 * type.  The entries must be sane (names terminated, prefix lengths in range for the family).
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "diff.h"
#include "fuzz.h"
#include "observe.h"
#include "plan.h"
#include "rtnl.h"

static const char conf_text[] =
	"[global]\nlan = br0\n"
	"[uplink wan]\ntype = ipoe\ndevice = wan0\n"
	"[uplink ds]\ntype = dslite\nover = wan\naftr = 2404:8e00::feed:100\n"
	"[uplink map]\ntype = mape\nover = wan\nrule = auto\n"
	"[uplink ocn]\ntype = mape\nover = wan\nrule-ipv6 = 2400:4050::/34\nrule-ipv4 = 153.240.0.0/16\n"
	"ea-len = 22\npsid-offset = 6\nbr = 2001:380:a120::9\niid = draft03\n";

static struct config *cfg;

static struct config *load_conf(void)
{
	struct cfg_diags d;
	struct config *c;
	char path[64];
	int fd = memfd_create("uplinkd.conf", 0);

	if (fd < 0 || write(fd, conf_text, sizeof(conf_text) - 1) != (ssize_t)(sizeof(conf_text) - 1))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	c = cfg_load(path, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.v[i].text);
	cfg_diags_free(&d);
	close(fd);
	if (!c)
		abort();
	return c;
}

static void check_prefix(const struct ip_prefix *p, bool may_be_empty)
{
	if (may_be_empty && !p->addr.family)
		return;
	ensure(p->addr.family == AF_INET || p->addr.family == AF_INET6);
	ensure(p->len <= (p->addr.family == AF_INET ? 32 : 128));
}

static void check_kview(const struct kview *kv)
{
	for (size_t i = 0; i < kv->links.n; i++) {
		const struct kv_link *l = &kv->links.v[i];

		ensure(memchr(l->name, '\0', sizeof(l->name)));
		ensure(memchr(l->kind, '\0', sizeof(l->kind)));
		ensure(memchr(l->alias, '\0', sizeof(l->alias)));
	}
	for (size_t i = 0; i < kv->addrs.n; i++)
		check_prefix(&kv->addrs.v[i].addr, true);
	for (size_t i = 0; i < kv->routes.n; i++)
		check_prefix(&kv->routes.v[i].dst, false);
	for (size_t i = 0; i < kv->rules.n; i++) {
		ensure(kv->rules.v[i].family == AF_INET || kv->rules.v[i].family == AF_INET6);
		if (kv->rules.v[i].has_src)
			check_prefix(&kv->rules.v[i].src, false);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct own_state own = { .protocol = 117 };
	struct kview kv = { 0 };
	struct changes ch = { 0 };
	struct facts f;
	struct plan p;
	struct ul_err e;

	if (!cfg)
		cfg = load_conf();
	while (size >= NLMSG_HDRLEN) {
		struct nlmsghdr h, *nlh;

		memcpy(&h, data, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > size)
			break;
		nlh = malloc(h.nlmsg_len);
		if (!nlh)
			abort();
		memcpy(nlh, data, h.nlmsg_len);
		if (nlh->nlmsg_type == RTM_NEWNDUSEROPT) {
			struct in6_addr servers[3];

			ensure(rtnl_useropt_rdnss(nlh, servers, 3) <= 3);
		} else {
			int r = rtnl_parse(nlh, &kv, 117);

			ensure(r == 0 || r == -EINVAL);
		}
		free(nlh);
		data += NLMSG_ALIGN(h.nlmsg_len) < size ? NLMSG_ALIGN(h.nlmsg_len) : size;
		size -= NLMSG_ALIGN(h.nlmsg_len) < size ? NLMSG_ALIGN(h.nlmsg_len) : size;
	}
	check_kview(&kv);

	if (facts_init(&f, cfg))
		abort();
	facts_observe(cfg, &kv, &own, NULL, &f);
	if (plan_build(cfg, &f, &p, &e) == 0) {
		int r = diff_build(&p, &kv, &own, false, &ch, &e);

		ensure(r == 0 || r == -EEXIST);
		if (r == -EEXIST)
			ensure(e.msg[0]);
		changes_free(&ch);
		plan_free(&p);
	} else {
		ensure(e.msg[0]);
	}
	facts_free(&f);
	kview_free(&kv);
	return 0;
}
