"""Results of calls, as values, and their spelling in a trace (SCRIPT_FORMAT.md, "Results").

Log lines may hold `<...>` placeholders for what no model can know (a kernel pointer, an
ephemeral port); `matches` treats each placeholder as a wildcard for a run of non-space-ish text.
"""

from __future__ import annotations

import re
from typing import Protocol

import attrs

from .errors import ListenspecError, cut
from .literals import INT_MAX, RESULT_MAX, RESULT_MIN, bounded_int


class _ErrFactory(Protocol):
    def __call__(self, message: str, col: int, /) -> ListenspecError: ...


@attrs.frozen
class Ret:
    """The call returned this integer (`0`, `5`, `-3`)."""

    value: int

    def render(self) -> str:
        return str(self.value)


@attrs.frozen
class NewFd:
    """The call returned a new descriptor; numbers differ between executors."""

    def render(self) -> str:
        return "fd"


@attrs.frozen
class Err:
    """The call failed with this errno name (`-1 EINVAL`)."""

    errno: str

    def render(self) -> str:
        return f"-1 {self.errno}"


@attrs.frozen
class Queue:
    """netstat -L's qlen/incqlen/maxqlen."""

    qlen: int
    incqlen: int
    maxqlen: int

    def render(self) -> str:
        return f"{self.qlen}/{self.incqlen}/{self.maxqlen}"


@attrs.frozen
class Str:
    """A string result (getsockopt SO_ACCEPTFILTER)."""

    value: str

    def render(self) -> str:
        from .script import quote

        return quote(self.value)


@attrs.frozen
class ErrName:
    """getsockopt(SO_ERROR): a pending error by name (no error is Ret(0))."""

    errno: str

    def render(self) -> str:
        return self.errno


@attrs.frozen
class Lines:
    """syslog(): the kernel log lines since the previous syslog(), oldest first."""

    lines: tuple[str, ...]

    def render(self) -> str:
        from .script import quote

        return "[" + ", ".join(quote(s) for s in self.lines) + "]"


@attrs.frozen
class Unsupported:
    """An extension of the format: this executor cannot perform the call (with the reason)."""

    reason: str

    def render(self) -> str:
        from .script import quote

        return f"unsupported({quote(self.reason)})"


Result = Ret | NewFd | Err | Queue | Str | ErrName | Lines | Unsupported

_ERRNO_RE = re.compile(r"E[A-Z0-9]+\Z")
_PLACEHOLDER_RE = re.compile(r"<[a-z_]+>")
_INT_RE = re.compile(r"-?[0-9]+")
_ERR_RE = re.compile(r"-1 +(\S+)")
_QUEUE_RE = re.compile(r"([0-9]+)/([0-9]+)/([0-9]+)")


def parse_result(text: str, err: _ErrFactory) -> Result:
    """Parse the RESULT part of a trace line; `err(msg, col)` positions errors (1-based)."""
    from .script import tokenize_strings

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
    if _ERRNO_RE.match(t):
        return ErrName(t)
    if t.startswith('"'):
        strings = tokenize_strings(t, err)
        if len(strings) != 1 or strings[0][1] != len(t):
            raise err("expected one string literal", 1)
        return Str(strings[0][0])
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
