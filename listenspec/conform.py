"""`listenspec conform`: differential conformance of a profile against this machine's kernel.

Hypothesis draws scripts (scriptgen.scripts), each runs on the model and on the kernel, and the
traces are compared line by line. A mismatch is shrunk by Hypothesis to a short script, printed
with both traces, saved under counterexamples/ (or, where that cannot be written, a temporary
directory; or else printed whole), and makes the run fail. A step the kernel executor cannot
perform (an `unsupported(...)` result) is not compared, and is counted with its reason.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, Phase, given, seed, settings

from .models.profiles import get
from .results import Result, Unsupported, matches
from .runner import run_model
from .saving import save_files
from .script import Script
from .scriptgen import script_text, scripts
from .verify import StageResult


@attrs.define
class ConformStats:
    scripts: int = 0
    steps: int = 0
    skipped_steps: int = 0
    skipped_reasons: Counter[str] = attrs.field(factory=Counter)  # reason -> steps
    mismatches: int = 0
    seconds: float = 0.0
    counterexample: str | None = None  # the shrunk script
    saved: str | None = None  # where it was written

    def as_dict(self) -> dict[str, Any]:
        return {
            "scripts": self.scripts,
            "steps": self.steps,
            "skipped_steps": self.skipped_steps,
            "skipped_reasons": dict(self.skipped_reasons.most_common()),
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
                 at: int | None) -> str:
    width = max(len(s.text) for s in script.steps) + 2
    lines = [f"{'script'.ljust(width)}{profile:<16}kernel"]
    for i, (s, m, k) in enumerate(zip(script.steps, model, kernel, strict=True)):
        mark = "  <-- differs" if i == at else ""
        lines.append(f"{s.text.ljust(width)}{m.render():<16}{k.render()}{mark}")
    return "\n".join(lines)


def conform(profile_name: str, examples: int, seed_value: int | None, out_dir: Path,
            max_steps: int = 25, progress: bool = False) -> tuple[ConformStats, str]:
    """Run `examples` random scripts on the model and the kernel; return stats and a report."""
    from .kernel import run_on_kernel

    profile = get(profile_name)
    stats = ConformStats()
    last_failure: dict[str, Any] = {}
    started = time.monotonic()
    gen = scripts(max_steps=max_steps, syn=True)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=seed_value is None,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.generate, Phase.shrink])
    @given(gen)
    def one(script: Script) -> None:
        model = [e.result for e in run_model(script, profile)]
        kernel = run_on_kernel(script)
        stats.scripts += 1
        stats.steps += len(script.steps)
        for k in kernel:
            if isinstance(k, Unsupported):
                stats.skipped_steps += 1
                stats.skipped_reasons[k.reason] += 1
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
        stem = f"conform-{profile_name}-{time.strftime('%Y%m%d-%H%M%S')}"
        files = {f"{stem}.lsn": stats.counterexample}
        for label, results in (("model", model), ("kernel", kernel)):
            files[f"{stem}.{label}.trace"] = "".join(
                f"{s.text} = {r.render()}\n" for s, r in zip(script.steps, results, strict=True))
        saved = save_files(out_dir, files)
        shrunk = f"mismatch (shrunk to {len(script.steps)} steps)"
        note = f" ({saved.note})" if saved.note else ""
        if saved.directory is not None:
            stats.saved = str(saved.directory / f"{stem}.lsn")
            report = f"{shrunk}, saved to {stats.saved}{note}:\n"
        else:
            report = f"{shrunk}, not saved{note}; the script:\n{stats.counterexample}\n"
        report += side_by_side(script, model, kernel, profile_name, at)
    if progress:
        print("", file=sys.stderr)
    stats.seconds = time.monotonic() - started
    return stats, report


def verify_stage(quick: bool) -> StageResult:
    """`listenspec verify`'s conformance pass: the linux profile against this kernel."""
    from .kernel.netns import isolation_problem

    if platform.system() != "Linux":
        return StageResult("conformance", True, (f"skipped: no Linux kernel here "
                                                 f"({platform.system()})",))
    problem = isolation_problem()
    if problem is not None:
        return StageResult("conformance", True, (f"skipped: {problem}",))
    examples = 100 if quick else 400
    stats, report = conform("linux", examples, None, Path("counterexamples"))
    d = stats.as_dict()
    lines = [f"linux vs this kernel: {d['scripts']} scripts, {d['steps']} steps "
             f"({d['skipped_steps']} not compared), {d['mismatches']} mismatches, "
             f"{d['steps_per_second']} steps/s", *skipped_lines(stats)]
    if report:
        lines += report.splitlines()
    return StageResult("conformance", stats.mismatches == 0, tuple(lines), d)


def _cmd(args: argparse.Namespace) -> int:
    from .errors import ListenspecError
    from .kernel import kernel_environment

    if args.examples < 1:
        raise ListenspecError("--examples must be at least 1")
    print(f"# kernel: {kernel_environment()}", file=sys.stderr)
    if (missing := pyroute2_missing()) is not None:
        print(f"# WARNING: pyroute2 is not installed ({missing}): netstat() and syn() steps "
              "cannot be made on the kernel, so they are not compared "
              "(pip install 'pyroute2>=0.7')", file=sys.stderr)
    stats, report = conform(args.profile, args.examples, args.seed, Path(args.out),
                            args.max_steps, progress=sys.stderr.isatty() and not args.json)
    if args.json:
        print(json.dumps(stats.as_dict(), indent=1))
    else:
        d = stats.as_dict()
        print(f"{d['scripts']} scripts, {d['steps']} steps ({d['skipped_steps']} not compared), "
              f"{d['mismatches']} mismatches, {d['seconds']} s, {d['steps_per_second']} steps/s")
        for line in skipped_lines(stats):
            print(line)
        if report:
            print(report)
    return 1 if stats.mismatches else 0


def skipped_lines(stats: ConformStats) -> list[str]:
    """One line per reason a kernel step was not compared, most frequent first."""
    return [f"  not compared: {n} × {reason}" for reason, n in stats.skipped_reasons.most_common()]


def pyroute2_missing() -> str | None:
    """Why pyroute2 (netstat()'s and syn()'s netlink) cannot be imported, or None."""
    try:
        import pyroute2  # noqa: F401
    except ImportError as e:
        return str(e)
    return None


def register(sub: Any) -> None:
    p = sub.add_parser("conform", help="random scripts on the model and this kernel, compared")
    p.add_argument("--profile", default="linux", help="the profile to hold the kernel to "
                                                      "(default: linux)")
    p.add_argument("--examples", type=int, default=200, help="scripts to run (default 200)")
    p.add_argument("--seed", type=int, default=None, help="a seed, for a different sample "
                                                          "(default: derandomized)")
    p.add_argument("--max-steps", type=int, default=25, help="longest script (default 25)")
    p.add_argument("--out", default="counterexamples", help="where a mismatch is saved")
    p.add_argument("--json", action="store_true", help="keys: scripts, steps, skipped_steps, "
                   "skipped_reasons, mismatches, seconds, steps_per_second, counterexample, saved")
    p.set_defaults(func=_cmd)
