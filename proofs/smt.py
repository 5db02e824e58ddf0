"""Small helpers around Z3: validity with a vacuity check, and readable counterexamples."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import z3

TIMEOUT_MS = 20_000  # far above what any proof here needs; a hit is reported as `unknown`


class Vacuous(Exception):
    """The hypotheses of a proof (or of one of its cases) cannot all hold: it proves nothing."""


class Unknown(Exception):
    """Z3 gave up (timeout or incompleteness)."""


def solver() -> z3.Solver:
    s = z3.Solver()
    s.set(timeout=TIMEOUT_MS)
    return s


def _check(s: z3.Solver) -> z3.CheckSatResult:
    r = s.check()
    if r == z3.unknown:
        raise Unknown(s.reason_unknown())
    return r


def require_sat(what: str, hyps: Iterable[Any]) -> None:
    """Raise Vacuous unless the hypotheses can all hold."""
    s = solver()
    s.add(*hyps)
    if _check(s) == z3.unsat:
        raise Vacuous(f"hypotheses unsatisfiable: {what}")


def find(hyps: Iterable[Any], hints: Sequence[Sequence[Any]] = ()) -> z3.ModelRef | None:
    """A model of the hypotheses, or None. `hints` are extra constraints tried first, in order,
    so that a counterexample comes out with small, readable values when one exists."""
    s = solver()
    s.add(*hyps)
    if _check(s) == z3.unsat:
        return None
    unhinted = s.model()  # the solver has none to give after an unsat hinted check
    for hint in hints:
        s.push()
        s.add(*hint)
        if s.check() == z3.sat:
            return s.model()
        s.pop()
    return unhinted


def refute(hyps: Iterable[Any], claim: Any,
           hints: Sequence[Sequence[Any]] = ()) -> z3.ModelRef | None:
    """None if `claim` holds whenever the hypotheses do; else a counterexample model."""
    return find([*hyps, z3.Not(claim)], hints)


def value(m: z3.ModelRef, term: Any) -> int | bool:
    """A term's value in a model, as a Python int (BitVecs read as C's signed int) or bool."""
    if isinstance(term, bool | int):
        return term
    v = m.eval(term, model_completion=True)
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    if z3.is_bv_value(v):
        return int(v.as_signed_long())
    return int(v.as_long())


def values(m: z3.ModelRef, terms: dict[str, Any]) -> dict[str, int | bool]:
    return {k: value(m, t) for k, t in terms.items()}


def show(vals: dict[str, int | bool]) -> str:
    return " ".join(f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in vals.items())
