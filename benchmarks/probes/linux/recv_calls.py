"""Topic 7: recv() in each state: data, EOF (0), after a RST (data first, then ECONNRESET,
then 0), on a listener, on an unconnected or bound socket, non-blocking with nothing (EAGAIN).
TCP and AF_UNIX. recv() is non-blocking (MSG_DONTWAIT), 100 bytes.

Run: python benchmarks/probes/linux/recv_calls.py
"""

from __future__ import annotations

import os
import socket
import time

from _probe import arm, c_listen, header, isolate, linger0, recv_nb, so_error


def seq(s: socket.socket, n: int = 4) -> str:
    return ", ".join(recv_nb(s) for _ in range(n))


def tcp_pair() -> tuple[socket.socket, socket.socket, socket.socket]:
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    c_listen(lst, 4)
    c = socket.socket()
    c.connect(lst.getsockname())
    a, _ = lst.accept()
    return lst, c, a


def main() -> None:
    arm(30)
    isolate()
    header("recv()")
    s = socket.socket()
    print(f"TCP fresh: recv x2 = {seq(s, 2)}")
    s.bind(("127.0.0.1", 0))
    print(f"TCP bound: recv = {seq(s, 1)}")
    c_listen(s, 1)
    print(f"TCP listener: recv = {seq(s, 1)}")
    c = socket.socket()
    c.connect(s.getsockname())
    print(f"TCP listener with a queued connection: recv = {seq(s, 1)}")
    c.close()
    s.close()
    lst, c, a = tcp_pair()
    print(f"TCP connected, nothing sent: recv = {seq(c, 1)}")
    a.send(b"abc")
    a.send(b"def")
    time.sleep(0.02)
    print(f"TCP connected, peer sent 'abc' then 'def': recv x2 = {seq(c, 2)}")
    a.close()
    time.sleep(0.02)
    print(f"TCP peer closed (FIN): recv x3 = {seq(c, 3)}")
    lst.close()
    c.close()
    lst, c, a = tcp_pair()
    a.send(b"abc")
    time.sleep(0.02)
    a.close()
    time.sleep(0.02)
    print(f"TCP peer sent 'abc', closed (FIN): recv x3 = {seq(c, 3)}")
    lst.close()
    c.close()
    lst, c, a = tcp_pair()
    a.send(b"abc")
    time.sleep(0.02)
    linger0(a)
    a.close()
    time.sleep(0.02)
    print(f"TCP peer sent 'abc', reset: recv x4 = {seq(c, 4)}")
    lst.close()
    c.close()
    lst, c, a = tcp_pair()
    a.send(b"abc")
    time.sleep(0.02)
    linger0(a)
    a.close()
    time.sleep(0.02)
    print(f"TCP same, SO_ERROR read first ({so_error(c)}): recv x3 = {seq(c, 3)}")
    lst.close()
    c.close()
    lst, c, a = tcp_pair()
    c.shutdown(socket.SHUT_RD)
    print(f"TCP after own shutdown(SHUT_RD): recv x2 = {seq(c, 2)}")
    for s in (lst, c, a):
        s.close()
    for kind, label in ((socket.SOCK_STREAM, "stream"), (socket.SOCK_SEQPACKET, "seqpacket")):
        u = socket.socket(socket.AF_UNIX, kind)
        print(f"AF_UNIX {label} fresh: recv = {seq(u, 1)}")
        u.bind(f"\0probe-recv-{os.getpid()}-{kind}")
        print(f"AF_UNIX {label} bound: recv = {seq(u, 1)}")
        c_listen(u, 1)
        print(f"AF_UNIX {label} listener: recv = {seq(u, 1)}")
        u.close()
        p, q = socket.socketpair(socket.AF_UNIX, kind)
        print(f"AF_UNIX {label} pair, nothing sent: recv = {seq(p, 1)}")
        q.send(b"abc")
        q.send(b"def")
        print(f"AF_UNIX {label} peer sent 'abc', 'def': recv x2 = {seq(p, 2)}")
        q.send(b"ghi")
        q.close()
        print(f"AF_UNIX {label} peer sent 'ghi', closed: recv x3 = {seq(p, 3)}")
        p.close()


if __name__ == "__main__":
    main()
