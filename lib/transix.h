/*
 * The transix fixed-IPv4 update request: GET URL?username=USER&password=PASSWORD over IPv6,
 * from the tunnel's local address; the answer "OK" means the address is registered.  The
 * password never leaves this function other than in the request itself.
 */
#ifndef UPLINK_TRANSIX_H
#define UPLINK_TRANSIX_H

#include <netinet/in.h>

#include "util.h"

/* 0 when the server answered OK; -EACCES when it answered something else, -EIO on failure. */
int transix_update(const char *url, const char *user, const char *password_file,
		   const struct in6_addr *source, long timeout_ms, struct ul_err *e);

#endif
