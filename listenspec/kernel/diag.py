"""netstat(S): a listener's queues, read from the kernel's socket diagnostics over netlink.

What the kernel reports (reference/linux.md §3):
- TCP, net/ipv4/tcp_diag.c `tcp_diag_get_info()`: for a listener `idiag_rqueue =
  sk_ack_backlog` (completed connections waiting for accept) and `idiag_wqueue =
  sk_max_ack_backlog` (the effective backlog). Half-open connections are request sockets, dumped
  as separate SYN_RECV entries on the listener's local address and port (§2, §5).
- AF_UNIX, net/unix/diag.c `sk_diag_show_rqlen()`: for a listener `udiag_rqueue` = pending
  connections on its receive queue and `udiag_wqueue = sk_max_ack_backlog`.
The listener is found by inode (the descriptor's st_ino is the socket inode the dump reports),
so nothing is guessed from addresses. pyroute2's DiagSocket does the netlink work.
"""

from __future__ import annotations

import os
import socket
from typing import Any, Final

from ..results import Queue

_INET: Final = (socket.AF_INET, socket.AF_INET6)
# Kernel ABI constants (include/net/tcp_states.h, include/uapi/linux/unix_diag.h).
SS_SYN_RECV: Final = 3
SS_LISTEN: Final = 10
UDIAG_SHOW_RQLEN: Final = 0x10


class NotFound(Exception):
    """The socket claims to listen but is missing from the dump."""


class Diag:
    """One NETLINK_SOCK_DIAG socket, opened on first use in the executor's namespace."""

    def __init__(self) -> None:
        self._sock: Any = None

    def _ds(self) -> Any:
        if self._sock is None:
            try:
                from pyroute2.netlink.diag import DiagSocket
            except ImportError as exc:
                raise NotFound(f"pyroute2 is not installed ({exc})") from None
            ds = DiagSocket()
            ds.bind()
            self._sock = ds
        return self._sock

    def fds(self) -> list[int]:
        return [] if self._sock is None else [int(self._sock.fileno())]

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def listener_queue(self, fd: int, family: int) -> Queue:
        """qlen/incqlen/maxqlen of the listening socket `fd` (of address family `family`)."""
        inode = os.fstat(fd).st_ino
        if family in _INET:
            return self._inet_queue(inode, family)
        if family == socket.AF_UNIX:
            return self._unix_queue(inode)
        raise NotFound(f"no socket diagnostics for address family {family}")

    def _inet_queue(self, inode: int, family: int) -> Queue:
        ds = self._ds()
        listeners = ds.get_sock_stats(family=family, states=1 << SS_LISTEN)
        for msg in listeners:
            if msg["idiag_inode"] == inode:
                port, src = msg["idiag_sport"], msg["idiag_src"]
                break
        else:
            raise NotFound("listener not in the inet_diag dump")
        qlen, maxqlen = int(msg["idiag_rqueue"]), int(msg["idiag_wqueue"])
        # Request sockets carry no inode; they belong to the listener on their local address
        # and port (a wildcard listener owns every local address on that port).
        wildcard = src in ("0.0.0.0", "::")
        sharing = [m for m in listeners if m["idiag_sport"] == port
                   and (wildcard or m["idiag_src"] in (src, "0.0.0.0", "::"))]
        if len(sharing) > 1:
            # SO_REUSEPORT: which member a half-open request belongs to is not in the dump
            raise NotFound(f"{len(sharing)} listeners share port {port} (SO_REUSEPORT): their "
                           "half-open requests name no listener, so incqlen is not observable")
        incq = sum(
            1
            for req in ds.get_sock_stats(family=family, states=1 << SS_SYN_RECV)
            if req["idiag_sport"] == port and (wildcard or req["idiag_src"] == src)
        )
        return Queue(qlen, incq, maxqlen)

    def _unix_queue(self, inode: int) -> Queue:
        ds = self._ds()
        msgs = ds.get_sock_stats(
            family=socket.AF_UNIX, states=1 << SS_LISTEN, show=UDIAG_SHOW_RQLEN
        )
        for msg in msgs:
            if msg["udiag_ino"] == inode:
                rq = msg.get_attr("UNIX_DIAG_RQLEN") or {}
                return Queue(int(rq.get("udiag_rqueue", 0)), 0, int(rq.get("udiag_wqueue", 0)))
        raise NotFound("listener not in the unix_diag dump")
