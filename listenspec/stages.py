"""The stages `listenspec verify` runs after the clause table (verify.STAGES lists them in
order): the Z3 proofs, a bounded exploration of every profile, the Hypothesis machines, and
kernel conformance where a private network namespace can be made. Each takes `quick` (smaller
budgets) and returns a StageResult; none of them prints.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

from . import explore
from .machines import InvariantBroken, ListenMachine, run_machine
from .models.profiles import PROFILES
from .progress import Progress
from .stage import StageResult


def proofs(quick: bool) -> StageResult:
    """The proofs as a `listenspec verify` stage (all of them either way: they take seconds)."""
    from .proofs.run import report, run_all

    t0 = time.perf_counter()
    results = run_all(progress=None)  # a bar on a terminal (stderr), nothing when piped
    lines = report(results, counterexamples=False)
    lines.append("(`listenspec prove` shows each counterexample as a script)")
    figures: dict[str, object] = {
        "cells": len(results),
        "proved": sum(r.status == "proved" for r in results),
        "counterexamples": sum(r.status == "counterexample" for r in results),
        "unexpected": [f"{r.property}/{r.profile}: {r.status}" for r in results if not r.ok],
        "seconds": round(time.perf_counter() - t0, 2),
        # each cell, with what it should give: a report tells an expected counterexample (a
        # bound that needs its hypothesis) from a failure
        "results": [{"property": r.property, "profile": r.profile, "status": r.status,
                     "expected": r.expected, "ok": r.ok, "seconds": round(r.seconds, 4),
                     "counterexample": r.counterexample or ""}
                    for r in results],
    }
    return StageResult("proofs", all(r.ok for r in results), tuple(lines), figures)


#: the depth and per-profile budget `listenspec verify` explores at (quick, full)
EXPLORE_DEPTH = {True: 5, False: 7}
#: seconds the whole exploration stage may take (quick, full), shared evenly by the profiles,
#: so that a new profile does not make `verify` slower (it was 4.5 s a profile for 8)
EXPLORE_STAGE_BUDGET = {True: 8.0, False: 32.0}


def explore_budget(quick: bool) -> float:
    """Each profile's share of the exploration stage's time."""
    return EXPLORE_STAGE_BUDGET[quick] / len(PROFILES)


def exploration(quick: bool) -> StageResult:
    """The `listenspec verify` stage: a bounded exploration of every profile."""
    lines: list[str] = []
    figures: dict[str, object] = {}
    ok = True
    bar = Progress("exploration")
    for i, name in enumerate(PROFILES):
        bar.update(i, len(PROFILES), f"profiles ({name}, depth {EXPLORE_DEPTH[quick]})",
                   force=True)
        r = explore.explore(name, EXPLORE_DEPTH[quick], time_budget=explore_budget(quick),
                            progress=False)
        ok = ok and not r.violations
        mark = "ok" if not r.violations else f"{len(r.violations)} VIOLATION(S)"
        lines.append(f"  {name:<12} depth {r.depth_done}/{r.depth}{'' if r.complete else '*'}"
                     f"  {r.distinct_states:>7} states  {r.transitions:>8} transitions  "
                     f"{r.states_per_second:>7,.0f} states/s  {mark}")
        lines.extend("    " + line for s in r.violations for line in s.splitlines())
        figures[name] = {k: v for k, v in r.json().items() if k != "violations"}
        figures[name]["violations"] = len(r.violations)  # type: ignore[index]
    bar.close()
    if any(not f["complete"] for f in figures.values()):  # type: ignore[index]
        lines.append("  (* the time budget stopped the exploration before that depth)")
    return StageResult("explore", ok, tuple(lines), figures)


#: seconds `listenspec verify` spends generating machine runs (quick, full), shared evenly by
#: the profiles (a budget leaves room to shrink one failure)
MACHINE_STAGE_BUDGET = {True: 5.0, False: 28.0}


def machine_budget(quick: bool) -> float:
    """Each profile's share of the machines stage's time."""
    return MACHINE_STAGE_BUDGET[quick] / len(PROFILES)


def machines(quick: bool) -> StageResult:
    """The `listenspec verify` stage: every profile's machine, in batches, for a time budget."""
    lines: list[str] = []
    figures: dict[str, object] = {}
    ok = True
    bar = Progress("machines")
    for i, name in enumerate(PROFILES):
        budget = machine_budget(quick)
        bar.update(i, len(PROFILES), f"profiles ({name}, {budget:.1f} s each)", force=True)
        t0 = time.perf_counter()
        runs = steps = 0
        batch = 0
        error = ""

        def observe(_: set[str], machine: ListenMachine) -> None:
            nonlocal runs, steps
            runs += 1
            steps += len(machine.run.steps)

        # Batches of 10 runs with successive seeds until the budget is spent: reproducible
        # (the seed is printed on a failure) and bounded in time.
        while time.perf_counter() - t0 < budget:
            try:
                run_machine(name, examples=10, steps=30, seed_value=batch, observe=observe,
                            counterexample_dir=None)
            except InvariantBroken as e:
                error = f"seed {batch}: {e}"
                break
            batch += 1
        seconds = time.perf_counter() - t0
        ok = ok and not error
        rate = steps / seconds if seconds else 0.0
        lines.append(f"  {name:<12} {runs:>4} runs  {steps:>6} steps  {rate:>6,.0f} steps/s  "
                     f"{'ok' if not error else 'FAILED'}")
        lines.extend("    " + line for line in error.splitlines())
        figures[name] = {"runs": runs, "steps": steps, "seconds": round(seconds, 2),
                         "steps_per_second": round(rate, 1), "ok": not error}
    bar.close()
    return StageResult("machines", ok, tuple(lines), figures)


def conformance(quick: bool) -> StageResult:
    """`listenspec verify`'s conformance pass: the linux profile against this kernel."""
    from .conform import conform
    from .conformpool import default_workers
    from .kernel.netns import isolation_problem

    if platform.system() != "Linux":
        return StageResult("conformance", True, (f"skipped: no Linux kernel here "
                                                 f"({platform.system()})",))
    problem = isolation_problem()
    if problem is not None:
        return StageResult("conformance", True, (f"skipped: {problem}",))
    examples = 100 if quick else 400
    workers = default_workers()  # (the result is the same for any number)
    stats, report = conform("linux", examples, None, Path("counterexamples"), progress=None,
                            workers=workers)
    d = stats.as_dict()
    lines = [f"linux vs this kernel: {d['scripts']} scripts, {d['steps']} steps "
             f"({stats.comparable_note()}), {d['mismatches']} mismatches, "
             f"{d['steps_per_second']} steps/s"]
    lines += ["  " + line for line in stats.not_comparable_lines()]
    lines += ["  " + line for line in stats.coverage_lines()[-1:]]  # the rare outcomes' shares
    if report:
        lines += report.splitlines()
    return StageResult("conformance", stats.mismatches == 0, tuple(lines), d)
