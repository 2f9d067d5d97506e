// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The daemon's event loop (src/daemon_loop.c, linked in): a reload in one epoll batch frees the
 * sources of later events of the same batch; they must not be dispatched (issue 11 item 7).
 * The rest of the daemon is not linked: the few functions the loop calls are counted here.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon.h"
#include "testlib.h"

static unsigned reconciles;

int daemon_reload(struct daemon *d, const char *path, struct strbuf *out)
{
	(void)path;
	(void)out;
	d->cfg_gen++;
	return 0;
}

void daemon_reconcile_events(struct daemon *d)
{
	d->dirty = false;
	reconciles++;
}

void children_reap(struct daemon *d)
{
	(void)d;
}

struct probe {
	struct dsource src;
	int wr;
	bool gone;               /* freed by the reload, as a runtime's probe socket is */
	bool called_after_gone;
};

static struct probe *probe;
static int calls_a;

/* A control request that reloads: the runtime, and the probe in it, go. */
static void on_reload(struct daemon *d, struct dsource *s, uint32_t events)
{
	char c;

	(void)events;
	if (read(s->fd, &c, 1) != 1)
		ck_abort_msg("read");
	if (++calls_a == 1) {
		daemon_reload(d, NULL, NULL);
		loop_del(d, &probe->src);
		close(probe->src.fd);
		probe->gone = true;
		d->dirty = true;
	} else {
		d->stopping = true;
	}
}

static void on_probe(struct daemon *d, struct dsource *s, uint32_t events)
{
	(void)d;
	(void)events;
	(void)s;
	if (probe->gone)
		probe->called_after_gone = true;
}

START_TEST(reload_drops_the_rest_of_its_batch)
{
	struct daemon d;
	struct dsource ctl;
	int a[2], b[2];

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(loop_init(&d), 0);
	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(b), 0);
	probe = calloc(1, sizeof(*probe));
	ctl = (struct dsource){ .fd = a[0], .fn = on_reload };
	probe->src = (struct dsource){ .fd = b[0], .fn = on_probe };
	ck_assert_int_eq(loop_add(&d, &ctl, EPOLLIN), 0);
	ck_assert_int_eq(loop_add(&d, &probe->src, EPOLLIN), 0);
	/* both ready before the loop waits: one batch, the reload first */
	ck_assert_int_eq(write(a[1], "rr", 2), 2);
	ck_assert_int_eq(write(b[1], "p", 1), 1);
	ck_assert_int_eq(loop_run(&d), 0);
	ck_assert_int_eq(calls_a, 2);
	ck_assert_msg(!probe->called_after_gone, "an event of a source the reload freed was dispatched");
	ck_assert_uint_eq(reconciles, 1);
	free(probe);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("loop");

	tcase_add_test(tc, reload_drops_the_rest_of_its_batch);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
