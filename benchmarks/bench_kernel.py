"""Kernel executor speed: steps per second on connect/accept-heavy scripts, the cost of many
short runs (each run forks a child and makes a network namespace), and the same short runs
through one runner that keeps its child (as conform's workers do), with the CPU of the whole
machine a run for both (the kworkers that tear namespaces down included).

    python benchmarks/bench_kernel.py [--repeat N] [--short-runs N]

Targets (issue 5): at least 2,000 steps per second; 1,000 short scripts in under 60 seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listenspec.kernel import kernel_environment, kernel_runner, run_on_kernel
from listenspec.results import Err, Unsupported
from listenspec.script import Script, parse

TARGET_STEPS_PER_SECOND = 2000
TARGET_SHORT_RUNS_SECONDS = 60.0


def connect_accept(rounds: int, domain: str) -> Script:
    """Connect, accept, close, over and over: the executor's common path."""
    lines = [f"s = socket({domain}, SOCK_STREAM)", "bind(s)", "listen(s, 4)"]
    for _ in range(rounds):
        lines += [
            f"c = socket({domain}, SOCK_STREAM)",
            "connect(c, s)",
            "a = accept(s)",
            "close(a)",
            "close(c)",
        ]
    return parse("\n".join(lines) + "\n", f"<connect/accept {domain}>")


def overflow(rounds: int) -> Script:
    """A full TCP queue: every connect is a silent drop, detected and abandoned."""
    lines = ["s = socket(AF_INET, SOCK_STREAM)", "bind(s)", "listen(s, 0)",
             "k = socket(AF_INET, SOCK_STREAM)", "connect(k, s)"]
    for _ in range(rounds):
        lines += ["c = socket(AF_INET, SOCK_STREAM)", "connect(c, s)", "netstat(s)"]
    return parse("\n".join(lines) + "\n", "<overflow>")


def short_script() -> Script:
    return parse(
        "s = socket(AF_INET, SOCK_STREAM)\nbind(s)\nlisten(s, 1)\n"
        "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\nnetstat(s)\na = accept(s)\n",
        "<short>",
    )


def steps_per_second(script: Script, repeat: int) -> tuple[float, int]:
    rates = []
    problems = 0
    for _ in range(repeat):
        started = time.perf_counter()
        results = run_on_kernel(script)
        rates.append(len(script.steps) / (time.perf_counter() - started))
        problems += sum(isinstance(r, Unsupported) for r in results)
    return statistics.median(rates), problems


def _busy_seconds() -> float:
    """CPU time of every process and kernel thread since boot (/proc/stat: all but idle)."""
    import os

    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def short_runs(script: Script, n: int, kept: bool) -> tuple[float, float]:
    """(wall ms, machine CPU ms) a run, for n runs each forked anew or through one runner that
    keeps its child; the machine's CPU is read after a settling second, so that the namespaces'
    teardown (in kworkers) is counted, as is whatever else the machine did then."""
    runner = kernel_runner() if kept else None
    try:
        run_on_kernel(script, runner=runner)
        time.sleep(1.0)
        busy, started = _busy_seconds(), time.perf_counter()
        for _ in range(n):
            run_on_kernel(script, runner=runner)
        wall = time.perf_counter() - started
    finally:
        if runner is not None:
            runner.close()
    time.sleep(1.0)
    return 1000 * wall / n, 1000 * (_busy_seconds() - busy) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--short-runs", type=int, default=1000)
    args = parser.parse_args()

    print(f"environment: {kernel_environment()}")
    headline = 0.0
    for name, script in [
        ("connect/accept AF_INET", connect_accept(400, "AF_INET")),
        ("connect/accept AF_INET6", connect_accept(400, "AF_INET6")),
        ("connect/accept AF_UNIX", connect_accept(400, "AF_UNIX")),
        ("overflow (drop + netstat)", overflow(200)),
    ]:
        rate, problems = steps_per_second(script, args.repeat)
        headline = headline or rate
        note = f"  ({problems} unsupported results)" if problems else ""
        print(f"{name:28s} {len(script.steps):5d} steps/run  {rate:10,.0f} steps/s{note}")

    script = short_script()
    started = time.perf_counter()
    for _ in range(args.short_runs):
        results = run_on_kernel(script)
        assert not any(isinstance(r, Err) and r.errno == "EINPROGRESS" for r in results)
    seconds = time.perf_counter() - started
    print(f"{args.short_runs} short runs ({len(script.steps)} steps each): {seconds:.2f} s "
          f"({seconds / args.short_runs * 1000:.1f} ms per run incl. fork + namespace)")

    for label, kept in (("a child per run", False), ("one runner, its child kept", True)):
        wall, machine = short_runs(script, args.short_runs, kept)
        print(f"  {label:28s} {wall:6.2f} ms a run, {machine:6.2f} ms of the machine's CPU a "
              f"run")

    ok = headline >= TARGET_STEPS_PER_SECOND and seconds < TARGET_SHORT_RUNS_SECONDS
    print(f"target >= {TARGET_STEPS_PER_SECOND:,} steps/s on connect/accept: "
          f"{'met' if headline >= TARGET_STEPS_PER_SECOND else 'MISSED'} ({headline:,.0f})")
    print(f"target {args.short_runs} short runs < {TARGET_SHORT_RUNS_SECONDS:g} s: "
          f"{'met' if seconds < TARGET_SHORT_RUNS_SECONDS else 'MISSED'} ({seconds:.2f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
