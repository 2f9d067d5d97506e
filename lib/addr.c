#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"

int addr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

int addr_parse(struct ip_addr *a, const char *s, int family)
{
	memset(a, 0, sizeof(*a));
	if ((family == AF_INET || family == AF_UNSPEC) && inet_pton(AF_INET, s, &a->v4) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if ((family == AF_INET6 || family == AF_UNSPEC) && inet_pton(AF_INET6, s, &a->v6) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int prefix_parse(struct ip_prefix *p, const char *s, int family, bool allow_host_bits)
{
	char buf[PREFIX_STRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint32_t len;

	memset(p, 0, sizeof(*p));
	if (alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (addr_parse(&p->addr, buf, family))
		return -EINVAL;
	if (slash) {
		if (parse_u32(slash + 1, 0, addr_bits(p->addr.family), &len) ||
		    !strchr("0123456789", slash[1]) || (slash[1] == '0' && slash[2]))
			return -EINVAL;
		p->len = len;
	} else {
		p->len = addr_bits(p->addr.family);
	}
	if (!allow_host_bits && prefix_has_host_bits(p))
		return -EDOM;
	return 0;
}

const char *addr_fmt(const struct ip_addr *a, char *buf)
{
	if (!a->family || !inet_ntop(a->family, a->b, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

const char *prefix_fmt(const struct ip_prefix *p, char *buf)
{
	addr_fmt(&p->addr, buf);
	snprintf(buf + strlen(buf), 5, "/%u", p->len);
	return buf;
}

bool addr_equal(const struct ip_addr *a, const struct ip_addr *b)
{
	return addr_cmp(a, b) == 0;
}

int addr_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (!a->family)
		return 0;
	return memcmp(a->b, b->b, addr_len(a->family));
}

int prefix_cmp(const struct ip_prefix *a, const struct ip_prefix *b)
{
	int r = addr_cmp(&a->addr, &b->addr);

	if (r)
		return r;
	return a->len < b->len ? -1 : a->len > b->len;
}

static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		return (a[full] & mask) == (b[full] & mask);
	}
	return true;
}

bool prefix_contains(const struct ip_prefix *outer, const struct ip_prefix *p)
{
	return outer->addr.family == p->addr.family && p->len >= outer->len &&
	       outer->len <= addr_bits(outer->addr.family) &&
	       bits_equal(outer->addr.b, p->addr.b, outer->len);
}

bool prefix_overlaps(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return prefix_contains(a, b) || prefix_contains(b, a);
}

void prefix_mask(struct ip_prefix *p)
{
	unsigned bits = addr_bits(p->addr.family);

	for (unsigned i = p->len; i < bits; i++)
		p->addr.b[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

bool prefix_has_host_bits(const struct ip_prefix *p)
{
	struct ip_prefix m = *p;

	prefix_mask(&m);
	return !addr_equal(&m.addr, &p->addr);
}

/* A run of count bits from start inside an IPv6 address, and no more than a uint64_t holds. */
static bool bits_in_range(unsigned start, unsigned count)
{
	return count <= 64 && start <= 128 && count <= 128 - start;
}

uint64_t addr_get_bits(const uint8_t *bytes, unsigned start, unsigned count)
{
	uint64_t v = 0;

	if (!bits_in_range(start, count))
		return 0;
	for (unsigned i = start; i < start + count; i++)
		v = (v << 1) | ((bytes[i / 8] >> (7 - i % 8)) & 1);
	return v;
}

int addr_set_bits(uint8_t *bytes, unsigned start, unsigned count, uint64_t value)
{
	if (!bits_in_range(start, count))
		return -ERANGE;
	for (unsigned i = 0; i < count; i++) {
		unsigned bit = start + i;
		unsigned v = (value >> (count - 1 - i)) & 1;
		uint8_t mask = (uint8_t)(0x80 >> (bit % 8));

		bytes[bit / 8] = v ? (bytes[bit / 8] | mask) : (bytes[bit / 8] & (uint8_t)~mask);
	}
	return 0;
}

const char *prefix_pd_problem(const struct ip_prefix *p)
{
	if (p->addr.family != AF_INET6)
		return "not an IPv6 prefix";
	if (p->len > PD_MAX_LEN)
		return "longer than /64: no /64 for a LAN in it";
	if (p->len < PD_MIN_LEN)
		return "shorter than /32: more than any ISP delegates";
	return NULL;
}

struct ip_addr addr_v4(uint32_t host_order)
{
	struct ip_addr a = { .family = AF_INET };

	a.v4.s_addr = htonl(host_order);
	return a;
}

struct ip_addr addr_v6(const struct in6_addr *in)
{
	struct ip_addr a = { .family = AF_INET6 };

	a.v6 = *in;
	return a;
}
