#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "resolve.h"

int resolve_aaaa(const char *name, struct in6_addr *out, struct ul_err *e)
{
	struct addrinfo hints = { .ai_family = AF_INET6, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res = NULL;
	int r = getaddrinfo(name, NULL, &hints, &res);

	if (r)
		return ul_errf(e, r == EAI_NONAME || r == EAI_NODATA ? ENOENT : EAGAIN,
			       "cannot resolve %s (AAAA): %s", name, gai_strerror(r));
	*out = ((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
	freeaddrinfo(res);
	return 0;
}
