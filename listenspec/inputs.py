"""Reading a script or trace named on the command line (`-` is standard input), for every
subcommand that takes one: a file that cannot be read is a ListenspecError naming it."""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import ListenspecError
from .script import Script, parse


def read_script(path: str, *, trace: bool = False) -> Script:
    """Parse the script (or, with trace=True, the trace) at `path`; `-` reads standard input."""
    if path == "-":  # a script or trace piped in
        return parse(sys.stdin.read(), "<stdin>", trace=trace)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ListenspecError(f"cannot read: {e.strerror or e}", file=path) from None
    except UnicodeDecodeError:
        raise ListenspecError("not UTF-8 text", file=path) from None
    return parse(text, path, trace=trace)
