"""The command line: `listenspec run | check | profiles | clauses | verify | ...`.

Exit codes: 0 success, 1 a check or verification failed, 2 malformed input (a message
`FILE:LINE:COL: what is wrong` on stderr and nothing on stdout).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import ListenspecError
from .models.profiles import PROFILES, get
from .results import render
from .script import Script, parse


def _read(path: str, *, trace: bool = False) -> Script:
    if path == "-":  # a script or trace piped in
        return parse(sys.stdin.read(), "<stdin>", trace=trace)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ListenspecError(f"cannot read: {e.strerror or e}", file=path) from None
    except UnicodeDecodeError:
        raise ListenspecError("not UTF-8 text", file=path) from None
    return parse(text, path, trace=trace)


def cmd_run(args: argparse.Namespace) -> int:
    script = _read(args.script)
    name = "linux" if args.kernel else args.target
    if name is not None:
        from .targets import target

        with target(name) as stack:
            print(f"# {'kernel' if name == 'linux' else 'target'}: {stack.describe()}",
                  file=sys.stderr)
            results = stack.run(script)
        pairs = list(zip(script.steps, results, strict=True))
    else:
        from .runner import run_model

        pairs = [(e.step, e.result) for e in run_model(script, get(args.profile))]
    if args.json:
        rows = [{"line": s.line, "call": s.text, "result": render(r)} for s, r in pairs]
        print(json.dumps(rows, indent=1))
    else:
        for s, r in pairs:
            print(f"{s.text} = {render(r)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .checker import check

    trace = _read(args.trace, trace=True)
    profile = get(args.profile)
    verdicts = check(trace, profile)
    bad = next((v for v in verdicts if not v.ok), None)
    if args.json:
        rows = [
            {
                "line": v.step.line,
                "call": v.step.text,
                "result": render(v.actual),
                "expected": render(v.expected),
                "ok": v.ok,
                "skipped": v.skipped,
            }
            for v in verdicts
        ]
        print(json.dumps(rows, indent=1))
    elif bad is None:
        skipped = sum(v.skipped for v in verdicts)
        note = f" ({skipped} not compared: unsupported by the trace's executor)" if skipped else ""
        print(f"{args.trace}: all {len(verdicts) - skipped} lines allowed by {profile.name}{note}")
    else:
        print(
            f"{args.trace}:{bad.step.line}:{bad.step.result_col}: {profile.name} expects "
            f"`{bad.step.text} = {render(bad.expected)}`, the trace has "
            f"`{render(bad.actual)}`"
        )
    return 0 if bad is None else 1


def cmd_profiles(args: argparse.Namespace) -> int:
    from . import profile_table as pt

    chosen = [get(n) for n in args.profile] if args.profile else None
    if args.json:
        ps = chosen or list(PROFILES.values())
        out = {
            p.name: {
                "system": p.system,
                "basis": p.basis,
                "derived": pt.derived_rows(p),
                "parameters": {
                    k: {"value": pt.render(k, getattr(p, k), p), "source": p.cite[k]}
                    for k in p.parameters
                },
            }
            for p in ps
        }
        print(json.dumps(out, indent=1))
        return 0
    columns = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    print(pt.format_text(pt.table(chosen), width=args.width, columns=columns))
    if args.sources:
        print("\nSources")
        for param, name, src in pt.sources(chosen):
            print(f"  {param:<24} {name:<12} {src}")
    else:
        print("\n(--sources lists where every cell comes from)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="listenspec",
        description="An executable formal specification of listen(2).",
    )
    ap.add_argument("--version", action="version", version=f"listenspec {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = ", ".join(PROFILES)

    p = sub.add_parser("run", help="print the trace a profile (or this kernel) gives a script")
    p.add_argument("script", help="a .lsn script (- reads standard input)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--profile", choices=list(PROFILES), metavar="NAME", help=f"one of: {names}")
    g.add_argument("--kernel", action="store_true", help="run on this machine's kernel "
                                                         "(the same as --target linux)")
    g.add_argument("--target", metavar="NAME", help="run on a stack: linux, or exec:CMD for a "
                                                     "program speaking the executor protocol")
    p.add_argument("--json", action="store_true", help="one object per step")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="does a profile allow a trace? (exit 1 where it differs)")
    p.add_argument("trace", help="a .trace file (- reads standard input)")
    p.add_argument("--profile", required=True, choices=list(PROFILES), metavar="NAME",
                   help=f"one of: {names}")
    p.add_argument("--json", action="store_true", help="one object per step")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("profiles", help="all profiles' parameters side by side, with sources")
    p.add_argument("--profile", action="append", choices=list(PROFILES), metavar="NAME",
                   help="only these profiles (repeatable)")
    p.add_argument("--sources", action="store_true", help="list the source of every cell")
    p.add_argument("--width", type=int, default=24, help="cut cells to this width (default 24)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_profiles)

    from .commands import register_all  # further subcommands, each kept in its own module

    register_all(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ListenspecError as e:
        print(str(e), file=sys.stderr)
        return 2
    except BrokenPipeError:  # `listenspec run ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
