/*
 * Resolving the DS-Lite AFTR name (AAAA) without blocking the loop: the channel of
 * lib/resolve.c (the NGN's resolvers from the RA's RDNSS option when there are any, the
 * system's otherwise; uplinkctl asks the same), driven by the loop.
 */
#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "daemon.h"
#include "resolve.h"
#include "log.h"

#define REFRESH_MS (10 * 60 * 1000)
#define RETRY_MIN_MS 2000
#define RETRY_MAX_MS 60000

struct query {
	struct daemon *d;
	unsigned gen;            /* the config it was asked for: a reload makes it stale */
	unsigned rdnss_gen;      /* the resolvers it was asked of */
	size_t uplink;
};

static void rearm_ares(struct daemon *d);

static void on_ares_fd(struct daemon *d, struct dsource *s, uint32_t events)
{
	ares_process_fd((ares_channel)d->ares, events & (EPOLLIN | EPOLLERR | EPOLLHUP) ? s->fd : ARES_SOCKET_BAD,
			events & EPOLLOUT ? s->fd : ARES_SOCKET_BAD);
	rearm_ares(d);
}

static void on_ares_timer(struct daemon *d, struct dtimer *t)
{
	(void)t;
	ares_process_fd((ares_channel)d->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm_ares(d);
}

static void rearm_ares(struct daemon *d)
{
	struct timeval tv, *next = ares_timeout((ares_channel)d->ares, NULL, &tv);

	if (!next) {
		timer_disarm(&d->ares_timer);
		return;
	}
	d->ares_timer.fn = on_ares_timer;
	timer_arm(d, &d->ares_timer, (uint64_t)next->tv_sec * 1000 + (uint64_t)next->tv_usec / 1000 + 1);
}

static void sock_state(void *data, int fd, int readable, int writable)
{
	struct daemon *d = data;
	struct dsource *free_slot = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(d->ares_src); i++) {
		struct dsource *s = &d->ares_src[i];

		if (s->fd == fd) {
			if (!readable && !writable) {
				loop_del(d, s);
				s->fd = -1;
			} else {
				loop_add(d, s, (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0));
			}
			return;
		}
		if (s->fd < 0 && !free_slot)
			free_slot = s;
	}
	if (!free_slot || (!readable && !writable))
		return;
	free_slot->fd = fd;
	free_slot->fn = on_ares_fd;
	loop_add(d, free_slot, (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0));
}

int dns_init(struct daemon *d)
{
	struct ul_err e;

	for (size_t i = 0; i < ARRAY_SIZE(d->ares_src); i++)
		d->ares_src[i].fd = -1;
	/* the NGN's resolvers from before a restart, until the next router advertisement */
	d->n_rdnss = resolve_rdnss_load(d->run_dir, d->rdnss, ARRAY_SIZE(d->rdnss));
	if (resolve_open(&d->ares, d->rdnss, d->n_rdnss, sock_state, d, &e)) {
		log_err("%s", e.msg);
		return -EIO;
	}
	return 0;
}

void dns_close(struct daemon *d)
{
	if (!d->ares)
		return;
	resolve_close(d->ares);
	d->ares = NULL;
	timer_disarm(&d->ares_timer);
}

static void resolve_one(struct daemon *d, size_t i);

static void resolve_again(struct daemon *d, struct dtimer *t)
{
	resolve_one(d, t->uplink);
}

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct query *q = arg;
	struct daemon *d = q->d;
	const struct cfg_uplink *u;
	struct uplink_rt *rt;
	struct ares_addrinfo_node *n;
	char buf[INET6_ADDRSTRLEN];
	uint64_t delay;

	(void)timeouts;
	if (q->gen != d->cfg_gen || status == ARES_EDESTRUCTION) {
		if (res)
			ares_freeaddrinfo(res);
		free(q);
		return;
	}
	u = &d->cfg->uplinks[q->uplink];
	rt = &d->rt[q->uplink];
	rt->resolving = false;
	/* every answer is weighed in place: no copy to overflow, however many there are */
	struct resolve_choice choice = { .current = rt->has_aftr ? &rt->aftr : NULL };

	for (n = res ? res->nodes : NULL; n; n = n->ai_next) {
		if (n->ai_family == AF_INET6)
			resolve_consider(&choice, &((const struct sockaddr_in6 *)n->ai_addr)->sin6_addr);
	}
	rt->resolve_timer.fn = resolve_again;
	rt->resolve_timer.uplink = q->uplink;
	if ((status != ARES_SUCCESS || !choice.pick) && q->rdnss_gen != d->rdnss_gen) {
		/* asked of resolvers the RA has replaced since: ask the new ones now, no backoff */
		rt->resolve_failures = 0;
		timer_arm(d, &rt->resolve_timer, 0);
	} else if (status != ARES_SUCCESS || !choice.pick) {
		char why[64];

		delay = RETRY_MIN_MS << (rt->resolve_failures < 5 ? rt->resolve_failures : 5);
		if (delay > RETRY_MAX_MS)
			delay = RETRY_MAX_MS;
		rt->resolve_failures++;
		if (status != ARES_SUCCESS)
			strlcpy_ul(why, ares_strerror(status), sizeof(why));
		else if (!choice.answers)
			strlcpy_ul(why, "no IPv6 address", sizeof(why));
		else
			snprintf(why, sizeof(why), "none of %zu IPv6 addresses is global unicast",
				 choice.answers);
		log_warn("uplink %s: cannot resolve the AFTR %s: %s; again in %llus", u->name, u->aftr_name,
			 why, (unsigned long long)delay / 1000);
		if (strcmp(rt->aftr_error, why)) {
			strlcpy_ul(rt->aftr_error, why, sizeof(rt->aftr_error));
			d->dirty = true; /* the status says why */
		}
		timer_arm(d, &rt->resolve_timer, delay);
	} else {
		const struct in6_addr *a = choice.pick;

		rt->resolve_failures = 0;
		rt->aftr_error[0] = '\0';
		if (!rt->has_aftr || memcmp(&rt->aftr, a, 16)) {
			rt->aftr = *a;
			rt->has_aftr = true;
			log_notice("uplink %s: AFTR %s is %s", u->name, u->aftr_name,
				   inet_ntop(AF_INET6, a, buf, sizeof(buf)));
			d->dirty = true;
		}
		timer_arm(d, &rt->resolve_timer, REFRESH_MS);
	}
	if (res)
		ares_freeaddrinfo(res);
	free(q);
}

static void resolve_one(struct daemon *d, size_t i)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct ares_addrinfo_hints hints = { .ai_family = AF_INET6 };
	struct query *q;

	if (!d->ares || u->type != CFG_DSLITE || !u->aftr_name || u->disabled || d->rt[i].resolving)
		return;
	q = malloc(sizeof(*q));
	if (!q)
		return;
	*q = (struct query){ .d = d, .gen = d->cfg_gen, .rdnss_gen = d->rdnss_gen, .uplink = i };
	d->rt[i].resolving = true;
	ares_getaddrinfo((ares_channel)d->ares, u->aftr_name, NULL, &hints, on_answer, q);
	rearm_ares(d);
}

void dns_resolve_all(struct daemon *d)
{
	for (size_t i = 0; i < d->cfg->n_uplinks; i++)
		resolve_one(d, i);
}

void dns_set_rdnss(struct daemon *d, const struct in6_addr *servers, size_t n)
{
	char csv[3 * (INET6_ADDRSTRLEN + 1)] = "", buf[INET6_ADDRSTRLEN];

	if (n > ARRAY_SIZE(d->rdnss))
		n = ARRAY_SIZE(d->rdnss);
	if (n == d->n_rdnss && !memcmp(servers, d->rdnss, n * sizeof(*servers)))
		return;
	memcpy(d->rdnss, servers, n * sizeof(*servers));
	d->n_rdnss = n;
	d->rdnss_gen++;
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(csv, ",");
		strcat(csv, inet_ntop(AF_INET6, &servers[i], buf, sizeof(buf)));
	}
	/* uplinkctl apply without the daemon asks the same resolvers */
	if (resolve_rdnss_save(d->run_dir, servers, n))
		log_warn("cannot record the NGN's resolvers in %s/rdnss", d->run_dir);
	if (!d->ares || resolve_set_servers(d->ares, servers, n))
		return;
	log_info("resolvers from the router advertisement: %s", csv);
	for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
		if (!d->rt[i].resolving)
			resolve_one(d, i);
	}
}
