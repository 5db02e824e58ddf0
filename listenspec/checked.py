"""Checked runs and counterexample scripts, shared by the Hypothesis machines and the explorer.

`CheckedRun` is a ModelRun that checks every named invariant on every step and records the
script it ran, so both judge a step the same way: `check_step` on (state before, call, resolved
arguments, outcome). `replay` re-checks a script against the invariants; `save_counterexample`
writes one where the user asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from .models.host import Outcome
from .models.invariants import INVARIANTS, check_step
from .models.profiles import Profile, get
from .models.state import Host
from .runner import ModelRun
from .script import Call, Step, format_call, parse


class CheckedRun:
    """A ModelRun that checks every invariant on every step and records the script it ran.

    Shared by the Hypothesis machines and the explorer's counterexample replay, so both judge a
    step the same way: `check_step` on (state before, call, resolved arguments, outcome).
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.model = ModelRun(profile)
        self.steps: list[Step] = []
        self.broken: list[str] = []  # the invariants the last step broke
        self._counts: dict[str, int] = {}

    @property
    def state(self) -> Host:
        return self.model.state

    def fresh(self, prefix: str) -> str:
        """A NAME not used before in this run: s1, s2, ... (per prefix)."""
        n = self._counts.get(prefix, 0) + 1
        self._counts[prefix] = n
        return f"{prefix}{n}"

    def do(self, call: Call, bind: str | None = None) -> tuple[Outcome, Any, Host]:
        """Run one call; return (outcome, resolved arguments, state before).

        `self.broken` holds the invariants the step broke. A model exception propagates; the
        step is recorded first so the script up to it reproduces the exception.
        """
        step = Step(line=len(self.steps) + 1, text=format_call(call, bind), call=call, bind=bind)
        self.steps.append(step)
        # ModelRun.arguments resolves names exactly as ModelRun.step is about to.
        args = self.model.arguments(call)
        before = self.model.state
        outcome = self.model.step(step).outcome
        self.broken = check_step(self.profile, before, call.name, args, outcome)
        return outcome, args, before

    def script(self, header: Iterable[str] = (), last_comment: str = "") -> str:
        return render_script([s.text for s in self.steps], header, last_comment)


def render_script(lines: list[str], header: Iterable[str] = (), last_comment: str = "") -> str:
    out = [f"# {h}" if h else "#" for h in header]
    for i, text in enumerate(lines):
        out.append(f"{text}   # {last_comment}" if last_comment and i == len(lines) - 1
                   else text)
    return "\n".join(out) + "\n"


def describe(broken: Iterable[str]) -> list[str]:
    """Header lines naming each broken invariant and what it says."""
    return [f"breaks {name}: {INVARIANTS[name]}" if name in INVARIANTS else name
            for name in broken]


def replay(profile: str | Profile, text: str) -> list[tuple[int, list[str]]]:
    """Run a script under a profile, checking the invariants: (line, broken names) per bad step.

    A model exception is reported as the pseudo-invariant `model-error`.
    """
    p = get(profile) if isinstance(profile, str) else profile
    run = CheckedRun(p)
    bad: list[tuple[int, list[str]]] = []
    for step in parse(text, "<counterexample>").steps:
        try:
            args = run.model.arguments(step.call)
            before = run.model.state
            outcome = run.model.step(step).outcome
        except Exception as e:  # a model crash is a finding, not an error of replay
            bad.append((step.line, [f"model-error: {type(e).__name__}: {e}"]))
            break
        broken = check_step(p, before, step.call.name, args, outcome)
        if broken:
            bad.append((step.line, broken))
    return bad


def save_counterexample(text: str, profile: str, directory: str | Path,
                        origin: str = "") -> Path:
    """Write a counterexample script to DIR/<profile>[-origin]-<timestamp>.lsn; return its path."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    stem = f"{profile}-{origin}-{stamp}" if origin else f"{profile}-{stamp}"
    path = d / f"{stem}.lsn"
    path.write_text(text, encoding="utf-8")
    return path
