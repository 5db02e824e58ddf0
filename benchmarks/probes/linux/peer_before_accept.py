"""Topic 1: the client closed (FIN) or reset (SO_LINGER {1,0} close) before accept().

For each case: a listener L (backlog 8); a client connects (blocking, so the handshake is done),
optionally sends data, then closes or resets; the listener's queue is read (ss), then
accept() is called and the accepted socket A is examined: poll() flags, SO_ERROR, recv() until
it stops changing, send() twice (20 ms apart, so the peer's RST can arrive), SO_ERROR again.
AF_UNIX SOCK_STREAM and SOCK_SEQPACKET are run the same way (abstract names).

Run: python benchmarks/probes/linux/peer_before_accept.py
"""

from __future__ import annotations

import os
import socket
import time

from _probe import (
    arm,
    counters,
    header,
    isolate,
    linger0,
    listen_queue,
    poll_flags,
    recv_nb,
    res,
    send_nb,
    show_delta,
    so_error,
    tcp_state,
)


def examine(a: socket.socket, tcp: bool, first: str = "SO_ERROR") -> None:
    """first: which call is made first on A (they differ in who consumes the pending error)."""
    if first == "send":
        print(f"   A: send() first = {send_nb(a, b'reply')}; send() = {send_nb(a, b'reply')}; "
              f"SO_ERROR={so_error(a)}; recv() x2 = {recv_nb(a)}, {recv_nb(a)}")
        return
    if first == "recv":
        print(f"   A: poll={poll_flags(a)}"
              + (f" tcp_state={tcp_state(a)}" if tcp else ""))
        got = [recv_nb(a) for _ in range(3)]
        print(f"   A: recv() first x3 = {', '.join(got)}; SO_ERROR={so_error(a)}; "
              f"send() = {send_nb(a)}")
        return
    print(f"   A: poll={poll_flags(a)} SO_ERROR={so_error(a)}"
          + (f" tcp_state={tcp_state(a)}" if tcp else ""))
    got = [recv_nb(a) for _ in range(3)]
    print(f"   A: recv() x3 = {', '.join(got)}")
    print(f"   A: poll={poll_flags(a)}")
    s1 = send_nb(a, b"reply")
    time.sleep(0.02)
    print(f"   A: send() = {s1}; 20 ms later: poll={poll_flags(a)} "
          + (f"tcp_state={tcp_state(a)} " if tcp else "")
          + f"SO_ERROR={so_error(a)}")
    s2 = send_nb(a, b"reply")
    time.sleep(0.02)
    s3 = send_nb(a, b"reply")
    print(f"   A: send() = {s2}; send() = {s3}; recv() = {recv_nb(a)}; recv() = {recv_nb(a)}")


def tcp_case(title: str, data: bytes, reset: bool, first: str = "SO_ERROR") -> None:
    print()
    print(f"## TCP: {title}")
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(8)
    lst.setblocking(False)
    c = socket.socket()
    c.connect(lst.getsockname())
    if data:
        c.sendall(data)
    before = counters()
    if reset:
        linger0(c)
    c.close()
    time.sleep(0.02)
    print(f"   client: {'send(' + repr(data) + '); ' if data else ''}"
          f"{'SO_LINGER {1,0}; ' if reset else ''}close() = 0")
    print(f"   L before accept: {listen_queue(lst)} poll={poll_flags(lst)}")
    try:
        a, _ = lst.accept()
    except OSError as exc:
        print(f"   accept(L) = -1 {exc.errno and os.strerror(exc.errno)}")
        print(f"   L after: {listen_queue(lst)} poll={poll_flags(lst)}")
        lst.close()
        return
    a.setblocking(False)
    print(f"   accept(L) = fd A; L after: {listen_queue(lst)} poll={poll_flags(lst)}; "
          f"accept(L) again = {res(lst.accept)}")
    examine(a, tcp=True, first=first)
    print(f"   counters: {show_delta(before, counters())}")
    a.close()
    lst.close()


def unix_case(kind: int, title: str, data: bytes) -> None:
    print()
    name = "SOCK_STREAM" if kind == socket.SOCK_STREAM else "SOCK_SEQPACKET"
    print(f"## AF_UNIX {name}: {title}")
    addr = f"\0probe-peer-{os.getpid()}-{kind}-{len(data)}"
    lst = socket.socket(socket.AF_UNIX, kind)
    lst.bind(addr)
    lst.listen(8)
    lst.setblocking(False)
    c = socket.socket(socket.AF_UNIX, kind)
    c.connect(addr)
    if data:
        c.send(data)
    c.close()
    print(f"   client: connect; {'send(' + repr(data) + '); ' if data else ''}close() = 0")
    print(f"   L before accept: {listen_queue_unix(lst)} poll={poll_flags(lst)}")
    try:
        a, _ = lst.accept()
    except OSError as exc:
        print(f"   accept(L) = -1 {exc.errno}")
        lst.close()
        return
    a.setblocking(False)
    print(f"   accept(L) = fd A; L after: poll={poll_flags(lst)}")
    examine(a, tcp=False)
    a.close()
    lst.close()


def listen_queue_unix(s: socket.socket) -> str:
    from _probe import ss
    ino = os.fstat(s.fileno()).st_ino
    for line in ss("-lxe"):
        if f" {ino} " in f" {line} " or f"ino:{ino}" in line:
            f = line.split()
            return f"Recv-Q={f[2]} Send-Q={f[3]}"
    return "not listed"


def main() -> None:
    arm(60)
    isolate()
    header("peer closed / reset before accept()")
    tcp_case("client sends 'hello' then close() (FIN) before accept", b"hello", reset=False)
    tcp_case("client close() (FIN) without data before accept", b"", reset=False)
    tcp_case("client sends 'hello' then SO_LINGER{1,0} close() (RST) before accept",
              b"hello", reset=True)
    tcp_case("client SO_LINGER{1,0} close() (RST) without data before accept", b"", reset=True)
    tcp_case("RST after 'hello'; recv() first", b"hello", reset=True, first="recv")
    tcp_case("RST without data; recv() first", b"", reset=True, first="recv")
    tcp_case("RST after 'hello'; send() first", b"hello", reset=True, first="send")
    tcp_case("RST without data; send() first", b"", reset=True, first="send")
    tcp_case("FIN after 'hello'; send() first", b"hello", reset=False, first="send")
    for kind in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET):
        unix_case(kind, "client sends 'hello' then close() before accept", b"hello")
        unix_case(kind, "client close() without data before accept", b"")


if __name__ == "__main__":
    main()
