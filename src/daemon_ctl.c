/*
 * The control socket, RUN_DIR/control: one request line, the answer, and a last line "OK" or
 * "FAIL".  Only root may talk to it (the peer's credentials are checked).
 *
 *   reload [PATH]     validate and apply (PATH becomes the configuration)
 *   status [json]     per-uplink state
 *   up NAME | down NAME
 *   ifchange IFACE    an interface changed (ifupdown hook)
 *   ping
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlreq.h"
#include "daemon.h"
#include "log.h"

static char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static bool handle(struct daemon *d, char *line, struct strbuf *out)
{
	unsigned long before = d->changes_total;
	struct ctl_req req;
	const char *arg;

	ctl_req_parse(line, &req);
	arg = req.arg;
	switch (req.cmd) {
	case CTL_CMD_PING:
		return true;
	case CTL_CMD_STATUS:
		if (arg && !strcmp(arg, "json"))
			status_json(d, out);
		else
			status_text(d, out);
		return true;
	case CTL_CMD_RELOAD: {
		int r = daemon_reload(d, arg && *arg ? arg : NULL, out);

		if (!r)
			sb_printf(out, "applied: %lu change%s\n", d->changes_total - before,
				  d->changes_total - before == 1 ? "" : "s");
		return r == 0;
	}
	case CTL_CMD_UP:
	case CTL_CMD_DOWN: {
		struct cfg_uplink *u = arg ? cfg_find_uplink(d->cfg, arg) : NULL;

		if (!u) {
			sb_printf(out, "error: no uplink named \"%s\"\n", arg ? arg : "");
			return false;
		}
		daemon_set_admin(d, u->index, req.cmd == CTL_CMD_DOWN);
		d->capture = out;
		daemon_reconcile(d, req.word);
		d->capture = NULL;
		sb_printf(out, "uplink %s: %s (%lu change%s)\n", u->name, req.word,
			  d->changes_total - before, d->changes_total - before == 1 ? "" : "s");
		return true;
	}
	case CTL_CMD_IFCHANGE:
		if (!arg || !cfg_uses_interface(d->cfg, arg)) {
			sb_printf(out, "%s: not used by the configuration\n", arg ? arg : "");
			return true;
		}
		log_info("%s changed (ifupdown)", arg);
		d->capture = out;
		daemon_reconcile(d, "ifupdown");
		d->capture = NULL;
		sb_printf(out, "%s: reconciled, %lu change%s\n", arg, d->changes_total - before,
			  d->changes_total - before == 1 ? "" : "s");
		return true;
	case CTL_CMD_UNKNOWN:
		break;
	}
	sb_printf(out, "error: unknown request \"%s\"\n", req.word);
	return false;
}

static void serve(struct daemon *d, int fd)
{
	struct timeval tv = { .tv_sec = 2 };
	struct strbuf out = { 0 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char line[4096];
	ssize_t n;
	size_t got = 0;
	bool ok;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
		log_warn("control: refused a request from uid %d", (int)cred.uid);
		dprintf(fd, "error: only root may control uplinkd\nFAIL\n");
		return;
	}
	while (got < sizeof(line) - 1 && (n = read(fd, line + got, sizeof(line) - 1 - got)) > 0) {
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	ok = handle(d, line, &out);
	sb_puts(&out, ok ? "OK\n" : "FAIL\n");
	for (size_t off = 0; out.s && off < out.len;) {
		n = write(fd, out.s + off, out.len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	sb_free(&out);
}

static void on_accept(struct daemon *d, struct dsource *s, uint32_t events)
{
	(void)events;
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		serve(d, fd);
		close(fd);
	}
}

int ctl_open(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (mkdir(d->run_dir, 0700) && errno != EEXIST) {
		log_err("cannot create %s: %s", d->run_dir, strerror(errno));
		return -errno;
	}
	if ((size_t)snprintf(ctl_path, sizeof(ctl_path), "%s/control", d->run_dir) >= sizeof(ctl_path)) {
		log_err("run directory %s: path too long for a socket", d->run_dir);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, ctl_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket left by a daemon that died is stale; a live one answers. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		log_err("another uplinkd is running (it answers on %s)", ctl_path);
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(ctl_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(ctl_path, 0600) || listen(fd, 8)) {
		log_err("control socket %s: %s", ctl_path, strerror(errno));
		close(fd);
		return -errno;
	}
	d->ctl.fd = fd;
	d->ctl.fn = on_accept;
	return loop_add(d, &d->ctl, EPOLLIN);
}

void ctl_close(struct daemon *d)
{
	if (d->ctl.fd < 0)
		return;
	loop_del(d, &d->ctl);
	close(d->ctl.fd);
	d->ctl.fd = -1;
	unlink(ctl_path);
}
