"""A small deterministic byte encoding of plain values, for the explorer's state keys.

The values are what the model's plain fields hold: None, bools, ints, strings, bytes, the
`SockState` enum, and tuples of these. The encoding is self-delimiting (so keys can be decoded
back into states) and the same in every process and every run: it depends on nothing but the
value (no hashing, no object identity, no per-process table). Most values take one byte:

    0 None, 1 False, 2 True, 3 int (zigzag varint), 4 str (varint length, UTF-8),
    5 bytes (varint length, data), 6 tuple (varint length, items),
    8..15 a SockState (by its position in the enum), 16..63 an int 0..47,
    64..255 a string of VOCAB (by its position)

VOCAB is a fixed list of the strings the model stores (domains, types, errno names, accept
filter names, option values, sysctl keys, counter names); a string not in it is written out,
so nothing is ever lost.
"""

from __future__ import annotations

from typing import Any

from .calls import DOMAINS, SOCKOPTS, TYPES
from .models.state import SockState

_ERRNOS = (
    "EACCES", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN", "EALREADY", "EBADF",
    "ECONNABORTED", "ECONNREFUSED", "ECONNRESET", "EDESTADDRREQ", "EINPROGRESS", "EINVAL",
    "EISCONN", "EMFILE", "ENOBUFS", "ENOENT", "ENOPROTOOPT", "ENOTCONN", "ENOTSOCK",
    "EOPNOTSUPP", "EPIPE", "EPROTONOSUPPORT", "EPROTOTYPE", "ESOCKTNOSUPPORT", "ETIMEDOUT",
    "EWOULDBLOCK",
)
#: the strings written as one byte; fixed (a change only changes how keys look, never what
#: they mean), at most 192 of them
VOCAB: tuple[str, ...] = (
    *DOMAINS, *TYPES, *SOCKOPTS, *_ERRNOS,
    "dataready", "httpready", "defer", "ok", "failed",
    "limit", "syncookies", "sooverprio", "overinterval", "rst_on_sock_fail",
    "tcps_listendrop", "ListenOverflows", "ListenDrops", "TCPReqQFullDoCookies",
    "TCPReqQFullDrop",
)
assert len(VOCAB) == len(set(VOCAB)) <= 192
_VOCAB_INDEX = {s: 64 + i for i, s in enumerate(VOCAB)}
_STATES = tuple(SockState)
_STATE_INDEX = {s: 8 + i for i, s in enumerate(_STATES)}
assert len(_STATES) <= 8


def varint(n: int, out: bytearray) -> None:
    """Append n (>= 0) as a little-endian base-128 varint."""
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def pack(v: Any, out: bytearray) -> None:
    """Append the encoding of `v` to `out` (module docstring)."""
    if v is None:
        out.append(0)
    elif v is True:
        out.append(2)
    elif v is False:
        out.append(1)
    elif isinstance(v, int):
        if 0 <= v < 48:
            out.append(16 + v)
        else:
            out.append(3)
            varint(v << 1 if v >= 0 else ((-v) << 1) - 1, out)
    elif isinstance(v, SockState):
        out.append(_STATE_INDEX[v])
    elif isinstance(v, str):
        code = _VOCAB_INDEX.get(v)
        if code is not None:
            out.append(code)
        else:
            data = v.encode("utf-8")
            out.append(4)
            varint(len(data), out)
            out += data
    elif isinstance(v, bytes):
        out.append(5)
        varint(len(v), out)
        out += v
    elif isinstance(v, tuple):
        out.append(6)
        varint(len(v), out)
        for x in v:
            pack(x, out)
    else:
        raise TypeError(f"cannot pack {type(v).__name__}: {v!r}")


def packed(v: Any) -> bytes:
    out = bytearray()
    pack(v, out)
    return bytes(out)


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The varint at buf[pos:], and the position after it."""
    n = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, pos
        shift += 7


def unpack(buf: bytes, pos: int = 0) -> tuple[Any, int]:
    """The value encoded at buf[pos:] and the position after it."""
    tag = buf[pos]
    pos += 1
    if tag >= 64:
        return VOCAB[tag - 64], pos
    if tag >= 16:
        return tag - 16, pos
    if tag >= 8:
        return _STATES[tag - 8], pos
    if tag < 3:
        return (None, False, True)[tag], pos
    if tag == 3:
        z, pos = read_varint(buf, pos)
        return (z >> 1) if not z & 1 else -((z + 1) >> 1), pos
    n, pos = read_varint(buf, pos)
    if tag == 4:
        return buf[pos:pos + n].decode("utf-8"), pos + n
    if tag == 5:
        return bytes(buf[pos:pos + n]), pos + n
    if tag == 6:
        items = []
        for _ in range(n):
            x, pos = unpack(buf, pos)
            items.append(x)
        return tuple(items), pos
    raise ValueError(f"bad tag {tag} at {pos - 1}")


def unpacked(buf: bytes) -> Any:
    v, pos = unpack(buf, 0)
    if pos != len(buf):
        raise ValueError("trailing bytes")
    return v
