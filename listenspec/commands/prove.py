"""`listenspec prove`: the Z3 proofs, property x profile."""

from __future__ import annotations

import argparse
import json
import sys

from ..models.profiles import PROFILES
from .types import Sub


def _cmd(args: argparse.Namespace) -> int:
    from ..proofs.run import properties, report, run_all, summary

    results = run_all(args.profile, progress=None if not args.json else False)
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=1))
    elif args.details:
        for prop in properties():
            print(f"{prop.name}: {prop.statement}")
        print()
        print("\n".join(report(results, details=True)))
    else:  # a screenful: a line per property, anything unexpected in full
        print("\n".join(summary(results)))
    sys.stdout.flush()
    return 0 if all(r.ok for r in results) else 1


def register(sub: Sub) -> None:
    p = sub.add_parser("prove", help="Z3 proofs of the invariants, property x profile")
    p.add_argument("--profile", action="append", choices=list(PROFILES), metavar="NAME",
                   help="only this profile (repeatable)")
    p.add_argument("--json", action="store_true", help="one object per property x profile")
    p.add_argument("--details", action="store_true",
                   help="everything: the statements, the property x profile table with "
                        "seconds per cell, every counterexample as a script and how each "
                        "proof went (default: a line per property)")
    p.set_defaults(func=_cmd)
