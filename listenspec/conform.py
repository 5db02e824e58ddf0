"""`listenspec conform`: differential conformance of a profile against this machine's kernel.

Hypothesis draws scripts (scriptgen.scripts), each runs on the model and on the kernel, and the
traces are compared line by line. A mismatch is shrunk by Hypothesis to a short script, printed
with both traces, saved under counterexamples/ (or, where that cannot be written, a temporary
directory; or else printed whole), and makes the run fail. A step the kernel executor cannot
perform (an `unsupported(...)` result) is not compared, and is counted with its reason.
`--target` runs the scripts on another stack instead of this kernel: any program speaking the
executor protocol (docs/protocol.md), e.g. `--target exec:executors/c/listenspec-exec`.

`--all` (keep_going) goes on after a mismatch, to find every divergence of a stack from a
profile: each one found is shrunk and saved, and the search starts again (with another seed),
now passing over scripts whose first difference is a divergence already found. Two divergences
are told apart by `signature`: the call that differs, its constant arguments, and the kind of
each side's result (an errno by name, a queue by the fields that differ). A mismatch that does
not reproduce when Hypothesis re-runs its script is reported as such (the stack answered the same
script in two ways).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import attrs
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Flaky

from .checker import check
from .models.profiles import Profile, get
from .progress import Progress
from .results import Err, ErrName, Lines, Queue, Result, Str, Unsupported, render
from .runner import ModelRun, run_model
from .saving import save_files
from .script import Const, Script
from .scriptgen import script_text, scripts
from .targets import Target

#: the rare outcomes conformance must reach (each in at least RARE_TARGET of the scripts)
RARE = ("reset peer", "timer fired", "syncookie")
RARE_TARGET = 0.05


@attrs.frozen
class Divergence:
    """One mismatch, shrunk: the script, both traces, the step that differs."""

    signature: tuple[str, ...]
    script: str
    model: tuple[str, ...]  # each step's result, rendered
    target: tuple[str, ...]
    at: int
    saved: str
    reproduced: bool = True  # False: the stack answered this script differently when re-run

    def as_dict(self) -> dict[str, Any]:
        return {"signature": list(self.signature), "script": self.script, "at": self.at,
                "model": list(self.model), "target": list(self.target), "saved": self.saved,
                "reproduced": self.reproduced}


#: the reason counted for the steps from one the checker could not decide on (checker.py)
UNDECIDED: Final = ("undecided by the checker: at a line no way of reading the trace it kept "
                    "explains, after it left ways out (it follows at most MAX_WORLDS at once), "
                    "and every line after it")
#: a port number in a target's reason (the kernel picks ports: each run draws others)
_PORT = re.compile(r"\bport \d+")


@attrs.define
class ConformStats:
    scripts: int = 0
    steps: int = 0
    skipped_steps: int = 0
    mismatches: int = 0
    seconds: float = 0.0
    counterexample: str | None = None  # the shrunk script (the first divergence's)
    saved: str | None = None  # where it was written
    divergences: list[Divergence] = attrs.field(factory=list)
    known_scripts: int = 0  # with --all: scripts whose first difference was already found
    # call -> outcome ("0", "fd", "data", "EINVAL", "POLLIN|POLLOUT", ...) -> steps, as the
    # target answered
    outcomes: dict[str, dict[str, int]] = attrs.field(factory=dict)
    rare: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(RARE, 0))
    requested: int = 0  # the scripts asked for (--examples)
    # why steps were not comparable: the target's unsupported("why") reason -> steps
    unsupported: dict[str, int] = attrs.field(factory=dict)

    def comparable_note(self) -> str:
        """The count of steps not compared, for the summary line."""
        return f"{self.skipped_steps} not comparable" if self.skipped_steps else \
            "every step compared"

    def not_comparable_lines(self) -> list[str]:
        """What "not comparable" means, said where the count is printed, with the commonest
        reasons the target gave."""
        if not self.skipped_steps:
            return []
        grouped: dict[str, int] = {}
        for reason, n in self.unsupported.items():
            key = _PORT.sub("port N", reason)  # one reason, whatever port the run drew
            grouped[key] = grouped.get(key, 0) + n
        top = sorted(grouped.items(), key=lambda kv: -kv[1])
        return ["not comparable: a step the target could not perform (it answered "
                "unsupported(\"why\")) has no result to hold against the model, so it is "
                "counted, not compared; the target's reasons"
                + (" (and the checker's):" if UNDECIDED in self.unsupported else ":"),
                *(f"  {n:>5} x {reason}" for reason, n in top[:5]),
                *([f"  ... and {len(top) - 5} other reasons"] if len(top) > 5 else [])]

    def shortfall(self) -> str:
        """Why fewer scripts than asked for ran, or "" when all ran."""
        if self.scripts >= self.requested:
            return ""
        if self.mismatches:
            return (f"stopped after {self.scripts} of {self.requested} scripts: a script "
                    "differed, and conform stops at the first mismatch to shrink it")
        return (f"only {self.scripts} of {self.requested} scripts ran: Hypothesis found no "
                "further distinct scripts to draw under --max-steps")

    def as_dict(self) -> dict[str, Any]:
        return {
            "scripts": self.scripts,
            "steps": self.steps,
            "skipped_steps": self.skipped_steps,
            "mismatches": self.mismatches,
            "seconds": round(self.seconds, 3),
            "steps_per_second": round(self.steps / self.seconds, 1) if self.seconds else 0.0,
            "requested": self.requested,
            "not_comparable": dict(self.unsupported),
            "counterexample": self.counterexample,
            "saved": self.saved,
            "divergences": [d.as_dict() for d in self.divergences],
            "outcomes": self.outcomes,
            "rare": {k: {"scripts": v, "share": round(v / self.scripts, 3) if self.scripts
                         else 0.0} for k, v in self.rare.items()},
        }

    def coverage_lines(self) -> list[str]:
        """Per call and outcome, how many steps exercised it; then the rare outcomes' shares."""
        lines = ["steps per call and outcome (as the target answered):"]
        for call in sorted(self.outcomes):
            cells = ", ".join(f"{k} {n}" for k, n in sorted(self.outcomes[call].items(),
                                                              key=lambda kv: -kv[1]))
            lines.append(f"  {call:<11} {cells}")
        shares = ", ".join(
            f"{k} {100 * v / self.scripts:.1f}%" if self.scripts else f"{k} -"
            for k, v in self.rare.items())
        lines.append(f"rare outcomes (share of scripts, target >= {RARE_TARGET:.0%}): {shares}")
        return lines

    def add(self, script: Script, got: Checked) -> None:
        """Count one checked script."""
        self.scripts += 1
        self.steps += len(script.steps)
        for i, k in enumerate(got.kernel):
            if isinstance(k, Unsupported):
                self.skipped_steps += 1
                self.unsupported[k.reason] = self.unsupported.get(k.reason, 0) + 1
            elif got.undecided is not None and i >= got.undecided[0]:
                self.skipped_steps += 1
                self.unsupported[UNDECIDED] = self.unsupported.get(UNDECIDED, 0) + 1
        for step, kind in zip(script.steps, got.kinds, strict=True):
            per = self.outcomes.setdefault(step.call.name, {})
            per[kind] = per.get(kind, 0) + 1
        for name in got.rare:
            self.rare[name] += 1


def _outcome_kind(r: Result) -> str:
    if isinstance(r, Str):
        return "data"
    if isinstance(r, Queue):
        return "queue"
    if isinstance(r, Lines):
        return "lines"
    if isinstance(r, Unsupported):
        return "unsupported"
    text = render(r)
    return text.removeprefix("-1 ")


def rare_outcomes(script: Script, p: Profile) -> set[str]:
    """Which rare outcomes the model's run of the script reaches: a peer's reset reported, a
    timer that fired in a sleep(), a syncookie sent."""
    run = ModelRun(p)
    found: set[str] = set()
    cookie = p.bumps("cookie-sent") + p.synflood_counters[1]
    for step in script.steps:
        before = run.state
        ex = run.step(step)
        r = ex.result
        if isinstance(r, (Err, ErrName)) and r.errno in ("ECONNRESET", "ECONNABORTED"):
            found.add("reset peer")
        after = run.state
        if step.call.name == "sleep" and attrs.evolve(after, clock=before.clock) != before:
            found.add("timer fired")
        if any(after.counters.get(c, 0) > before.counters.get(c, 0) for c in cookie):
            found.add("syncookie")
    return found


class Mismatch(AssertionError):
    pass


def first_difference(script: Script, profile: Profile, kernel: list[Result]) -> int | None:
    """Index of the first step the profile does not allow, reading the target's results as a
    trace (the checker follows every way the system may answer; unsupported steps are
    skipped); None also where the checker could not decide (see `judge`)."""
    return judge(script, profile, kernel)[0]


def judge(script: Script, profile: Profile,
          kernel: list[Result]) -> tuple[int | None, tuple[int, str] | None]:
    """The first step the profile does not allow, and else the first the checker could not
    decide with the ways it kept (checker.MAX_WORLDS): its index and why."""
    trace = Script(script.file, tuple(attrs.evolve(step, expected=r)
                                      for step, r in zip(script.steps, kernel, strict=True)))
    for i, v in enumerate(check(trace, profile)):
        if not v.ok:
            return (i, None) if v.undecided is None else (None, (i, v.undecided))
    return None, None


def result_kind(r: Result) -> str:
    """What a signature keeps of a result: an errno's name, else its kind."""
    if isinstance(r, Err | ErrName):
        return r.errno
    return type(r).__name__


def signature(script: Script, model: list[Result], target: list[Result],
              at: int) -> tuple[str, ...]:
    """How a divergence is told apart from another: the call that differs, its constant
    arguments, and the kind of each side's result (a queue: which fields differ)."""
    step = script.steps[at]
    m, t = model[at], target[at]
    consts = tuple(a.name for a in step.call.args if isinstance(a, Const))
    if isinstance(m, Queue) and isinstance(t, Queue):
        fields = tuple(f for f in ("qlen", "incqlen", "maxqlen")
                       if getattr(m, f) != getattr(t, f))
        return (step.call.name, *consts, "Queue", *fields)
    return (step.call.name, *consts, result_kind(m), result_kind(t))


def side_by_side(script: Script, model: list[Result], kernel: list[Result], profile: str,
                 at: int | None, label: str = "kernel") -> str:
    width = max(len(s.text) for s in script.steps) + 2
    # the model's column as wide as its longest result (an errno name may pass 16)
    column = max(16, len(profile) + 2, *(len(render(m)) + 2 for m in model))
    lines = [f"{'script'.ljust(width)}{profile.ljust(column)}{label}"]
    for i, (s, m, k) in enumerate(zip(script.steps, model, kernel, strict=True)):
        mark = "  <-- differs" if i == at else ""
        lines.append(f"{s.text.ljust(width)}{render(m).ljust(column)}{render(k)}{mark}")
    return "\n".join(lines)


@attrs.frozen
class Checked:
    """One script checked: the target's results, the first step the profile does not allow (or
    None), and what the coverage counts need (computed where the check ran)."""

    kernel: tuple[Result, ...]
    at: int | None
    kinds: tuple[str, ...]  # per step, the outcome's kind as the target answered
    rare: frozenset[str]
    # the first step the checker could not decide (its index, why); it and the steps after it
    # are not compared
    undecided: tuple[int, str] | None = None


def check_one(script: Script, profile: Profile, stack: Target) -> Checked:
    return checked(script, profile, stack.run(script))


def checked(script: Script, profile: Profile, kernel: list[Result]) -> Checked:
    """A script's check, from the target's results."""
    at, undecided = judge(script, profile, kernel)
    return Checked(tuple(kernel), at, tuple(_outcome_kind(r) for r in kernel),
                   frozenset(rare_outcomes(script, profile)), undecided)


def conform(profile_name: str, examples: int, seed_value: int | None, out_dir: Path,
            max_steps: int = 25, progress: bool | None = False,
            stack: Target | None = None, workers: int = 1, keep_going: bool = False,
            max_divergences: int = 40) -> tuple[ConformStats, str]:
    """Run `examples` random scripts on the model and a target (default: this kernel, `linux`);
    return stats and a report. The caller closes a target it passes.

    With workers > 1 the scripts are checked in that many processes, each with a target of its
    own (made like `stack`, by name). The result does not depend on the number: Hypothesis
    draws the scripts first (the same ones for a seed), the checks are counted in the scripts'
    order up to the first that fails, and that one is shrunk as a run of one worker would.

    With keep_going (one worker), go on after each mismatch (a fresh search of `examples`
    scripts, another seed) until a search finds nothing new or max_divergences are found.
    """
    if keep_going:
        return _conform_all(profile_name, examples, seed_value, out_dir, max_steps, progress,
                            stack, max_divergences)
    from .conformpool import Drawing, InProcess, Pool, Workers
    from .targets import prepare, target

    profile = get(profile_name)  # an unknown name fails before anything runs
    stats = ConformStats(requested=examples)
    bar = Progress("conform", progress)  # None: on a terminal only
    started = time.monotonic()
    gen = scripts(max_steps=max_steps, syn=True, profile=profile_name)
    own = stack is None
    name = "linux" if stack is None else stack.name
    pool: Pool | None = None
    source: Drawing | None = None
    try:
        if workers > 1:
            prepare(name)
            # the runs in `workers` processes, the model's checks of their results in one
            # process a core that runs only when no run wants the core (conformpool.Workers)
            pool = Workers(workers, lambda: target(name), lambda script, st: st.run(script),
                           then=lambda script, kernel: checked(script, profile, kernel))
            # drawn while the workers check the first ones (after they are forked)
            source = Drawing(lambda put: _hypothesis(gen, examples, seed_value,
                                                     [Phase.generate], put))
            drawn = source.scripts
        else:
            drawn = _draw(gen, examples, seed_value)
            if stack is None:
                stack = target("linux")
            local = stack
            pool = InProcess(lambda script: check_one(script, profile, local))
        done: dict[int, Checked] = {}
        bad: int | None = None
        for i, got in pool.checks(drawn if source is None else source):
            done[i] = got
            if got.at is not None and (bad is None or i < bad):
                bad = i
            bar.update(min(len(done), examples), examples, f"{len(done)} scripts checked")
            if bad is not None and all(j in done for j in range(bad)):
                break  # what comes after the first mismatch is not counted
        if source is not None:
            source.stop()  # every script before the mismatch is drawn: the rest is not needed
        upto = len(drawn) if bad is None else bad + 1
        for i in range(upto):
            stats.add(drawn[i], done[i])
        report = "" if bad is None else _shrink(profile_name, profile, gen, seed_value,
                                                 examples, stats,
                                                 {script_text(drawn[i]): done[i]
                                                  for i in range(upto)},
                                                 pool, out_dir, name)
    finally:
        if source is not None:
            source.stop()
        if pool is not None:
            pool.close()
        if own and stack is not None:
            stack.close()
    bar.close()
    stats.seconds = time.monotonic() - started
    return stats, report


def _settings(seed_value: int | None, examples: int, phases: list[Phase]) -> settings:
    return settings(max_examples=examples, deadline=None, database=None,
                    derandomize=seed_value is None, suppress_health_check=list(HealthCheck),
                    phases=phases, report_multiple_bugs=False)


def _hypothesis(gen: Any, examples: int, seed_value: int | None, phases: list[Phase],
                body: Callable[[Script], None]) -> None:
    """Hypothesis over `gen`, calling body(script). Both passes of conform go through this one
    test function: without a seed Hypothesis derives its seed from the function, so the
    scripts it draws are the same only if the function is."""

    @_settings(seed_value, examples, phases)
    @given(gen)
    def conform_scripts(script: Script) -> None:
        body(script)

    if seed_value is not None:
        conform_scripts = seed(seed_value)(conform_scripts)
    conform_scripts()


def _draw(gen: Any, examples: int, seed_value: int | None) -> list[Script]:
    """The scripts Hypothesis draws for the seed when none fails: the same every time."""
    out: list[Script] = []
    _hypothesis(gen, examples, seed_value, [Phase.generate], out.append)
    return out


def _shrink(profile_name: str, profile: Profile, gen: Any, seed_value: int | None,
            examples: int, stats: ConformStats, known: dict[str, Checked], pool: Any, out_dir: Path,
            name: str) -> str:
    """Hypothesis again, with the same seed: it draws the same scripts, whose checks are known,
    up to the first mismatch, then shrinks it, checking each new script (one at a time)."""
    last_failure: dict[str, Any] = {}

    def one(script: Script) -> None:
        got = known.get(script_text(script))
        if got is None:
            got = pool.check(script)
            stats.add(script, got)
            known[script_text(script)] = got  # a replay answers as the first run did
        if got.at is not None:
            last_failure.update(script=script, kernel=list(got.kernel), at=got.at)
            raise Mismatch(f"step {got.at + 1} differs")

    flaky = False
    try:
        _hypothesis(gen, examples, seed_value, [Phase.generate, Phase.shrink], one)
    except Mismatch:
        pass
    except Flaky:
        if not last_failure:
            raise
        flaky = True
    except BaseExceptionGroup as group:
        # Hypothesis raises a group when a failure did not reproduce on replay (FlakyFailure:
        # the target answered differently the second time)
        if group.subgroup(lambda e: isinstance(e, Mismatch)) is None:
            raise
        flaky = True
    if not last_failure:
        raise AssertionError("the mismatch found was not drawn again")  # the same test drew it
    stats.mismatches = 1
    script, kernel, at = (last_failure[k] for k in ("script", "kernel", "at"))
    # the replays above answered from the first runs: one fresh run says whether the target
    # gives the difference again (a loaded machine can make timers fire late)
    again = flaky or pool.check(script).at is not None
    model = [e.result for e in run_model(script, profile)]
    stats.counterexample = script_text(script)
    stem = f"conform-{profile_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    saved = save_files(out_dir, _mismatch_files(stem, script, model, kernel))
    how = ("not reproduced when run again: the target's answer depends on timing or on "
           "a choice it makes" if flaky else f"shrunk to {len(script.steps)} steps")
    if not again:
        how += ("; not reproduced when run once more: the target's answer may depend on "
                "timing (a loaded machine) or on a choice it makes")
    note = f" ({saved.note})" if saved.note else ""
    if saved.directory is not None:
        stats.saved = str(saved.directory / f"{stem}.lsn")
        report = f"mismatch ({how}), saved to {stats.saved}{note}:\n"
    else:
        report = f"mismatch ({how}), not saved{note}; the script:\n{stats.counterexample}\n"
    return report + side_by_side(script, model, kernel, profile_name, at,
                                 "kernel" if name == "linux" else "target")


def _conform_all(profile_name: str, examples: int, seed_value: int | None, out_dir: Path,
                 max_steps: int, progress: bool | None, stack: Target | None,
                 max_divergences: int, keep_going: bool = True) -> tuple[ConformStats, str]:
    """Run `examples` random scripts on the model and a target (default: this kernel, `linux`);
    return stats and a report. With keep_going, go on after each mismatch (a fresh search of
    `examples` scripts, another seed) until a search finds nothing new or max_divergences are
    found. The caller closes a target it passes."""
    from .targets import target

    get(profile_name)  # an unknown name fails before anything runs
    stats = ConformStats(requested=examples)
    bar = Progress("conform", progress)  # None: on a terminal only
    started = time.monotonic()
    if stack is None:
        stack = target("linux")
    label = "kernel" if stack.name == "linux" else "target"
    reports: list[str] = []
    rounds = 0
    while True:
        found = _search(profile_name, examples, seed_value if rounds == 0 else
                        (seed_value or 0) + 7919 * rounds, stack, stats, max_steps,
                        bar, {d.signature for d in stats.divergences})
        rounds += 1
        if found is None:
            break
        script, model, kernel, at, reproduced = found
        divergence = _save(profile_name, out_dir, script, model, kernel, at, reproduced,
                           len(stats.divergences) + 1)
        stats.divergences.append(divergence)
        if stats.counterexample is None:
            stats.counterexample, stats.saved = divergence.script, divergence.saved
        how = "" if reproduced else " (it did not reproduce when re-run: the stack answered " \
                                    "this script in two ways)"
        reports.append(f"mismatch (shrunk to {len(script.steps)} steps){how}, saved to "
                       f"{divergence.saved}:\n"
                       + side_by_side(script, model, kernel, profile_name, at, label))
        if not keep_going or len(stats.divergences) >= max_divergences:
            break
    stats.mismatches = len(stats.divergences)
    bar.close()
    stats.seconds = time.monotonic() - started
    return stats, "\n\n".join(reports)


Found = tuple[Script, list[Result], list[Result], int, bool]


def _search(profile_name: str, examples: int, seed_value: int | None, stack: Target,
            stats: ConformStats, max_steps: int, bar: Progress,
            known: set[tuple[str, ...]]) -> Found | None:
    """One Hypothesis search: the shrunk script of a mismatch whose signature is not in
    `known` (and whether it reproduced), or None if `examples` scripts show none."""
    profile = get(profile_name)
    last_failure: dict[str, Any] = {}
    gen = scripts(max_steps=max_steps, syn=True, profile=profile_name)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=seed_value is None,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.generate, Phase.shrink])
    @given(gen)
    def one(script: Script) -> None:
        model = [e.result for e in run_model(script, profile)]
        got = check_one(script, profile, stack)
        kernel = list(got.kernel)
        stats.add(script, got)
        bar.update(min(stats.scripts, examples), examples,
                   f"{stats.steps:,} steps, {len(stats.divergences)} divergences")
        at = got.at
        if at is None:
            return
        if signature(script, model, kernel, at) in known:
            stats.known_scripts += 1
            return
        last_failure.update(script=script, model=model, kernel=kernel, at=at)
        raise Mismatch(f"step {at + 1} differs")

    if seed_value is not None:
        one = seed(seed_value)(one)
    try:
        one()
    except Mismatch:
        reproduced = True
    except Flaky:
        if not last_failure:
            raise
        reproduced = False
    except BaseExceptionGroup as group:
        # Hypothesis raises a group when a failure did not reproduce on replay (FlakyFailure:
        # the target answered differently the second time) or it found several distinct ones
        if group.subgroup(lambda e: isinstance(e, Mismatch)) is None or not last_failure:
            raise
        reproduced = False
    else:
        return None
    return (last_failure["script"], last_failure["model"], last_failure["kernel"],
            last_failure["at"], reproduced)


def _save(profile_name: str, out_dir: Path, script: Script, model: list[Result],
          kernel: list[Result], at: int, reproduced: bool, number: int) -> Divergence:
    stem = f"conform-{profile_name}-{time.strftime('%Y%m%d-%H%M%S')}-{number}"
    saved = save_files(out_dir, _mismatch_files(stem, script, model, kernel))
    where = (str(saved.directory / f"{stem}.lsn") if saved.directory is not None
             else f"nowhere ({saved.note})")
    return Divergence(signature(script, model, kernel, at), script_text(script),
                      tuple(render(r) for r in model), tuple(render(r) for r in kernel), at,
                      where, reproduced)


def _mismatch_files(stem: str, script: Script, model: list[Result],
                    kernel: list[Result]) -> dict[str, str]:
    """A shrunk mismatch as files: the script, and the trace each side gave."""
    files = {f"{stem}.lsn": script_text(script)}
    for label, results in (("model", model), ("kernel", kernel)):
        files[f"{stem}.{label}.trace"] = "".join(
            f"{s.text} = {render(r)}\n" for s, r in zip(script.steps, results, strict=True))
    return files
