"""Subcommands beyond run/check/profiles, each registering itself with the CLI."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TypeAlias

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _clauses(args: argparse.Namespace) -> int:
    from .spec.clauses import CLAUSES
    from .spec.examples import all_examples

    covering: dict[str, list[str]] = {c.id: [] for c in CLAUSES}
    for ex in all_examples():
        for cid in ex.clauses:
            covering[cid].append(ex.name)
    chosen = [c for c in CLAUSES if not args.id or c.id in args.id]
    if args.json:
        print(json.dumps([
            {"id": c.id, "topic": c.topic, "seeds": list(c.seeds), "text": c.text,
             "profiles": list(c.profiles), "rules": list(c.rules), "examples": covering[c.id]}
            for c in chosen
        ], indent=1))
        return 0
    for c in chosen:
        seeds = ", ".join(s.removeprefix("seeds/")[:3] for s in c.seeds) or "choice"
        cov = ", ".join(covering[c.id]) or "UNCOVERED"
        print(f"{c.id}  [{c.topic}; seeds {seeds}]")
        print(f"    {c.text}")
        print(f"    profiles: {', '.join(c.profiles)}")
        print(f"    rules:    {', '.join(c.rules)}")
        print(f"    covered by: {cov}")
    uncovered = [c.id for c in chosen if not covering[c.id]]
    print(f"\n{len(chosen)} clauses, {len(chosen) - len(uncovered)} covered by example scripts")
    return 1 if uncovered else 0


def _verify(args: argparse.Namespace) -> int:
    from .verify import verify

    ok, summary = verify(quick=args.quick, only=args.only)
    if args.report:
        from pathlib import Path

        from .report import write_report

        write_report(Path(args.report), ok, summary)
        print(f"report written to {args.report}")
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
    return 0 if ok else 1


def register(sub: Sub) -> None:
    p = sub.add_parser("clauses", help="the clause catalogue, with the examples covering each")
    p.add_argument("--id", action="append", help="only this clause (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_clauses)

    p = sub.add_parser("verify", help="the main job: clauses x profiles, then every stage")
    p.add_argument("--quick", action="store_true", help="smaller budgets for each stage")
    p.add_argument("--only", action="append", metavar="STAGE", help="only this stage")
    p.add_argument("--json", action="store_true", help="also print a JSON summary")
    p.add_argument("--report", metavar="FILE", help="write what verify found to FILE "
                                                    "(.md or .html): a file for a bug report")
    p.set_defaults(func=_verify)


def _conform(sub: Sub) -> None:
    from .conform import register as reg

    reg(sub)


def _prove(sub: Sub) -> None:
    from .proofs import register as reg

    reg(sub)


def _docs(sub: Sub) -> None:
    from .docsgen import register as reg

    reg(sub)


def _explore(sub: Sub) -> None:
    from .explore import register as reg

    reg(sub)


def _machines(sub: Sub) -> None:
    from .machines import register as reg

    reg(sub)


REGISTER: list[Callable[[Sub], None]] = [
    register, _prove, _explore, _machines, _conform, _docs,
]
