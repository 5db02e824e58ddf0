"""`listenspec machines`: the shipped Hypothesis stateful machines, run for every profile."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..errors import ListenspecError
from ..machines import InvariantBroken, ListenMachine, run_machine
from ..measure import MachineStats, format_stats, measure
from ..models.profiles import PROFILES
from ..progress import Progress
from .types import Sub


def _cmd(args: argparse.Namespace) -> int:
    names = args.profile or list(PROFILES)
    if args.examples < 1 or args.steps < 1:
        raise ListenspecError("--examples and --steps must be at least 1")
    failed = False
    report: list[dict[str, object]] = []
    bar = Progress("machines", None if not args.json else False)
    for i, name in enumerate(names):
        t0 = time.perf_counter()
        stats: list[MachineStats] = []
        runs = 0

        def counted(n: int, name: str = name, i: int = i) -> None:
            bar.update(min(n, args.examples) + i * args.examples,
                       len(names) * args.examples, f"{name} ({i + 1}/{len(names)} profiles)")

        def observe(_: set[str], __: ListenMachine) -> None:
            nonlocal runs
            runs += 1  # shrinking replays runs too: the bar counts generated runs only
            counted(runs)

        entry: dict[str, object] = {"profile": name, "examples": args.examples,
                                    "steps": args.steps}
        try:
            if args.deep:
                stats.append(measure(name, args.examples, args.steps, args.seed, counted))
            else:
                run_machine(name, examples=args.examples, steps=args.steps,
                            seed_value=args.seed, counterexample_dir=args.save_dir,
                            observe=observe)
        except InvariantBroken as e:
            failed = True
            bar.close()
            entry.update(ok=False, seconds=round(time.perf_counter() - t0, 2),
                         failure=str(e))
            report.append(entry)
            if not args.json:
                print(f"{name}: FAILED\n{e}", file=sys.stderr)
            continue
        bar.close()
        seconds = time.perf_counter() - t0
        entry.update(ok=True, seconds=round(seconds, 2))
        if stats:
            st = stats[0]
            entry["deep_states"] = {k: v for k, v in st.reached.items() if k in st.applicable}
        report.append(entry)
        if not args.json:
            print(f"{name}: ok ({args.examples} runs of up to {args.steps} steps, "
                  f"{seconds:.1f} s)")
            if stats:
                print(format_stats(stats))
    if args.json:
        print(json.dumps(report, indent=1))
    return 1 if failed else 0


def register(sub: Sub) -> None:
    """Add `listenspec machines` to an argparse subparsers object."""
    p = sub.add_parser("machines", help="run the Hypothesis stateful machines over the model")
    p.add_argument("--profile", action="append", choices=list(PROFILES), metavar="NAME",
                   help="only this profile (repeatable; default: all)")
    p.add_argument("--examples", type=int, default=100, help="runs per profile (default 100)")
    p.add_argument("--steps", type=int, default=40, help="steps per run (default 40)")
    p.add_argument("--seed", type=int, default=None, help="a fixed seed, for reproducible runs")
    p.add_argument("--save-dir", default="counterexamples", metavar="DIR",
                   help="where a shrunk counterexample is saved (default ./counterexamples)")
    p.add_argument("--deep", action="store_true",
                   help="also print how often each deep state was reached")
    p.add_argument("--json", action="store_true",
                   help="one object per profile: profile, ok, examples, steps, seconds, and "
                        "the failure (with its script) if any")
    p.set_defaults(func=_cmd)
