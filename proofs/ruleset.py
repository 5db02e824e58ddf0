"""The rule functions a proof evaluates, gathered in one injectable value.

Every proof takes a `Rules` (default `REAL`: the model's own functions from
`listenspec.models.rules`), so a test can swap one rule for a deliberately broken one and check
that the proof then fails. Nothing here restates a rule, with one exception that the Hypothesis
tests pin down: `victim`, the host's convention for *which* positions an eviction removes
(`host._arrive` drops `incomp[:k]`), written as a predicate so that it can be asked of a
symbolic position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from listenspec.models import rules as model
from listenspec.models.arith import Term

RuleFn = Callable[..., Any]


def oldest_first(i: Term, k: Term, n: Term) -> Term:
    """Is position i (0 = oldest) of an n-long incomplete queue among the k evicted?

    host._arrive: `evicted, kept = lst.incomp[:k], lst.incomp[k:]`.
    """
    return i < k


@attrs.frozen
class Rules:
    effective_backlog: RuleFn = model.effective_backlog
    sysctl_accepts: RuleFn = model.sysctl_accepts
    admits: RuleFn = model.admits
    max_completed: RuleFn = model.max_completed
    relisten_kept: RuleFn = model.relisten_kept
    incq_capacity: RuleFn = model.incq_capacity
    evictions: RuleFn = model.evictions
    victim: Callable[[Term, Term, Term], Term] = oldest_first

    @property
    def is_real(self) -> bool:
        """Whether these are the rules the concrete model runs (so a script can confirm)."""
        return self == REAL


REAL = Rules()


def broken(**changes: RuleFn) -> Rules:
    """The real rules with some replaced (for tests that check a proof can fail)."""
    return attrs.evolve(REAL, **changes)
