"""The command line: `listenspec run | check | profiles | clauses | verify | ...`.

Exit codes: 0 success, 1 a check or verification failed, 2 malformed input (a message
`FILE:LINE:COL: what is wrong` on stderr and nothing on stdout), 3 an internal error (a bug in
listenspec: one line on stderr, never a traceback, and never 1, which is a verdict), 130 Ctrl-C
(`run` prints the lines that finished, then where it stopped), 128 + N for SIGTERM or SIGHUP
during a kernel run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import sys
import threading
import typing
from collections.abc import Sequence

from . import __version__
from .commands.args import Once, one_profile
from .errors import ECHO_LIMIT, ListenspecError, cut
from .inputs import read_script
from .models.profiles import PROFILES, get
from .results import Result, render
from .script import Script

EXIT_OK = 0
EXIT_FAILED = 1  # a check or a verification failed
EXIT_USAGE = 2  # malformed input or arguments
EXIT_INTERNAL = 3  # a bug in listenspec itself
EXIT_UNDECIDED = 4  # check: the first line not allowed may be allowed by a way the checker left out
EXIT_INTERRUPTED = 128 + signal.SIGINT  # Ctrl-C; SIGTERM and SIGHUP during a run: 128 + signal


def _read(path: str, *, trace: bool = False) -> Script:
    return read_script(path, trace=trace)  # shared with the subcommands (listenspec/inputs.py)


def cmd_run(args: argparse.Namespace) -> int:
    script = _read(args.script)
    results: list[Result] = []
    stopped_by: int | None = None  # the signal that stopped the run, if one did
    name = "linux" if args.kernel else args.target
    if name is not None:
        from .kernel import RunInterrupted
        from .targets import target

        with target(name) as stack:
            print(f"# {'kernel' if name == 'linux' else 'target'}: {stack.describe()}",
                  file=sys.stderr)
            try:
                results = stack.run(script)
            except RunInterrupted as e:
                results, stopped_by = e.results, e.signum
            late = stack.late() if stopped_by is None else None
            if late is not None:
                at = script.steps[late.step]
                print(f"{script.file}:{at.line}: note: {late.describe()}", file=sys.stderr)
    else:
        from .runner import ModelRun

        run = ModelRun(get(args.profile))
        try:
            for step in script.steps:
                results.append(run.step(step).result)
        except KeyboardInterrupt as e:
            stopped_by = getattr(e, "signum", signal.SIGINT)
    pairs = list(zip(script.steps, results, strict=False))
    if args.json:
        rows = [{"line": s.line, "call": s.text, "result": render(r)} for s, r in pairs]
        print(json.dumps(rows, indent=1))
    else:
        for s, r in pairs:
            print(f"{s.text} = {render(r)}")
    if stopped_by is None:
        return EXIT_OK
    sys.stdout.flush()  # the trace so far, then where it stopped
    signame = signal.Signals(stopped_by).name
    ran = f"after {len(pairs)} of {len(script.steps)} steps"
    if len(pairs) < len(script.steps):
        at = script.steps[len(pairs)]
        print(f"{script.file}:{at.line}: stopped by {signame} at {at.text}, {ran}",
              file=sys.stderr)
    else:
        print(f"{script.file}: stopped by {signame} {ran}", file=sys.stderr)
    return 128 + stopped_by


def cmd_check(args: argparse.Namespace) -> int:
    from .checkreport import CheckReport

    report = CheckReport.of(_read(args.trace, trace=True), get(args.profile),
                            keep_going=args.keep_going)
    if args.json:
        print(json.dumps(report.as_json(), indent=1))
    else:
        print("\n".join(report.lines(args.trace)))
    return {"allowed": EXIT_OK, "differs": EXIT_FAILED, "undecided": EXIT_UNDECIDED}[
        report.verdict]


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


_LONG_QUOTE = re.compile(f"'([^']{{{ECHO_LIMIT}}})[^']+'")


class _Parser(argparse.ArgumentParser):
    """argparse, with the user's own words cut short in its messages (`invalid choice: '...'`
    would otherwise quote a 100 KB argument back whole)."""

    def error(self, message: str) -> typing.NoReturn:
        super().error(_LONG_QUOTE.sub(r"'\1…'", message))


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="listenspec",
        description="An executable formal specification of listen(2).",
    )
    ap.add_argument("--version", action="version", version=f"listenspec {__version__}")
    # Subcommands' parsers are _Parsers too (argparse makes them of the parent's class).
    sub = typing.cast("argparse._SubParsersAction[argparse.ArgumentParser]",
                      ap.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    names = ", ".join(PROFILES)

    p = sub.add_parser("run", help="print the trace a profile (or this kernel) gives a script")
    p.add_argument("script", help="a .lsn script (- reads standard input)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--profile", choices=list(PROFILES), metavar="NAME", action=Once,
                   type=one_profile, help=f"one of: {names} (once; `compare` shows several)")
    g.add_argument("--kernel", action="store_true", help="run on this machine's kernel "
                                                         "(the same as --target linux)")
    g.add_argument("--target", metavar="NAME", help="run on a stack: linux, gvisor (gVisor's "
                                                     "netstack, in a runsc sandbox), or exec:CMD "
                                                     "for a program speaking the executor "
                                                     "protocol")
    p.add_argument("--json", action="store_true", help="one object per step")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="does a profile allow a trace? (exit 1 where it differs)")
    p.add_argument("trace", help="a .trace file (- reads standard input)")
    p.add_argument("--profile", required=True, choices=list(PROFILES), metavar="NAME",
                   action=Once, type=one_profile, help=f"one of: {names}")
    p.add_argument("-k", "--keep-going", action="store_true",
                   help="report every differing line, not only the first (docs/cli.md says "
                        "what a line after a difference is judged from)")
    p.add_argument("--json", action="store_true", help="one object: verdict, profile, first "
                                                       "difference and the per-line results")
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


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP reached the command: it unwinds as for Ctrl-C, so that every sandbox,
    namespace, child and directory it holds is released on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def _terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def _unwind_on_signals() -> dict[int, typing.Any]:
    """Make SIGTERM and SIGHUP raise Terminated, where they would end the process at once (not
    where ignored, as nohup asks, or handled by an in-process caller; only the main thread may
    set handlers); return the handlers to put back."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, typing.Any] = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) in (signal.SIG_DFL, None):
            previous[signum] = signal.signal(signum, _terminated)
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    previous = _unwind_on_signals()
    try:
        return _main(argv)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else list(argv)):  # bare `listenspec`: what it does
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ListenspecError as e:
        print(str(e), file=sys.stderr)
        return 2
    except BrokenPipeError:  # `listenspec run ... | head`
        return 0
    except KeyboardInterrupt as e:  # Ctrl-C anywhere else: one line, no traceback
        signum = getattr(e, "signum", signal.SIGINT)  # a kernel run stopped by another signal
        print(f"listenspec: stopped by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    except Exception as e:  # a bug, not the input's fault: one line, and a code of its own
        print(f"listenspec: internal error (a bug; please report it): {_one_line(e)}",
              file=sys.stderr)
        return EXIT_INTERNAL


def _one_line(e: Exception) -> str:
    # A multi-line message (a child's traceback) ends with the line that says what happened.
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return cut(f"{type(e).__name__}: {lines[-1] if lines else ''}".rstrip(": "), 200)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
