/*
 * libFuzzer target for the DHCPv6-PD client: a script of packets, time steps, starts and stops
 * drives one client; after every step the client's messages and state are checked.
 *
 * Input: a 10-byte header, then steps.
 *   header: duid (0x80: 1 + (b & 0x7f) bytes of a pattern, else a 10-byte DUID-LL) |
 *           hint length | seed (4, big-endian) | IAID (4, big-endian)
 *   step: op byte; op & 7 =
 *     0  a packet: length (2, big-endian) and that many bytes.  op 0x08: its transaction id
 *        becomes that of the client's last message; 0x10: our Client ID goes in front of its
 *        options; 0x20: its type becomes Advertise, or Reply with 0x40.  This gets arbitrary
 *        options past the checks that drop most packets.
 *     1  time advances by a 2-byte count of ms (0x08: of seconds), then a tick
 *     2  a tick at the deadline (the daemon's usual call)
 *     3  stop; op 0x08: restore a kept lease instead (dhcp6_restore) from 36 bytes: prefix (16),
 *        length, preferred, valid, T1, T2 (4 each, big-endian), its age in seconds (2), the
 *        server DUID's length (1), then a tick as the daemon's timer would
 *     4  start
 *     5  output into a buffer of (op >> 3) bytes, and lease_changed
 *     6  time advances by a 4-byte count of ms, then a tick
 *     7  the last packet again
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dhcp6.h"
#include "fuzz.h"

struct fz {
	struct dhcp6_client *c;
	uint8_t duid[128];
	size_t duid_len;
	uint32_t iaid;
	uint64_t now;
	uint8_t last_out[4];
	bool have_out;
	uint8_t pkt[70000];
	size_t pkt_len;
};

static uint16_t u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t want_type(enum dhcp6_state s)
{
	static const uint8_t types[] = {
		[DHCP6_SOLICIT] = 1, [DHCP6_REQUEST] = 3, [DHCP6_RENEW] = 5, [DHCP6_REBIND] = 6,
		[DHCP6_RELEASE] = 8,
	};

	return (size_t)s < sizeof(types) ? types[s] : 0;
}

/* A client message must be well formed and say who we are. */
static void check_msg(struct fz *f, const uint8_t *b, size_t len)
{
	bool client_id = false, server_id = false, elapsed = false, ia_pd = false;
	size_t at = 4;
	uint8_t type;

	ensure(len >= 4 && len <= 512);
	type = b[0];
	ensure(type == want_type(dhcp6_state(f->c)));
	while (at < len) {
		uint16_t code;
		size_t n;

		ensure(at + 4 <= len);
		code = u16(b + at);
		n = u16(b + at + 2);
		ensure(at + 4 + n <= len);
		if (code == 1) {
			ensure(!client_id && n == f->duid_len && !memcmp(b + at + 4, f->duid, n));
			client_id = true;
		} else if (code == 2) {
			ensure(!server_id && n >= 1 && n <= 130);
			server_id = true;
		} else if (code == 8) {
			ensure(!elapsed && n == 2);
			elapsed = true;
		} else if (code == 25) {
			ensure(!ia_pd && (n == 12 || n == 12 + 4 + 25));
			ensure(u32(b + at + 4) == f->iaid);
			ensure(u32(b + at + 8) == 0 && u32(b + at + 12) == 0);
			if (n > 12) {
				ensure(u16(b + at + 16) == 26 && u16(b + at + 18) == 25);
				ensure(b[at + 28] >= 1 && b[at + 28] <= 128);
			}
			ia_pd = true;
		}
		at += 4 + n;
	}
	ensure(client_id && elapsed && ia_pd);
	ensure(server_id == (type == 3 || type == 5 || type == 8));
	/* retransmissions keep the transaction id; check only the type's own */
	memcpy(f->last_out, b, 4);
	f->have_out = true;
}

static void check_state(struct fz *f)
{
	const struct dhcp6_lease *l = dhcp6_lease(f->c);
	enum dhcp6_state s = dhcp6_state(f->c);
	uint64_t d = dhcp6_deadline(f->c);
	const char *err = dhcp6_last_error(f->c);
	uint8_t out[600];
	size_t len;

	ensure(s >= DHCP6_IDLE && s <= DHCP6_RELEASE);
	ensure(strcmp(dhcp6_state_name(s), "?"));
	for (;;) {
		len = sizeof(out);
		if (!dhcp6_output(f->c, out, &len))
			break;
		check_msg(f, out, len);
	}
	/* nothing is left due: every call runs what its time calls for */
	ensure(d == 0 || d > f->now);
	if (s == DHCP6_IDLE && !l->valid)
		ensure(d == 0);
	if (s != DHCP6_IDLE && s != DHCP6_BOUND)
		ensure(d != 0);
	if (s == DHCP6_BOUND || s == DHCP6_RENEW || s == DHCP6_REBIND)
		ensure(l->valid);
	if (l->valid) {
		ensure(l->prefix.addr.family == AF_INET6);
		/* what the planner and the unreachable route can take: /32 to /64 */
		ensure(!prefix_pd_problem(&l->prefix));
		ensure(!prefix_has_host_bits(&l->prefix));
		ensure(l->valid_s > 0 && l->preferred_s <= l->valid_s);
		ensure(l->t1_s >= 1 && l->t1_s <= l->t2_s && l->t2_s <= l->valid_s);
		ensure(l->server_id_len >= 1 && l->server_id_len <= sizeof(l->server_id));
		ensure(l->obtained_ms <= f->now);
	} else {
		ensure(s != DHCP6_BOUND);
	}
	ensure(strlen(err) < 192);
	for (const char *p = err; *p; p++)
		ensure(*p >= 0x20 && *p < 0x7f);
}

static void feed(struct fz *f, uint8_t op, const uint8_t *d, size_t n)
{
	size_t at = 0;

	if (n >= 4 && (op & 0x20))
		f->pkt[at] = op & 0x40 ? 7 : 2;
	else if (n)
		f->pkt[at] = d[0];
	if (n)
		at++;
	if (n >= 4) {
		memcpy(f->pkt + at, (op & 0x08) && f->have_out ? f->last_out + 1 : d + 1, 3);
		at += 3;
		if (op & 0x10) {
			f->pkt[at++] = 0;
			f->pkt[at++] = 1;
			f->pkt[at++] = 0;
			f->pkt[at++] = (uint8_t)f->duid_len;
			memcpy(f->pkt + at, f->duid, f->duid_len);
			at += f->duid_len;
		}
		memcpy(f->pkt + at, d + 4, n - 4);
		at += n - 4;
	} else if (n > 1) {
		memcpy(f->pkt + at, d + 1, n - 1);
		at += n - 1;
	}
	f->pkt_len = at;
	dhcp6_input(f->c, f->pkt, f->pkt_len, f->now);
}

static void advance(struct fz *f, uint64_t ms)
{
	/* stay far from wrapping: a daemon's clock does not run for 500 million years */
	if (f->now + ms < (UINT64_C(1) << 52))
		f->now += ms;
	dhcp6_tick(f->c, f->now);
}

/* A lease kept from an earlier run, as the daemon reads it back from its run directory. */
static void restore(struct fz *f, const uint8_t *d)
{
	struct dhcp6_lease l = { .valid = true };
	uint64_t age = (uint64_t)u16(d + 33) * 1000;

	l.prefix.addr.family = AF_INET6;
	memcpy(l.prefix.addr.b, d, 16);
	l.prefix.len = d[16];
	l.preferred_s = u32(d + 17);
	l.valid_s = u32(d + 21);
	l.t1_s = u32(d + 25);
	l.t2_s = u32(d + 29);
	l.obtained_ms = f->now > age ? f->now - age : 0;
	l.server_id_len = d[35];
	for (size_t k = 0; k < l.server_id_len && k < sizeof(l.server_id); k++)
		l.server_id[k] = (uint8_t)(k * 13 + d[35]);
	if (dhcp6_restore(f->c, &l) == -EINVAL)
		ensure(!strncmp(dhcp6_last_error(f->c), "saved lease refused: ", 21));
	dhcp6_tick(f->c, f->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	size_t i = 10;

	if (size < 10)
		return 0;
	memset(&f, 0, sizeof(f));
	if (data[0] & 0x80) {
		f.duid_len = 1 + (data[0] & 0x7f);
		for (size_t k = 0; k < f.duid_len; k++)
			f.duid[k] = (uint8_t)(k * 37 + data[0]);
	} else {
		static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

		f.duid_len = dhcp6_duid_ll(mac, f.duid);
	}
	f.iaid = u32(data + 6);
	f.c = dhcp6_new(f.duid, f.duid_len, f.iaid, data[1], u32(data + 2));
	ensure(f.c);
	f.now = 1000;
	check_state(&f);
	while (i < size) {
		uint8_t op = data[i++];
		size_t n, left = size - i;

		switch (op & 7) {
		case 0:
			if (left < 2)
				goto out;
			n = u16(data + i);
			i += 2;
			left -= 2;
			if (n > left)
				n = left;
			feed(&f, op, data + i, n);
			i += n;
			break;
		case 1:
			if (left < 2)
				goto out;
			advance(&f, (uint64_t)u16(data + i) * (op & 0x08 ? 1000 : 1));
			i += 2;
			break;
		case 2:
			if (dhcp6_deadline(f.c))
				f.now = dhcp6_deadline(f.c);
			dhcp6_tick(f.c, f.now);
			break;
		case 3:
			if (!(op & 0x08)) {
				dhcp6_stop(f.c, f.now);
				break;
			}
			if (left < 36)
				goto out;
			restore(&f, data + i);
			i += 36;
			break;
		case 4:
			dhcp6_start(f.c, f.now);
			break;
		case 5: {
			uint8_t small[32];

			n = op >> 3;
			if (dhcp6_output(f.c, small, &n))
				check_msg(&f, small, n);
			(void)dhcp6_lease_changed(f.c);
			break;
		}
		case 6:
			if (left < 4)
				goto out;
			advance(&f, u32(data + i));
			i += 4;
			break;
		case 7:
			dhcp6_input(f.c, f.pkt, f.pkt_len, f.now);
			break;
		}
		check_state(&f);
	}
out:
	dhcp6_stop(f.c, f.now);
	check_state(&f);
	dhcp6_free(f.c);
	return 0;
}
