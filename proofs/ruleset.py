"""The rule functions a proof evaluates, gathered in one injectable value.

Every proof takes a `Rules` (default `REAL`: the model's own functions from
`listenspec.models.rules`), so a test can swap one rule for a deliberately broken one and check
that the proof then fails. Nothing here restates a rule: `victim` is `rules.evicted`, the
predicate the host itself uses to pick which positions an arrival terminates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from listenspec.models import rules as model
from listenspec.models.arith import Term

RuleFn = Callable[..., Any]


@attrs.frozen
class Rules:
    effective_backlog: RuleFn = model.effective_backlog
    sysctl_accepts: RuleFn = model.sysctl_accepts
    admits: RuleFn = model.admits
    max_completed: RuleFn = model.max_completed
    relisten_kept: RuleFn = model.relisten_kept
    relisten_refused: RuleFn = model.relisten_refused
    incq_capacity: RuleFn = model.incq_capacity
    evictions: RuleFn = model.evictions
    request_queue_full: RuleFn = model.request_queue_full
    admission_count: RuleFn = model.admission_count
    incq_bound: RuleFn = model.incq_bound
    arrival: RuleFn = model.arrival
    syn_arrival: RuleFn = model.syn_arrival
    syn_backlog_reserved: RuleFn = model.syn_backlog_reserved
    poll_events: RuleFn = model.poll_events
    victim: Callable[[Term, Term, Term], Term] = model.evicted

    @property
    def is_real(self) -> bool:
        """Whether these are the rules the concrete model runs (so a script can confirm)."""
        return self == REAL


REAL = Rules()


def broken(**changes: RuleFn) -> Rules:
    """The real rules with some replaced (for tests that check a proof can fail)."""
    return attrs.evolve(REAL, **changes)
