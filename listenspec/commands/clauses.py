"""`listenspec clauses`: the clause catalogue, with the example scripts covering each clause."""

from __future__ import annotations

import argparse
import difflib
import json

from ..errors import ListenspecError
from .types import Sub


def _cmd(args: argparse.Namespace) -> int:
    from ..spec.clauses import CLAUSES
    from ..spec.examples import all_examples

    covering: dict[str, list[str]] = {c.id: [] for c in CLAUSES}
    for ex in all_examples():
        for cid in ex.clauses:
            covering[cid].append(ex.name)
    known = [c.id for c in CLAUSES]
    for cid in args.id or []:
        if cid not in known:
            near = difflib.get_close_matches(cid, known, n=3, cutoff=0.5)
            hint = f" (did you mean {' or '.join(near)}?)" if near else ""
            raise ListenspecError(f"unknown clause id {cid!r}{hint}; `listenspec clauses` "
                                  "lists them all")
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


def register(sub: Sub) -> None:
    p = sub.add_parser("clauses", help="the clause catalogue, with the examples covering each")
    p.add_argument("--id", action="append", help="only this clause (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd)
