// SPDX-License-Identifier: GPL-2.0-or-later
/* What the libFuzzer targets share: the entry point and an invariant check that aborts. */
#ifndef UPLINK_FUZZ_H
#define UPLINK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ensure(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#endif
