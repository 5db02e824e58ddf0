"""Results of calls as a trace spells them (SCRIPT_FORMAT.md, "Results"): `render` writes a
value, `parse_result` reads one back, `matches` compares an expected result with an actual one.

The values themselves are the model's (listenspec.models.values); `Unsupported` is the one
result only an executor gives. Log lines may hold `<...>` placeholders for what no model can know
(a kernel pointer, an ephemeral port); `matches` treats each placeholder as a wildcard for a run
of text.
"""

from __future__ import annotations

import re

import attrs

from .errors import cut
from .literals import (
    INT_MAX,
    RESULT_MAX,
    RESULT_MIN,
    ErrLike,
    bounded_int,
    quote,
    to_bytes,
    tokenize_strings,
)
from .models.rules import POLL_FLAGS
from .models.values import Err, ErrName, Events, Lines, NewFd, Queue, Ret, Str, Value

__all__ = ["Err", "ErrName", "Events", "Lines", "NewFd", "Queue", "Result", "Ret", "Str",
           "Unsupported", "Value", "matches", "parse_result", "render"]


@attrs.frozen
class Unsupported:
    """An extension of the format: this executor cannot perform the call (with the reason)."""

    reason: str


Result = Value | Unsupported


def render(r: Result) -> str:
    """The RESULT text of a trace line for this result."""
    if isinstance(r, Ret):
        return str(r.value)
    if isinstance(r, NewFd):
        return "fd"
    if isinstance(r, Err):
        return f"-1 {r.errno}"
    if isinstance(r, Queue):
        return f"{r.qlen}/{r.incqlen}/{r.maxqlen}"
    if isinstance(r, Str):
        return quote(r.value)
    if isinstance(r, ErrName):
        return r.errno
    if isinstance(r, Lines):
        return "[" + ", ".join(quote(line) for line in r.lines) + "]"
    if isinstance(r, Events):
        return "|".join(r.flags)
    return f"unsupported({quote(r.reason)})"

_ERRNO_RE = re.compile(r"E[A-Z0-9]+\Z")
_EVENTS_RE = re.compile(r"POLL[A-Z]+(?:\|POLL[A-Z]+)*")
_PLACEHOLDER_RE = re.compile(r"<[a-z_]+>")
_INT_RE = re.compile(r"-?[0-9]+")
_ERR_RE = re.compile(r"-1 +(\S+)")
_QUEUE_RE = re.compile(r"([0-9]+)/([0-9]+)/([0-9]+)")


def parse_result(text: str, err: ErrLike) -> Result:
    """Parse the RESULT part of a trace line; `err(msg, col)` positions errors (1-based)."""
    t = text.strip(" \t")
    if t == "fd":
        return NewFd()
    if _INT_RE.fullmatch(t):
        value = bounded_int(t, RESULT_MIN, RESULT_MAX)
        if value is None:
            raise err(f"integer {cut(t)} is outside the range of a result (64 bits)", 1)
        return Ret(value)
    m = _ERR_RE.fullmatch(t)
    if m:
        if not _ERRNO_RE.match(m.group(1)):
            raise err(f"expected an errno name after -1, got {cut(m.group(1))!r}",
                      m.start(1) + 1)
        return Err(m.group(1))
    m = _QUEUE_RE.fullmatch(t)
    if m:
        fields = []
        for i in (1, 2, 3):
            value = bounded_int(m.group(i), 0, INT_MAX)
            if value is None:
                raise err(f"integer {cut(m.group(i))} is outside the C int range",
                          m.start(i) + 1)
            fields.append(value)
        return Queue(*fields)
    if _EVENTS_RE.fullmatch(t):
        known = {f: i for i, f in enumerate(POLL_FLAGS)}  # any order: listed as the model does
        flags = sorted(set(t.split("|")), key=lambda f: (known.get(f, len(known)), f))
        return Events(tuple(flags))
    if _ERRNO_RE.match(t):
        return ErrName(t)
    if t.startswith('"'):
        strings = tokenize_strings(t, err)
        if len(strings) != 1 or strings[0][1] != len(t):
            raise err("expected one string literal", 1)
        # a string stands for its bytes ("\xc3\xa9" and "é" are the same two), read back as
        # the model holds bytes (Str.of_bytes)
        return Str.of_bytes(to_bytes(strings[0][0]))
    if t.startswith("["):
        if not t.endswith("]"):
            raise err("expected ']' to close the list of log lines", len(t))
        inner = t[1:-1].strip(" \t")
        if not inner:
            return Lines(())
        items = tokenize_strings(t[1:-1], err, base=1, separator=",")
        return Lines(tuple(value for value, _ in items))
    m = re.fullmatch(r"unsupported\((.*)\)", t)
    if m:
        strings = tokenize_strings(m.group(1), err, base=len("unsupported("))
        if len(strings) != 1:
            raise err("expected unsupported(\"reason\")", 1)
        return Unsupported(strings[0][0])
    raise err(f"cannot read result {cut(t)!r}", 1)


def _line_matches(expected: str, actual: str) -> bool:
    """Does `actual` read as `expected`, each placeholder standing for one character or more?

    In linear time, without a regex over `actual` (nested lazy patterns under fullmatch
    backtrack polynomially in the number of placeholders): the fixed parts are found from left
    to right, each at its earliest place after the previous one, and the last one must end the
    line. Taking the earliest place is never wrong, since it leaves the most room to the rest.
    """
    if "<" not in expected:
        return expected == actual
    parts = _PLACEHOLDER_RE.split(expected)
    if len(parts) == 1:  # a '<' that starts no placeholder
        return expected == actual
    first, *middle, last = parts
    if not actual.startswith(first):
        return False
    pos = len(first)
    for part in middle:
        found = _find(actual, part, pos + 1)  # the placeholder before it takes 1+ characters
        if found < 0:
            return False
        pos = found + len(part)
    return actual.endswith(last) and len(actual) - len(last) >= pos + 1


def _find(hay: str, needle: str, start: int) -> int:
    return hay.find(needle, start)


def matches(expected: Result, actual: Result) -> bool:
    """Does `actual` agree with what the model `expected`? Log placeholders match any text."""
    if isinstance(expected, Lines) and isinstance(actual, Lines):
        return len(expected.lines) == len(actual.lines) and all(
            _line_matches(e, a) for e, a in zip(expected.lines, actual.lines, strict=True)
        )
    return expected == actual
