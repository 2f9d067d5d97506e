/*
 * dhcp6_probe: lib/dhcp6.c with a real socket, for trying it against a DHCPv6 server.  Run it
 * inside a network namespace of your own: it binds [::]:546 on IFNAME and multicasts to
 * ff02::1:2 port 547.
 *
 *   dhcp6_probe IFNAME [--hint LEN] [--timeout SECONDS] [--renew] [--rebind] [--release]
 *
 * Prints "bound PREFIX preferred P valid V t1 T1 t2 T2 server HEX" once a prefix is delegated,
 * then with --renew / --rebind moves the client's clock on to T1 / T2 (the server's clock is
 * not touched) and prints the lease again once confirmed, and with --release gives the prefix
 * back and prints "released in N ms" (quick: the server answered).  Exit status 0 when all went as asked,
 * 1 on timeout (with the client's last error on stderr), 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "dhcp6.h"

static uint64_t offset_ms;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + offset_ms;
}

static int open_socket(const char *ifname, unsigned ifindex)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(546) };
	int fd, one = 1, hops = 1;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int get_duid(const char *ifname, uint8_t *duid, size_t *len)
{
	struct ifreq ifr = { 0 };
	static const uint8_t zero[6];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		r = -errno;
	close(fd);
	if (r)
		return r;
	/* a link without a MAC (ppp): a DUID-LL of a locally administered stand-in */
	if (!memcmp(ifr.ifr_hwaddr.sa_data, zero, 6))
		memcpy(ifr.ifr_hwaddr.sa_data, "\x02\x00\x5e\x10\x00\x01", 6);
	*len = dhcp6_duid_ll((const uint8_t *)ifr.ifr_hwaddr.sa_data, duid);
	return 0;
}

static void print_lease(const char *what, const struct dhcp6_lease *l)
{
	char p[PREFIX_STRLEN];

	printf("%s %s preferred %u valid %u t1 %u t2 %u server ", what, prefix_fmt(&l->prefix, p),
	       l->preferred_s, l->valid_s, l->t1_s, l->t2_s);
	for (size_t i = 0; i < l->server_id_len; i++)
		printf("%02x", l->server_id[i]);
	printf("\n");
	fflush(stdout);
}

/* Runs the client until done() says so or the time is up: 0 or -ETIMEDOUT. */
static int run(struct dhcp6_client *c, int fd, const struct sockaddr_in6 *to, uint64_t until,
	       bool (*done)(struct dhcp6_client *c))
{
	uint8_t buf[2048];
	size_t len;

	for (;;) {
		uint64_t now = now_ms(), d;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int timeout;

		for (;;) {
			len = sizeof(buf);
			if (!dhcp6_output(c, buf, &len))
				break;
			if (sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
				fprintf(stderr, "dhcp6_probe: sendto: %s\n", strerror(errno));
		}
		if (done(c))
			return 0;
		if (now >= until)
			return -ETIMEDOUT;
		d = dhcp6_deadline(c);
		if (!d || d > until)
			d = until;
		timeout = d > now ? (int)(d - now) : 0;
		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
			return -errno;
		now = now_ms();
		if (pfd.revents & POLLIN) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			if (n >= 0)
				dhcp6_input(c, buf, (size_t)n, now);
		}
		dhcp6_tick(c, now);
	}
}

static bool is_bound(struct dhcp6_client *c)
{
	return dhcp6_state(c) == DHCP6_BOUND;
}

static bool is_idle(struct dhcp6_client *c)
{
	return dhcp6_state(c) == DHCP6_IDLE;
}

static int fail(struct dhcp6_client *c, const char *what)
{
	fprintf(stderr, "dhcp6_probe: no %s in time (state %s): %s\n", what,
		dhcp6_state_name(dhcp6_state(c)), dhcp6_last_error(c));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hint", required_argument, NULL, 'h' },
		{ "timeout", required_argument, NULL, 't' },
		{ "renew", no_argument, NULL, 'n' },
		{ "rebind", no_argument, NULL, 'b' },
		{ "release", no_argument, NULL, 'r' },
		{ 0 },
	};
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(547) };
	bool renew = false, rebind = false, release = false;
	unsigned hint = 0, timeout_s = 30, ifindex;
	struct dhcp6_client *c;
	uint8_t duid[16];
	size_t duid_len = 0;
	int o, fd, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			hint = (unsigned)atoi(optarg);
			break;
		case 't':
			timeout_s = (unsigned)atoi(optarg);
			break;
		case 'n':
			renew = true;
			break;
		case 'b':
			rebind = true;
			break;
		case 'r':
			release = true;
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc || hint > 128) {
		fprintf(stderr, "usage: dhcp6_probe IFNAME [--hint LEN] [--timeout S] [--renew] "
			"[--rebind] [--release]\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[optind]);
	if (!ifindex) {
		fprintf(stderr, "dhcp6_probe: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	r = get_duid(argv[optind], duid, &duid_len);
	if (r < 0) {
		fprintf(stderr, "dhcp6_probe: %s: hardware address: %s\n", argv[optind], strerror(-r));
		return 1;
	}
	fd = open_socket(argv[optind], ifindex);
	if (fd < 0) {
		fprintf(stderr, "dhcp6_probe: socket on %s: %s\n", argv[optind], strerror(-fd));
		return 1;
	}
	inet_pton(AF_INET6, "ff02::1:2", &to.sin6_addr);
	to.sin6_scope_id = ifindex;
	c = dhcp6_new(duid, duid_len, ifindex, (uint8_t)hint, (uint32_t)getpid() ^ (uint32_t)time(NULL));
	if (!c)
		return 1;

	dhcp6_start(c, now_ms());
	if (run(c, fd, &to, now_ms() + timeout_s * 1000ull, is_bound))
		return fail(c, "lease");
	print_lease("bound", dhcp6_lease(c));
	if (renew) {
		const struct dhcp6_lease *l = dhcp6_lease(c);

		offset_ms += l->obtained_ms + l->t1_s * 1000ull - now_ms();
		dhcp6_tick(c, now_ms());
		if (dhcp6_state(c) != DHCP6_RENEW)
			return fail(c, "Renew");
		if (run(c, fd, &to, now_ms() + timeout_s * 1000ull, is_bound))
			return fail(c, "Reply to Renew");
		print_lease("renewed", dhcp6_lease(c));
	}
	if (rebind) {
		const struct dhcp6_lease *l = dhcp6_lease(c);

		offset_ms += l->obtained_ms + l->t2_s * 1000ull - now_ms();
		dhcp6_tick(c, now_ms());
		if (dhcp6_state(c) != DHCP6_REBIND)
			return fail(c, "Rebind");
		if (run(c, fd, &to, now_ms() + timeout_s * 1000ull, is_bound))
			return fail(c, "Reply to Rebind");
		print_lease("rebound", dhcp6_lease(c));
	}
	if (release) {
		uint64_t t = now_ms();

		dhcp6_stop(c, t);
		if (run(c, fd, &to, t + timeout_s * 1000ull, is_idle))
			return fail(c, "end of Release");
		/* a Reply ends it at once, four unanswered transmissions take about 15 s */
		printf("released in %llu ms\n", (unsigned long long)(now_ms() - t));
	}
	dhcp6_free(c);
	close(fd);
	return 0;
}
