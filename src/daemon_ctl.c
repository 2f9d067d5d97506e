/*
 * The control socket, RUN_DIR/control: one request line, the answer, and a last line "OK" or
 * "FAIL".  Only root may talk to it (the peer's credentials are checked).
 *
 *   reload [PATH]     validate and apply (PATH becomes the configuration)
 *   status [json]     per-uplink state
 *   up NAME | down NAME
 *   ifchange IFACE    an interface changed (ifupdown hook)
 *   teardown          remove everything (uplinkctl down), then stop
 *   ping
 */
#include <errno.h>
#include <stddef.h>
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

static void teardown_change(void *arg, const char *line)
{
	log_info("change: %s", line);
	sb_printf(arg, "%s\n", line);
}

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
	case CTL_CMD_TEARDOWN: {
		struct apply_opts o = { .run_dir = d->run_dir, .on_change = teardown_change, .arg = out };
		struct apply_result res;
		struct ul_err e = { "" };
		int r;

		/* pppd hangs up and delegated prefixes are given back before the objects go */
		log_notice("uplinkctl down: removing everything uplinkd installed, then stopping");
		daemon_free_runtime(d);
		r = apply_down(&d->ap, d->cfg, &o, &res, &e);
		d->stopping = true;
		d->torn_down = true;
		if (r) {
			log_err("down: %s", e.msg);
			sb_printf(out, "error: %s\n", e.msg);
			return false;
		}
		sb_printf(out, "removed: %u change%s; uplinkd stopped\n", res.changes,
			  res.changes == 1 ? "" : "s");
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

/*
 * Clients are served by events, never blocking: the request is read as it arrives, the answer
 * written as the client takes it.  A client that sends no full request, or does not take its
 * answer, within CLIENT_TIMEOUT_MS is dropped, so nobody can stall the loop (and failover).
 */
#define MAX_CLIENTS 16
#define CLIENT_TIMEOUT_MS 5000

struct client {
	struct dsource src;           /* fd -1: slot free */
	struct dtimer timer;
	char req[4096];
	size_t got;
	struct strbuf out;            /* the answer, once the request is handled */
	size_t sent;
	bool answering;
};

static struct client clients[MAX_CLIENTS];

static void client_close(struct daemon *d, struct client *c)
{
	if (c->src.fd < 0)
		return;
	loop_del(d, &c->src);
	close(c->src.fd);
	c->src.fd = -1;
	timer_disarm(&c->timer);
	sb_free(&c->out);
}

static void client_write(struct daemon *d, struct client *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = write(c->src.fd, c->out.s + c->sent, c->out.len - c->sent);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			client_close(d, c);
			return;
		}
		c->sent += (size_t)n;
		timer_arm(d, &c->timer, CLIENT_TIMEOUT_MS);
	}
	client_close(d, c);
}

static void client_answer(struct daemon *d, struct client *c, bool too_long)
{
	bool ok;

	c->req[c->got] = '\0';
	c->req[strcspn(c->req, "\r\n")] = '\0';
	if (too_long) {
		sb_printf(&c->out, "error: request too long\n");
		ok = false;
	} else {
		ok = handle(d, c->req, &c->out);
	}
	sb_puts(&c->out, ok ? "OK\n" : "FAIL\n");
	c->answering = true;
	timer_arm(d, &c->timer, CLIENT_TIMEOUT_MS);
	if (loop_add(d, &c->src, EPOLLOUT)) {
		client_close(d, c);
		return;
	}
	client_write(d, c);
}

static void on_client(struct daemon *d, struct dsource *s, uint32_t events)
{
	struct client *c = s->arg;
	ssize_t n;

	if (s->fd < 0)
		return; /* closed earlier in this round */
	if (c->answering) {
		if (events & (EPOLLERR | EPOLLHUP))
			client_close(d, c);
		else
			client_write(d, c);
		return;
	}
	while (c->got < sizeof(c->req) - 1) {
		n = read(s->fd, c->req + c->got, sizeof(c->req) - 1 - c->got);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			client_close(d, c);
			return;
		}
		if (n == 0) {
			/* the client shut its side: what it sent is the request */
			if (c->got)
				client_answer(d, c, false);
			else
				client_close(d, c);
			return;
		}
		c->got += (size_t)n;
		if (memchr(c->req + c->got - (size_t)n, '\n', (size_t)n)) {
			client_answer(d, c, false);
			return;
		}
	}
	client_answer(d, c, true);
}

static void on_client_timeout(struct daemon *d, struct dtimer *t)
{
	struct client *c = (struct client *)((char *)t - offsetof(struct client, timer));

	if (c->answering)
		log_warn("control: dropped a client that did not take its answer in %ds",
			 CLIENT_TIMEOUT_MS / 1000);
	else
		log_warn("control: dropped a client that sent no request in %ds", CLIENT_TIMEOUT_MS / 1000);
	client_close(d, c);
}

static void refuse(int fd, const char *msg)
{
	/* best effort: the socket is new, its buffer takes a line */
	if (write(fd, msg, strlen(msg)) < 0) {
		/* the client is gone already */
	}
	close(fd);
}

static void on_accept(struct daemon *d, struct dsource *s, uint32_t events)
{
	(void)events;
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct client *c = NULL;
		struct ucred cred;
		socklen_t len = sizeof(cred);

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
			log_warn("control: refused a request from uid %d", (int)cred.uid);
			refuse(fd, "error: only root may control uplinkd\nFAIL\n");
			continue;
		}
		for (size_t k = 0; k < MAX_CLIENTS && !c; k++) {
			if (clients[k].src.fd < 0)
				c = &clients[k];
		}
		if (!c) {
			log_warn("control: %d clients at once, refused one more", MAX_CLIENTS);
			refuse(fd, "error: too many clients\nFAIL\n");
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->src.fd = fd;
		c->src.fn = on_client;
		c->src.arg = c;
		c->timer.fn = on_client_timeout;
		if (loop_add(d, &c->src, EPOLLIN)) {
			close(fd);
			c->src.fd = -1;
			continue;
		}
		timer_arm(d, &c->timer, CLIENT_TIMEOUT_MS);
	}
}

int ctl_open(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	for (size_t k = 0; k < MAX_CLIENTS; k++)
		clients[k].src.fd = -1;
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
	for (size_t k = 0; k < MAX_CLIENTS; k++)
		client_close(d, &clients[k]);
	if (d->ctl.fd < 0)
		return;
	loop_del(d, &d->ctl);
	close(d->ctl.fd);
	d->ctl.fd = -1;
	unlink(ctl_path);
}
