/* Name resolution for the AFTR (DS-Lite): AAAA through the system's resolver. */
#ifndef UPLINK_RESOLVE_H
#define UPLINK_RESOLVE_H

#include <netinet/in.h>

#include "util.h"

int resolve_aaaa(const char *name, struct in6_addr *out, struct ul_err *e);

#endif
