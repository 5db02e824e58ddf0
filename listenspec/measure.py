"""Measuring the Hypothesis machines: how often each deep state is reached per run, and how fast
the machines go (`listenspec machines --deep`, benchmarks/deep_states.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs
from hypothesis import Phase

from .deepstates import DEEP_STATES, applicable_deep_states
from .machines import ListenMachine, run_machine
from .models.profiles import Profile, get


@attrs.frozen
class MachineStats:
    """How a batch of runs went: steps, time, and how many runs reached each deep state."""

    profile: str
    runs: int
    steps: int
    seconds: float
    reached: dict[str, int]  # deep state -> runs that reached it
    applicable: tuple[str, ...]
    violations: dict[str, int] = attrs.field(factory=dict)  # invariant -> runs breaking it

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    def share(self, state: str) -> float:
        """Fraction of runs that reached `state` (0..1)."""
        return self.reached.get(state, 0) / self.runs if self.runs else 0.0


def measure(profile: str | Profile, runs: int = 1000, steps: int = 40,
            seed_value: int | None = 0,
            on_run: Callable[[int], None] | None = None) -> MachineStats:
    """Run the machine `runs` times (generation only, no shrinking) and count deep states.

    A broken invariant does not stop the measurement: it is counted in `violations`.
    Hypothesis may run a few more examples than asked; only the first `runs` count.
    """
    p = get(profile) if isinstance(profile, str) else profile
    reached: dict[str, int] = dict.fromkeys(applicable_deep_states(p), 0)
    violations: dict[str, int] = {}
    totals = {"runs": 0, "steps": 0}

    def observe(states: set[str], machine: ListenMachine) -> None:
        if totals["runs"] >= runs:
            return
        totals["runs"] += 1
        totals["steps"] += len(machine.run.steps)
        for s in states:
            if s in reached:
                reached[s] += 1
        for name in set(machine.violations):
            violations[name] = violations.get(name, 0) + 1
        if on_run is not None:  # a progress bar: the runs counted so far
            on_run(totals["runs"])

    t0 = time.perf_counter()
    run_machine(p, examples=runs, steps=steps, seed_value=seed_value, observe=observe,
                raise_on_violation=False, phases=(Phase.generate,))
    return MachineStats(p.name, totals["runs"], totals["steps"], time.perf_counter() - t0,
                        reached, applicable_deep_states(p), violations)


def format_stats(stats: list[MachineStats]) -> str:
    """A table: profile x deep state, the share of runs reaching it ('-': cannot exist)."""
    cols = list(DEEP_STATES)
    widths = [max(len(c), 6) for c in cols]
    head = f"{'profile':<12} {'runs':>5} {'steps/s':>8}  " + "  ".join(
        c.rjust(w) for c, w in zip(cols, widths, strict=True))
    lines = [head, "-" * len(head)]
    for s in stats:
        cells = [(f"{100 * s.share(c):.1f}%" if c in s.applicable else "-").rjust(w)
                 for c, w in zip(cols, widths, strict=True)]
        lines.append(f"{s.profile:<12} {s.runs:>5} {s.steps_per_second:>8,.0f}  "
                     + "  ".join(cells))
    for s in stats:
        for name, n in s.violations.items():
            lines.append(f"  {s.profile}: {n} run(s) broke {name}")
    return "\n".join(lines)
