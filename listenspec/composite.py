"""One call through the model and the invariants, and moves made of several calls.

`run_call` is how the explorer takes every transition: the model's own transition
(`host.CALLS`) and `check_step` on it; a crash of either is a finding, not an error. A
`Composite` move (the SPIN anchor's moves, lazy socket creation) is several such calls, each
decided on the state the previous one left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from .alphabet import Action
from .models import host
from .models.host import Outcome
from .models.invariants import check_step
from .models.profiles import Profile
from .models.state import Host

#: one call of a move: (action, model call, model arguments)
Step = tuple[Action, str, tuple[Any, ...]]


def run_call(p: Profile, h: Host, call: str, args: tuple[Any, ...], *, state: bool = True
             ) -> tuple[Outcome | None, list[str]]:
    """One call through the model and the invariants; a crash of either is a finding. With
    state=False the state invariants of the state reached are the caller's to check."""
    try:
        out = host.CALLS[call](p, h, *args)
        return out, check_step(p, h, call, args, out, state=state)
    except Exception as e:
        return None, [f"model-error: {type(e).__name__}: {e}"]


@attrs.frozen
class Composite:
    """A move made of several of the model's calls. `plan(p, state, done)` gives the next call
    on the state the previous calls left (`done`: their outcomes so far), or None when the move
    is complete. With `unit` the move counts as one step of depth (as one indivisible step of
    the SPIN anchor does), else each call counts."""

    action: Action
    plan: Callable[[Profile, Host, Sequence[Outcome]], Step | None]
    unit: bool = True

    def steps(self, p: Profile, h: Host, *, state: bool = True
              ) -> Iterator[tuple[Step, Outcome | None, list[str]]]:
        """Run the move: each call, its outcome (None: the model crashed) and the invariants
        it broke (with state=False, the step invariants only). Stops after a crash."""
        done: list[Outcome] = []
        while (step := self.plan(p, h, done)) is not None:
            out, broken = run_call(p, h, step[1], step[2], state=state)
            yield step, out, broken
            if out is None:
                return
            done.append(out)
            h = out.state
