#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "transix.h"

struct body {
	char text[256];
	size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n, room = sizeof(b->text) - 1 - b->len;

	memcpy(b->text + b->len, data, len < room ? len : room);
	b->len += len < room ? len : room;
	b->text[b->len] = '\0';
	return len;
}

static void trim(char *s)
{
	size_t len = strlen(s);

	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		s[--len] = '\0';
}

/* Every occurrence of needle in s becomes "***" (s has room: "***" is no longer than needle). */
static void cut(char *s, const char *needle)
{
	size_t n = strlen(needle);
	char *at;

	if (n < 3)
		return;
	while ((at = strstr(s, needle))) {
		memcpy(at, "***", 3);
		memmove(at + 3, at + n, strlen(at + n) + 1);
	}
}

/*
 * A rogue server may echo the request: its answer goes to the log and the status, the password
 * must not.  Its raw and escaped forms go, and whatever follows "password=".
 */
static void redact(char *text, const char *password, const char *escaped)
{
	char *at = text;

	cut(text, password);
	cut(text, escaped);
	while ((at = strstr(at, "password="))) {
		char *v = at + strlen("password="), *end = v + strcspn(v, "& \t\"");

		if (end - v > 3) {
			memcpy(v, "***", 3);
			memmove(v + 3, end, strlen(end) + 1);
		}
		at = v;
	}
}

int transix_update(const char *url, const char *user, const char *password_file,
		   const struct in6_addr *source, long timeout_ms, struct ul_err *e)
{
	char src[INET6_ADDRSTRLEN + 8], *password = NULL, *u = NULL, *p = NULL, *full = NULL;
	struct body body = { .len = 0 };
	long status = 0;
	CURLcode rc;
	CURL *curl;
	int r;

	r = cfg_read_secret(password_file, &password, e);
	if (r)
		return r;
	curl = curl_easy_init();
	if (!curl) {
		r = -ENOMEM;
		goto out;
	}
	u = curl_easy_escape(curl, user, 0);
	p = curl_easy_escape(curl, password, 0);
	if (!u || !p || asprintf(&full, "%s?username=%s&password=%s", url, u, p) < 0) {
		full = NULL;
		r = -ENOMEM;
		goto out;
	}
	snprintf(src, sizeof(src), "host!");
	inet_ntop(AF_INET6, source, src + 5, sizeof(src) - 5);
	curl_easy_setopt(curl, CURLOPT_URL, full);
	curl_easy_setopt(curl, CURLOPT_IPRESOLVE, (long)CURL_IPRESOLVE_V6);
	curl_easy_setopt(curl, CURLOPT_INTERFACE, src);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "uplinkd");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		/* curl_easy_strerror names the failure, never the URL (which holds the password) */
		r = ul_errf(e, EIO, "update request to %s from %s: %s", url, src + 5, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	trim(body.text);
	if (status != 200 || strcmp(body.text, "OK")) {
		redact(body.text, password, p);
		for (char *c = body.text; *c; c++) {
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				*c = '?';
		}
		r = ul_errf(e, EACCES, "update request to %s: HTTP %ld, answer \"%.60s\"", url, status,
			    body.text);
		goto out;
	}
	r = 0;
out:
	if (full) {
		explicit_bzero(full, strlen(full));
		free(full);
	}
	if (p) {
		explicit_bzero(p, strlen(p));
		curl_free(p);
	}
	curl_free(u);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	if (curl)
		curl_easy_cleanup(curl);
	return r;
}
