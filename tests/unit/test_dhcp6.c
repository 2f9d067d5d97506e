/*
 * The DHCPv6-PD client, sans I/O: hand-built server messages in, the client's messages out,
 * time driven by the test.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp6.h"

#define IAID 0x11223344u
#define SEED 42u
#define T0 100000u

static const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t srv_a[] = { 0x00, 0x02, 0x00, 0x00, 0x7e, 0x99, 'a' };
static const uint8_t srv_b[] = { 0x00, 0x02, 0x00, 0x00, 0x7e, 0x99, 'b' };

/* ---- building server messages ---- */

struct pkt {
	uint8_t b[1024];
	size_t len;
};

static void p_u8(struct pkt *p, uint8_t v)
{
	p->b[p->len++] = v;
}

static void p_u16(struct pkt *p, uint16_t v)
{
	p_u8(p, (uint8_t)(v >> 8));
	p_u8(p, (uint8_t)v);
}

static void p_u32(struct pkt *p, uint32_t v)
{
	p_u16(p, (uint16_t)(v >> 16));
	p_u16(p, (uint16_t)v);
}

static void p_bytes(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

static void p_opt(struct pkt *p, uint16_t code, const void *d, size_t n)
{
	p_u16(p, code);
	p_u16(p, (uint16_t)n);
	p_bytes(p, d, n);
}

/* Opens an option whose length p_close fills in. */
static size_t p_open(struct pkt *p, uint16_t code)
{
	p_u16(p, code);
	p_u16(p, 0);
	return p->len;
}

static void p_close(struct pkt *p, size_t at)
{
	size_t n = p->len - at;

	p->b[at - 2] = (uint8_t)(n >> 8);
	p->b[at - 1] = (uint8_t)n;
}

static void p_status(struct pkt *p, uint16_t code, const char *text)
{
	size_t at = p_open(p, 13);

	p_u16(p, code);
	p_bytes(p, text, strlen(text));
	p_close(p, at);
}

static void p_iaprefix(struct pkt *p, uint32_t pref, uint32_t valid, uint8_t len, const char *addr)
{
	struct in6_addr a;

	ck_assert_int_eq(inet_pton(AF_INET6, addr, &a), 1);
	p_u16(p, 26);
	p_u16(p, 25);
	p_u32(p, pref);
	p_u32(p, valid);
	p_u8(p, len);
	p_bytes(p, &a, 16);
}

static size_t p_ia_pd(struct pkt *p, uint32_t iaid, uint32_t t1, uint32_t t2)
{
	size_t at = p_open(p, 25);

	p_u32(p, iaid);
	p_u32(p, t1);
	p_u32(p, t2);
	return at;
}

/* A header answering the client's last message, with its Client ID and a Server ID. */
static void p_head(struct pkt *p, uint8_t type, const uint8_t *to, const uint8_t *srv, size_t srv_len)
{
	uint8_t duid[10];

	p->len = 0;
	p_u8(p, type);
	p_bytes(p, to + 1, 3);
	p_opt(p, 1, duid, dhcp6_duid_ll(mac, duid));
	p_opt(p, 2, srv, srv_len);
}

/* A whole message: one IA_PD with one prefix, as servers usually send. */
static void p_simple(struct pkt *p, uint8_t type, const uint8_t *to, const uint8_t *srv,
		     uint32_t t1, uint32_t t2, uint32_t pref, uint32_t valid, const char *prefix)
{
	size_t ia;

	p_head(p, type, to, srv, sizeof(srv_a));
	ia = p_ia_pd(p, IAID, t1, t2);
	p_iaprefix(p, pref, valid, 56, prefix);
	p_close(p, ia);
}

/* ---- reading the client's messages ---- */

struct out {
	uint8_t b[1024];
	size_t len;
};

static struct dhcp6_client *mk_client(uint8_t hint)
{
	uint8_t duid[10];
	struct dhcp6_client *c = dhcp6_new(duid, dhcp6_duid_ll(mac, duid), IAID, hint, SEED);

	ck_assert_ptr_nonnull(c);
	return c;
}

static bool take(struct dhcp6_client *c, struct out *o)
{
	o->len = sizeof(o->b);
	return dhcp6_output(c, o->b, &o->len);
}

static void expect_none(struct dhcp6_client *c)
{
	struct out o;

	ck_assert_msg(!take(c, &o), "unexpected message type %u", o.b[0]);
}

static void expect(struct dhcp6_client *c, uint8_t type, struct out *o)
{
	struct out extra;

	ck_assert_msg(take(c, o), "no message, expected type %u", type);
	ck_assert_uint_eq(o->b[0], type);
	ck_assert(!take(c, &extra));
}

/* The option code's body in a client message (top level), NULL if absent. */
static const uint8_t *find_opt(const struct out *o, uint16_t code, size_t *len)
{
	size_t at = 4;

	while (at + 4 <= o->len) {
		uint16_t c = (uint16_t)(o->b[at] << 8 | o->b[at + 1]);
		size_t n = (size_t)(o->b[at + 2] << 8 | o->b[at + 3]);

		ck_assert_uint_le(at + 4 + n, o->len);
		if (c == code) {
			*len = n;
			return o->b + at + 4;
		}
		at += 4 + n;
	}
	ck_assert_uint_eq(at, o->len);
	return NULL;
}

static unsigned elapsed(const struct out *o)
{
	size_t n;
	const uint8_t *d = find_opt(o, 8, &n);

	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(n, 2);
	return (unsigned)(d[0] << 8 | d[1]);
}

static bool has_server_id(const struct out *o, const uint8_t *srv, size_t srv_len)
{
	size_t n;
	const uint8_t *d = find_opt(o, 2, &n);

	if (!d)
		return false;
	ck_assert_uint_eq(n, srv_len);
	ck_assert(!memcmp(d, srv, n));
	return true;
}

/* The IA_PD's IA Prefix as "addr/len", or "" when the IA_PD has none. */
static const char *ia_prefix(const struct out *o)
{
	static char buf[64];
	char a[INET6_ADDRSTRLEN];
	size_t n;
	const uint8_t *d = find_opt(o, 25, &n);

	ck_assert_ptr_nonnull(d);
	ck_assert_uint_ge(n, 12);
	ck_assert_uint_eq((uint32_t)d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3], IAID);
	if (n == 12)
		return "";
	ck_assert_uint_eq(n, 12 + 4 + 25);
	ck_assert_uint_eq(d[12] << 8 | d[13], 26);
	inet_ntop(AF_INET6, d + 25, a, sizeof(a));
	snprintf(buf, sizeof(buf), "%s/%u", a, d[24]);
	return buf;
}

static const char *lease_prefix(struct dhcp6_client *c)
{
	static char buf[PREFIX_STRLEN];
	const struct dhcp6_lease *l = dhcp6_lease(c);

	ck_assert(l->valid);
	ck_assert_int_eq(l->prefix.addr.family, AF_INET6);
	return prefix_fmt(&l->prefix, buf);
}

/* Start at T0 and take the first Solicit at the deadline. */
static uint64_t solicit(struct dhcp6_client *c, struct out *o)
{
	uint64_t t;

	dhcp6_start(c, T0);
	t = dhcp6_deadline(c);
	ck_assert_uint_ge(t, T0);
	ck_assert_uint_le(t, T0 + 100);
	dhcp6_tick(c, t);
	expect(c, 1, o);
	return t;
}

/* Solicit, Advertise, Request, Reply: bound with the given Reply's times. */
static uint64_t get_bound(struct dhcp6_client *c, uint32_t t1, uint32_t t2, uint32_t pref, uint32_t valid)
{
	struct out o;
	struct pkt p;
	uint64_t t = solicit(c, &o);

	p_simple(&p, 2, o.b, srv_a, 0, 0, 200, 400, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 5);
	t = dhcp6_deadline(c);
	dhcp6_tick(c, t);
	expect(c, 3, &o);
	p_simple(&p, 7, o.b, srv_a, t1, t2, pref, valid, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 10);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert(dhcp6_lease_changed(c));
	expect_none(c);
	return t + 10;
}

/* ---- tests ---- */

START_TEST(solicit_bytes)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o;
	uint64_t t0, t;
	/*
	 * 01                      Solicit
	 * 66 f1 03                transaction id (from seed 42)
	 * 00 01 00 0a             Client Identifier, 10 bytes:
	 *   00 03 00 01           DUID-LL, hardware type 1 (Ethernet)
	 *   02 00 00 00 00 01     the MAC
	 * 00 08 00 02 00 00       Elapsed Time 0 (the first message of the exchange)
	 * 00 06 00 06             Option Request, 6 bytes:
	 *   00 17 00 52 00 53     DNS servers (23), SOL_MAX_RT (82), INF_MAX_RT (83)
	 * 00 0e 00 00             Rapid Commit
	 * 00 19 00 29             IA_PD, 41 bytes:
	 *   11 22 33 44           IAID
	 *   00 00 00 00 00 00 00 00   T1 0, T2 0
	 *   00 1a 00 19           IA Prefix, 25 bytes:
	 *     00 00 00 00 00 00 00 00   preferred 0, valid 0
	 *     38                  prefix length 56
	 *     00 * 16             ::
	 */
	static const uint8_t want[] = {
		0x01, 0x66, 0xf1, 0x03,
		0x00, 0x01, 0x00, 0x0a, 0x00, 0x03, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x08, 0x00, 0x02, 0x00, 0x00,
		0x00, 0x06, 0x00, 0x06, 0x00, 0x17, 0x00, 0x52, 0x00, 0x53,
		0x00, 0x0e, 0x00, 0x00,
		0x00, 0x19, 0x00, 0x29, 0x11, 0x22, 0x33, 0x44,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x1a, 0x00, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};

	ck_assert_int_eq(dhcp6_state(c), DHCP6_IDLE);
	ck_assert_str_eq(dhcp6_state_name(DHCP6_IDLE), "idle");
	ck_assert_uint_eq(dhcp6_deadline(c), 0);
	t0 = solicit(c, &o);
	ck_assert_uint_eq(t0, T0 + 23);
	ck_assert_uint_eq(o.len, sizeof(want));
	ck_assert_msg(!memcmp(o.b, want, sizeof(want)), "Solicit differs");
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	ck_assert_str_eq(dhcp6_state_name(dhcp6_state(c)), "solicit");
	/* nothing until the first RT (1.085 s with this seed) */
	dhcp6_tick(c, t0 + 1000);
	expect_none(c);
	t = dhcp6_deadline(c);
	ck_assert_uint_eq(t, t0 + 1085);
	dhcp6_tick(c, t);
	expect(c, 1, &o);
	ck_assert(!memcmp(o.b, want, 4));
	ck_assert_uint_eq(elapsed(&o), (t - t0) / 10);
	dhcp6_free(c);
}
END_TEST

START_TEST(no_hint)
{
	struct dhcp6_client *c = mk_client(0);
	struct out o;

	solicit(c, &o);
	ck_assert_str_eq(ia_prefix(&o), "");
	ck_assert(!has_server_id(&o, NULL, 0));
	dhcp6_free(c);
}
END_TEST

START_TEST(full_exchange)
{
	struct dhcp6_client *c = mk_client(56);
	const struct dhcp6_lease *l;
	struct out o, req;
	struct pkt p;
	uint64_t t0, t;
	size_t n;

	t0 = solicit(c, &o);
	p_simple(&p, 2, o.b, srv_a, 0, 0, 200, 400, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t0 + 5);
	/* Advertises are collected for the first RT */
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	t = dhcp6_deadline(c);
	ck_assert_uint_gt(t, t0 + 1000);
	ck_assert_uint_le(t, t0 + 1100);
	dhcp6_tick(c, t);
	expect(c, 3, &req);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_REQUEST);
	ck_assert(memcmp(req.b + 1, o.b + 1, 3));
	ck_assert(has_server_id(&req, srv_a, sizeof(srv_a)));
	ck_assert_str_eq(ia_prefix(&req), "2001:db8:1200::/56");
	ck_assert_uint_eq(elapsed(&req), 0);
	ck_assert_ptr_nonnull(find_opt(&req, 6, &n));
	ck_assert_ptr_null(find_opt(&req, 14, &n));

	p_simple(&p, 7, req.b, srv_a, 1800, 2880, 3600, 7200, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 20);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert(dhcp6_lease_changed(c));
	ck_assert(!dhcp6_lease_changed(c));
	l = dhcp6_lease(c);
	ck_assert_str_eq(lease_prefix(c), "2001:db8:1200::/56");
	ck_assert_uint_eq(l->preferred_s, 3600);
	ck_assert_uint_eq(l->valid_s, 7200);
	ck_assert_uint_eq(l->t1_s, 1800);
	ck_assert_uint_eq(l->t2_s, 2880);
	ck_assert_uint_eq(l->obtained_ms, t + 20);
	ck_assert_uint_eq(l->server_id_len, sizeof(srv_a));
	ck_assert(!memcmp(l->server_id, srv_a, sizeof(srv_a)));
	ck_assert_str_eq(dhcp6_last_error(c), "");
	ck_assert_uint_eq(dhcp6_deadline(c), t + 20 + 1800 * 1000);
	/* a late duplicate Reply changes nothing */
	dhcp6_input(c, p.b, p.len, t + 30);
	expect_none(c);
	ck_assert(!dhcp6_lease_changed(c));
	dhcp6_free(c);
}
END_TEST

START_TEST(rapid_commit)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o;
	struct pkt p;
	uint64_t t0;

	t0 = solicit(c, &o);
	/* a Reply to a Solicit counts only with Rapid Commit */
	p_simple(&p, 7, o.b, srv_a, 100, 160, 200, 400, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t0 + 5);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	p_opt(&p, 14, NULL, 0);
	dhcp6_input(c, p.b, p.len, t0 + 6);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert(dhcp6_lease_changed(c));
	ck_assert_str_eq(lease_prefix(c), "2001:db8:1200::/56");
	ck_assert_uint_eq(dhcp6_deadline(c), t0 + 6 + 100 * 1000);
	dhcp6_free(c);
}
END_TEST

START_TEST(preference)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o, req;
	struct pkt p;
	uint64_t t0;
	uint8_t pref;

	t0 = solicit(c, &o);
	p_simple(&p, 2, o.b, srv_a, 0, 0, 200, 400, "2001:db8:a00::");
	pref = 10;
	p_opt(&p, 7, &pref, 1);
	dhcp6_input(c, p.b, p.len, t0 + 5);
	p_simple(&p, 2, o.b, srv_b, 0, 0, 200, 400, "2001:db8:b00::");
	pref = 20;
	p_opt(&p, 7, &pref, 1);
	dhcp6_input(c, p.b, p.len, t0 + 6);
	/* a lower one after them does not win */
	p_simple(&p, 2, o.b, srv_a, 0, 0, 200, 400, "2001:db8:c00::");
	dhcp6_input(c, p.b, p.len, t0 + 7);
	expect_none(c);
	dhcp6_tick(c, dhcp6_deadline(c));
	expect(c, 3, &req);
	ck_assert(has_server_id(&req, srv_b, sizeof(srv_b)));
	ck_assert_str_eq(ia_prefix(&req), "2001:db8:b00::/56");

	/* 255: at once, without waiting for the others */
	dhcp6_stop(c, t0 + 2000);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_IDLE);
	ck_assert_uint_eq(dhcp6_deadline(c), 0);
	dhcp6_start(c, t0 + 3000);
	dhcp6_tick(c, dhcp6_deadline(c));
	expect(c, 1, &o);
	p_simple(&p, 2, o.b, srv_a, 0, 0, 200, 400, "2001:db8:a00::");
	pref = 255;
	p_opt(&p, 7, &pref, 1);
	dhcp6_input(c, p.b, p.len, t0 + 3200);
	expect(c, 3, &req);
	ck_assert(has_server_id(&req, srv_a, sizeof(srv_a)));
	dhcp6_free(c);
}
END_TEST

START_TEST(no_prefix_avail)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o, req;
	struct pkt p;
	uint64_t t0, t;
	size_t ia;

	t0 = solicit(c, &o);
	/* NoPrefixAvail inside the IA_PD */
	p_head(&p, 2, o.b, srv_a, sizeof(srv_a));
	ia = p_ia_pd(&p, IAID, 0, 0);
	p_status(&p, 6, "no prefixes\n for you");
	p_close(&p, ia);
	dhcp6_input(c, p.b, p.len, t0 + 5);
	ck_assert_str_eq(dhcp6_last_error(c), "server says NoPrefixAvail: no prefixes? for you");
	/* at the top level, even with a prefix */
	p_simple(&p, 2, o.b, srv_a, 0, 0, 200, 400, "2001:db8:a00::");
	p_status(&p, 6, "");
	dhcp6_input(c, p.b, p.len, t0 + 6);
	ck_assert_str_eq(dhcp6_last_error(c), "server says NoPrefixAvail");
	/* an IA_PD without an IA Prefix, another IAID's, one with a zero lifetime, none at all */
	p_head(&p, 2, o.b, srv_a, sizeof(srv_a));
	ia = p_ia_pd(&p, IAID, 0, 0);
	p_close(&p, ia);
	dhcp6_input(c, p.b, p.len, t0 + 7);
	p_head(&p, 2, o.b, srv_a, sizeof(srv_a));
	ia = p_ia_pd(&p, IAID + 1, 0, 0);
	p_iaprefix(&p, 0, 0, 56, "2001:db8:a00::");
	p_close(&p, ia);
	dhcp6_input(c, p.b, p.len, t0 + 8);
	p_simple(&p, 2, o.b, srv_a, 0, 0, 0, 0, "2001:db8:a00::");
	dhcp6_input(c, p.b, p.len, t0 + 9);
	p_head(&p, 2, o.b, srv_a, sizeof(srv_a));
	dhcp6_input(c, p.b, p.len, t0 + 9);
	/* preferred above valid, prefix length beyond 128 */
	p_simple(&p, 2, o.b, srv_a, 0, 0, 500, 400, "2001:db8:a00::");
	dhcp6_input(c, p.b, p.len, t0 + 10);
	p_simple(&p, 2, o.b, srv_a, 0, 0, 0, 400, "2001:db8:a00::");
	p.b[p.len - 17] = 129;
	dhcp6_input(c, p.b, p.len, t0 + 11);
	/* none was taken: the first RT passes into a retransmitted Solicit */
	t = dhcp6_deadline(c);
	dhcp6_tick(c, t);
	expect(c, 1, &o);
	/* past the first RT, the first usable Advertise is taken at once */
	p_simple(&p, 2, o.b, srv_b, 0, 0, 200, 400, "2001:db8:b00::");
	dhcp6_input(c, p.b, p.len, t + 50);
	expect(c, 3, &req);
	ck_assert(has_server_id(&req, srv_b, sizeof(srv_b)));

	/* NoPrefixAvail in the Reply to a Request: back to Solicit, after a pause */
	p_head(&p, 7, req.b, srv_b, sizeof(srv_b));
	ia = p_ia_pd(&p, IAID, 0, 0);
	p_status(&p, 6, "gone");
	p_close(&p, ia);
	dhcp6_input(c, p.b, p.len, t + 60);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	ck_assert_str_eq(dhcp6_last_error(c), "server says NoPrefixAvail: gone");
	ck_assert_uint_eq(dhcp6_deadline(c), t + 60 + 1000);
	dhcp6_tick(c, t + 60 + 1000);
	expect(c, 1, &o);
	ck_assert(!dhcp6_lease(c)->valid);
	dhcp6_free(c);
}
END_TEST

START_TEST(renew_rebind_expire)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o, first;
	struct pkt p;
	uint64_t tb, t, prev, rt, t2, end;
	unsigned count = 0;

	tb = get_bound(c, 1000, 1600, 1800, 2000);
	t2 = tb + 1600 * 1000;
	end = tb + 2000 * 1000;
	ck_assert_uint_eq(dhcp6_deadline(c), tb + 1000 * 1000);
	dhcp6_tick(c, tb + 999 * 1000);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);

	/* Renew at T1: to the server that delegated, naming the prefix */
	t = tb + 1000 * 1000;
	dhcp6_tick(c, t);
	expect(c, 5, &first);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_RENEW);
	ck_assert(has_server_id(&first, srv_a, sizeof(srv_a)));
	ck_assert_str_eq(ia_prefix(&first), "2001:db8:1200::/56");
	ck_assert_uint_eq(elapsed(&first), 0);
	/* REN_TIMEOUT 10 s, doubling, REN_MAX_RT 600 s, until T2 */
	prev = t;
	rt = 0;
	for (;;) {
		t = dhcp6_deadline(c);
		ck_assert_uint_gt(t, prev);
		ck_assert_uint_le(t, t2);
		if (!rt)
			ck_assert(t - prev >= 9000 && t - prev <= 11000);
		else if (t < t2)
			ck_assert(t - prev >= rt * 19 / 10 || t - prev >= 540000);
		ck_assert_uint_le(t - prev, 660000);
		dhcp6_tick(c, t);
		if (t == t2)
			break;
		expect(c, 5, &o);
		ck_assert(!memcmp(o.b, first.b, 4));
		ck_assert_uint_eq(elapsed(&o), (t - tb - 1000 * 1000) / 10 > 0xffff ? 0xffff :
				  (t - tb - 1000 * 1000) / 10);
		rt = t - prev;
		prev = t;
		count++;
	}
	ck_assert_uint_ge(count, 5);
	/* Rebind at T2: to any server */
	expect(c, 6, &first);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_REBIND);
	ck_assert(!has_server_id(&first, NULL, 0));
	ck_assert_str_eq(ia_prefix(&first), "2001:db8:1200::/56");
	prev = t;
	for (;;) {
		t = dhcp6_deadline(c);
		ck_assert_uint_gt(t, prev);
		ck_assert_uint_le(t, end);
		ck_assert_uint_le(t - prev, 660000);
		dhcp6_tick(c, t);
		if (t == end)
			break;
		expect(c, 6, &o);
		prev = t;
	}
	/* the valid lifetime is over: the lease is gone, and a new Solicit follows */
	ck_assert(!dhcp6_lease(c)->valid);
	ck_assert(dhcp6_lease_changed(c));
	ck_assert_str_eq(dhcp6_last_error(c), "lease expired");
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	t = dhcp6_deadline(c);
	ck_assert_uint_le(t, end + 100);
	dhcp6_tick(c, t);
	expect(c, 1, &o);

	/* a Reply to a Renew extends the lease */
	dhcp6_free(c);
	c = mk_client(56);
	tb = get_bound(c, 1000, 1600, 1800, 2000);
	t = tb + 1000 * 1000;
	dhcp6_tick(c, t);
	expect(c, 5, &o);
	p_simple(&p, 7, o.b, srv_a, 1000, 1600, 1800, 2000, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 30);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert(!dhcp6_lease_changed(c));
	ck_assert_uint_eq(dhcp6_lease(c)->obtained_ms, t + 30);
	ck_assert_uint_eq(dhcp6_deadline(c), t + 30 + 1000 * 1000);
	/* and one to a Rebind too */
	t = dhcp6_deadline(c) + 600 * 1000;
	dhcp6_tick(c, t);
	expect(c, 6, &o);
	p_simple(&p, 7, o.b, srv_b, 1000, 1600, 1800, 2000, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 30);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert(!memcmp(dhcp6_lease(c)->server_id, srv_b, sizeof(srv_b)));
	ck_assert(!dhcp6_lease_changed(c));
	dhcp6_free(c);
}
END_TEST

START_TEST(t1_t2_defaults)
{
	struct dhcp6_client *c = mk_client(56);
	const struct dhcp6_lease *l;
	uint64_t tb;

	tb = get_bound(c, 0, 0, 3000, 4000);
	l = dhcp6_lease(c);
	ck_assert_uint_eq(l->t1_s, 1500);
	ck_assert_uint_eq(l->t2_s, 2400);
	ck_assert_uint_eq(dhcp6_deadline(c), tb + 1500 * 1000);
	dhcp6_free(c);

	/* T1 and T2 beyond the valid lifetime are cut to it */
	c = mk_client(56);
	tb = get_bound(c, 5000, 6000, 3000, 4000);
	l = dhcp6_lease(c);
	ck_assert_uint_eq(l->t1_s, 4000);
	ck_assert_uint_eq(l->t2_s, 4000);
	dhcp6_free(c);

	/* infinite: never renewed, never expires */
	c = mk_client(56);
	get_bound(c, 0, 0, 0xffffffff, 0xffffffff);
	l = dhcp6_lease(c);
	ck_assert_uint_eq(l->t1_s, 0xffffffff);
	ck_assert_uint_eq(dhcp6_deadline(c), 0);
	dhcp6_free(c);

	/* T1 > T2: the IA_PD is discarded, so the Reply has none */
	c = mk_client(56);
	{
		struct out o;
		struct pkt p;
		uint64_t t = solicit(c, &o);

		p_simple(&p, 7, o.b, srv_a, 2000, 1000, 3000, 4000, "2001:db8:1200::");
		p_opt(&p, 14, NULL, 0);
		dhcp6_input(c, p.b, p.len, t + 10);
		ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
		ck_assert_str_eq(dhcp6_last_error(c), "server sent an IA_PD with T1 2000 > T2 1000 (discarded, RFC 8415 21.21)");
	}
	dhcp6_free(c);
}
END_TEST

START_TEST(prefix_change)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o;
	struct pkt p;
	uint64_t tb, t;
	size_t ia;

	tb = get_bound(c, 100, 160, 200, 400);
	t = tb + 100 * 1000;
	dhcp6_tick(c, t);
	expect(c, 5, &o);
	/* the old prefix withdrawn (valid 0), a new one given: the longest valid lifetime wins */
	p_head(&p, 7, o.b, srv_a, sizeof(srv_a));
	ia = p_ia_pd(&p, IAID, 100, 160);
	p_iaprefix(&p, 0, 0, 56, "2001:db8:1200::");
	p_iaprefix(&p, 100, 300, 60, "2001:db8:3400::");
	p_iaprefix(&p, 200, 400, 56, "2001:db8:5600::");
	p_close(&p, ia);
	dhcp6_input(c, p.b, p.len, t + 10);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert(dhcp6_lease_changed(c));
	ck_assert_str_eq(lease_prefix(c), "2001:db8:5600::/56");
	ck_assert_uint_eq(dhcp6_lease(c)->valid_s, 400);

	/* only the withdrawal: the lease ends, Solicit again */
	t = dhcp6_deadline(c);
	dhcp6_tick(c, t);
	expect(c, 5, &o);
	ck_assert_str_eq(ia_prefix(&o), "2001:db8:5600::/56");
	p_head(&p, 7, o.b, srv_a, sizeof(srv_a));
	ia = p_ia_pd(&p, IAID, 0, 0);
	p_iaprefix(&p, 0, 0, 56, "2001:db8:5600::");
	p_close(&p, ia);
	dhcp6_input(c, p.b, p.len, t + 10);
	ck_assert(!dhcp6_lease(c)->valid);
	ck_assert(dhcp6_lease_changed(c));
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	dhcp6_free(c);
}
END_TEST

START_TEST(no_binding)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o;
	struct pkt p;
	uint64_t tb, t;
	size_t ia;

	tb = get_bound(c, 100, 160, 200, 400);
	t = tb + 100 * 1000;
	dhcp6_tick(c, t);
	expect(c, 5, &o);
	p_head(&p, 7, o.b, srv_a, sizeof(srv_a));
	ia = p_ia_pd(&p, IAID, 0, 0);
	p_status(&p, 3, "who are you");
	p_close(&p, ia);
	dhcp6_input(c, p.b, p.len, t + 10);
	/* a Request for the prefix it had, at once */
	expect(c, 3, &o);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_REQUEST);
	ck_assert(has_server_id(&o, srv_a, sizeof(srv_a)));
	ck_assert_str_eq(ia_prefix(&o), "2001:db8:1200::/56");
	ck_assert_str_eq(dhcp6_last_error(c), "server says NoBinding: who are you");
	ck_assert(dhcp6_lease(c)->valid);
	p_simple(&p, 7, o.b, srv_a, 100, 160, 200, 400, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 20);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert(!dhcp6_lease_changed(c));
	dhcp6_free(c);
}
END_TEST

START_TEST(unspec_fail)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o, req;
	struct pkt p;
	uint64_t t0, t;

	t0 = solicit(c, &o);
	p_simple(&p, 2, o.b, srv_a, 0, 0, 200, 400, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t0 + 5);
	t = dhcp6_deadline(c);
	dhcp6_tick(c, t);
	expect(c, 3, &req);
	p_simple(&p, 7, req.b, srv_a, 100, 160, 200, 400, "2001:db8:1200::");
	p_status(&p, 1, "busy");
	dhcp6_input(c, p.b, p.len, t + 10);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_REQUEST);
	ck_assert_str_eq(dhcp6_last_error(c), "server says UnspecFail: busy");
	/* retried at the retransmission's pace */
	t = dhcp6_deadline(c);
	dhcp6_tick(c, t);
	expect(c, 3, &o);
	ck_assert(!memcmp(o.b, req.b, 4));
	p_simple(&p, 7, o.b, srv_a, 100, 160, 200, 400, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 10);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert_str_eq(dhcp6_last_error(c), "");
	dhcp6_free(c);
}
END_TEST

/* Every gap between transmissions of one exchange, checked against RFC 8415 section 15. */
static void check_rt(uint64_t rt, uint64_t prev_rt, uint64_t irt, uint64_t mrt, bool solicit_first)
{
	if (!prev_rt) {
		if (solicit_first)
			ck_assert_msg(rt > irt && rt <= irt * 11 / 10, "first RT %lu", (unsigned long)rt);
		else
			ck_assert(rt >= irt * 9 / 10 && rt <= irt * 11 / 10);
		return;
	}
	if (rt >= mrt * 9 / 10)
		ck_assert_msg(rt <= mrt * 11 / 10, "RT %lu above MRT", (unsigned long)rt);
	else
		ck_assert_msg(rt >= prev_rt * 19 / 10 && rt <= prev_rt * 21 / 10 + 1,
			      "RT %lu after %lu", (unsigned long)rt, (unsigned long)prev_rt);
}

START_TEST(release)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o, first;
	struct pkt p;
	uint64_t tb, t, prev, prev_rt;
	unsigned n;

	tb = get_bound(c, 100, 160, 200, 400);
	dhcp6_stop(c, tb + 1000);
	expect(c, 8, &first);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_RELEASE);
	ck_assert(has_server_id(&first, srv_a, sizeof(srv_a)));
	ck_assert_str_eq(ia_prefix(&first), "2001:db8:1200::/56");
	ck_assert_uint_eq(elapsed(&first), 0);
	ck_assert(!dhcp6_lease(c)->valid);
	ck_assert(dhcp6_lease_changed(c));
	/* REL_TIMEOUT 1 s doubling, REL_MAX_RC 4 transmissions, then idle */
	prev = tb + 1000;
	prev_rt = 0;
	for (n = 1; n < 4; n++) {
		t = dhcp6_deadline(c);
		check_rt(t - prev, prev_rt, 1000, UINT32_MAX, false);
		dhcp6_tick(c, t);
		expect(c, 8, &o);
		ck_assert(!memcmp(o.b, first.b, 4));
		ck_assert_uint_eq(elapsed(&o), (t - tb - 1000) / 10);
		prev_rt = t - prev;
		prev = t;
	}
	t = dhcp6_deadline(c);
	check_rt(t - prev, prev_rt, 1000, UINT32_MAX, false);
	dhcp6_tick(c, t);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_IDLE);
	ck_assert_uint_eq(dhcp6_deadline(c), 0);
	dhcp6_free(c);

	/* a Reply ends it at once */
	c = mk_client(56);
	tb = get_bound(c, 100, 160, 200, 400);
	dhcp6_stop(c, tb + 1000);
	expect(c, 8, &o);
	p_head(&p, 7, o.b, srv_a, sizeof(srv_a));
	p_status(&p, 0, "released");
	dhcp6_input(c, p.b, p.len, tb + 1010);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_IDLE);
	ck_assert_uint_eq(dhcp6_deadline(c), 0);
	dhcp6_free(c);

	/* stopping while not bound sends nothing */
	c = mk_client(56);
	solicit(c, &o);
	dhcp6_stop(c, T0 + 500);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_IDLE);
	dhcp6_free(c);
}
END_TEST

START_TEST(restart_rebinds)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o, first;
	struct pkt p;
	uint64_t tb, t, t0, prev, prev_rt = 0;
	unsigned n = 0;

	tb = get_bound(c, 100, 160, 200, 400);
	/* the link bounced: confirm the lease with a Rebind, soon, paced as a Confirm */
	dhcp6_start(c, tb + 5000);
	t0 = dhcp6_deadline(c);
	ck_assert_uint_le(t0, tb + 5100);
	dhcp6_tick(c, t0);
	expect(c, 6, &first);
	ck_assert_str_eq(ia_prefix(&first), "2001:db8:1200::/56");
	ck_assert(!has_server_id(&first, NULL, 0));
	ck_assert(dhcp6_lease(c)->valid);
	ck_assert(!dhcp6_lease_changed(c));
	/* CNF_TIMEOUT 1 s, CNF_MAX_RT 4 s, CNF_MAX_RD 10 s: then it keeps the lease */
	prev = t0;
	for (;;) {
		t = dhcp6_deadline(c);
		ck_assert_uint_le(t, t0 + 10000);
		if (t == t0 + 10000)
			break;
		check_rt(t - prev, prev_rt, 1000, 4000, false);
		dhcp6_tick(c, t);
		expect(c, 6, &o);
		ck_assert(!memcmp(o.b, first.b, 4));
		prev_rt = t - prev;
		prev = t;
		n++;
	}
	ck_assert_uint_ge(n, 3);
	dhcp6_tick(c, t);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert(dhcp6_lease(c)->valid);
	ck_assert_uint_eq(dhcp6_deadline(c), tb + 100 * 1000);

	/* answered */
	dhcp6_start(c, tb + 20000);
	t = dhcp6_deadline(c);
	dhcp6_tick(c, t);
	expect(c, 6, &o);
	p_simple(&p, 7, o.b, srv_a, 100, 160, 200, 400, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 10);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert_uint_eq(dhcp6_lease(c)->obtained_ms, t + 10);
	tb = t + 10;

	/* unanswered past T2: an ordinary Rebind follows */
	dhcp6_start(c, tb + 155 * 1000);
	t0 = dhcp6_deadline(c);
	dhcp6_tick(c, t0);
	expect(c, 6, &first);
	while ((t = dhcp6_deadline(c)) < t0 + 10000) {
		dhcp6_tick(c, t);
		expect(c, 6, &o);
	}
	ck_assert_uint_eq(t, t0 + 10000);
	dhcp6_tick(c, t);
	expect(c, 6, &o);
	ck_assert(memcmp(o.b, first.b, 4));
	ck_assert_uint_eq(elapsed(&o), 0);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_REBIND);
	t0 = t;
	t = dhcp6_deadline(c);
	ck_assert(t - t0 >= 9000 && t - t0 <= 11000);

	/* too late: the lease is over, Solicit */
	dhcp6_start(c, tb + 400 * 1000);
	ck_assert(!dhcp6_lease(c)->valid);
	ck_assert(dhcp6_lease_changed(c));
	t = dhcp6_deadline(c);
	dhcp6_tick(c, t);
	expect(c, 1, &o);
	dhcp6_free(c);
}
END_TEST

/* A lease saved by an earlier run: held while idle, confirmed by the next start, expired on time. */
START_TEST(restore)
{
	struct dhcp6_client *c = mk_client(0);
	struct dhcp6_lease l = { .valid = true, .preferred_s = 500, .valid_s = 300, .t1_s = 0,
				 .t2_s = 9999, .obtained_ms = T0 };
	struct dhcp6_lease bad = l;
	struct out o;
	struct pkt p;
	uint64_t t;

	ck_assert_int_eq(prefix_parse(&l.prefix, "2001:db8:1200::/56", AF_INET6, false), 0);
	memcpy(l.server_id, srv_a, sizeof(srv_a));
	l.server_id_len = sizeof(srv_a);
	/* refused: no server, a v4 prefix */
	bad = l;
	bad.server_id_len = 0;
	dhcp6_restore(c, &bad);
	ck_assert(!dhcp6_lease(c)->valid);
	bad = l;
	bad.prefix.addr.family = AF_INET;
	dhcp6_restore(c, &bad);
	ck_assert(!dhcp6_lease(c)->valid);

	dhcp6_restore(c, &l);
	ck_assert_str_eq(lease_prefix(c), "2001:db8:1200::/56");
	ck_assert(dhcp6_lease_changed(c));
	ck_assert_int_eq(dhcp6_state(c), DHCP6_IDLE);
	/* lifetimes made consistent: preferred <= valid, 1 <= T1 <= T2 <= valid */
	ck_assert_uint_eq(dhcp6_lease(c)->preferred_s, 300);
	ck_assert_uint_eq(dhcp6_lease(c)->t1_s, 1);
	ck_assert_uint_eq(dhcp6_lease(c)->t2_s, 300);
	/* idle, it still expires at the valid lifetime */
	ck_assert_uint_eq(dhcp6_deadline(c), T0 + 300 * 1000);
	expect_none(c);
	/* a second restore over a held lease changes nothing */
	dhcp6_restore(c, &bad);
	ck_assert_int_eq(dhcp6_lease(c)->prefix.addr.family, AF_INET6);

	/* started: a Rebind for the saved prefix, answered */
	dhcp6_start(c, T0 + 1000);
	t = dhcp6_deadline(c);
	dhcp6_tick(c, t);
	expect(c, 6, &o);
	ck_assert_str_eq(ia_prefix(&o), "2001:db8:1200::/56");
	p_simple(&p, 7, o.b, srv_a, 100, 160, 200, 400, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 10);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert(!dhcp6_lease_changed(c));
	ck_assert_uint_eq(dhcp6_lease(c)->valid_s, 400);
	dhcp6_free(c);

	/* never started: gone at the end of its valid lifetime */
	c = mk_client(0);
	dhcp6_restore(c, &l);
	ck_assert(dhcp6_lease_changed(c));
	dhcp6_tick(c, T0 + 300 * 1000);
	ck_assert(!dhcp6_lease(c)->valid);
	ck_assert(dhcp6_lease_changed(c));
	ck_assert_int_eq(dhcp6_state(c), DHCP6_IDLE);
	ck_assert_uint_eq(dhcp6_deadline(c), 0);
	expect_none(c);
	dhcp6_free(c);
}
END_TEST

START_TEST(wrong_ids)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o;
	struct pkt p;
	uint64_t t0;
	uint8_t other[10] = { 0, 3, 0, 1, 2, 0, 0, 0, 0, 2 };

	t0 = solicit(c, &o);
	/* transaction id */
	p_simple(&p, 7, o.b, srv_a, 100, 160, 200, 400, "2001:db8:1200::");
	p_opt(&p, 14, NULL, 0);
	p.b[3] ^= 1;
	dhcp6_input(c, p.b, p.len, t0 + 5);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	/* another client's DUID */
	p.b[3] ^= 1;
	memcpy(p.b + 8, other, sizeof(other));
	dhcp6_input(c, p.b, p.len, t0 + 6);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	/* no Client ID at all */
	p.len = 0;
	p_u8(&p, 7);
	p_bytes(&p, o.b + 1, 3);
	p_opt(&p, 2, srv_a, sizeof(srv_a));
	p_opt(&p, 14, NULL, 0);
	dhcp6_input(c, p.b, p.len, t0 + 7);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	/* no Server ID */
	p_simple(&p, 7, o.b, srv_a, 100, 160, 200, 400, "2001:db8:1200::");
	p_opt(&p, 14, NULL, 0);
	p.b[18] = 0x77;
	dhcp6_input(c, p.b, p.len, t0 + 8);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	/* a message type a client never takes */
	p_simple(&p, 7, o.b, srv_a, 100, 160, 200, 400, "2001:db8:1200::");
	p_opt(&p, 14, NULL, 0);
	p.b[0] = 10;
	dhcp6_input(c, p.b, p.len, t0 + 9);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	expect_none(c);
	/* and right, it binds */
	p.b[0] = 7;
	dhcp6_input(c, p.b, p.len, t0 + 10);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	dhcp6_free(c);
}
END_TEST

START_TEST(malformed)
{
	struct dhcp6_client *c = mk_client(56);
	struct pkt good, p;
	struct out o;
	uint64_t t0;
	size_t ia;

	t0 = solicit(c, &o);
	p_simple(&good, 7, o.b, srv_a, 100, 160, 200, 400, "2001:db8:1200::");
	p_opt(&good, 14, NULL, 0);

	/* shorter than a header, and every truncation of a good message */
	for (size_t n = 0; n < good.len; n++) {
		dhcp6_input(c, good.b, n, t0 + 5);
		ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	}
	/* an option header cut short */
	p = good;
	p.b[p.len++] = 0;
	p.b[p.len++] = 99;
	dhcp6_input(c, p.b, p.len, t0 + 6);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	/* an option longer than the packet */
	p = good;
	p_u16(&p, 99);
	p_u16(&p, 4);
	p_u16(&p, 0);
	dhcp6_input(c, p.b, p.len, t0 + 7);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	/* IA_PD too short */
	p_head(&p, 7, o.b, srv_a, sizeof(srv_a));
	p_opt(&p, 14, NULL, 0);
	p_opt(&p, 25, "\x11\x22\x33\x44\0\0\0\0\0\0\0", 11);
	dhcp6_input(c, p.b, p.len, t0 + 8);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	/* an IA Prefix too short, inside a good IA_PD with a good prefix */
	p_head(&p, 7, o.b, srv_a, sizeof(srv_a));
	p_opt(&p, 14, NULL, 0);
	ia = p_ia_pd(&p, IAID, 100, 160);
	p_iaprefix(&p, 200, 400, 56, "2001:db8:1200::");
	p_opt(&p, 26, "\0\0\0\0\0\0\0\0\x38", 9);
	p_close(&p, ia);
	dhcp6_input(c, p.b, p.len, t0 + 9);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	/* a sub-option running past its IA_PD (but not past the packet) */
	p_head(&p, 7, o.b, srv_a, sizeof(srv_a));
	ia = p_ia_pd(&p, IAID, 100, 160);
	p_iaprefix(&p, 200, 400, 56, "2001:db8:1200::");
	p_u16(&p, 13);
	p_u16(&p, 8);
	p_close(&p, ia);
	p_opt(&p, 14, NULL, 0);
	p_opt(&p, 99, "abcd", 4);
	dhcp6_input(c, p.b, p.len, t0 + 10);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	/* a Status Code without its code, a Preference of two bytes */
	p = good;
	p_opt(&p, 13, "\0", 1);
	dhcp6_input(c, p.b, p.len, t0 + 11);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	p = good;
	p_opt(&p, 7, "\0\0", 2);
	dhcp6_input(c, p.b, p.len, t0 + 12);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	/* a Server ID longer than a DUID may be */
	{
		uint8_t big[131] = { 0, 2 };

		p_head(&p, 7, o.b, big, sizeof(big));
		p_opt(&p, 14, NULL, 0);
		ia = p_ia_pd(&p, IAID, 100, 160);
		p_iaprefix(&p, 200, 400, 56, "2001:db8:1200::");
		p_close(&p, ia);
		dhcp6_input(c, p.b, p.len, t0 + 13);
		ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	}
	expect_none(c);
	/* unknown options anywhere are fine */
	p_head(&p, 7, o.b, srv_a, sizeof(srv_a));
	p_opt(&p, 999, "x", 1);
	p_opt(&p, 14, NULL, 0);
	ia = p_ia_pd(&p, IAID, 100, 160);
	p_opt(&p, 998, "", 0);
	{
		size_t at = p_open(&p, 26);
		struct in6_addr a;

		inet_pton(AF_INET6, "2001:db8:1200::", &a);
		p_u32(&p, 200);
		p_u32(&p, 400);
		p_u8(&p, 56);
		p_bytes(&p, &a, 16);
		p_opt(&p, 996, "q", 1);
		p_status(&p, 0, "fine");
		p_close(&p, at);
	}
	p_opt(&p, 997, "yz", 2);
	p_close(&p, ia);
	dhcp6_input(c, p.b, p.len, t0 + 14);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert_str_eq(lease_prefix(c), "2001:db8:1200::/56");
	dhcp6_free(c);
}
END_TEST

/* An Advertise answering o with one IA_PD (t1, t2) holding one IA Prefix. */
static void p_offer(struct pkt *p, uint8_t type, const struct out *o, uint32_t t1, uint32_t t2,
		    uint32_t pref, uint32_t valid, uint8_t len, const char *prefix)
{
	size_t ia;

	p_head(p, type, o->b, srv_a, sizeof(srv_a));
	ia = p_ia_pd(p, IAID, t1, t2);
	p_iaprefix(p, pref, valid, len, prefix);
	p_close(p, ia);
}

/*
 * What an on-link host answering first may hand out: never taken, and the client says why.
 * A /72 or /128 crashed uplinkd's planner; its lease was saved first, so every restart did too.
 */
START_TEST(hostile_offers)
{
	static const struct {
		uint32_t t1, t2, pref, valid;
		uint8_t len;
		const char *prefix, *why;
	} v[] = {
		{ 0, 0, 200, 400, 72, "2001:db8:1200::",
		  "server sent no usable prefix: 2001:db8:1200::/72 is longer than /64: no /64 for a LAN in it" },
		{ 0, 0, 200, 400, 128, "2001:db8:1200::1",
		  "server sent no usable prefix: 2001:db8:1200::1/128 is longer than /64: no /64 for a LAN in it" },
		{ 0, 0, 200, 400, 0, "::",
		  "server sent no usable prefix: ::/0 is shorter than /32: more than any ISP delegates" },
		{ 0, 0, 200, 400, 200, "2001:db8:1200::",
		  "server sent no usable prefix: prefix length 200" },
		{ 0, 0, 0, 0, 56, "2001:db8:1200::",
		  "server sent no usable prefix: 2001:db8:1200::/56 has valid lifetime 0" },
		{ 0, 0, 500, 400, 56, "2001:db8:1200::",
		  "server sent no usable prefix: 2001:db8:1200::/56 has preferred lifetime 500 > valid 400" },
		{ 300, 200, 200, 400, 56, "2001:db8:1200::",
		  "server sent an IA_PD with T1 300 > T2 200 (discarded, RFC 8415 21.21)" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (int reply = 0; reply < 2; reply++) {
			struct dhcp6_client *c = mk_client(56);
			struct out o;
			struct pkt p;
			uint64_t t = solicit(c, &o);

			p_offer(&p, reply ? 7 : 2, &o, v[i].t1, v[i].t2, v[i].pref, v[i].valid, v[i].len,
				v[i].prefix);
			if (reply)
				p_opt(&p, 14, NULL, 0);
			dhcp6_input(c, p.b, p.len, t + 5);
			ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
			ck_assert(!dhcp6_lease(c)->valid);
			ck_assert(!dhcp6_lease_changed(c));
			ck_assert_msg(!strcmp(dhcp6_last_error(c), v[i].why), "case %zu: %s", i,
				      dhcp6_last_error(c));
			/* and it goes on soliciting, at its pace */
			t = dhcp6_deadline(c);
			dhcp6_tick(c, t);
			expect(c, 1, &o);
			dhcp6_free(c);
		}
	}
}
END_TEST

/* Bound to a /56, the Renew's Reply hands a /72: the /56 stays until the server does better. */
START_TEST(hostile_renew)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o;
	struct pkt p;
	uint64_t t = get_bound(c, 100, 160, 200, 400);

	dhcp6_tick(c, t + 100 * 1000);
	expect(c, 5, &o);
	p_offer(&p, 7, &o, 100, 160, 200, 400, 72, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 100 * 1000 + 5);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_RENEW);
	ck_assert_str_eq(lease_prefix(c), "2001:db8:1200::/56");
	ck_assert(!dhcp6_lease_changed(c));
	ck_assert_str_eq(dhcp6_last_error(c),
			 "server sent no usable prefix: 2001:db8:1200::/72 is longer than /64: no /64 for a LAN in it");
	/* a new prefix at every Renew is the server's right: taken, and the error is gone */
	p_offer(&p, 7, &o, 100, 160, 200, 400, 56, "2001:db8:3400::");
	dhcp6_input(c, p.b, p.len, t + 100 * 1000 + 6);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_BOUND);
	ck_assert_str_eq(lease_prefix(c), "2001:db8:3400::/56");
	ck_assert(dhcp6_lease_changed(c));
	ck_assert_str_eq(dhcp6_last_error(c), "");
	dhcp6_free(c);
}
END_TEST

/* A message for us (our transaction) that does not parse: ignored, and said so. */
START_TEST(truncated_says_why)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o;
	struct pkt p;
	uint64_t t = solicit(c, &o);

	p_offer(&p, 2, &o, 0, 0, 200, 400, 56, "2001:db8:1200::");
	p.b[p.len - 43] = 0xff; /* the IA_PD's length now runs past the message */
	dhcp6_input(c, p.b, p.len, t + 5);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	ck_assert_str_eq(dhcp6_last_error(c), "ignored a malformed Advertise: an option runs past its end");
	dhcp6_free(c);
}
END_TEST

/* A saved lease is no more trusted than the server that sent it. */
START_TEST(restore_refuses)
{
	static const struct {
		const char *prefix;
		uint32_t valid_s;
		const char *why;
	} v[] = {
		{ "2001:db8:1200::/72", 300, "saved lease refused: 2001:db8:1200::/72 is longer than /64: no /64 for a LAN in it" },
		{ "2001:db8:1200::1/128", 300, "saved lease refused: 2001:db8:1200::1/128 is longer than /64: no /64 for a LAN in it" },
		{ "::/0", 300, "saved lease refused: ::/0 is shorter than /32: more than any ISP delegates" },
		{ "2001:db8:1200::/56", 0, "saved lease refused: 2001:db8:1200::/56 has valid lifetime 0" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dhcp6_client *c = mk_client(0);
		struct dhcp6_lease l = { .valid = true, .preferred_s = 0, .valid_s = v[i].valid_s,
					 .t1_s = 100, .t2_s = 160, .obtained_ms = T0 };

		ck_assert_int_eq(prefix_parse(&l.prefix, v[i].prefix, AF_INET6, false), 0);
		memcpy(l.server_id, srv_a, sizeof(srv_a));
		l.server_id_len = sizeof(srv_a);
		ck_assert_int_eq(dhcp6_restore(c, &l), -EINVAL);
		ck_assert(!dhcp6_lease(c)->valid);
		ck_assert(!dhcp6_lease_changed(c));
		ck_assert_str_eq(dhcp6_last_error(c), v[i].why);
		dhcp6_free(c);
	}
}
END_TEST

START_TEST(retransmission)
{
	struct dhcp6_client *c = mk_client(56);
	struct out o, req;
	struct pkt p;
	uint64_t t0, t, prev, rt, prev_rt = 0;
	unsigned n, capped = 0;
	size_t ia;

	/* Solicit: SOL_TIMEOUT 1 s, SOL_MAX_RT 3600 s, forever */
	prev = t0 = solicit(c, &o);
	for (n = 0; n < 20; n++) {
		t = dhcp6_deadline(c);
		rt = t - prev;
		check_rt(rt, prev_rt, 1000, 3600000, true);
		capped += rt >= 3240000;
		dhcp6_tick(c, t);
		expect(c, 1, &o);
		ck_assert_uint_eq(elapsed(&o), (t - t0) / 10 > 0xffff ? 0xffff : (t - t0) / 10);
		prev = t;
		prev_rt = rt;
	}
	ck_assert_uint_ge(capped, 5);
	ck_assert_uint_eq(elapsed(&o), 0xffff);
	dhcp6_free(c);

	/* a server's SOL_MAX_RT (60 s) caps it, even from an Advertise that is otherwise ignored */
	c = mk_client(56);
	prev = solicit(c, &o);
	p_head(&p, 2, o.b, srv_a, sizeof(srv_a));
	p_opt(&p, 82, "\0\0\0\x3c", 4);
	ia = p_ia_pd(&p, IAID, 0, 0);
	p_status(&p, 6, "");
	p_close(&p, ia);
	dhcp6_input(c, p.b, p.len, prev + 1);
	/* out of 60..86400: not taken */
	p_head(&p, 2, o.b, srv_a, sizeof(srv_a));
	p_opt(&p, 82, "\0\0\0\x3b", 4);
	dhcp6_input(c, p.b, p.len, prev + 2);
	prev_rt = 0;
	capped = 0;
	for (n = 0; n < 12; n++) {
		t = dhcp6_deadline(c);
		rt = t - prev;
		check_rt(rt, prev_rt, 1000, 60000, true);
		capped += rt >= 54000;
		dhcp6_tick(c, t);
		expect(c, 1, &o);
		prev = t;
		prev_rt = rt;
	}
	ck_assert_uint_ge(capped, 5);
	dhcp6_free(c);

	/* Request: REQ_TIMEOUT 1 s, REQ_MAX_RT 30 s, REQ_MAX_RC 10, then Solicit again */
	c = mk_client(56);
	t = solicit(c, &o);
	p_simple(&p, 2, o.b, srv_a, 0, 0, 200, 400, "2001:db8:1200::");
	dhcp6_input(c, p.b, p.len, t + 1);
	prev = dhcp6_deadline(c);
	dhcp6_tick(c, prev);
	expect(c, 3, &req);
	prev_rt = 0;
	capped = 0;
	for (n = 1; n < 10; n++) {
		t = dhcp6_deadline(c);
		rt = t - prev;
		check_rt(rt, prev_rt, 1000, 30000, false);
		capped += rt >= 27000;
		dhcp6_tick(c, t);
		expect(c, 3, &o);
		ck_assert(!memcmp(o.b, req.b, 4));
		prev = t;
		prev_rt = rt;
	}
	ck_assert_uint_ge(capped, 3);
	t = dhcp6_deadline(c);
	check_rt(t - prev, prev_rt, 1000, 30000, false);
	dhcp6_tick(c, t);
	expect_none(c);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_SOLICIT);
	ck_assert_str_eq(dhcp6_last_error(c), "no Reply to Request");
	dhcp6_tick(c, dhcp6_deadline(c));
	expect(c, 1, &o);
	ck_assert_str_eq(ia_prefix(&o), "::/56");
	dhcp6_free(c);
}
END_TEST

START_TEST(start_delay)
{
	uint8_t duid[10], xids[64][3];
	size_t len = dhcp6_duid_ll(mac, duid);
	unsigned zero_ms = 0;

	ck_assert_uint_eq(len, 10);
	ck_assert(!memcmp(duid, "\x00\x03\x00\x01\x02\x00\x00\x00\x00\x01", 10));
	for (uint32_t seed = 0; seed < 64; seed++) {
		struct dhcp6_client *c = dhcp6_new(duid, len, IAID, 56, seed);
		struct out o;
		uint64_t t;

		dhcp6_start(c, T0);
		t = dhcp6_deadline(c);
		/* with no delay drawn, the Solicit is there at once */
		if (take(c, &o)) {
			ck_assert_uint_eq(o.b[0], 1);
			ck_assert_uint_gt(t, T0 + 1000);
			zero_ms++;
		} else {
			ck_assert_uint_ge(t, T0);
			ck_assert_uint_le(t, T0 + 100);
			dhcp6_tick(c, t - 1);
			expect_none(c);
			dhcp6_tick(c, t);
			expect(c, 1, &o);
		}
		memcpy(xids[seed], o.b + 1, 3);
		for (uint32_t k = 0; k < seed; k++)
			ck_assert(memcmp(xids[k], xids[seed], 3));
		dhcp6_free(c);
	}
	ck_assert_uint_le(zero_ms, 5);
}
END_TEST

START_TEST(api_edges)
{
	uint8_t duid[129] = { 0 }, buf[8];
	struct dhcp6_client *c;
	struct out o;
	size_t len;

	ck_assert_ptr_null(dhcp6_new(duid, 129, 1, 56, 1));
	ck_assert_ptr_null(dhcp6_new(duid, 0, 1, 56, 1));
	c = dhcp6_new(duid, 128, 1, 56, 1);
	ck_assert_ptr_nonnull(c);
	/* nothing before start, input ignored */
	len = sizeof(o.b);
	ck_assert(!dhcp6_output(c, o.b, &len));
	dhcp6_input(c, (const uint8_t *)"\x07\0\0\0", 4, 5);
	dhcp6_tick(c, 10);
	ck_assert_int_eq(dhcp6_state(c), DHCP6_IDLE);
	/* at time 0 the deadline is still distinct from "never" */
	dhcp6_start(c, 0);
	ck_assert_uint_ge(dhcp6_deadline(c), 1);
	dhcp6_tick(c, 100);
	/* a buffer too small leaves the message there */
	len = sizeof(buf);
	ck_assert(!dhcp6_output(c, buf, &len));
	expect(c, 1, &o);
	ck_assert_uint_eq(o.len, 4 + 4 + 128 + 6 + 10 + 4 + 45);
	dhcp6_free(c);
	dhcp6_free(NULL);
	for (int s = DHCP6_IDLE; s <= DHCP6_RELEASE; s++)
		ck_assert_str_ne(dhcp6_state_name((enum dhcp6_state)s), "?");
}
END_TEST

static Suite *dhcp6_suite(void)
{
	Suite *s = suite_create("dhcp6");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, solicit_bytes);
	tcase_add_test(tc, no_hint);
	tcase_add_test(tc, full_exchange);
	tcase_add_test(tc, rapid_commit);
	tcase_add_test(tc, preference);
	tcase_add_test(tc, no_prefix_avail);
	tcase_add_test(tc, renew_rebind_expire);
	tcase_add_test(tc, t1_t2_defaults);
	tcase_add_test(tc, prefix_change);
	tcase_add_test(tc, no_binding);
	tcase_add_test(tc, unspec_fail);
	tcase_add_test(tc, release);
	tcase_add_test(tc, restart_rebinds);
	tcase_add_test(tc, restore);
	tcase_add_test(tc, wrong_ids);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, hostile_offers);
	tcase_add_test(tc, hostile_renew);
	tcase_add_test(tc, truncated_says_why);
	tcase_add_test(tc, restore_refuses);
	tcase_add_test(tc, retransmission);
	tcase_add_test(tc, start_delay);
	tcase_add_test(tc, api_edges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dhcp6_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
