"""`listenspec explore`: the exhaustive bounded explorer (listenspec.explore)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from ..checked import save_counterexample
from ..errors import ListenspecError
from ..explore import ALPHABETS, ExploreResult, explore
from ..models.profiles import PROFILES
from .types import Sub


def _print_result(r: ExploreResult, out: TextIO) -> None:
    print(f"explore {r.profile}: depth {r.depth_done}/{r.depth}"
          f"{'' if r.complete else ' (stopped by the time budget)'}", file=out)
    print(f"alphabet: {r.alphabet}", file=out)
    print(f"reductions: {', '.join(r.reductions) or 'none'}; workers: {r.workers}", file=out)
    print(f"distinct states:  {r.distinct_states}", file=out)
    print(f"transitions:      {r.transitions}", file=out)
    print(f"seconds:          {r.seconds:.2f}", file=out)
    print(f"states/s:         {r.states_per_second:,.0f}", file=out)
    print(f"new states per depth: {' '.join(map(str, r.layers))}", file=out)
    print(f"violations:       {len(r.violations)}", file=out)
    for script in r.violations:
        print("\n" + script, end="", file=out)


def _cmd(args: argparse.Namespace) -> int:
    if args.depth < 0 or args.max_backlog < -1 or args.max_limit < 0:
        raise ListenspecError("--depth, --max-backlog and --max-limit must be non-negative")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ListenspecError("--workers must be at least 1")
    if args.alphabet == "anchor" and args.max_backlog < 0:
        raise ListenspecError("--alphabet anchor needs --max-backlog (MAXB) >= 0")
    r = explore(args.profile, args.depth, args.max_backlog, args.max_limit,
                domains=tuple(args.domain or ("AF_INET",)), reads=args.reads,
                symmetry=not args.no_symmetry, por=args.por, lazy=not args.no_lazy,
                alphabet=args.alphabet, workers=workers, time_budget=args.time_budget,
                progress=None if not args.json else False)
    if args.save_dir:
        for script in r.violations:
            path = save_counterexample(script, r.profile, args.save_dir, "explore")
            print(f"saved {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(r.json(), indent=1))
    else:
        _print_result(r, sys.stdout)
    return 1 if r.violations else 0


def register(sub: Sub) -> None:
    """Add `listenspec explore` to an argparse subparsers object."""
    p = sub.add_parser("explore", help="exhaustive bounded exploration of the model")
    p.add_argument("--profile", required=True, choices=list(PROFILES), metavar="NAME",
                   help=f"one of: {', '.join(PROFILES)}")
    p.add_argument("--depth", type=int, default=8, help="longest call sequence (default 8)")
    p.add_argument("--max-backlog", type=int, default=2,
                   help="listen() backlogs tried: -1..B (default 2)")
    p.add_argument("--max-limit", type=int, default=2,
                   help="hard-limit sysctl values tried: lo..M (default 2)")
    p.add_argument("--domain", action="append", choices=["AF_INET", "AF_INET6", "AF_UNIX"],
                   help="socket domains in the alphabet (repeatable; default AF_INET)")
    p.add_argument("--reads", action="store_true", help="also try the pure reads")
    p.add_argument("--alphabet", choices=ALPHABETS, default="full",
                   help="full: every declared call (default); anchor: the SPIN anchor's six "
                        "moves on one listener (--max-backlog is its MAXB)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes sharing the search (default: every core)")
    p.add_argument("--no-symmetry", action="store_true",
                   help="keep descriptor numbers in the state key")
    p.add_argument("--no-lazy", action="store_true",
                   help="make socket() a move of its own (default: sockets are created where "
                        "they are first used)")
    p.add_argument("--por", action="store_true",
                   help="partial-order reduction: skip moves that commute or change nothing "
                        "(fewer calls; more memory)")
    p.add_argument("--time-budget", type=float, default=None, metavar="SECONDS")
    p.add_argument("--save-dir", metavar="DIR", help="also save counterexamples here")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_cmd)
