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
	for (struct addrinfo *a = res; a && n < max; a = a->ai_next)
		out[n++] = ((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
	freeaddrinfo(res);
	return (int)n;
}

const struct in6_addr *resolve_pick(const struct in6_addr *addrs, size_t n, const struct in6_addr *current)
{
	const struct in6_addr *low = NULL;

	for (size_t i = 0; i < n; i++) {
		if (current && !memcmp(&addrs[i], current, 16))
			return &addrs[i];
		if (!low || memcmp(&addrs[i], low, 16) < 0)
			low = &addrs[i];
	}
	return low;
}
