// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A control-socket request line (RUN_DIR/control, src/daemon_ctl.c): the command word and its
 * argument, parsed without the daemon so the parser can be fuzzed (tests/fuzz/fuzz_ctl.c).
 */
#ifndef UPLINK_CTLREQ_H
#define UPLINK_CTLREQ_H

/* The longest request line the daemon reads, its newline and NUL included. */
#define CTL_REQ_MAX 4096

enum ctl_cmd {
	CTL_CMD_UNKNOWN,
	CTL_CMD_PING,
	CTL_CMD_STATUS,
	CTL_CMD_RELOAD,
	CTL_CMD_UP,
	CTL_CMD_DOWN,
	CTL_CMD_IFCHANGE,
	CTL_CMD_TEARDOWN,
};

struct ctl_req {
	enum ctl_cmd cmd;
	const char *word;   /* the command word as sent (for CTL_CMD_UNKNOWN's message) */
	const char *arg;    /* what follows the first space ("" when nothing does), or NULL */
};

/*
 * Parses line (NUL-terminated, at most CTL_REQ_MAX - 1 bytes), which it changes: it ends at the
 * first CR or LF, and the command word at the first space.  req points into line.
 */
void ctl_req_parse(char *line, struct ctl_req *req);

#endif
