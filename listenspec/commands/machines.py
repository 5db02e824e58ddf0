"""`listenspec machines`: the shipped Hypothesis stateful machines, run for every profile."""

from __future__ import annotations

import argparse
import sys
import time

from ..machines import InvariantBroken, run_machine
from ..measure import MachineStats, format_stats, measure
from ..models.profiles import PROFILES
from .types import Sub


def _cmd(args: argparse.Namespace) -> int:
    if args.examples < 1 or args.steps < 1:
        from ..errors import ListenspecError

        raise ListenspecError("--examples and --steps must be at least 1")
    names = args.profile or list(PROFILES)
    failed = False
    for name in names:
        t0 = time.perf_counter()
        stats: list[MachineStats] = []
        try:
            if args.deep:
                stats.append(measure(name, args.examples, args.steps, args.seed))
            else:
                run_machine(name, examples=args.examples, steps=args.steps,
                            seed_value=args.seed, counterexample_dir=args.save_dir)
        except InvariantBroken as e:
            failed = True
            print(f"{name}: FAILED\n{e}", file=sys.stderr)
            continue
        print(f"{name}: ok ({args.examples} runs of up to {args.steps} steps, "
              f"{time.perf_counter() - t0:.1f} s)")
        if stats:
            print(format_stats(stats))
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
    p.set_defaults(func=_cmd)
