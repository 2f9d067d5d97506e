#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "resolve.h"

int resolve_aaaa(const char *name, struct in6_addr *out, size_t max, struct ul_err *e)
{
	struct addrinfo hints = { .ai_family = AF_INET6, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res = NULL;
	size_t n = 0;
	int r = getaddrinfo(name, NULL, &hints, &res);

	if (r)
		return ul_errf(e, r == EAI_NONAME || r == EAI_NODATA ? ENOENT : EAGAIN,
			       "cannot resolve %s (AAAA): %s", name, gai_strerror(r));
	/* only usable answers take a place, so that junk first cannot crowd the others out */
	for (struct addrinfo *a = res; a && n < max; a = a->ai_next) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)a->ai_addr)->sin6_addr;

		if (a->ai_family == AF_INET6 && resolve_usable(v6))
			out[n++] = *v6;
	}
	freeaddrinfo(res);
	return (int)n;
}

bool resolve_usable(const struct in6_addr *a)
{
	return (a->s6_addr[0] & 0xe0) == 0x20;
}

void resolve_consider(struct resolve_choice *c, const struct in6_addr *a)
{
	c->answers++;
	if (!resolve_usable(a))
		return;
	c->usable++;
	if (c->pick && c->current && !memcmp(c->pick, c->current, 16))
		return;
	if ((c->current && !memcmp(a, c->current, 16)) || !c->pick || memcmp(a, c->pick, 16) < 0)
		c->pick = a;
}

const struct in6_addr *resolve_pick(const struct in6_addr *addrs, size_t n, const struct in6_addr *current)
{
	struct resolve_choice c = { .current = current };

	for (size_t i = 0; i < n; i++)
		resolve_consider(&c, &addrs[i]);
	return c.pick;
}
