"""`listenspec verify`: the main job (listenspec.verify), with --json and --report."""

from __future__ import annotations

import argparse
import json

from .types import Sub


def _cmd(args: argparse.Namespace) -> int:
    from ..verify import verify

    ok, summary = verify(quick=args.quick, only=args.only)
    if args.report:
        from pathlib import Path

        from ..report import write_report

        write_report(Path(args.report), ok, summary)
        print(f"report written to {args.report}")
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
    return 0 if ok else 1


def register(sub: Sub) -> None:
    p = sub.add_parser("verify", help="the main job: clauses x profiles, then every stage")
    p.add_argument("--quick", action="store_true", help="smaller budgets for each stage")
    p.add_argument("--only", action="append", metavar="STAGE", help="only this stage")
    p.add_argument("--json", action="store_true", help="also print a JSON summary")
    p.add_argument("--report", metavar="FILE", help="write what verify found to FILE "
                                                    "(.md or .html): a file for a bug report")
    p.set_defaults(func=_cmd)
