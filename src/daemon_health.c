/*
 * Health checks, each sent through its own uplink only: the socket carries the uplink's mark
 * (so uplinkd's fwmark rule takes it to the uplink's table) and is bound to its interface.
 * check-fail misses in a row take the uplink out; check-recover answers bring it back (after
 * hold-down).  An echo reply counts only from the target, with the probe's random id and its
 * sequence.  No check configured: no timer, no wakeup.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define PROBE_TIMEOUT_MAX_MS 3000

struct target {
	struct sockaddr_storage sa;
	socklen_t len;
	char host[INET6_ADDRSTRLEN + 2];
	char path[256];
};

/* "ADDR", "ADDR:PORT", "[V6]:PORT" or "http://HOST[:PORT]/PATH" (HOST an address literal). */
static int parse_target(const struct cfg_uplink *u, struct target *t)
{
	char buf[512], *host = buf, *port = NULL, *slash;
	struct in6_addr a6;
	struct in_addr a4;
	unsigned p = 0;

	memset(t, 0, sizeof(*t));
	strlcpy_ul(buf, u->check_target, sizeof(buf));
	strcpy(t->path, "/");
	if (u->check == CFG_CHECK_HTTP) {
		host = buf + 7;
		slash = strchr(host, '/');
		if (slash) {
			strlcpy_ul(t->path, slash, sizeof(t->path));
			*slash = '\0';
		}
		p = 80;
	}
	if (host[0] == '[') {
		char *end = strchr(host, ']');

		if (!end)
			return -EINVAL;
		*end = '\0';
		host++;
		if (end[1] == ':')
			port = end + 2;
	} else if (u->check != CFG_CHECK_ICMP && strchr(host, ':') == strrchr(host, ':') && strchr(host, ':')) {
		port = strchr(host, ':');
		*port++ = '\0';
	}
	if (port)
		p = (unsigned)atoi(port);
	strlcpy_ul(t->host, host, sizeof(t->host));
	if (inet_pton(AF_INET, host, &a4) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->sa;

		sin->sin_family = AF_INET;
		sin->sin_addr = a4;
		sin->sin_port = htons((uint16_t)p);
		t->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->sa;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a6;
		sin6->sin6_port = htons((uint16_t)p);
		t->len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

static void record(struct daemon *d, size_t i, bool ok)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];

	rt->window[rt->window_pos] = ok;
	rt->window_pos = (rt->window_pos + 1) % PROBE_WINDOW;
	if (rt->window_n < PROBE_WINDOW)
		rt->window_n++;
	if (ok) {
		double rtt = (double)(now_us() / 1000.0) - (double)rt->probe_sent_ms;

		rt->rtt_ms = rt->rtt_ms ? rt->rtt_ms * 0.8 + rtt * 0.2 : rtt;
		rt->oks++;
		rt->fails = 0;
		if (rt->health == HEALTH_FAILED && rt->oks >= u->check_recover) {
			rt->health = HEALTH_OK;
			log_notice("uplink %s: health check answered %u times: healthy", u->name, rt->oks);
			d->dirty = true;
		}
	} else {
		rt->fails++;
		rt->oks = 0;
		if (rt->health == HEALTH_OK && rt->fails >= u->check_fail) {
			rt->health = HEALTH_FAILED;
			log_notice("uplink %s: health check (%s %s) missed %u times: failed", u->name,
				   u->check == CFG_CHECK_ICMP ? "icmp" : u->check == CFG_CHECK_TCP ? "tcp" : "http",
				   u->check_target, rt->fails);
			d->dirty = true;
		}
	}
}

static void probe_close(struct daemon *d, struct uplink_rt *rt)
{
	if (rt->probe.fd < 0)
		return;
	loop_del(d, &rt->probe);
	close(rt->probe.fd);
	rt->probe.fd = -1;
}

static size_t uplink_of(struct daemon *d, struct dsource *s)
{
	return (size_t)((struct uplink_rt *)s->arg - d->rt);
}

static void finish(struct daemon *d, size_t i, bool ok)
{
	struct uplink_rt *rt = &d->rt[i];

	probe_close(d, rt);
	timer_disarm(&rt->probe_timeout);
	record(d, i, ok);
}

/* Is this the reply to the probe in flight: from the target, with our id and sequence? */
static bool our_reply(const struct uplink_rt *rt, const uint8_t *buf, size_t len,
		      const struct sockaddr_storage *from)
{
	const uint8_t *p = buf;
	uint16_t id, seq;

	if (rt->probe_peer.ss_family == AF_INET) {
		const struct sockaddr_in *want = (const struct sockaddr_in *)&rt->probe_peer;
		const struct sockaddr_in *got = (const struct sockaddr_in *)from;
		size_t hl;

		if (len < sizeof(struct ip) || from->ss_family != AF_INET ||
		    got->sin_addr.s_addr != want->sin_addr.s_addr)
			return false;
		hl = (size_t)(buf[0] & 0x0f) * 4;
		if (hl < sizeof(struct ip) || len < hl + 8 || buf[hl] != ICMP_ECHOREPLY)
			return false;
		p += hl;
	} else {
		const struct sockaddr_in6 *want = (const struct sockaddr_in6 *)&rt->probe_peer;
		const struct sockaddr_in6 *got = (const struct sockaddr_in6 *)from;

		if (len < 8 || from->ss_family != AF_INET6 ||
		    memcmp(&got->sin6_addr, &want->sin6_addr, sizeof(got->sin6_addr)) ||
		    p[0] != ICMP6_ECHO_REPLY)
			return false;
	}
	memcpy(&id, p + 4, 2);
	memcpy(&seq, p + 6, 2);
	return ntohs(id) == rt->probe_id && ntohs(seq) == rt->probe_seq;
}

static void on_icmp(struct daemon *d, struct dsource *s, uint32_t events)
{
	size_t i = uplink_of(d, s);
	struct uplink_rt *rt = &d->rt[i];
	struct sockaddr_storage from;
	socklen_t from_len = sizeof(from);
	uint8_t buf[1500];
	ssize_t n;

	(void)events;
	while ((n = recvfrom(s->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
			     &from_len)) > 0) {
		if (our_reply(rt, buf, (size_t)n, &from)) {
			finish(d, i, true);
			return;
		}
		from_len = sizeof(from);
	}
}

static void on_tcp(struct daemon *d, struct dsource *s, uint32_t events)
{
	size_t i = uplink_of(d, s);
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	int err = 0;
	socklen_t len = sizeof(err);

	if (u->check == CFG_CHECK_TCP || (events & EPOLLOUT)) {
		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))) {
			finish(d, i, false);
			return;
		}
		if (u->check == CFG_CHECK_TCP) {
			finish(d, i, true);
			return;
		}
		/* HTTP: connected, send the request and wait for the status line */
		struct target t;
		char req[512];

		parse_target(u, &t);
		snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: uplinkd\r\n\r\n",
			 t.path, t.host);
		if (send(s->fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
			finish(d, i, false);
			return;
		}
		loop_add(d, s, EPOLLIN);
		return;
	}
	if (events & EPOLLIN) {
		char buf[64] = "";
		ssize_t n = recv(s->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN)
			return;
		buf[n > 0 ? n : 0] = '\0';
		/* "HTTP/1.x 2xx" or 3xx: the service behind the uplink answers */
		finish(d, i, n >= 12 && !strncmp(buf, "HTTP/1.", 7) && (buf[9] == '2' || buf[9] == '3'));
	}
}

static void on_probe_timeout(struct daemon *d, struct dtimer *t)
{
	if (d->rt[t->uplink].probe.fd >= 0)
		finish(d, t->uplink, false);
}

static int probe_socket(struct daemon *d, size_t i, int family, int type, int proto)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	uint32_t mark = d->have_plan ? d->plan.uplinks[i].mark : 0;
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return -errno;
	if (mark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, u->ifname, (socklen_t)strlen(u->ifname));
	return fd;
}

static void send_probe(struct daemon *d, struct dtimer *tm)
{
	size_t i = tm->uplink;
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];
	struct target t;
	int fd;

	timer_arm(d, &rt->probe_timer, u->check_interval_ms);
	if (rt->probe.fd >= 0)
		finish(d, i, false); /* the last one never came back */
	if (parse_target(u, &t)) {
		log_warn("uplink %s: cannot probe %s (the address must be a literal)", u->name, u->check_target);
		return;
	}
	rt->probe_peer = t.sa;
	rt->probe_peer_len = t.len;
	rt->probe_seq++;
	rt->probe_sent_ms = now_ms();
	if (u->check == CFG_CHECK_ICMP) {
		bool v4 = t.sa.ss_family == AF_INET;
		uint8_t pkt[16] = { v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST, 0 };
		uint16_t id, seq = htons(rt->probe_seq), sum;
		uint32_t acc = 0;

		/* unguessable, so that only who sees the request can answer it */
		if (getrandom(&rt->probe_id, sizeof(rt->probe_id), GRND_NONBLOCK) != sizeof(rt->probe_id))
			rt->probe_id = (uint16_t)(now_us() ^ (uint64_t)getpid() << 8 ^ i);
		id = htons(rt->probe_id);

		fd = probe_socket(d, i, t.sa.ss_family, SOCK_RAW, v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
		if (fd < 0)
			goto fail;
		memcpy(pkt + 4, &id, 2);
		memcpy(pkt + 6, &seq, 2);
		memcpy(pkt + 8, "uplinkd!", 8);
		if (v4) {
			/* the kernel fills the ICMPv6 checksum itself, the ICMP one is ours */
			for (size_t k = 0; k < sizeof(pkt); k += 2)
				acc += (uint32_t)(pkt[k] << 8 | pkt[k + 1]);
			while (acc >> 16)
				acc = (acc & 0xffff) + (acc >> 16);
			sum = htons((uint16_t)~acc);
			memcpy(pkt + 2, &sum, 2);
		}
		rt->probe.fd = fd;
		rt->probe.fn = on_icmp;
		rt->probe.arg = rt;
		loop_add(d, &rt->probe, EPOLLIN);
		if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&t.sa, t.len) < 0)
			goto fail_close;
	} else {
		fd = probe_socket(d, i, t.sa.ss_family, SOCK_STREAM, 0);
		if (fd < 0)
			goto fail;
		rt->probe.fd = fd;
		rt->probe.fn = on_tcp;
		rt->probe.arg = rt;
		if (connect(fd, (struct sockaddr *)&t.sa, t.len) && errno != EINPROGRESS)
			goto fail_close;
		loop_add(d, &rt->probe, EPOLLOUT);
	}
	rt->probe_timeout.fn = on_probe_timeout;
	rt->probe_timeout.uplink = i;
	timer_arm(d, &rt->probe_timeout,
		  u->check_interval_ms < PROBE_TIMEOUT_MAX_MS ? u->check_interval_ms : PROBE_TIMEOUT_MAX_MS);
	return;
fail_close:
	probe_close(d, rt);
fail:
	record(d, i, false);
}

void health_start(struct daemon *d)
{
	for (size_t i = 0; i < d->cfg->n_uplinks; i++) {
		const struct cfg_uplink *u = &d->cfg->uplinks[i];
		struct uplink_rt *rt = &d->rt[i];

		if (u->check == CFG_CHECK_NONE || u->disabled)
			continue;
		rt->probe_timer.fn = send_probe;
		rt->probe_timer.uplink = i;
		timer_arm(d, &rt->probe_timer, 100 + 37 * i);
	}
}

void health_stop(struct daemon *d)
{
	for (size_t i = 0; d->rt && i < d->cfg->n_uplinks; i++) {
		struct uplink_rt *rt = &d->rt[i];

		timer_disarm(&rt->probe_timer);
		timer_disarm(&rt->probe_timeout);
		probe_close(d, rt);
	}
}
