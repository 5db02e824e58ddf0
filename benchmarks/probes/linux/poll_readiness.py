"""Topic 4: poll() readiness of sockets in each state, and "a listener is POLLIN iff accept()
would succeed".

poll() is called with every event bit (POLLIN|POLLPRI|POLLOUT|POLLRDHUP; POLLERR, POLLHUP and
POLLNVAL are always reported) and a zero timeout. For listeners, accept() is tried right after
(non-blocking) and its result printed next to the flags.

Run: python benchmarks/probes/linux/poll_readiness.py
"""

from __future__ import annotations

import os
import socket
import time

from _probe import (
    arm,
    c_listen,
    errname,
    header,
    isolate,
    linger0,
    listen_queue,
    poll_flags,
    res,
    settle,
)

rows: list[tuple[str, str, str]] = []
keep: list[socket.socket] = []


def row(name: str, s: socket.socket, listener: bool = False) -> None:
    flags = poll_flags(s)
    acc = "-"
    if listener:
        s.setblocking(False)
        try:
            a, _ = s.accept()
            keep.append(a)
            acc = "fd"
        except OSError as exc:
            acc = f"-1 {errname(exc.errno or 0)}"
    rows.append((name, flags, acc))


def tcp_listener(backlog: int = 4) -> socket.socket:
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    c_listen(lst, backlog)
    return lst


def tcp_conn() -> tuple[socket.socket, socket.socket, socket.socket]:
    lst = tcp_listener()
    c = socket.socket()
    c.connect(lst.getsockname())
    a, _ = lst.accept()
    keep.extend([lst, c, a])
    return lst, c, a


def main() -> None:
    arm(60)
    isolate()
    header("poll() readiness")
    # ---- TCP
    s = socket.socket()
    keep.append(s)
    row("TCP fresh", s)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    keep.append(s)
    row("TCP bound", s)
    lst = tcp_listener()
    keep.append(lst)
    row("TCP listener, queue empty", lst, listener=True)
    lst = tcp_listener()
    c = socket.socket()
    c.connect(lst.getsockname())
    keep.extend([lst, c])
    rows.append(("TCP listener, one completed connection: " + listen_queue(lst), "", ""))
    row("TCP listener, one completed connection", lst, listener=True)
    row("TCP listener, same, after that accept()", lst, listener=True)
    lst = tcp_listener()
    lst.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 5)
    c = socket.socket()
    c.connect(lst.getsockname())
    keep.extend([lst, c])
    time.sleep(0.05)
    row("TCP listener, TCP_DEFER_ACCEPT=5, client connected, no data", lst, listener=True)
    c.send(b"x")
    time.sleep(0.05)
    row("TCP listener, TCP_DEFER_ACCEPT=5, then the client sent 1 byte", lst, listener=True)
    lst = tcp_listener()
    c = socket.socket()
    c.connect(lst.getsockname())
    linger0(c)
    c.close()
    time.sleep(0.02)
    keep.append(lst)
    row("TCP listener, its one queued connection was reset by the client", lst, listener=True)
    lst = tcp_listener()
    c = socket.socket()
    c.connect(lst.getsockname())
    keep.extend([lst, c])
    lst.shutdown(socket.SHUT_RD)
    row("TCP listener after shutdown(SHUT_RD) (had a queued connection)", lst, listener=True)
    lst = tcp_listener()
    lst.shutdown(socket.SHUT_WR)
    keep.append(lst)
    row("TCP listener after shutdown(SHUT_WR), empty", lst, listener=True)
    full = tcp_listener(0)
    q = socket.socket()
    q.connect(full.getsockname())
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(full.getsockname())
    keep.extend([full, q, s])
    row("TCP SYN_SENT (its SYN dropped by a full listener)", s)
    row("TCP listener, backlog 0, full (1 queued), SYNs being dropped", full, listener=True)
    _, c, a = tcp_conn()
    row("TCP connected (client side)", c)
    a.send(b"data")
    time.sleep(0.02)
    row("TCP connected, data to read", c)
    _, c, a = tcp_conn()
    a.send(b"u", socket.MSG_OOB)
    time.sleep(0.02)
    row("TCP connected, urgent (MSG_OOB) byte pending", c)
    _, c, a = tcp_conn()
    a.close()
    time.sleep(0.02)
    row("TCP peer closed (FIN): CLOSE_WAIT", c)
    _, c, a = tcp_conn()
    c.shutdown(socket.SHUT_WR)
    time.sleep(0.02)
    row("TCP after own shutdown(SHUT_WR): FIN_WAIT2", c)
    _, c, a = tcp_conn()
    linger0(a)
    a.close()
    time.sleep(0.02)
    row("TCP peer reset, SO_ERROR not read", c)
    c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    row("TCP peer reset, SO_ERROR read", c)
    n = socket.socket()
    n.bind(("127.0.0.1", 0))
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(n.getsockname())
    settle(s)
    keep.extend([n, s])
    row("TCP connect refused, SO_ERROR not read", s)
    # ---- AF_UNIX
    for kind, label in ((socket.SOCK_STREAM, "stream"), (socket.SOCK_SEQPACKET, "seqpacket")):
        addr = f"\0probe-poll-{os.getpid()}-{kind}"
        s = socket.socket(socket.AF_UNIX, kind)
        keep.append(s)
        row(f"AF_UNIX {label} fresh", s)
        lst = socket.socket(socket.AF_UNIX, kind)
        lst.bind(addr)
        keep.append(lst)
        row(f"AF_UNIX {label} bound", lst)
        c_listen(lst, 1)
        row(f"AF_UNIX {label} listener, empty", lst, listener=True)
        c1 = socket.socket(socket.AF_UNIX, kind)
        c1.connect(addr)
        c2 = socket.socket(socket.AF_UNIX, kind)
        c2.connect(addr)
        c3 = socket.socket(socket.AF_UNIX, kind)
        c3.setblocking(False)
        r3 = res(c3.connect, addr)
        keep.extend([c1, c2, c3])
        row(f"AF_UNIX {label} client whose connect() = {r3} (queue full)", c3)
        row(f"AF_UNIX {label} listener, backlog 1, full (2 queued)", lst, listener=True)
        row(f"AF_UNIX {label} client, connected, not yet accepted", c2)
        lst.shutdown(socket.SHUT_RD)
        row(f"AF_UNIX {label} listener after shutdown(SHUT_RD), 1 queued", lst, listener=True)
        row(f"AF_UNIX {label} listener after shutdown(SHUT_RD), empty", lst, listener=True)
        p, q2 = socket.socketpair(socket.AF_UNIX, kind)
        keep.extend([p, q2])
        row(f"AF_UNIX {label} connected pair", p)
        q2.send(b"x")
        row(f"AF_UNIX {label} connected, data to read", p)
        q2.close()
        row(f"AF_UNIX {label} peer closed (data still unread)", p)
        p.recv(10)
        row(f"AF_UNIX {label} peer closed, data read", p)
    width = max(len(r[0]) for r in rows)
    for name, flags, acc in rows:
        if not flags:
            print(f"   ({name})")
            continue
        print(f"   {name.ljust(width)}  poll={flags}" + (f"  accept()={acc}" if acc != "-" else ""))
    for s in keep:
        s.close()


if __name__ == "__main__":
    main()
