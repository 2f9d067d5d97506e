/*
 * Conntrack through ctnetlink (libmnl): dumps of IPCTNL_MSG_CT_GET parsed into ct_entry, and
 * IPCTNL_MSG_CT_DELETE of the entries a flush selected, sent in chunks after the dump is over.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>

#include "conntrack.h"
#include "nlack.h"


/* the kernel caps a dump's skb at 32 KiB; more room costs nothing and never truncates */
#define RBUF_BYTES (64u << 10)
#define SBUF_BYTES (16u << 10)
#define DEL_CHUNK 64u           /* deletes in flight: their acks must fit the receive buffer */
#define ACK_TIMEOUT_MS 5000

/* a delete is at most about 150 bytes (put_*_check would still catch a longer one) */
_Static_assert(DEL_CHUNK * 256u <= SBUF_BYTES, "a chunk of deletes must fit the send buffer");

struct ct_conn {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	char *rbuf, *sbuf;
	char extack[256];       /* of the last kernel error */
};

/* Host byte order, except the addresses; a *_attrs bit says the kernel sent that attribute. */
struct ct_tuple {
	uint32_t ip_attrs, proto_attrs; /* 1 << CTA_IP_*, 1 << CTA_PROTO_* */
	uint8_t src[16], dst[16];
	uint8_t l4proto, icmp_type, icmp_code;
	uint16_t sport, dport, icmp_id;
	bool has_zone;                  /* CTA_TUPLE_ZONE: a zone of this direction only */
	uint16_t zone;
};

struct ct_entry {
	uint8_t family;
	struct ct_tuple orig, reply;
	bool has_mark, has_zone, has_id;
	uint32_t mark, id;
	uint16_t zone;
};

int ct_open(struct ct_conn **out, struct ul_err *e)
{
	struct ct_conn *c = calloc(1, sizeof(*c));
	int rcv = 1 << 20;

	*out = NULL;
	if (!c)
		return ul_errf(e, ENOMEM, "conntrack: out of memory");
	c->rbuf = malloc(RBUF_BYTES);
	c->sbuf = malloc(SBUF_BYTES);
	if (!c->rbuf || !c->sbuf) {
		ct_close(c);
		return ul_errf(e, ENOMEM, "conntrack: out of memory");
	}
	c->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!c->nl) {
		int err = errno;

		ct_close(c);
		return ul_errf(e, err, "conntrack: netlink socket: %s", strerror(err));
	}
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		ct_close(c);
		return ul_errf(e, err, "conntrack: netlink bind: %s", strerror(err));
	}
	/* best effort: older kernels lack them, and a smaller buffer still holds DEL_CHUNK acks */
	nlack_enable(mnl_socket_get_fd(c->nl));
	if (setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	*out = c;
	return 0;
}

void ct_close(struct ct_conn *c)
{
	if (!c)
		return;
	if (c->nl)
		mnl_socket_close(c->nl);
	free(c->rbuf);
	free(c->sbuf);
	free(c);
}

/* Reads away what an abandoned exchange left; a dump left half-read runs to its end. */
static void drain(struct ct_conn *c)
{
	while (recv(mnl_socket_get_fd(c->nl), c->rbuf, RBUF_BYTES, MSG_DONTWAIT) > 0)
		;
}

static const char *family_name(uint8_t family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* The -errno of an NLMSG_ERROR (0: an acknowledgement), its extended-ack text into c->extack. */
static int nl_error(struct ct_conn *c, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	c->extack[0] = '\0';
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return -EBADMSG;
	if (!err->error)
		return 0;
	nlack_parse(nlh, c->extack, sizeof(c->extack), NULL);
	return err->error < 0 ? err->error : -err->error;
}

/* strerror, and the kernel's own words when it gave some */
static const char *why(const struct ct_conn *c, int err, char *buf, size_t size)
{
	if (c->extack[0])
		snprintf(buf, size, "%s (kernel: %s)", strerror(err), c->extack);
	else
		snprintf(buf, size, "%s", strerror(err));
	return buf;
}

/* ---- parsing: one callback per nesting level ---- */

/* Keeps a in tb when it has the expected type; unknown attributes are skipped (newer kernels). */
static int keep(const struct nlattr *a, const struct nlattr **tb, enum mnl_attr_data_type type,
		size_t len)
{
	int r = len ? mnl_attr_validate2(a, type, len) : mnl_attr_validate(a, type);

	if (r < 0)
		return MNL_CB_ERROR;
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int ct_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	switch (mnl_attr_get_type(a)) {
	case CTA_TUPLE_ORIG:
	case CTA_TUPLE_REPLY:
		return keep(a, tb, MNL_TYPE_NESTED, 0);
	case CTA_MARK:
	case CTA_ID:
		return keep(a, tb, MNL_TYPE_U32, 0);
	case CTA_ZONE:
		return keep(a, tb, MNL_TYPE_U16, 0);
	}
	return MNL_CB_OK;
}

static int tuple_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	switch (mnl_attr_get_type(a)) {
	case CTA_TUPLE_IP:
	case CTA_TUPLE_PROTO:
		return keep(a, tb, MNL_TYPE_NESTED, 0);
	case CTA_TUPLE_ZONE:
		return keep(a, tb, MNL_TYPE_U16, 0);
	}
	return MNL_CB_OK;
}

static int ip_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	switch (mnl_attr_get_type(a)) {
	case CTA_IP_V4_SRC:
	case CTA_IP_V4_DST:
		return keep(a, tb, MNL_TYPE_U32, 0);
	case CTA_IP_V6_SRC:
	case CTA_IP_V6_DST:
		return keep(a, tb, MNL_TYPE_BINARY, sizeof(struct in6_addr));
	}
	return MNL_CB_OK;
}

static int proto_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	switch (mnl_attr_get_type(a)) {
	case CTA_PROTO_NUM:
	case CTA_PROTO_ICMP_TYPE:
	case CTA_PROTO_ICMP_CODE:
	case CTA_PROTO_ICMPV6_TYPE:
	case CTA_PROTO_ICMPV6_CODE:
		return keep(a, tb, MNL_TYPE_U8, 0);
	case CTA_PROTO_SRC_PORT:
	case CTA_PROTO_DST_PORT:
	case CTA_PROTO_ICMP_ID:
	case CTA_PROTO_ICMPV6_ID:
		return keep(a, tb, MNL_TYPE_U16, 0);
	}
	return MNL_CB_OK;
}

/* Fills t from a CTA_TUPLE_* nest; *bad names the nest that did not validate. */
static int parse_tuple(const struct nlattr *nest, uint8_t family, struct ct_tuple *t,
		       const char **bad)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1] = { 0 };
	const struct nlattr *ip[CTA_IP_MAX + 1] = { 0 };
	const struct nlattr *pr[CTA_PROTO_MAX + 1] = { 0 };
	uint16_t src = family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
	uint16_t dst = family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST;

	memset(t, 0, sizeof(*t));
	*bad = "CTA_TUPLE";
	if (mnl_attr_parse_nested(nest, tuple_attr_cb, tb) < 0 || !tb[CTA_TUPLE_IP] ||
	    !tb[CTA_TUPLE_PROTO])
		return -EPROTO;
	*bad = "CTA_TUPLE_IP";
	if (mnl_attr_parse_nested(tb[CTA_TUPLE_IP], ip_attr_cb, ip) < 0 || !ip[src] || !ip[dst])
		return -EPROTO;
	*bad = "CTA_TUPLE_PROTO";
	if (mnl_attr_parse_nested(tb[CTA_TUPLE_PROTO], proto_attr_cb, pr) < 0 || !pr[CTA_PROTO_NUM])
		return -EPROTO;
	*bad = NULL;

	t->ip_attrs = 1u << src | 1u << dst;
	memcpy(t->src, mnl_attr_get_payload(ip[src]), mnl_attr_get_payload_len(ip[src]));
	memcpy(t->dst, mnl_attr_get_payload(ip[dst]), mnl_attr_get_payload_len(ip[dst]));
	for (unsigned i = 0; i <= CTA_PROTO_MAX; i++) {
		if (pr[i])
			t->proto_attrs |= 1u << i;
	}
	t->l4proto = mnl_attr_get_u8(pr[CTA_PROTO_NUM]);
	if (pr[CTA_PROTO_SRC_PORT])
		t->sport = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_SRC_PORT]));
	if (pr[CTA_PROTO_DST_PORT])
		t->dport = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]));
	if (pr[CTA_PROTO_ICMP_ID])
		t->icmp_id = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_ICMP_ID]));
	else if (pr[CTA_PROTO_ICMPV6_ID])
		t->icmp_id = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_ICMPV6_ID]));
	if (pr[CTA_PROTO_ICMP_TYPE])
		t->icmp_type = mnl_attr_get_u8(pr[CTA_PROTO_ICMP_TYPE]);
	else if (pr[CTA_PROTO_ICMPV6_TYPE])
		t->icmp_type = mnl_attr_get_u8(pr[CTA_PROTO_ICMPV6_TYPE]);
	if (pr[CTA_PROTO_ICMP_CODE])
		t->icmp_code = mnl_attr_get_u8(pr[CTA_PROTO_ICMP_CODE]);
	else if (pr[CTA_PROTO_ICMPV6_CODE])
		t->icmp_code = mnl_attr_get_u8(pr[CTA_PROTO_ICMPV6_CODE]);
	if (tb[CTA_TUPLE_ZONE]) {
		t->has_zone = true;
		t->zone = ntohs(mnl_attr_get_u16(tb[CTA_TUPLE_ZONE]));
	}
	return 0;
}

static int parse_entry(const struct nlmsghdr *nlh, struct ct_entry *ent, const char **bad)
{
	const struct nlattr *tb[CTA_MAX + 1] = { 0 };
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	int err;

	memset(ent, 0, sizeof(*ent));
	*bad = "nfgenmsg";
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg) ||
	    (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6))
		return -EPROTO;
	ent->family = nfg->nfgen_family;
	*bad = "CTA";
	if (mnl_attr_parse(nlh, sizeof(*nfg), ct_attr_cb, tb) < 0 || !tb[CTA_TUPLE_ORIG] ||
	    !tb[CTA_TUPLE_REPLY])
		return -EPROTO;
	err = parse_tuple(tb[CTA_TUPLE_ORIG], ent->family, &ent->orig, bad);
	if (!err)
		err = parse_tuple(tb[CTA_TUPLE_REPLY], ent->family, &ent->reply, bad);
	if (err)
		return err;
	if (tb[CTA_MARK]) {
		ent->has_mark = true;
		ent->mark = ntohl(mnl_attr_get_u32(tb[CTA_MARK]));
	}
	if (tb[CTA_ZONE]) {
		ent->has_zone = true;
		ent->zone = ntohs(mnl_attr_get_u16(tb[CTA_ZONE]));
	}
	if (tb[CTA_ID]) {
		ent->has_id = true;
		ent->id = ntohl(mnl_attr_get_u32(tb[CTA_ID]));
	}
	return 0;
}

/* "tcp 10.0.0.2:40000 -> 192.0.2.1:443 zone 5", for messages */
static void describe(const struct ct_entry *ent, char *buf, size_t size)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], proto[16], zone[16] = "";
	const struct ct_tuple *t = &ent->orig;
	const char *p6 = ent->family == AF_INET6 ? "[" : "", *s6 = ent->family == AF_INET6 ? "]" : "";

	inet_ntop(ent->family, t->src, src, sizeof(src));
	inet_ntop(ent->family, t->dst, dst, sizeof(dst));
	switch (t->l4proto) {
	case IPPROTO_TCP:
		strcpy(proto, "tcp");
		break;
	case IPPROTO_UDP:
		strcpy(proto, "udp");
		break;
	case IPPROTO_ICMP:
		strcpy(proto, "icmp");
		break;
	case IPPROTO_ICMPV6:
		strcpy(proto, "icmpv6");
		break;
	default:
		snprintf(proto, sizeof(proto), "proto %u", t->l4proto);
	}
	if (ent->has_zone)
		snprintf(zone, sizeof(zone), " zone %u", ent->zone);
	if (t->proto_attrs & (1u << CTA_PROTO_SRC_PORT | 1u << CTA_PROTO_DST_PORT))
		snprintf(buf, size, "%s %s%s%s:%u -> %s%s%s:%u%s", proto, p6, src, s6, t->sport, p6, dst,
			 s6, t->dport, zone);
	else if (t->proto_attrs & (1u << CTA_PROTO_ICMP_ID | 1u << CTA_PROTO_ICMPV6_ID))
		snprintf(buf, size, "%s %s -> %s id %u%s", proto, src, dst, t->icmp_id, zone);
	else
		snprintf(buf, size, "%s %s -> %s%s", proto, src, dst, zone);
}

/* ---- dumps ---- */

struct dump_ctx {
	struct ct_conn *c;
	int (*fn)(const struct ct_entry *ent, void *arg);
	void *arg;
	const char *bad;        /* the part of a message that did not validate */
	int fn_err;
	int kernel_err;
};

static int dump_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	struct ct_entry ent;
	int err;

	if (nlh->nlmsg_type != (NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW))
		return MNL_CB_OK;
	if (parse_entry(nlh, &ent, &d->bad) < 0)
		return MNL_CB_ERROR;
	err = d->fn(&ent, d->arg);
	if (err) {
		d->fn_err = err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int dump_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;

	d->kernel_err = nl_error(d->c, nlh);
	return d->kernel_err ? MNL_CB_ERROR : MNL_CB_STOP;
}

/* A dump that failed inside the kernel ends with NLMSG_DONE carrying the -errno. */
static int dump_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	int r;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		memcpy(&r, mnl_nlmsg_get_payload(nlh), sizeof(r));
		if (r < 0) {
			d->c->extack[0] = '\0';
			d->kernel_err = r;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/* not const: libmnl 1.0.4's mnl_cb_run2() takes a mutable array */
static mnl_cb_t dump_ctl_cb[NLMSG_MIN_TYPE] = {
	[NLMSG_ERROR] = dump_error_cb,
	[NLMSG_DONE] = dump_done_cb,
};

/* Calls fn for every entry of family; fn's -errno ends the dump and is returned as it is. */
static int ct_dump(struct ct_conn *c, uint8_t family, int (*fn)(const struct ct_entry *, void *),
		   void *arg, const char *who, struct ul_err *e)
{
	struct dump_ctx d = { .c = c, .fn = fn, .arg = arg };
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	uint32_t seq = ++c->seq;
	char reason[400];
	int r = MNL_CB_OK;
	ssize_t n;

	drain(c);
	nlh = mnl_nlmsg_put_header(c->sbuf);
	nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return ul_errf(e, errno, "conntrack: %s: listing %s connections: send: %s",
			       who, family_name(family), strerror(errno));
	do {
		n = mnl_socket_recvfrom(c->nl, c->rbuf, RBUF_BYTES);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ul_errf(e, errno, "conntrack: %s: listing %s connections: receive: %s",
				       who, family_name(family), strerror(errno));
		}
		r = mnl_cb_run2(c->rbuf, (size_t)n, seq, c->portid, dump_data_cb, &d, dump_ctl_cb,
				ARRAY_SIZE(dump_ctl_cb));
	} while (r > MNL_CB_STOP);
	if (r == MNL_CB_STOP)
		return 0;
	if (d.fn_err)
		return ul_errf(e, -d.fn_err, "conntrack: %s: listing %s connections: %s",
			       who, family_name(family), strerror(-d.fn_err));
	if (d.kernel_err)
		return ul_errf(e, -d.kernel_err, "conntrack: %s: listing %s connections: %s",
			       who, family_name(family), why(c, -d.kernel_err, reason, sizeof(reason)));
	if (d.bad)
		return ul_errf(e, EPROTO, "conntrack: %s: listing %s connections: malformed %s attribute "
			       "from the kernel", who, family_name(family), d.bad);
	return ul_errf(e, errno, "conntrack: %s: listing %s connections: %s", who, family_name(family),
		       strerror(errno));
}

/* ---- deletes ---- */

static bool put_tuple(struct nlmsghdr *nlh, size_t room, uint16_t type, uint8_t family,
		      const struct ct_tuple *t)
{
	size_t alen = family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
	uint16_t src = family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
	uint16_t dst = family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST;
	bool v4 = family == AF_INET;
	struct nlattr *tuple, *ip, *proto;
	bool ok;

	tuple = mnl_attr_nest_start_check(nlh, room, type);
	if (!tuple)
		return false;
	ip = mnl_attr_nest_start_check(nlh, room, CTA_TUPLE_IP);
	if (!ip || !mnl_attr_put_check(nlh, room, src, alen, t->src) ||
	    !mnl_attr_put_check(nlh, room, dst, alen, t->dst))
		return false;
	mnl_attr_nest_end(nlh, ip);
	proto = mnl_attr_nest_start_check(nlh, room, CTA_TUPLE_PROTO);
	if (!proto || !mnl_attr_put_u8_check(nlh, room, CTA_PROTO_NUM, t->l4proto))
		return false;
	/* exactly what the kernel sent: each protocol's tuple parser wants its own set */
	ok = true;
	if (t->proto_attrs & 1u << CTA_PROTO_SRC_PORT)
		ok &= mnl_attr_put_u16_check(nlh, room, CTA_PROTO_SRC_PORT, htons(t->sport));
	if (t->proto_attrs & 1u << CTA_PROTO_DST_PORT)
		ok &= mnl_attr_put_u16_check(nlh, room, CTA_PROTO_DST_PORT, htons(t->dport));
	if (t->proto_attrs & (1u << CTA_PROTO_ICMP_ID | 1u << CTA_PROTO_ICMPV6_ID))
		ok &= mnl_attr_put_u16_check(nlh, room, v4 ? CTA_PROTO_ICMP_ID : CTA_PROTO_ICMPV6_ID,
					     htons(t->icmp_id));
	if (t->proto_attrs & (1u << CTA_PROTO_ICMP_TYPE | 1u << CTA_PROTO_ICMPV6_TYPE))
		ok &= mnl_attr_put_u8_check(nlh, room, v4 ? CTA_PROTO_ICMP_TYPE : CTA_PROTO_ICMPV6_TYPE,
					    t->icmp_type);
	if (t->proto_attrs & (1u << CTA_PROTO_ICMP_CODE | 1u << CTA_PROTO_ICMPV6_CODE))
		ok &= mnl_attr_put_u8_check(nlh, room, v4 ? CTA_PROTO_ICMP_CODE : CTA_PROTO_ICMPV6_CODE,
					    t->icmp_code);
	if (!ok)
		return false;
	mnl_attr_nest_end(nlh, proto);
	if (t->has_zone && !mnl_attr_put_u16_check(nlh, room, CTA_TUPLE_ZONE, htons(t->zone)))
		return false;
	mnl_attr_nest_end(nlh, tuple);
	return true;
}

/*
 * Builds the delete of ent into buf; its length, or -EMSGSIZE.  CTA_ID makes the kernel refuse
 * (ENOENT) a newer connection that took over the same tuple since the dump.
 */
static int build_delete(void *buf, size_t room, const struct ct_entry *ent, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	if (room < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg)))
		return -EMSGSIZE;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = ent->family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	if (!put_tuple(nlh, room, CTA_TUPLE_ORIG, ent->family, &ent->orig))
		return -EMSGSIZE;
	if (ent->has_zone && !mnl_attr_put_u16_check(nlh, room, CTA_ZONE, htons(ent->zone)))
		return -EMSGSIZE;
	if (ent->has_id && !mnl_attr_put_u32_check(nlh, room, CTA_ID, htonl(ent->id)))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

struct del_state {
	uint32_t seq0;
	size_t n, acked;
	unsigned deleted;
	int err;                /* the first refusal other than ENOENT */
	size_t err_idx;
	char extack[256];
};

static void note_ack(struct ct_conn *c, const struct nlmsghdr *nlh, struct del_state *st)
{
	size_t idx = nlh->nlmsg_seq - st->seq0;
	int err;

	if (nlh->nlmsg_type != NLMSG_ERROR || idx >= st->n)
		return;
	st->acked++;
	err = nl_error(c, nlh);
	if (!err)
		st->deleted++;
	else if (err != -ENOENT && !st->err) {
		/* ENOENT: gone since the dump (timed out, closed, or a new connection's CTA_ID) */
		st->err = err;
		st->err_idx = idx;
		strlcpy_ul(st->extack, c->extack, sizeof(st->extack));
	}
}

/* Sends the deletes of v[0..n) in one sendmsg and reads their n acknowledgements. */
static int delete_chunk(struct ct_conn *c, const struct ct_entry *v, size_t n, struct del_state *st,
			const char *who, struct ul_err *e)
{
	int fd = mnl_socket_get_fd(c->nl);
	size_t off = 0;
	char what[200];
	ssize_t len;
	int left;

	st->seq0 = c->seq + 1;
	st->n = n;
	st->acked = 0;
	for (size_t i = 0; i < n; i++) {
		int r = build_delete(c->sbuf + off, SBUF_BYTES - off, &v[i], ++c->seq);

		if (r < 0) {
			describe(&v[i], what, sizeof(what));
			return ul_errf(e, -r, "conntrack: %s: delete of %s does not fit a message", who, what);
		}
		off += (size_t)r;
	}
	if (mnl_socket_sendto(c->nl, c->sbuf, off) < 0)
		return ul_errf(e, errno, "conntrack: %s: sending %zu deletes: %s", who, n, strerror(errno));
	while (st->acked < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, ACK_TIMEOUT_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ul_errf(e, errno, "conntrack: %s: poll: %s", who, strerror(errno));
		if (r == 0)
			return ul_errf(e, ETIMEDOUT, "conntrack: %s: no answer to %zu of %zu deletes",
				       who, n - st->acked, n);
		len = recv(fd, c->rbuf, RBUF_BYTES, MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ENOBUFS)
				return ul_errf(e, ENOBUFS, "conntrack: %s: acknowledgements lost "
					       "(receive buffer overrun), some deletes' outcome unknown", who);
			return ul_errf(e, errno, "conntrack: %s: receive: %s", who, strerror(errno));
		}
		left = (int)len;
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)c->rbuf;
		     mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_pid == c->portid)
				note_ack(c, nlh, st);
		}
	}
	return 0;
}

/* ---- flush ---- */

struct flush_ctx {
	const struct ct_match *m;
	VEC(struct ct_entry) doomed;
};

/* The port (ICMP id) the entry is NATed to is one keep_psid keeps. */
static bool nat_port_kept(const struct ct_entry *ent, const struct ct_match *m)
{
	uint16_t port;

	if (!m->keep_psid)
		return false;
	if (ent->reply.l4proto == IPPROTO_TCP || ent->reply.l4proto == IPPROTO_UDP)
		port = ent->reply.dport;
	else if (ent->reply.l4proto == IPPROTO_ICMP)
		port = ent->reply.icmp_id;
	else
		return false;
	return (port & m->psid_mask) == m->psid_bits && port >= m->port_min;
}

static bool ct_matches(const struct ct_entry *ent, const struct ct_match *m)
{
	uint32_t mark = ent->has_mark ? ent->mark : 0;

	if (m->has_nat4 && ent->family == AF_INET &&
	    !memcmp(ent->reply.dst, &m->nat4, sizeof(m->nat4)) && !nat_port_kept(ent, m))
		return true;
	return m->has_mark && (mark & m->mask) == m->mark;
}

static int collect(const struct ct_entry *ent, void *arg)
{
	struct flush_ctx *f = arg;
	struct ct_entry *slot;

	if (!ct_matches(ent, f->m))
		return 0;
	slot = VEC_PUSH(&f->doomed);
	if (!slot)
		return -ENOMEM;
	*slot = *ent;
	return 0;
}

/* "flushing ppp0 (snat to 192.0.2.1, ct mark 0x100/0xff00)" */
static void flush_name(const struct ct_match *m, char *buf, size_t size)
{
	char nat[INET_ADDRSTRLEN + 16] = "", mark[48] = "";

	if (m->has_nat4) {
		strcpy(nat, "snat to ");
		inet_ntop(AF_INET, &m->nat4, nat + strlen(nat), INET_ADDRSTRLEN);
	}
	if (m->has_mark)
		snprintf(mark, sizeof(mark), "%sct mark 0x%x/0x%x", nat[0] ? ", " : "", m->mark, m->mask);
	snprintf(buf, size, "flushing %.*s%s(%s%s)", (int)sizeof(m->oif), m->oif, m->oif[0] ? " " : "",
		 nat, mark);
}

int ct_flush(struct ct_conn *c, const struct ct_match *m, unsigned *deleted, struct ul_err *e)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct flush_ctx f = { .m = m };
	char who[128], what[200], reason[400];
	int err = 0;

	*deleted = 0;
	flush_name(m, who, sizeof(who));
	/* a mark that selects every unmarked connection, or none at all, is a caller's mistake */
	if (m->has_mark && !m->mark)
		return ul_errf(e, EINVAL, "conntrack: %s: mark 0 would select every unmarked connection",
			       who);
	if (m->has_mark && (m->mark & ~m->mask))
		return ul_errf(e, EINVAL, "conntrack: %s: the mark has bits outside the mask, "
			       "so it selects nothing", who);
	if (!m->has_nat4 && !m->has_mark)
		return 0;

	/* the whole dump first: deleting while it runs could make it skip entries */
	for (size_t i = 0; i < ARRAY_SIZE(families) && !err; i++) {
		/* each dump walks the whole (all namespaces') hash table: skip the useless one */
		if (families[i] == AF_INET || m->has_mark)
			err = ct_dump(c, families[i], collect, &f, who, e);
	}
	for (size_t i = 0; i < f.doomed.n && !err; i += DEL_CHUNK) {
		size_t n = f.doomed.n - i < DEL_CHUNK ? f.doomed.n - i : DEL_CHUNK;
		struct del_state st = { 0 };

		err = delete_chunk(c, &f.doomed.v[i], n, &st, who, e);
		*deleted += st.deleted;
		if (!err && st.err) {
			describe(&f.doomed.v[i + st.err_idx], what, sizeof(what));
			strlcpy_ul(c->extack, st.extack, sizeof(c->extack));
			err = ul_errf(e, -st.err, "conntrack: %s: delete of %s: %s", who, what,
				      why(c, -st.err, reason, sizeof(reason)));
		}
	}
	VEC_FREE(&f.doomed);
	return err;
}

/* ---- usage ---- */

struct usage_ctx {
	struct in_addr addr;
	struct ct_usage *u;
	uint8_t seen[3][65536 / 8];     /* tcp ports, udp ports, icmp ids */
};

static int count_usage(const struct ct_entry *ent, void *arg)
{
	struct usage_ctx *us = arg;
	const struct ct_tuple *r = &ent->reply;
	unsigned *counter, kind;
	uint16_t id;

	if (ent->family != AF_INET || memcmp(r->dst, &us->addr, sizeof(us->addr)))
		return 0;
	us->u->entries++;
	if (r->l4proto == IPPROTO_TCP && r->proto_attrs & 1u << CTA_PROTO_DST_PORT) {
		kind = 0;
		counter = &us->u->tcp;
		id = r->dport;
	} else if (r->l4proto == IPPROTO_UDP && r->proto_attrs & 1u << CTA_PROTO_DST_PORT) {
		kind = 1;
		counter = &us->u->udp;
		id = r->dport;
	} else if (r->l4proto == IPPROTO_ICMP && r->proto_attrs & 1u << CTA_PROTO_ICMP_ID) {
		kind = 2;
		counter = &us->u->icmp;
		id = r->icmp_id;
	} else {
		return 0;
	}
	if (!(us->seen[kind][id / 8] & 1u << id % 8)) {
		us->seen[kind][id / 8] |= (uint8_t)(1u << id % 8);
		(*counter)++;
	}
	return 0;
}

int ct_usage(struct ct_conn *c, const struct in_addr *addr, struct ct_usage *u, struct ul_err *e)
{
	struct usage_ctx *us = calloc(1, sizeof(*us));
	char who[INET_ADDRSTRLEN + 32];
	int err;

	memset(u, 0, sizeof(*u));
	if (!us)
		return ul_errf(e, ENOMEM, "conntrack: out of memory");
	strcpy(who, "ports in use at ");
	inet_ntop(AF_INET, addr, who + strlen(who), INET_ADDRSTRLEN);
	us->addr = *addr;
	us->u = u;
	err = ct_dump(c, AF_INET, count_usage, us, who, e);
	free(us);
	if (err)
		memset(u, 0, sizeof(*u));
	return err;
}
