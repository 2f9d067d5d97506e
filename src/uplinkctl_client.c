/* Talking to a running uplinkd over RUN_DIR/control. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "uplinkctl.h"

int ctl_request(const char *run_dir, const char *request, bool *present)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096], last[64] = "";
	size_t line_len = 0;
	FILE *in;
	int fd;

	*present = false;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control", run_dir) >= sizeof(sa.sun_path))
		return 2;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 2;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		close(fd);
		if (err == ENOENT || err == ECONNREFUSED)
			return 0;
		fprintf(stderr, "uplinkctl: %s: %s\n", sa.sun_path, strerror(err));
		return 2;
	}
	*present = true;
	if (dprintf(fd, "%s\n", request) < 0) {
		close(fd);
		return 2;
	}
	shutdown(fd, SHUT_WR);
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return 2;
	}
	/* Everything but the last line is the answer; the last says OK or FAIL. */
	while (fgets(buf, sizeof(buf), in)) {
		if (last[0])
			fputs(last, stdout);
		line_len = strlen(buf);
		strlcpy_ul(last, buf, sizeof(last));
		if (line_len >= sizeof(last)) {
			fputs(buf, stdout);
			last[0] = '\0';
		}
	}
	fclose(in);
	if (!strcmp(last, "OK\n"))
		return 0;
	if (strcmp(last, "FAIL\n")) {
		if (last[0])
			fputs(last, stdout);
		fprintf(stderr, "uplinkctl: uplinkd closed the connection without an answer\n");
	}
	return 1;
}
