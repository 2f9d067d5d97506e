// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the control socket's request line (lib/ctlreq.c): any bytes, cut as the
 * daemon cuts what it reads (at most CTL_REQ_MAX - 1 bytes, NUL-terminated).  The parse must stay
 * inside the line, name a known command only for its exact word, and give the argument as sent.
 */
#include <string.h>

#include "ctlreq.h"
#include "fuzz.h"

static const char *const words[] = {
	[CTL_CMD_UNKNOWN] = NULL, [CTL_CMD_PING] = "ping", [CTL_CMD_STATUS] = "status",
	[CTL_CMD_RELOAD] = "reload", [CTL_CMD_UP] = "up", [CTL_CMD_DOWN] = "down",
	[CTL_CMD_IFCHANGE] = "ifchange", [CTL_CMD_TEARDOWN] = "teardown",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t got = size < CTL_REQ_MAX - 1 ? size : CTL_REQ_MAX - 1;
	char *line = malloc(got + 1), *copy;
	size_t len, wlen;
	struct ctl_req req;

	if (!line)
		return 0;
	memcpy(line, data, got);
	line[got] = '\0';
	copy = strdup(line);
	if (!copy)
		abort();
	len = strcspn(copy, "\r\n");
	copy[len] = '\0';
	ctl_req_parse(line, &req);

	/* the word: the line up to the first space, CR or LF */
	wlen = strcspn(copy, " ");
	ensure(req.word == line);
	ensure(strlen(req.word) == wlen && !memcmp(req.word, copy, wlen));
	if (wlen < len) {
		ensure(req.arg == line + wlen + 1);
		ensure(!strcmp(req.arg, copy + wlen + 1));
	} else {
		ensure(!req.arg);
	}
	ensure((unsigned)req.cmd < sizeof(words) / sizeof(words[0]));
	if (req.cmd == CTL_CMD_UNKNOWN) {
		for (size_t i = 1; i < sizeof(words) / sizeof(words[0]); i++)
			ensure(strcmp(req.word, words[i]));
	} else {
		ensure(!strcmp(req.word, words[req.cmd]));
	}
	free(copy);
	free(line);
	return 0;
}
