/* Extended acknowledgements: what the kernel says when it refuses a netlink request. */
#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include "nlack.h"
#include "util.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

void nlack_enable(int fd)
{
	int one = 1;

	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
}

bool nlack_parse(const struct nlmsghdr *nlh, char *msg, size_t size, uint32_t *off)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t hlen = sizeof(*err);
	const struct nlattr *a;
	bool has_off = false;

	if (size)
		msg[0] = '\0';
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)) || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return false;
	/* without NLM_F_CAPPED the request follows the header whole, before the TLVs */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		hlen += mnl_nlmsg_get_payload_len(&err->msg);
	if (mnl_nlmsg_size(hlen) > nlh->nlmsg_len)
		return false;
	mnl_attr_for_each(a, nlh, hlen) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0) {
			strlcpy_ul(msg, mnl_attr_get_str(a), size);
		} else if (off && mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS &&
			   mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
			*off = mnl_attr_get_u32(a);
			has_off = true;
		}
	}
	return has_off;
}
