// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The AFTR name, one way for both programs: c-ares, asking the NGN's resolvers (the RA's
 * RDNSS, which the daemon records in RUN_DIR/rdnss) when known and the system's otherwise,
 * and the same choice among the answers.  The daemon drives the channel from its loop;
 * uplinkctl waits for it here.
 */
#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resolve.h"

int resolve_open(void **channel, const struct in6_addr *servers, size_t n,
		 void (*sock_state)(void *data, int fd, int readable, int writable), void *data,
		 struct ul_err *e)
{
	struct ares_options opts = { .timeout = RESOLVE_TIMEOUT_MS, .tries = RESOLVE_TRIES };
	int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	ares_channel ch;
	int r;

	*channel = NULL;
	if (sock_state) {
		opts.sock_state_cb = (ares_sock_state_cb)sock_state;
		opts.sock_state_cb_data = data;
		mask |= ARES_OPT_SOCK_STATE_CB;
	}
	r = ares_library_init(ARES_LIB_INIT_ALL);
	if (r == ARES_SUCCESS)
		r = ares_init_options(&ch, &opts, mask);
	if (r != ARES_SUCCESS)
		return ul_errf(e, EIO, "cannot start the resolver: %s", ares_strerror(r));
	*channel = ch;
	r = resolve_set_servers(ch, servers, n);
	if (r) {
		resolve_close(ch);
		*channel = NULL;
		return ul_errf(e, -r, "cannot use the NGN's resolvers");
	}
	return 0;
}

void resolve_close(void *channel)
{
	if (!channel)
		return;
	ares_destroy(channel);
	ares_library_cleanup();
}

int resolve_set_servers(void *channel, const struct in6_addr *servers, size_t n)
{
	char csv[RESOLVE_MAX_SERVERS * (INET6_ADDRSTRLEN + 1)] = "", buf[INET6_ADDRSTRLEN];

	if (!n)
		return 0;
	for (size_t i = 0; i < n && i < RESOLVE_MAX_SERVERS; i++) {
		if (i)
			strcat(csv, ",");
		strcat(csv, inet_ntop(AF_INET6, &servers[i], buf, sizeof(buf)));
	}
	return ares_set_servers_csv(channel, csv) == ARES_SUCCESS ? 0 : -EINVAL;
}

int resolve_rdnss_save(const char *run_dir, const struct in6_addr *servers, size_t n)
{
	char path[4096], tmp[4200], buf[INET6_ADDRSTRLEN];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/rdnss", run_dir);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && i < RESOLVE_MAX_SERVERS; i++)
		fprintf(f, "%s\n", inet_ntop(AF_INET6, &servers[i], buf, sizeof(buf)));
	if (fclose(f) || rename(tmp, path))
		return -errno;
	return 0;
}

size_t resolve_rdnss_load(const char *run_dir, struct in6_addr *servers, size_t max)
{
	char path[4096], line[128];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/rdnss", run_dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		/* a resolver must be an address the RA could have named: not ::, not multicast */
		if (inet_pton(AF_INET6, line, &servers[n]) == 1 && !IN6_IS_ADDR_UNSPECIFIED(&servers[n]) &&
		    !IN6_IS_ADDR_MULTICAST(&servers[n]))
			n++;
	}
	fclose(f);
	return n;
}

struct wait_answer {
	bool done;
	int status;
	struct in6_addr *out;
	size_t max, n;
};

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct wait_answer *w = arg;

	(void)timeouts;
	w->done = true;
	w->status = status;
	/* only usable answers take a place, so that junk first cannot crowd the others out */
	for (struct ares_addrinfo_node *a = res ? res->nodes : NULL; a && w->n < w->max; a = a->ai_next) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)a->ai_addr)->sin6_addr;

		if (a->ai_family == AF_INET6 && resolve_usable(v6))
			w->out[w->n++] = *v6;
	}
	if (res)
		ares_freeaddrinfo(res);
}

int resolve_aaaa(const char *name, const struct in6_addr *servers, size_t n_servers,
		 struct in6_addr *out, size_t max, struct ul_err *e)
{
	struct ares_addrinfo_hints hints = { .ai_family = AF_INET6 };
	struct wait_answer w = { .out = out, .max = max };
	void *ch;
	int r = resolve_open(&ch, servers, n_servers, NULL, NULL, e);

	if (r)
		return r;
	ares_getaddrinfo(ch, name, NULL, &hints, on_answer, &w);
	while (!w.done) {
		struct timeval tv, *t;
		fd_set rd, wr;
		int nfds;

		FD_ZERO(&rd);
		FD_ZERO(&wr);
		nfds = ares_fds(ch, &rd, &wr);
		if (!nfds)
			break;
		t = ares_timeout(ch, NULL, &tv);
		if (select(nfds, &rd, &wr, NULL, t) < 0 && errno != EINTR)
			break;
		ares_process(ch, &rd, &wr);
	}
	resolve_close(ch);
	if (!w.done || w.status != ARES_SUCCESS)
		return ul_errf(e, w.status == ARES_ENOTFOUND || w.status == ARES_ENODATA ? ENOENT : EAGAIN,
			       "cannot resolve %s (AAAA): %s", name,
			       w.done ? ares_strerror(w.status) : "no answer");
	return (int)w.n;
}

bool resolve_usable(const struct in6_addr *a)
{
	return (a->s6_addr[0] & 0xe0) == 0x20;
}

void resolve_consider(struct resolve_choice *c, const struct in6_addr *a)
{
	c->answers++;
	if (!resolve_usable(a))
		return;
	c->usable++;
	if (c->pick && c->current && !memcmp(c->pick, c->current, 16))
		return;
	if ((c->current && !memcmp(a, c->current, 16)) || !c->pick || memcmp(a, c->pick, 16) < 0)
		c->pick = a;
}

const struct in6_addr *resolve_pick(const struct in6_addr *addrs, size_t n, const struct in6_addr *current)
{
	struct resolve_choice c = { .current = current };

	for (size_t i = 0; i < n; i++)
		resolve_consider(&c, &addrs[i]);
	return c.pick;
}
