/*
 * Where things are in an INI file.  iniparser parses the values but keeps no line numbers;
 * this scanner reads the file with the same line rules so that every section and key can be
 * reported as FILE:LINE.
 */
#ifndef UPLINK_INI_H
#define UPLINK_INI_H

#include <stddef.h>

struct ini_entry {
	char *section;   /* lower-cased, as iniparser stores it; "" before the first section */
	char *key;       /* lower-cased */
	char *value;
	unsigned line;   /* first physical line of the (possibly continued) line */
};

struct ini_section {
	char *name;
	unsigned line;
};

struct ini_problem {
	unsigned line;
	char *msg;
};

struct ini_file {
	struct ini_section *sections;
	size_t n_sections;
	struct ini_entry *entries;
	size_t n_entries;
	struct ini_problem *problems;  /* syntax errors, one per bad line */
	size_t n_problems;
};

/* 0, or -errno when the file cannot be read or memory runs out. */
int ini_scan(const char *path, struct ini_file *f);
void ini_free(struct ini_file *f);

#endif
