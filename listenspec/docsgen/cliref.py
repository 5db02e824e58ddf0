"""The command-line reference, generated from the CLI's own argparse parser (cli.build_parser),
so every subcommand registered by any module appears with exactly the options it accepts.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

from . import md


@contextmanager
def _columns(n: int) -> Iterator[None]:
    """argparse wraps usage to the terminal width; fix it so the page is the same everywhere."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(n)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def _subcommands(ap: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    out = []
    for action in ap._actions:  # argparse exposes subparsers only through its actions
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, parser in action.choices.items():
                out.append((name, helps.get(name, ""), parser))
    return out


def _metavar(a: argparse.Action) -> str:
    mv = a.metavar
    if isinstance(mv, tuple):
        return " ".join(mv)
    return mv or (a.dest.upper() if a.option_strings else a.dest)


def _arguments(p: argparse.ArgumentParser) -> list[list[str]]:
    rows = []
    for a in p._actions:
        if isinstance(a, argparse._HelpAction | argparse._SubParsersAction):
            continue
        helptext = a.help or ""
        if helptext == argparse.SUPPRESS:
            continue
        helptext = helptext.replace("%(prog)s", p.prog)
        name = ", ".join(a.option_strings) if a.option_strings else _metavar(a)
        if a.option_strings and a.nargs != 0:
            name += f" {_metavar(a)}"
        notes = []
        if a.choices is not None:
            listed = [str(c) for c in a.choices]
            if not all(c in helptext for c in listed):  # the help may list them already
                notes.append("one of: " + ", ".join(listed))
        if a.required and a.option_strings:
            notes.append("required")
        if isinstance(a, argparse._AppendAction):
            notes.append("repeatable")
        if a.default not in (None, False, argparse.SUPPRESS) and a.nargs != 0 \
                and f"default {a.default}" not in helptext:
            notes.append(f"default: {a.default}")
        rows.append([md.code(name), md.text(helptext), md.text("; ".join(notes))])
    return rows


def _sentence(s: str) -> str:
    s = s[:1].upper() + s[1:]
    return s if s.endswith((".", "?", "!", ")")) else s + "."


def reference() -> str:
    from ..cli import build_parser

    with _columns(90):
        ap = build_parser()
        parts = ["## `listenspec`", md.fence(ap.format_usage().strip(), "text"),
                 md.text(ap.description or "")]
        subs = _subcommands(ap)
        parts.append(md.table(["command", "what it does"], [
            [f"[`{name}`](#listenspec-{name})", md.text(helptext)]
            for name, helptext, _ in subs]))
        for name, helptext, p in subs:
            parts.append(f"## `listenspec {name}` {{#listenspec-{name}}}")
            if helptext:
                parts.append(md.text(_sentence(helptext)))
            parts.append(md.fence(p.format_usage().strip(), "text"))
            rows = _arguments(p)
            if rows:
                parts.append(md.table(["argument", "meaning", "notes"], rows))
    return "\n\n".join(parts)


def subcommand_names() -> list[str]:
    from ..cli import build_parser

    return [name for name, _, _ in _subcommands(build_parser())]
