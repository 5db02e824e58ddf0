"""The entry points the fuzzer drives, and what each may answer.

Every entry point takes one drawn input and says how it ended: "ok" (a result), "error" (a clean
error: a one-line `FILE:LINE:COL: message`, or exit 2 with nothing on stdout) or a Crash that
describes anything else. The CLI's main() is called in-process, with standard input, output and
error of its own (UTF-8 with errors="strict" on stdout, as a real UTF-8 terminal or pipe); a
crash is an exception escaping main(), an exit code other than 0, 1 or 2 (3 is the CLI's own
"internal error"), a traceback on stderr, or an exit 2 that printed on stdout.

The heavy commands (verify, prove, explore, machines, conform, docs) are fuzzed up to the point
where their work would start: their arguments are parsed and checked for real, and the function
that would do the work is replaced by one that stops there (it would write files where the
arguments say, and take minutes). `run --kernel` gets a stand-in executor for the same reason;
the kernel executor is exercised by its own tests and by conform.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import attrs
from hypothesis import strategies as st

from ..checker import check
from ..errors import ListenspecError
from ..models.profiles import get
from ..results import Result, Unsupported, render
from ..runner import run_model
from ..script import Script, parse
from . import inputs, protocol_input, walks

Input = Any  # what an entry point's strategy draws


@attrs.frozen
class Crash:
    what: str  # one line: the exception, the exit code, or what was wrong with the output


Verdict = str | Crash  # "ok", "error", or a crash


class Reached(BaseException):
    """A heavy command got as far as starting its work (see the module doc)."""


@attrs.frozen
class Entry:
    name: str
    strategy: st.SearchStrategy[Input]
    run: Callable[[Input], Verdict]


def _decoded(data: bytes, file: str) -> str:
    from ..inputs import decode

    return decode(data, file)


def _clean(err: ListenspecError) -> Verdict:
    text = str(err)
    if "\n" in text or (err.line is not None and not re.match(r"[^:]*:\d+:\d+: ", text)):
        return Crash(f"malformed error message: {text[:200]!r}")
    return "error"


def _parse_entry(trace: bool) -> Callable[[bytes], Verdict]:
    def run(data: bytes) -> Verdict:
        try:
            parse(_decoded(data, "<fuzz>"), "<fuzz>", trace=trace)
        except ListenspecError as e:
            return _clean(e)
        return "ok"

    return run


def _check(value: tuple[bytes, str]) -> Verdict:
    data, profile = value
    try:
        check(parse(_decoded(data, "<fuzz>"), "<fuzz>", trace=True), get(profile))
    except ListenspecError as e:
        return _clean(e)
    return "ok"


def _run(value: tuple[bytes, str]) -> Verdict:
    data, profile = value
    try:
        script = parse(_decoded(data, "<fuzz>"), "<fuzz>")
    except ListenspecError as e:
        return _clean(e)
    run_model(script, get(profile))  # a call a program can make never crashes the model
    return "ok"


def _model_trace(r: random.Random, text: bytes, ran: str, checked: str) -> tuple[bytes, str]:
    """A trace one profile gives, perhaps edited, to be checked under another profile."""
    script = parse(text.decode(), "<fuzz>")
    lines = [f"{t.step.text} = {render(t.result)}" for t in run_model(script, get(ran))]
    if lines and r.random() < 0.5:
        i = r.randrange(len(lines))
        call = lines[i].rsplit(" = ", 1)[0]
        lines[i] = f"{call} = {r.choice(('0', '-1 EINVAL', 'fd', '1/0/1', '[]'))}"
    return ("\n".join(lines) + "\n").encode(), checked


_MODEL_TRACES = st.builds(_model_trace, inputs.RANDOMS, inputs.VALID_SCRIPTS,
                          inputs.PROFILE_NAMES, inputs.PROFILE_NAMES)


# --------------------------------------------------------------------------- the CLI


@attrs.frozen
class Invocation:
    argv: tuple[str, ...]
    stdin: bytes = b""
    file: bytes | None = None  # written to the path that FILE stands for in argv


FILE = "\0FILE"  # in a drawn argv: the path of a file holding Invocation.file


@cache
def _options() -> dict[str, list[argparse.Action]]:
    """Each subcommand's options, read from the CLI's own parser (so new ones are fuzzed too)."""
    from ..cli import build_parser

    out: dict[str, list[argparse.Action]] = {}
    for action in build_parser()._actions:  # argparse exposes subparsers only this way
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = [a for a in sub._actions if a.option_strings]
    return out


def _invocation(r: random.Random, document: bytes, profile: str,
                command: str | None) -> Invocation:
    """An argv for a command: its own options in any order and number, with values usual,
    extreme or absurd; stray words; for run and check, a script or trace on stdin or in a
    file, or a path that is not one."""
    words: list[str] = [] if command is None else [command]
    if command is None and r.randrange(4):  # the top level: a command, or not one
        words.append(r.choice((*COMMANDS, "nope", "", "RUN", "-")))
    actions = _options().get(command or "", [])
    for _ in range(r.randint(0, 6)):
        kind = r.randrange(10)
        if actions and kind < 7:
            action = r.choice(actions)
            words.append(r.choice(action.option_strings))
            if action.nargs != 0:
                if action.choices is not None and r.randrange(4):
                    words.append(str(r.choice(list(action.choices))))
                elif r.randrange(10):
                    words.append(inputs.argument_value(r))
        elif kind < 9:
            words.append(inputs.argument_value(r))
        else:
            words.append(r.choice(("--help", "-h", "--version", "--nope", "-x")))
    stdin, file = b"", None
    if command in ("run", "check"):
        source = r.choice(("-", "-", FILE, FILE, "/nonexistent/x", "/tmp", "", "a\0b",
                           "\udcff.lsn"))
        if source == "-":
            stdin = document
        elif source == FILE:
            file = document
        words.insert(r.randint(1, len(words)), source)
        if r.randrange(10):  # usually with the option it needs
            words += (["--profile", profile] if command == "check" or r.randrange(6)
                      else ["--kernel"])
    return Invocation(tuple(words), stdin, file)


def _argv(command: str | None) -> st.SearchStrategy[Invocation]:
    document = (inputs.documents(trace=command == "check") if command in ("run", "check")
                else st.just(b""))
    return st.builds(_invocation, inputs.RANDOMS, document, inputs.PROFILE_NAMES,
                     st.just(command))


_ONCE: dict[tuple[str, str], Callable[[], Any]] = {}


def _once(module: Any, name: str) -> Callable[[], Any]:
    """module.name, called once and remembered (the original, however often it is replaced)."""
    key = (module.__name__, name)
    if key not in _ONCE:
        _ONCE[key] = cache(getattr(module, name))
    return _ONCE[key]


def _stand_in_kernel(script: Script, **_: object) -> list[Result]:
    return [Unsupported("the fuzzer's stand-in executor")] * len(script.steps)


def _reach(*_: object, **__: object) -> Any:
    raise Reached


@contextlib.contextmanager
def _heavy_work_stopped() -> Iterator[None]:
    """Replace what the heavy commands would do (see the module doc); put it back after."""
    import listenspec.commands.explore
    import listenspec.commands.machines
    import listenspec.conform
    import listenspec.docsgen
    import listenspec.kernel
    import listenspec.proofs.run
    import listenspec.spec.examples
    import listenspec.verify
    from listenspec import cli

    replaced = [
        (listenspec.verify, "verify", _reach), (listenspec.proofs.run, "run_all", _reach),
        # the commands that import their work at module level are patched where they call it
        (listenspec.commands.explore, "explore", _reach),
        (listenspec.commands.machines, "run_machine", _reach),
        (listenspec.commands.machines, "measure", _reach),
        (listenspec.conform, "conform", _reach),
        (listenspec.docsgen, "build", _reach),
        (listenspec.kernel, "run_on_kernel", _stand_in_kernel),
        (listenspec.kernel, "kernel_environment", lambda **_: "the fuzzer's stand-in"),
        # Not work, only slow: built once instead of on every call (8 ms, 100 ms).
        (cli, "build_parser", _once(cli, "build_parser")),
        (listenspec.spec.examples, "all_examples", _once(listenspec.spec.examples,
                                                         "all_examples")),
    ]
    saved = [(module, name, getattr(module, name)) for module, name, _ in replaced]
    try:
        for module, name, value in replaced:
            setattr(module, name, value)
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def _streams(stdin: bytes) -> tuple[io.TextIOWrapper, io.TextIOWrapper, io.TextIOWrapper]:
    return (io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"),
            io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict"),
            io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace"))


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8", "replace")


def _cli(call: Invocation) -> Verdict:
    from ..cli import main

    path = os.path.join(tempfile.gettempdir(), f"listenspec-fuzz-{os.getpid()}.input")
    argv = [path if w == FILE else w for w in call.argv]
    if call.file is not None:
        with open(path, "wb") as f:
            f.write(call.file)
    stdin, stdout, stderr = _streams(call.stdin)
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    try:
        with _heavy_work_stopped():
            code: object = main(argv)
    except SystemExit as e:  # argparse: --help, --version, usage errors
        code = 0 if e.code is None else e.code
    except Reached:
        code = "reached"
    except Exception as e:  # any exception escaping main() is a finding
        return Crash(f"{type(e).__name__} escaped main(): {str(e)[:200]}")
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        with contextlib.suppress(OSError):
            os.unlink(path)
    try:
        out, err = _text(stdout), _text(stderr)
    except UnicodeEncodeError as e:  # raised by the final flush
        return Crash(f"stdout cannot take what was printed: {e}")
    if "Traceback" in err:
        return Crash(f"a traceback on stderr: {err.strip().splitlines()[-1][:200]}")
    if code == "reached" or code in (0, 1) or (code == 4 and "check" in argv):
        return "ok"  # (check's 4: undecided, docs/cli.md#undecided)
    if code == 2:
        if out:
            return Crash(f"exit 2 with output on stdout: {out[:100]!r}")
        return "error"
    return Crash(f"exit {code}: {err.strip()[:200]}")


COMMANDS = ("run", "check", "profiles", "clauses", "verify", "prove", "explore", "machines",
            "conform", "docs")


def entries() -> dict[str, Entry]:
    out = [
        Entry("script", inputs.documents(trace=False), _parse_entry(False)),
        Entry("trace", inputs.documents(trace=True), _parse_entry(True)),
        Entry("check", st.one_of(st.tuples(inputs.documents(trace=True), inputs.PROFILE_NAMES),
                                 _MODEL_TRACES), _check),
        Entry("run", st.one_of(st.tuples(st.one_of(inputs.documents(trace=False),
                                                   inputs.VALID_SCRIPTS), inputs.PROFILE_NAMES),
                               walks.WALKS), _run),
        Entry("cli", _argv(None), _cli),
    ]
    out += [Entry(f"cli-{c}", _argv(c), _cli) for c in COMMANDS]
    out.append(Entry("protocol", protocol_input.OUTPUTS, protocol_input.drive))
    return {e.name: e for e in out}
