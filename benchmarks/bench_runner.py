"""Runner speed: a 10,000-step script under every profile (issue 2 target: < 1 s each).

    python benchmarks/bench_runner.py [--steps N] [--repeat R]

Prints, per profile, the best of R runs: seconds to parse, seconds to run, steps per second.
The script is connect/accept heavy and overflows the queue on every round, so the admission,
overflow, logging and accept paths all run.
"""

from __future__ import annotations

import argparse
import time

from listenspec.models.profiles import PROFILES
from listenspec.runner import run_model
from listenspec.script import parse


def make_script(steps: int) -> str:
    head = ["s = socket(AF_INET, SOCK_STREAM)", "listen(s, 1)",
            "u = socket(AF_UNIX, SOCK_STREAM)", "bind(u)", "listen(u, 0)"]
    body = [
        "c1 = socket(AF_INET, SOCK_STREAM)", "connect(c1, s)",
        "c2 = socket(AF_INET, SOCK_STREAM)", "connect(c2, s)",
        "c3 = socket(AF_INET, SOCK_STREAM)", "connect(c3, s)",
        "netstat(s)", "a = accept(s)", "close(a)", "b = accept(s)", "close(b)",
        "close(c1)", "close(c2)", "close(c3)",
        "x = socket(AF_UNIX, SOCK_STREAM)", "connect(x, u)", "connect(x, u)", "close(x)",
        "y = accept(u)", "close(y)", "listen(s, 1)", "syslog()",
    ]
    lines = list(head)
    while len(lines) < steps:
        lines.extend(body)
    return "\n".join(lines[:steps]) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    text = make_script(args.steps)
    print(f"{args.steps}-step script, best of {args.repeat}")
    print(f"{'profile':<12} {'parse s':>8} {'run s':>8} {'steps/s':>10}  target < 1 s")
    worst = 0.0
    for name, profile in PROFILES.items():
        best_parse = best_run = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            script = parse(text, "bench.lsn")
            t1 = time.perf_counter()
            run_model(script, profile)
            t2 = time.perf_counter()
            best_parse, best_run = min(best_parse, t1 - t0), min(best_run, t2 - t1)
        total = best_parse + best_run
        worst = max(worst, total)
        print(f"{name:<12} {best_parse:8.3f} {best_run:8.3f} {args.steps / best_run:10.0f}  "
              f"{'ok' if total < 1 else 'SLOW'}")
    print(f"slowest profile, parse + run: {worst:.3f} s")


if __name__ == "__main__":
    main()
