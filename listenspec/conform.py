"""`listenspec conform`: differential conformance of a profile against this machine's kernel.

Hypothesis draws scripts (scriptgen.scripts), each runs on the model and on the kernel, and the
traces are compared line by line. A mismatch is shrunk by Hypothesis to a short script, printed
with both traces, saved under counterexamples/, and makes the run fail. A step the kernel
executor cannot perform (an `unsupported(...)` result) is not compared, and is counted.
`--target` runs the scripts on another stack instead of this kernel: any program speaking the
executor protocol (docs/protocol.md), e.g. `--target exec:executors/c/listenspec-exec`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, Phase, given, seed, settings

from .models.profiles import get
from .results import Result, Unsupported, matches, render
from .runner import run_model
from .script import Script
from .scriptgen import script_text, scripts
from .targets import Target


@attrs.define
class ConformStats:
    scripts: int = 0
    steps: int = 0
    skipped_steps: int = 0
    mismatches: int = 0
    seconds: float = 0.0
    counterexample: str | None = None  # the shrunk script
    saved: str | None = None  # where it was written

    def as_dict(self) -> dict[str, Any]:
        return {
            "scripts": self.scripts,
            "steps": self.steps,
            "skipped_steps": self.skipped_steps,
            "mismatches": self.mismatches,
            "seconds": round(self.seconds, 3),
            "steps_per_second": round(self.steps / self.seconds, 1) if self.seconds else 0.0,
            "counterexample": self.counterexample,
            "saved": self.saved,
        }


class Mismatch(AssertionError):
    pass


def first_difference(model: list[Result], kernel: list[Result]) -> int | None:
    """Index of the first step whose results differ (unsupported kernel steps are skipped)."""
    for i, (m, k) in enumerate(zip(model, kernel, strict=True)):
        if isinstance(k, Unsupported):
            continue
        if not matches(m, k):
            return i
    return None


def side_by_side(script: Script, model: list[Result], kernel: list[Result], profile: str,
                 at: int | None, label: str = "kernel") -> str:
    width = max(len(s.text) for s in script.steps) + 2
    lines = [f"{'script'.ljust(width)}{profile:<16}{label}"]
    for i, (s, m, k) in enumerate(zip(script.steps, model, kernel, strict=True)):
        mark = "  <-- differs" if i == at else ""
        lines.append(f"{s.text.ljust(width)}{render(m):<16}{render(k)}{mark}")
    return "\n".join(lines)


def conform(profile_name: str, examples: int, seed_value: int | None, out_dir: Path,
            max_steps: int = 25, progress: bool = False,
            stack: Target | None = None) -> tuple[ConformStats, str]:
    """Run `examples` random scripts on the model and a target (default: this kernel, `linux`);
    return stats and a report. The caller closes a target it passes."""
    from .targets import target

    profile = get(profile_name)
    stats = ConformStats()
    last_failure: dict[str, Any] = {}
    started = time.monotonic()
    gen = scripts(max_steps=max_steps, syn=True)
    if stack is None:
        stack = target("linux")

    @settings(max_examples=examples, deadline=None, database=None, derandomize=seed_value is None,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.generate, Phase.shrink])
    @given(gen)
    def one(script: Script) -> None:
        model = [e.result for e in run_model(script, profile)]
        kernel = stack.run(script)
        stats.scripts += 1
        stats.steps += len(script.steps)
        stats.skipped_steps += sum(isinstance(k, Unsupported) for k in kernel)
        if progress and stats.scripts % 50 == 0:
            print(f"\r{stats.scripts} scripts, {stats.steps} steps", end="", file=sys.stderr)
        at = first_difference(model, kernel)
        if at is not None:
            last_failure.update(script=script, model=model, kernel=kernel, at=at)
            raise Mismatch(f"step {at + 1} differs")

    if seed_value is not None:
        one = seed(seed_value)(one)
    try:
        one()
        report = ""
    except Mismatch:
        stats.mismatches = 1
        script, model, kernel, at = (last_failure[k] for k in ("script", "model", "kernel", "at"))
        stats.counterexample = script_text(script)
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = out_dir / f"conform-{profile_name}-{stamp}.lsn"
        path.write_text(stats.counterexample, encoding="utf-8")
        for label, results in (("model", model), ("kernel", kernel)):
            path.with_suffix(f".{label}.trace").write_text(
                "".join(f"{s.text} = {render(r)}\n"
                        for s, r in zip(script.steps, results, strict=True)),
                encoding="utf-8")
        stats.saved = str(path)
        report = (f"mismatch (shrunk to {len(script.steps)} steps), saved to {path}:\n"
                  + side_by_side(script, model, kernel, profile_name, at,
                                 "kernel" if stack.name == "linux" else "target"))
    if progress:
        print("", file=sys.stderr)
    stats.seconds = time.monotonic() - started
    return stats, report
