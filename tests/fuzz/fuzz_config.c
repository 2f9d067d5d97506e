/*
 * libFuzzer target for the configuration parser: any bytes as an uplinkd.conf.  A file that
 * loads must also normalise, re-load to the same text, and plan without error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int load_bytes(const void *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("uplinkd.conf", 0);

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], path2[64];
	struct cfg_diags d;
	struct config *cfg;
	int fd = load_bytes(data, size, path, sizeof(path));

	cfg = cfg_load(path, &d);
	if (!cfg && !d.errors)
		abort(); /* a rejected file always says why */
	for (size_t i = 0; i < d.n; i++) {
		if (strncmp(d.v[i].text, path, strlen(path)) && !strstr(d.v[i].text, ":"))
			abort(); /* every message names where */
	}
	cfg_diags_free(&d);
	if (cfg) {
		struct strbuf a = { 0 }, b = { 0 };
		struct facts f;
		struct plan p;
		struct ul_err e;
		struct config *again;
		int fd2;

		cfg_print(cfg, &a);
		fd2 = load_bytes(a.s, a.len, path2, sizeof(path2));
		again = cfg_load(path2, &d);
		cfg_diags_free(&d);
		/* lists longer than 16 print as a summary, so those do not re-load */
		if (again) {
			cfg_print(again, &b);
			if (strcmp(a.s, b.s))
				abort();
			cfg_free(again);
		}
		close(fd2);
		if (facts_init(&f, cfg) == 0) {
			if (plan_build(cfg, &f, &p, &e) == 0)
				plan_free(&p);
			facts_free(&f);
		}
		sb_free(&a);
		sb_free(&b);
		cfg_free(cfg);
	}
	close(fd);
	return 0;
}
