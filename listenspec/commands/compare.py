"""`listenspec compare`: one script on every profile (and on stacks), one column per system."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap

from ..models.profiles import PROFILES
from .types import Sub


def profile_list(text: str) -> list[str]:
    """argparse `type` of --profiles: `a,b,...` or `all`; an unknown name names close ones."""
    import difflib

    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected profile names, e.g. linux,freebsd-src")
    if names == ["all"]:
        return list(PROFILES)
    for n in names:
        if n not in PROFILES:
            near = difflib.get_close_matches(n, list(PROFILES), n=3)
            hint = f" (did you mean {' or '.join(near)}?)" if near else ""
            raise argparse.ArgumentTypeError(
                f"unknown profile {n!r}{hint}; known: {', '.join(PROFILES)}, or all")
    return names


def _cmd(args: argparse.Namespace) -> int:
    from .. import columns
    from ..compare import compare, profile_column, target_column
    from ..inputs import read_script
    from ..targets import target

    script = read_script(args.script)
    chosen: list[str] = []
    for group in args.profiles or [list(PROFILES)]:
        chosen += [n for n in group if n not in chosen]
    cols = [profile_column(script, PROFILES[n]) for n in chosen]
    for name in dict.fromkeys(args.target or []):
        with target(name) as stack:
            describe = stack.describe()
            print(f"# {'kernel' if name == 'linux' else 'target'}: {describe}", file=sys.stderr)
            cols.append(target_column(name, stack.run(script), describe))
    result = compare(script, cols)
    if args.json:
        print(json.dumps(result.as_json(), indent=1))
        return 0
    if args.markdown:
        print(columns.to_markdown(result.table()))
        notes = result.notes()
        if notes:
            print()
            print("\n".join(f"- {n}" for n in notes))
        return 0
    width = args.width
    if width is None and sys.stdout.isatty():
        width = shutil.get_terminal_size().columns
    table = result.table()
    print(columns.to_text(table, width or None))
    notes = result.notes()
    paged = len(columns.blocks(table, width or None))
    if paged > 1 and any(table.marks):
        notes.append(f"(the columns are paged into {paged} blocks to fit {width} columns; a "
                     "line's mark is for all of them)")
    if notes:
        print()
        for note in notes:
            print(textwrap.fill(note, width, subsequent_indent="   ") if width else note)
    return 0


def register(sub: Sub) -> None:
    from ..targets import NAMES

    p = sub.add_parser("compare", help="one script on several profiles (and stacks), side by "
                                       "side, the lines where they differ marked")
    p.add_argument("script", help="a .lsn script (- reads standard input)")
    p.add_argument("--profiles", action="append", type=profile_list, metavar="A,B,...",
                   help="the profiles to show, comma-separated, or all (default: all; "
                        "repeatable)")
    p.add_argument("--target", action="append", metavar="NAME",
                   help=f"also run the script on a stack: {', '.join(NAMES)} (repeatable); "
                        "each target's trace is also checked under every profile shown")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true",
                     help="one object: systems, per line every result and the mark, and each "
                          "target's first line each profile does not allow")
    out.add_argument("--markdown", action="store_true", help="a Markdown table")
    p.add_argument("--width", type=int, default=None, metavar="COLUMNS",
                   help="fit the text table to this width, paging the columns into blocks "
                        "and wrapping long cells (default: the terminal's width; no limit "
                        "when piped; 0: no limit)")
    p.set_defaults(func=_cmd)
