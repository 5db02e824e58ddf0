"""What a call returns, as plain values: the model's half of the trace format's results.

The model knows values, not text: how each value is spelt in a trace (`-1 EINVAL`, `3/0/5`) and
how a trace line is read back are the trace layer's business (listenspec.results).
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Ret:
    """The call returned this integer (`0`, `5`, `-3`)."""

    value: int


@attrs.frozen
class NewFd:
    """The call returned a new descriptor; numbers differ between executors."""


@attrs.frozen
class Err:
    """The call failed with this errno name (`-1 EINVAL`)."""

    errno: str


@attrs.frozen
class Queue:
    """netstat -L's qlen/incqlen/maxqlen."""

    qlen: int
    incqlen: int
    maxqlen: int


@attrs.frozen
class Str:
    """A string result (getsockopt SO_ACCEPTFILTER; recv(): the bytes read, see of_bytes)."""

    value: str

    @classmethod
    def of_bytes(cls, data: bytes) -> Str:
        """Bytes as the format's strings hold them: UTF-8 text, and a byte that is not text as
        the lone surrogate U+DC80+byte (literals.to_bytes is the inverse), so "é" and "\xe9"
        read back as they were sent."""
        return cls(data.decode("utf-8", "surrogateescape"))


@attrs.frozen
class ErrName:
    """getsockopt(SO_ERROR): a pending error by name (no error is Ret(0))."""

    errno: str


@attrs.frozen
class Lines:
    """syslog(): the kernel log lines since the previous syslog(), oldest first."""

    lines: tuple[str, ...]


@attrs.frozen
class Events:
    """poll(): the readiness flags reported, in rules.POLL_FLAGS order (none is Ret(0))."""

    flags: tuple[str, ...]


Value = Ret | NewFd | Err | Queue | Str | ErrName | Lines | Events
