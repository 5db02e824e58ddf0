"""When a run on a real stack stops being a run of the script as written.

The model takes every step as instantaneous: time passes only in sleep() (SCRIPT_FORMAT.md).
A real run spends time in every step, and the stack's timers see it: a segment dropped on a
full accept queue is sent again by its client after Linux's shortest retransmission timeout,
and is counted again (`ListenOverflows` 2 where the script, with no sleep(), says 1). So a run
is faithful only while its *drift* (the seconds spent outside the sleep()s it asked for, from
its first step on; Executor.drift) stays well below the shortest timer a step can start.

A run whose drift passes LATE_AFTER is *late* from that step on. A late run owed to a pause
(one step that took PAUSE or longer: the machine was busy, a collection ran) is run again, up
to ATTEMPTS runs in all; a run that is late because it is long (every step a little) would be
late every time, and is not. Whatever the last run gave is returned, and the runner says from
which step it was late (Runner.late), so that the caller can say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs

#: Linux TCP_RTO_MIN (HZ/5, include/net/tcp.h): the retransmission timeout a loopback
#: connection starts with once its round trip is measured, and TCP_DELACK_MAX, the longest a
#: delayed ACK waits (models/rules.py TCP_DELACK_MAX): the shortest timers a script's steps
#: start on Linux.
SHORTEST_TIMER: Final = 0.2
#: Half of it: a timer fires no sooner than its timeout after the step that armed it, and the
#: other half is the margin for the steps between.
LATE_AFTER: Final = SHORTEST_TIMER / 2
#: One step taking this long is a pause rather than the run's own pace.
PAUSE: Final = LATE_AFTER / 2
#: Runs of one script in all, while each is late because of a pause.
ATTEMPTS: Final = 3


@attrs.frozen
class Late:
    """A run that drifted past LATE_AFTER."""

    step: int  # the index of the first step after which the drift exceeded LATE_AFTER
    drift: float  # the drift then, in seconds
    runs: int  # how many runs of the script were made

    def describe(self) -> str:
        return (f"the run had spent {self.drift:.3f} s outside sleep() by this step (the model "
                f"takes steps as instantaneous; the stack's shortest timer is "
                f"{SHORTEST_TIMER:g} s), after {self.runs} run{'s' if self.runs > 1 else ''}: "
                f"its results from here on may show time passing")


def first_late(drifts: Sequence[float]) -> int | None:
    """The index of the first step after which the drift exceeded LATE_AFTER, if any."""
    return next((i for i, d in enumerate(drifts) if d > LATE_AFTER), None)


def paused(drifts: Sequence[float]) -> bool:
    """Whether one step (up to the first late one) took PAUSE or longer."""
    end = first_late(drifts)
    last = len(drifts) if end is None else end + 1
    return any(d - (drifts[i - 1] if i else 0.0) >= PAUSE for i, d in enumerate(drifts[:last]))
