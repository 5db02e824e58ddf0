"""Traces for the docs, produced at build time: the model under each profile, and (where this
machine can) the kernel itself, shown side by side with the lines that differ marked.

Nothing here is read from a committed trace: the expected-trace files are only compared with,
so a page says so when the model and the reviewed data disagree.
"""

from __future__ import annotations

import functools
import os
import platform
import re
from collections.abc import Sequence
from pathlib import Path

import attrs

from ..models.profiles import PROFILES
from ..results import render
from ..script import Script, Step, parse
from . import md

#: a trailing `# key` comment marks the lines that show a script's point.
KEY_RE = re.compile(r"#\s*key\b")


@attrs.frozen
class Loaded:
    """A script file, parsed, with the line numbers its author marked as the point."""

    name: str
    text: str
    script: Script
    key_lines: frozenset[int]
    title: str  # its first comment line, if any


def load_script(path: Path) -> Loaded:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    keys = frozenset(n for n, raw in enumerate(lines, 1) if KEY_RE.search(raw))
    first = next((ln for ln in lines if ln.startswith("#")), "")
    return Loaded(path.name, text, parse(text, str(path)), keys, first.lstrip("# ").strip())


@functools.cache
def _model(text: str, name: str, profile: str) -> tuple[str, ...]:
    from ..runner import run_model

    return tuple(render(e.result) for e in run_model(parse(text, name), PROFILES[profile]))


def model_results(loaded: Loaded, profile: str) -> tuple[str, ...]:
    """The model's result for every step of the script under `profile` (cached per build)."""
    return _model(loaded.text, loaded.name, profile)


# --------------------------------------------------------------------------- the kernel


@attrs.frozen
class KernelRun:
    environment: str  # what ran it ("" when nothing ran)
    results: tuple[str, ...] | None  # None: it could not run (see problem)
    problem: str = ""


def kernel_enabled() -> bool:
    """Kernel traces are on unless LISTENSPEC_DOCS_KERNEL=0 (for reproducible builds)."""
    return os.environ.get("LISTENSPEC_DOCS_KERNEL", "1") != "0"


@functools.cache
def _kernel(text: str, name: str) -> KernelRun:
    if not kernel_enabled():
        return KernelRun("", None, "kernel traces were turned off for this build "
                                   "(LISTENSPEC_DOCS_KERNEL=0)")
    try:
        from ..kernel import kernel_environment, run_on_kernel
    except ImportError as e:
        return KernelRun("", None, f"the kernel adapter is not available in this build ({e})")
    if platform.system() != "Linux":
        return KernelRun("", None, f"the kernel adapter needs Linux; this build ran on "
                                   f"{platform.system()}")
    try:
        env = kernel_environment()
        results = run_on_kernel(parse(text, name))
    except Exception as e:  # any failure to run is reported on the page, never hidden
        return KernelRun("", None, f"the kernel run failed: {type(e).__name__}: {e}")
    return KernelRun(env, tuple(render(r) for r in results))


def kernel_results(loaded: Loaded) -> KernelRun:
    return _kernel(loaded.text, loaded.name)


def kernel_verdict(loaded: Loaded, run: KernelRun, profile: str = "linux") -> str:
    """One sentence: does `profile` allow the kernel's trace, and if not, where it differs."""
    from ..checker import check

    assert run.results is not None
    text = "\n".join(f"{s.text} = {r}" for s, r in zip(loaded.script.steps, run.results,
                                                         strict=True))
    verdicts = check(parse(text, loaded.name, trace=True), PROFILES[profile])
    bad = next((v for v in verdicts if not v.ok), None)
    if bad is None:
        return f"`listenspec check` says the `{profile}` profile allows this kernel trace."
    return (f"`listenspec check` against `{profile}`: the first difference is line "
            f"{bad.step.line}, `{bad.step.text}`: the profile expects "
            f"`{render(bad.expected)}`, this kernel gave `{render(bad.actual)}`.")


# --------------------------------------------------------------------------- side by side


def group_profiles(loaded: Loaded, profiles: Sequence[str]) -> list[tuple[list[str],
                                                                         tuple[str, ...]]]:
    """Profiles whose traces are identical share a column: [(names, results)] in order."""
    groups: list[tuple[list[str], tuple[str, ...]]] = []
    for p in profiles:
        res = model_results(loaded, p)
        for names, seen in groups:
            if seen == res:
                names.append(p)
                break
        else:
            groups.append(([p], res))
    return groups


def side_by_side(loaded: Loaded, profiles: Sequence[str], *,
                 kernel: KernelRun | None = None, group: bool = True) -> str:
    """One row per script line, one column per profile (or per group of profiles with the same
    trace). A result that differs between the columns is bold; a `# key` line is starred.
    """
    groups = (group_profiles(loaded, profiles) if group
              else [([p], model_results(loaded, p)) for p in profiles])
    header = ["line", "call", *(md.text(", ".join(names)) for names, _ in groups)]
    columns = [res for _, res in groups]
    if kernel is not None and kernel.results is not None:
        header.append(md.text("this machine's kernel"))
        columns.append(kernel.results)
    rows = []
    for i, step in enumerate(loaded.script.steps):
        cells = [col[i] for col in columns]
        differs = len(set(cells)) > 1
        mark = " ★" if step.line in loaded.key_lines else ""
        rows.append([
            f"{step.line}{mark}", md.code(step.text),
            *(f"<strong>{md.code(c)}</strong>" if differs else md.code(c) for c in cells),
        ])
    return md.table(header, rows)


def differing_steps(loaded: Loaded, profiles: Sequence[str]) -> list[Step]:
    """The steps whose result is not the same under every one of `profiles`."""
    cols = [model_results(loaded, p) for p in profiles]
    return [s for i, s in enumerate(loaded.script.steps) if len({c[i] for c in cols}) > 1]
