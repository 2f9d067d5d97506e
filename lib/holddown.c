// SPDX-License-Identifier: GPL-2.0-or-later
#include "holddown.h"

bool hold_step(struct hold_hist *h, bool usable, enum hold_cause cause, uint64_t now_ms,
	       uint64_t hold_ms)
{
	if (!usable) {
		/* an operator's or the pair's decision is not a flapping line */
		h->recovering = cause == HOLD_LINE && (h->was_usable || h->recovering);
		if (cause == HOLD_OPERATOR)
			h->was_usable = false;
		h->until_ms = 0;
		return false;
	}
	h->was_usable = true;
	if (h->recovering && !h->until_ms) {
		h->recovering = false;
		if (hold_ms)
			h->until_ms = now_ms + hold_ms;
	}
	if (h->until_ms && now_ms >= h->until_ms)
		h->until_ms = 0;
	return h->until_ms != 0;
}
