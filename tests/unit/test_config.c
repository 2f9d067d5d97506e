/* The config parser: example files accepted, bad files rejected with exact messages. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testlib.h"

#define BAD_DIR "tests/unit/conf/bad"

static char **bad_files;
static size_t n_bad_files;
static char **examples;
static size_t n_examples;

static char *diags_text(const struct cfg_diags *d)
{
	struct strbuf sb = { 0 };

	for (size_t i = 0; i < d->n; i++)
		sb_printf(&sb, "%s\n", d->v[i].text);
	return sb.s ? sb.s : strdup("");
}

static const char *example_path(size_t i)
{
	static char path[256];

	if (i == n_examples)
		return "conf/uplinkd.conf.example";
	snprintf(path, sizeof(path), "conf/examples/%s", examples[i]);
	return path;
}

START_TEST(example_accepted)
{
	const char *path = tl_stage_config(example_path(_i));
	struct cfg_diags d;
	struct config *cfg = cfg_load(path, &d);
	char *text = diags_text(&d);

	ck_assert_msg(cfg != NULL, "%s rejected:\n%s", example_path(_i), text);
	ck_assert_msg(d.n == 0, "%s: unexpected messages:\n%s", example_path(_i), text);
	free(text);
	cfg_free(cfg);
	cfg_diags_free(&d);
}
END_TEST

/* The normalised output is itself a valid config that normalises to the same text. */
START_TEST(example_roundtrip)
{
	const char *path = tl_stage_config(example_path(_i));
	struct strbuf a = { 0 }, b = { 0 };
	struct cfg_diags d;
	struct config *cfg = cfg_load(path, &d), *again;
	char norm[512];

	ck_assert_ptr_nonnull(cfg);
	cfg_diags_free(&d);
	cfg_print(cfg, &a);
	snprintf(norm, sizeof(norm), "%s/normalised.conf", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(norm, a.s, 0644), 0);
	again = cfg_load(norm, &d);
	ck_assert_msg(again != NULL, "normalised %s rejected: %s", example_path(_i),
		      d.n ? d.v[0].text : "");
	cfg_print(again, &b);
	ck_assert_str_eq(a.s, b.s);
	cfg_diags_free(&d);
	cfg_free(cfg);
	cfg_free(again);
	sb_free(&a);
	sb_free(&b);
}
END_TEST

START_TEST(bad_file)
{
	char expected_path[512], *expected, *got, cwd[4096];
	struct cfg_diags d;
	struct config *cfg;
	const char *name = bad_files[_i];

	snprintf(expected_path, sizeof(expected_path), "%.*s.err", (int)(strlen(name) - 5), name);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(BAD_DIR), 0);
	chmod("secret.pw", 0600);
	cfg = cfg_load(name, &d);
	expected = tl_read_file(expected_path);
	ck_assert_int_eq(chdir(cwd), 0);

	got = diags_text(&d);
	ck_assert_msg(cfg == NULL, "%s was accepted", name);
	ck_assert_msg(d.errors > 0, "%s: no error reported", name);
	ck_assert_msg(expected != NULL, "%s: missing %s", name, expected_path);
	ck_assert_msg(!strcmp(got, expected), "%s:\n--- expected\n%s--- got\n%s", name, expected, got);
	free(expected);
	free(got);
	cfg_diags_free(&d);
}
END_TEST

START_TEST(secret_readable_by_others_warns)
{
	char conf[512], secret[512], text[1024];
	struct cfg_diags d;
	struct config *cfg;

	snprintf(secret, sizeof(secret), "%s/open.password", tl_tmpdir());
	snprintf(conf, sizeof(conf), "%s/warn.conf", tl_tmpdir());
	snprintf(text, sizeof(text),
		 "[uplink isp]\ntype = pppoe\ndevice = eth1\nuser = u@isp\npassword-file = %s\n", secret);
	ck_assert_int_eq(tl_write_file(secret, "pw\n", 0644), 0);
	ck_assert_int_eq(tl_write_file(conf, text, 0644), 0);
	cfg = cfg_load(conf, &d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(d.errors, 0);
	ck_assert_uint_eq(d.warnings, 1);
	ck_assert_ptr_nonnull(strstr(d.v[0].text, secret));
	ck_assert_ptr_nonnull(strstr(d.v[0].text, "readable by group or others (mode 0644)"));
	ck_assert_ptr_nonnull(strstr(d.v[0].text, ":5: [uplink isp] password-file: warning:"));
	cfg_free(cfg);
	cfg_diags_free(&d);
}
END_TEST

START_TEST(secret_is_read_without_newline)
{
	char path[512], *pw = NULL;
	struct ul_err e;

	snprintf(path, sizeof(path), "%s/pw", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(path, "s3cr3t\r\nignored\n", 0600), 0);
	ck_assert_int_eq(cfg_read_secret(path, &pw, &e), 0);
	ck_assert_str_eq(pw, "s3cr3t");
	free(pw);
	ck_assert_int_eq(tl_write_file(path, "\n", 0600), 0);
	ck_assert_int_lt(cfg_read_secret(path, &pw, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "is empty"));
}
END_TEST

/* The run-time reader and the check are one function: what one refuses, so does the other. */
START_TEST(secret_refuses_links_and_special_files)
{
	char path[512], link[512], fifo[512], *pw = NULL;
	struct ul_err e;

	snprintf(path, sizeof(path), "%s/real.pw", tl_tmpdir());
	snprintf(link, sizeof(link), "%s/link.pw", tl_tmpdir());
	snprintf(fifo, sizeof(fifo), "%s/fifo.pw", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(path, "s3cr3t\n", 0600), 0);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(cfg_read_secret(link, &pw, &e), -ELOOP);
	ck_assert_ptr_null(pw);
	ck_assert_ptr_nonnull(strstr(e.msg, "link.pw is a symbolic link"));
	ck_assert_int_eq(cfg_read_secret(path, NULL, &e), 0);
	ck_assert_int_eq(cfg_read_secret(tl_tmpdir(), &pw, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "is not a regular file"));
	/* a FIFO would block the daemon on open */
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(cfg_read_secret(fifo, &pw, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "is not a regular file"));
	ck_assert_ptr_null(pw);
	ck_assert_ptr_null(strstr(e.msg, "s3cr3t"));
}
END_TEST

START_TEST(defaults_and_tables)
{
	char conf[512];
	struct cfg_diags d;
	struct config *cfg;

	snprintf(conf, sizeof(conf), "%s/t.conf", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(conf,
		"[global]\ntable-base = 253\n"
		"[uplink wan]\ntype = ipoe\ndevice = eth1\n"
		"[uplink ds]\ntype = dslite\nover = wan\n"
		"[uplink fixed]\ntype = ipip6\nover = wan\nremote = 2404:8e00::feed:140\nipv4 = 203.0.113.9\ntable = 256\n",
		0644), 0);
	cfg = cfg_load(conf, &d);
	ck_assert_msg(cfg != NULL, "%s", d.n ? d.v[0].text : "");
	/* auto tables skip 253-255 and the explicit 256 */
	ck_assert_uint_eq(cfg->uplinks[0].table, 257);
	ck_assert_uint_eq(cfg->uplinks[1].table, 258);
	ck_assert_uint_eq(cfg->uplinks[2].table, 256);
	ck_assert_str_eq(cfg->uplinks[1].aftr_name, "gw.transix.jp");
	ck_assert_uint_eq(cfg->uplinks[1].mtu, 1460);
	ck_assert(cfg->uplinks[1].mss_clamp);
	ck_assert(!cfg->uplinks[1].nat);
	ck_assert(cfg->uplinks[2].nat);
	ck_assert_ptr_null(cfg->uplinks[2].update_url);
	ck_assert_str_eq(cfg->uplinks[1].ifname, "ds");
	ck_assert_str_eq(cfg->uplinks[0].ifname, "eth1");
	/* the ipip6 over a WAN without ::feed gets a warning */
	ck_assert_uint_eq(d.warnings, 1);
	cfg_free(cfg);
	cfg_diags_free(&d);
}
END_TEST

/* Names are case-insensitive: iniparser lower-cases sections and keys. */
START_TEST(case_insensitive_names)
{
	char conf[512];
	struct cfg_diags d;
	struct config *cfg;

	snprintf(conf, sizeof(conf), "%s/c.conf", tl_tmpdir());
	ck_assert_int_eq(tl_write_file(conf,
		"[Global]\nLAN = br0\n[Uplink WAN]\nType = ipoe\nDevice = Eth1\n"
		"[uplink DS]\ntype = dslite\nover = Wan\n[Policy All]\nuplink = ds\n", 0644), 0);
	cfg = cfg_load(conf, &d);
	ck_assert_msg(cfg != NULL, "%s", d.n ? d.v[0].text : "");
	ck_assert_str_eq(cfg->uplinks[0].name, "wan");
	ck_assert_str_eq(cfg->uplinks[0].device, "Eth1"); /* values keep their case */
	ck_assert_ptr_eq(cfg->uplinks[1].over_uplink, &cfg->uplinks[0]);
	cfg_free(cfg);
	cfg_diags_free(&d);
}
END_TEST

START_TEST(missing_file)
{
	struct cfg_diags d;

	ck_assert_ptr_null(cfg_load("/nonexistent/uplinkd.conf", &d));
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.v[0].text, "/nonexistent/uplinkd.conf: cannot read: No such file or directory");
	cfg_diags_free(&d);
}
END_TEST

/* A line iniparser rejects outright (over 1023 characters) is reported, not crashed on. */
START_TEST(long_line)
{
	char conf[512], *text = malloc(3000);
	struct cfg_diags d;

	snprintf(conf, sizeof(conf), "%s/long.conf", tl_tmpdir());
	strcpy(text, "[global]\nlan = ");
	memset(text + strlen(text), 'a', 2000);
	strcpy(text + 2015, "\n");
	ck_assert_int_eq(tl_write_file(conf, text, 0644), 0);
	ck_assert_ptr_null(cfg_load(conf, &d));
	ck_assert_ptr_nonnull(strstr(d.v[0].text, "long.conf:2: line too long"));
	cfg_diags_free(&d);
	free(text);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("examples");

	n_examples = tl_list("conf/examples", ".conf", &examples);
	tcase_add_loop_test(tc, example_accepted, 0, (int)n_examples + 1);
	tcase_add_loop_test(tc, example_roundtrip, 0, (int)n_examples + 1);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	n_bad_files = tl_list(BAD_DIR, ".conf", &bad_files);
	tcase_add_loop_test(tc, bad_file, 0, (int)n_bad_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("details");
	tcase_add_test(tc, secret_readable_by_others_warns);
	tcase_add_test(tc, secret_is_read_without_newline);
	tcase_add_test(tc, secret_refuses_links_and_special_files);
	tcase_add_test(tc, defaults_and_tables);
	tcase_add_test(tc, case_insensitive_names);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, long_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int failed = tl_run(config_suite());

	if (n_bad_files < 30) {
		fprintf(stderr, "only %zu bad config files\n", n_bad_files);
		return 1;
	}
	return failed;
}
