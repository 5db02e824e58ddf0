"""netstat(S): a listener's queues, read from the kernel's socket diagnostics over netlink.

What the kernel reports (reference/linux.md §3):
- TCP, net/ipv4/tcp_diag.c `tcp_diag_get_info()`: for a listener `idiag_rqueue =
  sk_ack_backlog` (completed connections waiting for accept) and `idiag_wqueue =
  sk_max_ack_backlog` (the effective backlog). Half-open connections are request sockets, dumped
  as separate SYN_RECV entries on the listener's local address and port (§2, §5).
- AF_UNIX, net/unix/diag.c `sk_diag_show_rqlen()`: for a listener `udiag_rqueue` = pending
  connections on its receive queue and `udiag_wqueue = sk_max_ack_backlog`.
The listener is found by inode (the descriptor's st_ino is the socket inode the dump reports),
so nothing is guessed from addresses.

The netlink work is done here with the standard library (one NETLINK_SOCK_DIAG socket, one
SOCK_DIAG_BY_FAMILY dump request per question, the kernel's structures unpacked with `struct`;
include/uapi/linux/{netlink,sock_diag,inet_diag,unix_diag}.h). pyroute2's DiagSocket, used
before, took four descriptors and about 6 ms to open (it starts an asyncio loop) in every run's
child, and ~1 ms per dump; this takes one descriptor and well under a millisecond for both.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator
from typing import Final, NamedTuple

from ..results import Queue

_INET: Final = (socket.AF_INET, socket.AF_INET6)
# Kernel ABI constants (include/net/tcp_states.h, include/uapi/linux/{netlink,sock_diag,
# unix_diag}.h).
SS_SYN_RECV: Final = 3
SS_LISTEN: Final = 10
UDIAG_SHOW_RQLEN: Final = 0x10
NETLINK_SOCK_DIAG: Final = 4
SOCK_DIAG_BY_FAMILY: Final = 20
NLM_F_REQUEST: Final = 0x1
NLM_F_DUMP: Final = 0x300
NLMSG_ERROR: Final = 2
NLMSG_DONE: Final = 3
UNIX_DIAG_RQLEN: Final = 4

_NLMSGHDR: Final = struct.Struct("=IHHII")  # len, type, flags, seq, pid
# inet_diag_req_v2: family, protocol, ext, pad, states, then an inet_diag_sockid of zeros
_INET_REQ: Final = struct.Struct("=BBBxI48x")
# inet_diag_msg: family, state, timer, retrans, sockid (sport, dport in network order; src,
# dst 16 bytes each; if; cookie), expires, rqueue, wqueue, uid, inode
_INET_MSG: Final = struct.Struct("=BBBBHH16s16sI8sIIIII")
# unix_diag_req: family, protocol, pad, states, ino, show, cookie
_UNIX_REQ: Final = struct.Struct("=BBxxIII8x")
_UNIX_MSG: Final = struct.Struct("=BBBxI8x")  # family, type, state, ino, cookie
_NLATTR: Final = struct.Struct("=HH")  # len, type
_RQLEN: Final = struct.Struct("=II")  # unix_diag_rqlen: rqueue, wqueue
_RECV: Final = 1 << 16
#: How long a dump's answer may take (seconds): Linux writes it during the request's send().
DUMP_WAIT: Final = 2.0


class NotFound(Exception):
    """The socket claims to listen but is missing from the dump."""


class InetEntry(NamedTuple):
    sport: int
    src: str  # the local address, as inet_ntop writes it
    rqueue: int
    wqueue: int
    inode: int


def _align(n: int) -> int:
    return (n + 3) & ~3


class Diag:
    """One NETLINK_SOCK_DIAG socket of the executor's namespace, opened by open() before the
    script's first step (so that a script that used up its descriptors leaves it one)."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._seq = 0
        self.problem = "not opened"  # why there is no socket, while there is none

    def open(self) -> None:
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                 NETLINK_SOCK_DIAG)
        except OSError as exc:  # gVisor 2022-12: EPROTONOSUPPORT
            why = errno.errorcode.get(exc.errno or 0, str(exc))
            self.problem = f"no sock_diag netlink socket here ({why})"
            return
        try:
            sock.bind((0, 0))
            sock.settimeout(DUMP_WAIT)  # every wait bounded, on a stack that never answers too
        except OSError as exc:
            sock.close()
            self.problem = f"the sock_diag socket does not bind ({exc.strerror or exc})"
            return
        self._sock = sock

    def _socket(self) -> socket.socket:
        if self._sock is None:
            raise NotFound(self.problem)
        return self._sock

    def fds(self) -> list[int]:
        return [] if self._sock is None else [self._sock.fileno()]

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def listener_queue(self, fd: int, family: int) -> Queue:
        """qlen/incqlen/maxqlen of the listening socket `fd` (of address family `family`)."""
        try:
            inode = os.fstat(fd).st_ino
            if family in _INET:
                return self._inet_queue(inode, family)
            if family == socket.AF_UNIX:
                return self._unix_queue(inode)
        except OSError as exc:  # the dump itself failed
            raise NotFound(f"the socket diagnostics dump failed: {exc.strerror or exc}") from None
        raise NotFound(f"no socket diagnostics for address family {family}")

    def _inet_queue(self, inode: int, family: int) -> Queue:
        listeners = list(self.inet_dump(family, 1 << SS_LISTEN))
        for entry in listeners:
            if entry.inode == inode:
                port, src = entry.sport, entry.src
                break
        else:
            raise NotFound("listener not in the inet_diag dump")
        # Request sockets carry no inode; they belong to the listener on their local address
        # and port (a wildcard listener owns every local address on that port).
        wildcard = src in ("0.0.0.0", "::")
        sharing = [e for e in listeners if e.sport == port
                   and (wildcard or e.src in (src, "0.0.0.0", "::"))]
        if len(sharing) > 1:
            # SO_REUSEPORT: which member a half-open request belongs to is not in the dump, but
            # where the port has none, each member has none (its qlen is its own: by inode)
            held = sum(1 for req in self.inet_dump(family, 1 << SS_SYN_RECV) if req.sport == port)
            if held:
                raise NotFound(f"{len(sharing)} listeners share port {port} (SO_REUSEPORT) and "
                               "it has half-open requests, which name no listener, so incqlen "
                               "is not observable")
            return Queue(entry.rqueue, 0, entry.wqueue)
        incq = sum(1 for req in self.inet_dump(family, 1 << SS_SYN_RECV)
                   if req.sport == port and (wildcard or req.src == src))
        return Queue(entry.rqueue, incq, entry.wqueue)

    def _unix_queue(self, inode: int) -> Queue:
        request = _UNIX_REQ.pack(socket.AF_UNIX, 0, 1 << SS_LISTEN, 0, UDIAG_SHOW_RQLEN)
        for body in self._dump(request):
            _family, _type, _state, ino = _UNIX_MSG.unpack_from(body)
            if ino != inode:
                continue
            rqueue = wqueue = 0
            for kind, value in _attributes(body, _UNIX_MSG.size):
                if kind == UNIX_DIAG_RQLEN and len(value) >= _RQLEN.size:
                    rqueue, wqueue = _RQLEN.unpack_from(value)
            return Queue(rqueue, 0, wqueue)
        raise NotFound("listener not in the unix_diag dump")

    def inet_dump(self, family: int, states: int) -> Iterator[InetEntry]:
        """The TCP sockets of `family` in the states of the bit mask `states`."""
        width = 4 if family == socket.AF_INET else 16
        for body in self._dump(_INET_REQ.pack(family, socket.IPPROTO_TCP, 0, states)):
            (_f, _state, _timer, _retrans, sport, _dport, src, _dst, _if, _cookie, _expires,
             rqueue, wqueue, _uid, ino) = _INET_MSG.unpack_from(body)
            yield InetEntry(socket.ntohs(sport), socket.inet_ntop(family, src[:width]),
                            rqueue, wqueue, ino)

    def _dump(self, request: bytes) -> list[bytes]:
        """Send one SOCK_DIAG_BY_FAMILY dump request; the bodies of the messages it answers
        with, up to NLMSG_DONE. A netlink error is an OSError with its errno, and so is an
        answer that does not come within DUMP_WAIT (TimeoutError)."""
        sock = self._socket()
        self._seq += 1
        seq = self._seq
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(request), SOCK_DIAG_BY_FAMILY,
                                NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
        sock.send(header + request)
        bodies: list[bytes] = []
        while True:
            data = sock.recv(_RECV)
            if not data:
                raise OSError(errno.EIO, "the sock_diag socket closed")
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, kind, _flags, got_seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if length < _NLMSGHDR.size or offset + length > len(data):
                    raise OSError(errno.EIO, "a truncated netlink message")
                body = data[offset + _NLMSGHDR.size: offset + length]
                offset += _align(length)
                if got_seq != seq:
                    continue  # the answer to an earlier request (not possible; ignored)
                if kind == NLMSG_DONE:
                    return bodies
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", body)
                    if code == 0:
                        continue  # an acknowledgement
                    raise OSError(-code, os.strerror(-code))
                bodies.append(body)


def _attributes(body: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    """The netlink attributes (type, payload) of a message body from `offset`."""
    while offset + _NLATTR.size <= len(body):
        length, kind = _NLATTR.unpack_from(body, offset)
        if length < _NLATTR.size:
            return
        yield kind & 0x3FFF, body[offset + _NLATTR.size: offset + length]
        offset += _align(length)
