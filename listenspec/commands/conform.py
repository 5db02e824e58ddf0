"""`listenspec conform`: random scripts on a profile and this kernel, compared line by line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..conformpool import MOST_WORKERS, OTHER_MOST, OTHER_PER_CORE, PER_CORE, default_workers
from .types import Sub


def _cmd(args: argparse.Namespace) -> int:
    from ..conform import conform
    from ..errors import ListenspecError
    from ..targets import target

    if args.examples < 1:
        raise ListenspecError("--examples must be at least 1")
    if args.workers is None:
        args.workers = default_workers(args.target)
    if args.workers < 1:
        raise ListenspecError("--workers must be at least 1")
    with target(args.target) as stack:
        label = "kernel" if args.target == "linux" else "target"
        described = stack.describe()
        print(f"# {label}: {described}", file=sys.stderr)
        if args.all and args.workers > 1:
            print("# --all searches with one worker", file=sys.stderr)
        stats, report = conform(args.profile, args.examples, args.seed, Path(args.out),
                                args.max_steps, progress=None if not args.json else False,
                                stack=stack, workers=args.workers, keep_going=args.all)
    if args.json:
        # what a committed run (docs/runs/) needs to say where it comes from
        command = (f"listenspec conform --target {args.target} --profile {args.profile} "
                   f"--examples {args.examples}"
                   + (f" --seed {args.seed}" if args.seed is not None else "")
                   + (f" --max-steps {args.max_steps}" if args.max_steps != 25 else "")
                   + (" --all" if args.all else "") + " --json")
        run = {"command": command, "date": time.strftime("%Y-%m-%d"),
               "target": args.target, "stack": described, "profile": args.profile}
        print(json.dumps({**run, **stats.as_dict()}, indent=1))
    else:
        d = stats.as_dict()
        print(f"{d['scripts']} scripts, {d['steps']} steps ({stats.comparable_note()}), "
              f"{d['mismatches']} mismatches, {d['seconds']} s, {d['steps_per_second']} steps/s")
        for line in stats.not_comparable_lines():
            print(line)
        if stats.shortfall():
            print(stats.shortfall())
        if args.all:
            print(f"{len(stats.divergences)} distinct divergences; {stats.known_scripts} more "
                  "scripts showed one already found")
        if args.coverage:
            print("\n".join(stats.coverage_lines()))
        if report:
            print(report)
    return 1 if stats.mismatches else 0


def register(sub: Sub) -> None:
    p = sub.add_parser("conform", help="random scripts on the model and this kernel (or a "
                                         "--target), compared")
    p.add_argument("--profile", default="linux", help="the profile to hold the kernel to "
                                                      "(default: linux)")
    p.add_argument("--examples", type=int, default=200, help="scripts to run (default 200)")
    p.add_argument("--seed", type=int, default=None, help="a seed, for a different sample "
                                                          "(default: derandomized)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="run scripts in N processes, each run in a network namespace of its "
                        f"own, the model's checks in one more a core (default: {PER_CORE} per "
                        f"core, at most {MOST_WORKERS}, as a run mostly waits; "
                        f"{default_workers()} here; for a --target other than linux "
                        f"{OTHER_PER_CORE} per core, at most {OTHER_MOST}); the result is the "
                        "same for any N")
    p.add_argument("--max-steps", type=int, default=25, help="longest script (default 25)")
    p.add_argument("--out", default="counterexamples", help="where a mismatch is saved")
    p.add_argument("--target", default="linux", metavar="NAME",
                   help="the stack to run the scripts on: linux (default: this kernel), gvisor "
                        "(gVisor's netstack, in one runsc sandbox) or exec:CMD (a program "
                        "speaking the executor protocol)")
    p.add_argument("--all", action="store_true",
                   help="go on after a mismatch: find, shrink and save every divergence (each "
                        "search of --examples scripts starts again after one is found, passing "
                        "over scripts that show one already found)")
    p.add_argument("--coverage", action="store_true",
                   help="also print how many steps exercised each call and outcome, and how "
                        "often the rare outcomes (a reset peer, a timer, a syncookie) came up")
    p.add_argument("--json", action="store_true",
                   help="keys: scripts, requested, steps, skipped_steps (not comparable: the "
                        "target answered unsupported), not_comparable (reason -> steps), "
                        "mismatches, seconds, steps_per_second, divergences, ...")
    p.set_defaults(func=_cmd)
