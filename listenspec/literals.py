"""The format's literals, shared by the script parser and the result parser.

C string literals: reading (`unescape`, `tokenize_strings`), writing (`quote`) and the bytes a
literal stands for (`to_bytes`). Integers, read without trusting their length (`bounded_int`):
CPython refuses to convert a decimal string of more than 4,300 digits (sys.int_max_str_digits)
and would turn a long literal into a ValueError traceback; the format's integers are bounded
anyway, so a literal with more significant digits than the bound is out of range as text, and
int() only ever sees short strings.
"""

from __future__ import annotations

import re
from typing import Protocol

from .errors import ListenspecError


class ErrLike(Protocol):
    def __call__(self, message: str, col: int, /) -> ListenspecError: ...


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "0": "\0"}
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")

#: A string literal stands for bytes: its text as UTF-8, and each `\xHH` as the byte HH. As a
#: str, a byte 0x80-0xFF that is not text is held as the lone surrogate U+DC80-U+DCFF (Python's
#: "surrogateescape" convention), so that "é" (U+00E9, two bytes) and "\xe9" (one byte) differ.
_BYTE_BASE = 0xDC00


def unescape(body: str, err: ErrLike) -> str:
    """Decode the C escapes of a string literal's body (without quotes); see _BYTE_BASE."""
    if "\\" not in body:
        return body
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
            byte = int(body[i + 2 : i + 4], 16)
            out.append(chr(byte if byte < 0x80 else _BYTE_BASE + byte))
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
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:  # a byte that is not text (or a lone surrogate)
            out.extend(f"\\x{b:02x}" for b in to_bytes(ch))
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
    """The bytes a string literal stands for: \\xHH escapes are bytes, other text is UTF-8.

    ("é" is two bytes, "\\xe9" one; see _BYTE_BASE.) Any other lone surrogate, which no parsed
    file holds, is encoded as it stands rather than raising.
    """
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return b"".join(
            c.encode("utf-8", "surrogateescape" if 0xDC80 <= ord(c) <= 0xDCFF else "surrogatepass")
            for c in s
        )


# --------------------------------------------------------------------------- integers

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
#: Results may be wider than a C int: a kernel reports unsigned 64-bit values (sysctl reads such
#: as kernel.shmmax on Linux), so a result is any signed or unsigned 64-bit value.
RESULT_MIN = -(2**63)
RESULT_MAX = 2**64 - 1


def bounded_int(text: str, lo: int, hi: int) -> int | None:
    """The value of a literal `-?[0-9]+` if it lies in [lo, hi], else None."""
    if len(text) <= 9:  # the usual case: short enough for int(), whatever the bounds
        value = int(text)
        return value if lo <= value <= hi else None
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(max(-lo, hi))):
        return None
    value = -int(significant) if negative else int(significant)
    return value if lo <= value <= hi else None
