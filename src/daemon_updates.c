/*
 * The transix fixed-IPv4 update request, sent after the tunnel is up, after every change of
 * its local address and every update-interval, retried with backoff.  A result counts for the
 * address its request was sent from: when the address changed meanwhile, the new one is sent.
 * A child process sends it so the loop never waits on the network; the child reads the
 * password from its file and reports only OK or the reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS (5 * 60 * 1000)

static void start(struct daemon *d, size_t i);

/* The uplinkctl installed next to this uplinkd: it carries libcurl, so the daemon does not. */
static const char *uplinkctl_path(void)
{
	static char path[PATH_MAX];
	ssize_t n;
	char *slash;

	if (path[0])
		return path;
	n = readlink("/proc/self/exe", path, sizeof(path) - 16);
	if (n <= 0 || !(slash = memrchr(path, '/', (size_t)n))) {
		strcpy(path, "uplinkctl");
		return path;
	}
	strcpy(slash + 1, "uplinkctl");
	return path;
}

/* In the child: stdout to fd, then `uplinkctl transix-update -c CONFIG UPLINK ADDRESS`. */
static void exec_update(int fd, const char *config, const char *uplink, const struct in6_addr *local)
{
	char addr[INET6_ADDRSTRLEN];
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	inet_ntop(AF_INET6, local, addr, sizeof(addr));
	if (fd != STDOUT_FILENO) {
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	execl(uplinkctl_path(), "uplinkctl", "transix-update", "-c", config, uplink, addr, (char *)NULL);
	printf("cannot run %s: %s\n", uplinkctl_path(), strerror(errno));
	_exit(127);
}

static const char *oneshot_config;

void updates_set_config(const char *config)
{
	oneshot_config = config;
}

/* For `uplinkd --oneshot`: the same helper, waited for. */
int updates_send_sync(const struct cfg_uplink *u, const struct in6_addr *local, struct ul_err *e)
{
	char msg[256] = "";
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return ul_errf(e, errno, "update request: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		exec_update(pipefd[1], oneshot_config, u->name, local);
	}
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return ul_errf(e, errno, "update request: %s", strerror(errno));
	}
	n = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	msg[n > 0 ? n : 0] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return ul_errf(e, EIO, "%s", msg[0] ? msg : "the update request failed");
	return 0;
}

static void retry(struct daemon *d, struct dtimer *t)
{
	start(d, t->uplink);
}

static void on_output(struct daemon *d, struct dsource *s, uint32_t events)
{
	struct uplink_rt *rt = s->arg;
	char buf[sizeof(rt->update_msg)];
	ssize_t n = read(s->fd, buf, sizeof(buf) - 1);

	(void)events;
	if (n > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		strlcpy_ul(rt->update_msg, buf, sizeof(rt->update_msg));
	}
	/* one line, then the child exits: nothing more to read */
	loop_del(d, s);
	close(s->fd);
	s->fd = -1;
}

static void arm(struct daemon *d, size_t i, uint64_t delay)
{
	struct uplink_rt *rt = &d->rt[i];

	rt->update_timer.fn = retry;
	rt->update_timer.uplink = i;
	timer_arm(d, &rt->update_timer, delay);
}

void updates_child_exited(struct daemon *d, pid_t pid, int status)
{
	for (size_t i = 0; d->rt && i < d->cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &d->cfg->uplinks[i];
		struct uplink_rt *rt = &d->rt[i];
		char addr[INET6_ADDRSTRLEN];
		bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		struct ul_err e;
		uint64_t delay;

		if (rt->update_pid != pid)
			continue;
		rt->update_pid = 0;
		if (rt->update_out.fd >= 0)
			on_output(d, &rt->update_out, EPOLLIN);
		inet_ntop(AF_INET6, &rt->update_sent, addr, sizeof(addr));
		if (memcmp(&rt->update_sent, &rt->update_local, sizeof(rt->update_sent))) {
			/* sent for an address the tunnel no longer has: register the new one */
			log_notice("uplink %s: the update request for %s %s, but the address changed: sending again",
				   u->name, addr, ok ? "succeeded" : "ended");
			rt->update_attempts = 0;
			start(d, i);
			return;
		}
		if (ok) {
			rt->update_ok = true;
			rt->update_attempts = 0;
			log_notice("uplink %s: update request registered %s: OK", u->name, addr);
			if (apply_record_update(d->run_dir, u->name, &rt->update_local, &e))
				log_warn("uplink %s: %s", u->name, e.msg);
			if (u->update_interval_ms)
				arm(d, i, u->update_interval_ms);
			return;
		}
		delay = RETRY_MIN_MS << (rt->update_attempts < 9 ? rt->update_attempts : 9);
		if (delay > RETRY_MAX_MS)
			delay = RETRY_MAX_MS;
		rt->update_attempts++;
		log_warn("uplink %s: update request for %s failed: %s; again in %llus", u->name, addr,
			 rt->update_msg[0] ? rt->update_msg : "no answer", (unsigned long long)delay / 1000);
		arm(d, i, delay);
		return;
	}
}

static void start(struct daemon *d, size_t i)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];
	int pipefd[2];
	pid_t pid;

	if (rt->update_pid)
		return;
	if (pipe2(pipefd, O_CLOEXEC)) {
		log_warn("uplink %s: update request: %s", u->name, strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_warn("uplink %s: update request: %s", u->name, strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (pid == 0) {
		close(pipefd[0]);
		exec_update(pipefd[1], d->config_path, u->name, &rt->update_local);
	}
	close(pipefd[1]);
	rt->update_pid = pid;
	if (child_register(pid, updates_child_exited))
		log_err("uplink %s: out of memory: the update request's end will go unnoticed", u->name);
	rt->update_sent = rt->update_local;
	rt->update_msg[0] = '\0';
	rt->update_out.fd = pipefd[0];
	rt->update_out.fn = on_output;
	rt->update_out.arg = rt;
	loop_add(d, &rt->update_out, EPOLLIN);
}

/* The update request runs for the address the plan names, until it is registered. */
void updates_sync(struct daemon *d, size_t i, const struct plan_proc *want, const char *why_not)
{
	struct uplink_rt *rt = &d->rt[i];

	(void)why_not;
	if (!want)
		return; /* no tunnel address yet: nothing to register; a registration keeps */
	if (!memcmp(&rt->update_local, &want->local, 16) && (rt->update_ok || rt->update_pid ||
							   rt->update_timer.at_ms))
		return;
	/*
	 * A new address: a request still running for the old one is stopped, and its end
	 * starts the one for the new address (its result counts for the old one only).
	 */
	timer_disarm(&rt->update_timer);
	rt->update_local = want->local;
	rt->update_ok = false;
	rt->update_attempts = 0;
	if (rt->update_pid)
		kill(rt->update_pid, SIGTERM);
	else
		start(d, i);
}

void updates_stop(struct daemon *d)
{
	for (size_t i = 0; d->rt && i < d->cfg->n_uplinks; i++) {
		struct uplink_rt *rt = &d->rt[i];

		if (rt->update_pid)
			kill(rt->update_pid, SIGTERM);
		rt->update_pid = 0;
		timer_disarm(&rt->update_timer);
		if (rt->update_out.fd >= 0) {
			loop_del(d, &rt->update_out);
			close(rt->update_out.fd);
			rt->update_out.fd = -1;
		}
	}
}
