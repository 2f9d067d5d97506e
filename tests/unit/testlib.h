/* Helpers for the unit tests: temporary copies of the example configs, file I/O. */
#ifndef UPLINK_TESTLIB_H
#define UPLINK_TESTLIB_H

#include <check.h>
#include <stddef.h>

/* A fresh directory under /tmp, removed by tl_cleanup(). */
const char *tl_tmpdir(void);
void tl_cleanup(void);

/*
 * Copies conf/examples/NAME (or any path) into the temporary directory with /etc/uplinkd/
 * pointing there, creates the password files it names (mode 0600) and the lists it needs.
 * Returns the new path (static buffer).
 */
const char *tl_stage_config(const char *src);

/* A configuration from text, written to the temporary directory and loaded (must be valid). */
struct config;
struct config *tl_load_config_text(const char *text);

/* The whole file, NUL-terminated; NULL if unreadable. Caller frees. */
char *tl_read_file(const char *path);
int tl_write_file(const char *path, const char *text, int mode);

/* Replaces every occurrence of from with to in s (returns a new string). */
char *tl_replace(const char *s, const char *from, const char *to);

/* Writes got to path when UPDATE_GOLDEN=1 is set; returns the expected text otherwise. */
char *tl_golden(const char *path, const char *got);

/* Names of the files in dir ending in suffix, sorted; returns the count. */
size_t tl_list(const char *dir, const char *suffix, char ***out);

/* Runs a suite in-process (CK_NOFORK), removes the temporary directory; the exit status. */
int tl_run(Suite *s);

#endif
