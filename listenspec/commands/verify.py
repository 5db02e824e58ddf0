"""`listenspec verify`: the main job (listenspec.verify), with --json and --report."""

from __future__ import annotations

import argparse
import io
import json
import sys

from .types import Sub


def _cmd(args: argparse.Namespace) -> int:
    from ..verify import verify

    # with --json, stdout carries the JSON alone (a program reads it); the text goes nowhere
    out = io.StringIO() if args.json else sys.stdout
    ok, summary = verify(out, quick=args.quick, only=args.only)
    for report in args.report or ():
        from pathlib import Path

        from ..report import write_report

        write_report(Path(report), ok, summary)
        print(f"report written to {report}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
    return 0 if ok else 1


def register(sub: Sub) -> None:
    p = sub.add_parser("verify", help="the main job: clauses x profiles, then every stage")
    p.add_argument("--quick", action="store_true", help="smaller budgets for each stage")
    from ..verify import STAGE_NAMES

    p.add_argument("--only", action="append", metavar="STAGE", choices=STAGE_NAMES,
                   help=f"only this stage after the clause table, one of: "
                        f"{', '.join(STAGE_NAMES)} (repeatable)")
    p.add_argument("--json", action="store_true",
                   help="print only a JSON summary (no text) on stdout")
    p.add_argument("--report", metavar="FILE", action="append",
                   help="write what verify found to FILE (.md or .html: a file for a bug "
                        "report; .json: the --json summary, which `listenspec docs` can show "
                        "through LISTENSPEC_DOCS_VERIFY); repeatable")
    p.set_defaults(func=_cmd)
