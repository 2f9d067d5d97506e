#include <stdio.h>
#include <string.h>

#include "uplinkctl.h"

struct config *ctl_load_config(const char *path)
{
	struct cfg_diags diags;
	struct config *cfg = cfg_load(path, &diags);

	for (size_t i = 0; i < diags.n; i++)
		fprintf(stderr, "%s\n", diags.v[i].text);
	if (!cfg && diags.errors)
		fprintf(stderr, "%s: %u error%s\n", path, diags.errors, diags.errors == 1 ? "" : "s");
	cfg_diags_free(&diags);
	return cfg;
}

void ctl_print_out(const char *s)
{
	if (s)
		fputs(s, stdout);
}
