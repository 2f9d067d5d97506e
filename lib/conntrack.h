/*
 * Conntrack through ctnetlink (libmnl): flush the connections that belong to one uplink when it
 * fails over, and count the ports a NAT address is using (MAP-E's port sets are small).
 */
#ifndef UPLINK_CONNTRACK_H
#define UPLINK_CONNTRACK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct ct_conn;

int ct_open(struct ct_conn **out, struct ul_err *e);
void ct_close(struct ct_conn *c);

/* Which connections belong to an uplink: any of the conditions. */
struct ct_match {
	bool has_nat4;
	struct in_addr nat4;     /* IPv4 connections whose reply goes to this address (its SNAT) */
	bool has_mark;
	uint32_t mark, mask;     /* connections whose ct mark & mask == mark (came in by it) */
	char oif[16];            /* unused by the kernel filter; for messages */
	/*
	 * With has_nat4: keep the entries NATed to a port (TCP, UDP) or ICMP id that is still
	 * ours, i.e. (port & psid_mask) == psid_bits and port >= port_min (a MAP-E PSID's sets
	 * after a renumbering kept the IPv4 address).
	 */
	bool keep_psid;
	uint16_t psid_mask, psid_bits, port_min;
};

/*
 * Deletes every conntrack entry (IPv4 and IPv6) that matches m and no other; *deleted counts
 * them.  Other uplinks' connections are left alone.
 */
int ct_flush(struct ct_conn *c, const struct ct_match *m, unsigned *deleted, struct ul_err *e);

/* Ports in use at addr: distinct reply-direction destination ports (TCP, UDP) and ICMP ids. */
struct ct_usage {
	unsigned tcp, udp, icmp; /* distinct ports / ids */
	unsigned entries;        /* conntrack entries to addr */
};

int ct_usage(struct ct_conn *c, const struct in_addr *addr, struct ct_usage *u, struct ul_err *e);

#endif
