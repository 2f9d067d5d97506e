#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "config.h"
#include "testlib.h"

static char tmpdir[64];

const char *tl_tmpdir(void)
{
	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/uplinkd-test-XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(1);
		}
	}
	return tmpdir;
}

void tl_cleanup(void)
{
	char cmd[128];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
	tmpdir[0] = '\0';
}

char *tl_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int tl_write_file(const char *path, const char *text, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	fchmod(fd, mode);
	close(fd);
	return 0;
}

char *tl_replace(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)); p += fl)
		n++;
	out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1);
	if (!out)
		abort();
	for (o = out, p = s;;) {
		const char *q = strstr(p, from);

		if (!q) {
			strcpy(o, p);
			break;
		}
		memcpy(o, p, q - p);
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
		p = q + fl;
	}
	return out;
}

const char *tl_stage_config(const char *src)
{
	static char dst[512];
	const char *dir = tl_tmpdir(), *base = strrchr(src, '/');
	char prefix[128], secret[512];
	char *text = tl_read_file(src), *staged;

	if (!text) {
		fprintf(stderr, "cannot read %s\n", src);
		exit(1);
	}
	snprintf(prefix, sizeof(prefix), "%s/", dir);
	staged = tl_replace(text, "/etc/uplinkd/", prefix);
	snprintf(dst, sizeof(dst), "%s/%s", dir, base ? base + 1 : src);
	tl_write_file(dst, staged, 0644);
	/* every file the config names in the directory: secrets 0600, lists copied */
	for (const char *p = staged; (p = strstr(p, prefix)); p += strlen(prefix)) {
		size_t len = strcspn(p, " \t\r\n;#");

		snprintf(secret, sizeof(secret), "%.*s", (int)len, p);
		if (access(secret, F_OK) == 0)
			continue;
		if (strstr(secret, ".password"))
			tl_write_file(secret, "example-password\n", 0600);
		else {
			char from[512];
			char *list;

			snprintf(from, sizeof(from), "conf/examples/%s", secret + strlen(prefix));
			list = tl_read_file(from);
			tl_write_file(secret, list ? list : "", 0644);
			free(list);
		}
	}
	free(text);
	free(staged);
	return dst;
}

char *tl_golden(const char *path, const char *got)
{
	const char *update = getenv("UPDATE_GOLDEN");

	if (update && !strcmp(update, "1")) {
		tl_write_file(path, got, 0644);
		return strdup(got);
	}
	return tl_read_file(path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t tl_list(const char *dir, const char *suffix, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0, sl = strlen(suffix);

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len <= sl || strcmp(e->d_name + len - sl, suffix))
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		v[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

struct config *tl_load_config_text(const char *text)
{
	static unsigned n;
	char path[512];
	struct cfg_diags d;
	struct config *cfg;

	snprintf(path, sizeof(path), "%s/text-%u.conf", tl_tmpdir(), n++);
	ck_assert_int_eq(tl_write_file(path, text, 0644), 0);
	cfg = cfg_load(path, &d);
	ck_assert_msg(cfg != NULL, "%s", d.n ? d.v[0].text : "");
	cfg_diags_free(&d);
	return cfg;
}

int tl_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tl_cleanup();
	return failed ? 1 : 0;
}
