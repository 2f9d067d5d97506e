// SPDX-License-Identifier: GPL-2.0-or-later
#include "holddown.h"

bool hold_wanted(const struct hold_hist *h, uint64_t now_ms, uint64_t hold_ms)
{
	return hold_ms && (h->recovering || (h->until_ms && now_ms < h->until_ms));
}

void hold_observe(struct hold_hist *h, bool would_be_usable, enum hold_cause cause, uint64_t now_ms,
		  uint64_t hold_ms)
{
	if (!would_be_usable) {
		/* an operator's or the pair's decision is not a flapping line */
		h->recovering = cause == HOLD_LINE && (h->was_usable || h->recovering);
		if (cause == HOLD_OPERATOR)
			h->was_usable = false;
		h->until_ms = 0;
		return;
	}
	h->was_usable = true;
	if (h->recovering) {
		h->recovering = false;
		h->until_ms = hold_ms ? now_ms + hold_ms : 0;
	} else if (h->until_ms && now_ms >= h->until_ms) {
		h->until_ms = 0;
	}
}
