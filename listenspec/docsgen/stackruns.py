"""Pages for foreign stacks, from committed conformance runs (docs/runs/NAME.json).

A run is what `listenspec conform --target T --profile P --all --json` printed, committed with
the date and the command that reproduce it (a run on gVisor takes minutes and needs root and
runsc, so it is not redone at build time). The page shows each divergence the run found: its
shrunk script, and the profile's and the stack's results side by side, the first differing
line marked. The profile's column is the model's answer now, recomputed at build time; where it
no longer is what the run recorded, the page says so (the divergence may have gone).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..results import render
from ..runner import run_model
from ..script import parse
from . import md


def load(docs_dir: Path, name: str) -> dict[str, Any]:
    path = docs_dir / "runs" / f"{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for key in ("command", "date", "stack", "profile", "scripts", "steps", "divergences"):
        if key not in data:
            raise ValueError(f"{path.name}: a committed run needs {key!r}")
    return data


def summary(run: dict[str, Any]) -> str:
    found = len(run["divergences"])
    return (f"Run on {md.text(run['date'])} on {md.text(run['stack'])}: {run['scripts']} "
            f"scripts, {run['steps']} steps ({run.get('skipped_steps', 0)} not comparable: "
            f"`unsupported`), **{found} distinct divergence{'s' if found != 1 else ''}** from "
            f"the `{md.text(run['profile'])}` profile, in {run.get('seconds', '?')} s. "
            f"Reproduce it with:\n\n" + md.fence(run["command"], "sh"))


def section(run: dict[str, Any], number: int, d: dict[str, Any], stack_label: str) -> str:
    from ..models.profiles import get

    script = parse(d["script"], f"divergence {number}")
    now = tuple(render(e.result) for e in run_model(script, get(run["profile"])))
    at = int(d["at"])
    step = script.steps[at]
    rows = []
    for i, (s, model, target) in enumerate(zip(script.steps, now, d["target"], strict=True)):
        mark = "**← differs**" if i == at else ""
        rows.append([md.code(s.text), md.code(model), md.code(target), mark])
    title = (f"### {number}. `{step.call.name}()`: {md.text(run['profile'])} "
             f"`{md.text(now[at])}`, {stack_label} `{md.text(d['target'][at])}`")
    parts = [title, md.table(["script", md.text(run["profile"]), md.text(stack_label), ""],
                             rows)]
    if not d.get("reproduced", True):
        parts.append(f"This script did not give the same answers when run again: the stack "
                     f"answered it in two ways ({stack_label} is not deterministic here).")
    if tuple(d["model"]) != now:
        parts.append(f"When the run was made the `{md.text(run['profile'])}` profile answered "
                     f"`{md.text(d['model'][at])}` here; it has changed since.")
    return "\n\n".join(parts)


def render_run(docs_dir: Path, name: str, stack_label: str) -> str:
    if not (docs_dir / "runs" / f"{name}.json").is_file():
        target, profile = name.split("-", 1)
        return (f"No run is committed for this section yet (`docs/runs/{name}.json`). It is made "
                f"by `listenspec conform --target {target} --profile {profile} --all --json > "
                f"docs/runs/{name}.json` on a machine where the target runs.")
    run = load(docs_dir, name)
    parts = [summary(run)]
    for number, d in enumerate(run["divergences"], 1):
        parts.append(section(run, number, d, stack_label))
    return "\n\n".join(parts)
