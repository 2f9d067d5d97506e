/* Small helpers shared by the library: growable arrays, bounded strings, error text. */
#ifndef UPLINK_UTIL_H
#define UPLINK_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A human-readable reason for a -errno return, filled by the library. */
struct ul_err {
	char msg[512];
};

/* Formats into e (may be NULL) and returns -errnum, so callers can `return ul_errf(...)`. */
int ul_errf(struct ul_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Growable array: struct { T *v; size_t n, cap; }.
 * VEC_PUSH returns a pointer to the new zeroed element or NULL on ENOMEM.
 */
#define VEC(T) struct { T *v; size_t n, cap; }
#define VEC_PUSH(vec) \
	((vec)->n < (vec)->cap || vec_grow((void **)&(vec)->v, &(vec)->cap, sizeof(*(vec)->v)) == 0 ? \
	 (memset(&(vec)->v[(vec)->n], 0, sizeof(*(vec)->v)), &(vec)->v[(vec)->n++]) : NULL)
#define VEC_FREE(vec) do { free((vec)->v); (vec)->v = NULL; (vec)->n = (vec)->cap = 0; } while (0)
int vec_grow(void **v, size_t *cap, size_t elem);

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t strlcpy_ul(char *dst, const char *src, size_t size);

/*
 * Copies untrusted text (a peer's, another program's) of len bytes for a log, a terminal or
 * JSON: every byte outside printable ASCII (control characters, escapes, DEL, any non-ASCII
 * byte, NUL) becomes '?'; at most size - 1 bytes, always terminated when size > 0, a cut
 * marked with "...".  Returns dst.
 */
char *str_sanitize(char *dst, size_t size, const char *src, size_t len);

/* Growable string buffer for printers. */
struct strbuf {
	char *s;
	size_t len, cap;
	bool oom;
};
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void sb_puts(struct strbuf *sb, const char *s);
void sb_free(struct strbuf *sb);
/* A JSON string literal, quoted and escaped. */
void sb_json_str(struct strbuf *sb, const char *s);

/* Splits s on blanks (space, tab, comma) into a NULL-terminated array of words (one allocation). */
char **str_split_words(const char *s, size_t *count);

/* Parses an unsigned decimal or 0x-hex number within [min, max]; 0 or -EINVAL/-ERANGE. */
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* Parses a duration: "5" (seconds), "500ms", "5s", "2m", "1h"; result in milliseconds. */
int parse_duration_ms(const char *s, uint64_t *out_ms);
/* "yes"/"no" (also true/false, on/off, 1/0). */
int parse_bool(const char *s, bool *out);

/* Levenshtein distance, capped: used to suggest the nearest valid key. */
unsigned edit_distance(const char *a, const char *b);

#endif
