"""The executor protocol as a fuzzed entry point: what `--target exec:CMD` reads from a program
it does not control (docs/protocol.md). An executor's output, as bytes: a handshake line, then
one result per line, read as the driver reads them (listenspec.targets.protocol): a line is
decoded as UTF-8 with replacement, the first must be a handshake, each later one a result.

Every input must end as "ok" (the handshake and every result parsed) or "error" (the driver
refused a line with one clean line saying why: the handshake's ValueError, or Stopped for a
line that is not a result); anything else escaping is a crash.
"""

from __future__ import annotations

import json
import random
from functools import cache

from hypothesis import strategies as st

from ..targets import protocol
from ..targets.protocol import GREETING, VERSION, Stopped, parse_handshake, read_result
from . import inputs

#: a handshake as the Python kernel executor sends one (docs/protocol.md)
HANDSHAKE = (f"{GREETING} {VERSION} " + json.dumps({
    "stack": "a fuzzed executor", "calls": ["socket", "listen", "connect", "netstat", "poll"],
    "observes": {"netstat": None, "counter": "no counters here"}, "notes": "fuzz"})).encode()


@cache
def result_lines() -> tuple[bytes, ...]:
    """The right-hand sides of every shipped trace: the results executors really send."""
    out: set[bytes] = set()
    for trace in inputs.corpus(True):
        for line in trace.splitlines():
            if b" = " in line and not line.startswith(b"#"):
                out.add(line.rsplit(b" = ", 1)[1])
    return tuple(sorted(out))


def _output(r: random.Random) -> bytes:
    """An executor's output: a handshake (kept, mutated or replaced) and results (real ones,
    mutated, huge, or random bytes)."""
    kind = r.randrange(4)
    if kind == 0:
        head = HANDSHAKE
    elif kind == 1:
        head = inputs.mutate_bytes(r, HANDSHAKE)
    elif kind == 2:
        head = r.choice((b"", b"listenspec-executor", b"listenspec-executor 2 {}",
                         b"listenspec-executor 1 []", b"listenspec-executor 1 {\"stack\": 1}",
                         b"listenspec-executor 1 " + b"[" * 100_000,
                         b"listenspec-executor 1 {\"stack\": \"" + b"s" * inputs.MEGABYTE
                         + b"\", \"calls\": []}"))
    else:
        head = r.randbytes(r.randint(0, 200))
    lines = [head]
    for _ in range(r.randint(0, 12)):
        k = r.randrange(6)
        if k <= 2:
            line = r.choice(result_lines())
        elif k == 3:
            line = inputs.mutate_bytes(r, r.choice(result_lines()))
        elif k == 4:
            line = inputs.huge_integers(r, True).split(b" = ", 1)[-1].split(b"\n")[0]
        else:
            line = r.randbytes(r.randint(0, 100))
        lines.append(line)
    if r.randrange(50) == 0:
        lines.append(b"unsupported(\"" + b"x" * inputs.MEGABYTE + b"\")")
    return b"\n".join(lines)


OUTPUTS: st.SearchStrategy[bytes] = st.builds(_output, inputs.RANDOMS)


def drive(data: bytes) -> str:
    """Read `data` as the driver reads an executor's output; "ok" or "error"."""
    first, *rest = data.split(b"\n")
    try:
        parse_handshake(protocol.decode_line(first))
    except ValueError as exc:
        return _one_line(str(exc))
    for line in rest:
        try:
            read_result(protocol.decode_line(line))
        except Stopped as exc:
            return _one_line(str(exc))
    return "ok"


def _one_line(message: str) -> str:
    if "\n" in message or len(message) > 1000:
        raise AssertionError(f"the driver's message is not one short line: {message[:200]!r}")
    return "error"
