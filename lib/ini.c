#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

/* iniparser 4.1's ASCIILINESZ: the longest logical line it accepts. */
#define INI_LINESZ 1024

static char *strip(char *s)
{
	size_t len;

	while (*s && isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int add_problem(struct ini_file *f, unsigned line, const char *msg)
{
	struct ini_problem *p = realloc(f->problems, (f->n_problems + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	f->problems = p;
	p[f->n_problems].line = line;
	p[f->n_problems].msg = strdup(msg);
	if (!p[f->n_problems].msg)
		return -ENOMEM;
	f->n_problems++;
	return 0;
}

static int add_section(struct ini_file *f, const char *name, unsigned line)
{
	struct ini_section *s = realloc(f->sections, (f->n_sections + 1) * sizeof(*s));

	if (!s)
		return -ENOMEM;
	f->sections = s;
	s[f->n_sections].line = line;
	s[f->n_sections].name = strdup(name);
	if (!s[f->n_sections].name)
		return -ENOMEM;
	f->n_sections++;
	return 0;
}

static int add_entry(struct ini_file *f, const char *section, const char *key, const char *value,
		     unsigned line)
{
	struct ini_entry *e = realloc(f->entries, (f->n_entries + 1) * sizeof(*e));

	if (!e)
		return -ENOMEM;
	f->entries = e;
	e += f->n_entries;
	e->line = line;
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	f->n_entries++;
	if (!e->section || !e->key || !e->value)
		return -ENOMEM;
	return 0;
}

/*
 * Classifies one logical line exactly as iniparser_line() does, so that a line this scanner
 * accepts is a line iniparser accepts, with the same key and value.
 */
static int scan_line(struct ini_file *f, char *raw, char *section, unsigned line)
{
	char key[INI_LINESZ + 1], value[INI_LINESZ + 1], *s = strip(raw), *k;
	size_t len = strlen(s);

	if (!len || s[0] == '#' || s[0] == ';')
		return 0;
	if (s[0] == '[' && s[len - 1] == ']') {
		value[0] = '\0';
		sscanf(s, "[%1024[^]]", value);
		k = strip(value);
		lower(k);
		strcpy(section, k);
		return add_section(f, section, line);
	}
	if (sscanf(s, "%1024[^=] = \"%1024[^\"]\"", key, value) == 2 ||
	    sscanf(s, "%1024[^=] = '%1024[^\']'", key, value) == 2) {
		k = strip(key);
		lower(k);
		return add_entry(f, section, k, value, line);
	}
	if (sscanf(s, "%1024[^=] = %1024[^;#]", key, value) == 2) {
		char *v = strip(value);

		k = strip(key);
		lower(k);
		if (!strcmp(v, "\"\"") || !strcmp(v, "''"))
			v[0] = '\0';
		return add_entry(f, section, k, v, line);
	}
	if (sscanf(s, "%1024[^=] = %1024[;#]", key, value) == 2 ||
	    sscanf(s, "%1024[^=] %1024[=]", key, value) == 2) {
		k = strip(key);
		lower(k);
		return add_entry(f, section, k, "", line);
	}
	return add_problem(f, line, "syntax error: expected \"[section]\", \"key = value\" or a comment");
}

int ini_scan(const char *path, struct ini_file *f)
{
	char line[INI_LINESZ + 1], section[INI_LINESZ + 1] = "";
	unsigned lineno = 0, first = 0;
	int last = 0, r = 0;
	FILE *in;

	memset(f, 0, sizeof(*f));
	in = fopen(path, "r");
	if (!in)
		return -errno;
	memset(line, 0, sizeof(line));
	while (fgets(line + last, INI_LINESZ - last, in)) {
		int len;

		lineno++;
		if (!last)
			first = lineno;
		len = (int)strlen(line) - 1;
		if (len <= 0)
			continue;
		if (line[len] != '\n' && !feof(in)) {
			r = add_problem(f, lineno, "line too long (iniparser reads at most 1023 characters a line)");
			/* iniparser gives up on the whole file here; so does the scan. */
			goto out;
		}
		while (len >= 0 && (line[len] == '\n' || isspace((unsigned char)line[len])))
			line[len--] = '\0';
		if (len < 0)
			len = 0;
		if (line[len] == '\\') {
			last = len;
			continue;
		}
		last = 0;
		r = scan_line(f, line, section, first);
		if (r)
			goto out;
		memset(line, 0, sizeof(line));
	}
	if (ferror(in))
		r = -EIO;
out:
	fclose(in);
	return r;
}

void ini_free(struct ini_file *f)
{
	for (size_t i = 0; i < f->n_sections; i++)
		free(f->sections[i].name);
	for (size_t i = 0; i < f->n_entries; i++) {
		free(f->entries[i].section);
		free(f->entries[i].key);
		free(f->entries[i].value);
	}
	for (size_t i = 0; i < f->n_problems; i++)
		free(f->problems[i].msg);
	free(f->sections);
	free(f->entries);
	free(f->problems);
	memset(f, 0, sizeof(*f));
}
