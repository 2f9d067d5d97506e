/* The epoll loop: fd sources, one timerfd for every deadline, signals through signalfd. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"


uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int loop_add(struct daemon *d, struct dsource *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, s->fd, &ev) && errno == EEXIST)
		return epoll_ctl(d->epfd, EPOLL_CTL_MOD, s->fd, &ev) ? -errno : 0;
	return 0;
}

void loop_del(struct daemon *d, struct dsource *s)
{
	if (s->fd >= 0)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, s->fd, NULL);
}

/*
 * Timers live in the structures that own them; the loop finds them through this registry
 * of pointers, scanned when the timerfd fires (a handful per uplink).
 */
static struct dtimer **timers;
static size_t n_timers, cap_timers;

static void timer_register(struct dtimer *t)
{
	for (size_t i = 0; i < n_timers; i++) {
		if (timers[i] == t)
			return;
	}
	if (n_timers == cap_timers) {
		size_t cap = cap_timers ? cap_timers * 2 : 32;
		struct dtimer **v = realloc(timers, cap * sizeof(*v));

		if (!v)
			return;
		timers = v;
		cap_timers = cap;
	}
	timers[n_timers++] = t;
}

static void timer_unregister(struct dtimer *t)
{
	for (size_t i = 0; i < n_timers; i++) {
		if (timers[i] == t) {
			timers[i] = timers[--n_timers];
			return;
		}
	}
}

static int timer_fd = -1;

static void rearm(void)
{
	struct itimerspec its = { 0 };
	uint64_t next = 0;

	for (size_t i = 0; i < n_timers; i++) {
		if (timers[i]->at_ms && (!next || timers[i]->at_ms < next))
			next = timers[i]->at_ms;
	}
	if (next) {
		/* absolute, so a late wakeup does not drift */
		its.it_value.tv_sec = (time_t)(next / 1000);
		its.it_value.tv_nsec = (long)(next % 1000) * 1000000;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void timer_arm(struct daemon *d, struct dtimer *t, uint64_t delay_ms)
{
	(void)d;
	t->at_ms = now_ms() + delay_ms;
	timer_register(t);
	rearm();
}

void timer_disarm(struct dtimer *t)
{
	if (!t->at_ms)
		return;
	t->at_ms = 0;
	timer_unregister(t);
	rearm();
}

static void on_timer(struct daemon *d, struct dsource *s, uint32_t events)
{
	uint64_t expirations, now;

	(void)events;
	if (read(s->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("timerfd: %s", strerror(errno));
	now = now_ms();
	for (size_t i = 0; i < n_timers;) {
		struct dtimer *t = timers[i];

		if (t->at_ms && t->at_ms <= now) {
			t->at_ms = 0;
			timers[i] = timers[--n_timers];
			/* the callback may arm timers again, which appends: keep scanning from i */
			t->fn(d, t);
			continue;
		}
		i++;
	}
	rearm();
}

static void on_signal(struct daemon *d, struct dsource *s, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(s->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_notice("SIGHUP: reloading %s", d->config_path);
			daemon_reload(d, NULL, NULL);
			break;
		case SIGTERM:
		case SIGINT:
			log_notice("%s: stopping", strsignal((int)si.ssi_signo));
			d->stopping = true;
			break;
		case SIGCHLD:
			children_reap(d);
			break;
		}
	}
}

int loop_init(struct daemon *d)
{
	sigset_t mask;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->sig.fn = on_signal;
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->timer.fd = timer_fd;
	d->timer.fn = on_timer;
	if (d->sig.fd < 0 || timer_fd < 0)
		return -errno;
	if (loop_add(d, &d->sig, EPOLLIN) || loop_add(d, &d->timer, EPOLLIN))
		return -errno;
	return 0;
}

int loop_run(struct daemon *d)
{
	struct epoll_event evs[16];

	while (!d->stopping) {
		int n = epoll_wait(d->epfd, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		unsigned gen = d->cfg_gen;

		for (int i = 0; i < n && !d->stopping; i++) {
			struct dsource *s = evs[i].data.ptr;

			/*
			 * A reload (or uplinkctl down) freed the runtime the later events' sources
			 * lived in; those still open are reported again by the next epoll_wait.
			 */
			if (d->cfg_gen != gen || d->torn_down)
				break;
			s->fn(d, s, evs[i].events);
		}
		/* Everything that arrived in this round is handled by one reconcile. */
		if (d->dirty && !d->stopping)
			daemon_reconcile_events(d);
	}
	return 0;
}
