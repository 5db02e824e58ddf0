"""Saving what a run found (a shrunk counterexample) where the user can write.

A read-only working directory must not lose a counterexample that took minutes to find: if the
directory asked for cannot be written, the files go to a new temporary directory, and the caller
says where; if nothing can be written at all, the caller prints them instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import attrs


@attrs.frozen
class Saved:
    directory: Path | None  # where the files are; None: nowhere, print them
    note: str  # why they are not where they were asked to be ("" if they are)


def save_files(directory: Path, files: dict[str, str]) -> Saved:
    """Write each name -> text into `directory`, or else into a fresh temporary directory."""
    try:
        _write(directory, files)
        return Saved(directory, "")
    except OSError as e:
        why = f"{directory} is not writable ({e.strerror or e})"
    try:
        fallback = Path(tempfile.mkdtemp(prefix="listenspec-"))
        _write(fallback, files)
    except OSError as e:
        return Saved(None, f"{why}, nor is a temporary directory ({e.strerror or e})")
    return Saved(fallback, why)


def _write(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
