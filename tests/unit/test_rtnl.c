// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lib/rtnl.c's parsers: rtnetlink messages as a dump returns them into the kview, the RDNSS of a
 * router advertisement's options (RTM_NEWNDUSEROPT), and dumps that free what they allocate.
 * Each message is parsed at the very end of a page followed by an inaccessible one, so a read
 * past the message faults.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <malloc.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rtnl.h"

/* From <linux/if_tunnel.h>, which clashes with <net/if.h>. */
enum { TNL_LINK = 1, TNL_LOCAL = 2, TNL_REMOTE = 3, TNL_PROTO = 9 };

static char buf[8192] __attribute__((aligned(8)));

/* The message, copied so that it ends where the readable memory ends. */
static struct nlmsghdr *guarded(const struct nlmsghdr *nlh)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert(p != MAP_FAILED);
	ck_assert_int_le(nlh->nlmsg_len, page);
	ck_assert_int_eq(mprotect(p + page, (size_t)page, PROT_NONE), 0);
	return memcpy(p + page - nlh->nlmsg_len, nlh, nlh->nlmsg_len);
}

static struct nlmsghdr *msg_new(uint16_t type, size_t hdr_len, void **hdr)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(memset(buf, 0, sizeof(buf)));

	nlh->nlmsg_type = type;
	*hdr = mnl_nlmsg_put_extra_header(nlh, hdr_len);
	return nlh;
}

static void in6(struct in6_addr *a, const char *s)
{
	ck_assert_int_eq(inet_pton(AF_INET6, s, a), 1);
}

static int parse(const struct nlmsghdr *nlh, struct kview *kv)
{
	return rtnl_parse(guarded(nlh), kv, 117);
}

static struct nlmsghdr *link_msg(int ifindex, const char *name)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = msg_new(RTM_NEWLINK, sizeof(*ifi), (void **)&ifi);

	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	return nlh;
}

START_TEST(link_vlan_and_tunnel)
{
	struct kview kv = { 0 };
	struct nlmsghdr *nlh = link_msg(5, "wan0.1000");
	struct nlattr *info, *data;
	struct in6_addr local, remote;

	mnl_attr_put_u32(nlh, IFLA_LINK, 2);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u16(nlh, IFLA_VLAN_ID, 1000);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	ck_assert_int_eq(parse(nlh, &kv), 0);

	in6(&local, "240b:10::1");
	in6(&remote, "2404:8e00::feed:100");
	nlh = link_msg(6, "ds");
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "ip6tnl");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, TNL_LINK, 5);
	mnl_attr_put(nlh, TNL_LOCAL, 16, &local);
	mnl_attr_put(nlh, TNL_REMOTE, 16, &remote);
	mnl_attr_put_u8(nlh, TNL_PROTO, IPPROTO_IPIP);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	ck_assert_int_eq(parse(nlh, &kv), 0);

	ck_assert_uint_eq(kv.links.n, 2);
	ck_assert_str_eq(kv.links.v[0].name, "wan0.1000");
	ck_assert_str_eq(kv.links.v[0].kind, "vlan");
	ck_assert_uint_eq(kv.links.v[0].vlan_id, 1000);
	ck_assert_int_eq(kv.links.v[0].link, 2);
	ck_assert_str_eq(kv.links.v[1].kind, "ip6tnl");
	ck_assert(!memcmp(&kv.links.v[1].remote, &remote, 16));
	ck_assert_int_eq(kv.links.v[1].link, 5);
	ck_assert_uint_eq(kv.links.v[1].tnl_proto, IPPROTO_IPIP);
	kview_free(&kv);
}
END_TEST

/* Found by fuzz_rtnl: libnl dereferences the VLAN/tunnel data it did not get. */
START_TEST(link_kind_without_data)
{
	static const char *const kinds[] = { "vlan", "ip6tnl" };
	struct kview kv = { 0 };

	for (size_t i = 0; i < 2; i++) {
		struct nlmsghdr *nlh = link_msg(5, "odd");
		struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);

		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kinds[i]);
		/* statistics without data: libnl parsed the data it did not get (fuzz_rtnl) */
		mnl_attr_put_u32(nlh, IFLA_INFO_XSTATS, 0);
		/* and a slave kind without its NUL, which libnl copied with strdup (fuzz_rtnl) */
		mnl_attr_put(nlh, IFLA_INFO_SLAVE_KIND, 4, "bond");
		mnl_attr_nest_end(nlh, info);
		ck_assert_int_eq(parse(nlh, &kv), 0);
		ck_assert_uint_eq(kv.links.n, i + 1);
		ck_assert_str_eq(kv.links.v[i].kind, kinds[i]);
		ck_assert_uint_eq(kv.links.v[i].vlan_id, 0);
	}
	kview_free(&kv);
}
END_TEST

static struct nlmsghdr *addr_msg(int family, unsigned plen, const void *a, size_t alen)
{
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh = msg_new(RTM_NEWADDR, sizeof(*ifa), (void **)&ifa);

	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)plen;
	ifa->ifa_index = 2;
	mnl_attr_put(nlh, IFA_ADDRESS, alen, a);
	return nlh;
}

/* Found by fuzz_rtnl: a prefix length past the family's width reached the kview. */
START_TEST(addr_prefix_length_checked)
{
	struct kview kv = { 0 };
	struct nlmsghdr *nlh;
	struct in6_addr a;
	uint32_t a4 = htonl(0xc0000201);

	in6(&a, "240b:10::feed");
	ck_assert_int_eq(parse(addr_msg(AF_INET6, 64, &a, 16), &kv), 0);
	ck_assert_int_eq(parse(addr_msg(AF_INET6, 129, &a, 16), &kv), 0);
	ck_assert_int_eq(parse(addr_msg(AF_INET, 33, &a4, 4), &kv), 0);
	ck_assert_int_eq(parse(addr_msg(AF_INET, 24, &a4, 4), &kv), 0);
	/* and addresses shorter than the family's (fuzz_rtnl: libnl compared 4 bytes of 2) */
	nlh = addr_msg(AF_INET, 32, &a4, 2);
	mnl_attr_put(nlh, IFA_LOCAL, 4, &a4);
	ck_assert_int_eq(parse(nlh, &kv), 0);
	ck_assert_uint_eq(kv.addrs.n, 2);
	ck_assert_uint_eq(kv.addrs.v[0].addr.len, 64);
	ck_assert_uint_eq(kv.addrs.v[1].addr.len, 24);
	kview_free(&kv);
}
END_TEST

static struct nlmsghdr *rule_msg(int family, unsigned src_len)
{
	struct fib_rule_hdr *frh;
	struct nlmsghdr *nlh = msg_new(RTM_NEWRULE, sizeof(*frh), (void **)&frh);

	frh->family = (uint8_t)family;
	frh->src_len = (uint8_t)src_len;
	frh->action = FR_ACT_TO_TBL;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, 10001);
	mnl_attr_put_u32(nlh, FRA_TABLE, 100);
	return nlh;
}

START_TEST(rule_fields)
{
	struct kview kv = { 0 };
	struct in6_addr a;
	struct nlmsghdr *nlh = rule_msg(AF_INET6, 64);

	in6(&a, "240b:10::");
	mnl_attr_put(nlh, FRA_SRC, 16, &a);
	mnl_attr_put_u32(nlh, FRA_FWMARK, 0x10000);
	mnl_attr_put_u32(nlh, FRA_FWMASK, 0xff0000);
	mnl_attr_put_u8(nlh, FRA_PROTOCOL, 117);
	ck_assert_int_eq(parse(nlh, &kv), 0);
	ck_assert_uint_eq(kv.rules.n, 1);
	ck_assert_uint_eq(kv.rules.v[0].priority, 10001);
	ck_assert_uint_eq(kv.rules.v[0].table, 100);
	ck_assert_uint_eq(kv.rules.v[0].protocol, 117);
	ck_assert_uint_eq(kv.rules.v[0].fwmask, 0xff0000);
	ck_assert(kv.rules.v[0].has_src);
	ck_assert_uint_eq(kv.rules.v[0].src.len, 64);
	ck_assert(!memcmp(kv.rules.v[0].src.addr.b, &a, 16));
	kview_free(&kv);
}
END_TEST

/*
 * A rule's source shorter than its family's address, attributes shorter than their type, a
 * source length past the width: the rule is left out, nothing is read past the message.
 */
START_TEST(rule_lengths_checked)
{
	struct kview kv = { 0 };
	struct nlmsghdr *nlh;
	uint32_t a4 = htonl(0xc0000201);
	uint8_t one = 1;

	nlh = rule_msg(AF_INET6, 64);
	mnl_attr_put(nlh, FRA_SRC, 4, &a4);
	ck_assert_int_eq(parse(nlh, &kv), 0);
	nlh = rule_msg(AF_INET, 33);
	mnl_attr_put(nlh, FRA_SRC, 4, &a4);
	ck_assert_int_eq(parse(nlh, &kv), 0);
	nlh = rule_msg(AF_INET, 0);
	mnl_attr_put(nlh, FRA_FWMARK, 1, &one);
	ck_assert_int_eq(parse(nlh, &kv), 0);
	ck_assert_uint_eq(kv.rules.n, 0);
	kview_free(&kv);
}
END_TEST

static struct nlmsghdr *useropt_msg(const uint8_t *opts, size_t len)
{
	struct nduseroptmsg *m;
	struct nlmsghdr *nlh = msg_new(RTM_NEWNDUSEROPT, sizeof(*m), (void **)&m);

	m->nduseropt_family = AF_INET6;
	m->nduseropt_opts_len = (uint16_t)len;
	memcpy(mnl_nlmsg_get_payload_tail(nlh), opts, len);
	nlh->nlmsg_len += (uint32_t)len;
	return nlh;
}

START_TEST(useropt_rdnss)
{
	uint8_t opts[48] = { 25, 5, 0, 0, 0, 0, 0x0e, 0x10 };
	struct in6_addr s[3], want;

	in6(&want, "2404:1a8:7f01:a::3");
	memcpy(opts + 8, &want, 16);
	in6(&want, "2404:1a8:7f01:b::3");
	memcpy(opts + 24, &want, 16);
	opts[40] = 24; /* a route information option after it */
	opts[41] = 1;
	ck_assert_uint_eq(rtnl_useropt_rdnss(guarded(useropt_msg(opts, 48)), s, 3), 2);
	ck_assert(!memcmp(&s[1], &want, 16));
	ck_assert_uint_eq(rtnl_useropt_rdnss(guarded(useropt_msg(opts, 48)), s, 1), 1);
	memset(opts + 4, 0, 4); /* lifetime 0: withdrawn */
	ck_assert_uint_eq(rtnl_useropt_rdnss(guarded(useropt_msg(opts, 48)), s, 3), 0);
	opts[1] = 7; /* longer than the options */
	ck_assert_uint_eq(rtnl_useropt_rdnss(guarded(useropt_msg(opts, 48)), s, 3), 0);
}
END_TEST

/* Found by fuzz_rtnl: a message shorter than its own header was read past its end. */
START_TEST(useropt_short)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(memset(buf, 0, sizeof(buf)));
	struct in6_addr s[3];

	nlh->nlmsg_type = RTM_NEWNDUSEROPT;
	ck_assert_uint_eq(rtnl_useropt_rdnss(guarded(nlh), s, 3), 0);
}
END_TEST

/*
 * A dump in a network namespace of the test's own frees all it allocated: after 50 (which fill
 * the allocator's caches) 100 more leave the heap as it was (each used to keep the socket's
 * callbacks: 240 bytes).
 */
START_TEST(dump_frees_everything)
{
	struct kview kv = { 0 };
	struct ul_err e;
	size_t before = 0;

	if (geteuid() != 0 || unshare(CLONE_NEWNET)) {
		fprintf(stderr, "dump_frees_everything: skipped (needs root)\n");
		return;
	}
	for (int i = 0; i < 150; i++) {
		struct rtnl *r;

		ck_assert_int_eq(rtnl_open(&r, &e), 0);
		ck_assert_int_eq(rtnl_dump(r, &kv, 117, NULL, 0, &e), 0);
		ck_assert_uint_eq(kv.links.n, 1); /* lo */
		rtnl_close(r);
		kview_free(&kv);
		if (i == 49)
			before = mallinfo2().uordblks;
	}
	ck_assert_uint_le(mallinfo2().uordblks, before + 1024);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rtnl");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, link_vlan_and_tunnel);
	tcase_add_test(tc, link_kind_without_data);
	tcase_add_test(tc, addr_prefix_length_checked);
	tcase_add_test(tc, rule_fields);
	tcase_add_test(tc, rule_lengths_checked);
	tcase_add_test(tc, useropt_rdnss);
	tcase_add_test(tc, useropt_short);
	tcase_add_test(tc, dump_frees_everything);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
