#include <stdio.h>
#include <string.h>

#include "kview.h"

void kview_clear(struct kview *kv)
{
	kv->links.n = 0;
	kv->addrs.n = 0;
	kv->routes.n = 0;
	kv->rules.n = 0;
	kv->sysctls.n = 0;
}

void kview_free(struct kview *kv)
{
	VEC_FREE(&kv->links);
	VEC_FREE(&kv->addrs);
	VEC_FREE(&kv->routes);
	VEC_FREE(&kv->rules);
	VEC_FREE(&kv->sysctls);
}

const struct kv_link *kview_link_by_name(const struct kview *kv, const char *name)
{
	for (size_t i = 0; i < kv->links.n; i++) {
		if (!strcmp(kv->links.v[i].name, name))
			return &kv->links.v[i];
	}
	return NULL;
}

const struct kv_link *kview_link_by_index(const struct kview *kv, int ifindex)
{
	for (size_t i = 0; i < kv->links.n; i++) {
		if (kv->links.v[i].ifindex == ifindex)
			return &kv->links.v[i];
	}
	return NULL;
}

const char *kview_ifname(const struct kview *kv, int ifindex, char *buf)
{
	const struct kv_link *l = kview_link_by_index(kv, ifindex);

	if (l)
		return l->name;
	snprintf(buf, IFNAMSIZ, "if%d", ifindex);
	return buf;
}

const char *kview_sysctl(const struct kview *kv, const char *key)
{
	for (size_t i = 0; i < kv->sysctls.n; i++) {
		if (!strcmp(kv->sysctls.v[i].key, key))
			return kv->sysctls.v[i].value;
	}
	return NULL;
}
