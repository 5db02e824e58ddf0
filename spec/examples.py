"""The example scripts and their expected traces: the test data of the catalogue.

An example is `examples/NAME.lsn`, whose header says which clauses it covers and which profiles
it applies to:

    # clauses: CLAMP, NEGATIVE-MAX
    # profiles: all            (or a comma-separated list)

Its expected trace under profile P is `examples/NAME.P.trace`. Traces are reviewed data: they
are (re)written only by `python -m listenspec.spec.examples --write`, and a change shows in
review as a diff of the trace files.
"""

from __future__ import annotations

import argparse
import re
from importlib import resources
from pathlib import Path

import attrs

from listenspec.errors import ListenspecError
from listenspec.models.profiles import PROFILES
from listenspec.results import render
from listenspec.script import Script, parse

from .clauses import BY_ID


@attrs.frozen
class Example:
    name: str
    path: Path
    clauses: tuple[str, ...]
    profiles: tuple[str, ...]
    script: Script

    def trace_path(self, profile: str) -> Path:
        return self.path.with_name(f"{self.name}.{profile}.trace")

    def expected(self, profile: str) -> Script:
        path = self.trace_path(profile)
        return parse(path.read_text(encoding="utf-8"), str(path), trace=True)


def examples_dir() -> Path:
    return Path(str(resources.files("listenspec.spec") / "examples"))


def _header(text: str, key: str, path: Path) -> tuple[str, ...]:
    m = re.search(rf"^# {key}:(.*)$", text, re.MULTILINE)
    if m is None:
        raise ListenspecError(f"missing '# {key}:' header", file=str(path))
    return tuple(x.strip() for x in m.group(1).split(",") if x.strip())


def load(path: Path) -> Example:
    text = path.read_text(encoding="utf-8")
    clauses = _header(text, "clauses", path)
    profiles = _header(text, "profiles", path)
    if profiles == ("all",):
        profiles = tuple(PROFILES)
    for c in clauses:
        if c not in BY_ID:
            raise ListenspecError(f"unknown clause {c!r}", file=str(path))
    for p in profiles:
        if p not in PROFILES:
            raise ListenspecError(f"unknown profile {p!r}", file=str(path))
    return Example(path.stem, path, clauses, profiles, parse(text, str(path)))


def all_examples() -> list[Example]:
    return [load(p) for p in sorted(examples_dir().glob("*.lsn"))]


def render_trace(example: Example, profile: str) -> str:
    from listenspec.runner import run_model

    lines = [f"# {example.name} under {profile} (written by listenspec.spec.examples --write)"]
    lines += [f"{e.step.text} = {render(e.result)}"
              for e in run_model(example.script, PROFILES[profile])]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description="Show or rewrite the examples' expected traces.")
    ap.add_argument("--write", action="store_true", help="rewrite every expected trace")
    ap.add_argument("names", nargs="*", help="only these examples")
    args = ap.parse_args()
    for ex in all_examples():
        if args.names and ex.name not in args.names:
            continue
        for profile in ex.profiles:
            text = render_trace(ex, profile)
            path = ex.trace_path(profile)
            old = path.read_text(encoding="utf-8") if path.exists() else None
            if old != text:
                print(f"{'writing' if args.write else 'differs'}: {path.name}")
                if args.write:
                    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
