#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dhcp6.h"

enum {
	MSG_SOLICIT = 1, MSG_ADVERTISE = 2, MSG_REQUEST = 3, MSG_RENEW = 5, MSG_REBIND = 6,
	MSG_REPLY = 7, MSG_RELEASE = 8,
};

enum {
	OPT_CLIENTID = 1, OPT_SERVERID = 2, OPT_ORO = 6, OPT_PREFERENCE = 7, OPT_ELAPSED_TIME = 8,
	OPT_STATUS_CODE = 13, OPT_RAPID_COMMIT = 14, OPT_DNS_SERVERS = 23, OPT_IA_PD = 25,
	OPT_IAPREFIX = 26, OPT_SOL_MAX_RT = 82, OPT_INF_MAX_RT = 83,
};

enum {
	ST_SUCCESS = 0, ST_UNSPEC_FAIL = 1, ST_NO_ADDRS_AVAIL = 2, ST_NO_BINDING = 3,
	ST_NOT_ON_LINK = 4, ST_USE_MULTICAST = 5, ST_NO_PREFIX_AVAIL = 6,
};

/* RFC 8415 section 7.6, in milliseconds. */
#define SOL_TIMEOUT 1000u
#define SOL_MAX_RT 3600000u
#define REQ_TIMEOUT 1000u
#define REQ_MAX_RT 30000u
#define REQ_MAX_RC 10u
#define REN_TIMEOUT 10000u
#define REN_MAX_RT 600000u
#define REB_TIMEOUT 10000u
#define REB_MAX_RT 600000u
#define REL_TIMEOUT 1000u
#define REL_MAX_RC 4u
#define CNF_TIMEOUT 1000u
#define CNF_MAX_RT 4000u
#define CNF_MAX_RD 10000u
/*
 * RFC 8415 wants the first Solicit (and a confirming Rebind) delayed by up to 1 s so that
 * clients powered up together spread out; uplinkd starts the client only once its link is up,
 * one link at a time, so a tenth of that is enough and the prefix comes sooner.
 */
#define START_MAX_DELAY 100u

#define NEVER UINT64_MAX
#define INFINITE_LIFETIME UINT32_MAX
#define DUID_MAX 128
#define SERVER_ID_MAX 130
#define OUT_MAX 512

struct dhcp6_client {
	uint8_t duid[DUID_MAX];
	size_t duid_len;
	uint32_t iaid;
	uint8_t hint_len;
	uint64_t rng;
	uint32_t sol_max_rt_ms;
	uint32_t backoff_ms;

	enum dhcp6_state state;
	uint8_t xid[3];
	uint32_t irt_ms, mrt_ms;
	unsigned mrc, rc;
	uint64_t rt_ms, ex_start_ms, next_tx_ms, mrd_end_ms;
	bool confirming;

	/* the server and prefix the next Request, Renew or Release names */
	uint8_t srv_id[SERVER_ID_MAX];
	size_t srv_id_len;
	struct ip_prefix pd;

	bool have_adv;
	uint8_t adv_pref;

	struct dhcp6_lease lease;
	uint64_t t1_at, t2_at, valid_at;
	bool changed;

	uint8_t out[OUT_MAX];
	size_t out_len;
	char err[192];
};

struct ia_info {
	bool found;
	uint32_t t1, t2;
	int status;
	const uint8_t *status_msg;
	size_t status_msg_len;
	bool have_best, revoked;
	struct ip_prefix best;
	uint32_t best_pref, best_valid;
	bool discarded;          /* T1 > T2: the whole IA_PD is ignored */
	char why[128];           /* why the first refused IA Prefix (or the IA_PD) was refused */
};

struct msg {
	uint8_t type;
	const uint8_t *client_id, *server_id;
	size_t client_id_len, server_id_len;
	int status;
	const uint8_t *status_msg;
	size_t status_msg_len;
	int pref;
	bool rapid_commit;
	uint32_t sol_max_rt;
	struct ia_info ia;
	char bad[64];            /* why it does not parse */
};

static uint64_t rnd(struct dhcp6_client *c)
{
	uint64_t z = (c->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* base * (1 + RAND) with RAND uniform in [lo, hi] ten-thousandths. */
static uint64_t jitter(struct dhcp6_client *c, uint64_t base, int lo, int hi)
{
	int64_t r = lo + (int64_t)(rnd(c) % (uint64_t)(hi - lo + 1));

	return (uint64_t)((int64_t)base + (int64_t)base * r / 10000);
}

static uint64_t add_s(uint64_t at, uint32_t s)
{
	return s == INFINITE_LIFETIME ? NEVER : at + (uint64_t)s * 1000;
}

static const char *status_name(int code)
{
	static const char *const names[] = {
		"Success", "UnspecFail", "NoAddrsAvail", "NoBinding", "NotOnLink", "UseMulticast",
		"NoPrefixAvail",
	};

	return code >= 0 && code < (int)(sizeof(names) / sizeof(names[0])) ? names[code] : "status";
}

static void set_err_status(struct dhcp6_client *c, int code, const uint8_t *text, size_t len)
{
	char clean[128];
	size_t i, n = len < sizeof(clean) - 1 ? len : sizeof(clean) - 1;

	/* the text comes from the network and ends up in logs */
	for (i = 0; i < n; i++)
		clean[i] = text[i] >= 0x20 && text[i] < 0x7f ? (char)text[i] : '?';
	clean[n] = '\0';
	if (code > ST_NO_PREFIX_AVAIL)
		snprintf(c->err, sizeof(c->err), "server says status %d%s%s", code, n ? ": " : "", clean);
	else
		snprintf(c->err, sizeof(c->err), "server says %s%s%s", status_name(code),
			 n ? ": " : "", clean);
}

static void set_err(struct dhcp6_client *c, const char *text)
{
	snprintf(c->err, sizeof(c->err), "%s", text);
}

struct wbuf {
	uint8_t *b;
	size_t len, cap;
	bool over;
};

static void put(struct wbuf *w, const void *data, size_t len)
{
	if (w->over || len > w->cap - w->len) {
		w->over = true;
		return;
	}
	if (len)
		memcpy(w->b + w->len, data, len);
	w->len += len;
}

static void put_u8(struct wbuf *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(w, b, 2);
}

static void put_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(w, b, 4);
}

static void put_opt(struct wbuf *w, uint16_t code, const void *data, size_t len)
{
	put_u16(w, code);
	put_u16(w, (uint16_t)len);
	put(w, data, len);
}

static uint8_t msg_type(enum dhcp6_state s)
{
	switch (s) {
	case DHCP6_SOLICIT:
		return MSG_SOLICIT;
	case DHCP6_REQUEST:
		return MSG_REQUEST;
	case DHCP6_RENEW:
		return MSG_RENEW;
	case DHCP6_REBIND:
		return MSG_REBIND;
	case DHCP6_RELEASE:
		return MSG_RELEASE;
	case DHCP6_IDLE:
	case DHCP6_BOUND:
		break;
	}
	return 0;
}

static void build(struct dhcp6_client *c, uint64_t now)
{
	struct wbuf w = { c->out, 0, sizeof(c->out), false };
	uint8_t type = msg_type(c->state);
	uint64_t elapsed = (now - c->ex_start_ms) / 10;
	bool with_prefix = type == MSG_SOLICIT ? c->hint_len > 0 : c->pd.len > 0;

	put_u8(&w, type);
	put(&w, c->xid, 3);
	put_opt(&w, OPT_CLIENTID, c->duid, c->duid_len);
	if (type == MSG_REQUEST || type == MSG_RENEW || type == MSG_RELEASE)
		put_opt(&w, OPT_SERVERID, c->srv_id, c->srv_id_len);
	put_u16(&w, OPT_ELAPSED_TIME);
	put_u16(&w, 2);
	put_u16(&w, elapsed > 0xffff ? 0xffff : (uint16_t)elapsed);
	if (type != MSG_RELEASE) {
		put_u16(&w, OPT_ORO);
		put_u16(&w, 6);
		put_u16(&w, OPT_DNS_SERVERS);
		put_u16(&w, OPT_SOL_MAX_RT);
		put_u16(&w, OPT_INF_MAX_RT);
	}
	if (type == MSG_SOLICIT)
		put_opt(&w, OPT_RAPID_COMMIT, NULL, 0);
	put_u16(&w, OPT_IA_PD);
	put_u16(&w, with_prefix ? 12 + 4 + 25 : 12);
	put_u32(&w, c->iaid);
	put_u32(&w, 0);
	put_u32(&w, 0);
	if (with_prefix) {
		/* lifetimes 0: a client states no preference (RFC 8415 21.22) */
		put_u16(&w, OPT_IAPREFIX);
		put_u16(&w, 25);
		put_u32(&w, 0);
		put_u32(&w, 0);
		if (type == MSG_SOLICIT) {
			static const uint8_t any[16];

			put_u8(&w, c->hint_len);
			put(&w, any, 16);
		} else {
			put_u8(&w, c->pd.len);
			put(&w, c->pd.addr.b, 16);
		}
	}
	c->out_len = w.over ? 0 : w.len;
}

static void begin(struct dhcp6_client *c, enum dhcp6_state s, uint64_t now, uint64_t delay)
{
	uint64_t r = rnd(c);

	c->state = s;
	c->xid[0] = (uint8_t)(r >> 16);
	c->xid[1] = (uint8_t)(r >> 8);
	c->xid[2] = (uint8_t)r;
	c->rc = 0;
	c->rt_ms = 0;
	c->next_tx_ms = now + delay;
	c->mrd_end_ms = NEVER;
	c->mrc = 0;
	c->have_adv = false;
	c->confirming = false;
	switch (s) {
	case DHCP6_SOLICIT:
		c->irt_ms = SOL_TIMEOUT;
		c->mrt_ms = c->sol_max_rt_ms;
		break;
	case DHCP6_REQUEST:
		c->irt_ms = REQ_TIMEOUT;
		c->mrt_ms = REQ_MAX_RT;
		c->mrc = REQ_MAX_RC;
		break;
	case DHCP6_RENEW:
		c->irt_ms = REN_TIMEOUT;
		c->mrt_ms = REN_MAX_RT;
		c->mrd_end_ms = c->t2_at;
		c->pd = c->lease.prefix;
		memcpy(c->srv_id, c->lease.server_id, c->lease.server_id_len);
		c->srv_id_len = c->lease.server_id_len;
		break;
	case DHCP6_REBIND:
		c->irt_ms = REB_TIMEOUT;
		c->mrt_ms = REB_MAX_RT;
		c->mrd_end_ms = c->valid_at;
		c->pd = c->lease.prefix;
		break;
	case DHCP6_RELEASE:
		c->irt_ms = REL_TIMEOUT;
		c->mrt_ms = 0;
		c->mrc = REL_MAX_RC;
		break;
	case DHCP6_IDLE:
	case DHCP6_BOUND:
		c->next_tx_ms = NEVER;
		break;
	}
}

static void transmit(struct dhcp6_client *c, uint64_t now)
{
	if (!c->rc) {
		c->ex_start_ms = now;
		/* the first RT of a Solicit must exceed IRT (RFC 8415 18.2.1) */
		c->rt_ms = jitter(c, c->irt_ms, c->state == DHCP6_SOLICIT ? 1 : -1000, 1000);
	} else {
		c->rt_ms += jitter(c, c->rt_ms, -1000, 1000);
		if (c->mrt_ms && c->rt_ms > c->mrt_ms)
			c->rt_ms = jitter(c, c->mrt_ms, -1000, 1000);
	}
	c->rc++;
	c->next_tx_ms = now + c->rt_ms;
	if (c->next_tx_ms > c->mrd_end_ms)
		c->next_tx_ms = c->mrd_end_ms;
	build(c, now);
}

static void clear_lease(struct dhcp6_client *c)
{
	if (c->lease.valid)
		c->changed = true;
	memset(&c->lease, 0, sizeof(c->lease));
	c->t1_at = c->t2_at = c->valid_at = NEVER;
}

static void solicit_again(struct dhcp6_client *c, uint64_t now)
{
	/* a server that advertises and then refuses must not make us loop at full speed */
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : SOL_TIMEOUT;
	if (c->backoff_ms > c->sol_max_rt_ms)
		c->backoff_ms = c->sol_max_rt_ms;
	begin(c, DHCP6_SOLICIT, now, c->backoff_ms);
}

static void run(struct dhcp6_client *c, uint64_t now)
{
	if (c->lease.valid && now >= c->valid_at) {
		clear_lease(c);
		set_err(c, "lease expired");
		if (c->state != DHCP6_IDLE && c->state != DHCP6_RELEASE)
			begin(c, DHCP6_SOLICIT, now, rnd(c) % (START_MAX_DELAY + 1));
	}
	/* RFC 8415 18.2.12: unconfirmed, the lease stays in use */
	if (c->confirming && now >= c->mrd_end_ms)
		begin(c, now >= c->t2_at ? DHCP6_REBIND : DHCP6_BOUND, now, 0);
	if ((c->state == DHCP6_BOUND || c->state == DHCP6_RENEW) && now >= c->t2_at)
		begin(c, DHCP6_REBIND, now, 0);
	else if (c->state == DHCP6_BOUND && now >= c->t1_at)
		begin(c, DHCP6_RENEW, now, 0);
	if (c->state == DHCP6_SOLICIT && c->have_adv && now >= c->next_tx_ms)
		begin(c, DHCP6_REQUEST, now, 0);
	if (c->next_tx_ms == NEVER || now < c->next_tx_ms)
		return;
	if (c->mrc && c->rc >= c->mrc) {
		if (c->state == DHCP6_REQUEST) {
			set_err(c, "no Reply to Request");
			solicit_again(c, now);
		} else {
			begin(c, DHCP6_IDLE, now, 0);
		}
		return;
	}
	transmit(c, now);
}

struct opt_iter {
	const uint8_t *p;
	size_t left;
};

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* 1: an option, 0: the end, -1: malformed. */
static int opt_next(struct opt_iter *it, uint16_t *code, const uint8_t **data, size_t *len)
{
	size_t n;

	if (!it->left)
		return 0;
	if (it->left < 4)
		return -1;
	n = get_u16(it->p + 2);
	if (n > it->left - 4)
		return -1;
	*code = get_u16(it->p);
	*data = it->p + 4;
	*len = n;
	it->p += 4 + n;
	it->left -= 4 + n;
	return 1;
}

static int parse_status(const uint8_t *d, size_t len, int *code, const uint8_t **text,
			size_t *text_len)
{
	if (len < 2)
		return -1;
	*code = get_u16(d);
	*text = d + 2;
	*text_len = len - 2;
	return 0;
}

static void refuse(struct ia_info *ia, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Remembers the first reason an IA Prefix was refused: the one the log shows. */
static void refuse(struct ia_info *ia, const char *fmt, ...)
{
	va_list ap;

	if (ia->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(ia->why, sizeof(ia->why), fmt, ap);
	va_end(ap);
}

/*
 * Why a lease's prefix and lifetime cannot be held (into why), or 0: the same for what a server
 * sends and what a saved lease says.
 */
static int lease_problem(const struct ip_prefix *p, uint32_t valid, char *why, size_t n)
{
	char buf[PREFIX_STRLEN];
	const char *problem;

	if (p->addr.family == AF_INET6 && p->len > 128) {
		snprintf(why, n, "prefix length %u", p->len);
		return -EINVAL;
	}
	problem = prefix_pd_problem(p);
	if (problem) {
		snprintf(why, n, "%s is %s", prefix_fmt(p, buf), problem);
		return -EINVAL;
	}
	if (!valid) {
		snprintf(why, n, "%s has valid lifetime 0", prefix_fmt(p, buf));
		return -EINVAL;
	}
	return 0;
}

static int parse_iaprefix(const struct dhcp6_client *c, const uint8_t *d, size_t len,
			  struct ia_info *ia)
{
	struct opt_iter it = { d + 25, len - 25 };
	struct ip_prefix p = { .addr.family = AF_INET6 };
	char buf[PREFIX_STRLEN], why[sizeof(ia->why)];
	uint32_t pref, valid;
	const uint8_t *sd;
	uint16_t code;
	size_t sl;
	int r, st = ST_SUCCESS;

	while ((r = opt_next(&it, &code, &sd, &sl)) > 0) {
		const uint8_t *text;
		size_t text_len;

		if (code != OPT_STATUS_CODE)
			continue;
		int code_here;

		if (parse_status(sd, sl, &code_here, &text, &text_len))
			return -1;
		if (code_here != ST_SUCCESS)
			st = code_here;
	}
	if (r < 0)
		return -1;
	pref = get_u32(d);
	valid = get_u32(d + 4);
	p.len = d[8];
	memcpy(p.addr.b, d + 9, 16);
	prefix_mask(&p);
	if (st != ST_SUCCESS) {
		refuse(ia, "%s comes with status %s", p.len <= 128 ? prefix_fmt(&p, buf) : "a prefix",
		       status_name(st));
		return 0;
	}
	/* RFC 8415 21.22: such an IA Prefix is ignored */
	if (pref > valid && p.len <= 128) {
		refuse(ia, "%s has preferred lifetime %u > valid %u", prefix_fmt(&p, buf), pref, valid);
		return 0;
	}
	if (!valid && p.len <= 128 && c->lease.valid && !prefix_cmp(&p, &c->lease.prefix)) {
		ia->revoked = true;
		return 0;
	}
	if (lease_problem(&p, valid, why, sizeof(why))) {
		refuse(ia, "%s", why);
		return 0;
	}
	if (!ia->have_best || valid > ia->best_valid) {
		ia->have_best = true;
		ia->best = p;
		ia->best_pref = pref;
		ia->best_valid = valid;
	}
	return 0;
}

static int parse_ia_pd(const struct dhcp6_client *c, const uint8_t *d, size_t len,
		       struct ia_info *ia)
{
	struct opt_iter it;
	const uint8_t *sd;
	uint16_t code;
	size_t sl;
	int r;

	if (len < 12)
		return -1;
	it = (struct opt_iter){ d + 12, len - 12 };
	if (ia->found || get_u32(d) != c->iaid) {
		while ((r = opt_next(&it, &code, &sd, &sl)) > 0)
			;
		return r;
	}
	memset(ia, 0, sizeof(*ia));
	ia->found = true;
	ia->status = -1;
	ia->t1 = get_u32(d + 4);
	ia->t2 = get_u32(d + 8);
	while ((r = opt_next(&it, &code, &sd, &sl)) > 0) {
		if (code == OPT_STATUS_CODE) {
			if (parse_status(sd, sl, &ia->status, &ia->status_msg, &ia->status_msg_len))
				return -1;
		} else if (code == OPT_IAPREFIX) {
			if (sl < 25 || parse_iaprefix(c, sd, sl, ia))
				return -1;
		}
	}
	if (r < 0)
		return -1;
	/* RFC 8415 21.21: such an IA_PD is discarded */
	if (ia->t1 && ia->t2 && ia->t1 > ia->t2) {
		uint32_t t1 = ia->t1, t2 = ia->t2;

		memset(ia, 0, sizeof(*ia));
		ia->discarded = true;
		snprintf(ia->why, sizeof(ia->why), "T1 %u > T2 %u", t1, t2);
	}
	return 0;
}

/* -EBADMSG (why in m->bad) for a message that does not parse, -ENOENT for one not for us. */
static int parse(const struct dhcp6_client *c, const uint8_t *pkt, size_t len, struct msg *m)
{
	struct opt_iter it = { pkt + 4, len - 4 };
	const uint8_t *d;
	uint16_t code = 0;
	size_t n;
	int r;

	memset(m, 0, sizeof(*m));
	m->type = pkt[0];
	m->status = -1;
	m->pref = -1;
	m->ia.status = -1;
	while ((r = opt_next(&it, &code, &d, &n)) > 0) {
		switch (code) {
		case OPT_CLIENTID:
			if (!m->client_id) {
				m->client_id = d;
				m->client_id_len = n;
			}
			break;
		case OPT_SERVERID:
			if (!m->server_id) {
				m->server_id = d;
				m->server_id_len = n;
			}
			break;
		case OPT_PREFERENCE:
			if (n != 1)
				goto malformed;
			m->pref = d[0];
			break;
		case OPT_STATUS_CODE:
			if (parse_status(d, n, &m->status, &m->status_msg, &m->status_msg_len))
				goto malformed;
			break;
		case OPT_RAPID_COMMIT:
			if (n)
				goto malformed;
			m->rapid_commit = true;
			break;
		case OPT_IA_PD:
			if (parse_ia_pd(c, d, n, &m->ia))
				goto malformed;
			break;
		case OPT_SOL_MAX_RT:
			if (n != 4)
				goto malformed;
			m->sol_max_rt = get_u32(d);
			break;
		default:
			break;
		}
	}
	if (r < 0) {
		snprintf(m->bad, sizeof(m->bad), "an option runs past its end");
		return -EBADMSG;
	}
	if (!m->client_id || m->client_id_len != c->duid_len ||
	    memcmp(m->client_id, c->duid, c->duid_len))
		return -ENOENT;
	if (!m->server_id || !m->server_id_len || m->server_id_len > SERVER_ID_MAX) {
		snprintf(m->bad, sizeof(m->bad), "no usable Server Identifier");
		return -EBADMSG;
	}
	return 0;
malformed:
	snprintf(m->bad, sizeof(m->bad), "option %u is malformed", code);
	return -EBADMSG;
}

static bool ia_failed(struct dhcp6_client *c, const struct msg *m)
{
	if (m->ia.status > ST_SUCCESS) {
		set_err_status(c, m->ia.status, m->ia.status_msg, m->ia.status_msg_len);
		return true;
	}
	if (!m->ia.found && m->ia.discarded) {
		snprintf(c->err, sizeof(c->err), "server sent an IA_PD with %s (discarded, RFC 8415 21.21)",
			 m->ia.why);
		return true;
	}
	if (!m->ia.found) {
		set_err(c, "server sent no IA_PD");
		return true;
	}
	if (!m->ia.have_best) {
		snprintf(c->err, sizeof(c->err), "server sent no usable prefix%s%s", m->ia.why[0] ? ": " : "",
			 m->ia.why);
		return true;
	}
	return false;
}

static void bind_lease(struct dhcp6_client *c, const struct msg *m, uint64_t now)
{
	struct dhcp6_lease *l = &c->lease;
	uint32_t base, t1 = m->ia.t1, t2 = m->ia.t2;

	if (!l->valid || prefix_cmp(&l->prefix, &m->ia.best))
		c->changed = true;
	l->valid = true;
	l->prefix = m->ia.best;
	l->preferred_s = m->ia.best_pref;
	l->valid_s = m->ia.best_valid;
	/* RFC 8415 14.2: 0.5 and 0.8 times the preferred lifetime when the server leaves it to us */
	base = l->preferred_s ? l->preferred_s : l->valid_s;
	if (!t1)
		t1 = base == INFINITE_LIFETIME ? base : base / 2;
	if (!t2)
		t2 = base == INFINITE_LIFETIME ? base : (uint32_t)((uint64_t)base * 4 / 5);
	/* a zero T1 would renew in a loop */
	if (!t1)
		t1 = 1;
	if (t2 < t1)
		t2 = t1;
	if (t2 > l->valid_s)
		t2 = l->valid_s;
	if (t1 > t2)
		t1 = t2;
	l->t1_s = t1;
	l->t2_s = t2;
	l->obtained_ms = now;
	memcpy(l->server_id, m->server_id, m->server_id_len);
	l->server_id_len = m->server_id_len;
	c->t1_at = add_s(now, t1);
	c->t2_at = add_s(now, t2);
	c->valid_at = add_s(now, l->valid_s);
	c->backoff_ms = 0;
	c->err[0] = '\0';
	begin(c, DHCP6_BOUND, now, 0);
}

static void take_server(struct dhcp6_client *c, const struct msg *m)
{
	memcpy(c->srv_id, m->server_id, m->server_id_len);
	c->srv_id_len = m->server_id_len;
}

static void on_advertise(struct dhcp6_client *c, const struct msg *m, uint64_t now)
{
	uint8_t pref;

	if (c->state != DHCP6_SOLICIT)
		return;
	if (m->status > ST_SUCCESS) {
		set_err_status(c, m->status, m->status_msg, m->status_msg_len);
		return;
	}
	if (ia_failed(c, m))
		return;
	/* no Preference option means 0 (RFC 8415 18.2.9); the first of equals wins */
	pref = m->pref > 0 ? (uint8_t)m->pref : 0;
	if (!c->have_adv || pref > c->adv_pref) {
		c->have_adv = true;
		c->adv_pref = pref;
		take_server(c, m);
		c->pd = m->ia.best;
	}
	/* collect for the first RT unless the server insists (RFC 8415 18.2.1) */
	if (c->adv_pref == 255 || c->rc > 1)
		c->next_tx_ms = now;
}

static void on_reply(struct dhcp6_client *c, const struct msg *m, uint64_t now)
{
	switch (c->state) {
	case DHCP6_SOLICIT:
		if (!m->rapid_commit)
			return;
		if (m->status > ST_SUCCESS)
			set_err_status(c, m->status, m->status_msg, m->status_msg_len);
		else if (!ia_failed(c, m))
			bind_lease(c, m, now);
		return;
	case DHCP6_REQUEST:
		if (m->status == ST_NOT_ON_LINK) {
			set_err_status(c, m->status, m->status_msg, m->status_msg_len);
			solicit_again(c, now);
			return;
		}
		/* UnspecFail, UseMulticast: the retransmissions go on, at their pace */
		if (m->status > ST_SUCCESS) {
			set_err_status(c, m->status, m->status_msg, m->status_msg_len);
			return;
		}
		if (ia_failed(c, m))
			solicit_again(c, now);
		else
			bind_lease(c, m, now);
		return;
	case DHCP6_RENEW:
	case DHCP6_REBIND:
		if (m->status > ST_SUCCESS) {
			set_err_status(c, m->status, m->status_msg, m->status_msg_len);
			return;
		}
		if (m->ia.found && m->ia.status == ST_NO_BINDING) {
			set_err_status(c, m->ia.status, m->ia.status_msg, m->ia.status_msg_len);
			take_server(c, m);
			begin(c, DHCP6_REQUEST, now, 0);
			return;
		}
		if (!ia_failed(c, m)) {
			bind_lease(c, m, now);
		} else if (m->ia.revoked) {
			clear_lease(c);
			set_err(c, "server withdrew the prefix");
			begin(c, DHCP6_SOLICIT, now, rnd(c) % (START_MAX_DELAY + 1));
		}
		return;
	case DHCP6_RELEASE:
		begin(c, DHCP6_IDLE, now, 0);
		return;
	case DHCP6_IDLE:
	case DHCP6_BOUND:
		return;
	}
}

struct dhcp6_client *dhcp6_new(const uint8_t *duid, size_t duid_len, uint32_t iaid,
			       uint8_t hint_len, uint32_t seed)
{
	struct dhcp6_client *c;

	if (!duid || !duid_len || duid_len > DUID_MAX)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	memcpy(c->duid, duid, duid_len);
	c->duid_len = duid_len;
	c->iaid = iaid;
	c->hint_len = hint_len <= 128 ? hint_len : 0;
	c->rng = seed;
	c->sol_max_rt_ms = SOL_MAX_RT;
	c->state = DHCP6_IDLE;
	c->next_tx_ms = NEVER;
	c->t1_at = c->t2_at = c->valid_at = c->mrd_end_ms = NEVER;
	return c;
}

void dhcp6_free(struct dhcp6_client *c)
{
	free(c);
}

void dhcp6_start(struct dhcp6_client *c, uint64_t now_ms)
{
	uint64_t delay = rnd(c) % (START_MAX_DELAY + 1);

	c->out_len = 0;
	c->backoff_ms = 0;
	if (c->lease.valid && now_ms < c->valid_at) {
		/* RFC 8415 18.2.12: after a link change, a Rebind paced as a Confirm */
		begin(c, DHCP6_REBIND, now_ms, delay);
		c->confirming = true;
		c->irt_ms = CNF_TIMEOUT;
		c->mrt_ms = CNF_MAX_RT;
		if (now_ms + delay + CNF_MAX_RD < c->mrd_end_ms)
			c->mrd_end_ms = now_ms + delay + CNF_MAX_RD;
	} else {
		begin(c, DHCP6_SOLICIT, now_ms, delay);
	}
	run(c, now_ms);
}

int dhcp6_restore(struct dhcp6_client *c, const struct dhcp6_lease *l)
{
	struct dhcp6_lease *k = &c->lease;
	struct ip_prefix p = l->prefix;
	char why[128];

	if (c->state != DHCP6_IDLE || k->valid)
		return -EBUSY;
	prefix_mask(&p);
	if (!l->valid) {
		set_err(c, "saved lease refused: not a lease");
		return -EINVAL;
	}
	if (lease_problem(&p, l->valid_s, why, sizeof(why))) {
		snprintf(c->err, sizeof(c->err), "saved lease refused: %s", why);
		return -EINVAL;
	}
	if (!l->server_id_len || l->server_id_len > sizeof(k->server_id)) {
		set_err(c, "saved lease refused: no usable server DUID");
		return -EINVAL;
	}
	*k = *l;
	prefix_mask(&k->prefix);
	if (k->preferred_s > k->valid_s)
		k->preferred_s = k->valid_s;
	if (!k->t1_s)
		k->t1_s = 1;
	if (k->t2_s < k->t1_s)
		k->t2_s = k->t1_s;
	if (k->t2_s > k->valid_s)
		k->t2_s = k->valid_s;
	if (k->t1_s > k->t2_s)
		k->t1_s = k->t2_s;
	c->t1_at = add_s(k->obtained_ms, k->t1_s);
	c->t2_at = add_s(k->obtained_ms, k->t2_s);
	c->valid_at = add_s(k->obtained_ms, k->valid_s);
	c->changed = true;
	return 0;
}

void dhcp6_stop(struct dhcp6_client *c, uint64_t now_ms)
{
	c->out_len = 0;
	if (!c->lease.valid) {
		if (c->state != DHCP6_RELEASE)
			begin(c, DHCP6_IDLE, now_ms, 0);
		return;
	}
	c->pd = c->lease.prefix;
	memcpy(c->srv_id, c->lease.server_id, c->lease.server_id_len);
	c->srv_id_len = c->lease.server_id_len;
	/* RFC 8415 18.2.7: the prefix is not ours any more once the Release goes out */
	clear_lease(c);
	begin(c, DHCP6_RELEASE, now_ms, 0);
	run(c, now_ms);
}

void dhcp6_input(struct dhcp6_client *c, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
	struct msg m;
	int r;

	if (!pkt || len < 4 || c->state == DHCP6_IDLE || c->state == DHCP6_BOUND || !c->rc)
		return;
	if ((pkt[0] != MSG_ADVERTISE && pkt[0] != MSG_REPLY) || memcmp(pkt + 1, c->xid, 3))
		return;
	r = parse(c, pkt, len, &m);
	if (r == -EBADMSG)
		snprintf(c->err, sizeof(c->err), "ignored a malformed %s: %s",
			 pkt[0] == MSG_ADVERTISE ? "Advertise" : "Reply", m.bad);
	if (r)
		return;
	/* RFC 8415 21.24: processed even from a message otherwise ignored */
	if (m.sol_max_rt >= 60 && m.sol_max_rt <= 86400) {
		c->sol_max_rt_ms = m.sol_max_rt * 1000;
		if (c->state == DHCP6_SOLICIT)
			c->mrt_ms = c->sol_max_rt_ms;
	}
	if (m.type == MSG_ADVERTISE)
		on_advertise(c, &m, now_ms);
	else
		on_reply(c, &m, now_ms);
	run(c, now_ms);
}

void dhcp6_tick(struct dhcp6_client *c, uint64_t now_ms)
{
	run(c, now_ms);
}

bool dhcp6_output(struct dhcp6_client *c, uint8_t *buf, size_t *len)
{
	if (!c->out_len || *len < c->out_len)
		return false;
	memcpy(buf, c->out, c->out_len);
	*len = c->out_len;
	c->out_len = 0;
	return true;
}

uint64_t dhcp6_deadline(const struct dhcp6_client *c)
{
	uint64_t t = c->next_tx_ms;

	if (c->lease.valid && c->valid_at < t)
		t = c->valid_at;
	if (c->state == DHCP6_BOUND && c->t1_at < t)
		t = c->t1_at;
	if ((c->state == DHCP6_BOUND || c->state == DHCP6_RENEW) && c->t2_at < t)
		t = c->t2_at;
	if (t == NEVER)
		return 0;
	return t ? t : 1;
}

enum dhcp6_state dhcp6_state(const struct dhcp6_client *c)
{
	return c->state;
}

const char *dhcp6_state_name(enum dhcp6_state s)
{
	switch (s) {
	case DHCP6_IDLE:
		return "idle";
	case DHCP6_SOLICIT:
		return "solicit";
	case DHCP6_REQUEST:
		return "request";
	case DHCP6_BOUND:
		return "bound";
	case DHCP6_RENEW:
		return "renew";
	case DHCP6_REBIND:
		return "rebind";
	case DHCP6_RELEASE:
		return "release";
	}
	return "?";
}

const struct dhcp6_lease *dhcp6_lease(const struct dhcp6_client *c)
{
	return &c->lease;
}

bool dhcp6_lease_changed(struct dhcp6_client *c)
{
	bool changed = c->changed;

	c->changed = false;
	return changed;
}

const char *dhcp6_last_error(const struct dhcp6_client *c)
{
	return c->err;
}

size_t dhcp6_duid_ll(const uint8_t mac[6], uint8_t *out)
{
	out[0] = 0;
	out[1] = 3;
	out[2] = 0;
	out[3] = 1;
	memcpy(out + 4, mac, 6);
	return 10;
}
