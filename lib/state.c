#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

void state_free(struct own_state *s)
{
	VEC_FREE(&s->links);
	VEC_FREE(&s->addrs);
	VEC_FREE(&s->sysctls);
	VEC_FREE(&s->tokens);
	VEC_FREE(&s->mtus);
	VEC_FREE(&s->ups);
	VEC_FREE(&s->updates);
}

#define COPY_VEC(d, s) do { \
	(d)->n = (d)->cap = 0; (d)->v = NULL; \
	if ((s)->n) { \
		(d)->v = malloc((s)->n * sizeof(*(s)->v)); \
		if (!(d)->v) \
			goto oom; \
		memcpy((d)->v, (s)->v, (s)->n * sizeof(*(s)->v)); \
		(d)->n = (d)->cap = (s)->n; \
	} \
} while (0)

int state_copy(struct own_state *dst, const struct own_state *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->protocol = src->protocol;
	memcpy(dst->nft_table, src->nft_table, sizeof(dst->nft_table));
	COPY_VEC(&dst->links, &src->links);
	COPY_VEC(&dst->addrs, &src->addrs);
	COPY_VEC(&dst->sysctls, &src->sysctls);
	COPY_VEC(&dst->tokens, &src->tokens);
	COPY_VEC(&dst->mtus, &src->mtus);
	COPY_VEC(&dst->ups, &src->ups);
	COPY_VEC(&dst->updates, &src->updates);
	return 0;
oom:
	state_free(dst);
	return -ENOMEM;
}

bool state_owns_link(const struct own_state *s, const char *name)
{
	for (size_t i = 0; i < s->links.n; i++) {
		if (!strcmp(s->links.v[i].name, name))
			return true;
	}
	return false;
}

int state_add_link(struct own_state *s, const char *name)
{
	struct own_link *l;

	if (state_owns_link(s, name))
		return 0;
	l = VEC_PUSH(&s->links);
	if (!l)
		return -ENOMEM;
	strlcpy_ul(l->name, name, sizeof(l->name));
	return 0;
}

void state_del_link(struct own_state *s, const char *name)
{
	for (size_t i = 0; i < s->links.n; i++) {
		if (!strcmp(s->links.v[i].name, name)) {
			s->links.v[i] = s->links.v[--s->links.n];
			return;
		}
	}
}

static bool same_addr(const struct own_addr *o, const char *dev, const struct ip_prefix *a)
{
	return !strcmp(o->dev, dev) && !prefix_cmp(&o->addr, a);
}

bool state_owns_addr(const struct own_state *s, const char *dev, const struct ip_prefix *a)
{
	for (size_t i = 0; i < s->addrs.n; i++) {
		if (same_addr(&s->addrs.v[i], dev, a))
			return true;
	}
	return false;
}

int state_add_addr(struct own_state *s, const char *dev, const struct ip_prefix *a)
{
	struct own_addr *o;

	if (state_owns_addr(s, dev, a))
		return 0;
	o = VEC_PUSH(&s->addrs);
	if (!o)
		return -ENOMEM;
	strlcpy_ul(o->dev, dev, sizeof(o->dev));
	o->addr = *a;
	return 0;
}

void state_del_addr(struct own_state *s, const char *dev, const struct ip_prefix *a)
{
	for (size_t i = 0; i < s->addrs.n; i++) {
		if (same_addr(&s->addrs.v[i], dev, a)) {
			s->addrs.v[i] = s->addrs.v[--s->addrs.n];
			return;
		}
	}
}

void state_del_dev_addrs(struct own_state *s, const char *dev)
{
	for (size_t i = 0; i < s->addrs.n;) {
		if (!strcmp(s->addrs.v[i].dev, dev))
			s->addrs.v[i] = s->addrs.v[--s->addrs.n];
		else
			i++;
	}
}

const struct own_setting *state_find(const struct own_settings *v, const char *key)
{
	for (size_t i = 0; i < v->n; i++) {
		if (!strcmp(v->v[i].key, key))
			return &v->v[i];
	}
	return NULL;
}

int state_remember(struct own_settings *v, const char *key, const char *old)
{
	struct own_setting *o;

	if (state_find(v, key))
		return 0;
	o = VEC_PUSH(v);
	if (!o)
		return -ENOMEM;
	strlcpy_ul(o->key, key, sizeof(o->key));
	strlcpy_ul(o->old, old, sizeof(o->old));
	return 0;
}

void state_forget(struct own_settings *v, const char *key)
{
	for (size_t i = 0; i < v->n; i++) {
		if (!strcmp(v->v[i].key, key)) {
			v->v[i] = v->v[--v->n];
			return;
		}
	}
}

const char *state_setting_dev(const char *key, char *buf, size_t n)
{
	const char *p, *end;

	if (strncmp(key, "net/ipv4/conf/", 14) && strncmp(key, "net/ipv6/conf/", 14)) {
		if (strchr(key, '/'))
			return "";
		return key;
	}
	p = key + 14;
	end = strchr(p, '/');
	if (!end || (size_t)(end - p) >= n)
		return "";
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	/* conf/all and conf/default are the stack's, not a device's */
	if (!strcmp(buf, "all") || !strcmp(buf, "default"))
		return "";
	return buf;
}

static void forget_dev(struct own_settings *v, const char *dev)
{
	char buf[96];

	for (size_t i = 0; i < v->n;) {
		if (!strcmp(state_setting_dev(v->v[i].key, buf, sizeof(buf)), dev))
			v->v[i] = v->v[--v->n];
		else
			i++;
	}
}

void state_forget_dev(struct own_state *s, const char *dev)
{
	forget_dev(&s->sysctls, dev);
	forget_dev(&s->tokens, dev);
	forget_dev(&s->mtus, dev);
	forget_dev(&s->ups, dev);
}

const struct own_update *state_update(const struct own_state *s, const char *uplink)
{
	for (size_t i = 0; i < s->updates.n; i++) {
		if (!strcmp(s->updates.v[i].uplink, uplink))
			return &s->updates.v[i];
	}
	return NULL;
}

int state_set_update(struct own_state *s, const char *uplink, const struct in6_addr *local)
{
	struct own_update *u = (struct own_update *)state_update(s, uplink);

	if (!u) {
		u = VEC_PUSH(&s->updates);
		if (!u)
			return -ENOMEM;
		strlcpy_ul(u->uplink, uplink, sizeof(u->uplink));
	}
	u->local = *local;
	return 0;
}

/* ---- the file: one object a line, "kind field field" ---- */

static void path_of(const char *run_dir, char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", run_dir, name);
}

static int parse_line(struct own_state *s, char *line)
{
	char kind[16], a[128], b[128];
	int n = sscanf(line, "%15s %127s %127s", kind, a, b);
	struct ip_prefix p;
	struct in6_addr in6;

	if (n < 2)
		return -EINVAL;
	if (!strcmp(kind, "link"))
		return state_add_link(s, a);
	if (!strcmp(kind, "protocol"))
		return parse_u32(a, 1, 255, &s->protocol);
	if (!strcmp(kind, "nft-table")) {
		strlcpy_ul(s->nft_table, a, sizeof(s->nft_table));
		return 0;
	}
	if (n < 3)
		return -EINVAL;
	if (!strcmp(kind, "addr")) {
		if (prefix_parse(&p, b, AF_UNSPEC, true))
			return -EINVAL;
		return state_add_addr(s, a, &p);
	}
	if (!strcmp(kind, "sysctl"))
		return state_remember(&s->sysctls, a, b);
	if (!strcmp(kind, "token"))
		return state_remember(&s->tokens, a, b);
	if (!strcmp(kind, "mtu"))
		return state_remember(&s->mtus, a, b);
	if (!strcmp(kind, "up"))
		return state_remember(&s->ups, a, b);
	if (!strcmp(kind, "update")) {
		if (inet_pton(AF_INET6, b, &in6) != 1)
			return -EINVAL;
		return state_set_update(s, a, &in6);
	}
	return -EINVAL;
}

int state_load(const char *run_dir, struct own_state *s, struct ul_err *e)
{
	char path[4096], line[512];
	unsigned lineno = 0;
	FILE *f;
	int r = 0;

	memset(s, 0, sizeof(*s));
	path_of(run_dir, path, sizeof(path), "state");
	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return ul_errf(e, errno, "cannot read %s: %s", path, strerror(errno));
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		r = parse_line(s, line);
		if (r == -ENOMEM)
			break;
		if (r) {
			r = ul_errf(e, EINVAL, "%s:%u: unreadable state line \"%s\"", path, lineno, line);
			break;
		}
	}
	fclose(f);
	if (r)
		state_free(s);
	return r;
}

int state_save(const char *run_dir, const struct own_state *s, struct ul_err *e)
{
	char path[4096], tmp[4096], buf[PREFIX_STRLEN];
	FILE *f;
	int fd;

	if (mkdir(run_dir, 0700) && errno != EEXIST)
		return ul_errf(e, errno, "cannot create %s: %s", run_dir, strerror(errno));
	path_of(run_dir, path, sizeof(path), "state");
	path_of(run_dir, tmp, sizeof(tmp), "state.new");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ul_errf(e, errno, "cannot write %s: %s", tmp, strerror(errno));
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return ul_errf(e, errno, "cannot write %s: %s", tmp, strerror(errno));
	}
	fprintf(f, "# what uplinkd owns in the kernel, and what it changed; read by `uplinkctl down`\n");
	if (s->protocol)
		fprintf(f, "protocol %u\n", s->protocol);
	if (s->nft_table[0])
		fprintf(f, "nft-table %s\n", s->nft_table);
	for (size_t i = 0; i < s->links.n; i++)
		fprintf(f, "link %s\n", s->links.v[i].name);
	for (size_t i = 0; i < s->addrs.n; i++)
		fprintf(f, "addr %s %s\n", s->addrs.v[i].dev, prefix_fmt(&s->addrs.v[i].addr, buf));
	for (size_t i = 0; i < s->sysctls.n; i++)
		fprintf(f, "sysctl %s %s\n", s->sysctls.v[i].key, s->sysctls.v[i].old);
	for (size_t i = 0; i < s->tokens.n; i++)
		fprintf(f, "token %s %s\n", s->tokens.v[i].key, s->tokens.v[i].old);
	for (size_t i = 0; i < s->mtus.n; i++)
		fprintf(f, "mtu %s %s\n", s->mtus.v[i].key, s->mtus.v[i].old);
	for (size_t i = 0; i < s->ups.n; i++)
		fprintf(f, "up %s %s\n", s->ups.v[i].key, s->ups.v[i].old);
	for (size_t i = 0; i < s->updates.n; i++)
		fprintf(f, "update %s %s\n", s->updates.v[i].uplink,
			inet_ntop(AF_INET6, &s->updates.v[i].local, buf, sizeof(buf)));
	if (fflush(f) || fsync(fileno(f)) || ferror(f)) {
		fclose(f);
		unlink(tmp);
		return ul_errf(e, EIO, "cannot write %s", tmp);
	}
	fclose(f);
	if (rename(tmp, path))
		return ul_errf(e, errno, "cannot replace %s: %s", path, strerror(errno));
	return 0;
}

int state_remove(const char *run_dir, struct ul_err *e)
{
	char path[4096];

	path_of(run_dir, path, sizeof(path), "state");
	if (unlink(path) && errno != ENOENT)
		return ul_errf(e, errno, "cannot remove %s: %s", path, strerror(errno));
	return 0;
}
