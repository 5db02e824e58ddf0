"""Speed of the explorer (distinct states per second) and of the Hypothesis machines (steps per
second), with a breakdown of where the explorer's time goes.

    python benchmarks/bench_explore.py                 # freebsd-src, depth 8 (the target case)
    python benchmarks/bench_explore.py --depth 7 --profile linux --machine-runs 200

The target of issue 4 is 50,000 distinct states per second for freebsd-src at depth 8. The
breakdown shows why this pure-Python explorer is far from it: almost all of the time is the
model's own transitions and the invariant checks, which the explorer must call on every
transition, not the explorer's bookkeeping.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from listenspec import explore as ex
from listenspec.measure import measure
from listenspec.models import host

Timers = dict[str, float]


@contextmanager
def timed(timers: Timers) -> Iterator[None]:
    """Wrap the model's calls, check_step and state_key with timers for one run."""
    saved_calls = dict(host.CALLS)
    saved = ex.check_step, ex.state_key

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed_fn(*args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                timers[name] = timers.get(name, 0.0) + time.perf_counter() - t0
        return timed_fn

    for call, fn in saved_calls.items():
        host.CALLS[call] = wrap("model transitions (host.apply)", fn)
    ex.check_step = wrap("invariant checks (check_step)", saved[0])  # type: ignore[assignment]
    ex.state_key = wrap("state key (state_key)", saved[1])  # type: ignore[assignment]
    try:
        yield
    finally:
        host.CALLS.update(saved_calls)
        ex.check_step, ex.state_key = saved  # type: ignore[assignment]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="freebsd-src")
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--max-backlog", type=int, default=2)
    ap.add_argument("--max-limit", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="explorer runs (best is reported)")
    ap.add_argument("--machine-runs", type=int, default=300)
    args = ap.parse_args()

    best = None
    for _ in range(args.repeat):
        r = ex.explore(args.profile, args.depth, args.max_backlog, args.max_limit,
                       progress=False)
        if best is None or r.seconds < best.seconds:
            best = r
    assert best is not None
    print(f"explorer: {args.profile}, depth {args.depth}, backlogs -1..{args.max_backlog}, "
          f"limits ..{args.max_limit} (best of {args.repeat})")
    print(f"  alphabet          {best.alphabet}")
    print(f"  distinct states   {best.distinct_states:,}")
    print(f"  transitions       {best.transitions:,} "
          f"({best.transitions / best.distinct_states:.1f} per distinct state)")
    print(f"  seconds           {best.seconds:.2f}")
    print(f"  states/s          {best.states_per_second:,.0f}   (target 50,000)")
    print(f"  transitions/s     {best.transitions / best.seconds:,.0f}")
    print(f"  violations        {len(best.violations)}")

    timers: Timers = {}
    with timed(timers):
        t0 = time.perf_counter()
        ex.explore(args.profile, args.depth, args.max_backlog, args.max_limit, progress=False)
        total = time.perf_counter() - t0
    print(f"\nwhere the time goes (one instrumented run, {total:.2f} s incl. timer overhead):")
    accounted = 0.0
    for name, secs in sorted(timers.items(), key=lambda kv: -kv[1]):
        accounted += secs
        print(f"  {name:<34} {secs:6.2f} s  {100 * secs / total:5.1f}%  "
              f"{1e6 * secs / best.transitions:5.1f} us/transition")
    rest = total - accounted
    print(f"  {'explorer loop, alphabet, dedup':<34} {rest:6.2f} s  {100 * rest / total:5.1f}%")
    model = timers.get("model transitions (host.apply)", 0.0) / total * best.seconds
    print(f"  -> with a free explorer and free checks, the model alone caps this run at "
          f"~{best.distinct_states / max(model, 1e-9):,.0f} states/s")

    stats = measure(args.profile, runs=args.machine_runs, steps=40)
    print(f"\nmachines: {args.profile}, {stats.runs} runs, {stats.steps:,} steps in "
          f"{stats.seconds:.1f} s: {stats.steps_per_second:,.0f} steps/s "
          f"({stats.runs / stats.seconds:,.1f} runs/s)")


if __name__ == "__main__":
    main()
