"""Reading a script or trace named on the command line (`-` is standard input), for every
subcommand that takes one: a file that cannot be read, or is not UTF-8, is a ListenspecError
naming it (and the line and column of the first bad byte)."""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import ListenspecError
from .script import Script, parse


def read_script(path: str, *, trace: bool = False) -> Script:
    """Parse the script (or, with trace=True, the trace) at `path`; `-` reads standard input."""
    if path == "-":  # a script or trace piped in: bytes, decoded as a file is
        stream = getattr(sys.stdin, "buffer", None)  # None: a text stream put in its place
        name = "<stdin>"
        data = stream.read() if stream is not None else sys.stdin.read().encode()
    else:
        name = path
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise ListenspecError(f"cannot read: {e.strerror or e}", file=shown(path)) from None
        except ValueError:  # a NUL byte, which no path can hold (main() takes any str)
            raise ListenspecError("cannot read: a file name holds no NUL byte",
                                  file=shown(path)) from None
    return parse(decode(data, shown(name)), shown(name), trace=trace)


def shown(path: str) -> str:
    """A path as it can be printed: bytes of argv that were not UTF-8 (held as lone
    surrogates) as \\xHH, so that printing it cannot fail."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def decode(data: bytes, file: str) -> str:
    """UTF-8 text, or an error at the line and column of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        col = len(data[line_start : e.start].decode("utf-8")) + 1  # valid up to the bad byte
        raise ListenspecError(f"not UTF-8 text: byte 0x{data[e.start]:02x} ({e.reason})",
                              file=file, line=data.count(b"\n", 0, e.start) + 1,
                              col=col) from None
