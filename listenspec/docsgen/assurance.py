"""How sure are we: the proofs, machines, explorer and kernel-conformance results the docs show.

These are optional parts of the project: each is imported inside try/except (the stages are the
ones `listenspec verify` runs, as it names them), and a page says "not available in this build"
rather than inventing a result. What is available is run once per build, in its quick
(verify --quick) form, and cached for every page that shows it:

    LISTENSPEC_DOCS_PROOFS=0                 do not run the proofs
    LISTENSPEC_DOCS_STAGES=none | a,b        run no stage, or only these (default: all)
    LISTENSPEC_DOCS_VERIFY=FILE              show what `listenspec verify --report FILE.json`
                                             found, instead of running the proofs and the
                                             stages it holds again (the page says so)
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import attrs


@attrs.frozen
class ProofRow:
    name: str  # the property proved
    profile: str
    status: str  # proved | counterexample | n/a | (a broken proof) vacuous, unknown, ...
    seconds: float | None
    counterexample: str
    expected: str  # what the property should give on this profile ("" if not said)

    @property
    def ok(self) -> bool:
        return self.status == "n/a" or (self.status == (self.expected or "proved"))


@attrs.frozen
class Proofs:
    rows: tuple[ProofRow, ...]
    problem: str  # why there are no rows ("" when the proofs ran)
    seconds: float = 0.0
    statements: tuple[tuple[str, str], ...] = ()  # property -> what it says, where known
    given: str = ""  # where the rows come from when not run by this build (given_by())

    def for_property(self, name: str) -> list[ProofRow]:
        return [r for r in self.rows if r.name == name]

    def properties(self, prefixes: tuple[str, ...] | None = None) -> list[str]:
        """Property names in run order; with prefixes, those named `p` or `p-...`."""
        names = list(dict.fromkeys(r.name for r in self.rows))
        if prefixes is None:
            return names
        return [n for n in names if any(n == p or n.startswith(p + "-") for p in prefixes)]

    def statement(self, name: str) -> str:
        return dict(self.statements).get(name, "")


def _row(r: Any) -> ProofRow:
    secs = getattr(r, "seconds", None)
    cex = getattr(r, "counterexample", None)
    return ProofRow(
        name=str(getattr(r, "property", getattr(r, "name", "?"))),
        profile=str(getattr(r, "profile", "—")),
        status=str(getattr(r, "status", "?")),
        seconds=float(secs) if isinstance(secs, int | float) else None,
        counterexample="" if cex in (None, "") else str(cex),
        expected=str(getattr(r, "expected", "") or ""),
    )


def _statements(mod: ModuleType) -> tuple[tuple[str, str], ...]:
    """What each property says, if the proofs package can list its properties."""
    try:
        props = mod.run.properties()
        return tuple((str(p.name), str(p.statement)) for p in props)
    except Exception:  # optional detail: the results stand without it
        return ()


VERIFY_ENV = "LISTENSPEC_DOCS_VERIFY"


@functools.cache
def _verified() -> tuple[dict[str, Any], str]:
    """The summary of the verify run the build was given (LISTENSPEC_DOCS_VERIFY), and how
    the pages name it; ({}, "") when none was."""
    path = os.environ.get(VERIFY_ENV, "")
    if not path:
        return {}, ""
    data = read_summary(Path(path))
    form = " --quick" if data.get("quick") else ""
    return data, f"the `listenspec verify{form}` run this build was given (`docs --verify`)"


def read_summary(path: Path) -> dict[str, Any]:
    """What `listenspec verify --report FILE.json` wrote, or a ListenspecError naming FILE."""
    from ..errors import ListenspecError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ListenspecError(f"cannot read a verify summary: {e}", file=str(path)) from None
    if not isinstance(data, dict) or "clauses" not in data or "ok" not in data:
        raise ListenspecError("not what `listenspec verify --report FILE.json` writes",
                              file=str(path))
    return data


def given_by() -> str:
    """How the pages name the verify run whose results they show ("" when the build ran
    everything it shows itself)."""
    return _verified()[1]


def _given_proofs() -> Proofs | None:
    summary, by = _verified()
    got = summary.get("proofs")
    if not isinstance(got, dict) or not isinstance(got.get("results"), list):
        return None
    # a record holds what a ProofResult's attributes hold: the one conversion, _row()
    rows = tuple(_row(SimpleNamespace(**r)) for r in got["results"] if isinstance(r, dict))
    statements: tuple[tuple[str, str], ...] = ()
    with contextlib.suppress(ImportError):
        statements = _statements(importlib.import_module("listenspec.proofs"))
    secs = got.get("seconds")
    return Proofs(rows, "", float(secs) if isinstance(secs, int | float) else 0.0, statements,
                  by)


@functools.cache
def proofs() -> Proofs:
    if os.environ.get("LISTENSPEC_DOCS_PROOFS", "1") == "0":
        return Proofs((), "the proofs were not run for this build (LISTENSPEC_DOCS_PROOFS=0)")
    if (given := _given_proofs()) is not None:
        return given
    try:
        mod = importlib.import_module("listenspec.proofs")
        run_all = mod.run_all
    except (ImportError, AttributeError) as e:
        return Proofs((), f"the proofs are not available in this build ({e})")
    t0 = time.monotonic()
    try:
        results = list(run_all())
    except Exception as e:  # a crashing prover is a fact to show, not to hide
        return Proofs((), f"running the proofs failed: {type(e).__name__}: {e}")
    return Proofs(tuple(_row(r) for r in results), "", time.monotonic() - t0, _statements(mod))


def _names(rows: list[ProofRow]) -> str:
    return ", ".join(r.profile for r in rows)


def status_cell(rows: list[ProofRow]) -> str:
    """What a property's proofs found across the profiles, and whether that was expected."""
    applicable = [r for r in rows if r.status != "n/a"]
    if not applicable:
        return "no proof" if not rows else "applies to no profile"
    secs = sum(r.seconds or 0.0 for r in rows)
    parts = []
    for status in dict.fromkeys(r.status for r in applicable):
        these = [r for r in applicable if r.status == status]
        good = [r for r in these if r.ok]
        bad = [r for r in these if not r.ok]
        if good:
            tag = " (expected)" if status != "proved" else ""
            count = (f"all {len(good)} profiles" if len(good) == len(applicable) and len(good) > 1
                     else _names(good))
            parts.append(f"{status}{tag}: {count}")
        if bad:
            parts.append(f"{status}, NOT AS EXPECTED: {_names(bad)}")
    skipped = len(rows) - len(applicable)
    tail = f"; does not apply to {skipped}" if skipped else ""
    return "; ".join(parts) + tail + f" ({secs:.2f} s)"


# --------------------------------------------------------------------------- verify stages


@attrs.frozen
class StageRun:
    name: str
    module: str
    ok: bool | None  # None: not run (see problem)
    lines: tuple[str, ...]
    figures: dict[str, Any]
    seconds: float
    problem: str = ""
    given: str = ""  # where the results come from when not run by this build (given_by())


def verify_stages() -> list[tuple[str, Callable[[bool], Any]]]:
    """The stages `listenspec verify` runs after the clause matrix, as it names them."""
    from .. import verify

    if hasattr(verify, "stages"):
        return list(verify.stages())
    return list(getattr(verify, "STAGES", []))


def _stages_wanted() -> set[str] | None:
    raw = os.environ.get("LISTENSPEC_DOCS_STAGES", "all").strip()
    if raw == "all":
        return None
    return set() if raw == "none" else {s.strip() for s in raw.split(",")}


@functools.cache
def stage(name: str) -> StageRun:
    """Run one verify stage in its quick form, as `listenspec verify --quick` would."""
    found = dict(verify_stages())
    fn = found.get(name)
    if fn is None:
        return StageRun(name, "", None, (), {}, 0.0, "not available in this build")
    module = getattr(fn, "__module__", "") or ""
    wanted = _stages_wanted()
    if wanted is not None and name not in wanted:
        return StageRun(name, module, None, (), {}, 0.0, "not run for this build "
                        f"(LISTENSPEC_DOCS_STAGES={','.join(sorted(wanted)) or 'none'})")
    summary, by = _verified()
    got = summary.get(name)
    if isinstance(got, dict) and "ok" in got:  # (a stage verify --only left out is run here)
        lines = got.get("lines")
        secs = got.get("stage_seconds")
        return StageRun(name, module, bool(got["ok"]),
                        tuple(str(x) for x in lines) if isinstance(lines, list) else (),
                        {k: v for k, v in got.items() if k not in ("ok", "lines",
                                                                   "stage_seconds")},
                        float(secs) if isinstance(secs, int | float) else 0.0, given=by)
    t0 = time.monotonic()
    try:
        res = fn(True)
    except Exception as e:  # shown on the page as what happened
        return StageRun(name, module, False, (), {}, time.monotonic() - t0,
                        f"the stage failed: {type(e).__name__}: {e}")
    return StageRun(name, module, bool(res.ok), tuple(res.lines), dict(res.figures),
                    time.monotonic() - t0)


# --------------------------------------------------------------------------- module docs


@attrs.frozen
class ModuleDoc:
    module: str
    summary: str  # the docstring's first paragraph
    example: str  # its first literal block (after `::`), dedented; "" if none
    problem: str  # why it is not available ("" when it is)


def _load(name: str) -> ModuleType | str:
    try:
        return importlib.import_module(name)
    except ImportError as e:
        return f"not available in this build ({e})"


@functools.cache
def module_doc(name: str) -> ModuleDoc:
    mod = _load(name)
    if isinstance(mod, str):
        return ModuleDoc(name, "", "", mod)
    doc = inspect.getdoc(mod) or ""
    summary = doc.split("\n\n")[0].replace("\n", " ").strip()
    m = re.search(r"::\n\n((?:(?: {4}.*)?\n)+)", doc + "\n")
    example = "\n".join(ln[4:] for ln in m.group(1).splitlines()).strip() if m else ""
    return ModuleDoc(name, summary, example, "")
