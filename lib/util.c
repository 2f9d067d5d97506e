#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int ul_errf(struct ul_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -errnum;
}

int vec_grow(void **v, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p;

	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*v, ncap * elem);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

size_t strlcpy_ul(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	if (sb->oom)
		return;
	for (;;) {
		size_t room = sb->cap - sb->len;

		va_copy(aq, ap);
		n = vsnprintf(sb->s ? sb->s + sb->len : NULL, room, fmt, aq);
		va_end(aq);
		if (n < 0) {
			sb->oom = true;
			return;
		}
		if ((size_t)n < room) {
			sb->len += n;
			return;
		}
		size_t ncap = sb->cap ? sb->cap : 256;
		while (ncap - sb->len <= (size_t)n)
			ncap *= 2;
		char *p = realloc(sb->s, ncap);
		if (!p) {
			sb->oom = true;
			return;
		}
		sb->s = p;
		sb->cap = ncap;
	}
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

void sb_puts(struct strbuf *sb, const char *s)
{
	sb_printf(sb, "%s", s);
}

void sb_free(struct strbuf *sb)
{
	free(sb->s);
	memset(sb, 0, sizeof(*sb));
}

static bool is_word_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r';
}

char **str_split_words(const char *s, size_t *count)
{
	size_t n = 0, len = strlen(s);
	const char *p;
	char **words, *copy;

	for (p = s; *p;) {
		while (*p && is_word_sep(*p))
			p++;
		if (!*p)
			break;
		n++;
		while (*p && !is_word_sep(*p))
			p++;
	}
	words = malloc((n + 1) * sizeof(char *) + len + 1);
	if (!words)
		return NULL;
	copy = (char *)(words + n + 1);
	memcpy(copy, s, len + 1);
	n = 0;
	for (char *q = copy; *q;) {
		while (*q && is_word_sep(*q))
			*q++ = '\0';
		if (!*q)
			break;
		words[n++] = q;
		while (*q && !is_word_sep(*q))
			q++;
	}
	words[n] = NULL;
	if (count)
		*count = n;
	return words;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || !(isdigit((unsigned char)s[0])))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int parse_duration_ms(const char *s, uint64_t *out_ms)
{
	unsigned long long v;
	uint64_t mult = 1000;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60000;
	else if (!strcmp(end, "h"))
		mult = 3600000;
	else
		return -EINVAL;
	if (v > UINT64_MAX / mult / 1000)
		return -ERANGE;
	*out_ms = v * mult;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[64], prev_diag, tmp;

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev_diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned best = prev_diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev_diag = tmp;
		}
	}
	return row[lb];
}

void sb_json_str(struct strbuf *sb, const char *s)
{
	sb_puts(sb, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_printf(sb, "\\%c", c);
		else if (c == '\n')
			sb_puts(sb, "\\n");
		else if (c == '\t')
			sb_puts(sb, "\\t");
		else if (c < 0x20)
			sb_printf(sb, "\\u%04x", c);
		else
			sb_printf(sb, "%c", c);
	}
	sb_puts(sb, "\"");
}

char *str_sanitize(char *dst, size_t size, const char *src, size_t len)
{
	size_t n;

	if (!size)
		return dst;
	n = len < size - 1 ? len : size - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[n] = '\0';
	if (n < len && n >= 6)
		memcpy(dst + n - 3, "...", 3);
	return dst;
}
