/* The kernel's extended acknowledgements (NLMSGERR_ATTR_*), shared by every netlink socket. */
#ifndef UPLINK_NLACK_H
#define UPLINK_NLACK_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif

/* Asks for extended acks, errors without the echoed request; best effort (older kernels). */
void nlack_enable(int fd);

/*
 * The extended-ack text of an NLMSG_ERROR message into msg ("" when the kernel gave none) and,
 * when off is not NULL, the offset of the offending attribute; true when one was given.
 */
bool nlack_parse(const struct nlmsghdr *nlh, char *msg, size_t size, uint32_t *off);

#endif
