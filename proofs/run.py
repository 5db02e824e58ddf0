"""Running the proofs: results, the property x profile table, `listenspec prove`, and the
`listenspec verify` stage.
"""

from __future__ import annotations

import argparse
import builtins
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from listenspec.models.profiles import PROFILES

if TYPE_CHECKING:
    from .property import Property
    from .ruleset import Rules

#: the proof modules, in the order of the issue's properties
MODULES = ("clamp", "queue_bound", "secondary_queue", "relisten", "syncache", "readiness",
           "reuseport")


@attrs.frozen
class ProofResult:
    property: str
    profile: str
    status: str  # proved | counterexample | n/a (vacuous | unknown | unconfirmed: a broken proof)
    seconds: float
    counterexample: str | None
    expected: str  # proved | counterexample (n/a where the property does not apply)
    detail: str | None = None  # how it was proved, or a checked witness

    @builtins.property  # `property` is a field of this class
    def ok(self) -> bool:
        """As expected: proved where it should hold, a counterexample where it should fail."""
        return self.status in ("n/a", self.expected)

    def as_json(self) -> dict[str, object]:
        return {"property": self.property, "profile": self.profile, "status": self.status,
                "seconds": round(self.seconds, 4), "counterexample": self.counterexample}


def properties() -> list[Property]:
    import importlib

    props: list[Property] = []
    for m in MODULES:
        props.extend(importlib.import_module(f"{__package__}.{m}").PROPERTIES)
    return props


def check(props: Iterable[Property], profiles: Sequence[str] | None = None,
          rules: Rules | None = None) -> list[ProofResult]:
    from .ruleset import REAL

    results = []
    for prop in props:
        for name in profiles or list(PROFILES):
            p = PROFILES[name]
            t0 = time.perf_counter()
            v = prop.run(p, rules or REAL)
            seconds = time.perf_counter() - t0
            expected = prop.expected(p) if prop.applies(p) else "n/a"
            results.append(ProofResult(prop.name, name, v.status, seconds, v.counterexample,
                                       expected, v.detail))
    return results


def run_all(profiles: list[str] | None = None, rules: Rules | None = None) -> list[ProofResult]:
    """Every property on every profile (or those named)."""
    return check(properties(), profiles, rules)


# --------------------------------------------------------------------------- reporting


def _cell(r: ProofResult) -> str:
    if r.status == "n/a":
        return "n/a"
    word = {"proved": "proved", "counterexample": "cex"}.get(r.status, r.status.upper())
    mark = "*" if r.status == "counterexample" and r.ok else ("!" if not r.ok else "")
    return f"{word}{mark} {r.seconds:.2f}"


def table(results: Sequence[ProofResult]) -> list[str]:
    profiles = list(dict.fromkeys(r.profile for r in results))
    props = list(dict.fromkeys(r.property for r in results))
    by = {(r.property, r.profile): r for r in results}
    pw = max(len(p) for p in props)
    widths = [max(len(p), 12) for p in profiles]
    head = "property".ljust(pw) + "  " + "  ".join(p.ljust(w) for p, w in
                                                   zip(profiles, widths, strict=True))
    lines = [head, "-" * len(head)]
    for prop in props:
        cells = [_cell(by[(prop, p)]).ljust(w) for p, w in zip(profiles, widths, strict=True)]
        lines.append(prop.ljust(pw) + "  " + "  ".join(cells).rstrip())
    return lines


def report(results: Sequence[ProofResult], details: bool = False,
           counterexamples: bool = True) -> list[str]:
    """The table, then the counterexamples (and with `details` how each proof went), then a
    summary line. Anything not as expected is always shown in full."""
    lines = table(results)
    total = sum(r.seconds for r in results)
    bad = [r for r in results if not r.ok]
    lines.append("")
    lines.append("cex* = counterexample, as expected (a documented divergence); "
                 "! = not as expected; seconds per cell")
    for r in results:
        if (counterexamples and r.counterexample is not None) or not r.ok or \
                (details and r.detail):
            lines.append("")
            verdict = "expected" if r.ok else f"UNEXPECTED, expected {r.expected}"
            lines.append(f"[{r.property} / {r.profile}] {r.status} ({verdict})")
            for block in (r.counterexample, r.detail if (details or not r.ok) else None):
                if block:
                    lines.extend("    " + x for x in block.splitlines())
    lines.append("")
    lines.append(f"{len(results)} cells, {sum(r.status == 'proved' for r in results)} proved, "
                 f"{sum(r.status == 'counterexample' for r in results)} counterexamples, "
                 f"{len(bad)} unexpected; {total:.2f} s of proving")
    return lines


def module_main(props: Iterable[Property], argv: Sequence[str] | None = None) -> int:
    """`python -m listenspec.proofs.<name>`: that module's table for all profiles."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", action="append", choices=list(PROFILES), metavar="NAME")
    ap.add_argument("--quiet", action="store_true", help="the table only, no witnesses")
    args = ap.parse_args(argv)
    props = list(props)
    for prop in props:
        print(f"{prop.name}: {prop.statement}")
    print()
    results = check(props, args.profile)
    print("\n".join(report(results, details=not args.quiet)))
    return 0 if all(r.ok for r in results) else 1
