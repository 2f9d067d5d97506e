/*
 * Event-to-route latency of uplinkd: pulls an uplink's cable (sets the veth peer down in the
 * ISP's namespace) and times, on the router's own rtnetlink socket, the carrier-loss event of
 * the uplink's interface and the main table's default route moving to the other uplink.  Then
 * puts the cable back and waits for the route to return.  Prints p50/p99 of event -> route
 * (what uplinkd takes) and of cable -> route (which adds the kernel's linkwatch delay: carrier
 * loss is reported up to a second late, by design, for every non-urgent device).
 *
 *   flap_latency ROUTER_NS ISP_NS PEER_IF WAN_IF FALLBACK_IF COUNT
 *
 * Runs as root; touches only the namespaces it is given (the caller creates them).
 */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "flap_latency: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A netlink socket that lives in the named network namespace. */
static struct mnl_socket *socket_in(const char *ns, unsigned groups)
{
	char path[256];
	struct mnl_socket *nl;
	int self, fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || fd < 0 || setns(fd, CLONE_NEWNET))
		die(path);
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0)
		die("netlink");
	if (setns(self, CLONE_NEWNET))
		die("setns back");
	close(fd);
	close(self);
	return nl;
}

static int ifindex_in(struct mnl_socket *nl, const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	int idx = 0;
	ssize_t n;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = 1;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		die("RTM_GETLINK");
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n > 0) {
		nlh = (struct nlmsghdr *)buf;
		if (nlh->nlmsg_type == RTM_NEWLINK)
			idx = ((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index;
	}
	if (!idx) {
		fprintf(stderr, "flap_latency: no interface %s\n", name);
		exit(1);
	}
	return idx;
}

static void set_link(struct mnl_socket *nl, int idx, bool up)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)now_ns();
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = idx;
	ifm->ifi_flags = up ? IFF_UP : 0;
	ifm->ifi_change = IFF_UP;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 || mnl_socket_recvfrom(nl, buf, sizeof(buf)) < 0)
		die("RTM_NEWLINK");
}

struct watch {
	int wan, fallback;        /* ifindexes in the router */
	bool want_down;           /* waiting for the default via fallback (else: via wan) */
	uint64_t t_carrier, t_event, t_route;
};

static int attr_oif(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
		*(int *)data = (int)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int on_event(const struct nlmsghdr *nlh, void *data)
{
	struct watch *w = data;
	uint64_t t = now_ns();

	if (nlh->nlmsg_type == RTM_NEWLINK) {
		const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

		if (ifm->ifi_index == w->wan && !w->t_event && !(ifm->ifi_flags & IFF_LOWER_UP) == w->want_down)
			w->t_event = t;
	} else if (nlh->nlmsg_type == RTM_NEWROUTE) {
		const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
		int oif = 0;

		if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len || rtm->rtm_table != RT_TABLE_MAIN)
			return MNL_CB_OK;
		mnl_attr_parse(nlh, sizeof(*rtm), attr_oif, &oif);
		if (!w->t_route && oif == (w->want_down ? w->fallback : w->wan))
			w->t_route = t;
	}
	return MNL_CB_OK;
}

/* Waits (at most 10 s) until both moments are seen. */
static bool wait_for(struct mnl_socket *ev, struct watch *w)
{
	char buf[64 * 1024];
	uint64_t end = now_ns() + 10000000000ull;

	while (!w->t_route && now_ns() < end) {
		ssize_t n = mnl_socket_recvfrom(ev, buf, sizeof(buf));

		if (n < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
				continue;
			die("events");
		}
		mnl_cb_run(buf, (size_t)n, 0, 0, on_event, w);
	}
	return w->t_route != 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct mnl_socket *isp, *rtr, *ev;
	struct timeval tv = { .tv_sec = 1 };
	uint64_t *lat, *cut;
	int peer, count, ok = 0;
	struct watch w = { 0 };

	if (argc != 7) {
		fprintf(stderr, "usage: flap_latency ROUTER_NS ISP_NS PEER_IF WAN_IF FALLBACK_IF COUNT\n");
		return 2;
	}
	count = atoi(argv[6]);
	lat = calloc((size_t)count, sizeof(*lat));
	cut = calloc((size_t)count, sizeof(*cut));
	isp = socket_in(argv[2], 0);
	rtr = socket_in(argv[1], 0);
	ev = socket_in(argv[1], RTMGRP_LINK | RTMGRP_IPV4_ROUTE);
	setsockopt(mnl_socket_get_fd(ev), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	peer = ifindex_in(isp, argv[3]);
	w.wan = ifindex_in(rtr, argv[4]);
	w.fallback = ifindex_in(rtr, argv[5]);

	for (int i = 0; i < count; i++) {
		w.want_down = true;
		w.t_route = w.t_event = 0;
		set_link(isp, peer, false);
		w.t_carrier = now_ns(); /* the peer is down: the router's side has lost carrier */
		if (!wait_for(ev, &w)) {
			fprintf(stderr, "flap %d: no new default route within 10 s\n", i);
			set_link(isp, peer, true);
			continue;
		}
		if (!w.t_event) {
			fprintf(stderr, "flap %d: the route moved before the carrier event arrived\n", i);
			w.t_event = w.t_route;
		}
		cut[ok] = w.t_route - w.t_carrier;
		lat[ok++] = w.t_route - w.t_event;
		w.want_down = false;
		w.t_route = 0;
		set_link(isp, peer, true);
		if (!wait_for(ev, &w))
			fprintf(stderr, "flap %d: the default route did not return\n", i);
		usleep(20000);
	}
	qsort(lat, (size_t)ok, sizeof(*lat), cmp_u64);
	qsort(cut, (size_t)ok, sizeof(*cut), cmp_u64);
	if (ok) {
		size_t p99 = (size_t)((ok * 99 + 99) / 100) - 1;

		printf("cable pulled -> new default route: %d flaps, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", ok,
		       (double)cut[ok / 2] / 1e6, (double)cut[p99] / 1e6, (double)cut[ok - 1] / 1e6);
		printf("carrier-loss event -> new default route: %d flaps, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", ok,
		       (double)lat[ok / 2] / 1e6, (double)lat[p99] / 1e6, (double)lat[ok - 1] / 1e6);
	}
	free(lat);
	free(cut);
	return ok == count ? 0 : 1;
}
