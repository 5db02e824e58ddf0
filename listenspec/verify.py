"""`listenspec verify`: the main job. Every example under every profile it applies to, shown as
a table of clauses x profiles, then each further stage (proofs, exploration, machines,
conformance) of the table in `stages()`.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

import attrs

from .annotated import Trace, annotate
from .models.profiles import PROFILES
from .spec.clauses import CLAUSES
from .spec.examples import Example, all_examples
from .stage import Stage


@attrs.frozen
class ExampleResult:
    example: str
    profile: str
    ok: bool
    detail: str  # where and how it first differs (FILE:LINE: ...), when not ok
    trace: Trace | None = None  # every line, both results (listenspec/annotated.py)


#: the names of the stages after the clause table, in order (`verify --only NAME`)
STAGE_NAMES = ("proofs", "exploration", "machines", "conformance")


def stages() -> list[tuple[str, Stage]]:
    """The further stages, in the order verify runs them (listenspec/stages.py)."""
    from . import stages as s

    table: list[tuple[str, Stage]] = [
        ("proofs", s.proofs), ("exploration", s.exploration), ("machines", s.machines),
        ("conformance", s.conformance)]
    assert tuple(n for n, _ in table) == STAGE_NAMES
    return table


def run_example(ex: Example, profile: str) -> ExampleResult:
    t = annotate(ex, profile)
    return ExampleResult(ex.name, profile, t.ok, t.detail(), t)


def run_examples(examples: list[Example]) -> list[ExampleResult]:
    return [run_example(ex, p) for ex in examples for p in ex.profiles]


def clause_matrix(results: list[ExampleResult],
                  examples: list[Example] | None = None) -> dict[str, dict[str, str]]:
    """clause id -> profile -> pass | FAIL | uncovered | n/a."""
    by_example: dict[tuple[str, str], bool] = {(r.example, r.profile): r.ok for r in results}
    covering: dict[str, list[Example]] = {c.id: [] for c in CLAUSES}
    for ex in examples if examples is not None else all_examples():
        for cid in ex.clauses:
            covering[cid].append(ex)
    matrix: dict[str, dict[str, str]] = {}
    for c in CLAUSES:
        row: dict[str, str] = {}
        for p in PROFILES:
            if p not in c.profiles:
                row[p] = "n/a"
                continue
            oks = [by_example[(ex.name, p)] for ex in covering[c.id] if p in ex.profiles]
            row[p] = "uncovered" if not oks else ("pass" if all(oks) else "FAIL")
        matrix[c.id] = row
    return matrix


def format_matrix(matrix: dict[str, dict[str, str]]) -> str:
    profiles = list(PROFILES)
    idw = max(len(c) for c in matrix)
    widths = [max(len(p), 9) for p in profiles]
    lines = ["clause".ljust(idw) + "  " + "  ".join(p.ljust(w) for p, w in zip(profiles, widths,
                                                                              strict=True))]
    lines.append("-" * len(lines[0]))
    for cid, row in matrix.items():
        lines.append(cid.ljust(idw) + "  " + "  ".join(
            row[p].ljust(w) for p, w in zip(profiles, widths, strict=True)))
    return "\n".join(lines)


def verify(out: TextIO = sys.stdout, *, quick: bool = False,
           only: list[str] | None = None) -> tuple[bool, dict[str, object]]:
    """Run everything; print as it goes; return (all ok, a summary for --json / --report)."""
    started = time.monotonic()
    summary: dict[str, object] = {}
    examples = all_examples()  # parsed once, for the traces and for the coverage
    results = run_examples(examples)
    matrix = clause_matrix(results, examples)
    bad_cells = sum(v in ("FAIL", "uncovered") for row in matrix.values() for v in row.values())
    print("Clauses x profiles (example scripts against their expected traces)", file=out)
    print(format_matrix(matrix), file=out)
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"  FAIL {r.example} [{r.profile}]: {r.detail}", file=out)
    print(f"{len(results) - len(failed)} of {len(results)} example traces match; "
          f"{bad_cells} clause cells failing or uncovered", file=out)
    ok = not failed and bad_cells == 0
    summary["clauses"] = matrix
    summary["examples"] = {"total": len(results), "failed": len(failed),
                           "traces": [r.trace.as_json() for r in results if r.trace]}
    for name, stage in stages():
        if only and name not in only:
            continue
        print(f"\n== {name}", file=out, flush=True)
        t0 = time.monotonic()
        res = stage(quick)
        took = time.monotonic() - t0
        for line in res.lines:
            print(line, file=out)
        print(f"{name}: {'ok' if res.ok else 'FAILED'} ({took:.1f} s)", file=out, flush=True)
        # the stage's own lines and time too: a docs build shows these (LISTENSPEC_DOCS_VERIFY)
        summary[name] = {"ok": res.ok, **res.figures, "lines": list(res.lines),
                         "stage_seconds": round(took, 2)}
        ok = ok and res.ok
    summary["seconds"] = round(time.monotonic() - started, 2)
    summary["quick"] = quick
    print(f"\nverify: {'all passed' if ok else 'FAILED'} in {summary['seconds']} s", file=out)
    return ok, summary
