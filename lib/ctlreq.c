// SPDX-License-Identifier: GPL-2.0-or-later
/* The control socket's request line: "WORD[ ARG]". */
#include <string.h>

#include "ctlreq.h"

static const char *const ctl_words[] = {
	[CTL_CMD_PING] = "ping",
	[CTL_CMD_STATUS] = "status",
	[CTL_CMD_RELOAD] = "reload",
	[CTL_CMD_UP] = "up",
	[CTL_CMD_DOWN] = "down",
	[CTL_CMD_IFCHANGE] = "ifchange",
	[CTL_CMD_TEARDOWN] = "teardown",
};

void ctl_req_parse(char *line, struct ctl_req *req)
{
	char *arg;

	line[strcspn(line, "\r\n")] = '\0';
	arg = strchr(line, ' ');
	if (arg)
		*arg++ = '\0';
	req->cmd = CTL_CMD_UNKNOWN;
	req->word = line;
	req->arg = arg;
	for (size_t i = 0; i < sizeof(ctl_words) / sizeof(ctl_words[0]); i++) {
		if (ctl_words[i] && !strcmp(line, ctl_words[i])) {
			req->cmd = (enum ctl_cmd)i;
			break;
		}
	}
}
