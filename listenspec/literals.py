"""C string literals as the format writes them: reading (`unescape`, `tokenize_strings`),
writing (`quote`) and the bytes a literal stands for (`to_bytes`).

Shared by the script parser and the result parser, which is why it is a module of its own.
"""

from __future__ import annotations

import re
from typing import Protocol

from .errors import ListenspecError


class ErrLike(Protocol):
    def __call__(self, message: str, col: int, /) -> ListenspecError: ...


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "0": "\0"}
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")


def unescape(body: str, err: ErrLike) -> str:
    """Decode the C escapes of a string literal's body (without quotes)."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "x" and _HEX2.fullmatch(body[i + 2 : i + 4]):
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        else:
            raise err(f"unknown escape '\\{nxt}' in string", i + 1)
    return "".join(out)


def quote(s: str) -> str:
    """A C string literal for s, escaping what the parser unescapes."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0x80 <= ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def tokenize_strings(
    text: str, err: ErrLike, *, base: int = 0, separator: str | None = None
) -> list[tuple[str, int]]:
    """String literals in `text`, separated by `separator` (or just one); (value, end) each."""
    out: list[tuple[str, int]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text):
            if out and separator:
                raise err("expected a string after ','", base + pos + 1)
            break
        m = _STRING_RE.match(text, pos)
        if m is None:
            what = "unterminated string" if text[pos] == '"' else "expected a string literal"
            raise err(what, base + pos + 1)
        out.append((_unescape_at(m.group()[1:-1], err, base + pos + 1), m.end()))
        pos = m.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text):
            break
        if separator is None or text[pos] != separator:
            raise err(f"unexpected {text[pos]!r} after a string", base + pos + 1)
        pos += 1
    return out


def _unescape_at(body: str, err: ErrLike, col: int) -> str:
    def shifted(message: str, at: int) -> ListenspecError:
        return err(message, col + at)

    return unescape(body, shifted)


def to_bytes(s: str) -> bytes:
    """The bytes a string literal stands for: \\xHH escapes are bytes, other text is UTF-8."""
    return b"".join(bytes([ord(c)]) if ord(c) < 256 else c.encode() for c in s)
