"""The script and trace format, version 1 (../shared/SCRIPT_FORMAT.md), as data and a parser.

A script line is `[NAME =] CALL(ARGS)`; a trace line is the same followed by ` = RESULT`.
Everything a user can get wrong is reported as `FILE:LINE:COL: message` through ListenspecError;
nothing here ever raises anything else on any input text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

import attrs

from .calls import BY_NAME, KINDS, Kind
from .errors import ListenspecError
from .literals import quote, unescape
from .results import Result, parse_result

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

NAME_RE = re.compile(r"[a-z][a-z0-9_]*\Z")


@attrs.frozen
class Name:
    """A descriptor written as a NAME bound earlier in the script."""

    name: str


@attrs.frozen
class Const:
    """A symbolic constant, spelt as in C."""

    name: str


@attrs.frozen
class Null:
    """The NULL pointer (to remove an accept filter)."""


Arg = Name | Const | Null | int | str | Decimal


@attrs.frozen
class Call:
    name: str
    args: tuple[Arg, ...]


@attrs.frozen
class Step:
    """One line of a script: an optional NAME to bind, and a call, with its source position."""

    line: int
    text: str  # the line as written, comment and result removed, whitespace trimmed
    call: Call
    bind: str | None = None
    expected: Result | None = None  # present when the line came from a trace
    result_col: int = 0


@attrs.frozen
class Script:
    file: str
    steps: tuple[Step, ...]


# --------------------------------------------------------------------------- tokenizer

_TOKEN_RE = re.compile(
    r"""(?P<ws>[ \t]+)
      | (?P<num>-?[0-9]+(?:\.[0-9]+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<str>"(?:[^"\\\n]|\\.)*")
      | (?P<punct>[(),=])
    """,
    re.VERBOSE,
)


@attrs.frozen
class Tok:
    kind: str
    text: str
    col: int  # 1-based


class ErrorAt:
    """Makes ListenspecErrors for one line; `col` is relative to a base column."""

    def __init__(self, file: str, line: int, base: int = 0) -> None:
        self.file, self.line, self.base = file, line, base

    def __call__(self, message: str, col: int) -> ListenspecError:
        return ListenspecError(message, file=self.file, line=self.line, col=self.base + col)


def tokenize(text: str, err: ErrorAt) -> tuple[list[Tok], int]:
    """Tokens of the call part of a line, up to its first `)`; and where the rest begins."""
    toks: list[Tok] = []
    pos = 0
    while pos < len(text):
        if toks and toks[-1].kind == "punct" and toks[-1].text == ")":
            break
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch == '"':
                raise err("unterminated string", pos + 1)
            raise err(f"unexpected character {ch!r}", pos + 1)
        kind = m.lastgroup or ""
        if kind != "ws":
            toks.append(Tok(kind, m.group(), pos + 1))
        pos = m.end()
    return toks, pos


def split_comment(raw: str) -> str:
    """The line without its comment; a `#` inside a string literal is not a comment."""
    in_str = False
    i = 0
    while i < len(raw):
        ch = raw[i]
        if in_str:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "#":
            return raw[:i]
        i += 1
    return raw


# --------------------------------------------------------------------------- parser


def _convert_arg(tok: Tok, kind: Kind, err: ErrorAt, bound: set[str]) -> Arg:
    syntax = kind.syntax
    if syntax == "desc":
        if tok.kind == "num":
            if "." in tok.text or tok.text.startswith("-"):
                raise err("a raw descriptor is a non-negative integer", tok.col)
            return _c_int(tok, err)
        if tok.kind == "ident":
            if not NAME_RE.match(tok.text):
                raise err(f"expected a descriptor NAME, got {tok.text!r}", tok.col)
            if tok.text not in bound:
                raise err(f"name '{tok.text}' is not bound", tok.col)
            return Name(tok.text)
        raise err("expected a descriptor (a NAME or an integer)", tok.col)
    if syntax == "int":
        if tok.kind != "num" or "." in tok.text:
            raise err("expected an integer", tok.col)
        return _c_int(tok, err)
    if syntax == "num":
        if tok.kind != "num" or tok.text.startswith("-"):
            raise err("expected a non-negative number of seconds", tok.col)
        try:
            return Decimal(tok.text)
        except InvalidOperation:  # pragma: no cover - the token regex admits only numbers
            raise err("expected a number", tok.col) from None
    if syntax == "str":
        if tok.kind != "str":
            raise err("expected a string literal", tok.col)
        return unescape(tok.text[1:-1], ErrorAt(err.file, err.line, err.base + tok.col))
    if syntax == "const":
        group = kind.group
        if tok.kind != "ident" or tok.text not in group:
            raise err(f"expected one of {', '.join(group)}", tok.col)
        return Const(tok.text)
    # optval
    if tok.kind == "num" and "." not in tok.text:
        return _c_int(tok, err)
    if tok.kind == "str":
        return unescape(tok.text[1:-1], ErrorAt(err.file, err.line, err.base + tok.col))
    if tok.kind == "ident" and tok.text == "NULL":
        return Null()
    raise err("expected an integer, a string or NULL", tok.col)


def _c_int(tok: Tok, err: ErrorAt) -> int:
    value = int(tok.text)
    if not INT_MIN <= value <= INT_MAX:
        raise err(f"integer {tok.text} is outside the C int range", tok.col)
    return value


def _parse_call(
    toks: list[Tok], err: ErrorAt, bound: set[str], end_col: int
) -> tuple[Call, str | None, int]:
    """Parse `[NAME =] CALL(ARGS)`; return the call, the name and the index after `)`."""
    i = 0
    target: str | None = None
    if len(toks) >= 2 and toks[1].kind == "punct" and toks[1].text == "=":
        if toks[0].kind != "ident" or not NAME_RE.match(toks[0].text):
            raise err(f"a NAME is [a-z][a-z0-9_]*, not {toks[0].text!r}", toks[0].col)
        target = toks[0].text
        i = 2
    if i >= len(toks):
        raise err("expected a call after '='", end_col)
    head = toks[i]
    if head.kind != "ident":
        raise err(f"expected a call, got {head.text!r}", head.col)
    decl = BY_NAME.get(head.text)  # the call's declaration (calls.py) gives its shapes
    if decl is None:
        raise err(f"unknown call '{head.text}'", head.col)
    i += 1
    if i >= len(toks) or toks[i].text != "(":
        raise err(f"expected '(' after {head.text}", toks[i].col if i < len(toks) else end_col)
    i += 1
    arg_toks: list[Tok] = []
    while True:
        if i >= len(toks):
            raise err("missing ')'", end_col)
        tok = toks[i]
        if tok.text == ")" and tok.kind == "punct":
            if arg_toks and toks[i - 1].text == ",":
                raise err("expected an argument after ','", tok.col)
            i += 1
            break
        if tok.kind == "punct":
            if tok.text == "," and arg_toks and toks[i - 1].text != ",":
                i += 1
                continue
            raise err(f"unexpected {tok.text!r}", tok.col)
        if arg_toks and toks[i - 1].text != ",":
            raise err("expected ',' between arguments", tok.col)
        arg_toks.append(tok)
        i += 1
    shapes = [tuple(KINDS[prm.kind] for prm in form) for form in decl.forms]
    shape = next((s for s in shapes if len(s) == len(arg_toks)), None)
    if shape is None:
        counts = " or ".join(str(len(s)) for s in shapes)
        raise err(f"{head.text} takes {counts} argument(s), not {len(arg_toks)}", head.col)
    args = tuple(_convert_arg(t, k, err, bound) for t, k in zip(arg_toks, shape, strict=True))
    if target is not None and not decl.new_fd:
        raise err(f"{head.text}() does not return a descriptor, so it cannot be bound to a NAME",
                  toks[0].col)
    return Call(head.text, args), target, i


def parse(text: str, file: str = "<script>", *, trace: bool = False) -> Script:
    """Parse a script (or, with trace=True, a trace whose every line carries ` = RESULT`)."""
    steps: list[Step] = []
    bound: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        step = parse_line(raw, lineno, bound, file, trace=trace)
        if step is not None:
            steps.append(step)
    return Script(file, tuple(steps))


def parse_line(
    raw: str, lineno: int, bound: set[str], file: str = "<script>", *, trace: bool = False
) -> Step | None:
    """One line of a script (None for a blank or comment line), given the NAMEs bound so far;
    a NAME the line binds is added to `bound`. Executors that receive a script one line at a
    time (the executor protocol) parse with this."""
    body = split_comment(raw)
    if not body.strip():
        return None
    err = ErrorAt(file, lineno)
    toks, rest_at = tokenize(body, err)
    end_col = len(body.rstrip()) + 1
    call, target, after = _parse_call(toks, err, bound, end_col)
    call_end = toks[after - 1].col  # column of ')'
    expected: Result | None = None
    result_col = 0
    rest = body[rest_at:]
    if rest.strip():
        eq = rest_at + len(rest) - len(rest.lstrip()) + 1  # 1-based column
        if body[eq - 1] != "=":
            raise err(f"unexpected {body[eq - 1]!r} after the call", eq)
        if not trace:
            raise err("a script line carries no result (is this a trace?)", eq)
        after_eq = body[eq:]
        result_text = after_eq.strip()
        if not result_text:
            raise err("expected a result after '='", end_col)
        result_col = eq + 1 + len(after_eq) - len(after_eq.lstrip())
        expected = parse_result(result_text, ErrorAt(file, lineno, result_col - 1))
    elif trace:
        raise err("a trace line needs ' = RESULT' after the call", call_end + 1)
    if target is not None:
        bound.add(target)
    return Step(
        line=lineno,
        text=body[: call_end].strip(),
        call=call,
        bind=target,
        expected=expected,
        result_col=result_col,
    )


def iter_names(call: Call) -> Iterator[str]:
    for a in call.args:
        if isinstance(a, Name):
            yield a.name


def format_arg(arg: Arg) -> str:
    if isinstance(arg, Name):
        return arg.name
    if isinstance(arg, Const):
        return arg.name
    if isinstance(arg, Null):
        return "NULL"
    if isinstance(arg, str):
        return quote(arg)
    return str(arg)


def format_call(call: Call, bind: str | None = None) -> str:
    text = f"{call.name}({', '.join(format_arg(a) for a in call.args)})"
    return f"{bind} = {text}" if bind else text
