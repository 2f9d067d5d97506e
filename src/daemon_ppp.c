/*
 * PPPoE sessions: one pppd per PPPoE uplink, run in the foreground under uplinkd, restarted
 * with backoff when it dies, stopped when the uplink is administratively down or its active-if
 * condition does not hold.  Kernel-mode PPPoE (the pppoe plugin); the password reaches pppd
 * through a pipe (the passwordfd plugin), never on its command line or in a file.  pppd's own
 * up/down scripts are switched off: uplinkd sees the ppp interface come and go through its
 * rtnetlink events and reconciles like for any other uplink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define PPPD "/usr/sbin/pppd"
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define STABLE_MS 60000

/*
 * The kernel-mode PPPoE plugin is rp-pppoe.so in ppp 2.4.x (Debian 12) and pppoe.so from ppp
 * 2.5 on (where rp-pppoe.so is gone).
 */
static const char *pppoe_plugin(void)
{
	static const char *name;
	glob_t g;

	if (name)
		return name;
	name = "pppoe.so";
	if (glob("/usr/lib/pppd/2.4.*/rp-pppoe.so", 0, NULL, &g) == 0 ||
	    glob("/usr/lib/*/pppd/2.4.*/rp-pppoe.so", 0, NULL, &g) == 0)
		name = "rp-pppoe.so";
	globfree(&g);
	return name;
}

/* pppd's exit status, as its manual lists them. */
static const char *exit_reason(int code)
{
	switch (code) {
	case 0:
		return "the session ended";
	case 1:
		return "pppd: fatal error";
	case 2:
		return "pppd: bad options";
	case 4:
		return "no kernel support for PPP";
	case 5:
		return "stopped";
	case 8:
		return "no PPPoE access concentrator answered";
	case 10:
		return "LCP negotiation failed";
	case 11:
		return "the peer failed to authenticate";
	case 15:
		return "the peer stopped answering LCP echo requests";
	case 16:
		return "the access concentrator hung up";
	case 19:
		return "authentication failed (user or password refused)";
	}
	return "pppd exited";
}

static void on_output(struct daemon *d, struct dsource *s, uint32_t events)
{
	struct uplink_rt *rt = s->arg;
	size_t i = (size_t)(rt - d->rt);
	char buf[1024];
	ssize_t n;

	(void)events;
	n = read(s->fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		loop_del(d, s);
		close(s->fd);
		s->fd = -1;
		return;
	}
	buf[n] = '\0';
	for (char *z = memchr(buf, '\0', (size_t)n); z; z = memchr(z, '\0', (size_t)(buf + n - z)))
		*z = '?'; /* a NUL must not hide the rest from strtok */
	/*
	 * pppd repeats what the peer says (a PAP/CHAP message, an LCP terminate reason): cleaned
	 * before it reaches the log, `uplinkctl status` and its JSON.  Over-long lines are cut.
	 */
	for (char *line = strtok(buf, "\r\n"); line; line = strtok(NULL, "\r\n")) {
		str_sanitize(rt->ppp_last_line, sizeof(rt->ppp_last_line), line, strlen(line));
		log_info("uplink %s: pppd: %s", d->cfg->uplinks[i].name, rt->ppp_last_line);
		/* pppd then exits as for a hang-up: keep why */
		if (!strncmp(rt->ppp_last_line, "No response to ", 15) && strstr(rt->ppp_last_line, "echo-requests"))
			strcpy(rt->ppp_echo_lost, rt->ppp_last_line);
	}
}

static void close_output(struct daemon *d, struct uplink_rt *rt)
{
	if (rt->ppp_out.fd < 0)
		return;
	/* whatever it said last */
	on_output(d, &rt->ppp_out, EPOLLIN);
	if (rt->ppp_out.fd >= 0) {
		loop_del(d, &rt->ppp_out);
		close(rt->ppp_out.fd);
		rt->ppp_out.fd = -1;
	}
}

static void restart(struct daemon *d, struct dtimer *t);

/* In the child: pppd's options, from the configuration alone (nothing secret). */
static void exec_pppd(const struct cfg_uplink *u, int out, int pw)
{
	char mtu[16], echo_i[16], echo_f[16], nic[IFNAMSIZ + 8];
	const char *argv[64];
	sigset_t none;
	int n = 0;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	dup2(pw, 3);
	close_range(4, ~0U, 0);
	snprintf(nic, sizeof(nic), "nic-%s", u->lower);
	snprintf(mtu, sizeof(mtu), "%u", u->mtu ? u->mtu : 1454);
	snprintf(echo_i, sizeof(echo_i), "%u", u->lcp_echo_interval);
	snprintf(echo_f, sizeof(echo_f), "%u", u->lcp_echo_failure);
	argv[n++] = "pppd";
	argv[n++] = "plugin";
	argv[n++] = pppoe_plugin();
	argv[n++] = nic;
	argv[n++] = "user";
	argv[n++] = u->user;
	argv[n++] = "plugin";
	argv[n++] = "passwordfd.so";
	argv[n++] = "passwordfd";
	argv[n++] = "3";
	argv[n++] = "ifname";
	argv[n++] = u->ifname;
	argv[n++] = "nodetach";
	argv[n++] = "noauth";
	argv[n++] = "maxfail";
	argv[n++] = "1";
	argv[n++] = "noipdefault";
	argv[n++] = "nodefaultroute";
	argv[n++] = "noccp"; /* no compression on PPPoE: nothing to gain, only MTU trouble */
	argv[n++] = "novj";
	argv[n++] = "mtu";
	argv[n++] = mtu;
	argv[n++] = "mru";
	argv[n++] = mtu;
	argv[n++] = "lcp-echo-interval";
	argv[n++] = echo_i;
	argv[n++] = "lcp-echo-failure";
	argv[n++] = echo_f;
	if (!u->ipv4)
		argv[n++] = "noip";
	argv[n++] = u->ipv6 ? "+ipv6" : "noipv6";
	argv[n++] = "ipparam";
	argv[n++] = u->name;
	/* routes, addresses and DNS are uplinkd's business, not the distribution's ip-up.d */
	argv[n++] = "ip-up-script";
	argv[n++] = "/bin/true";
	argv[n++] = "ip-down-script";
	argv[n++] = "/bin/true";
	if (!strcmp(pppoe_plugin(), "pppoe.so")) { /* the IPv6 ones came with ppp 2.5 */
		argv[n++] = "ipv6-up-script";
		argv[n++] = "/bin/true";
		argv[n++] = "ipv6-down-script";
		argv[n++] = "/bin/true";
	}
	if (u->service) {
		argv[n++] = "rp_pppoe_service";
		argv[n++] = u->service;
	}
	if (u->ac_name) {
		argv[n++] = "rp_pppoe_ac";
		argv[n++] = u->ac_name;
	}
	argv[n] = NULL;
	execv(PPPD, (char *const *)argv);
	printf("cannot run %s: %s\n", PPPD, strerror(errno));
	_exit(127);
}

/*
 * Try again later: 1 s, doubling to 60 s; a session that lasted STABLE_MS starts over.  Both a
 * pppd that could not be started and one that exited go through here, so nothing retries at
 * every reconcile.
 */
static void backoff(struct daemon *d, size_t i, uint64_t lasted)
{
	struct uplink_rt *rt = &d->rt[i];

	rt->ppp_backoff_ms = lasted >= STABLE_MS || !rt->ppp_backoff_ms ? BACKOFF_MIN_MS :
			     rt->ppp_backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : rt->ppp_backoff_ms * 2;
	rt->ppp_timer.fn = restart;
	rt->ppp_timer.uplink = i;
	timer_arm(d, &rt->ppp_timer, rt->ppp_backoff_ms);
}

/* pppd could not be started: say why in the log and in status, and try again later. */
static void start_failed(struct daemon *d, size_t i, const char *why)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];

	backoff(d, i, 0);
	snprintf(rt->ppp_reason, sizeof(rt->ppp_reason), "%.160s; again in %llus", why,
		 (unsigned long long)rt->ppp_backoff_ms / 1000);
	log_err("uplink %s: %s", u->name, rt->ppp_reason);
}

static void start(struct daemon *d, size_t i)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];
	int out[2] = { -1, -1 }, pw[2];
	char *password = NULL;
	struct ul_err e;
	pid_t pid;

	if (cfg_read_secret(u->password_file, &password, &e)) {
		start_failed(d, i, e.msg);
		return;
	}
	if (pipe2(out, O_CLOEXEC) || pipe2(pw, O_CLOEXEC)) {
		snprintf(e.msg, sizeof(e.msg), "pipe: %s", strerror(errno));
		explicit_bzero(password, strlen(password));
		free(password);
		for (int k = 0; k < 2; k++) {
			if (out[k] >= 0)
				close(out[k]);
		}
		start_failed(d, i, e.msg);
		return;
	}
	/* The password goes into the pipe now; pppd reads it to EOF.  It fits the pipe's buffer. */
	if (write(pw[1], password, strlen(password)) < 0)
		log_warn("uplink %s: passing the password: %s", u->name, strerror(errno));
	close(pw[1]);
	explicit_bzero(password, strlen(password));
	free(password);

	pid = fork();
	if (pid == 0)
		exec_pppd(u, out[1], pw[0]);
	close(out[1]);
	close(pw[0]);
	if (pid < 0) {
		snprintf(e.msg, sizeof(e.msg), "fork: %s", strerror(errno));
		close(out[0]);
		start_failed(d, i, e.msg);
		return;
	}
	rt->ppp_pid = pid;
	if (child_register(pid, ppp_child_exited))
		log_err("uplink %s: out of memory: pppd's end will go unnoticed", u->name);
	rt->ppp_started_ms = now_ms();
	rt->ppp_starts++;
	rt->ppp_out.fd = out[0];
	rt->ppp_out.fn = on_output;
	rt->ppp_out.arg = rt;
	loop_add(d, &rt->ppp_out, EPOLLIN);
	log_notice("uplink %s: pppd started on %s (pid %d)", u->name, u->lower, (int)pid);
}

static void restart(struct daemon *d, struct dtimer *t)
{
	(void)t;
	supervise(d);
}

/* pppd runs while the plan lists it; why_not says why it does not. */
void ppp_sync(struct daemon *d, size_t i, const struct plan_proc *want, const char *why_not)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];

	if (!want) {
		timer_disarm(&rt->ppp_timer);
		if (rt->ppp_pid && !rt->ppp_stopping) {
			log_notice("uplink %s: hanging up (%s)", u->name, why_not);
			kill(rt->ppp_pid, SIGTERM);
			rt->ppp_stopping = true;
		}
		strlcpy_ul(rt->ppp_reason, why_not, sizeof(rt->ppp_reason));
		return;
	}
	if (!rt->ppp_pid && !rt->ppp_timer.at_ms)
		start(d, i);
}

void ppp_child_exited(struct daemon *d, pid_t pid, int status)
{
	for (size_t i = 0; d->rt && i < d->cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &d->cfg->uplinks[i];
		struct uplink_rt *rt = &d->rt[i];
		uint64_t lasted;
		int code;

		if (rt->ppp_pid != pid)
			continue;
		rt->ppp_pid = 0;
		close_output(d, rt);
		code = WIFEXITED(status) ? WEXITSTATUS(status) : 5;
		lasted = now_ms() - rt->ppp_started_ms;
		if (rt->ppp_echo_lost[0])
			snprintf(rt->ppp_reason, sizeof(rt->ppp_reason),
				 "the access concentrator stopped answering LCP echo requests (%.120s)",
				 rt->ppp_echo_lost);
		else
			snprintf(rt->ppp_reason, sizeof(rt->ppp_reason), "%s%s%.120s%s", exit_reason(code),
				 rt->ppp_last_line[0] ? " (" : "", rt->ppp_last_line,
				 rt->ppp_last_line[0] ? ")" : "");
		rt->ppp_echo_lost[0] = '\0';
		if (rt->ppp_stopping) {
			rt->ppp_stopping = false;
			log_notice("uplink %s: session ended (%s)", u->name, rt->ppp_reason);
			d->dirty = true;
			return;
		}
		backoff(d, i, lasted);
		log_notice("uplink %s: session ended after %llus: %s; redialling in %llus", u->name,
			   (unsigned long long)lasted / 1000, rt->ppp_reason,
			   (unsigned long long)rt->ppp_backoff_ms / 1000);
		d->dirty = true;
		return;
	}
}

void ppp_stop_all(struct daemon *d)
{
	bool any = false;

	for (size_t i = 0; d->rt && i < d->cfg->n_uplinks; i++) {
		struct uplink_rt *rt = &d->rt[i];

		timer_disarm(&rt->ppp_timer);
		if (rt->ppp_pid) {
			kill(rt->ppp_pid, SIGTERM);
			rt->ppp_stopping = true;
			any = true;
		}
	}
	/* A clean hang-up (PADT) lets the access concentrator free the session at once. */
	for (int waited = 0; any && waited < 30; waited++) {
		usleep(100000);
		children_reap(d);
		any = false;
		for (size_t i = 0; i < d->cfg->n_uplinks; i++)
			any |= d->rt[i].ppp_pid != 0;
	}
	for (size_t i = 0; d->rt && i < d->cfg->n_uplinks; i++) {
		if (d->rt[i].ppp_pid) {
			kill(d->rt[i].ppp_pid, SIGKILL);
			d->rt[i].ppp_pid = 0;
		}
		close_output(d, &d->rt[i]);
	}
}

static bool same_session(const struct cfg_uplink *a, const struct cfg_uplink *b)
{
	return a->type == CFG_PPPOE && b->type == CFG_PPPOE && !strcmp(a->lower, b->lower) &&
	       !strcmp(a->ifname, b->ifname) && !strcmp(a->user, b->user) &&
	       !strcmp(a->password_file, b->password_file) && a->ipv4 == b->ipv4 && a->ipv6 == b->ipv6 &&
	       a->mtu == b->mtu && a->lcp_echo_interval == b->lcp_echo_interval &&
	       a->lcp_echo_failure == b->lcp_echo_failure && !a->service == !b->service &&
	       (!a->service || !strcmp(a->service, b->service)) && !a->ac_name == !b->ac_name &&
	       (!a->ac_name || !strcmp(a->ac_name, b->ac_name));
}

/*
 * A reload keeps a session whose settings did not change (no needless redial); the others
 * are hung up.
 */
void ppp_carry_over(struct daemon *d, struct uplink_rt *old_rt, const struct config *old)
{
	for (size_t o = 0; o < old->n_uplinks; o++) {
		struct uplink_rt *p = &old_rt[o];
		struct cfg_uplink *n = cfg_find_uplink(d->cfg, old->uplinks[o].name);

		timer_disarm(&p->ppp_timer);
		if (!p->ppp_pid)
			continue;
		if (n && same_session(&old->uplinks[o], n)) {
			struct uplink_rt *rt = &d->rt[n->index];

			rt->ppp_pid = p->ppp_pid;
			rt->ppp_started_ms = p->ppp_started_ms;
			rt->ppp_starts = p->ppp_starts;
			rt->ppp_backoff_ms = p->ppp_backoff_ms;
			memcpy(rt->ppp_reason, p->ppp_reason, sizeof(rt->ppp_reason));
			if (p->ppp_out.fd >= 0) {
				loop_del(d, &p->ppp_out);
				rt->ppp_out.fd = p->ppp_out.fd;
				rt->ppp_out.fn = on_output;
				rt->ppp_out.arg = rt;
				loop_add(d, &rt->ppp_out, EPOLLIN);
			}
			p->ppp_pid = 0;
			p->ppp_out.fd = -1;
			continue;
		}
		log_notice("uplink %s: hanging up (removed or changed by the reload)", old->uplinks[o].name);
		kill(p->ppp_pid, SIGTERM);
		p->ppp_pid = 0;
		if (p->ppp_out.fd >= 0) {
			loop_del(d, &p->ppp_out);
			close(p->ppp_out.fd);
			p->ppp_out.fd = -1;
		}
	}
}
