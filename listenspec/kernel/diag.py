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

import errno
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
    """One NETLINK_SOCK_DIAG socket of the executor's namespace, opened by open() before the
    script's first step: pyroute2 takes four descriptors for it (the socket, an epoll and a
    socket pair), which a script that used up its descriptors would leave it no room for."""

    def __init__(self) -> None:
        self._sock: Any = None
        self.problem = "not opened"  # why there is no socket, while there is none

    def open(self) -> None:
        try:
            from pyroute2.netlink.diag import DiagSocket
        except ImportError as exc:
            self.problem = f"pyroute2 is not installed ({exc})"
            return
        try:
            ds = DiagSocket()
        except OSError as exc:  # gVisor 2022-12: EPROTONOSUPPORT
            why = errno.errorcode.get(exc.errno or 0, str(exc))
            self.problem = f"no sock_diag netlink socket here ({why})"
            return
        try:
            ds.bind()
        except OSError as exc:
            ds.close()
            self.problem = f"the sock_diag socket does not bind ({exc.strerror or exc})"
            return
        self._sock = ds

    def _ds(self) -> Any:
        if self._sock is None:
            raise NotFound(self.problem)
        return self._sock

    def fds(self) -> list[int]:
        return [] if self._sock is None else [int(self._sock.fileno())]

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
        except OSError as exc:  # the dump itself failed (pyroute2 wanted a descriptor, ...)
            raise NotFound(f"the socket diagnostics dump failed: {exc.strerror or exc}") from None
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
