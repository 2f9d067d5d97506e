// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The transix update request against a rogue update server on the loopback: whatever it answers,
 * the password never reaches the error text (which goes to the log and to `uplinkctl status`).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "transix.h"

#define PASSWORD "s3cr et&x=1"
#define PASSWORD_ESC "s3cr%20et%26x%3D1"

/* %XX decoded in place */
static void url_decode(char *s)
{
	char *o = s;

	for (; *s; s++, o++) {
		unsigned v;

		if (s[0] == '%' && s[1] && s[2] && sscanf(s + 1, "%2x", &v) == 1) {
			*o = (char)v;
			s += 2;
		} else {
			*o = *s;
		}
	}
	*o = '\0';
}

/*
 * A child answering each connection with 200 and the request's target: as it came, then
 * decoded, then "password=" and the target again.  Returns its pid; *port is where it listens.
 */
static pid_t echo_server(unsigned n, unsigned *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(sa);
	int ls = socket(AF_INET6, SOCK_STREAM, 0);
	pid_t pid;

	ck_assert_int_ge(ls, 0);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(ls, 4), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin6_port);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid) {
		close(ls);
		return pid;
	}
	alarm(20); /* never outlives a failed test */
	for (unsigned i = 0; i < n; i++) {
		char req[2048] = "", target[1024] = "", body[1200], head[128];
		int c = accept(ls, NULL, NULL);
		ssize_t got;

		if (c < 0)
			_exit(1);
		got = read(c, req, sizeof(req) - 1);
		req[got > 0 ? got : 0] = '\0';
		if (sscanf(req, "GET %1023s", target) != 1)
			_exit(1);
		if (i == 1)
			url_decode(target);
		snprintf(body, sizeof(body), "%s%s", i == 2 ? "password=" PASSWORD " " : "", target);
		snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(body));
		if (write(c, head, strlen(head)) < 0 || write(c, body, strlen(body)) < 0)
			_exit(1);
		close(c);
	}
	_exit(0);
}

START_TEST(echoed_query_hides_the_password)
{
	struct in6_addr lo = IN6ADDR_LOOPBACK_INIT;
	char pwfile[512], url[128];
	struct ul_err e[3] = { { "" } };
	unsigned port;
	int status, r[3];
	pid_t pid = echo_server(3, &port);

	snprintf(pwfile, sizeof(pwfile), "%s/transix.password", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(pwfile, PASSWORD "\n", 0600), 0);
	snprintf(url, sizeof(url), "http://[::1]:%u/r", port);
	for (int i = 0; i < 3; i++) {
		r[i] = transix_update(url, "u", pwfile, &lo, 5000, &e[i]);
	}
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i], -EACCES);
		ck_assert_msg(strstr(e[i].msg, "HTTP 200"), "answer %d: %s", i, e[i].msg);
		ck_assert_msg(!strstr(e[i].msg, PASSWORD) && !strstr(e[i].msg, PASSWORD_ESC) &&
				      !strstr(e[i].msg, "s3cr"),
			      "answer %d shows the password: %s", i, e[i].msg);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("transix");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, echoed_query_hides_the_password);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
