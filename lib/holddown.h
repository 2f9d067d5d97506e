// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hold-down as pure steps: an uplink that failed by itself and came back is held out of use
 * for hold-down, so a flapping line does not pull traffic back and forth.  Before the plan,
 * hold_wanted() says whether to hold it (the fact "held"); the planner waives the hold for the
 * last usable uplink of a default route or a policy's chain; after the plan, hold_observe()
 * learns whether the uplink would have been usable.
 */
#ifndef UPLINK_HOLDDOWN_H
#define UPLINK_HOLDDOWN_H

#include <stdbool.h>
#include <stdint.h>

struct hold_hist {
	bool was_usable;         /* usable at some point */
	bool recovering;         /* lost by itself since, not back yet */
	uint64_t until_ms;       /* back, and held until then (0: not held) */
};

enum hold_cause {
	HOLD_LINE,               /* the line itself: carrier, session, health, missing device */
	HOLD_OPERATOR,           /* administratively down, active-if, a kernel refusal: no damping */
};

bool hold_wanted(const struct hold_hist *h, uint64_t now_ms, uint64_t hold_ms);

/* would_be_usable: usable, or held by the plan; cause: why not, when not. */
void hold_observe(struct hold_hist *h, bool would_be_usable, enum hold_cause cause, uint64_t now_ms,
		  uint64_t hold_ms);

#endif
