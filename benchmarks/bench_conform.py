"""Conformance speed (issue 13, part 4): scripts/s and steps/s at conform's default worker
count (others with --workers), against SibylFS's 70 scripts/s (21,000 tests in under 5
minutes), for

* the default mix: exactly the scripts `listenspec conform --seed S --examples N` checks
  (conform.conform, the command's own path). The generator puts a sleep() of 0.5 to 3.5 s in
  its timer scenarios: real seconds the kernel must wait, printed as the mix's sleep total;
* the no-sleep mix: the same scripts with their sleep() steps taken out, checked the same way
  (what the rest costs), clearly labelled;

then the CPU each kind of process took in that run (workers, their kernel children, judges,
drawing, dispatching), where a script's CPU goes (drawing it, the kernel run here and in its
child, the model's check) and the rate that allows on this machine's cores, and the cost of
one short run: forked per run as before (run_on_kernel: fork, namespace, kill or exit, reap)
against a Runner that makes the next namespace ahead of use.

    python benchmarks/bench_conform.py [--examples N] [--seed S] [--workers 64,128]

A run of N scripts takes at least its longest script (a sleep() of up to 3.5 s), so a small N
understates the rate of a long run: the default is 2,000 scripts (SibylFS's figure is for
21,000).

The machine is shared: figures move with other people's load (printed: the load average).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import attrs

from listenspec import conform, conformpool
from listenspec.conformpool import InProcess, Workers, cores, default_workers, sleeper_lanes
from listenspec.kernel import kernel_runner, run_on_kernel
from listenspec.models.profiles import get
from listenspec.script import Script, parse
from listenspec.scriptgen import scripts
from listenspec.targets import prepare, target

SIBYLFS = 70.0  # scripts/s: 21,000 tests in under 5 minutes
TARGET = 140.0  # issue 13: twice SibylFS


def _sleeps(s: Script) -> float:
    return sum(float(a) for st in s.steps if st.call.name == "sleep"
               for a in st.call.args if isinstance(a, Decimal))


def _without_sleep(s: Script) -> Script:
    return attrs.evolve(s, steps=tuple(st for st in s.steps if st.call.name != "sleep"))


def _line(label: str, n: int, steps: int, seconds: float) -> str:
    rate = n / seconds
    return (f"  {label:<28} {n} scripts, {steps} steps in {seconds:6.2f} s: "
            f"{rate:6.1f} scripts/s ({rate / SIBYLFS:.2f}x SibylFS's {SIBYLFS:g}/s; "
            f"target {TARGET:g}), {steps / seconds:7.1f} steps/s")


def _check_all(mix: list[Script], workers: int) -> float:
    profile = get("linux")
    started = time.monotonic()
    if workers == 1:
        with target("linux") as stack:
            pool: InProcess | Workers = InProcess(
                lambda s: conform.check_one(s, profile, stack))
            got = dict(pool.checks(mix))
    else:
        prepare("linux")  # as conform does before it forks its workers
        pool = Workers(workers, lambda: target("linux"), lambda s, st: st.run(s),
                       then=lambda s, kernel: conform.checked(s, profile, kernel))
        try:
            got = dict(pool.checks(mix))
        finally:
            pool.close()
    seconds = time.monotonic() - started
    bad = sum(c.at is not None for c in got.values())
    if bad:
        print(f"  ({bad} of these scripts do not conform once their sleeps are gone)")
    return seconds


@contextmanager
def roles(out: dict[str, float]) -> Iterator[None]:
    """CPU seconds a parallel conform run spends in each kind of process: this one (drawing
    nothing, dispatching), the workers (their own, with making their targets at the start,
    and their kernel children's once reaped), the judges and the drawing process. Each forked
    process writes its getrusage as it exits (conformpool._work and _draw_here end in
    os._exit, wrapped here in the child only)."""
    real_work, real_draw = conformpool._work, conformpool._draw_here
    with tempfile.TemporaryDirectory(prefix="listenspec-roles-") as tmp:

        def at_exit(role: str | None) -> None:
            real_exit = os._exit

            def leave(code: int) -> NoReturn:
                me = resource.getrusage(resource.RUSAGE_SELF)
                kids = resource.getrusage(resource.RUSAGE_CHILDREN)
                name = role or "run"
                with open(os.path.join(tmp, f"{name}.{os.getpid()}"), "w") as f:
                    json.dump([name, me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime],
                              f)
                real_exit(code)

            os._exit = leave  # type: ignore[assignment]  # in the forked child only

        def work(*args: Any) -> None:
            at_exit("judge" if args[-1] else None)  # the last argument: idle (a judge)
            real_work(*args)

        def draw_here(*args: Any) -> None:
            at_exit("draw")
            real_draw(*args)

        conformpool._work = work  # type: ignore[assignment]
        conformpool._draw_here = draw_here  # type: ignore[assignment]
        before = resource.getrusage(resource.RUSAGE_SELF)
        try:
            yield
        finally:
            conformpool._work, conformpool._draw_here = real_work, real_draw
        after = resource.getrusage(resource.RUSAGE_SELF)
        out["parent"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        for name in os.listdir(tmp):
            with open(os.path.join(tmp, name)) as f:
                role, me_s, kids_s = json.load(f)
            out[role] = out.get(role, 0.0) + me_s
            if kids_s:
                out[f"{role} children"] = out.get(f"{role} children", 0.0) + kids_s


_ROLE_NAMES = {"run": "workers", "run children": "their kernel children", "judge": "judges",
               "draw": "drawing", "parent": "dispatching"}


def _roles_line(cpu: dict[str, float], seconds: float) -> str:
    total = sum(cpu.values())
    parts = ", ".join(f"{_ROLE_NAMES.get(k, k)} {v:.1f}"
                      for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]))
    return (f"  {'':<28} CPU by process: {parts} = {total:.1f} CPU-s of the "
            f"{cores() * seconds:.1f} its {cores()} cores had")


def cpu_split(mix: list[Script], draw: float) -> None:
    """Where one script's CPU goes, each part measured alone on the no-sleep mix: Hypothesis
    drawing it, the kernel run (this process and the run's child), the model's check of the
    results (and the coverage run); and the rate those allow on this machine's cores. `draw`:
    the CPU seconds Hypothesis took to draw the mix, a script."""
    profile = get("linux")
    bare = [_without_sleep(s) for s in mix]
    with target("linux") as stack:
        stack.run(bare[0])
        before = os.times()
        results = [stack.run(s) for s in bare]
    # after close(): the runner keeps its child from run to run, and a child's CPU is counted
    # once it is reaped (this one also ran bare[0], a run in len(bare) + 1 too many)
    after = os.times()
    parent = (after.user + after.system - before.user - before.system) / len(bare)
    child = (after.children_user + after.children_system
             - before.children_user - before.children_system) / len(bare)
    t = time.process_time()
    for s, r in zip(bare, results, strict=True):
        conform.first_difference(s, profile, r)
        conform.rare_outcomes(s, profile)
    model = (time.process_time() - t) / len(bare)
    total = draw + parent + child + model
    cores = os.cpu_count() or 1
    print(f"CPU a script (no-sleep mix, {len(bare)} scripts): draw {1000 * draw:.1f} ms, "
          f"kernel run {1000 * parent:.1f} ms here + {1000 * child:.1f} ms in its child, "
          f"model check {1000 * model:.1f} ms: {1000 * total:.1f} ms in all")
    print(f"  -> at most {cores / total:.0f} scripts/s on {cores} cores with every wait "
          f"overlapped (target {TARGET:g}: {1000 * cores / TARGET:.1f} ms a script here)")


def short_runs(n: int) -> None:
    script = parse("s = socket(AF_INET, SOCK_STREAM)\nbind(s)\nlisten(s, 1)\n"
                   "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\nnetstat(s)\n"
                   "a = accept(s)\n", "<short>")
    started = time.monotonic()
    for _ in range(n):
        run_on_kernel(script)
    alone = (time.monotonic() - started) / n
    r = kernel_runner()
    try:
        # through run_on_kernel, as conform does: the runner's own run() without the probes'
        # findings would settle each connect by poll with a reset grace (20 ms), not by TCP_INFO
        run_on_kernel(script, runner=r)
        started = time.monotonic()
        for _ in range(n):
            run_on_kernel(script, runner=r)
        ahead = (time.monotonic() - started) / n
    finally:
        r.close()
    print(f"one short run (7 steps), {n} times: {1000 * alone:.1f} ms forked per run, "
          f"{1000 * ahead:.1f} ms with the namespace made ahead of use")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", default=f"{default_workers()}",
                    help="worker counts, comma-separated (default: conform's own, "
                         f"{default_workers()} here)")
    ap.add_argument("--short", type=int, default=100, help="short runs to time")
    args = ap.parse_args()
    counts = [int(x) for x in args.workers.split(",")]
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} cores (shared: other people's load lowers these figures)")
    # conform first, from a process that has drawn nothing yet, as the command runs it
    runs = []
    for n in counts:
        cpu: dict[str, float] = {}
        with roles(cpu):
            stats, report = conform.conform("linux", args.examples, args.seed,
                                            Path("counterexamples"), workers=n)
        runs.append((n, stats, report, cpu))
    gen = scripts(max_steps=25, syn=True, profile="linux")
    t = time.process_time()
    mix = conform._draw(gen, args.examples, args.seed)
    draw = (time.process_time() - t) / len(mix)
    steps = sum(len(s.steps) for s in mix)
    slept = [_sleeps(s) for s in mix]
    print(f"mix: conform's default generator, --seed {args.seed} --examples {args.examples}: "
          f"{len(mix)} scripts, {steps} steps; {sum(x > 0 for x in slept)} scripts sleep, "
          f"{sum(slept):.1f} s of sleep() in all ({sum(slept) / len(mix):.2f} s a script)")
    for n, stats, report, cpu in runs:
        print(f"workers {n}:")
        print(_line("default mix (conform)", stats.scripts, stats.steps, stats.seconds)
              + f", {stats.mismatches} mismatches")
        print(_roles_line(cpu, stats.seconds))
        if report:
            print(report)
        lanes = sleeper_lanes(n, cores())
        floor = max(sum(slept) / lanes, max(slept))
        print(f"  {'':<28} sleep() alone bounds it below by {floor:.1f} s "
              f"({len(mix) / max(floor, 1e-9):.1f} scripts/s at most: {lanes} workers may "
              f"sleep at once, the longest script sleeps {max(slept):g} s)")
        bare = [_without_sleep(s) for s in mix]
        seconds = _check_all(bare, n)
        print(_line("no-sleep mix (same, no sleep)", len(bare),
                    sum(len(s.steps) for s in bare), seconds))
    cpu_split(mix, draw)
    short_runs(args.short)
    return 0


if __name__ == "__main__":
    sys.exit(main())
