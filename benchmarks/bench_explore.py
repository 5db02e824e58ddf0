"""The explorer's speed, reductions, memory and parallel speed-up, and the Hypothesis machines'
speed, each printed with the figure it is measured against in the same run.

    python benchmarks/bench_explore.py                       # all sections, freebsd-src
    python benchmarks/bench_explore.py --only reductions memory --depth 9
    python benchmarks/bench_explore.py --only target         # depth 12 at 2 workers (minutes)

Sections (--only picks some):

* speed: distinct states and calls per second at --depth, and where the time goes (the
  model's transitions, the invariant checks, encoding and decoding keys, the rest);
* reductions: states stored and calls made to exhaust --depth with every reduction on and
  with each one off (symmetry, lazy socket creation, partial-order reduction);
* memory: bytes per stored state (tracemalloc's peak over the whole search: visited keys,
  node arrays, frontier, arrivals), against the representation before issue 13 (tuple keys
  and a concrete state per frontier entry) built for the same states in the same run;
* workers: wall-clock time and speed-up for each --workers count (same states and calls);
* target: issue 13's case: freebsd-src, backlog and limit <= 2, depth 12, 2 workers, 60 s;
* machines: the Hypothesis machines' steps per second.

The machine is shared: each time is the best of --repeat runs, and the load average is
printed; figures from a busy machine are lower bounds.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import legacy_explorer as legacy

from listenspec import composite, expand
from listenspec import explore as ex
from listenspec.measure import measure
from listenspec.models import host

Timers = dict[str, float]
SECTIONS = ("speed", "reductions", "memory", "workers", "target", "machines")


def best(repeat: int, run: Callable[[], ex.ExploreResult]) -> tuple[ex.ExploreResult, float]:
    """The run with the least wall-clock time of `repeat`, and that time."""
    out: tuple[ex.ExploreResult, float] | None = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = run()
        wall = time.perf_counter() - t0
        if out is None or wall < out[1]:
            out = (r, wall)
    assert out is not None
    return out


# --------------------------------------------------------------------------- speed


@contextmanager
def timed(timers: Timers) -> Iterator[None]:
    """Wrap the model's calls, check_step and the key's encode/decode with timers."""
    saved_calls = dict(host.CALLS)
    saved = composite.check_step, expand.encode, expand.decode

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        # wraps: the alphabet is drawn from the calls' signatures (inspect follows __wrapped__)
        @functools.wraps(fn)
        def timed_fn(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timers[name] = timers.get(name, 0.0) + time.perf_counter() - t0
        return timed_fn

    for call, fn in saved_calls.items():
        host.CALLS[call] = wrap("model transitions (host.CALLS)", fn)
    composite.check_step = wrap("invariant checks (check_step)", saved[0])  # type: ignore[assignment]
    expand.encode = wrap("state key (encode)", saved[1])  # type: ignore[assignment]
    expand.decode = wrap("decoding keys (decode)", saved[2])  # type: ignore[assignment]
    try:
        yield
    finally:
        host.CALLS.update(saved_calls)
        composite.check_step, expand.encode, expand.decode = saved  # type: ignore[assignment]


def speed(args: argparse.Namespace) -> None:
    r, wall = best(args.repeat, lambda: ex.explore(args.profile, args.depth, args.max_backlog,
                                                   args.max_limit, progress=False))
    print(f"speed: {args.profile}, depth {args.depth}, backlogs -1..{args.max_backlog}, "
          f"limits ..{args.max_limit}, reductions {', '.join(r.reductions)} "
          f"(best of {args.repeat})")
    print(f"  alphabet          {r.alphabet}")
    print(f"  distinct states   {r.distinct_states:,}")
    print(f"  calls             {r.transitions:,} ({r.transitions / r.distinct_states:.1f} "
          "per stored state)")
    print(f"  seconds           {wall:.2f}")
    print(f"  states/s          {r.distinct_states / wall:,.0f}")
    print(f"  calls/s           {r.transitions / wall:,.0f}")
    t0 = time.perf_counter()
    n, calls = legacy.explore(args.profile, args.depth, args.max_backlog, args.max_limit)
    old = time.perf_counter() - t0
    print(f"  before issue 13   {n:,} states, {calls:,} calls in {old:.2f} s "
          f"(benchmarks/legacy_explorer.py, same run): x{old / wall:.2f} the time now")
    timers: Timers = {}
    with timed(timers):
        t0 = time.perf_counter()
        timed_run = ex.explore(args.profile, args.depth, args.max_backlog, args.max_limit,
                               progress=False)
        total = time.perf_counter() - t0
    if (timed_run.distinct_states, timed_run.broken) != (r.distinct_states, r.broken):
        sys.exit(f"bench_explore: the instrumented run differs ({timed_run.distinct_states:,} "
                 f"states, broken {timed_run.broken}): its timers are not the search's")
    print(f"  where the time goes (one instrumented run, {total:.2f} s incl. timer overhead):")
    accounted = 0.0
    for name, secs in sorted(timers.items(), key=lambda kv: -kv[1]):
        accounted += secs
        print(f"    {name:<34} {secs:6.2f} s  {100 * secs / total:5.1f}%  "
              f"{1e6 * secs / r.transitions:5.1f} us/call")
    rest = total - accounted
    print(f"    {'explorer: moves, footprints, dedup':<34} {rest:6.2f} s  "
          f"{100 * rest / total:5.1f}%")


# --------------------------------------------------------------------------- reductions

CONFIGS: dict[str, dict[str, bool]] = {
    "default (symmetry, lazy)": {},
    "without symmetry": {"symmetry": False},
    "without lazy creation": {"lazy": False},
    "with partial-order reduction": {"por": True},
    "none": {"symmetry": False, "lazy": False},
}


def reductions(args: argparse.Namespace) -> None:
    d = args.depth
    print(f"reductions: {args.profile}, states stored and calls to exhaust depth {d}")
    runs = {}
    for name, kw in CONFIGS.items():
        r, wall = best(1, lambda kw=kw: ex.explore(args.profile, d, args.max_backlog,
                                                   args.max_limit, progress=False, **kw))
        runs[name] = r
        print(f"  {name:<30} {r.distinct_states:>9,} states  {r.transitions:>10,} calls  "
              f"{wall:7.2f} s")
    base = runs["default (symmetry, lazy)"]
    for name, r in runs.items():
        if name.startswith("default"):
            continue
        print(f"  default vs {name:<28} states x{r.distinct_states / base.distinct_states:.2f}"
              f"  calls x{r.transitions / base.transitions:.2f}")
    # what each reduction saves, measured with the others as in the default
    print("  each reduction saves (states, calls) at depth", d)
    print(f"    symmetry (descriptors renamed)  "
          f"{_saved(runs['without symmetry'].distinct_states, base.distinct_states)} states, "
          f"{_saved(runs['without symmetry'].transitions, base.transitions)} calls")
    print(f"    lazy socket creation            "
          f"{_saved(runs['without lazy creation'].distinct_states, base.distinct_states)} "
          f"states, {_saved(runs['without lazy creation'].transitions, base.transitions)} calls")
    por = runs["with partial-order reduction"]
    print(f"    partial-order reduction         {_saved(base.distinct_states, por.distinct_states)}"
          f" states, {_saved(base.transitions, por.transitions)} calls")


def _saved(without: int, with_: int) -> str:
    return f"{100 * (without - with_) / without:5.1f}%"


# --------------------------------------------------------------------------- memory


def _traced(run: Callable[[], Any]) -> tuple[Any, int]:
    """run()'s result and the peak of memory tracemalloc saw it allocate."""
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    try:
        got = run()
        return got, tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def memory(args: argparse.Namespace) -> None:
    d = args.depth
    ex.explore(args.profile, 2, progress=False)  # imports and caches, not counted
    legacy.explore(args.profile, 2)
    r, peak = _traced(lambda: ex.explore(args.profile, d, args.max_backlog, args.max_limit,
                                         progress=False))
    per = peak / r.distinct_states
    print(f"memory: {args.profile}, depth {d}, peak traced over the whole search (keys, "
          f"node arrays, frontier, arrivals)")
    print(f"  now:    {r.distinct_states:>9,} states stored, {peak / 2**20:7.1f} MiB: "
          f"{per:6,.0f} B per stored state (target 750)")
    (n, _calls), old = _traced(lambda: legacy.explore(args.profile, d, args.max_backlog,
                                                      args.max_limit))
    old_per = old / n
    print(f"  before: {n:>9,} states stored, {old / 2**20:7.1f} MiB: {old_per:6,.0f} B per "
          f"stored state (benchmarks/legacy_explorer.py: tuple keys, concrete frontier)")
    print(f"  -> x{old_per / per:.1f} less per stored state (target 4x); "
          f"x{old / peak:.1f} less in all at this depth")


# --------------------------------------------------------------------------- workers


def workers(args: argparse.Namespace) -> None:
    d = args.depth
    print(f"workers: {args.profile}, depth {d}, wall-clock time (best of {args.repeat}; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    base = None
    for n in args.workers:
        r, wall = best(args.repeat, lambda n=n: ex.explore(
            args.profile, d, args.max_backlog, args.max_limit, workers=n, progress=False))
        if base is None:
            base = (r, wall)
        assert r.layers == base[0].layers and r.transitions == base[0].transitions
        print(f"  {n} worker(s): {wall:7.2f} s  {r.distinct_states / wall:8,.0f} states/s  "
              f"speed-up x{base[1] / wall:.2f} against {args.workers[0]}")


# --------------------------------------------------------------------------- target


def target(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    r = ex.explore("freebsd-src", 12, 2, 2, workers=2, progress=None)
    wall = time.perf_counter() - t0
    print(f"target: freebsd-src, backlog and limit <= 2, depth 12, 2 workers: "
          f"{r.distinct_states:,} states, {r.transitions:,} calls in {wall:.1f} s "
          f"(target 60 s; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); "
          f"layers {' '.join(map(str, r.layers))}")


# --------------------------------------------------------------------------- machines


def machines(args: argparse.Namespace) -> None:
    stats = measure(args.profile, runs=args.machine_runs, steps=40)
    print(f"machines: {args.profile}, {stats.runs} runs, {stats.steps:,} steps in "
          f"{stats.seconds:.1f} s: {stats.steps_per_second:,.0f} steps/s "
          f"({stats.runs / stats.seconds:,.1f} runs/s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="freebsd-src")
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--max-backlog", type=int, default=2)
    ap.add_argument("--max-limit", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each (best is reported)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--machine-runs", type=int, default=300)
    ap.add_argument("--only", nargs="+", choices=SECTIONS, default=None,
                    help="sections to run (default: all but target)")
    args = ap.parse_args()
    chosen = args.only or [s for s in SECTIONS if s != "target"]
    for name in chosen:
        globals()[name](args)
        print(flush=True)


if __name__ == "__main__":
    main()
