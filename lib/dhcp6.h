/*
 * A DHCPv6 client for prefix delegation only (RFC 8415, IA_PD), without I/O: the caller feeds
 * it received packets and the time, and takes from it the packets to send (always to
 * All_DHCP_Relay_Agents_and_Servers, ff02::1:2 port 547, from the interface's link-local
 * address, port 546) and the next deadline.  Solicit/Advertise/Request/Reply, Renew at T1,
 * Rebind at T2, expiry at the valid lifetime, Release when stopped; retransmissions as the RFC
 * says.  uplinkd's daemon runs one per interface that asks for a prefix.
 */
#ifndef UPLINK_DHCP6_H
#define UPLINK_DHCP6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum dhcp6_state {
	DHCP6_IDLE,        /* not started, or stopped */
	DHCP6_SOLICIT,
	DHCP6_REQUEST,
	DHCP6_BOUND,
	DHCP6_RENEW,
	DHCP6_REBIND,
	DHCP6_RELEASE,     /* sending Release after dhcp6_stop() */
};

struct dhcp6_lease {
	bool valid;                /* a prefix is delegated */
	struct ip_prefix prefix;
	uint32_t preferred_s, valid_s;
	uint32_t t1_s, t2_s;       /* as used (filled in per RFC 8415 when the server sends 0) */
	uint64_t obtained_ms;      /* when the Reply came */
	uint8_t server_id[130];    /* DUID of the server that delegated it */
	size_t server_id_len;
};

struct dhcp6_client;

/*
 * duid: the client's DUID (e.g. DUID-LL of the WAN's MAC), iaid: the IA_PD's IAID,
 * hint_len: the prefix length to ask for (0: none, e.g. 56), seed: for the retransmission
 * jitter (tests pass a fixed one).  NULL on ENOMEM or a DUID longer than 128 bytes.
 */
struct dhcp6_client *dhcp6_new(const uint8_t *duid, size_t duid_len, uint32_t iaid,
			       uint8_t hint_len, uint32_t seed);
void dhcp6_free(struct dhcp6_client *c);

/* Begin (again) with a Solicit; a valid lease kept across a restart is confirmed by Rebind. */
void dhcp6_start(struct dhcp6_client *c, uint64_t now_ms);
/*
 * A lease kept from an earlier run (its lifetimes counted from l->obtained_ms): the client
 * holds it while idle, expires it on time, and the next dhcp6_start confirms it (Rebind).
 * -EBUSY unless the client is idle with no lease; -EINVAL (dhcp6_last_error says why) unless
 * l is a prefix a server could have delegated (IPv6, /32 to /64, valid lifetime, server DUID).
 */
int dhcp6_restore(struct dhcp6_client *c, const struct dhcp6_lease *l);
/* Give the prefix back (Release, a few retransmissions) and go idle. */
void dhcp6_stop(struct dhcp6_client *c, uint64_t now_ms);

/* A UDP payload received on port 546.  Anything malformed or not for us is ignored. */
void dhcp6_input(struct dhcp6_client *c, const uint8_t *pkt, size_t len, uint64_t now_ms);
/* The time is now_ms: retransmit, renew, rebind or expire as due. */
void dhcp6_tick(struct dhcp6_client *c, uint64_t now_ms);

/*
 * The next packet to send, if any: copied into buf (room for len bytes), its length in *len.
 * Call until it returns false after every input/tick/start/stop.
 */
bool dhcp6_output(struct dhcp6_client *c, uint8_t *buf, size_t *len);
/* When dhcp6_tick must be called next (absolute, ms), 0 for never. */
uint64_t dhcp6_deadline(const struct dhcp6_client *c);

enum dhcp6_state dhcp6_state(const struct dhcp6_client *c);
const char *dhcp6_state_name(enum dhcp6_state s);
const struct dhcp6_lease *dhcp6_lease(const struct dhcp6_client *c);
/* True once after the lease changed (obtained, renewed with another prefix, expired, released). */
bool dhcp6_lease_changed(struct dhcp6_client *c);
/* Why the last exchange failed, for logs ("server says NoPrefixAvail: ..."), or "". */
const char *dhcp6_last_error(const struct dhcp6_client *c);

/* DUID-LL (type 3, hardware type 1) of an Ethernet address: 10 bytes into out. */
size_t dhcp6_duid_ll(const uint8_t mac[6], uint8_t *out);

#endif
