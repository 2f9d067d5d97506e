// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hold-down as a pure step: an uplink that failed by itself and came back is held out of use
 * for hold-down, so a flapping line does not pull traffic back and forth.  The planner then
 * waives the hold for an uplink that is the last usable one (for a family's default route or
 * a policy's chain): hold-down only delays taking traffic back from another usable uplink.
 */
#ifndef UPLINK_HOLDDOWN_H
#define UPLINK_HOLDDOWN_H

#include <stdbool.h>
#include <stdint.h>

struct hold_hist {
	bool was_usable;         /* usable at some point */
	bool recovering;         /* lost by itself since, not back for hold-down yet */
	uint64_t until_ms;       /* 0: not held; else held until then */
};

enum hold_cause {
	HOLD_LINE,               /* the line itself: carrier, session, health */
	HOLD_OPERATOR,           /* administratively down, or active-if: no damping */
};

/*
 * One observation: whether the uplink would be usable were it not held, and why not if not.
 * Returns whether it is to be held now; h->until_ms says until when.
 */
bool hold_step(struct hold_hist *h, bool usable, enum hold_cause cause, uint64_t now_ms,
	       uint64_t hold_ms);

#endif
