/*
 * The nftables backend: an nftp_table becomes libnftnl objects, written as one nfnetlink
 * batch (one transaction).  Every expression is what `nft -f` builds for the text
 * nftp_print() renders, so `nft list` shows our table as if nft had loaded it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nft.h"
#include "nlack.h"

/* Bump when the objects built for the same nftp_table change: old tables then get replaced. */
#define NFT_BUILD_VERSION 1

/* Our private TLV in the table's userdata (nft ignores types it does not know). */
#define UDATA_TABLE_HASH 0x75

/* nft's datatype numbers and byte orders, stored in sets so `nft list` can print them. */
#define DT_INTEGER 4
#define DT_IPADDR 7
#define DT_IP6ADDR 8
#define DT_INET_PROTOCOL 12
#define DT_INET_SERVICE 13
#define DT_STRING 5
#define DT_ICMP6_TYPE 29
#define DT_IFNAME 41
#define BO_HOST 1
#define BO_BIG 2
#define TYPEOF_EXPR_VERDICT 1
#define TYPEOF_EXPR_PAYLOAD 7
#define TYPEOF_EXPR_META 9
#define TYPEOF_EXPR_FIB 26
#define PROTO_DESC_TH 11
#define TH_DPORT_TEMPLATE 2
#define PROTO_DESC_ICMPV6 14
#define ICMP6HDR_TYPE_TEMPLATE 1

#define PAGE_BYTES (1u << 20)
#define MSG_ROOM (128u << 10)   /* no message we build is larger */
#define RBUF_BYTES (64u << 10)

struct nft_conn {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	int rcvbuf;
	struct nft_stats stats;
	char *rbuf;
};

/* ---- hash of the planned table ---- */

struct hash {
	uint64_t h;
};

static void h_bytes(struct hash *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h->h ^= b[i];
		h->h *= 0x100000001b3ull;
	}
}

static void h_u32(struct hash *h, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	h_bytes(h, b, 4);
}

static void h_str(struct hash *h, const char *s)
{
	size_t n = strlen(s);

	h_u32(h, (uint32_t)n);
	h_bytes(h, s, n);
}

static void h_match(struct hash *h, const struct nftp_match *m)
{
	h_u32(h, m->kind);
	h_u32(h, (uint32_t)m->family);
	h_str(h, m->name);
	h_u32(h, (uint32_t)m->prefix.addr.family);
	h_u32(h, m->prefix.len);
	h_bytes(h, m->prefix.addr.b, 16);
	h_bytes(h, m->protos, sizeof(m->protos));
	h_u32(h, (uint32_t)m->n);
	for (size_t i = 0; i < NFTP_MAX_PORTS; i++) {
		h_u32(h, m->ports[i].lo);
		h_u32(h, m->ports[i].hi);
	}
	h_u32(h, m->bits);
	h_u32(h, m->mask);
	if (m->kind == NFTP_M_ICMPV6_TYPE_IN || m->kind == NFTP_M_ICMP_TYPE) /* (the hashes of tables without it stay as they were) */
		h_bytes(h, m->types, sizeof(m->types));
	if (m->kind == NFTP_M_TH_MASK_NE || m->kind == NFTP_M_TH_LT)
		h_u32(h, m->off);
}

static void h_stmt(struct hash *h, const struct nftp_stmt *s)
{
	h_u32(h, s->kind);
	h_str(h, s->chain);
	h_bytes(h, &s->addr, 4);
	h_u32(h, s->has_ports);
	h_u32(h, s->ports.lo);
	h_u32(h, s->ports.hi);
	h_u32(h, s->n);
	h_u32(h, s->value);
	h_u32(h, s->mask);
}

static uint64_t table_hash(const struct nftp_table *t)
{
	struct hash h = { 0xcbf29ce484222325ull };

	h_u32(&h, NFT_BUILD_VERSION);
	h_str(&h, t->name);
	h_u32(&h, (uint32_t)t->sets.n);
	for (size_t i = 0; i < t->sets.n; i++) {
		const struct nftp_set *s = &t->sets.v[i];
		size_t len = s->type == NFTP_SET_IPV4 ? 4 : 16;

		h_str(&h, s->name);
		h_u32(&h, s->type);
		h_u32(&h, (uint32_t)s->ifnames.n);
		for (size_t k = 0; k < s->ifnames.n; k++)
			h_str(&h, s->ifnames.v[k].name);
		h_u32(&h, (uint32_t)s->ranges.n);
		for (size_t k = 0; k < s->ranges.n; k++) {
			h_bytes(&h, s->ranges.v[k].lo, len);
			h_bytes(&h, s->ranges.v[k].hi, len);
		}
	}
	h_u32(&h, (uint32_t)t->chains.n);
	for (size_t i = 0; i < t->chains.n; i++) {
		const struct nftp_chain *c = &t->chains.v[i];

		h_str(&h, c->name);
		h_u32(&h, c->hook);
		h_u32(&h, c->type);
		h_u32(&h, (uint32_t)c->priority);
		h_u32(&h, c->policy_drop);
		h_u32(&h, (uint32_t)c->rules.n);
		for (size_t j = 0; j < c->rules.n; j++) {
			const struct nftp_rule *r = &c->rules.v[j];

			h_u32(&h, (uint32_t)r->n_m);
			for (size_t k = 0; k < r->n_m && k < ARRAY_SIZE(r->m); k++)
				h_match(&h, &r->m[k]);
			h_u32(&h, (uint32_t)r->n_s);
			for (size_t k = 0; k < r->n_s && k < ARRAY_SIZE(r->s); k++)
				h_stmt(&h, &r->s[k]);
			h_str(&h, r->comment);
		}
	}
	return h.h;
}

uint64_t nft_table_hash(const struct nftp_table *t)
{
	return table_hash(t);
}

/* ---- userdata TLVs (struct nftnl_udata: type, length, value) ---- */

struct udata {
	uint8_t b[NFT_USERDATA_MAXLEN];
	uint32_t len;
};

static void ud_put(struct udata *u, uint8_t type, const void *v, uint8_t len)
{
	if (u->len + 2u + len > sizeof(u->b))
		return; /* everything we store is far smaller */
	u->b[u->len++] = type;
	u->b[u->len++] = len;
	if (len)
		memcpy(u->b + u->len, v, len);
	u->len += len;
}

/* nftnl_udata_put_u32() stores host byte order. */
static void ud_u32(struct udata *u, uint8_t type, uint32_t v)
{
	ud_put(u, type, &v, sizeof(v));
}

static uint32_t ud_nest_start(struct udata *u, uint8_t type)
{
	ud_put(u, type, NULL, 0);
	return u->len - 2;
}

static void ud_nest_end(struct udata *u, uint32_t at)
{
	u->b[at + 1] = (uint8_t)(u->len - at - 2);
}

/* ---- set elements ---- */

struct elem {
	uint8_t key[16];
	uint8_t len;
	bool end;    /* NFT_SET_ELEM_INTERVAL_END */
	bool open;   /* the interval runs to the top of the key space */
};

/* VEC(struct elem), named so functions can take it */
struct elems {
	struct elem *v;
	size_t n, cap;
};

static bool all_ones(const uint8_t *a, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (a[i] != 0xff)
			return false;
	}
	return true;
}

static bool all_zero(const uint8_t *a, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (a[i])
			return false;
	}
	return true;
}

static int elem_push(struct elems *v, const uint8_t *key, size_t len, bool end, bool open)
{
	struct elem *el = VEC_PUSH(v);

	if (!el)
		return -ENOMEM;
	memcpy(el->key, key, len);
	el->len = (uint8_t)len;
	el->end = end;
	el->open = open;
	return 0;
}

/*
 * nft's interval encoding (kernel rbtree sets): a closing element at 0 when the first range
 * does not start there, then per range its start and, unless it reaches the top, an end
 * element at hi + 1.  Ranges must be sorted, disjoint and not adjacent.
 */
static int interval_elems(struct elems *v, const struct nftp_range *r, size_t n, size_t len)
{
	static const uint8_t zero[16];

	if (n && !all_zero(r[0].lo, len) && elem_push(v, zero, len, true, false))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint8_t next[16];
		bool top = all_ones(r[i].hi, len);

		if (elem_push(v, r[i].lo, len, false, top))
			return -ENOMEM;
		if (top)
			continue;
		memcpy(next, r[i].hi, len);
		for (size_t k = len; k-- > 0;) {
			if (++next[k])
				break;
		}
		if (elem_push(v, next, len, true, false))
			return -ENOMEM;
	}
	return 0;
}

static int set_elems(const struct nftp_set *s, struct elems *v)
{
	if (s->type == NFTP_SET_IFNAME) {
		for (size_t i = 0; i < s->ifnames.n; i++) {
			uint8_t key[IFNAMSIZ] = { 0 };

			memcpy(key, s->ifnames.v[i].name, strnlen(s->ifnames.v[i].name, IFNAMSIZ - 1));
			if (elem_push(v, key, IFNAMSIZ, false, false))
				return -ENOMEM;
		}
		return 0;
	}
	return interval_elems(v, s->ranges.v, s->ranges.n, s->type == NFTP_SET_IPV4 ? 4 : 16);
}

static int port_cmp(const void *a, const void *b)
{
	const struct nftp_port_range *x = a, *y = b;

	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : (x->hi < y->hi ? -1 : x->hi > y->hi);
}

/* nft auto-merges anonymous interval sets: sorted, overlapping and adjacent ranges joined. */
static int port_elems(const struct nftp_match *m, struct elems *v)
{
	struct nftp_port_range p[NFTP_MAX_PORTS];
	struct nftp_range r[NFTP_MAX_PORTS];
	size_t n = 0;

	memcpy(p, m->ports, m->n * sizeof(p[0]));
	qsort(p, m->n, sizeof(p[0]), port_cmp);
	for (size_t i = 0; i < m->n; i++) {
		if (n && (uint32_t)p[i].lo <= (uint32_t)p[n - 1].hi + 1) {
			if (p[i].hi > p[n - 1].hi)
				p[n - 1].hi = p[i].hi;
			continue;
		}
		p[n++] = p[i];
	}
	memset(r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++) {
		r[i].lo[0] = (uint8_t)(p[i].lo >> 8);
		r[i].lo[1] = (uint8_t)p[i].lo;
		r[i].hi[0] = (uint8_t)(p[i].hi >> 8);
		r[i].hi[1] = (uint8_t)p[i].hi;
	}
	return interval_elems(v, r, n, 2);
}

/* An order-independent digest of elements, to compare with what the kernel dumps. */
static uint64_t elem_digest(const uint8_t *key, size_t len, bool end)
{
	struct hash h = { 0xcbf29ce484222325ull };

	h_bytes(&h, key, len);
	h_u32(&h, end);
	return h.h;
}

/* ---- the batch: messages in stable pages, each described for error reports ---- */

enum obj_kind {
	OBJ_BATCH,
	OBJ_TABLE,
	OBJ_SET,
	OBJ_ELEMS,
	OBJ_CHAIN,
	OBJ_RULE,
	OBJ_ANON_SET,
	OBJ_ANON_ELEMS,
};

struct msg_obj {
	enum obj_kind kind;
	uint32_t a, b;           /* set or chain index; rule index */
	uint32_t first_elem;     /* element messages: index of the message's first element */
	const struct nlmsghdr *nlh;
};

struct page {
	char *buf;
	size_t len, cap;
};

struct msgs {
	VEC(struct page) pages;
	VEC(struct msg_obj) objs;
	uint32_t seq0;
	size_t bytes;
};

static void msgs_free(struct msgs *m)
{
	for (size_t i = 0; i < m->pages.n; i++)
		free(m->pages.v[i].buf);
	VEC_FREE(&m->pages);
	VEC_FREE(&m->objs);
}

static char *msgs_room(struct msgs *m)
{
	struct page *p = m->pages.n ? &m->pages.v[m->pages.n - 1] : NULL;

	if (!p || p->cap - p->len < MSG_ROOM) {
		p = VEC_PUSH(&m->pages);
		if (!p)
			return NULL;
		p->cap = PAGE_BYTES;
		p->buf = malloc(p->cap);
		if (!p->buf) {
			m->pages.n--;
			return NULL;
		}
	}
	return p->buf + p->len;
}

static int msgs_commit(struct msgs *m, struct nlmsghdr *nlh, struct msg_obj obj)
{
	struct page *p = &m->pages.v[m->pages.n - 1];
	struct msg_obj *o = VEC_PUSH(&m->objs);

	if (!o)
		return -ENOMEM;
	*o = obj;
	o->nlh = nlh;
	p->len += nlh->nlmsg_len;
	m->bytes += nlh->nlmsg_len;
	return 0;
}

struct builder {
	const struct nftp_table *t;
	struct msgs *m;          /* NULL: build the objects only */
	uint32_t seq;
	uint32_t next_set_id;
	struct msg_obj cur;      /* the rule being built, for its anonymous sets */
	int err;
	struct ul_err *e;
};

static void b_fail(struct builder *b, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void b_fail(struct builder *b, int err, const char *fmt, ...)
{
	va_list ap;

	if (b->err)
		return;
	b->err = -err;
	if (b->e) {
		va_start(ap, fmt);
		vsnprintf(b->e->msg, sizeof(b->e->msg), fmt, ap);
		va_end(ap);
	}
}

static struct nlmsghdr *b_msg(struct builder *b, uint16_t type, uint16_t flags)
{
	char *buf;

	if (!b->m || b->err)
		return NULL;
	buf = msgs_room(b->m);
	if (!buf) {
		b_fail(b, ENOMEM, "out of memory");
		return NULL;
	}
	return nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags | NLM_F_ACK, b->seq++);
}

static void b_commit(struct builder *b, struct nlmsghdr *nlh, struct msg_obj obj)
{
	if (msgs_commit(b->m, nlh, obj))
		b_fail(b, ENOMEM, "out of memory");
}

static void b_batch_marker(struct builder *b, bool begin)
{
	struct nlmsghdr *nlh;
	char *buf;

	if (!b->m || b->err)
		return;
	buf = msgs_room(b->m);
	if (!buf) {
		b_fail(b, ENOMEM, "out of memory");
		return;
	}
	nlh = begin ? nftnl_batch_begin(buf, b->seq++) : nftnl_batch_end(buf, b->seq++);
	b_commit(b, nlh, (struct msg_obj){ .kind = OBJ_BATCH });
}

/* NEWSETELEM messages, each element list nest below the 64 KiB attribute limit. */
static void b_elems(struct builder *b, const char *set, uint32_t set_id, const struct elems *v,
		    const char *vmap_chain, struct msg_obj obj)
{
	size_t i = 0;

	while (i < v->n && !b->err) {
		struct nlmsghdr *nlh = b_msg(b, NFT_MSG_NEWSETELEM, NLM_F_CREATE);
		struct nlattr *list;

		if (!nlh)
			return;
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, b->t->name);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
		mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(set_id));
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		obj.first_elem = (uint32_t)i;
		for (; i < v->n; i++) {
			const struct elem *el = &v->v[i];
			uint32_t before = nlh->nlmsg_len;
			/* nft numbers the nests; the kernel ignores the type, libnftnl wants this one */
			struct nlattr *nest = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM), *key;

			if (el->end)
				mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END));
			key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
			mnl_attr_put(nlh, NFTA_DATA_VALUE, el->len, el->key);
			mnl_attr_nest_end(nlh, key);
			if (vmap_chain) {
				struct nlattr *data = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
				struct nlattr *verdict = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
				char chain[96];

				snprintf(chain, sizeof(chain), "%s_%zu", vmap_chain, i);
				mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl((uint32_t)NFT_JUMP));
				mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, chain);
				mnl_attr_nest_end(nlh, verdict);
				mnl_attr_nest_end(nlh, data);
			}
			if (el->open) {
				struct udata u = { .len = 0 };

				ud_u32(&u, NFTNL_UDATA_SET_ELEM_FLAGS, NFTNL_SET_ELEM_F_INTERVAL_OPEN);
				mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, u.len, u.b);
			}
			mnl_attr_nest_end(nlh, nest);
			if ((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)list > UINT16_MAX) {
				nlh->nlmsg_len = before;
				break;
			}
		}
		mnl_attr_nest_end(nlh, list);
		b_commit(b, nlh, obj);
	}
}

struct set_desc {
	const char *name;
	uint32_t id;
	uint32_t flags;
	uint32_t key_type, key_len;
	bool vmap;
	bool has_size;
	uint32_t size;
	struct udata ud;
};

static void b_set(struct builder *b, const struct set_desc *d, struct msg_obj obj)
{
	struct nlmsghdr *nlh = b_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL);
	struct nftnl_set *s;

	if (!nlh)
		return;
	s = nftnl_set_alloc();
	if (!s) {
		b_fail(b, ENOMEM, "out of memory");
		return;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, b->t->name) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, d->name) < 0 ||
	    nftnl_set_set_data(s, NFTNL_SET_USERDATA, d->ud.b, d->ud.len) < 0) {
		nftnl_set_free(s);
		b_fail(b, ENOMEM, "out of memory");
		return;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->key_len);
	if (d->vmap) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
	}
	nftnl_set_set_u32(s, NFTNL_SET_ID, d->id);
	if (d->has_size)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, d->size);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	b_commit(b, nlh, obj);
}

static void b_named_set(struct builder *b, size_t idx)
{
	const struct nftp_set *s = &b->t->sets.v[idx];
	struct set_desc d = { .name = s->name, .id = (uint32_t)idx + 1 };
	struct elems v = { 0 };

	switch (s->type) {
	case NFTP_SET_IFNAME:
		d.key_type = DT_IFNAME;
		d.key_len = IFNAMSIZ;
		ud_u32(&d.ud, NFTNL_UDATA_SET_KEYBYTEORDER, BO_HOST);
		break;
	case NFTP_SET_IPV4:
		d.flags = NFT_SET_INTERVAL;
		d.key_type = DT_IPADDR;
		d.key_len = 4;
		ud_u32(&d.ud, NFTNL_UDATA_SET_KEYBYTEORDER, BO_BIG);
		break;
	case NFTP_SET_IPV6:
		d.flags = NFT_SET_INTERVAL;
		d.key_type = DT_IP6ADDR;
		d.key_len = 16;
		ud_u32(&d.ud, NFTNL_UDATA_SET_KEYBYTEORDER, BO_BIG);
		break;
	}
	b_set(b, &d, (struct msg_obj){ .kind = OBJ_SET, .a = (uint32_t)idx });
	if (set_elems(s, &v)) {
		b_fail(b, ENOMEM, "out of memory");
	} else {
		b_elems(b, s->name, d.id, &v, NULL,
			(struct msg_obj){ .kind = OBJ_ELEMS, .a = (uint32_t)idx });
	}
	VEC_FREE(&v);
}

/* ---- expressions ---- */

struct rule_ctx {
	int nfproto;  /* established by an earlier match, or 0 */
	int l4proto;  /* -1: unknown */
};

static struct nftnl_expr *x_add(struct builder *b, struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *x = nftnl_expr_alloc(name);

	if (!x) {
		b_fail(b, ENOMEM, "out of memory");
		return NULL;
	}
	nftnl_rule_add_expr(r, x);
	return x;
}

static void x_meta_load(struct builder *b, struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *x = x_add(b, r, "meta");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
}

static void x_meta_set(struct builder *b, struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *x = x_add(b, r, "meta");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
}

static void x_ct_load(struct builder *b, struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *x = x_add(b, r, "ct");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, key);
}

static void x_ct_set(struct builder *b, struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *x = x_add(b, r, "ct");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, key);
}

static void x_cmp(struct builder *b, struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *x = x_add(b, r, "cmp");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, data, len);
}

static void x_payload(struct builder *b, struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *x = x_add(b, r, "payload");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
}

static void x_bitwise(struct builder *b, struct nftnl_rule *r, const void *mask, const void *xor,
		      uint32_t len)
{
	struct nftnl_expr *x = x_add(b, r, "bitwise");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_XOR, xor, len);
}

/* A host-order 32-bit value under a mask, as nft builds `x & mask ^ xor`. */
static void x_bitwise32(struct builder *b, struct nftnl_rule *r, uint32_t mask, uint32_t xor)
{
	x_bitwise(b, r, &mask, &xor, 4);
}

static void x_lookup(struct builder *b, struct nftnl_rule *r, const char *set, uint32_t id,
		     bool inverted, bool vmap)
{
	struct nftnl_expr *x = x_add(b, r, "lookup");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	if (vmap)
		nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	if (nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, set) < 0)
		b_fail(b, ENOMEM, "out of memory");
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SET_ID, id);
	if (inverted)
		nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
}

static void x_verdict(struct builder *b, struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *x = x_add(b, r, "immediate");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain && nftnl_expr_set_str(x, NFTNL_EXPR_IMM_CHAIN, chain) < 0)
		b_fail(b, ENOMEM, "out of memory");
}

static void x_immediate(struct builder *b, struct nftnl_rule *r, uint32_t reg, const void *data,
			uint32_t len)
{
	struct nftnl_expr *x = x_add(b, r, "immediate");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(x, NFTNL_EXPR_IMM_DATA, data, len);
}

static void need_nfproto(struct builder *b, struct nftnl_rule *r, struct rule_ctx *ctx, int family)
{
	uint8_t nfproto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

	if (ctx->nfproto == nfproto)
		return;
	x_meta_load(b, r, NFT_META_NFPROTO);
	x_cmp(b, r, NFT_CMP_EQ, &nfproto, 1);
	ctx->nfproto = nfproto;
}

static void need_l4proto(struct builder *b, struct nftnl_rule *r, struct rule_ctx *ctx, uint8_t proto)
{
	if (ctx->l4proto == proto)
		return;
	x_meta_load(b, r, NFT_META_L4PROTO);
	x_cmp(b, r, NFT_CMP_EQ, &proto, 1);
	ctx->l4proto = proto;
}

static const char *rule_where(const struct builder *b, char *buf, size_t len)
{
	const struct nftp_chain *c = &b->t->chains.v[b->cur.a];

	snprintf(buf, len, "rule %u of chain %s", b->cur.b + 1, c->name);
	return buf;
}

/* An anonymous constant set (or verdict map) used by the current rule. */
static uint32_t b_anon_set(struct builder *b, struct set_desc *d, const struct elems *v,
			   const char *vmap_chain)
{
	struct msg_obj obj = b->cur;

	d->id = b->next_set_id++;
	d->has_size = true;
	/* nft sizes interval sets as if a range to the top had its end element too */
	d->size = (uint32_t)v->n;
	for (size_t i = 0; i < v->n; i++)
		d->size += v->v[i].open;
	obj.kind = OBJ_ANON_SET;
	b_set(b, d, obj);
	obj.kind = OBJ_ANON_ELEMS;
	b_elems(b, d->name, d->id, v, vmap_chain, obj);
	return d->id;
}

static void m_protos(struct builder *b, struct nftnl_rule *r, struct rule_ctx *ctx,
		     const struct nftp_match *m, bool negated)
{
	struct set_desc d = {
		.name = "__set%d",
		.flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT,
		.key_type = DT_INET_PROTOCOL,
		.key_len = 1,
	};
	struct elems v = { 0 };
	char where[96];
	uint32_t at;

	if (m->n == 0 || m->n > ARRAY_SIZE(m->protos)) {
		b_fail(b, EINVAL, "%s: %zu protocols", rule_where(b, where, sizeof(where)), m->n);
		return;
	}
	if (m->n == 1) {
		x_meta_load(b, r, NFT_META_L4PROTO);
		x_cmp(b, r, negated ? NFT_CMP_NEQ : NFT_CMP_EQ, &m->protos[0], 1);
		if (!negated)
			ctx->l4proto = m->protos[0];
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (elem_push(&v, &m->protos[i], 1, false, false))
			b_fail(b, ENOMEM, "out of memory");
	}
	ud_u32(&d.ud, NFTNL_UDATA_SET_KEYBYTEORDER, BO_HOST);
	at = ud_nest_start(&d.ud, NFTNL_UDATA_SET_KEY_TYPEOF);
	ud_u32(&d.ud, NFTNL_UDATA_SET_TYPEOF_EXPR, TYPEOF_EXPR_META);
	{
		uint32_t data = ud_nest_start(&d.ud, NFTNL_UDATA_SET_TYPEOF_DATA);

		ud_u32(&d.ud, 0, NFT_META_L4PROTO);
		ud_nest_end(&d.ud, data);
	}
	ud_nest_end(&d.ud, at);
	d.id = b_anon_set(b, &d, &v, NULL);
	x_meta_load(b, r, NFT_META_L4PROTO);
	x_lookup(b, r, d.name, d.id, negated, false);
	VEC_FREE(&v);
}

/* The set's key is `typeof` a payload field (how nft prints its elements). */
static void ud_typeof_payload(struct set_desc *d, uint32_t proto_desc, uint32_t field)
{
	uint32_t at = ud_nest_start(&d->ud, NFTNL_UDATA_SET_KEY_TYPEOF), data;

	ud_u32(&d->ud, NFTNL_UDATA_SET_TYPEOF_EXPR, TYPEOF_EXPR_PAYLOAD);
	data = ud_nest_start(&d->ud, NFTNL_UDATA_SET_TYPEOF_DATA);
	ud_u32(&d->ud, 0, proto_desc);
	ud_u32(&d->ud, 1, field);
	ud_nest_end(&d->ud, data);
	ud_nest_end(&d->ud, at);
}

static void m_dports(struct builder *b, struct nftnl_rule *r, const struct nftp_match *m)
{
	struct set_desc d = {
		.name = "__set%d",
		.flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL,
		.key_type = DT_INET_SERVICE,
		.key_len = 2,
	};
	struct elems v = { 0 };
	bool ranges = false;
	char where[96];

	if (m->n == 0 || m->n > NFTP_MAX_PORTS) {
		b_fail(b, EINVAL, "%s: %zu port ranges", rule_where(b, where, sizeof(where)), m->n);
		return;
	}
	if (m->n == 1) {
		uint16_t lo = htons(m->ports[0].lo), hi = htons(m->ports[0].hi);

		x_payload(b, r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
		if (m->ports[0].lo == m->ports[0].hi) {
			x_cmp(b, r, NFT_CMP_EQ, &lo, 2);
		} else {
			x_cmp(b, r, NFT_CMP_GTE, &lo, 2);
			x_cmp(b, r, NFT_CMP_LTE, &hi, 2);
		}
		return;
	}
	for (size_t i = 0; i < m->n; i++)
		ranges |= m->ports[i].lo != m->ports[i].hi;
	/* only a list with a range becomes an interval set */
	if (!ranges) {
		d.flags &= ~(uint32_t)NFT_SET_INTERVAL;
		for (size_t i = 0; i < m->n; i++) {
			uint16_t port = htons(m->ports[i].lo);

			if (elem_push(&v, (const uint8_t *)&port, 2, false, false))
				b_fail(b, ENOMEM, "out of memory");
		}
	} else if (port_elems(m, &v)) {
		b_fail(b, ENOMEM, "out of memory");
	}
	ud_u32(&d.ud, NFTNL_UDATA_SET_KEYBYTEORDER, BO_BIG);
	if (ranges)
		ud_u32(&d.ud, NFTNL_UDATA_SET_MERGE_ELEMENTS, 1);
	ud_typeof_payload(&d, PROTO_DESC_TH, TH_DPORT_TEMPLATE);
	d.id = b_anon_set(b, &d, &v, NULL);
	x_payload(b, r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	x_lookup(b, r, d.name, d.id, false, false);
	VEC_FREE(&v);
}

/* icmpv6 type { ... }: the type byte against a constant set, as nft builds it */
static void m_icmpv6_types(struct builder *b, struct nftnl_rule *r, struct rule_ctx *ctx,
			   const struct nftp_match *m)
{
	struct set_desc d = {
		.name = "__set%d",
		.flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT,
		.key_type = DT_ICMP6_TYPE,
		.key_len = 1,
	};
	struct elems v = { 0 };
	char where[96];

	if (m->n == 0 || m->n > NFTP_MAX_TYPES) {
		b_fail(b, EINVAL, "%s: %zu ICMPv6 types", rule_where(b, where, sizeof(where)), m->n);
		return;
	}
	/* nft's dependency: meta nfproto ipv6 (unless the rule has one) and meta l4proto, unless
	 * the rule already matches the protocol */
	if (ctx->l4proto != IPPROTO_ICMPV6) {
		need_nfproto(b, r, ctx, AF_INET6);
		need_l4proto(b, r, ctx, IPPROTO_ICMPV6);
	}
	if (m->n == 1) {
		x_payload(b, r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
		x_cmp(b, r, NFT_CMP_EQ, &m->types[0], 1);
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (elem_push(&v, &m->types[i], 1, false, false))
			b_fail(b, ENOMEM, "out of memory");
	}
	ud_u32(&d.ud, NFTNL_UDATA_SET_KEYBYTEORDER, BO_BIG);
	ud_typeof_payload(&d, PROTO_DESC_ICMPV6, ICMP6HDR_TYPE_TEMPLATE);
	d.id = b_anon_set(b, &d, &v, NULL);
	x_payload(b, r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	x_lookup(b, r, d.name, d.id, false, false);
	VEC_FREE(&v);
}

static void m_prefix(struct builder *b, struct nftnl_rule *r, struct rule_ctx *ctx,
		     const struct ip_prefix *p)
{
	uint32_t alen = p->addr.family == AF_INET ? 4 : 16, plen = p->len;
	uint8_t addr[16], mask[16] = { 0 }, zero[16] = { 0 };

	need_nfproto(b, r, ctx, p->addr.family);
	for (uint32_t i = 0; i < plen && i < alen * 8; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	for (uint32_t i = 0; i < alen; i++)
		addr[i] = p->addr.b[i] & mask[i];
	/* nft loads only the prefix bytes when the prefix ends on a byte boundary */
	if (plen && plen % 8 == 0) {
		x_payload(b, r, NFT_PAYLOAD_NETWORK_HEADER, alen == 4 ? 12 : 8, plen / 8);
		x_cmp(b, r, NFT_CMP_EQ, addr, plen / 8);
		return;
	}
	x_payload(b, r, NFT_PAYLOAD_NETWORK_HEADER, alen == 4 ? 12 : 8, alen);
	x_bitwise(b, r, mask, zero, alen);
	x_cmp(b, r, NFT_CMP_EQ, addr, alen);
}

static int named_set(struct builder *b, const char *name, int family)
{
	char where[96];

	for (size_t i = 0; i < b->t->sets.n; i++) {
		const struct nftp_set *s = &b->t->sets.v[i];

		if (strcmp(s->name, name))
			continue;
		if ((family == 0 && s->type != NFTP_SET_IFNAME) ||
		    (family == AF_INET && s->type != NFTP_SET_IPV4) ||
		    (family == AF_INET6 && s->type != NFTP_SET_IPV6))
			break;
		return (int)i;
	}
	b_fail(b, EINVAL, "%s: no %s set %s", rule_where(b, where, sizeof(where)),
	       family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "interface", name);
	return -1;
}

static void m_ifname(struct builder *b, struct nftnl_rule *r, uint32_t key, const char *name)
{
	char ifname[IFNAMSIZ] = { 0 }, where[96];

	if (strlen(name) >= IFNAMSIZ) {
		b_fail(b, EINVAL, "%s: interface name %s is too long", rule_where(b, where, sizeof(where)),
		       name);
		return;
	}
	memcpy(ifname, name, strlen(name));
	x_meta_load(b, r, key);
	x_cmp(b, r, NFT_CMP_EQ, ifname, IFNAMSIZ);
}

static void m_set_lookup(struct builder *b, struct nftnl_rule *r, struct rule_ctx *ctx,
			 const struct nftp_match *m)
{
	bool daddr = m->kind == NFTP_M_DADDR_IN;
	int idx;

	if (m->kind == NFTP_M_IIFNAME_IN || m->kind == NFTP_M_OIFNAME_IN) {
		idx = named_set(b, m->name, 0);
		if (idx < 0)
			return;
		x_meta_load(b, r, m->kind == NFTP_M_IIFNAME_IN ? NFT_META_IIFNAME : NFT_META_OIFNAME);
	} else {
		idx = named_set(b, m->name, m->family);
		if (idx < 0)
			return;
		need_nfproto(b, r, ctx, m->family);
		if (m->family == AF_INET)
			x_payload(b, r, NFT_PAYLOAD_NETWORK_HEADER, daddr ? 16 : 12, 4);
		else
			x_payload(b, r, NFT_PAYLOAD_NETWORK_HEADER, daddr ? 24 : 8, 16);
	}
	x_lookup(b, r, m->name, (uint32_t)idx + 1, false, false);
}

/* fib daddr oifname { names }: where the main routing would send the packet, by name */
static void m_fib_oif(struct builder *b, struct nftnl_rule *r, const struct nftp_match *m)
{
	struct set_desc d = {
		.name = "__set%d",
		.flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT,
		.key_type = DT_STRING,
		.key_len = IFNAMSIZ,
	};
	const struct nftp_set *s;
	struct nftnl_expr *x;
	struct elems v = { 0 };
	char where[96];
	int idx = named_set(b, m->name, 0);

	if (idx < 0)
		return;
	s = &b->t->sets.v[idx];
	if (!s->ifnames.n) {
		b_fail(b, EINVAL, "%s: interface set %s is empty", rule_where(b, where, sizeof(where)), s->name);
		return;
	}
	if (s->ifnames.n > 1) {
		uint32_t at, data;

		if (set_elems(s, &v))
			b_fail(b, ENOMEM, "out of memory");
		ud_u32(&d.ud, NFTNL_UDATA_SET_KEYBYTEORDER, BO_HOST);
		at = ud_nest_start(&d.ud, NFTNL_UDATA_SET_KEY_TYPEOF);
		ud_u32(&d.ud, NFTNL_UDATA_SET_TYPEOF_EXPR, TYPEOF_EXPR_FIB);
		data = ud_nest_start(&d.ud, NFTNL_UDATA_SET_TYPEOF_DATA);
		ud_u32(&d.ud, 0, NFT_FIB_RESULT_OIFNAME);
		ud_u32(&d.ud, 1, NFTA_FIB_F_DADDR);
		ud_nest_end(&d.ud, data);
		ud_nest_end(&d.ud, at);
		d.id = b_anon_set(b, &d, &v, NULL);
		VEC_FREE(&v);
	}
	x = x_add(b, r, "fib");
	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIFNAME);
		nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	}
	if (s->ifnames.n == 1) {
		char ifname[IFNAMSIZ] = { 0 };

		memcpy(ifname, s->ifnames.v[0].name, strnlen(s->ifnames.v[0].name, IFNAMSIZ - 1));
		x_cmp(b, r, NFT_CMP_EQ, ifname, IFNAMSIZ);
		return;
	}
	x_lookup(b, r, d.name, d.id, false, false);
}

static void b_match(struct builder *b, struct nftnl_rule *r, struct rule_ctx *ctx,
		    const struct nftp_match *m)
{
	static const uint8_t zero[4];
	char where[96];

	switch (m->kind) {
	case NFTP_M_NFPROTO: {
		uint8_t nfproto = m->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

		if (m->family != AF_INET && m->family != AF_INET6) {
			b_fail(b, EINVAL, "%s: bad family %d", rule_where(b, where, sizeof(where)),
			       m->family);
			return;
		}
		x_meta_load(b, r, NFT_META_NFPROTO);
		x_cmp(b, r, NFT_CMP_EQ, &nfproto, 1);
		ctx->nfproto = nfproto;
		break;
	}
	case NFTP_M_IIFNAME:
		m_ifname(b, r, NFT_META_IIFNAME, m->name);
		break;
	case NFTP_M_OIFNAME:
		m_ifname(b, r, NFT_META_OIFNAME, m->name);
		break;
	case NFTP_M_IIFNAME_IN:
	case NFTP_M_OIFNAME_IN:
	case NFTP_M_SADDR_IN:
	case NFTP_M_DADDR_IN:
		m_set_lookup(b, r, ctx, m);
		break;
	case NFTP_M_SADDR:
		if (m->prefix.addr.family != AF_INET && m->prefix.addr.family != AF_INET6) {
			b_fail(b, EINVAL, "%s: no address", rule_where(b, where, sizeof(where)));
			return;
		}
		m_prefix(b, r, ctx, &m->prefix);
		break;
	case NFTP_M_L4PROTO:
		m_protos(b, r, ctx, m, false);
		break;
	case NFTP_M_L4PROTO_NOT:
		m_protos(b, r, ctx, m, true);
		break;
	case NFTP_M_DPORT_IN:
		m_dports(b, r, m);
		break;
	case NFTP_M_UDP_PORTS: {
		/* nft merges the two adjacent 16-bit loads into one */
		uint16_t ports[2] = { htons(m->ports[0].lo), htons(m->ports[1].lo) };

		need_l4proto(b, r, ctx, IPPROTO_UDP);
		x_payload(b, r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 4);
		x_cmp(b, r, NFT_CMP_EQ, ports, 4);
		break;
	}
	case NFTP_M_CT_STATE:
		x_ct_load(b, r, NFT_CT_STATE);
		x_bitwise32(b, r, m->bits, 0);
		x_cmp(b, r, NFT_CMP_NEQ, zero, 4);
		break;
	case NFTP_M_CT_STATUS_DNAT:
		x_ct_load(b, r, NFT_CT_STATUS);
		x_bitwise32(b, r, IPS_DST_NAT, 0);
		x_cmp(b, r, NFT_CMP_NEQ, zero, 4);
		break;
	case NFTP_M_MARK_ZERO:
		x_meta_load(b, r, NFT_META_MARK);
		x_bitwise32(b, r, m->mask, 0);
		x_cmp(b, r, NFT_CMP_EQ, zero, 4);
		break;
	case NFTP_M_CTMARK_NONZERO:
		x_ct_load(b, r, NFT_CT_MARK);
		x_bitwise32(b, r, m->mask, 0);
		x_cmp(b, r, NFT_CMP_NEQ, zero, 4);
		break;
	case NFTP_M_TCP_SYN: {
		uint8_t mask = TH_SYN | TH_RST, syn = TH_SYN, z = 0;

		need_l4proto(b, r, ctx, IPPROTO_TCP);
		x_payload(b, r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
		x_bitwise(b, r, &mask, &z, 1);
		x_cmp(b, r, NFT_CMP_EQ, &syn, 1);
		break;
	}
	case NFTP_M_ICMPV6_TYPE_IN:
		m_icmpv6_types(b, r, ctx, m);
		break;
	case NFTP_M_FIB_OIF_IN:
		m_fib_oif(b, r, m);
		break;
	case NFTP_M_SADDR_NOT:
	case NFTP_M_DADDR: {
		const struct ip_addr *a = &m->prefix.addr;
		uint32_t alen = a->family == AF_INET ? 4 : 16;
		bool dst = m->kind == NFTP_M_DADDR;

		if (a->family != AF_INET && a->family != AF_INET6) {
			b_fail(b, EINVAL, "%s: no address", rule_where(b, where, sizeof(where)));
			return;
		}
		need_nfproto(b, r, ctx, a->family);
		x_payload(b, r, NFT_PAYLOAD_NETWORK_HEADER,
			  alen == 4 ? (dst ? 16 : 12) : (dst ? 24 : 8), alen);
		x_cmp(b, r, dst ? NFT_CMP_EQ : NFT_CMP_NEQ, a->b, alen);
		break;
	}
	case NFTP_M_ICMP_TYPE:
		/* nft's dependency, as for icmpv6 */
		if (ctx->l4proto != IPPROTO_ICMP) {
			need_nfproto(b, r, ctx, AF_INET);
			need_l4proto(b, r, ctx, IPPROTO_ICMP);
		}
		x_payload(b, r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
		x_cmp(b, r, NFT_CMP_EQ, &m->types[0], 1);
		break;
	case NFTP_M_TH_MASK_NE:
	case NFTP_M_TH_LT: {
		uint16_t v = htons((uint16_t)m->bits), mask = htons((uint16_t)m->mask), z = 0;

		if ((m->off != 0 && m->off != 4) || m->bits > 0xffff || m->mask > 0xffff) {
			b_fail(b, EINVAL, "%s: bad port match", rule_where(b, where, sizeof(where)));
			return;
		}
		x_payload(b, r, NFT_PAYLOAD_TRANSPORT_HEADER, m->off, 2);
		if (m->kind == NFTP_M_TH_LT) {
			x_cmp(b, r, NFT_CMP_LT, &v, 2);
			break;
		}
		x_bitwise(b, r, &mask, &z, 2);
		x_cmp(b, r, NFT_CMP_NEQ, &v, 2);
		break;
	}
	}
}

/* snat/dnat ip to .addr[:.ports] */
static void s_snat(struct builder *b, struct nftnl_rule *r, const struct nftp_stmt *s)
{
	struct nftnl_expr *x;

	x_immediate(b, r, NFT_REG_1, &s->addr, 4);
	if (s->has_ports) {
		uint16_t lo = htons(s->ports.lo), hi = htons(s->ports.hi);

		x_immediate(b, r, NFT_REG_2, &lo, 2);
		x_immediate(b, r, NFT_REG_3, &hi, 2);
	}
	x = x_add(b, r, "nat");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_TYPE, s->kind == NFTP_S_DNAT ? NFT_NAT_DNAT : NFT_NAT_SNAT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	if (s->has_ports)
		nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	if (s->has_ports) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
		nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_PROTO_MAX, NFT_REG_3);
	}
}

static void s_vmap(struct builder *b, struct nftnl_rule *r, const struct nftp_stmt *s)
{
	struct set_desc d = {
		.name = "__map%d",
		.flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP,
		.key_type = DT_INTEGER,
		.key_len = 4,
		.vmap = true,
	};
	struct elems v = { 0 };
	struct nftnl_expr *x;
	char where[96];
	uint32_t at;

	if (s->n == 0) {
		b_fail(b, EINVAL, "%s: numgen over 0 chains", rule_where(b, where, sizeof(where)));
		return;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		if (elem_push(&v, (const uint8_t *)&i, 4, false, false))
			b_fail(b, ENOMEM, "out of memory");
	}
	ud_u32(&d.ud, NFTNL_UDATA_SET_KEYBYTEORDER, BO_HOST);
	ud_u32(&d.ud, NFTNL_UDATA_SET_DATABYTEORDER, 0);
	at = ud_nest_start(&d.ud, NFTNL_UDATA_SET_DATA_TYPEOF);
	ud_u32(&d.ud, NFTNL_UDATA_SET_TYPEOF_EXPR, TYPEOF_EXPR_VERDICT);
	ud_nest_end(&d.ud, ud_nest_start(&d.ud, NFTNL_UDATA_SET_TYPEOF_DATA));
	ud_nest_end(&d.ud, at);
	ud_u32(&d.ud, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
	d.id = b_anon_set(b, &d, &v, s->chain);
	VEC_FREE(&v);

	x = x_add(b, r, "numgen");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_NG_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NG_TYPE, NFT_NG_INCREMENTAL);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NG_MODULUS, s->n);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NG_OFFSET, 0);
	x_lookup(b, r, d.name, d.id, false, true);
}

static void s_mss(struct builder *b, struct nftnl_rule *r)
{
	struct nftnl_expr *x = x_add(b, r, "rt");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_RT_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_RT_KEY, NFT_RT_TCPMSS);
	x = x_add(b, r, "byteorder");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_LEN, 2);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_SIZE, 2);
	x = x_add(b, r, "exthdr");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_EXTHDR_SREG, NFT_REG_1);
	nftnl_expr_set_u8(x, NFTNL_EXPR_EXTHDR_TYPE, TCPOPT_MAXSEG);
	nftnl_expr_set_u32(x, NFTNL_EXPR_EXTHDR_OFFSET, 2);
	nftnl_expr_set_u32(x, NFTNL_EXPR_EXTHDR_LEN, 2);
	nftnl_expr_set_u32(x, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
}

static void b_stmt(struct builder *b, struct nftnl_rule *r, const struct nftp_stmt *s)
{
	switch (s->kind) {
	case NFTP_S_ACCEPT:
		x_verdict(b, r, NF_ACCEPT, NULL);
		break;
	case NFTP_S_DROP:
		x_verdict(b, r, NF_DROP, NULL);
		break;
	case NFTP_S_RETURN:
		x_verdict(b, r, NFT_RETURN, NULL);
		break;
	case NFTP_S_JUMP:
		x_verdict(b, r, NFT_JUMP, s->chain);
		break;
	case NFTP_S_COUNTER:
		x_add(b, r, "counter");
		break;
	case NFTP_S_MASQUERADE:
		x_add(b, r, "masq");
		break;
	case NFTP_S_SNAT:
	case NFTP_S_DNAT:
		s_snat(b, r, s);
		break;
	case NFTP_S_NUMGEN_VMAP:
		s_vmap(b, r, s);
		break;
	case NFTP_S_MSS_PMTU:
		s_mss(b, r);
		break;
	case NFTP_S_MARK_SET:
		/* (mark & ~mask) | value == (mark & (~mask & ~value)) ^ value */
		x_meta_load(b, r, NFT_META_MARK);
		x_bitwise32(b, r, ~s->mask & ~s->value, s->value);
		x_meta_set(b, r, NFT_META_MARK);
		break;
	case NFTP_S_CTMARK_SET:
		x_ct_load(b, r, NFT_CT_MARK);
		x_bitwise32(b, r, ~s->mask & ~s->value, s->value);
		x_ct_set(b, r, NFT_CT_MARK);
		break;
	case NFTP_S_MARK_FROM_CT:
		x_ct_load(b, r, NFT_CT_MARK);
		x_bitwise32(b, r, s->mask, 0);
		x_meta_set(b, r, NFT_META_MARK);
		break;
	}
}

static void rule_udata(const struct nftp_rule *rule, struct udata *u)
{
	u->len = 0;
	if (rule->comment[0])
		ud_put(u, NFTNL_UDATA_RULE_COMMENT, rule->comment, (uint8_t)(strlen(rule->comment) + 1));
}

/* The rule as libnftnl objects; its anonymous sets go out as messages first. */
static struct nftnl_rule *b_rule_obj(struct builder *b, size_t ci, size_t ri)
{
	const struct nftp_chain *c = &b->t->chains.v[ci];
	const struct nftp_rule *rule = &c->rules.v[ri];
	struct rule_ctx ctx = { .nfproto = 0, .l4proto = -1 };
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct udata u;

	b->cur = (struct msg_obj){ .kind = OBJ_RULE, .a = (uint32_t)ci, .b = (uint32_t)ri };
	if (!r) {
		b_fail(b, ENOMEM, "out of memory");
		return NULL;
	}
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, b->t->name) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->name) < 0)
		b_fail(b, ENOMEM, "out of memory");
	for (size_t k = 0; k < rule->n_m && k < ARRAY_SIZE(rule->m); k++)
		b_match(b, r, &ctx, &rule->m[k]);
	for (size_t k = 0; k < rule->n_s && k < ARRAY_SIZE(rule->s); k++)
		b_stmt(b, r, &rule->s[k]);
	rule_udata(rule, &u);
	if (u.len && nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, u.b, u.len) < 0)
		b_fail(b, ENOMEM, "out of memory");
	if (b->err) {
		nftnl_rule_free(r);
		return NULL;
	}
	return r;
}

static void b_rule(struct builder *b, size_t ci, size_t ri)
{
	struct nftnl_rule *r = b_rule_obj(b, ci, ri);
	struct nlmsghdr *nlh;

	if (!r)
		return;
	nlh = b_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		b_commit(b, nlh, b->cur);
	}
	nftnl_rule_free(r);
}

static uint32_t hook_num(enum nftp_hook h)
{
	switch (h) {
	case NFTP_HOOK_NONE:
		break;
	case NFTP_HOOK_PREROUTING:
		return NF_INET_PRE_ROUTING;
	case NFTP_HOOK_INPUT:
		return NF_INET_LOCAL_IN;
	case NFTP_HOOK_FORWARD:
		return NF_INET_FORWARD;
	case NFTP_HOOK_OUTPUT:
		return NF_INET_LOCAL_OUT;
	case NFTP_HOOK_POSTROUTING:
		return NF_INET_POST_ROUTING;
	}
	return 0;
}

static void b_chain(struct builder *b, size_t ci)
{
	const struct nftp_chain *c = &b->t->chains.v[ci];
	struct nlmsghdr *nlh = b_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL);
	struct nftnl_chain *ch;

	if (!nlh)
		return;
	ch = nftnl_chain_alloc();
	if (!ch) {
		b_fail(b, ENOMEM, "out of memory");
		return;
	}
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, b->t->name) < 0 ||
	    nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name) < 0 ||
	    (c->hook != NFTP_HOOK_NONE && nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, nftp_chain_type_name(c->type)) < 0)) {
		nftnl_chain_free(ch);
		b_fail(b, ENOMEM, "out of memory");
		return;
	}
	if (c->hook != NFTP_HOOK_NONE) {
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, hook_num(c->hook));
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, c->priority);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, c->policy_drop ? NF_DROP : NF_ACCEPT);
	}
	nftnl_chain_nlmsg_build_payload(nlh, ch);
	nftnl_chain_free(ch);
	b_commit(b, nlh, (struct msg_obj){ .kind = OBJ_CHAIN, .a = (uint32_t)ci });
}

static void b_table(struct builder *b, uint16_t type, uint16_t flags, const struct udata *u)
{
	struct nlmsghdr *nlh = b_msg(b, type, flags);
	struct nftnl_table *t;

	if (!nlh)
		return;
	t = nftnl_table_alloc();
	if (!t) {
		b_fail(b, ENOMEM, "out of memory");
		return;
	}
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->t->name) < 0 ||
	    (u && nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, u->b, u->len) < 0)) {
		nftnl_table_free(t);
		b_fail(b, ENOMEM, "out of memory");
		return;
	}
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	b_commit(b, nlh, (struct msg_obj){ .kind = OBJ_TABLE });
}

static void table_udata(const struct nftp_table *t, struct udata *u)
{
	uint64_t h = table_hash(t);
	uint8_t v[8];

	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(h >> (56 - 8 * i));
	u->len = 0;
	ud_put(u, UDATA_TABLE_HASH, v, sizeof(v));
}

static void builder_init(struct builder *b, const struct nftp_table *t, struct msgs *m, uint32_t seq,
			 struct ul_err *e)
{
	memset(b, 0, sizeof(*b));
	b->t = t;
	b->m = m;
	b->seq = seq;
	b->next_set_id = (uint32_t)t->sets.n + 1;
	b->e = e;
	if (m)
		m->seq0 = seq;
}

/* The whole replacement: create-if-absent, delete, create, then sets, chains and rules. */
static int build_replace(const struct nftp_table *t, struct msgs *m, uint32_t seq, struct ul_err *e)
{
	struct builder b;
	struct udata u;

	builder_init(&b, t, m, seq, e);
	table_udata(t, &u);
	b_batch_marker(&b, true);
	b_table(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE, NULL);
	b_table(&b, NFT_MSG_DELTABLE, 0, NULL);
	b_table(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, &u);
	for (size_t i = 0; i < t->sets.n; i++)
		b_named_set(&b, i);
	for (size_t i = 0; i < t->chains.n; i++)
		b_chain(&b, i);
	for (size_t i = 0; i < t->chains.n && !b.err; i++) {
		for (size_t j = 0; j < t->chains.v[i].rules.n && !b.err; j++)
			b_rule(&b, i, j);
	}
	b_batch_marker(&b, false);
	return b.err;
}

/* ---- describing a failed message ---- */

static void describe_obj(const struct nftp_table *t, const struct msg_obj *o, char *buf, size_t len)
{
	const struct nftp_chain *c = o->a < t->chains.n ? &t->chains.v[o->a] : NULL;
	const struct nftp_rule *r = c && o->b < c->rules.n ? &c->rules.v[o->b] : NULL;
	const char *set = o->a < t->sets.n ? t->sets.v[o->a].name : "?";
	char comment[128] = "";

	if (r && r->comment[0])
		snprintf(comment, sizeof(comment), " (comment \"%s\")", r->comment);
	switch (o->kind) {
	case OBJ_BATCH:
		snprintf(buf, len, "the transaction on table inet %s", t->name);
		break;
	case OBJ_TABLE:
		snprintf(buf, len, "table inet %s", t->name);
		break;
	case OBJ_SET:
		snprintf(buf, len, "set %s", set);
		break;
	case OBJ_ELEMS:
		snprintf(buf, len, "elements of set %s", set);
		break;
	case OBJ_CHAIN:
		snprintf(buf, len, "chain %s", c ? c->name : "?");
		break;
	case OBJ_RULE:
	case OBJ_ANON_SET:
	case OBJ_ANON_ELEMS:
		snprintf(buf, len, "%srule %u of chain %s%s",
			 o->kind == OBJ_RULE ? "" : o->kind == OBJ_ANON_SET ? "anonymous set of " :
			 "anonymous set elements of ", o->b + 1, c ? c->name : "?", comment);
		break;
	}
}

static const char *attr_name(uint16_t msg, uint16_t attr)
{
	static const struct { uint16_t msg, attr; const char *name; } names[] = {
		{ NFT_MSG_NEWTABLE, NFTA_TABLE_NAME, "its name" },
		{ NFT_MSG_DELTABLE, NFTA_TABLE_NAME, "its name" },
		{ NFT_MSG_NEWTABLE, NFTA_TABLE_FLAGS, "its flags" },
		{ NFT_MSG_NEWTABLE, NFTA_TABLE_USERDATA, "its userdata" },
		{ NFT_MSG_NEWCHAIN, NFTA_CHAIN_TABLE, "its table" },
		{ NFT_MSG_NEWCHAIN, NFTA_CHAIN_NAME, "its name" },
		{ NFT_MSG_NEWCHAIN, NFTA_CHAIN_HOOK, "its hook" },
		{ NFT_MSG_NEWCHAIN, NFTA_CHAIN_POLICY, "its policy" },
		{ NFT_MSG_NEWCHAIN, NFTA_CHAIN_TYPE, "its type" },
		{ NFT_MSG_NEWSET, NFTA_SET_TABLE, "its table" },
		{ NFT_MSG_NEWSET, NFTA_SET_NAME, "its name" },
		{ NFT_MSG_NEWSET, NFTA_SET_FLAGS, "its flags" },
		{ NFT_MSG_NEWSET, NFTA_SET_KEY_TYPE, "its key type" },
		{ NFT_MSG_NEWSET, NFTA_SET_KEY_LEN, "its key length" },
		{ NFT_MSG_NEWSET, NFTA_SET_DESC, "its size" },
		{ NFT_MSG_NEWSETELEM, NFTA_SET_ELEM_LIST_SET, "the set name" },
		{ NFT_MSG_NEWSETELEM, NFTA_SET_ELEM_LIST_SET_ID, "the set id" },
		{ NFT_MSG_NEWRULE, NFTA_RULE_TABLE, "its table" },
		{ NFT_MSG_NEWRULE, NFTA_RULE_CHAIN, "its chain" },
		{ NFT_MSG_NEWRULE, NFTA_RULE_USERDATA, "its comment" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (names[i].msg == msg && names[i].attr == attr)
			return names[i].name;
	}
	return NULL;
}

/* Which part of our message the kernel's NLMSGERR_ATTR_OFFS points at. */
static void describe_offset(const struct msg_obj *o, uint32_t off, char *buf, size_t len)
{
	const struct nlmsghdr *nlh = o->nlh;
	const struct nlattr *a;
	uint16_t type = nlh->nlmsg_type & 0xff;

	snprintf(buf, len, "offset %u", off);
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		uint32_t start = (uint32_t)((const char *)a - (const char *)nlh);
		const struct nlattr *x;
		unsigned k = 0;

		if (off < start || off >= start + a->nla_len)
			continue;
		if (attr_name(type, mnl_attr_get_type(a)))
			snprintf(buf, len, "%s", attr_name(type, mnl_attr_get_type(a)));
		else
			snprintf(buf, len, "attribute %u", mnl_attr_get_type(a));
		if (type == NFT_MSG_NEWRULE && mnl_attr_get_type(a) == NFTA_RULE_EXPRESSIONS) {
			mnl_attr_for_each_nested(x, a) {
				uint32_t xs = (uint32_t)((const char *)x - (const char *)nlh);
				const struct nlattr *y;
				const char *name = "?";

				k++;
				if (off < xs || off >= xs + x->nla_len)
					continue;
				mnl_attr_for_each_nested(y, x) {
					if (mnl_attr_get_type(y) == NFTA_EXPR_NAME &&
					    mnl_attr_validate(y, MNL_TYPE_NUL_STRING) >= 0)
						name = mnl_attr_get_str(y);
				}
				snprintf(buf, len, "expression %u (%s)", k, name);
			}
		} else if (type == NFT_MSG_NEWSETELEM &&
			   mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS) {
			mnl_attr_for_each_nested(x, a) {
				uint32_t xs = (uint32_t)((const char *)x - (const char *)nlh);

				if (off >= xs && off < xs + x->nla_len)
					snprintf(buf, len, "element %u", o->first_elem + k + 1);
				k++;
			}
		}
		break;
	}
}

/* ---- the socket ---- */

int nft_open(struct nft_conn **out, struct ul_err *e)
{
	struct nft_conn *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return ul_errf(e, ENOMEM, "out of memory");
	c->rbuf = malloc(RBUF_BYTES);
	c->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!c->rbuf || !c->nl) {
		int err = c->rbuf ? errno : ENOMEM;

		nft_close(c);
		return ul_errf(e, err, "nftables: netlink socket: %s", strerror(err));
	}
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		nft_close(c);
		return ul_errf(e, err, "nftables: netlink bind: %s", strerror(err));
	}
	/* best effort: older kernels lack them and still work */
	nlack_enable(mnl_socket_get_fd(c->nl));
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	*out = c;
	return 0;
}

void nft_close(struct nft_conn *c)
{
	if (!c)
		return;
	if (c->nl)
		mnl_socket_close(c->nl);
	free(c->rbuf);
	free(c);
}

uint32_t nft_portid(const struct nft_conn *c)
{
	return c->portid;
}

const struct nft_stats *nft_stats(const struct nft_conn *c)
{
	return &c->stats;
}

static void grow_buffers(struct nft_conn *c, size_t bytes, size_t n_msgs)
{
	int fd = mnl_socket_get_fd(c->nl);
	int snd = (int)(bytes + (64u << 10));
	/* every acknowledgement is its own skb, about 1 KiB of receive buffer */
	int rcv = (int)(n_msgs * 1024 + (256u << 10));
	int cur = 0;
	socklen_t len = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &len) == 0 && cur < snd &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (rcv > c->rcvbuf) {
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		c->rcvbuf = rcv;
	}
}

/* Drops whatever an earlier, abandoned exchange left in the socket. */
static void drain(struct nft_conn *c)
{
	while (recv(mnl_socket_get_fd(c->nl), c->rbuf, RBUF_BYTES, MSG_DONTWAIT) > 0)
		;
}

struct ack_state {
	size_t pending;
	bool failed;
	size_t err_idx;
	int err;
	bool has_off;
	uint32_t off;
	char msg[256];
};

static void note_ack(const struct nlmsghdr *nlh, const struct msgs *m, struct ack_state *st)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t idx = nlh->nlmsg_seq - m->seq0;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)) || idx >= m->objs.n)
		return;
	if (m->objs.v[idx].kind != OBJ_BATCH && st->pending)
		st->pending--;
	if (!err->error)
		return;
	/* the first failing message is the cause; later ones mostly follow from it */
	if (st->failed && st->err_idx <= idx && m->objs.v[st->err_idx].kind != OBJ_BATCH)
		return;
	st->failed = true;
	st->err_idx = idx;
	st->err = -err->error;
	st->has_off = nlack_parse(nlh, st->msg, sizeof(st->msg), &st->off);
}

/* Sends the batch (one sendmsg: one transaction) and reads every acknowledgement. */
static int batch_talk(struct nft_conn *c, struct msgs *m, const struct nftp_table *t,
		      struct ul_err *e)
{
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	int fd = mnl_socket_get_fd(c->nl);
	struct ack_state st = { 0 };
	struct msghdr mh = { 0 };
	struct iovec *iov;
	ssize_t n;
	int len;

	iov = calloc(m->pages.n, sizeof(*iov));
	if (!iov)
		return ul_errf(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < m->pages.n; i++) {
		iov[i].iov_base = m->pages.v[i].buf;
		iov[i].iov_len = m->pages.v[i].len;
	}
	for (size_t i = 0; i < m->objs.n; i++)
		st.pending += m->objs.v[i].kind != OBJ_BATCH;
	grow_buffers(c, m->bytes, m->objs.n);
	drain(c);
	mh.msg_name = &snl;
	mh.msg_namelen = sizeof(snl);
	mh.msg_iov = iov;
	mh.msg_iovlen = m->pages.n;
	n = sendmsg(fd, &mh, 0);
	free(iov);
	if (n < 0)
		return ul_errf(e, errno, "nftables: sending %zu messages (%zu bytes) to table inet %s: %s",
			       m->objs.n, m->bytes, t->name, strerror(errno));
	c->stats.msgs_sent += m->objs.n;
	c->stats.mutating_msgs += m->objs.n;

	/* the kernel handles the batch inside sendmsg(): its answers are queued already */
	while (st.pending || st.failed) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, st.failed ? 0 : 5000);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = recv(fd, c->rbuf, RBUF_BYTES, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ENOBUFS)
				return ul_errf(e, ENOBUFS, "nftables: table inet %s: acknowledgements lost "
					       "(receive buffer overrun), outcome unknown", t->name);
			return ul_errf(e, errno, "nftables: receive: %s", strerror(errno));
		}
		len = (int)n;
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)c->rbuf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR)
				note_ack(nlh, m, &st);
		}
	}
	if (st.failed) {
		char what[256], where[96] = "", detail[400] = "";

		describe_obj(t, &m->objs.v[st.err_idx], what, sizeof(what));
		if (st.has_off)
			describe_offset(&m->objs.v[st.err_idx], st.off, where, sizeof(where));
		/* "chain x: File exists (kernel: ...; at its name)" */
		if (st.msg[0] && where[0])
			snprintf(detail, sizeof(detail), " (kernel: %s; at %s)", st.msg, where);
		else if (st.msg[0])
			snprintf(detail, sizeof(detail), " (kernel: %s)", st.msg);
		else if (where[0])
			snprintf(detail, sizeof(detail), " (at %s)", where);
		return ul_errf(e, st.err, "nftables: %s: %s%s", what, strerror(st.err), detail);
	}
	if (st.pending)
		return ul_errf(e, ETIMEDOUT, "nftables: table inet %s: %zu messages not acknowledged",
			       t->name, st.pending);
	c->stats.batches++;
	return 0;
}

int nft_table_replace(struct nft_conn *c, const struct nftp_table *t, struct ul_err *e)
{
	struct msgs m = { 0 };
	int err;

	err = build_replace(t, &m, c->seq + 1, e);
	if (!err) {
		c->seq += (uint32_t)m.objs.n;
		err = batch_talk(c, &m, t, e);
	}
	msgs_free(&m);
	return err;
}

int nft_table_delete(struct nft_conn *c, const char *name, bool *existed, struct ul_err *e)
{
	struct nftp_table t = { 0 };
	struct msgs m = { 0 };
	struct builder b;
	int err;

	if (existed)
		*existed = false;
	strlcpy_ul(t.name, name, sizeof(t.name));
	builder_init(&b, &t, &m, c->seq + 1, e);
	b_batch_marker(&b, true);
	b_table(&b, NFT_MSG_DELTABLE, 0, NULL);
	b_batch_marker(&b, false);
	err = b.err;
	if (!err) {
		c->seq += (uint32_t)m.objs.n;
		err = batch_talk(c, &m, &t, e);
		if (err == -ENOENT)
			err = 0;
		else if (!err && existed)
			*existed = true;
	}
	msgs_free(&m);
	return err;
}

/* ---- queries ---- */

static int query(struct nft_conn *c, uint16_t type, uint16_t flags,
		 void (*fill)(struct nlmsghdr *nlh, const void *arg), const void *arg,
		 mnl_cb_t cb, void *data)
{
	char buf[1024];
	struct nlmsghdr *nlh;
	uint32_t seq = ++c->seq;
	int ret;

	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags, seq);
	if (fill)
		fill(nlh, arg);
	drain(c);
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	c->stats.msgs_sent++;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(c->nl, c->rbuf, RBUF_BYTES);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run(c->rbuf, (size_t)n, seq, c->portid, cb, data);
		if (ret < 0)
			return errno == EPROTO || errno == ESRCH ? -EPROTO : -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static void fill_table(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, arg);
}

struct table_q {
	bool found;
	bool has_hash;
	uint64_t hash;
};

static int udata_hash_cb(const struct nftnl_udata *attr, void *data)
{
	struct table_q *q = data;
	const uint8_t *v = nftnl_udata_get(attr);

	if (nftnl_udata_type(attr) == UDATA_TABLE_HASH && nftnl_udata_len(attr) == 8) {
		q->hash = 0;
		for (int i = 0; i < 8; i++)
			q->hash = q->hash << 8 | v[i];
		q->has_hash = true;
	}
	return 0;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_q *q = data;
	struct nftnl_table *t = nftnl_table_alloc();
	const void *ud;
	uint32_t len;

	if (!t)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) == 0) {
		q->found = true;
		if (nftnl_table_is_set(t, NFTNL_TABLE_USERDATA)) {
			ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
			nftnl_udata_parse(ud, len, udata_hash_cb, q);
		}
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int get_table(struct nft_conn *c, const char *name, struct table_q *q, struct ul_err *e)
{
	int err;

	memset(q, 0, sizeof(*q));
	err = query(c, NFT_MSG_GETTABLE, NLM_F_ACK, fill_table, name, table_cb, q);
	if (err == -ENOENT)
		return 0;
	if (err)
		return ul_errf(e, -err, "nftables: reading table inet %s: %s", name, strerror(-err));
	return 0;
}

int nft_table_exists(struct nft_conn *c, const char *name, struct ul_err *e)
{
	struct table_q q;
	int err = get_table(c, name, &q, e);

	return err ? err : q.found;
}

struct check {
	struct builder b;        /* builds the expected rules, without messages */
	const struct nftp_table *t;
	bool differs;
	size_t chains_seen;
	size_t *rules_seen;      /* per chain */
	size_t sets_seen;
	size_t elems;
	uint64_t digest;
	int err;
};

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static int find_chain(const struct nftp_table *t, const char *name)
{
	for (size_t i = 0; i < t->chains.n; i++) {
		if (streq(t->chains.v[i].name, name))
			return (int)i;
	}
	return -1;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct check *k = data;
	struct nftnl_chain *ch = nftnl_chain_alloc();
	const struct nftp_chain *want;
	size_t i;

	if (!ch)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, ch) < 0 ||
	    !streq(nftnl_chain_get_str(ch, NFTNL_CHAIN_TABLE), k->t->name))
		goto out;
	i = k->chains_seen++;
	if (i >= k->t->chains.n) {
		k->differs = true;
		goto out;
	}
	want = &k->t->chains.v[i];
	if (!streq(nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME), want->name) ||
	    nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM) != (want->hook != NFTP_HOOK_NONE)) {
		k->differs = true;
		goto out;
	}
	if (want->hook != NFTP_HOOK_NONE &&
	    (nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM) != hook_num(want->hook) ||
	     nftnl_chain_get_s32(ch, NFTNL_CHAIN_PRIO) != want->priority ||
	     !streq(nftnl_chain_get_str(ch, NFTNL_CHAIN_TYPE), nftp_chain_type_name(want->type)) ||
	     nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY) != (want->policy_drop ? NF_DROP : NF_ACCEPT)))
		k->differs = true;
out:
	nftnl_chain_free(ch);
	return MNL_CB_OK;
}

static uint32_t x_u32(const struct nftnl_expr *x, uint16_t attr, uint32_t dflt)
{
	return nftnl_expr_is_set(x, attr) ? nftnl_expr_get_u32(x, attr) : dflt;
}

/* The kernel names an anonymous set __set0 where we asked for __set%d. */
static bool same_set_name(const char *got, const char *want)
{
	const char *pct = strstr(want, "%d");
	size_t n = pct ? (size_t)(pct - want) : 0;

	if (!pct)
		return !strcmp(got, want);
	if (strncmp(got, want, n) || !got[n])
		return false;
	for (got += n; *got; got++) {
		if (*got < '0' || *got > '9')
			return false;
	}
	return true;
}

/*
 * One kernel expression against the one we would send.  The kernel dumps a few things its
 * own way: lookups always carry their flags, nat fills in addr_max and the range flags,
 * counters count.
 */
static bool same_expr(const struct nftnl_expr *g, const struct nftnl_expr *w)
{
	const char *name = nftnl_expr_get_str(w, NFTNL_EXPR_NAME);
	char gb[512], wb[512];

	if (!streq(name, nftnl_expr_get_str(g, NFTNL_EXPR_NAME)))
		return false;
	if (!strcmp(name, "counter"))
		return true;
	if (!strcmp(name, "lookup"))
		return x_u32(g, NFTNL_EXPR_LOOKUP_SREG, 0) == x_u32(w, NFTNL_EXPR_LOOKUP_SREG, 0) &&
		       x_u32(g, NFTNL_EXPR_LOOKUP_DREG, ~0u) == x_u32(w, NFTNL_EXPR_LOOKUP_DREG, ~0u) &&
		       x_u32(g, NFTNL_EXPR_LOOKUP_FLAGS, 0) == x_u32(w, NFTNL_EXPR_LOOKUP_FLAGS, 0) &&
		       nftnl_expr_get_str(g, NFTNL_EXPR_LOOKUP_SET) &&
		       same_set_name(nftnl_expr_get_str(g, NFTNL_EXPR_LOOKUP_SET),
				     nftnl_expr_get_str(w, NFTNL_EXPR_LOOKUP_SET));
	if (!strcmp(name, "nat")) {
		uint32_t amin = x_u32(w, NFTNL_EXPR_NAT_REG_ADDR_MIN, 0);
		uint32_t pmin = x_u32(w, NFTNL_EXPR_NAT_REG_PROTO_MIN, 0);
		uint32_t flags = x_u32(w, NFTNL_EXPR_NAT_FLAGS, 0) |
				 (amin ? NF_NAT_RANGE_MAP_IPS : 0) | (pmin ? NF_NAT_RANGE_PROTO_SPECIFIED : 0);

		return x_u32(g, NFTNL_EXPR_NAT_TYPE, 0) == x_u32(w, NFTNL_EXPR_NAT_TYPE, 0) &&
		       x_u32(g, NFTNL_EXPR_NAT_FAMILY, 0) == x_u32(w, NFTNL_EXPR_NAT_FAMILY, 0) &&
		       x_u32(g, NFTNL_EXPR_NAT_REG_ADDR_MIN, 0) == amin &&
		       x_u32(g, NFTNL_EXPR_NAT_REG_ADDR_MAX, 0) == x_u32(w, NFTNL_EXPR_NAT_REG_ADDR_MAX, amin) &&
		       x_u32(g, NFTNL_EXPR_NAT_REG_PROTO_MIN, 0) == pmin &&
		       x_u32(g, NFTNL_EXPR_NAT_REG_PROTO_MAX, 0) == x_u32(w, NFTNL_EXPR_NAT_REG_PROTO_MAX, pmin) &&
		       x_u32(g, NFTNL_EXPR_NAT_FLAGS, 0) == flags;
	}
	if (nftnl_expr_snprintf(gb, sizeof(gb), g, NFTNL_OUTPUT_DEFAULT, 0) < 0 ||
	    nftnl_expr_snprintf(wb, sizeof(wb), w, NFTNL_OUTPUT_DEFAULT, 0) < 0)
		return false;
	return !strcmp(gb, wb);
}

static bool same_exprs(struct nftnl_rule *got, struct nftnl_rule *want)
{
	struct nftnl_expr_iter *gi = nftnl_expr_iter_create(got), *wi = nftnl_expr_iter_create(want);
	struct nftnl_expr *g, *w;
	bool same = gi && wi;

	while (same) {
		g = nftnl_expr_iter_next(gi);
		w = nftnl_expr_iter_next(wi);
		if (!g || !w) {
			same = !g && !w;
			break;
		}
		same = same_expr(g, w);
	}
	if (gi)
		nftnl_expr_iter_destroy(gi);
	if (wi)
		nftnl_expr_iter_destroy(wi);
	return same;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct check *k = data;
	struct nftnl_rule *r = nftnl_rule_alloc(), *want = NULL;
	const void *ud = NULL;
	uint32_t ud_len = 0;
	struct udata u;
	size_t j;
	int ci;

	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
	    !streq(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), k->t->name))
		goto out;
	ci = find_chain(k->t, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (ci < 0) {
		k->differs = true;
		goto out;
	}
	j = k->rules_seen[ci]++;
	if (j >= k->t->chains.v[ci].rules.n) {
		k->differs = true;
		goto out;
	}
	rule_udata(&k->t->chains.v[ci].rules.v[j], &u);
	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &ud_len);
	if (ud_len != u.len || (u.len && memcmp(ud, u.b, u.len))) {
		k->differs = true;
		goto out;
	}
	want = b_rule_obj(&k->b, (size_t)ci, j);
	if (!want) {
		k->err = k->b.err;
		goto out;
	}
	if (!same_exprs(r, want))
		k->differs = true;
out:
	if (want)
		nftnl_rule_free(want);
	nftnl_rule_free(r);
	return k->err ? MNL_CB_ERROR : MNL_CB_OK;
}

static void fill_rule_table(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, arg);
}

static void fill_set_table(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, arg);
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct check *k = data;
	struct nftnl_set *s = nftnl_set_alloc();
	const struct nftp_set *want;
	uint32_t flags, key_type, key_len;
	size_t i;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, s) < 0 ||
	    !streq(nftnl_set_get_str(s, NFTNL_SET_TABLE), k->t->name))
		goto out;
	flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
	if (flags & NFT_SET_ANONYMOUS)
		goto out;
	i = k->sets_seen++;
	if (i >= k->t->sets.n) {
		k->differs = true;
		goto out;
	}
	want = &k->t->sets.v[i];
	key_type = want->type == NFTP_SET_IFNAME ? DT_IFNAME :
		   want->type == NFTP_SET_IPV4 ? DT_IPADDR : DT_IP6ADDR;
	key_len = want->type == NFTP_SET_IFNAME ? IFNAMSIZ : want->type == NFTP_SET_IPV4 ? 4 : 16;
	if (!streq(nftnl_set_get_str(s, NFTNL_SET_NAME), want->name) ||
	    flags != (want->type == NFTP_SET_IFNAME ? 0u : NFT_SET_INTERVAL) ||
	    nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE) != key_type ||
	    nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) != key_len)
		k->differs = true;
out:
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int elem_attr_cb(const struct nlattr *a, void *data)
{
	struct check *k = data;
	const struct nlattr *x, *key = NULL;
	uint32_t flags = 0;

	mnl_attr_for_each_nested(x, a) {
		if (mnl_attr_get_type(x) == NFTA_SET_ELEM_FLAGS && mnl_attr_validate(x, MNL_TYPE_U32) >= 0)
			flags = ntohl(mnl_attr_get_u32(x));
		else if (mnl_attr_get_type(x) == NFTA_SET_ELEM_KEY)
			key = mnl_attr_get_payload(x);
	}
	if (!key || mnl_attr_get_type(key) != NFTA_DATA_VALUE) {
		k->differs = true;
		return MNL_CB_OK;
	}
	k->elems++;
	k->digest += elem_digest(mnl_attr_get_payload(key), mnl_attr_get_payload_len(key),
				 flags & NFT_SET_ELEM_INTERVAL_END);
	return MNL_CB_OK;
}

static int elems_top_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
		mnl_attr_parse_nested(a, elem_attr_cb, data);
	return MNL_CB_OK;
}

static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), elems_top_cb, data);
	return MNL_CB_OK;
}

struct set_ref {
	const char *table, *set;
};

static void fill_elems(struct nlmsghdr *nlh, const void *arg)
{
	const struct set_ref *ref = arg;

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, ref->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, ref->set);
}

static int check_elems(struct nft_conn *c, struct check *k, const struct nftp_set *s)
{
	struct set_ref ref = { k->t->name, s->name };
	struct elems v = { 0 };
	uint64_t digest = 0;
	int err;

	if (set_elems(s, &v)) {
		VEC_FREE(&v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < v.n; i++)
		digest += elem_digest(v.v[i].key, v.v[i].len, v.v[i].end);
	k->elems = 0;
	k->digest = 0;
	err = query(c, NFT_MSG_GETSETELEM, NLM_F_DUMP, fill_elems, &ref, elems_cb, k);
	if (!err && (k->elems != v.n || k->digest != digest))
		k->differs = true;
	VEC_FREE(&v);
	return err;
}

int nft_table_matches(struct nft_conn *c, const struct nftp_table *t, struct ul_err *e)
{
	struct check k = { .t = t };
	struct table_q q;
	const char *step = "chains";
	int err;

	err = get_table(c, t->name, &q, e);
	if (err || !q.found || !q.has_hash || q.hash != table_hash(t))
		return err ? err : 0;

	builder_init(&k.b, t, NULL, 0, e);
	k.rules_seen = calloc(t->chains.n + 1, sizeof(*k.rules_seen));
	if (!k.rules_seen)
		return ul_errf(e, ENOMEM, "out of memory");
	err = query(c, NFT_MSG_GETCHAIN, NLM_F_DUMP, NULL, NULL, chain_cb, &k);
	if (!err && !k.differs && k.chains_seen != t->chains.n)
		k.differs = true;
	if (!err && !k.differs) {
		step = "rules";
		err = query(c, NFT_MSG_GETRULE, NLM_F_DUMP, fill_rule_table, t->name, rule_cb, &k);
		if (k.err)
			err = k.err;
		for (size_t i = 0; !err && i < t->chains.n; i++)
			k.differs |= k.rules_seen[i] != t->chains.v[i].rules.n;
	}
	if (!err && !k.differs) {
		step = "sets";
		err = query(c, NFT_MSG_GETSET, NLM_F_DUMP, fill_set_table, t->name, set_cb, &k);
		if (!err && k.sets_seen != t->sets.n)
			k.differs = true;
	}
	for (size_t i = 0; !err && !k.differs && i < t->sets.n; i++) {
		step = "set elements";
		err = check_elems(c, &k, &t->sets.v[i]);
	}
	free(k.rules_seen);
	if (err == -ENOENT)
		return 0; /* changed under us */
	if (err)
		return k.b.err ? err : ul_errf(e, -err, "nftables: reading the %s of table inet %s: %s",
					       step, t->name, strerror(-err));
	return !k.differs;
}

/* ---- rendering for the builders' unit tests ---- */

static int print_obj(struct strbuf *sb, const void *obj,
		     int (*snp)(char *, size_t, const void *, uint32_t, uint32_t))
{
	size_t size = 4096;

	for (;;) {
		char *buf = malloc(size);
		int n;

		if (!buf)
			return -ENOMEM;
		n = snp(buf, size, obj, NFTNL_OUTPUT_DEFAULT, 0);
		if (n < 0) {
			free(buf);
			return -EINVAL;
		}
		if ((size_t)n < size) {
			sb_puts(sb, buf);
			free(buf);
			return 0;
		}
		free(buf);
		size = (size_t)n + 1;
	}
}

static int snp_set(char *buf, size_t size, const void *obj, uint32_t type, uint32_t flags)
{
	return nftnl_set_snprintf(buf, size, obj, type, flags);
}

static int snp_rule(char *buf, size_t size, const void *obj, uint32_t type, uint32_t flags)
{
	return nftnl_rule_snprintf(buf, size, obj, type, flags);
}

/*
 * Parses our own messages back and prints them the way `nft --debug=netlink` does while it
 * builds its batch: each set, then its elements, then the rule.
 */
static char *render(const struct msgs *m)
{
	struct strbuf sb = { 0 };
	struct nftnl_set *elems = NULL;
	int err = 0;

	for (size_t i = 0; i < m->objs.n && !err; i++) {
		const struct nlmsghdr *nlh = m->objs.v[i].nlh;
		uint16_t type = nlh->nlmsg_type & 0xff;
		bool more = i + 1 < m->objs.n && (m->objs.v[i + 1].nlh->nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM;

		if (type == NFT_MSG_NEWSET) {
			struct nftnl_set *s = nftnl_set_alloc();

			err = !s || nftnl_set_nlmsg_parse(nlh, s) < 0 ? -EINVAL : print_obj(&sb, s, snp_set);
			sb_puts(&sb, "\n");
			if (s)
				nftnl_set_free(s);
		} else if (type == NFT_MSG_NEWSETELEM) {
			if (!elems)
				elems = nftnl_set_alloc();
			if (!elems || nftnl_set_elems_nlmsg_parse(nlh, elems) < 0)
				err = -EINVAL;
			if (!err && !more) {
				err = print_obj(&sb, elems, snp_set);
				sb_puts(&sb, "\n");
			}
			if (!more && elems) {
				nftnl_set_free(elems);
				elems = NULL;
			}
		} else if (type == NFT_MSG_NEWRULE) {
			struct nftnl_rule *r = nftnl_rule_alloc();

			err = !r || nftnl_rule_nlmsg_parse(nlh, r) < 0 ? -EINVAL : print_obj(&sb, r, snp_rule);
			sb_puts(&sb, "\n");
			if (r)
				nftnl_rule_free(r);
		}
	}
	if (elems)
		nftnl_set_free(elems);
	if (err || sb.oom) {
		sb_free(&sb);
		return NULL;
	}
	return sb.s ? sb.s : strdup("");
}

char *nft_rule_debug(const struct nftp_table *t, const struct nftp_chain *chain,
		     const struct nftp_rule *rule)
{
	struct msgs m = { 0 };
	struct builder b;
	char *out = NULL;
	size_t ci = (size_t)(chain - t->chains.v), ri = (size_t)(rule - chain->rules.v);

	if (ci >= t->chains.n || ri >= chain->rules.n)
		return NULL;
	builder_init(&b, t, &m, 1, NULL);
	b_rule(&b, ci, ri);
	if (!b.err)
		out = render(&m);
	msgs_free(&m);
	return out;
}

char *nft_set_debug(const struct nftp_table *t, const struct nftp_set *set)
{
	struct msgs m = { 0 };
	struct builder b;
	char *out = NULL;
	size_t si = (size_t)(set - t->sets.v);

	if (si >= t->sets.n)
		return NULL;
	builder_init(&b, t, &m, 1, NULL);
	b_named_set(&b, si);
	if (!b.err)
		out = render(&m);
	msgs_free(&m);
	return out;
}
