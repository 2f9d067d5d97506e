/*
 * DHCPv6 prefix delegation: the I/O around lib/dhcp6.c's client, one per uplink that asks for a
 * prefix (pppoe with dhcpv6-pd = yes, on the ppp interface once IPv6CP is up; ipoe with
 * prefix = dhcpv6-pd, on its device).  A UDP socket on port 546 bound to the interface, packets
 * to ff02::1:2 port 547 from its link-local address, one timer at the client's deadline.  The
 * delegated prefix is an observed fact: daemon_facts() hands it to the planner, and every change of it
 * (obtained, renewed as another, expired) is a reconcile.
 *
 * The lease outlives its interface: when the session drops the client stops asking but keeps
 * the prefix until it expires, and the next session confirms it (Rebind) rather than asking
 * for a new one, so the LAN keeps its addresses across a redial.  `uplinkctl down`, an
 * inactive pair member and a disabled or removed uplink give the prefix back (Release).  It is
 * kept in the run directory so that a restarted uplinkd confirms it too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "dhcp6.h"
#include "log.h"

#define DHCP6_CLIENT_PORT 546
#define DHCP6_SERVER_PORT 547

bool pd_wanted(const struct cfg_uplink *u)
{
	return (u->type == CFG_PPPOE && u->ipv6 && u->dhcpv6_pd) ||
	       (u->type == CFG_IPOE && u->prefix_source == CFG_PREFIX_DHCPV6_PD);
}

/* Where it asks: the ppp interface, or the IPoE device. */
static const char *pd_dev(const struct cfg_uplink *u)
{
	return u->type == CFG_PPPOE ? u->ifname : u->lower;
}

/* A stable IAID: the uplink's name hashed, so that reordering the config changes nothing. */
static uint32_t iaid_of(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h;
}

/* DUID-LL of the uplink's NIC (a ppp interface has no address; a VLAN has its parent's). */
static int duid_of(const struct cfg_uplink *u, uint8_t *duid, size_t *len)
{
	struct ifreq ifr;
	int fd, r = 0;

	memset(&ifr, 0, sizeof(ifr));
	strlcpy_ul(ifr.ifr_name, u->device, sizeof(ifr.ifr_name));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		r = -errno;
	close(fd);
	if (r)
		return r;
	*len = dhcp6_duid_ll((const uint8_t *)ifr.ifr_hwaddr.sa_data, duid);
	return 0;
}

/* A usable (not tentative) link-local address on ifindex: packets to ff02::1:2 need one. */
static bool has_linklocal(const struct kview *kv, int ifindex)
{
	for (size_t i = 0; i < kv->addrs.n; i++) {
		const struct kv_addr *a = &kv->addrs.v[i];
		const uint8_t *b = a->addr.addr.b;

		if (a->ifindex == ifindex && a->addr.addr.family == AF_INET6 && b[0] == 0xfe &&
		    (b[1] & 0xc0) == 0x80 && !(a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
			return true;
	}
	return false;
}

static void lease_path(const struct daemon *d, const struct cfg_uplink *u, char *buf, size_t n)
{
	snprintf(buf, n, "%s/pd-%s", d->run_dir, u->name);
}

/*
 * The lease on disk: "PREFIX VALID_UNTIL PREFERRED_UNTIL T1 T2 SERVERID" (times in seconds of
 * the realtime clock, so that they mean something after a restart).  Written atomically.
 */
static void lease_save(struct daemon *d, size_t i)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	const struct dhcp6_lease *l = dhcp6_lease(d->rt[i].pd);
	char path[512], tmp[520], pfx[PREFIX_STRLEN];
	time_t base;
	FILE *f;

	lease_path(d, u, path, sizeof(path));
	if (!l->valid) {
		unlink(path);
		return;
	}
	base = time(NULL) - (time_t)((now_ms() - l->obtained_ms) / 1000);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		log_warn("uplink %s: saving the delegated prefix in %s: %s", u->name, tmp, strerror(errno));
		return;
	}
	fprintf(f, "%s %lld %lld %u %u ", prefix_fmt(&l->prefix, pfx), (long long)base + l->valid_s,
		(long long)base + l->preferred_s, l->t1_s, l->t2_s);
	for (size_t k = 0; k < l->server_id_len; k++)
		fprintf(f, "%02x", l->server_id[k]);
	fputc('\n', f);
	if (fclose(f) || rename(tmp, path)) {
		log_warn("uplink %s: saving the delegated prefix in %s: %s", u->name, path, strerror(errno));
		unlink(tmp);
	}
}

/* A lease saved by an earlier uplinkd, still valid: the client confirms it rather than asks anew. */
static void lease_load(struct daemon *d, size_t i)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct dhcp6_lease l;
	char path[512], pfx[PREFIX_STRLEN + 1], sid[261];
	long long valid_until, pref_until;
	time_t now = time(NULL);
	FILE *f;
	int n;

	lease_path(d, u, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return;
	memset(&l, 0, sizeof(l));
	n = fscanf(f, "%49s %lld %lld %u %u %260s", pfx, &valid_until, &pref_until, &l.t1_s, &l.t2_s, sid);
	fclose(f);
	if (n != 6 || prefix_parse(&l.prefix, pfx, AF_INET6, false) ||
	    strlen(sid) % 2 || strlen(sid) / 2 > sizeof(l.server_id)) {
		log_warn("uplink %s: ignoring %s: not a saved lease", u->name, path);
		unlink(path);
		return;
	}
	if (valid_until <= now)
		return;
	for (size_t k = 0; k < strlen(sid) / 2; k++) {
		unsigned b;

		if (sscanf(sid + 2 * k, "%2x", &b) != 1)
			return;
		l.server_id[k] = (uint8_t)b;
	}
	l.server_id_len = strlen(sid) / 2;
	l.valid = true;
	l.valid_s = (uint32_t)(valid_until - now);
	l.preferred_s = pref_until > now ? (uint32_t)(pref_until - now) : 0;
	l.obtained_ms = now_ms();
	/* written by an uplinkd that trusted its server more: a bad lease must not come back */
	if (dhcp6_restore(d->rt[i].pd, &l)) {
		log_warn("uplink %s: %s (%s, removed)", u->name, dhcp6_last_error(d->rt[i].pd), path);
		unlink(path);
		return;
	}
	log_info("uplink %s: confirming the saved delegated prefix %s (valid %us more)", u->name, pfx,
		 l.valid_s);
}

static void pd_close(struct daemon *d, struct uplink_rt *rt)
{
	if (rt->pd_sock.fd < 0)
		return;
	loop_del(d, &rt->pd_sock);
	close(rt->pd_sock.fd);
	rt->pd_sock.fd = -1;
	rt->pd_ifindex = 0;
}

static void pd_timer(struct daemon *d, struct dtimer *t);

/* Sends what the client has queued, re-arms its timer and reports a changed lease. */
static void pd_flush(struct daemon *d, size_t i)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];
	uint8_t pkt[1500];
	size_t len = sizeof(pkt);
	uint64_t due;

	while (dhcp6_output(rt->pd, pkt, &len)) {
		struct sockaddr_in6 to = {
			.sin6_family = AF_INET6, .sin6_port = htons(DHCP6_SERVER_PORT),
			.sin6_scope_id = (uint32_t)rt->pd_ifindex,
		};

		inet_pton(AF_INET6, "ff02::1:2", &to.sin6_addr);
		if (rt->pd_sock.fd >= 0 &&
		    sendto(rt->pd_sock.fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			log_debug("uplink %s: DHCPv6 on %s: %s", u->name, pd_dev(u), strerror(errno));
		len = sizeof(pkt);
	}
	if (dhcp6_lease_changed(rt->pd)) {
		const struct dhcp6_lease *l = dhcp6_lease(rt->pd);
		char pfx[PREFIX_STRLEN];

		if (l->valid)
			log_notice("uplink %s: delegated prefix %s (preferred %us, valid %us, renew in %us)",
				   u->name, prefix_fmt(&l->prefix, pfx), l->preferred_s, l->valid_s, l->t1_s);
		else
			log_notice("uplink %s: no delegated prefix any more%s%s", u->name,
				   dhcp6_last_error(rt->pd)[0] ? ": " : "", dhcp6_last_error(rt->pd));
		lease_save(d, i);
		d->dirty = true;
	}
	if (strcmp(rt->pd_error, dhcp6_last_error(rt->pd))) {
		strlcpy_ul(rt->pd_error, dhcp6_last_error(rt->pd), sizeof(rt->pd_error));
		if (rt->pd_error[0])
			log_warn("uplink %s: DHCPv6 on %s: %s", u->name, pd_dev(u), rt->pd_error);
		/* without a lease it is why the uplink waits (pd_fact) */
		if (!dhcp6_lease(rt->pd)->valid)
			d->dirty = true;
	}
	due = dhcp6_deadline(rt->pd);
	timer_disarm(&rt->pd_timer);
	if (due) {
		uint64_t now = now_ms();

		rt->pd_timer.fn = pd_timer;
		rt->pd_timer.uplink = i;
		timer_arm(d, &rt->pd_timer, due > now ? due - now : 0);
	}
}

static void pd_timer(struct daemon *d, struct dtimer *t)
{
	struct uplink_rt *rt = &d->rt[t->uplink];

	if (!rt->pd)
		return;
	dhcp6_tick(rt->pd, now_ms());
	pd_flush(d, t->uplink);
	if (rt->pd_releasing && dhcp6_state(rt->pd) == DHCP6_IDLE) {
		rt->pd_releasing = false;
		pd_close(d, rt);
		d->dirty = true; /* wanted again meanwhile? pd_check decides */
	}
}

static void pd_readable(struct daemon *d, struct dsource *s, uint32_t events)
{
	size_t i = (size_t)(uintptr_t)s->arg;
	struct uplink_rt *rt = &d->rt[i];
	uint8_t pkt[2048];

	(void)events;
	for (;;) {
		struct sockaddr_in6 from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(s->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&from, &flen);

		if (n < 0)
			break;
		/* servers and relays answer from port 547 */
		if (from.sin6_family != AF_INET6 || ntohs(from.sin6_port) != DHCP6_SERVER_PORT)
			continue;
		dhcp6_input(rt->pd, pkt, (size_t)n, now_ms());
	}
	pd_flush(d, i);
	if (rt->pd_releasing && dhcp6_state(rt->pd) == DHCP6_IDLE) {
		rt->pd_releasing = false;
		pd_close(d, rt);
		d->dirty = true; /* wanted again meanwhile? pd_check decides */
	}
}

static int pd_open(struct daemon *d, size_t i, int ifindex, struct ul_err *e)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];
	const char *dev = pd_dev(u);
	struct sockaddr_in6 me = { .sin6_family = AF_INET6, .sin6_port = htons(DHCP6_CLIENT_PORT) };
	int one = 1, fd;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return ul_errf(e, -errno, "socket: %s", strerror(errno));
	/* bound to the device first: sockets on different devices share port 546 */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) < 0) {
		int r = -errno;

		close(fd);
		return ul_errf(e, r, "binding a socket to %s: %s", dev, strerror(-r));
	}
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		int r = -errno;

		close(fd);
		if (r == -EADDRINUSE)
			return ul_errf(e, r, "UDP port 546 on %s is taken by another DHCPv6 client "
					     "(dhcpcd, dhclient?): stop it, uplinkd asks for the prefix itself", dev);
		return ul_errf(e, r, "binding UDP port 546 on %s: %s", dev, strerror(-r));
	}
	rt->pd_sock.fd = fd;
	rt->pd_sock.fn = pd_readable;
	rt->pd_sock.arg = (void *)(uintptr_t)i;
	rt->pd_ifindex = ifindex;
	if (loop_add(d, &rt->pd_sock, EPOLLIN)) {
		close(fd);
		rt->pd_sock.fd = -1;
		return ul_errf(e, -ENOMEM, "epoll: %s", strerror(errno));
	}
	return 0;
}

static int pd_create(struct daemon *d, size_t i, struct ul_err *e)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	uint8_t duid[16];
	size_t duid_len = 0;
	uint32_t seed;
	int r;

	r = duid_of(u, duid, &duid_len);
	if (r)
		return ul_errf(e, r, "reading the MAC address of %s for the DUID: %s", u->device, strerror(-r));
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint32_t)now_us() ^ (uint32_t)getpid();
	d->rt[i].pd = dhcp6_new(duid, duid_len, iaid_of(u->name), 0, seed);
	if (!d->rt[i].pd)
		return ul_errf(e, -ENOMEM, "out of memory");
	lease_load(d, i);
	/* the first plan has the restored prefix already; arm its expiry */
	(void)dhcp6_lease_changed(d->rt[i].pd);
	pd_flush(d, i);
	return 0;
}

/* Gives the prefix back (when there is a socket to say so), then forgets the client. */
static void pd_release(struct daemon *d, size_t i, const char *why)
{
	struct uplink_rt *rt = &d->rt[i];
	const struct dhcp6_lease *l;

	if (!rt->pd || rt->pd_releasing)
		return;
	l = dhcp6_lease(rt->pd);
	if (l->valid && rt->pd_sock.fd >= 0) {
		char pfx[PREFIX_STRLEN];

		log_notice("uplink %s: releasing the delegated prefix %s (%s)", d->cfg->uplinks[i].name,
			   prefix_fmt(&l->prefix, pfx), why);
		dhcp6_stop(rt->pd, now_ms());
		rt->pd_releasing = true;
		pd_flush(d, i);
		return;
	}
	if (l->valid) {
		dhcp6_stop(rt->pd, now_ms());
		pd_flush(d, i);
	}
	pd_close(d, rt);
	timer_disarm(&rt->pd_timer);
	if (dhcp6_state(rt->pd) == DHCP6_IDLE && !dhcp6_lease(rt->pd)->valid) {
		dhcp6_free(rt->pd);
		rt->pd = NULL;
	}
}

static void set_why(struct daemon *d, size_t i, bool error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Why uplink i's client is not asking; logged when it changes. */
static void set_why(struct daemon *d, size_t i, bool error, const char *fmt, ...)
{
	struct uplink_rt *rt = &d->rt[i];
	char buf[sizeof(rt->pd_why)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!strcmp(buf, rt->pd_why))
		return;
	strcpy(rt->pd_why, buf);
	if (error)
		log_err("uplink %s: DHCPv6: %s", d->cfg->uplinks[i].name, buf);
	else
		log_info("uplink %s: DHCPv6: %s", d->cfg->uplinks[i].name, buf);
}

/*
 * The client of uplink i, created with the lease a previous uplinkd saved, before the first
 * plan is made, so that the planner keeps the delegated prefix in place until it is confirmed.
 */
static struct dhcp6_client *client_of(struct daemon *d, size_t i)
{
	struct ul_err e = { "" };

	if (!d->rt[i].pd && pd_create(d, i, &e))
		set_why(d, i, true, "%s", e.msg);
	return d->rt[i].pd;
}

/*
 * The client asks while the plan lists it, pauses (keeping the lease) while it is listed as
 * paused, and gives the prefix back when it is not listed (disabled, down, inactive).
 */
void pd_sync(struct daemon *d, size_t i, const struct plan_proc *want, const char *why_not)
{
	const struct cfg_uplink *u = &d->cfg->uplinks[i];
	struct uplink_rt *rt = &d->rt[i];
	const struct kv_link *l;
	struct ul_err e = { "" };

	if (!want) {
		pd_release(d, i, why_not);
		set_why(d, i, false, "not asking: %s", why_not);
		return;
	}
	if (want->paused) {
		if (rt->pd_sock.fd >= 0)
			log_info("uplink %s: DHCPv6 paused: %s", u->name, why_not);
		pd_close(d, rt);
		set_why(d, i, false, "paused, keeping the lease: %s", why_not);
		return;
	}
	if (rt->pd_releasing)
		return; /* wanted again while the Release is out: start over once it is done */
	l = kview_link_by_name(&d->ap.kv, pd_dev(u));
	if (!l || !(l->flags & IFF_UP) || !has_linklocal(&d->ap.kv, l->ifindex)) {
		if (rt->pd_sock.fd >= 0)
			log_info("uplink %s: DHCPv6 paused: %s is gone or down", u->name, pd_dev(u));
		pd_close(d, rt);
		set_why(d, i, false, "waiting for %s %s", pd_dev(u),
			!l ? (u->type == CFG_PPPOE ? "(no session)" : "to exist") :
			!(l->flags & IFF_UP) ? "to be up" : "to get its link-local address");
		return;
	}
	if (rt->pd_sock.fd >= 0 && rt->pd_ifindex == l->ifindex)
		return;
	pd_close(d, rt);
	if (!client_of(d, i))
		return;
	if (pd_open(d, i, l->ifindex, &e)) {
		set_why(d, i, true, "%s", e.msg);
		return;
	}
	rt->pd_why[0] = '\0';
	log_info("uplink %s: asking for a prefix on %s", u->name, pd_dev(u));
	dhcp6_start(rt->pd, now_ms());
	pd_flush(d, i);
}

/* The delegated prefix as the planner's fact. */
void pd_fact(struct daemon *d, size_t i, struct uplink_facts *uf)
{
	const struct dhcp6_lease *l;

	if (!pd_wanted(&d->cfg->uplinks[i]) || d->rt[i].pd_releasing)
		return;
	/* no client (and its saved lease) for an uplink whose prefix is to be given back */
	if (!d->rt[i].pd && (!plan_runs_procs(&d->cfg->uplinks[i], uf) || !client_of(d, i)))
		return;
	l = dhcp6_lease(d->rt[i].pd);
	if (!l->valid) {
		strlcpy_ul(uf->pd_error, dhcp6_last_error(d->rt[i].pd), sizeof(uf->pd_error));
		return;
	}
	uf->has_prefix = true;
	uf->prefix = l->prefix;
}

/* uplinkd stops: the lease stays (on disk) for the next one; nothing is released. */
void pd_stop_all(struct daemon *d)
{
	for (size_t i = 0; d->rt && i < d->cfg->n_uplinks; i++) {
		struct uplink_rt *rt = &d->rt[i];

		pd_close(d, rt);
		timer_disarm(&rt->pd_timer);
		dhcp6_free(rt->pd);
		rt->pd = NULL;
	}
}

/*
 * A reload keeps the client of an uplink that asks on the same interface with the same DUID;
 * an uplink that no longer asks (removed, or its prefix source changed) gives the prefix back.
 */
void pd_carry_over(struct daemon *d, struct uplink_rt *old_rt, const struct config *old)
{
	for (size_t o = 0; o < old->n_uplinks; o++) {
		const struct cfg_uplink *ou = &old->uplinks[o];
		struct uplink_rt *p = &old_rt[o];
		struct cfg_uplink *n = cfg_find_uplink(d->cfg, ou->name);

		timer_disarm(&p->pd_timer);
		if (!p->pd)
			continue;
		if (n && pd_wanted(n) && n->type == ou->type && !strcmp(pd_dev(n), pd_dev(ou)) &&
		    !strcmp(n->lower, ou->lower) && !p->pd_releasing) {
			struct uplink_rt *rt = &d->rt[n->index];

			rt->pd = p->pd;
			memcpy(rt->pd_error, p->pd_error, sizeof(rt->pd_error));
			if (p->pd_sock.fd >= 0) {
				loop_del(d, &p->pd_sock);
				rt->pd_sock.fd = p->pd_sock.fd;
				rt->pd_sock.fn = pd_readable;
				rt->pd_sock.arg = (void *)(uintptr_t)n->index;
				rt->pd_ifindex = p->pd_ifindex;
				loop_add(d, &rt->pd_sock, EPOLLIN);
			}
			p->pd = NULL;
			p->pd_sock.fd = -1;
			/* re-arm the timer for the new slot */
			pd_flush(d, n->index);
			continue;
		}
		/* no longer asked for: Release once, without waiting for the answer */
		if (dhcp6_lease(p->pd)->valid && p->pd_sock.fd >= 0) {
			uint8_t pkt[1500];
			size_t len = sizeof(pkt);
			struct sockaddr_in6 to = {
				.sin6_family = AF_INET6, .sin6_port = htons(DHCP6_SERVER_PORT),
				.sin6_scope_id = (uint32_t)p->pd_ifindex,
			};

			inet_pton(AF_INET6, "ff02::1:2", &to.sin6_addr);
			log_notice("uplink %s: releasing its delegated prefix (removed or changed by the reload)",
				   ou->name);
			dhcp6_stop(p->pd, now_ms());
			while (dhcp6_output(p->pd, pkt, &len)) {
				sendto(p->pd_sock.fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to));
				len = sizeof(pkt);
			}
		}
		{
			char path[512];

			snprintf(path, sizeof(path), "%s/pd-%s", d->run_dir, ou->name);
			unlink(path);
		}
		if (p->pd_sock.fd >= 0) {
			loop_del(d, &p->pd_sock);
			close(p->pd_sock.fd);
			p->pd_sock.fd = -1;
		}
		dhcp6_free(p->pd);
		p->pd = NULL;
	}
}

/* For status: what the client is doing, in a few words. */
const char *pd_state_word(const struct uplink_rt *rt)
{
	if (rt->pd_releasing)
		return "releasing";
	if (rt->pd && rt->pd_sock.fd >= 0)
		return dhcp6_state_name(dhcp6_state(rt->pd));
	return "paused";
}
