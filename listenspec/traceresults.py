"""The RESULT of a trace line as real stacks' harnesses write it (an extension of the format).

Read on top of `results.parse_result`, for traces only (a script line has no result):

- an errno by any name a system has, spelt the format's way (`EWOULDBLOCK` is `EAGAIN`,
  errnos.ALIASES); a name no system has (`EINPROGRES`) is an error in the trace, at its column;
- an errno followed by a parenthesised text, as strace and packetdrill print it:
  `-1 EAGAIN (Resource temporarily unavailable)` is `-1 EAGAIN`;
- a descriptor number where the format writes `fd` needs nothing here: `= 3` reads as the
  integer 3, and the checker accepts a non-negative integer wherever the model answers `fd`
  (checker.allows).
"""

from __future__ import annotations

import re

from .errnos import KNOWN, canonical, close_to
from .literals import ErrLike
from .results import Err, ErrName, Result, parse_result

# `-1 ENAME`, or a bare `ENAME` (SO_ERROR's pending error), then maybe `(any text)`
_ERRNO_FORM = re.compile(r"(?P<fail>-1 +)?(?P<name>E[A-Z0-9]+)(?: +\((?P<text>.*)\))?\Z")


def read_result(text: str, err: ErrLike) -> Result:
    """The result of a trace line; `err(msg, col)` places an error (1-based in `text`)."""
    m = _ERRNO_FORM.match(text)
    if m is None:
        return parse_result(text, err)
    name = m["name"]
    if name not in KNOWN:
        near = close_to(name)
        hint = f" (did you mean {' or '.join(near)}?)" if near else ""
        raise err(f"unknown errno name {name!r}{hint}", m.start("name") + 1)
    return Err(canonical(name)) if m["fail"] else ErrName(canonical(name))
